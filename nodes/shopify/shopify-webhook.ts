/**
 * `tillwire-shopify-webhook`: Shopify webhooks on a Node-RED HTTP route. The raw body's
 * `X-Shopify-Hmac-Sha256` is checked in constant time (401, nothing processed, on mismatch); the
 * event is written to the shop's durable inbox before the 200; a repeat (same order state, same
 * refund, same `X-Shopify-Event-Id`) is answered 200 and not emitted again; then it is mapped to a
 * canonical Order or Return and sent with its envelope, or sent to the dead-letter store with the
 * raw body if it cannot be mapped.
 */
import type { NodeDef, NodeRED, RuntimeNode } from '../core/node-red';
import { bindStore, StatusBoard, shortText } from '../core/node-kit';
import { DurableInbox } from '../runtime/inbox';
import { webhookHandler, webhookLimits, webhookLogs, type StoredWebhook } from '../runtime/webhook';
import { mountWebhook, type MountedWebhook } from '../runtime/webhook-route';
import { sizeBodyBudget } from '../runtime/byte-budget';
import { inboxSource, KEEP_HEADERS, SHOPIFY_MAX_AGE_HOURS, verifyWebhook } from './ingest';
import { processor, recoverMine } from './emit';
import { routePath, type ShopifyConnection } from './connection';

interface WebhookDef extends NodeDef {
  shopify: string;
  store: string;
  path?: string;
  topics?: string;
  maxBodyKiB?: string | number;
  maxAgeHours?: string | number;
}

export = function register(RED: NodeRED) {
  const httpNode = (RED as any).httpNode;
  function TillwireShopifyWebhookNode(this: RuntimeNode, def: WebhookDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const binding = bindStore(RED, node, def.store, board);
    const conn: ShopifyConnection | undefined = RED.nodes.getNode(def.shopify)?.shopify;
    const path = routePath(def.path);
    const topics = String(def.topics ?? '').split(/[\s,]+/).filter(Boolean);
    const limits = webhookLimits(def, SHOPIFY_MAX_AGE_HOURS);
    for (const p of limits.problems) node.warn(p);
    // The budget shared by every webhook body being read in this process (settings.ts).
    const budgetProblem = sizeBodyBudget(RED.settings);
    if (budgetProblem) node.warn(budgetProblem);
    let route: MountedWebhook | undefined;
    const counts = { received: 0, rejected: 0, emitted: 0, failed: 0 };
    let inbox: DurableInbox | undefined;
    let closed = false;
    let retry: NodeJS.Timeout | undefined;
    const logs = webhookLogs((line) => node.warn(line), (line) => node.error(line));
    const show = () => {
      counts.rejected = logs.rejections.total;
      if (counts.rejected) board.set({ fill: 'yellow', shape: 'ring', text: shortText(`${counts.emitted} in · ${counts.rejected} rejected · ${counts.failed} failed`) });
      else board.set({ fill: 'green', shape: 'dot', text: `${counts.emitted} in · ${counts.failed} failed` });
    };

    if (!conn || conn.problem || !httpNode) {
      board.set({ fill: 'red', shape: 'ring', text: shortText(conn?.problem ?? (httpNode ? 'no Shopify shop configured' : 'HTTP nodes are disabled')) });
      return;
    }
    if (!conn.secrets.length) node.warn('no webhook secret configured: every delivery will be rejected with 401');
    const source = inboxSource(conn.shop);

    const handler = webhookHandler({
      verify: (raw, headers) => verifyWebhook({ secrets: conn.secrets, topics, shop: conn.shop, maxAgeMs: limits.maxAgeMs }, raw, headers),
      inbox: () => inbox,
      bodyLimit: limits.bodyLimit,
      keepHeaders: KEEP_HEADERS,
      onRejected: (reason, status) => {
        logs.rejections.record(`(${status}) ${reason}`);
        show();
      },
      onError: (err) => logs.failures.record(err.message),
    });
    route = mountWebhook(httpNode, path, limits.bodyLimit, handler);

    async function start(): Promise<void> {
      try {
        const store = await binding.acquire();
        if (closed) return;
        const deliver = processor(node, store, conn!.shop, source, counts, show);
        const recovered = await recoverMine(store, source, (e) => !!(e.payload as StoredWebhook)?.headers, deliver);
        if (recovered) node.log(`re-emitted ${recovered} webhook event(s) received before the last stop but not finished`);
        inbox = new DurableInbox(store, source, deliver);
        show();
      } catch {
        if (!closed) {
          retry = setTimeout(() => void start(), 5000);
          retry.unref();
        }
      }
    }
    void start();

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      clearTimeout(retry);
      route?.unmount();
      logs.close();
      done();
    });
  }
  RED.nodes.registerType('tillwire-shopify-webhook', TillwireShopifyWebhookNode);
};
