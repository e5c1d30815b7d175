/**
 * A provider-side token bucket as the simulators enforce it: `capacity` requests at once, refilled
 * at `perSecond`, on real time (it governs real throughput, whatever a test's business clock says).
 */
export class SimBucket {
  tokens: number;
  private last = performance.now();

  constructor(
    readonly capacity: number,
    readonly perSecond: number,
  ) {
    this.tokens = capacity;
  }

  /** Tokens now, after the refill since the last look. */
  refill(): number {
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    return this.tokens;
  }

  /** Takes one token if there is one. */
  take(): boolean {
    if (this.refill() >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
}
