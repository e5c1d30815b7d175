/**
 * `tillwire-amazon-orders`: polls Amazon for orders changed since the last poll (LastUpdatedAfter
 * with an overlap window, NextToken paging, getOrderItems per order within its token bucket) and
 * emits each order state once as a canonical Order:
 *   poll page → durable inbox (event id `order:<AmazonOrderId>:<LastUpdateDate>`) → cursor advance
 *   → map + validate → output (with msg.tillwire and msg.tillwireInbox for `tillwire-ack`).
 * Pending orders are held until Amazon prices them. An order that cannot be mapped goes to the
 * dead-letter store with Amazon's own payload and the reason.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode } from '../core/node-red';
import { bindStore, StatusBoard, shortText, asError, onInput, INBOX_REF } from '../core/node-kit';
import { DurableInbox } from '../runtime/inbox';
import type { InboxEntry, Store } from '../runtime/store';
import { recordFailure } from '../runtime/dead-letter';
import { validateDocument, businessKey } from '../model/validate';
import { pollOnce, PolledOrder } from './poller';
import { toCanonicalOrder, topicFor } from './map';
import type { AmazonConnection } from './connection';

interface OrdersDef extends NodeDef {
  amazon: string;
  store: string;
  interval?: string | number;
  overlap?: string | number;
  lookback?: string | number;
  concurrency?: string | number;
}

export = function register(RED: NodeRED) {
  function TillwireAmazonOrdersNode(this: RuntimeNode, def: OrdersDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const binding = bindStore(RED, node, def.store, board);
    const connection: AmazonConnection | undefined = RED.nodes.getNode(def.amazon)?.amazon;
    const source = `amazon-orders:${def.id}`;
    const cursorKey = `amazon-orders:${def.id}:cursor`;
    const intervalMs = Math.max(1, Number(def.interval ?? 120)) * 1000;
    const overlapMs = Math.max(0, Number(def.overlap ?? 5)) * 60_000;
    const lookbackMs = Math.max(0, Number(def.lookback ?? 24)) * 3_600_000;
    const concurrency = Math.max(1, Number(def.concurrency ?? 8));
    const counts = { emitted: 0, held: 0, failed: 0 };
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> | undefined;
    let inbox: DurableInbox | undefined;
    let store: Store | undefined;

    const showOk = () => board.set({ fill: 'green', shape: 'dot', text: `${counts.emitted} orders · ${counts.held} held${counts.failed ? ` · ${counts.failed} failed` : ''}` });
    const onRetry = (info: { operation: string; reason: string }) => {
      if (!closed) board.set({ fill: 'yellow', shape: 'ring', text: shortText(`${/429/.test(info.reason) ? 'throttled' : 'retrying'}: ${info.operation}`) });
    };

    async function process(s: Store, entry: InboxEntry): Promise<void> {
      const polled = entry.payload as PolledOrder;
      const order = polled.order;
      const envelope: Record<string, any> = {
        schemaVersion: 1,
        eventId: entry.eventId,
        correlationId: entry.eventId,
        source: { system: 'amazon', channel: String(order.MarketplaceId), account: connection!.sellerId || undefined, eventId: entry.eventId, receivedAt: entry.receivedAt },
        occurredAt: order.LastUpdateDate,
        attempts: entry.attempts,
      };
      if (!envelope.source.account) delete envelope.source.account;
      try {
        const doc = toCanonicalOrder(order, polled.items, { account: connection!.sellerId || 'amazon' });
        const v = validateDocument('order', doc);
        if (!v.valid) throw new Error(`not a valid canonical order: ${v.errors.join('; ')}`);
        envelope.idempotencyKey = businessKey(doc);
        counts.emitted++;
        showOk();
        node.send({ topic: topicFor(doc), payload: doc, tillwire: envelope, [INBOX_REF]: { source, id: entry.id } });
      } catch (err) {
        const e = asError(err);
        counts.failed++;
        envelope.idempotencyKey = `order:amazon:${connection!.sellerId || 'amazon'}:${order.AmazonOrderId}`;
        await recordFailure(s, { topic: 'amazon.order', payload: polled, tillwire: envelope }, {
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
      const result = await pollOnce({
        client: connection.client,
        store,
        cursorKey,
        marketplaceIds: connection.marketplaceIds,
        accept: (eventId, polled) => inbox!.accept(eventId, polled),
        overlapMs,
        startAt: () => new Date(Date.now() - lookbackMs).toISOString(),
        concurrency,
      });
      counts.held = result.held.length;
      showOk();
    }

    /** One poll at a time; a trigger while one runs waits for it. */
    function pollNow(): Promise<void> {
      running ??= poll().finally(() => (running = undefined));
      return running;
    }

    function schedule() {
      if (closed) return;
      timer = setTimeout(() => {
        pollNow().then(schedule, (err) => {
          const e = asError(err);
          board.set({ fill: 'red', shape: 'ring', text: shortText(`failed: ${e.message}`) });
          node.error(e, { topic: 'amazon.poll', payload: { error: e.message } });
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
        await pollNow().catch((err) => {
          const e = asError(err);
          board.set({ fill: 'red', shape: 'ring', text: shortText(`failed: ${e.message}`) });
          node.error(e, { topic: 'amazon.poll', payload: { error: e.message } });
        });
        schedule();
      } catch (err) {
        if (!closed) {
          timer = setTimeout(() => void start(), 5000);
          timer.unref?.();
        }
      }
    }

    if (!connection) board.set({ fill: 'red', shape: 'ring', text: 'no Amazon account configured' });
    else if (connection.problem) board.set({ fill: 'red', shape: 'ring', text: shortText(connection.problem) });
    else {
      connection.events.on('retry', onRetry);
      void start();
    }

    // Any input message polls now (an inject node, or a notification relayed from SQS).
    onInput(node, async (_msg: NodeMessage) => {
      if (!connection?.client) throw new Error(connection?.problem ?? 'no Amazon account configured');
      if (!inbox) throw new Error('the store is not ready yet');
      await pollNow();
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      clearTimeout(timer);
      connection?.events.off('retry', onRetry);
      const wait = running ?? Promise.resolve();
      wait.then(
        () => done(),
        () => done(),
      );
    });
  }
  RED.nodes.registerType('tillwire-amazon-orders', TillwireAmazonOrdersNode);
};
