/**
 * A governor for request-count leaky buckets that the provider reports on every answer as
 * `used/size` (Shopify REST: `X-Shopify-Shop-Api-Call-Limit: 32/40`, leaking 2 requests a second on
 * a standard plan; api-contracts §2.6). Each request is counted when it is sent (the provider
 * counts it on arrival) and the count leaks at `leakPerSecond`; a request waits until one more fits,
 * so a steady stream never meets a 429. Each answer's header resets the estimate to the provider's
 * own count; a 429 fills the bucket and waits out its Retry-After (HttpClient calls `penalise`).
 */
import { delay, type Governor } from './http';

export class CallLimitBucket implements Governor {
  private used = 0;
  private last: number;
  private blockedUntil = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    public size = 40,
    readonly leakPerSecond = 2,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = delay,
  ) {
    this.last = now();
  }

  /** The current estimate of the provider's count. */
  level(): number {
    const now = this.now();
    this.used = Math.max(0, this.used - ((now - this.last) / 1000) * this.leakPerSecond);
    this.last = now;
    return this.used;
  }

  take(): Promise<void> {
    const next = this.queue.then(() => this.acquire());
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async acquire(): Promise<void> {
    for (;;) {
      const now = this.now();
      if (now < this.blockedUntil) {
        await this.sleep(this.blockedUntil - now);
        continue;
      }
      const used = this.level();
      if (used + 1 <= this.size) {
        this.used = used + 1;
        return;
      }
      await this.sleep(Math.max(1, Math.ceil(((used + 1 - this.size) / this.leakPerSecond) * 1000)));
    }
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
