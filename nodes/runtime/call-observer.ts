/**
 * How retries and throttling reach a node's status: the one way. Connector clients are shared by
 * every node of one account (config node), so a client cannot know which node a request is for.
 * A node runs its work inside `observeCalls(observer, work)` (the node kit does it for the badge);
 * the HTTP layer, and the few client loops above it (Shopify's cost pacing, Business Central's
 * etag re-read), call `reportCall(event)`, which reaches the observer of the work in progress.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ErrorKind } from './errors';

export interface CallEvent {
  /** `retry`: a failed attempt will be tried again; `throttle`: waiting for the provider's rate. */
  type: 'retry' | 'throttle';
  system: string;
  operation: string;
  /** The attempt that failed (retry). */
  attempt?: number;
  /** How long the wait will be. */
  waitMs: number;
  /** What the failed attempt ran into (retry). */
  kind?: ErrorKind;
  status?: number;
}

export type CallObserver = (event: CallEvent) => void;

const scope = new AsyncLocalStorage<CallObserver>();

/** Runs `work` with `observer` told about every retry and throttle wait made on its behalf. */
export function observeCalls<T>(observer: CallObserver, work: () => Promise<T>): Promise<T> {
  return scope.run(observer, work);
}

/**
 * Reports that a failed attempt will be tried after `waitMs`: a rate-limit failure (a 429) as
 * throttling, anything else as a retry, whichever loop retries it (the HTTP layer or a client's own).
 */
export function reportRetry(at: { system: string; operation: string; attempt: number; waitMs: number }, failure: { kind?: ErrorKind; status?: number }): void {
  const throttled = failure.kind === 'rate-limit' || failure.status === 429;
  reportCall({ type: throttled ? 'throttle' : 'retry', ...at, kind: failure.kind, status: failure.status });
}

/** Tells the observer of the work in progress, if any. Never throws. */
export function reportCall(event: CallEvent): void {
  const observer = scope.getStore();
  if (!observer) return;
  try {
    observer(event);
  } catch {
    // A badge update must never fail a request.
  }
}
