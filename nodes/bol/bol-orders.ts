/**
 * `tillwire-bol-orders`: polls bol.com for changed orders (latest-change-date per day with an
 * overlap window, pages until empty, GET order per changed order within its bucket) and emits each
 * order state once as a canonical Order:
 *   list + detail → durable inbox (event id `order:<orderId>:<latest change>`) → cursor advance
 *   → map + validate → output (with msg.tillwire and msg.tillwireInbox for `tillwire-ack`).
 * An order that cannot be mapped goes to the dead-letter store with bol's own payload and the
 * reason. The node's body is the shared marketplace poller (core/order-poller.ts); this file is
 * bol's poll and mapping.
 */
import type { NodeDef, NodeRED, RuntimeNode } from '../core/node-red';
import { runOrderPoller } from '../core/order-poller';
import { statusTexts } from '../core/status-text';
import { pollOnce } from './poller';
import { latestChange, toCanonicalOrder, topicFor } from './map';
import { BOL_CONFIG, type BolConnection } from './connection';
import { connectionOf } from '../core/config-node';

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
  const t = statusTexts(RED, __filename);
  function TillwireBolOrdersNode(this: RuntimeNode, def: OrdersDef) {
    RED.nodes.createNode(this, def);
    const connection = connectionOf<BolConnection>(RED, def.bol, BOL_CONFIG);
    const overlapMs = Math.max(0, Number(def.overlap ?? 60)) * 60_000;
    const lookbackMs = Math.max(0, Number(def.lookback ?? 24)) * 3_600_000;
    const fulfilment = (['FBR', 'FBB', 'ALL'].includes(String(def.fulfilment)) ? def.fulfilment : 'ALL') as 'FBR' | 'FBB' | 'ALL';
    const skuFrom = def.skuFrom === 'ean' ? 'ean' : 'reference';
    const concurrency = Math.max(1, Number(def.concurrency ?? 4));
    const recent = new Set<string>();

    runOrderPoller<Record<string, any>>(RED, this, {
      system: 'bol',
      texts: t,
      connection,
      store: def.store,
      intervalSeconds: Math.max(1, Number(def.interval ?? 300)),
      async poll({ store, cursorKey, accept, signal }) {
        if (recent.size > RECENT_MAX) recent.clear();
        await pollOnce({
          client: connection!.client!,
          store,
          cursorKey,
          accept,
          overlapMs,
          startAt: () => new Date(Date.now() - lookbackMs).toISOString(),
          fulfilmentMethod: fulfilment,
          concurrency,
          recent,
          signal,
        });
      },
      map: (order) => toCanonicalOrder(order, { account: connection!.account, skuFrom }),
      topic: topicFor,
      describe: (order) => ({ source: { channel: 'bol.com', account: connection!.account }, occurredAt: latestChange(order) }),
      fallbackKey: (order) => `order:bol:${connection!.account}:${order?.orderId}`,
    });
  }
  RED.nodes.registerType('tillwire-bol-orders', TillwireBolOrdersNode);
};
