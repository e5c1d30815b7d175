/**
 * `tillwire-shopify-orders`: the safety net for webhooks that never came. Polls orders updated since
 * its cursor (minus an overlap window) page by page, pacing on Shopify's calculated query cost; each
 * order state (`order:<id>:<updated_at>`) and each refund goes through the shop's durable inbox,
 * the same one the webhook node writes, so an order state a webhook already delivered is not
 * emitted again. The cursor advances (compare-and-set in the store) only after a page is stored.
 * Processing that fails (the store down) is retried by the inbox while the node runs, and after the
 * node's *Attempts* the event goes to the dead-letter store; of the shop's shared inbox this node
 * looks after only the entries it stored itself. The node's body is the shared poller
 * (core/order-poller.ts); this file is Shopify's poll and the delivery it shares with the webhook node.
 */
import type { NodeDef, NodeRED, RuntimeNode } from '../core/node-red';
import { runOrderPoller } from '../core/order-poller';
import { statusTexts } from '../core/status-text';
import { attemptsSetting } from '../core/inbound-inbox';
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
  const t = statusTexts(RED, __filename);
  function TillwireShopifyOrdersNode(this: RuntimeNode, def: OrdersDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const conn = connectionOf<ShopifyConnection>(RED, def.shopify, SHOPIFY_CONFIG);
    const overlapMs = num(def.overlap, 300, 0) * 1000;
    const lookbackMs = num(def.lookback, 24, 0) * 3_600_000;
    const pageSize = Math.min(250, Math.max(1, Math.floor(num(def.pageSize, 100, 1))));
    const attempts = attemptsSetting(def.maxAttempts);
    if (attempts.problem) node.warn(attempts.problem);
    const shop = conn?.shop ?? '';
    let last: PollResult | undefined;

    runOrderPoller<unknown, PollResult>(RED, node, {
      system: 'shopify',
      texts: t,
      connection: conn,
      store: def.store,
      intervalSeconds: num(def.interval, 60, 0),
      source: inboxSource(shop),
      cursorKey: `shopify:${shop}:orders-cursor:${node.id}`,
      async poll({ store, cursorKey, accept, signal }) {
        last = await pollOrders({
          client: conn!.client!,
          store,
          accept,
          cursorKey,
          nodeId: node.id,
          overlapMs,
          initialSince: new Date(Date.now() - lookbackMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          pageSize,
          signal,
        });
        return last;
      },
      processed: {
        maxAttempts: attempts.maxAttempts,
        what: 'polled Shopify event',
        // The shop's inbox is shared with the webhook node: this node looks after what it stored.
        owns: isPollerEntry(node.id),
        poisoned: poisonedShopify(shop),
        deliver: (ctx) => processor({ node, store: ctx.store, shop, source: ctx.source, counts: ctx.counts, complete: ctx.complete, onChange: ctx.refresh }),
      },
      badge: () => (last ? t('status.lastPoll', { count: last.accepted }) : undefined),
    });
  }
  RED.nodes.registerType('tillwire-shopify-orders', TillwireShopifyOrdersNode);
};
