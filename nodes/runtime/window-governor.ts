/**
 * A governor for providers that count calls in fixed-length windows ("60 calls a minute, 5,000 a
 * day"; Xero per organisation; QuickBooks' 10 a second and 500 a minute per company), where a token bucket would let a burst plus its refill exceed the
 * window's count. It remembers when each recent call was sent and lets one more go only when every
 * window has room; the provider's own count, when an answer reports what remains (`observe`), is
 * taken when it is lower than ours (another process calling the same account). A 429 waits out its
 * Retry-After (HttpClient calls `penalise`).
 */
import { ConnectorError, delay, PacedGovernor } from './http';

export interface CallWindow {
  /** Calls allowed per window. */
  limit: number;
  windowMs: number;
  /** Names the window in a failure ('minute', 'day'). */
  name?: string;
}

export interface WindowGovernorOptions {
  /** For the failure: the system governed. */
  system: string;
  /**
   * A wait longer than this (a day's calls used up, a provider's pause of hours) fails the call at
   * once as a `rate-limit` failure carrying the wait (retryAfterMs), instead of holding it.
   */
  maxWaitMs?: number;
  /** The pause after a push-back (429) that named no wait of its own; default 1 s. */
  defaultPenaltyMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class SlidingWindowGovernor extends PacedGovernor {
  /** Per window, the send times it counts, oldest first (calls reported by the provider included). */
  private readonly logs: number[][];

  constructor(
    readonly windows: readonly CallWindow[],
    private readonly options: WindowGovernorOptions,
  ) {
    super(options.now ?? (() => performance.now()), options.sleep ?? delay);
    if (!windows.length || windows.some((w) => !(w.limit >= 1) || !(w.windowMs > 0))) throw new Error('each window needs a limit ≥ 1 and a length > 0');
    this.logs = windows.map(() => []);
  }

  /** Calls counted in the window of `windowMs` ending now. */
  used(windowMs: number, now = this.now()): number {
    const i = this.windows.findIndex((w) => w.windowMs === windowMs);
    return i < 0 ? 0 : this.count(i, now);
  }

  private count(i: number, now: number): number {
    const log = this.logs[i];
    const windowMs = this.windows[i].windowMs;
    let drop = 0;
    while (drop < log.length && now - log[drop] >= windowMs) drop++;
    if (drop) log.splice(0, drop);
    return log.length;
  }

  /** How long until window `i` has room (0: it has). */
  private waitFor(i: number, now: number): number {
    const w = this.windows[i];
    if (this.count(i, now) < w.limit) return 0;
    // The call that frees a place is the one `limit` calls back from the newest.
    const log = this.logs[i];
    return Math.max(0, log[log.length - w.limit] + w.windowMs - now);
  }

  override take(): Promise<void> {
    const max = this.options.maxWaitMs;
    if (max !== undefined) {
      const now = this.now();
      let longest = { ms: this.blockedUntil - now, what: 'the provider asked to wait' };
      this.windows.forEach((w, i) => {
        const ms = this.waitFor(i, now);
        if (ms > longest.ms) longest = { ms, what: `the ${w.limit} calls a ${w.name ?? `${w.windowMs} ms window`} are used up` };
      });
      if (longest.ms > max) {
        const retryAfterMs = Math.ceil(longest.ms);
        return Promise.reject(
          new ConnectorError(this.options.system, 'rate limit', `${longest.what}; room again in ${Math.ceil(retryAfterMs / 1000)} s`, {
            kind: 'rate-limit',
            retryable: false,
            retryAfterMs,
          }),
        );
      }
    }
    return super.take();
  }

  protected tryTake(now: number): number {
    let wait = 0;
    this.windows.forEach((_, i) => (wait = Math.max(wait, this.waitFor(i, now))));
    if (wait > 0) return Math.max(1, Math.ceil(wait));
    for (const log of this.logs) log.push(now);
    return 0;
  }

  /** The provider says `remaining` calls are left in the window of `windowMs`: count the calls we did not see. */
  observe(windowMs: number, remaining: number): void {
    const i = this.windows.findIndex((w) => w.windowMs === windowMs);
    if (i < 0 || !Number.isFinite(remaining) || remaining < 0) return;
    const now = this.now();
    const unseen = Math.min(this.windows[i].limit, this.windows[i].limit - remaining - this.count(i, now));
    for (let n = 0; n < unseen; n++) this.logs[i].push(now);
  }

  penalise(ms?: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, this.now() + (ms ?? this.options.defaultPenaltyMs ?? 1000));
  }
}
