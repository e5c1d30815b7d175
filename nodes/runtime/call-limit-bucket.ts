/**
 * A governor for request-count leaky buckets that the provider reports on every answer as
 * `used/size` (Shopify REST: `X-Shopify-Shop-Api-Call-Limit: 32/40`, leaking 2 requests a second on
 * a standard plan, as Shopify documents its REST limits). Each request is counted when it is sent (the provider
 * counts it on arrival) and the count leaks at `leakPerSecond`; a request waits until one more fits,
 * so a steady stream never meets a 429. Each answer's header resets the estimate to the provider's
 * own count; a 429 fills the bucket and waits out its Retry-After (HttpClient calls `penalise`).
 */
import { delay, PacedGovernor } from './http';

export class CallLimitBucket extends PacedGovernor {
  private used = 0;
  private last: number;

  constructor(
    public size = 40,
    readonly leakPerSecond = 2,
    now: () => number = () => performance.now(),
    sleep: (ms: number) => Promise<void> = delay,
  ) {
    super(now, sleep);
    this.last = now();
  }

  /** The current estimate of the provider's count. */
  level(): number {
    const now = this.now();
    this.used = Math.max(0, this.used - ((now - this.last) / 1000) * this.leakPerSecond);
    this.last = now;
    return this.used;
  }

  protected tryTake(): number {
    const used = this.level();
    if (used + 1 <= this.size) {
      this.used = used + 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((used + 1 - this.size) / this.leakPerSecond) * 1000));
  }

  /** An answer's `used/size` header: the provider's count after our request. */
  observe(header: string | null | undefined): void {
    const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(header ?? '');
    if (!m) return;
    this.level();
    this.size = Number(m[2]);
    // Requests sent after this one may already be counted in our estimate: keep the larger.
    this.used = Math.max(this.used, Number(m[1]));
  }

  penalise(ms = 1000): void {
    this.used = this.size;
    this.last = this.now();
    this.blockedUntil = Math.max(this.blockedUntil, this.now() + ms);
  }
}
