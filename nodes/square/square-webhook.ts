/**
 * `tillwire-square-webhook`: Square's webhook deliveries on a Node-RED HTTP route.
 *   raw body → signature (notification URL + body, constant time; 401 on mismatch) → durable
 *   inbox by event_id (before the 200; repeats answered 200 and not processed) → RetrieveOrder →
 *   canonical Sale / Order / Return → output, with `msg.tillwire` and `msg.tillwireInbox`.
 * Mapping failures go to the dead-letter store with the raw body. See docs/connectors/square.md.
 */
import type { NodeDef, NodeRED, RuntimeNode } from '../core/node-red';
import { bindStore, StatusBoard, asError } from '../core/node-kit';
import { DurableInbox } from '../runtime/inbox';
import { webhookHandler, webhookLimits, webhookLogs } from '../runtime/webhook';
import { mountWebhook, type MountedWebhook } from '../runtime/webhook-route';
import { sizeBodyBudget } from '../runtime/byte-budget';
import { SQUARE_MAX_AGE_HOURS, verifySquare } from './verify';
import { connectionOf, Counts, squareDelivery } from './node-common';

interface WebhookDef extends NodeDef {
  square: string;
  store: string;
  path?: string;
  maxBodyKiB?: string | number;
  maxAgeHours?: string | number;
}

export = function register(RED: NodeRED) {
  function TillwireSquareWebhookNode(this: RuntimeNode, def: WebhookDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const binding = bindStore(RED, node, def.store, board);
    const connection = connectionOf(RED, def.square);
    const source = `square-webhook:${def.id}`;
    const path = '/' + (def.path || '/square/webhook').replace(/^\/+/, '');
    const counts: Counts = { emitted: 0, skipped: 0, failed: 0, rejected: 0 };
    let inbox: DurableInbox | undefined;
    let closed = false;
    let retryTimer: NodeJS.Timeout | undefined;
    const httpNode = (RED as any).httpNode;
    const limits = webhookLimits(def, SQUARE_MAX_AGE_HOURS);
    for (const p of limits.problems) node.warn(p);
    // The budget shared by every webhook body being read in this process (settings.ts).
    const budgetProblem = sizeBodyBudget(RED.settings);
    if (budgetProblem) node.warn(budgetProblem);
    let route: MountedWebhook | undefined;
    const logs = webhookLogs((line) => node.warn(line), (line) => node.error(line));

    const refresh = () => {
      counts.rejected = logs.rejections.total;
      if (!connection) return board.set({ fill: 'red', shape: 'ring', text: 'no Square connection' });
      if (connection.problem) return board.set({ fill: 'red', shape: 'ring', text: connection.problem });
      if (!httpNode) return board.set({ fill: 'red', shape: 'ring', text: 'HTTP nodes are disabled' });
      board.set({ fill: inbox ? 'green' : 'yellow', shape: inbox ? 'dot' : 'ring', text: `${inbox ? '' : 'starting · '}${counts.emitted} in, ${counts.rejected} rejected, ${counts.failed} failed` });
    };
    refresh();

    if (connection && !connection.problem && httpNode) {
      const s = connection.settings;
      const handler = webhookHandler({
        verify: verifySquare({ signatureKey: s.signatureKey, notificationUrl: s.notificationUrl, maxAgeMs: limits.maxAgeMs }),
        inbox: () => inbox,
        bodyLimit: limits.bodyLimit,
        keepHeaders: ['square-environment', 'square-retry-number', 'square-retry-reason', 'square-initial-delivery-timestamp'],
        onRejected: (reason, status) => {
          logs.rejections.record(`(${status}) ${reason}`);
          refresh();
        },
        onError: (err) => logs.failures.record(err.message),
      });
      route = mountWebhook(httpNode, path, limits.bodyLimit, handler);
    }

    async function start(): Promise<void> {
      if (closed || !connection || connection.problem) return;
      try {
        const store = await binding.acquire();
        const deliver = squareDelivery({ node, store, connection, source, counts, board, refresh, send: (msg) => node.send(msg) });
        const ready = new DurableInbox(store, source, deliver);
        const recovered = await ready.recover();
        if (recovered) node.log(`re-emitted ${recovered} Square event(s) received before the last stop but not finished`);
        inbox = ready;
        refresh();
      } catch (err) {
        node.warn(`store not ready (${asError(err).message}); webhooks are answered 503 until it is`);
        retryTimer = setTimeout(() => void start(), 5000);
        retryTimer.unref();
      }
    }
    void start();

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      clearTimeout(retryTimer);
      route?.unmount();
      logs.close();
      done();
    });
  }
  RED.nodes.registerType('tillwire-square-webhook', TillwireSquareWebhookNode);
};
