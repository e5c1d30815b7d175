/**
 * The schedule of every polling node (the order pollers through core/order-poller.ts, the
 * settlement and payout sources directly):
 * - one poll at a time: a plain trigger during a poll shares it; a trigger that asks for more
 *   (`asked`, e.g. a backfill from a date) gets a poll of its own once the running one ended;
 * - a poll on start (after `ready`, retried every 5 s while it fails) and then `interval` after the
 *   previous poll ended: a timer chain rather than a fixed beat, so a slow (throttled) poll is
 *   followed by a full interval of rest, never by a poll at once;
 * - a failed poll turns the badge red (`describeFailure`'s text); one the schedule started also
 *   reaches Catch nodes through node.error with a message (Node-RED only calls Catch for an error
 *   that names a message); a poll stopped by the close (PollStopped) or failing after it is not a
 *   failure;
 * - a close starts no new poll, aborts the running one at its next step (`signal`) and waits for it
 *   at most CLOSE_WAIT_MS, so a throttled poll does not hold up a deploy, then runs `afterClose`.
 */
import type { RuntimeNode } from './node-red';
import { asError, shortText, type StatusBoard } from './node-kit';
import { closeWithin } from './inbound-inbox';
import { PollStopped } from '../runtime/poll-stopped';

/** How long a closing node waits for a poll under way. */
export const CLOSE_WAIT_MS = 3000;
/** How soon a start whose `ready` failed (e.g. its store not open yet) tries again. */
export const READY_RETRY_MS = 5000;

export interface PollScheduleOptions<R, A> {
  /** One poll; `asked` is what the trigger asked beyond "poll now" (undefined for the schedule). */
  poll: (signal: AbortSignal, asked?: A) => Promise<R>;
  /** 0: only when a message asks. */
  intervalMs: number;
  /** False when the node cannot poll (no usable connection): no start, no timer. */
  enabled: boolean;
  /** The topic of the message a scheduled poll's failure is reported with. */
  topic: string;
  /** What must be open before the first poll (an inbox); runs on start even with no interval. */
  ready?: () => Promise<unknown>;
  /** The error handed to Catch and the badge text for a failure (default: the error and its message). */
  describeFailure?: (err: unknown) => { error: Error; text: string };
  /** What a poll the schedule started gives (e.g. a report on a second output); not called after the close. */
  onScheduled?: (result: R) => void;
  /** At close, at once (e.g. closing open streams). */
  onClose?: () => void;
  /** At close, after the poll in progress ended or the wait for it is over (e.g. stopping the inbox). */
  afterClose?: () => Promise<unknown>;
}

export interface PollSchedule<R, A> {
  readonly closed: boolean;
  /** Polls now, or joins the poll in progress (see `asked`); a failure turns the badge red and is thrown. */
  now(asked?: A): Promise<R>;
  /** The same, but a failure is reported (badge, Catch) instead of thrown. */
  safely(): Promise<void>;
}

export function schedulePolls<R = unknown, A = never>(node: RuntimeNode, board: StatusBoard, opts: PollScheduleOptions<R, A>): PollSchedule<R, A> {
  const abort = new AbortController();
  const describe = opts.describeFailure ?? ((err: unknown) => ({ error: asError(err), text: asError(err).message }));
  let running: Promise<R> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const counts = (err: unknown) => !closed && !(err instanceof PollStopped);

  const attempt = async (asked: A | undefined): Promise<R> => {
    if (closed) throw new PollStopped();
    try {
      return await opts.poll(abort.signal, asked);
    } catch (err) {
      // Whichever way the poll was started, the badge does not stay on "polling".
      if (counts(err)) board.set({ fill: 'red', shape: 'ring', text: shortText(describe(err).text) });
      throw err;
    }
  };

  const now = (asked?: A): Promise<R> => {
    if (closed) return Promise.reject(new PollStopped());
    if (running && asked === undefined) return running;
    const next: Promise<R> = (running ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => attempt(asked))
      .finally(() => {
        if (running === next) running = undefined;
      });
    running = next;
    return next;
  };

  const report = (err: unknown) => {
    if (!counts(err)) return;
    const { error } = describe(err);
    node.error(error, { topic: opts.topic, payload: { error: error.message } });
  };

  const safely = () => now().then(() => undefined, report);

  const scheduled = () =>
    now().then((result) => {
      if (!closed) opts.onScheduled?.(result);
    }, report);

  const later = (fn: () => unknown, ms: number) => {
    if (closed) return;
    timer = setTimeout(fn, ms);
    timer.unref?.();
  };

  const next = () => later(() => void scheduled().finally(next), opts.intervalMs);

  const start = async () => {
    if (closed) return;
    try {
      await opts.ready?.();
    } catch {
      // Not ready yet (e.g. the store is not open; its binding shows why): try again shortly.
      return later(() => void start(), READY_RETRY_MS);
    }
    if (closed || !(opts.intervalMs > 0)) return;
    // A (re)deploy catches up at once, then polls every interval.
    await scheduled();
    next();
  };

  // After the constructor, once the flow's other nodes exist.
  if (opts.enabled) setImmediate(() => void start());

  node.on('close', (_removed: boolean, done: () => void) => {
    closed = true;
    abort.abort();
    clearTimeout(timer);
    opts.onClose?.();
    // Requests already on the wire finish (each bounded by its timeout); none starts after this.
    closeWithin(async () => {
      let bound: NodeJS.Timeout | undefined;
      const waited = new Promise((resolve) => (bound = setTimeout(resolve, CLOSE_WAIT_MS)));
      await Promise.race([(running ?? Promise.resolve()).catch(() => undefined), waited]);
      clearTimeout(bound);
      await opts.afterClose?.();
    }, done);
  });

  return {
    get closed() {
      return closed;
    },
    now,
    safely,
  };
}
