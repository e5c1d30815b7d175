/**
 * The schedule of a polling node that is not an order poller (settlement and payout sources): one
 * poll at a time, on an interval and when a message asks, never after the node closed. A poll the
 * timer started that fails shows red on the badge and reaches Catch nodes with a message (Node-RED
 * only calls Catch for an error that names a message); a close stops the timer, aborts the poll in
 * progress at its next step and waits for it before the node is gone. (The order pollers have the
 * same rules inside core/order-poller.ts, with their inbox.)
 */
import type { RuntimeNode } from './node-red';
import { shortText, type StatusBoard } from './node-kit';

export interface PollScheduleOptions {
  poll: (signal: AbortSignal) => Promise<unknown>;
  /** 0: only when a message asks. */
  intervalMs: number;
  /** False when the node cannot poll (no usable connection): no timer is started. */
  enabled: boolean;
  /** The topic of the message a timer poll's failure is reported with. */
  topic: string;
  /** Extra work at close, before waiting for the poll in progress (e.g. closing open streams). */
  onClose?: () => void;
}

export interface PollSchedule {
  readonly closed: boolean;
  /** Polls now, or joins the poll in progress; a failure turns the badge red and is thrown. */
  now(): Promise<void>;
  /** The same, but a failure is reported (badge, Catch) instead of thrown. */
  safely(): Promise<void>;
}

export function schedulePolls(node: RuntimeNode, board: StatusBoard, opts: PollScheduleOptions): PollSchedule {
  const abort = new AbortController();
  let polling: Promise<void> | undefined;
  let closed = false;
  const failed = (err: unknown) => {
    board.set({ fill: 'red', shape: 'ring', text: shortText((err as Error).message) });
    return err as Error;
  };
  const now = async () => {
    if (closed) return;
    polling ??= opts
      .poll(abort.signal)
      .then(() => undefined)
      .finally(() => (polling = undefined));
    try {
      await polling;
    } catch (err) {
      throw failed(err);
    }
  };
  const safely = () =>
    now().catch((err) => {
      const e = err as Error;
      node.error(e, { topic: opts.topic, payload: { error: e.message } });
    });
  let timer: NodeJS.Timeout | undefined;
  if (opts.enabled && opts.intervalMs > 0) {
    timer = setInterval(() => void safely(), opts.intervalMs);
    setImmediate(() => void safely());
  }
  node.on('close', (_removed: boolean, done: () => void) => {
    closed = true;
    abort.abort();
    if (timer) clearInterval(timer);
    opts.onClose?.();
    Promise.resolve(polling)
      .catch(() => undefined)
      .finally(done);
  });
  return {
    get closed() {
      return closed;
    },
    now,
    safely,
  };
}
