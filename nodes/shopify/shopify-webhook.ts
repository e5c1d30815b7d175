/**
 * `tillwire-shopify-webhook`: Shopify webhooks on a Node-RED HTTP route (the shared skeleton in
 * core/webhook-node.ts). The raw body's `X-Shopify-Hmac-Sha256` is checked in constant time (401,
 * nothing processed, on mismatch); the event is written to the shop's durable inbox before the
 * 200; a repeat (same order state, same refund) is answered 200 and not emitted again; then it is
 * mapped to a canonical Order or Return and sent with its envelope, or sent to the dead-letter
 * store with the raw body if it cannot be mapped.
 *
 * The shop's inbox (`shopify:<shop>`) is shared with the shop's orders poller, so an order state
 * is stored once whichever saw it first; each node looks after (recovers, retries, gives up) only
 * the entries it stored: this node those with webhook headers.
 */
import type { NodeDef, NodeRED, RuntimeNode } from '../core/node-red';
import { runWebhookNode, type WebhookNodeDef } from '../core/webhook-node';
import { statusTexts } from '../core/node-kit';
import { inboxSource, KEEP_HEADERS, SHOPIFY_MAX_AGE_HOURS, verifyWebhook } from './ingest';
import { isWebhookEntry, poisonedShopify, processor } from './emit';
import { routePath, SHOPIFY_CONFIG, type ShopifyConnection } from './connection';
import { connectionOf } from '../core/config-node';

interface WebhookDef extends NodeDef, WebhookNodeDef {
  shopify: string;
  topics?: string;
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireShopifyWebhookNode(this: RuntimeNode, def: WebhookDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const conn = connectionOf<ShopifyConnection>(RED, def.shopify, SHOPIFY_CONFIG);
    const topics = String(def.topics ?? '')
      .split(/[\s,]+/)
      .filter(Boolean);
    const problem = !conn ? t('status.noShop') : conn.problem;
    if (conn && !problem && !conn.secrets.length) node.warn('no webhook secret configured: every delivery will be rejected with 401');
    const shop = conn?.shop ?? '';
    runWebhookNode(
      RED,
      node,
      def,
      {
        system: 'Shopify',
        source: inboxSource(shop),
        path: routePath(def.path),
        defaultMaxAgeHours: SHOPIFY_MAX_AGE_HOURS,
        keepHeaders: KEEP_HEADERS,
        verify: (limits) => (raw, headers) => verifyWebhook({ secrets: conn!.secrets, topics, shop, maxAgeMs: limits.maxAgeMs }, raw, headers),
        owns: isWebhookEntry,
        deliver: (ctx) => processor({ node, store: ctx.store, shop, source: ctx.source, counts: ctx.counts, complete: ctx.complete, onChange: ctx.refresh }),
        poisoned: poisonedShopify(shop),
      },
      problem,
    );
  }
  RED.nodes.registerType('tillwire-shopify-webhook', TillwireShopifyWebhookNode);
};
