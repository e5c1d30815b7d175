/**
 * A governor for providers that count requests in fixed-length windows rather than a bucket
 * (QuickBooks Online: 500 a minute and 10 a second per company). A token bucket cannot honour
 * such a pair: its burst plus a window's refill exceeds the short window's count. This one keeps
 * the send time of each recent request and lets the next one go only when, for every rule, fewer
 * than `requests` were sent in the last `windowMs`. A 429 pauses it (`penalise`, called by
 * HttpClient with the provider's Retry-After).
 */
import { delay, PacedGovernor } from './http';

export interface WindowRule {
  requests: number;
  windowMs: number;
}

export class WindowGovernor extends PacedGovernor {
  /** Send times, oldest first, kept as long as the longest window. */
  private sent: number[] = [];
  private readonly longest: number;
  /** The pause after a push-back (429) that named no wait of its own. */
  static readonly DEFAULT_PENALTY_MS = 1000;

  constructor(
    readonly rules: readonly WindowRule[],
    now: () => number = () => performance.now(),
    sleep: (ms: number) => Promise<void> = delay,
    private readonly defaultPenaltyMs = WindowGovernor.DEFAULT_PENALTY_MS,
  ) {
    super(now, sleep);
    if (!rules.length || rules.some((r) => !(r.requests >= 1) || !(r.windowMs > 0))) throw new Error('each window rule needs requests ≥ 1 and windowMs > 0');
    this.longest = Math.max(...rules.map((r) => r.windowMs));
  }

  protected tryTake(now: number): number {
    while (this.sent.length && this.sent[0] <= now - this.longest) this.sent.shift();
    let wait = 0;
    for (const rule of this.rules) {
      // The send times inside this rule's window; the oldest that must leave it before one more fits.
      const inWindow = this.sent.filter((t) => t > now - rule.windowMs);
      if (inWindow.length >= rule.requests) wait = Math.max(wait, inWindow[inWindow.length - rule.requests] + rule.windowMs - now + 1);
    }
    if (wait > 0) return Math.ceil(wait);
    this.sent.push(now);
    return 0;
  }

  /** Requests sent within the last `windowMs`. */
  count(windowMs: number): number {
    const now = this.now();
    return this.sent.filter((t) => t > now - windowMs).length;
  }

  penalise(ms?: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, this.now() + (ms ?? this.defaultPenaltyMs));
  }
}
