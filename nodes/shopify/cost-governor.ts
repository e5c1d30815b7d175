/**
 * The calculated-cost bucket of one Shopify app + shop (Admin GraphQL): every answer's
 * `extensions.cost.throttleStatus` tells how many points the shop's bucket holds, its size and the
 * points restored per second, as Shopify documents its GraphQL rate limits. A query waits until the
 * bucket is estimated to hold its cost (capped at the bucket's size), then books that cost, so
 * the nodes of one shop never send a query the bucket cannot pay for. Shared by every node of the
 * shop (the config node owns it).
 */
import { delay, PacedGovernor } from '../runtime/http';

export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

export class CostGovernor extends PacedGovernor {
  /** The last reading, and when it was taken. Until the first answer nothing is known: no wait. */
  private status?: ThrottleStatus & { at: number };

  constructor(now: () => number = () => performance.now(), sleep: (ms: number) => Promise<void> = delay) {
    super(now, sleep);
  }

  /** Points estimated available now: the last reading plus what was restored since. */
  estimate(): number | undefined {
    return this.available(this.now());
  }

  private available(now: number): number | undefined {
    const s = this.status;
    if (!s) return undefined;
    return Math.min(s.maximumAvailable, s.currentlyAvailable + ((now - s.at) / 1000) * s.restoreRate);
  }

  /** Waits until `cost` points are estimated available, then books them (callers served in order). */
  reserve(cost: number, onWait?: (ms: number) => void): Promise<void> {
    return this.pace((now) => this.book(now, cost), onWait);
  }

  /** A query whose cost is not known yet: room for one point. */
  protected tryTake(now: number): number {
    return this.book(now, 1);
  }

  private book(now: number, cost: number): number {
    const s = this.status;
    const available = this.available(now);
    if (!s || available === undefined) return 0;
    // A query dearer than the whole bucket waits only until the bucket is full.
    const needed = Math.min(cost, s.maximumAvailable);
    if (available < needed) return Math.ceil(((needed - available) / s.restoreRate) * 1000);
    this.status = { ...s, currentlyAvailable: available - cost, at: now };
    return 0;
  }

  /** `at`: when the answer's headers arrived (the bucket was read just before); default now. */
  observe(status: ThrottleStatus | undefined, at?: number): void {
    if (status && status.restoreRate > 0) this.status = { ...status, at: at ?? this.now() };
  }

  /** The shop pushed back: its bucket is taken as empty from now, and a stated pause is waited out. */
  penalise(ms?: number): void {
    const now = this.now();
    if (this.status) this.status = { ...this.status, currentlyAvailable: 0, at: now };
    if (ms) this.blockedUntil = Math.max(this.blockedUntil, now + ms);
  }

  /** The governor's clock, to stamp when an answer arrived. */
  time(): number {
    return this.now();
  }
}
