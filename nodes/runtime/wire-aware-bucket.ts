/**
 * The shared rate governor for providers with published per-operation token buckets (Amazon
 * SP-API): see WireAwareBucket. TokenBucket (http.ts) is the plain one.
 */
import { delay, PacedGovernor } from './http';

/**
 * A token bucket for providers that publish their own (Amazon SP-API per operation, `x-amzn-RateLimit-Limit`)
 * and differs from TokenBucket in two ways:
 * - its rate can follow what the provider reports (`setRate`) without refilling the bucket;
 * - requests sent but not yet answered (`settle()` not yet called) are held against the burst. The
 *   provider charges its bucket when a request arrives; after a pause both buckets are full, and
 *   requests still on the wire from before the pause would otherwise meet a fresh full burst from
 *   us at the provider's end (a 429 storm).
 */
export class WireAwareBucket extends PacedGovernor {
  private tokens: number;
  private last: number;
  /** When each unanswered request was sent (oldest first); entries expire after `inFlightTtlMs`. */
  private inFlight: number[] = [];

  constructor(
    public rate: number,
    readonly burst: number,
    now: () => number = () => performance.now(),
    sleep: (ms: number) => Promise<void> = delay,
    private readonly inFlightTtlMs = 30_000,
  ) {
    super(now, sleep);
    this.tokens = burst;
    this.last = now();
  }

  /** Tokens earned since the last look, never more than the burst less what is on the wire. */
  private refill(now: number): number {
    while (this.inFlight.length && now - this.inFlight[0] > this.inFlightTtlMs) this.inFlight.shift();
    const cap = this.burst - this.inFlight.length;
    this.tokens = Math.min(cap, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    return cap;
  }

  protected tryTake(now: number): number {
    const cap = this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.inFlight.push(now);
      return 0;
    }
    // Short of a token: wait for one; if the wire is full, only until an answer may have come.
    const wait = cap < 1 ? 1 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
    return Math.max(1, wait);
  }

  /** An answer arrived: the provider has counted that request. */
  settle(): void {
    this.inFlight.shift();
  }

  /** Follows a new rate from now on; tokens already earned are kept. */
  setRate(rate: number): void {
    if (!(rate > 0) || rate === this.rate) return;
    this.refill(this.now());
    this.rate = rate;
  }

  /** A 429: the bucket is empty on the provider's side; wait for one token at the current rate. */
  penalise(ms?: number): void {
    this.tokens = 0;
    this.last = this.now();
    if (ms) this.blockedUntil = Math.max(this.blockedUntil, this.now() + ms);
  }
}
