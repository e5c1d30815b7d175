/**
 * Reads a request body as exact bytes with a bound on size and on waiting. Over the limit nothing
 * more is kept: the rest is read and dropped (up to a drain bound) so the sender, still uploading,
 * can read the 413 that follows instead of seeing its connection reset; far over it, the read stops
 * at once and the answer goes out on a connection that is then closed. The bytes kept are drawn
 * from a budget shared by all bodies being read (byte-budget.ts), reserved when the read starts:
 * the declared Content-Length (at most the limit), or the whole limit for a body of unknown length.
 * Without room the body is not read at all ('busy'); a body once admitted is never cut off
 * because others arrived after it, so slow senders can delay new deliveries but never fail one in
 * progress.
 */
import type { IncomingMessage } from 'node:http';
import { webhookBodyBudget, type ByteBudget } from './byte-budget';

export type RawRead =
  | { kind: 'bytes'; bytes: Buffer }
  /** `drained`: the whole body was read (and dropped), so an answer reaches the sender cleanly. */
  | { kind: 'too-large'; limit: number; received: number; drained: boolean }
  /** No byte arrived for `idleMs`. */
  | { kind: 'idle'; idleMs: number }
  /** The sender went away: there is no one to answer. */
  | { kind: 'aborted' }
  /** The shared budget for bodies being read (byte-budget.ts) had no room: the rest was not read. */
  | { kind: 'busy'; budgetBytes: number };

export interface ReadOptions {
  /** Bytes read and dropped past the limit before giving up on draining (default max(4 × limit, 32 MiB)). */
  drainLimit?: number;
  /** Longest wait for the next chunk (default 30 s). */
  idleMs?: number;
  /** The budget the kept bytes are drawn from (default: the process-wide webhook body budget). */
  budget?: ByteBudget;
}

export const DEFAULT_IDLE_MS = 30_000;

export function drainLimitFor(limit: number): number {
  return Math.max(4 * limit, 32 * 1024 * 1024);
}

export function readBounded(req: IncomingMessage, limit: number, opts: ReadOptions = {}): Promise<RawRead> {
  const drainLimit = opts.drainLimit ?? drainLimitFor(limit);
  const idleMs = opts.idleMs ?? DEFAULT_IDLE_MS;
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > drainLimit) {
    return Promise.resolve({ kind: 'too-large', limit, received: declared, drained: false });
  }
  const budget = opts.budget ?? webhookBodyBudget;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    // Bytes of this body drawn from the budget; all given back when the read ends, however it ends.
    let held = Number.isFinite(declared) && declared >= 0 ? Math.min(declared, limit) : limit;
    let settled = false;
    let idle: NodeJS.Timeout | undefined;
    budget.readStarted();
    if (!budget.take(held)) {
      held = 0;
      budget.readEnded(true);
      req.pause();
      resolve({ kind: 'busy', budgetBytes: budget.figures().limitBytes });
      return;
    }
    const finish = (r: RawRead) => {
      if (settled) return;
      settled = true;
      budget.give(held);
      held = 0;
      budget.readEnded(r.kind === 'busy');
      clearTimeout(idle);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('aborted', onAbort);
      req.off('close', onClose);
      if (r.kind !== 'bytes' && !(r.kind === 'too-large' && r.drained)) req.pause();
      resolve(r);
    };
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => finish({ kind: 'idle', idleMs }), idleMs);
      idle.unref();
    };
    const onData = (c: Buffer) => {
      received += c.length;
      if (received <= limit) {
        // Node's parser holds a body to its Content-Length, so only a body of unknown length can
        // outgrow its reservation, and that one reserved the whole limit.
        if (received > held) {
          if (!budget.take(received - held)) return finish({ kind: 'busy', budgetBytes: budget.figures().limitBytes });
          held = received;
        }
        chunks.push(c);
      } else if (chunks.length) {
        // Over the limit nothing more is kept: what was kept goes back to the budget.
        chunks.length = 0;
        budget.give(held);
        held = 0;
      }
      if (received > drainLimit) return finish({ kind: 'too-large', limit, received, drained: false });
      arm();
    };
    const onEnd = () =>
      finish(received > limit ? { kind: 'too-large', limit, received, drained: true } : { kind: 'bytes', bytes: Buffer.concat(chunks, received) });
    const onAbort = () => finish({ kind: 'aborted' });
    const onClose = () => {
      if (!req.complete) finish({ kind: 'aborted' });
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('aborted', onAbort);
    req.on('close', onClose);
    arm();
  });
}
