/**
 * The skeleton every webhook node shares (Shopify, Square, …), so a system's node only says what is
 * its own (how a delivery is verified, which headers are kept, how a stored event becomes a
 * message):
 * - the route is mounted at once and answers 503 until the node's store is open (retried every
 *   5 s), then raw body → verify → durable inbox → 200 (runtime/webhook.ts);
 * - the node's *Body limit*, *Max age* and *Attempts* settings; rejections and unstored deliveries
 *   logged without flooding; counts on the badge;
 * - a started inbox (core/inbound-inbox.ts): unfinished events of the last run recovered at start,
 *   failed processing retried with back-off, given up after *Attempts* to the dead-letter store;
 * - on close only this node's route is removed, and the inbox gives back what is in flight.
 */
import type { NodeRED, RuntimeNode } from './node-red';
import { asError, bindStore, commonText, shortText, StatusBoard } from './node-kit';
import { attemptsSetting, closeWithin, processingFailures, startInboundInbox, type InboundInbox, type PoisonedForm } from './inbound-inbox';
import type { DurableInbox } from '../runtime/inbox';
import type { InboxEntry, Store } from '../runtime/store';
import { webhookHandler, webhookLimits, webhookLogs, type Verification, type WebhookLimits } from '../runtime/webhook';
import { mountWebhook, type MountedWebhook } from '../runtime/webhook-route';
import { sizeBodyBudget } from '../runtime/byte-budget';

/** The settings every webhook node's dialog has. */
export interface WebhookNodeDef {
  store: string;
  path?: string;
  maxBodyKiB?: string | number;
  maxAgeHours?: string | number;
  maxAttempts?: string | number;
}

/** What processing tells the badge. */
export interface WebhookCounts {
  /** Messages sent on. */
  emitted: number;
  /** Events parked in the dead-letter store (unmappable, or given up after their attempts). */
  failed: number;
}

/** What a system's processing gets once the store is open. */
export interface WebhookContext {
  store: Store;
  source: string;
  counts: WebhookCounts;
  /** Marks an entry finished here (no output, or parked in the dead-letter store). */
  complete(id: string): Promise<void>;
  /** Redraws the badge after a count changed. */
  refresh(): void;
}

export interface WebhookSpec {
  /** Names the provider in texts ('Shopify'). */
  system: string;
  /** The inbox source the node writes. */
  source: string;
  /** Route path (leading slash). */
  path: string;
  defaultMaxAgeHours: number;
  /** Request headers stored with the event (lower-case). */
  keepHeaders: string[];
  /** Checks a delivery (signature, account, shape, age) and names its event id. */
  verify(limits: WebhookLimits): (raw: Buffer, headers: Record<string, string | string[] | undefined>) => Verification;
  /**
   * The processing of one stored event: must return a promise that REJECTS when it failed for a
   * reason that may pass (an API or the store down), so the inbox retries it.
   */
  deliver(ctx: WebhookContext): (entry: InboxEntry, redelivery: boolean) => Promise<void>;
  /** Which entries of the source are this node's (a source shared with a poller). */
  owns?: (entry: InboxEntry) => boolean;
  /** The dead-letter form of an event given up after its attempts. */
  poisoned(entry: InboxEntry): PoisonedForm;
}

/**
 * Runs a webhook node; returns false (after a red badge) when it cannot serve. `problem`: why the
 * node cannot serve, as its badge shows it (the node's own catalog).
 */
export function runWebhookNode(RED: NodeRED, node: RuntimeNode, def: WebhookNodeDef, spec: WebhookSpec, problem?: string): boolean {
  const board = new StatusBoard(node, RED);
  const httpNode = (RED as any).httpNode;
  problem ??= httpNode ? undefined : commonText(RED, 'webhook.httpDisabled');
  if (problem) {
    board.set({ fill: 'red', shape: 'ring', text: shortText(problem) });
    return false;
  }
  const binding = bindStore(RED, node, def.store, board);
  const limits = webhookLimits(def, spec.defaultMaxAgeHours);
  const attempts = attemptsSetting(def.maxAttempts);
  // The budget shared by every webhook body being read in this process (settings.ts).
  const budgetProblem = sizeBodyBudget(RED.settings);
  for (const p of [...limits.problems, ...(attempts.problem ? [attempts.problem] : []), ...(budgetProblem ? [budgetProblem] : [])]) node.warn(p);
  const counts: WebhookCounts = { emitted: 0, failed: 0 };
  const logs = webhookLogs(
    (line) => node.warn(line),
    (line) => node.error(line),
  );
  const failures = processingFailures(node, `${spec.system} webhook event`);
  let running: InboundInbox | undefined;
  let inbox: DurableInbox | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let storeWarned = false;

  const refresh = () => {
    const rejected = logs.rejections.total;
    const tally = commonText(RED, 'webhook.counts', { in: counts.emitted, rejected, failed: counts.failed });
    const text = inbox ? tally : commonText(RED, 'webhook.starting', { counts: tally });
    board.set({ fill: inbox && !rejected ? 'green' : 'yellow', shape: inbox && !rejected ? 'dot' : 'ring', text: shortText(text) });
  };
  refresh();

  const handler = webhookHandler({
    verify: spec.verify(limits),
    inbox: () => inbox,
    bodyLimit: limits.bodyLimit,
    keepHeaders: spec.keepHeaders,
    onRejected: (reason, status) => {
      logs.rejections.record(`(${status}) ${reason}`);
      refresh();
    },
    onError: (err) => logs.failures.record(err.message),
  });
  const route: MountedWebhook = mountWebhook(httpNode, spec.path, limits.bodyLimit, handler);

  async function start(): Promise<void> {
    try {
      const store = await binding.acquire();
      if (closed) return;
      const ctx: WebhookContext = { store, source: spec.source, counts, refresh, complete: (id) => started.inbox.complete(id) };
      const started: InboundInbox = startInboundInbox({
        node,
        store,
        source: spec.source,
        maxAttempts: attempts.maxAttempts,
        deliver: spec.deliver(ctx),
        owns: spec.owns,
        poisoned: spec.poisoned,
        failures,
        onGivenUp: () => {
          counts.failed++;
          refresh();
        },
      });
      running = started;
      const recovered = await started.inbox.recover();
      if (recovered) node.log(`re-emitted ${recovered} ${spec.system} event(s) received before the last stop but not finished`);
      if (closed) return;
      inbox = started.inbox;
      refresh();
    } catch (err) {
      void running?.stop();
      running = undefined;
      if (closed) return;
      if (!storeWarned) node.warn(`store not ready (${asError(err).message}); webhooks are answered 503 until it is`);
      storeWarned = true;
      retry = setTimeout(() => void start(), 5000);
      retry.unref();
    }
  }
  void start();

  node.on('close', (_removed: boolean, done: () => void) => {
    closed = true;
    clearTimeout(retry);
    route.unmount();
    logs.close();
    failures.close();
    inbox = undefined;
    closeWithin(() => running?.stop() ?? Promise.resolve(), done);
  });
  return true;
}
