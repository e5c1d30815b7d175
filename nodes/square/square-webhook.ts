/**
 * `tillwire-square-webhook`: Square's webhook deliveries on a Node-RED HTTP route (the shared
 * skeleton in core/webhook-node.ts).
 *   raw body → signature (notification URL + body, constant time; 401 on mismatch) → merchant
 *   (403 for another one) → durable inbox by event_id (before the 200; repeats answered 200 and
 *   not processed) → RetrieveOrder → canonical Sale / Order / Return → output, with `msg.tillwire`
 *   and `msg.tillwireInbox`.
 * Mapping failures go to the dead-letter store with the raw body; so does an event whose processing
 * keeps failing (Square or the store down), after the node's attempts. See docs/connectors/square.md.
 */
import type { NodeDef, NodeRED, RuntimeNode } from '../core/node-red';
import { runWebhookNode, type WebhookNodeDef } from '../core/webhook-node';
import { statusTexts } from '../core/node-kit';
import { SQUARE_MAX_AGE_HOURS, verifySquare } from './verify';
import { poisonedSquare, squareDelivery } from './node-common';
import { SQUARE_CONFIG, type SquareConnection } from './connection';
import { connectionOf } from '../core/config-node';

interface WebhookDef extends NodeDef, WebhookNodeDef {
  square: string;
}

const SQUARE_KEEP_HEADERS = ['square-environment', 'square-retry-number', 'square-retry-reason', 'square-initial-delivery-timestamp'];

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireSquareWebhookNode(this: RuntimeNode, def: WebhookDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const connection = connectionOf<SquareConnection>(RED, def.square, SQUARE_CONFIG);
    const problem = !connection ? t('status.noConnection') : connection.problem;
    const s = connection?.settings;
    if (s && !problem && !s.merchantId) {
      node.warn(
        `no merchant id in the Square connection "${connection!.label}": deliveries signed with its key are accepted for any merchant; set it to refuse other merchants' events (403)`,
      );
    }
    runWebhookNode(
      RED,
      node,
      def,
      {
        system: 'Square',
        source: `square-webhook:${def.id}`,
        path: '/' + (def.path || '/square/webhook').replace(/^\/+/, ''),
        defaultMaxAgeHours: SQUARE_MAX_AGE_HOURS,
        keepHeaders: SQUARE_KEEP_HEADERS,
        verify: (limits) =>
          verifySquare({ signatureKey: s!.signatureKey, notificationUrl: s!.notificationUrl, merchantId: s!.merchantId, maxAgeMs: limits.maxAgeMs }),
        deliver: (ctx) =>
          squareDelivery({
            node,
            store: ctx.store,
            connection: connection!,
            source: ctx.source,
            counts: ctx.counts,
            complete: ctx.complete,
            refresh: ctx.refresh,
            send: (msg) => node.send(msg),
          }),
        poisoned: poisonedSquare,
      },
      problem,
    );
  }
  RED.nodes.registerType('tillwire-square-webhook', TillwireSquareWebhookNode);
};
