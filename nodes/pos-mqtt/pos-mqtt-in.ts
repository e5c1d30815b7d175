/**
 * `tillwire-pos-mqtt-in`: store tills' sales, returns and close-of-day totals over MQTT
 * (docs/store-devices.md), durably:
 *   PUBLISH → durable inbox (store) → PUBACK → validate → register → output.
 * Malformed or invalid messages go to the dead-letter store with their raw bytes and the reason;
 * per-till sequence gaps leave on output 2; till closes on output 3. The inbox entry stays open
 * until a `tillwire-ack` node marks the message finished, so after a crash what was received but
 * not finished is emitted again.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode } from '../core/node-red';
import { bindStore, StatusBoard, shortText, asError, INBOX_REF, inboxEvents } from '../core/node-kit';
import { InFlight } from '../runtime/in-flight';
import { DurableInbox } from '../runtime/inbox';
import type { InboxEntry, Store } from '../runtime/store';
import { recordFailure } from '../runtime/dead-letter';
import { GapTracker, GapReport } from './gaps';
import { eventIdFor, interpret } from './ingest';
import { parseDeviceTopic, sharedFilter } from './topic';
import type { DurableMqttConnection } from './connection';

interface PosMqttInDef extends NodeDef {
  broker: string;
  store: string;
  topic?: string;
  shareGroup?: string;
  gapGraceSeconds?: string | number;
  maxInFlight?: string | number;
}

interface StoredEvent {
  topic: string;
  /** UTF-8 text when the bytes are valid UTF-8, else base64 in `base64`. */
  text?: string;
  base64?: string;
}

function toStored(topic: string, raw: Buffer): StoredEvent {
  const text = raw.toString('utf8');
  return Buffer.from(text, 'utf8').equals(raw) ? { topic, text } : { topic, base64: raw.toString('base64') };
}

/** The ordering lane of a message: its till, or its whole topic when the topic is not a till's. */
function tillLane(topic: string): string {
  const t = parseDeviceTopic(topic);
  return t ? `${t.storeId}/${t.tillId}` : topic;
}

function fromStored(e: StoredEvent): Buffer {
  return e.base64 !== undefined ? Buffer.from(e.base64, 'base64') : Buffer.from(e.text ?? '', 'utf8');
}

export = function register(RED: NodeRED) {
  function TillwirePosMqttInNode(this: RuntimeNode, def: PosMqttInDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const binding = bindStore(RED, node, def.store, board);
    const connection: DurableMqttConnection | undefined = RED.nodes.getNode(def.broker)?.connection;
    const source = `pos-mqtt:${def.id}`;
    const filter = sharedFilter(def.topic?.trim() || 'tillwire/+/stores/+/tills/+/+', def.shareGroup?.trim() || undefined);
    const graceMs = Math.max(0, Number(def.gapGraceSeconds ?? 60)) * 1000;
    let inbox: DurableInbox | undefined;
    let closed = false;
    let unsubscribe: (() => void) | undefined;
    let retryTimer: NodeJS.Timeout | undefined;
    const counts = { received: 0, rejected: 0, gaps: 0 };
    let windowCount = 0;
    let rate = 0;
    const limit = Number(def.maxInFlight ?? 1000);
    const inFlight = new InFlight(Number.isFinite(limit) && limit >= 0 ? limit : 1000);
    const onDone = (doneSource: string, id: string) => {
      if (doneSource === source) inFlight.finish(id);
    };
    inboxEvents.on('inbox-done', onDone);

    const gaps = new GapTracker({
      graceMs,
      onGap: (report: GapReport) => {
        counts.gaps += report.missing.length;
        node.send([null, { topic: 'sale.gap', payload: report }, null]);
      },
    });

    const showConnection = () => {
      if (!connection) return board.set({ fill: 'red', shape: 'ring', text: 'no broker configured' });
      const s = connection.state;
      if (s === 'connected' && inFlight.limit && inFlight.size >= inFlight.limit) {
        board.set({ fill: 'yellow', shape: 'ring', text: `waiting: ${inFlight.size} unfinished (is an inbox done node wired?)` });
      } else if (s === 'connected') board.set({ fill: 'green', shape: 'dot', text: `${rate} msg/s · ${counts.received} in, ${counts.rejected} rejected` });
      else if (s === 'connecting') board.set({ fill: 'yellow', shape: 'ring', text: 'connecting' });
      else board.set({ fill: 'red', shape: 'ring', text: shortText(connection.lastError || s) });
    };
    const ticker = setInterval(() => {
      rate = windowCount;
      windowCount = 0;
      showConnection();
    }, 1000);
    ticker.unref();
    connection?.on('state', showConnection);
    showConnection();

    async function seedGaps(store: Store, doc: Record<string, any>): Promise<void> {
      if (gaps.known(doc.storeId, doc.terminalId, doc.businessDate)) return;
      const seen = await store.registerList({ kind: 'sale', storeId: doc.storeId, terminalId: doc.terminalId, businessDate: doc.businessDate });
      gaps.seed(doc.storeId, doc.terminalId, doc.businessDate, seen.map((e) => e.sequence ?? 0).filter((n) => n > 0));
    }

    async function process(store: Store, entry: InboxEntry): Promise<void> {
      const stored = entry.payload as StoredEvent;
      const raw = fromStored(stored);
      const result = interpret(stored.topic, raw);
      const inboxRef = { source, id: entry.id };
      if (result.outcome === 'rejected') {
        counts.rejected++;
        await recordFailure(
          store,
          { payload: raw, topic: stored.topic, tillwire: { schemaVersion: 1, eventId: entry.eventId, attempts: 0, source: { system: 'pos', receivedAt: entry.receivedAt } } },
          { error: { message: result.reason, name: 'RejectedMessage' }, flowId: node.z ?? null, nodeId: node.id, nodeType: node.type, nodeName: node.name ?? null },
        );
        await store.inboxComplete(entry.id);
        return;
      }
      const doc = result.doc;
      const envelope = {
        schemaVersion: 1,
        eventId: entry.eventId,
        idempotencyKey: result.key,
        correlationId: result.key,
        source: { system: 'pos', channel: result.topic.brand, account: doc.storeId, eventId: doc.saleId ?? result.key, receivedAt: entry.receivedAt },
        occurredAt: doc.occurredAt ?? doc.closedAt,
        attempts: entry.attempts,
      };
      const msg: NodeMessage = { payload: doc, tillwire: envelope, [INBOX_REF]: inboxRef, mqttTopic: stored.topic };
      inFlight.add(entry.id);
      if (result.outcome === 'close') {
        msg.topic = 'till.closed';
        node.send([null, null, msg]);
        return;
      }
      await seedGaps(store, doc);
      await store.registerPut({
        key: result.key,
        kind: 'sale',
        storeId: doc.storeId,
        terminalId: doc.terminalId,
        businessDate: doc.businessDate,
        sequence: doc.sequence,
        amount: doc.totals.grandTotal.amount,
        currency: doc.currency,
        document: doc,
      });
      gaps.observe(doc.storeId, doc.terminalId, doc.businessDate, doc.sequence);
      msg.topic = result.topic.kind === 'returns' ? 'return.completed' : 'sale.completed';
      counts.received++;
      windowCount++;
      node.send([msg, null, null]);
    }

    // Messages of one till are processed in arrival order (a close after the sales it counts);
    // different tills proceed independently.
    const chains = new Map<string, Promise<void>>();
    function deliver(store: Store) {
      return (entry: InboxEntry) => {
        const lane = tillLane((entry.payload as StoredEvent).topic);
        const run = (chains.get(lane) ?? Promise.resolve())
          .then(() => process(store, entry))
          .catch((err) => {
            // The entry stays pending in the inbox: it is emitted again on the next start.
            node.error(asError(err), { payload: entry.payload, topic: 'inbox.error', [INBOX_REF]: { source, id: entry.id } });
          });
        chains.set(lane, run);
        void run.then(() => {
          if (chains.get(lane) === run) chains.delete(lane);
        });
      };
    }

    async function start(): Promise<void> {
      if (closed || !connection) return;
      try {
        const store = await binding.acquire();
        inbox = new DurableInbox(store, source, deliver(store));
        const recovered = await inbox.recover();
        if (recovered) node.log(`re-emitted ${recovered} message(s) received before the last stop but not finished`);
        if (closed) return;
        const ready = inbox;
        unsubscribe = connection.subscribe(filter, async (topic, payload, ack) => {
          // Backpressure: past the bound, the PUBACK waits and the broker keeps the backlog.
          await inFlight.room();
          await ready.accept(eventIdFor(topic, payload), toStored(topic, payload), ack);
        });
      } catch (err) {
        // Store down: subscribe later (the broker keeps our session's queue meanwhile).
        retryTimer = setTimeout(() => void start(), 5000);
        retryTimer.unref();
      }
    }
    if (!connection) node.error('no MQTT broker configured');
    else void start();

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      clearInterval(ticker);
      clearTimeout(retryTimer);
      unsubscribe?.();
      gaps.stop();
      inFlight.clear();
      inboxEvents.off('inbox-done', onDone);
      connection?.off('state', showConnection);
      done();
    });
  }
  RED.nodes.registerType('tillwire-pos-mqtt-in', TillwirePosMqttInNode);
};
