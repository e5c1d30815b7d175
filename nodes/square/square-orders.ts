/**
 * `tillwire-square-orders`: the SearchOrders poller, Square's safety net for webhooks that never
 * came (and the backfill tool). On start and each interval, or on any input message, it pages
 * through the orders updated since its stored cursor minus an overlap window (or since `msg.since`,
 * a backfill), stores each order in the durable inbox as `order:<id>:<version>`, and emits the
 * canonical documents exactly like the webhook node (each order state once, whichever of the two
 * saw it first). Output 2 reports each poll. Processing that fails (Square or the store down) is
 * retried by the inbox while the node runs; after the node's *Attempts* the order goes to the
 * dead-letter store. The node's body is the shared poller (core/order-poller.ts); this file is
 * Square's poll, its locations and the delivery it shares with the webhook node.
 */
import type { NodeDef, NodeRED, RuntimeNode } from '../core/node-red';
import { runOrderPoller } from '../core/order-poller';
import { statusTexts } from '../core/status-text';
import { attemptsSetting } from '../core/inbound-inbox';
import { poisonedSquare, squareDelivery } from './node-common';
import { SQUARE_CONFIG, type SquareConnection } from './connection';
import { connectionOf } from '../core/config-node';
import { pollOnce, type PollReport } from './poller';

interface OrdersDef extends NodeDef {
  square: string;
  store: string;
  interval?: string | number;
  overlap?: string | number;
  lookback?: string | number;
  pageSize?: string | number;
  maxAttempts?: string | number;
}

/** What an input message can ask of a poll: a backfill from `msg.since`. */
interface Backfill {
  since: string;
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireSquareOrdersNode(this: RuntimeNode, def: OrdersDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const connection = connectionOf<SquareConnection>(RED, def.square, SQUARE_CONFIG);
    const num = (v: unknown, d: number) => (v === undefined || v === '' || !Number.isFinite(Number(v)) ? d : Number(v));
    const overlapMs = Math.max(0, num(def.overlap, 600)) * 1000;
    const lookbackMs = Math.max(0, num(def.lookback, 24)) * 3_600_000;
    const pageSize = Math.min(1000, Math.max(1, Math.floor(num(def.pageSize, 500))));
    const attempts = attemptsSetting(def.maxAttempts);
    if (attempts.problem) node.warn(attempts.problem);
    let last: PollReport | undefined;

    runOrderPoller<unknown, PollReport, Backfill>(RED, node, {
      system: 'square',
      texts: t,
      connection,
      store: def.store,
      intervalSeconds: Math.max(0, num(def.interval, 300)),
      source: `square-orders:${def.id}`,
      cursorKey: `square:poll:${def.id}`,
      async poll({ store, cursorKey, accept, signal }, backfill) {
        // SearchOrders over the connection's locations (at most 10, checked by the config node).
        last = await pollOnce(
          connection!.client!,
          store,
          { accept },
          {
            cursorKey,
            locationIds: connection!.settings.locationIds,
            overlapMs,
            initialLookbackMs: lookbackMs,
            pageSize,
            since: backfill?.since,
            signal,
          },
        );
        return last;
      },
      asked(msg) {
        if (typeof msg.since !== 'string') return undefined;
        if (Number.isNaN(Date.parse(msg.since))) throw new Error(`msg.since '${msg.since}' is not a timestamp`);
        return { since: msg.since };
      },
      report: (report, trigger) => [null, { ...trigger, topic: 'square.poll', payload: report }],
      processed: {
        maxAttempts: attempts.maxAttempts,
        what: 'polled Square order',
        poisoned: poisonedSquare,
        deliver: (ctx) =>
          squareDelivery({
            node,
            store: ctx.store,
            connection: connection!,
            source: ctx.source,
            counts: ctx.counts,
            refresh: ctx.refresh,
            complete: ctx.complete,
            send: (msg) => node.send([msg, null]),
          }),
      },
      badge: () => (last ? t('status.lastPoll', { count: last.orders }) : undefined),
    });
  }
  RED.nodes.registerType('tillwire-square-orders', TillwireSquareOrdersNode);
};
