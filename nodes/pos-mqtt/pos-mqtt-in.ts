/**
 * `tillwire-pos-mqtt-in`: store tills' sales, returns and close-of-day totals over MQTT
 * (docs/store-devices.md), durably:
 *   PUBLISH → durable inbox (store) → PUBACK → check limits, validate → register → output.
 * A message is identified by its topic and bytes (ingest.ts), a valid sale or close by its business
 * key in the sales register, which lets each out once. Messages over a limit, malformed, invalid,
 * naming another store than their topic, on a brand's topic for a store id another brand owns
 * (store-owners.ts), or conflicting with a recorded document go to the
 * dead-letter store with the reason; so does a message whose processing keeps failing, after
 * maxAttempts (the inbox retries it meanwhile). Per-till sequence gaps leave on output 2; till
 * closes on output 3. The inbox entry stays open until a `tillwire-ack` node marks the message
 * finished, so after a crash what was received but not finished is emitted again.
 *
 * Its input takes a dead letter of this node replayed (edited or not) with its MQTT topic in
 * msg.topic: it enters the same inbox and goes through the same checks and register as a message
 * from the broker, so a replayed sale is still counted once (docs/store-devices.md, "Replaying").
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode } from '../core/node-red';
import { statusTexts, bindStore, StatusBoard, shortText, asError, INBOX_REF, inboxEvents, onInput } from '../core/node-kit';
import { InFlight } from '../runtime/in-flight';
import { KeyedLock } from '../runtime/keyed-lock';
import { TillLanes } from './till-lanes';
import { DurableInbox } from '../runtime/inbox';
import type { InboxEntry, Store } from '../runtime/store';
import { errorInfo, recordFailure } from '../runtime/dead-letter';
import { LogSummary } from '../runtime/log-summary';
import { GapTracker, GapReport } from './gaps';
import { eventIdFor, fromStored, interpret, oversize, replayedBytes, replayEventIdFor, StoredEvent, toStored } from './ingest';
import { limitsFrom } from './limits';
import { sameDocument } from '../runtime/same-document';
import { foreignStoreReason, storeOwners } from './store-owners';
import { registerStoreOwnerRoutes } from './store-owner-routes';
import { closeWithin } from '../core/inbound-inbox';
import { parseDeviceTopic, sharedFilter } from './topic';
import { MQTT_BROKER, type DurableMqttConnection } from './connection';
import { connectionOf } from '../core/config-node';

interface PosMqttInDef extends NodeDef {
  broker: string;
  store: string;
  topic?: string;
  shareGroup?: string;
  gapGraceSeconds?: string | number;
  maxInFlight?: string | number;
  maxPayloadKiB?: string | number;
  maxLines?: string | number;
  checkDates?: boolean | string;
  pastDays?: string | number;
  futureDays?: string | number;
  maxAttempts?: string | number;
}

/** The ordering lane of a message: its till, or its whole topic when the topic is not a till's. */
function tillLane(topic: string): string {
  const t = parseDeviceTopic(topic);
  return t ? `${t.storeId}/${t.tillId}` : topic;
}

/**
 * What a dead letter keeps of a rejected message: its text when it is UTF-8, else its bytes, or
 * the stored entry itself when even that cannot be read (a damaged entry must still be parked).
 */
function keptPayload(stored: StoredEvent): unknown {
  try {
    return stored.oversize ?? (typeof stored.text === 'string' ? stored.text : fromStored(stored));
  } catch {
    return stored;
  }
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  registerStoreOwnerRoutes(RED);
  function TillwirePosMqttInNode(this: RuntimeNode, def: PosMqttInDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const binding = bindStore(RED, node, def.store, board);
    const connection = connectionOf<DurableMqttConnection>(RED, def.broker, MQTT_BROKER);
    const source = `pos-mqtt:${def.id}`;
    const filter = sharedFilter(def.topic?.trim() || 'tillwire/+/stores/+/tills/+/+', def.shareGroup?.trim() || undefined);
    const graceMs = Math.max(0, Number(def.gapGraceSeconds ?? 60)) * 1000;
    let inbox: DurableInbox | undefined;
    let closed = false;
    let unsubscribe: (() => void) | undefined;
    let retryTimer: NodeJS.Timeout | undefined;
    const limits = limitsFrom(def);
    const attemptsSetting = Number(def.maxAttempts ?? 5);
    const maxAttempts = Number.isFinite(attemptsSetting) && attemptsSetting >= 1 ? Math.floor(attemptsSetting) : 5;
    const counts = { received: 0, rejected: 0, duplicates: 0, gaps: 0 };
    // One warning a minute at most, however many messages a misbehaving till sends (log flooding).
    // A till sending thousands of bad messages costs a few log lines: the first of a burst, then one
    // counted summary a minute (the badge counts them all).
    const rejections = new LogSummary((line) => node.warn(line), 'rejected a till message', 'till messages rejected');
    const failures = new LogSummary((line) => node.warn(line), 'processing a till message failed', 'till message failures');
    let windowCount = 0;
    let rate = 0;
    const limit = Number(def.maxInFlight ?? 1000);
    const inFlight = new InFlight(Number.isFinite(limit) && limit >= 0 ? limit : 1000);
    const onDone = (doneSource: string, id: string) => {
      if (doneSource !== source) return;
      inFlight.finish(id);
      inbox?.finished(id);
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
      if (!connection) return board.set({ fill: 'red', shape: 'ring', text: t('status.noBroker') });
      const s = connection.state;
      if (s === 'connected' && inFlight.limit && inFlight.size >= inFlight.limit) {
        board.set({ fill: 'yellow', shape: 'ring', text: t('status.waiting', { count: inFlight.size }) });
      } else if (s === 'connected')
        board.set({
          fill: 'green',
          shape: 'dot',
          text: t('status.connected', { rate, received: counts.received, rejected: counts.rejected, duplicates: counts.duplicates }),
        });
      else if (s === 'connecting') board.set({ fill: 'yellow', shape: 'ring', text: t('status.connecting') });
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
      gaps.seed(
        doc.storeId,
        doc.terminalId,
        doc.businessDate,
        seen.map((e) => e.sequence ?? 0).filter((n) => n > 0),
      );
    }

    /** Parks a message that cannot be processed in the dead-letter store, with the reason in words. */
    async function deadLetter(store: Store, entry: InboxEntry, reason: string, name = 'RejectedMessage'): Promise<void> {
      const stored = (entry.payload ?? {}) as StoredEvent;
      counts.rejected++;
      rejections.record(`${reason} (on ${stored.topic})`);
      await recordFailure(
        store,
        {
          payload: keptPayload(stored),
          topic: stored.topic,
          // deadLetterId: a replayed message rejected again goes back to its entry (one history).
          tillwire: {
            schemaVersion: 1,
            eventId: entry.eventId,
            attempts: entry.attempts,
            source: { system: 'pos', receivedAt: entry.receivedAt },
            ...(stored.replayOf ? { deadLetterId: stored.replayOf } : {}),
          },
        },
        { error: { message: reason, name }, flowId: node.z ?? null, nodeId: node.id, nodeType: node.type, nodeName: node.name ?? null },
      );
    }

    /** Finishes an entry that produced no output (rejected, or a repeat). */
    async function completeHere(ready: DurableInbox, id: string): Promise<void> {
      await ready.complete(id);
      inFlight.finish(id);
    }

    async function process(store: Store, ready: DurableInbox, entry: InboxEntry, redelivery: boolean): Promise<void> {
      const stored = entry.payload as StoredEvent;
      const raw = fromStored(stored);
      const result = raw ? interpret(stored.topic, raw, limits) : oversize(stored.oversize?.bytes ?? 0, limits);
      const inboxRef = { source, id: entry.id };
      if (result.outcome === 'rejected') {
        await deadLetter(store, entry, result.reason);
        await completeHere(ready, entry.id);
        return;
      }
      // Store ids are unique across brands (the sale key has no brand): the first brand owns one.
      const owner = await storeOwners(store).ownerFor(result.topic.storeId, result.topic.brand);
      if (owner !== result.topic.brand) {
        await deadLetter(store, entry, foreignStoreReason(result.topic.storeId, result.topic.brand, owner), 'ForeignStoreId');
        await completeHere(ready, entry.id);
        return;
      }
      const doc = result.doc;
      const envelope = {
        schemaVersion: 1,
        eventId: entry.eventId,
        idempotencyKey: result.key,
        correlationId: result.key,
        source: { system: 'pos', channel: result.topic.brand, account: result.topic.storeId, eventId: doc.saleId ?? result.key, receivedAt: entry.receivedAt },
        occurredAt: doc.occurredAt ?? doc.closedAt,
        attempts: entry.attempts,
      };
      const msg: NodeMessage = { payload: doc, tillwire: envelope, [INBOX_REF]: inboxRef, mqttTopic: stored.topic };
      const isClose = result.outcome === 'close';
      if (!isClose) await seedGaps(store, doc);
      const registered = await store.registerPut({
        key: result.key,
        kind: isClose ? 'till.close' : 'sale',
        storeId: result.topic.storeId,
        terminalId: result.topic.tillId,
        businessDate: doc.businessDate,
        sequence: isClose ? null : doc.sequence,
        amount: isClose ? doc.net.amount : doc.totals.grandTotal.amount,
        currency: doc.currency,
        document: doc,
      });
      if (!registered) {
        // The register, keyed by the business key, is what counts a valid sale (or close) once.
        const existing = await store.registerGet(result.key);
        if (existing && !sameDocument(existing.document, doc)) {
          await deadLetter(
            store,
            entry,
            `${result.key} is already recorded with a different document; a recorded ${isClose ? 'till close' : 'sale'} is never replaced${isClose ? '' : ': send the change as a new transaction (a return, a new sale) with its own saleId and sequence'}`,
          );
          await completeHere(ready, entry.id);
          return;
        }
        if (!redelivery) {
          // The same document again in other bytes (a new inbox entry): already counted and passed on.
          counts.duplicates++;
          await completeHere(ready, entry.id);
          return;
        }
        // A redelivery of this entry: it may have registered the document before the process
        // stopped, without its output being finished. It goes out again; downstream writes are
        // idempotent by key.
      }
      if (isClose) {
        msg.topic = 'till.closed';
        node.send([null, null, msg]);
        return;
      }
      gaps.observe(doc.storeId, doc.terminalId, doc.businessDate, doc.sequence);
      msg.topic = result.topic.kind === 'returns' ? 'return.completed' : 'sale.completed';
      counts.received++;
      windowCount++;
      node.send([msg, null, null]);
    }

    // Messages of one till are processed in arrival order (a close after the sales it counts), and
    // one that fails holds its till until the inbox's retry processes it or gives it up
    // (till-lanes.ts); different tills proceed independently.
    const lanes = new TillLanes();
    function deliver(store: Store, ready: () => DurableInbox) {
      return (entry: InboxEntry, redelivery: boolean): Promise<void> => {
        // In flight from delivery until an inbox done node (or a completion here) finishes it, so
        // messages queued behind a slow till count against the bound too.
        inFlight.add(entry.id);
        const lane = tillLane(String((entry.payload as StoredEvent | null)?.topic ?? entry.eventId));
        return lanes.run(lane, entry.id, () => process(store, ready(), entry, redelivery));
      };
    }

    async function start(): Promise<void> {
      if (closed || !connection) return;
      try {
        const store = await binding.acquire();
        const ready: DurableInbox = new DurableInbox(
          store,
          source,
          deliver(store, () => ready),
          {
            maxAttempts,
            onError: (entry, err, willRetry) => {
              inFlight.finish(entry.id);
              failures.record(`attempt ${entry.attempts + 1} of ${maxAttempts}${willRetry ? ', will retry' : ''}: ${asError(err).message}`);
            },
            onPoison: async (entry, err) => {
              await deadLetter(store, entry, `gave up after ${maxAttempts} attempts: ${errorInfo(err).message}`, 'PoisonMessage');
              inFlight.finish(entry.id);
              lanes.release(entry.id);
            },
          },
        );
        inbox = ready;
        ready.start();
        const recovered = await ready.recover();
        if (recovered) node.log(`re-emitted ${recovered} message(s) received before the last stop but not finished`);
        if (closed) return;
        // The connection hands over several messages while earlier ones are being stored; one till's
        // are stored one after another, so they are delivered in the order the till sent them.
        const arrival = new KeyedLock();
        unsubscribe = connection.subscribe(filter, (topic, payload, ack, session) =>
          arrival.run(tillLane(topic), async () => {
            // Its connection failed while it waited behind the till's earlier message (whose write
            // failed): dropped unstored, so the broker's redelivery keeps the till's order.
            if (!session.current()) return;
            // Backpressure: past the bound, the PUBACK waits and the broker keeps the backlog.
            await inFlight.room();
            try {
              if (!session.current()) return;
              await ready.accept(eventIdFor(topic, payload), toStored(topic, payload, limits), ack);
            } catch (err) {
              session.fail();
              throw err;
            } finally {
              // A new entry is counted by its id from delivery on (below); a repeat took no slot.
              inFlight.release();
            }
          }),
        );
      } catch (err) {
        // Store down: subscribe later (the broker keeps our session's queue meanwhile).
        void inbox?.stop();
        inbox = undefined;
        retryTimer = setTimeout(() => void start(), 5000);
        retryTimer.unref();
      }
    }
    if (!connection) node.error('no MQTT broker configured');
    else void start();

    // A replayed dead letter: the same inbox, checks and register as a message from the broker.
    onInput(node, async (msg: NodeMessage) => {
      const ready = inbox;
      if (!ready || closed) throw new Error('not ready: the store is not open yet; replay the entry again once the node is connected');
      const topic = typeof msg.topic === 'string' ? msg.topic : '';
      const raw = replayedBytes(msg.payload);
      const envelope = (msg.tillwire ?? {}) as Record<string, unknown>;
      const deadLetterId = typeof envelope.deadLetterId === 'string' ? envelope.deadLetterId : undefined;
      const stored: StoredEvent = { ...toStored(topic, raw, limits), ...(deadLetterId ? { replayOf: deadLetterId } : {}) };
      await inFlight.room();
      try {
        await ready.accept(replayEventIdFor(topic, raw, deadLetterId, envelope.attempts), stored);
      } finally {
        inFlight.release();
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      clearInterval(ticker);
      clearTimeout(retryTimer);
      unsubscribe?.();
      gaps.stop();
      inFlight.clear();
      lanes.releaseAll();
      rejections.close();
      failures.close();
      inboxEvents.off('inbox-done', onDone);
      connection?.off('state', showConnection);
      // Give unfinished messages back (they are not at fault), within Node-RED's close timeout.
      closeWithin(() => inbox?.stop() ?? Promise.resolve(), done);
    });
  }
  RED.nodes.registerType('tillwire-pos-mqtt-in', TillwirePosMqttInNode);
};
