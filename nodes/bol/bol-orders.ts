/**
 * `tillwire-bol-orders`: polls bol.com for changed orders (latest-change-date per day with an
 * overlap window, pages until empty, GET order per changed order within its bucket) and emits each
 * order state once as a canonical Order:
 *   list + detail → durable inbox (event id `order:<orderId>:<latest change>`) → cursor advance
 *   → map + validate → output (with msg.tillwire and msg.tillwireInbox for `tillwire-ack`).
 * An order that cannot be mapped goes to the dead-letter store with bol's own payload and the reason.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode } from '../core/node-red';
import { bindStore, StatusBoard, shortText, asError, onInput, INBOX_REF } from '../core/node-kit';
import { DurableInbox } from '../runtime/inbox';
import type { InboxEntry, Store } from '../runtime/store';
import { recordFailure } from '../runtime/dead-letter';
import { validateDocument, businessKey } from '../model/validate';
import { pollOnce } from './poller';
import { latestChange, toCanonicalOrder, topicFor } from './map';
import type { BolConnection } from './connection';

interface OrdersDef extends NodeDef {
  bol: string;
  store: string;
  interval?: string | number;
  overlap?: string | number;
  lookback?: string | number;
  fulfilment?: string;
  skuFrom?: string;
  concurrency?: string | number;
}

/** Event ids kept in memory to spare detail calls on re-polls (the inbox dedupes anyway). */
const RECENT_MAX = 50_000;

export = function register(RED: NodeRED) {
  function TillwireBolOrdersNode(this: RuntimeNode, def: OrdersDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const binding = bindStore(RED, node, def.store, board);
    const connection: BolConnection | undefined = RED.nodes.getNode(def.bol)?.bol;
    const source = `bol-orders:${def.id}`;
    const cursorKey = `bol-orders:${def.id}:cursor`;
    const intervalMs = Math.max(1, Number(def.interval ?? 300)) * 1000;
    const overlapMs = Math.max(0, Number(def.overlap ?? 60)) * 60_000;
    const lookbackMs = Math.max(0, Number(def.lookback ?? 24)) * 3_600_000;
    const fulfilment = (['FBR', 'FBB', 'ALL'].includes(String(def.fulfilment)) ? def.fulfilment : 'ALL') as 'FBR' | 'FBB' | 'ALL';
    const skuFrom = def.skuFrom === 'ean' ? 'ean' : 'reference';
    const concurrency = Math.max(1, Number(def.concurrency ?? 4));
    const counts = { emitted: 0, failed: 0 };
    const recent = new Set<string>();
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> | undefined;
    let inbox: DurableInbox | undefined;
    let store: Store | undefined;

    const showOk = () => board.set({ fill: 'green', shape: 'dot', text: `${counts.emitted} orders${counts.failed ? ` · ${counts.failed} failed` : ''}` });
    const onRetry = (info: { operation: string; reason: string }) => {
      if (!closed) board.set({ fill: 'yellow', shape: 'ring', text: shortText(`${/429/.test(info.reason) ? 'throttled' : 'retrying'}: ${info.operation}`) });
    };

    async function process(s: Store, entry: InboxEntry): Promise<void> {
      const order = entry.payload as Record<string, any>;
      const account = connection!.account;
      const envelope: Record<string, any> = {
        schemaVersion: 1,
        eventId: entry.eventId,
        correlationId: entry.eventId,
        source: { system: 'bol', channel: 'bol.com', account, eventId: entry.eventId, receivedAt: entry.receivedAt },
        occurredAt: latestChange(order),
        attempts: entry.attempts,
      };
      try {
        const doc = toCanonicalOrder(order, { account, skuFrom });
        const v = validateDocument('order', doc);
        if (!v.valid) throw new Error(`not a valid canonical order: ${v.errors.join('; ')}`);
        envelope.idempotencyKey = businessKey(doc);
        counts.emitted++;
        showOk();
        node.send({ topic: topicFor(doc), payload: doc, tillwire: envelope, [INBOX_REF]: { source, id: entry.id } });
      } catch (err) {
        const e = asError(err);
        counts.failed++;
        envelope.idempotencyKey = `order:bol:${account}:${order?.orderId}`;
        await recordFailure(s, { topic: 'bol.order', payload: order, tillwire: envelope }, {
          error: { message: e.message, name: e.name },
          flowId: node.z ?? null,
          nodeId: node.id,
          nodeType: node.type,
          nodeName: node.name ?? null,
        });
        await s.inboxComplete(entry.id);
        showOk();
      }
    }

    async function poll(): Promise<void> {
      if (!connection?.client || !inbox || !store) return;
      if (recent.size > RECENT_MAX) recent.clear();
      await pollOnce({
        client: connection.client,
        store,
        cursorKey,
        accept: (eventId, order) => inbox!.accept(eventId, order),
        overlapMs,
        startAt: () => new Date(Date.now() - lookbackMs).toISOString(),
        fulfilmentMethod: fulfilment,
        concurrency,
        recent,
      });
      showOk();
    }

    function pollNow(): Promise<void> {
      running ??= poll().finally(() => (running = undefined));
      return running;
    }

    function failed(err: unknown) {
      const e = asError(err);
      board.set({ fill: 'red', shape: 'ring', text: shortText(`failed: ${e.message}`) });
      node.error(e, { topic: 'bol.poll', payload: { error: e.message } });
    }

    function schedule() {
      if (closed) return;
      timer = setTimeout(() => {
        pollNow().then(schedule, (err) => {
          failed(err);
          schedule();
        });
      }, intervalMs);
      timer.unref?.();
    }

    async function start(): Promise<void> {
      try {
        const s = await binding.acquire();
        if (closed) return;
        store = s;
        inbox = new DurableInbox(s, source, (entry) => {
          process(s, entry).catch((err) => node.error(asError(err), { topic: 'inbox.error', payload: entry.payload, [INBOX_REF]: { source, id: entry.id } }));
        });
        const recovered = await inbox.recover();
        if (recovered) node.log(`re-emitted ${recovered} order(s) received before the last stop but not finished`);
        showOk();
        await pollNow().catch(failed);
        schedule();
      } catch {
        if (!closed) {
          timer = setTimeout(() => void start(), 5000);
          timer.unref?.();
        }
      }
    }

    if (!connection) board.set({ fill: 'red', shape: 'ring', text: 'no bol.com account configured' });
    else if (connection.problem) board.set({ fill: 'red', shape: 'ring', text: shortText(connection.problem) });
    else {
      connection.events.on('retry', onRetry);
      void start();
    }

    // Any input message polls now (an inject node, or a push notification relayed by a flow).
    onInput(node, async (_msg: NodeMessage) => {
      if (!connection?.client) throw new Error(connection?.problem ?? 'no bol.com account configured');
      if (!inbox) throw new Error('the store is not ready yet');
      await pollNow();
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      clearTimeout(timer);
      connection?.events.off('retry', onRetry);
      (running ?? Promise.resolve()).then(
        () => done(),
        () => done(),
      );
    });
  }
  RED.nodes.registerType('tillwire-bol-orders', TillwireBolOrdersNode);
};
