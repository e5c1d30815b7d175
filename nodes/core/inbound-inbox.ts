/**
 * The durable inbox as an inbound connector node runs it (webhook and poller nodes): started, so a
 * delivery that fails is retried with back-off while the node runs (not at the next restart);
 * given up after the node's *Attempts* and parked in the dead-letter store naming the attempts and
 * the last error; told when a `tillwire-ack` node finishes one of its entries; and stopped on close
 * (entries in flight are given back, not counted as failed).
 */
import type { RuntimeNode } from './node-red';
import { asError, inboxEvents } from './node-kit';
import { DurableInbox, type Deliver } from '../runtime/inbox';
import { errorInfo, recordFailure } from '../runtime/dead-letter';
import { LogSummary } from '../runtime/log-summary';
import type { InboxEntry, Store } from '../runtime/store';

/** Deliveries of one event before it is given up, unless the node's *Attempts* says otherwise. */
export const DEFAULT_ATTEMPTS = 5;

/** Reads a node's *Attempts* setting (empty: the default); `problem` says why a value was not used. */
export function attemptsSetting(value: unknown): { maxAttempts: number; problem?: string } {
  if (value === undefined || value === null || String(value).trim() === '') return { maxAttempts: DEFAULT_ATTEMPTS };
  const n = Number(value);
  if (Number.isInteger(n) && n >= 1 && n <= 100) return { maxAttempts: n };
  return { maxAttempts: DEFAULT_ATTEMPTS, problem: `attempts '${value}' is not a whole number from 1 to 100; using ${DEFAULT_ATTEMPTS}` };
}

/** What the dead-letter entry of a given-up event keeps: its raw form, a topic and its source. */
export interface PoisonedForm {
  payload: unknown;
  topic: string;
  /** `msg.tillwire.source` of the entry (system, account, event id, received at…). */
  source: Record<string, unknown>;
}

export interface InboundInboxOptions {
  node: RuntimeNode;
  store: Store;
  source: string;
  maxAttempts: number;
  /** Must return a promise that rejects when the entry could not be handled (so it is retried). */
  deliver: Deliver;
  /** Which entries of the source are this node's (a source shared by two nodes); default all. */
  owns?: (entry: InboxEntry) => boolean;
  poisoned: (entry: InboxEntry) => PoisonedForm;
  /** Where failed attempts are logged (one line per burst, then counted summaries). */
  failures: LogSummary;
  /** Called after an entry was given up and parked. */
  onGivenUp?: (entry: InboxEntry) => void;
  /** How long a delivery holds its entry (default the inbox's 60 s). */
  leaseMs?: number;
}

export interface InboundInbox {
  inbox: DurableInbox;
  /** Stops the inbox (entries in flight are given back) and stops listening for finished entries. */
  stop(): Promise<void>;
}

/** A failure log for an inbound node (warnings; `what` names one item, e.g. 'webhook event'). */
export function processingFailures(node: RuntimeNode, what: string): LogSummary {
  return new LogSummary((line) => node.warn(line), `processing a ${what} failed`, `${what} processing failures`);
}

/** Creates and starts the inbox; call `recover()` on it next, then accept new events. */
export function startInboundInbox(o: InboundInboxOptions): InboundInbox {
  const { node, store, source, maxAttempts } = o;
  const inbox = new DurableInbox(store, source, o.deliver, {
    maxAttempts,
    owns: o.owns,
    leaseMs: o.leaseMs,
    onError: (entry, err, willRetry) => {
      o.failures.record(`attempt ${entry.attempts + 1} of ${maxAttempts}${willRetry ? ', will retry' : ', giving up'}: ${asError(err).message}`);
    },
    onPoison: async (entry, err) => {
      const form = o.poisoned(entry);
      const reason = `gave up after ${maxAttempts} attempts: ${errorInfo(err).message}`;
      await recordFailure(
        store,
        // envelope attempts count the deliveries before the last one, so the entry records maxAttempts
        { payload: form.payload, topic: form.topic, tillwire: { schemaVersion: 1, eventId: entry.eventId, attempts: maxAttempts - 1, source: form.source } },
        { error: { message: reason, name: 'PoisonMessage' }, flowId: node.z ?? null, nodeId: node.id, nodeType: node.type, nodeName: node.name ?? null },
      );
      node.warn(`event ${entry.eventId} sent to the dead-letter store: ${reason}`);
      o.onGivenUp?.(entry);
    },
  });
  const onDone = (doneSource: string, id: string) => {
    if (doneSource === source) inbox.finished(id);
  };
  inboxEvents.on('inbox-done', onDone);
  inbox.start();
  return {
    inbox,
    async stop() {
      inboxEvents.off('inbox-done', onDone);
      await inbox.stop();
    },
  };
}

/**
 * Runs `stop` within Node-RED's close timeout and then calls `done` (a store that hangs must not
 * hold up a redeploy; the entries then count as after a crash).
 */
export function closeWithin(stop: () => Promise<unknown>, done: () => void, ms = 5000): void {
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(bound);
    done();
  };
  const bound = setTimeout(finish, ms);
  void stop().then(finish, finish);
}
