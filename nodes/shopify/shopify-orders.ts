/**
 * `tillwire-shopify-orders`: the safety net for webhooks that never came. Polls orders updated since
 * its cursor (minus an overlap window) page by page, pacing on Shopify's calculated query cost; each
 * order state (`order:<id>:<updated_at>`) and each refund goes through the shop's durable inbox,
 * the same one the webhook node writes, so an order state a webhook already delivered is not
 * emitted again. The cursor advances (compare-and-set in the store) only after a page is stored.
 * Processing that fails (the store down) is retried by the inbox while the node runs, and after the
 * node's *Attempts* the event goes to the dead-letter store; of the shop's shared inbox this node
 * looks after only the entries it stored itself.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode } from '../core/node-red';
import { bindStore, onInput, StatusBoard, shortText, asError } from '../core/node-kit';
import { attemptsSetting, closeWithin, processingFailures, startInboundInbox, type InboundInbox } from '../core/inbound-inbox';
import type { DurableInbox } from '../runtime/inbox';
import type { Store } from '../runtime/store';
import { inboxSource, pollOrders, type PollResult } from './ingest';
import { isPollerEntry, poisonedShopify, processor } from './emit';
import { SHOPIFY_CONFIG, type ShopifyConnection } from './connection';
import { connectionOf } from '../core/config-node';

interface OrdersDef extends NodeDef {
  shopify: string;
  store: string;
  interval?: string | number;
  overlap?: string | number;
  lookback?: string | number;
  pageSize?: string | number;
  maxAttempts?: string | number;
}

const num = (v: unknown, dflt: number, min: number) => {
  const n = Number(v);
  return Number.isFinite(n) && n >= min ? n : dflt;
};

export = function register(RED: NodeRED) {
  function TillwireShopifyOrdersNode(this: RuntimeNode, def: OrdersDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const binding = bindStore(RED, node, def.store, board);
    const conn = connectionOf<ShopifyConnection>(RED, def.shopify, SHOPIFY_CONFIG);
    const intervalMs = num(def.interval, 60, 0) * 1000;
    const overlapMs = num(def.overlap, 300, 0) * 1000;
    const lookbackMs = num(def.lookback, 24, 0) * 3_600_000;
    const pageSize = Math.min(250, Math.max(1, Math.floor(num(def.pageSize, 100, 1))));
    const counts = { emitted: 0, failed: 0 };
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<PollResult> | undefined;
    let ready: Promise<{ store: Store; inbox: DurableInbox }> | undefined;
    let inbound: InboundInbox | undefined;
    const attempts = attemptsSetting(def.maxAttempts);
    if (attempts.problem) node.warn(attempts.problem);
    const failures = processingFailures(node, 'polled Shopify event');

    if (!conn || conn.problem || !conn.client) {
      board.set({ fill: 'red', shape: 'ring', text: shortText(conn?.problem ?? (conn ? 'no access token' : 'no Shopify shop configured')) });
      onInput(node, async () => {
        throw new Error(`Shopify orders: ${conn?.problem ?? (conn ? 'no access token in the shop configuration' : 'no Shopify shop configured')}`);
      });
      return;
    }
    const client = conn.client;
    const source = inboxSource(conn.shop);
    const cursorKey = `shopify:${conn.shop}:orders-cursor:${node.id}`;

    function open() {
      ready ??= (async () => {
        const store = await binding.acquire();
        if (closed) throw new Error('closed');
        const started: InboundInbox = startInboundInbox({
          node,
          store,
          source,
          maxAttempts: attempts.maxAttempts,
          deliver: processor({ node, store, shop: conn!.shop, source, counts, complete: (id) => started.inbox.complete(id) }),
          owns: isPollerEntry(node.id),
          poisoned: poisonedShopify(conn!.shop),
          failures,
          onGivenUp: () => counts.failed++,
        });
        inbound = started;
        try {
          const recovered = await started.inbox.recover();
          if (recovered) node.log(`re-emitted ${recovered} polled event(s) not finished before the last stop`);
        } catch (err) {
          inbound = undefined;
          await started.stop();
          throw err;
        }
        return { store, inbox: started.inbox };
      })();
      ready.catch(() => (ready = undefined));
      return ready;
    }

    /** One poll at a time: a trigger during a poll shares it. */
    function poll(): Promise<PollResult> {
      running ??= (async () => {
        const { store, inbox } = await open();
        board.set({ fill: 'blue', shape: 'dot', text: 'polling' });
        // Cost-bucket waits and THROTTLED answers show as a yellow ring while they last.
        const result = await board.watch(() =>
          pollOrders({
            client,
            store,
            accept: (id, ev) => inbox.accept(id, ev),
            cursorKey,
            nodeId: node.id,
            overlapMs,
            initialSince: new Date(Date.now() - lookbackMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
            pageSize,
          }),
        );
        board.set({ fill: 'green', shape: 'dot', text: shortText(`${counts.emitted} out · ${result.accepted} new in last poll`) });
        return result;
      })().finally(() => (running = undefined));
      return running;
    }

    function schedule() {
      if (closed || intervalMs <= 0) return;
      timer = setTimeout(() => {
        poll()
          .catch((err) => {
            board.set({ fill: 'red', shape: 'ring', text: shortText(asError(err).message) });
            // With a message, so Catch nodes get it (msg.error.code / cause: docs/errors.md).
            node.error(asError(err), { topic: 'shopify.poll', payload: { error: asError(err).message } });
          })
          .finally(schedule);
      }, intervalMs);
    }

    onInput(node, async (_msg: NodeMessage) => {
      await poll();
    });
    // First poll at once (a redeploy catches up immediately), then every interval.
    if (intervalMs > 0) {
      timer = setTimeout(
        () =>
          void poll()
            .catch((err) => node.error(asError(err)))
            .finally(schedule),
        0,
      );
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      clearTimeout(timer);
      failures.close();
      // The poll under way first (it may still be storing a page), then the inbox gives back what is in flight.
      closeWithin(async () => {
        await (running ?? Promise.resolve()).catch(() => undefined);
        await inbound?.stop();
      }, done);
    });
  }
  RED.nodes.registerType('tillwire-shopify-orders', TillwireShopifyOrdersNode);
};
