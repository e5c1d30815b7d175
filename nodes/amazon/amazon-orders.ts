/**
 * `tillwire-amazon-orders`: polls Amazon for orders changed since the last poll (Orders API
 * 2026-01-01 searchOrders by default, or v0 getOrders + getOrderItems, as the account's config
 * says; lastUpdatedAfter with an overlap window, token paging, each bucket respected) and
 * emits each order state once as a canonical Order:
 *   poll page → durable inbox (event id `order:<AmazonOrderId>:<LastUpdateDate>`) → cursor advance
 *   → map + validate → output (with msg.tillwire and msg.tillwireInbox for `tillwire-ack`).
 * Pending orders are held until Amazon prices them. An order that cannot be mapped goes to the
 * dead-letter store with Amazon's own payload and the reason. The node's body is the shared
 * marketplace poller (core/order-poller.ts); this file is Amazon's poll and mapping.
 */
import type { NodeDef, NodeRED, RuntimeNode } from '../core/node-red';
import { runOrderPoller } from '../core/order-poller';
import { statusTexts } from '../core/status-text';
import { factsOf, pollOnce, PolledOrder } from './poller';
import { toCanonicalOrder, topicFor } from './map';
import { toCanonicalOrderV2026 } from './map-v2026';
import { AMAZON_CONFIG, type AmazonConnection } from './connection';
import { connectionOf } from '../core/config-node';

interface OrdersDef extends NodeDef {
  amazon: string;
  store: string;
  interval?: string | number;
  overlap?: string | number;
  lookback?: string | number;
  concurrency?: string | number;
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireAmazonOrdersNode(this: RuntimeNode, def: OrdersDef) {
    RED.nodes.createNode(this, def);
    const connection = connectionOf<AmazonConnection>(RED, def.amazon, AMAZON_CONFIG);
    const overlapMs = Math.max(0, Number(def.overlap ?? 5)) * 60_000;
    const lookbackMs = Math.max(0, Number(def.lookback ?? 24)) * 3_600_000;
    const concurrency = Math.max(1, Number(def.concurrency ?? 8));
    const account = () => connection!.sellerId || 'amazon';
    let held = 0;

    runOrderPoller<PolledOrder>(RED, this, {
      system: 'amazon',
      texts: t,
      connection,
      store: def.store,
      intervalSeconds: Math.max(1, Number(def.interval ?? 120)),
      async poll({ store, cursorKey, accept, signal }) {
        const result = await pollOnce({
          client: connection!.client!,
          store,
          cursorKey,
          marketplaceIds: connection!.marketplaceIds,
          accept,
          overlapMs,
          startAt: () => new Date(Date.now() - lookbackMs).toISOString(),
          concurrency,
          signal,
          apiVersion: connection!.apiVersion,
        });
        held = result.held.length;
      },
      map: (polled) =>
        polled.apiVersion === '2026-01-01'
          ? toCanonicalOrderV2026(polled.order, { account: account() })
          : toCanonicalOrder(polled.order, polled.items, { account: account() }),
      topic: topicFor,
      describe: (polled) => ({
        source: { channel: factsOf(polled).marketplaceId, ...(connection!.sellerId ? { account: connection!.sellerId } : {}) },
        occurredAt: factsOf(polled).lastUpdate,
      }),
      fallbackKey: (polled) => `order:amazon:${account()}:${factsOf(polled).id}`,
      badge: () => t('status.held', { count: held }),
    });
  }
  RED.nodes.registerType('tillwire-amazon-orders', TillwireAmazonOrdersNode);
};
