/**
 * Bounds the work an inbound connector has handed to the flow but not yet seen finished. When the
 * bound is reached, `room()` waits: for MQTT that delays the next PUBACK, so the broker, not
 * Node-RED's memory, holds the backlog.
 */
export class InFlight {
  private readonly open = new Set<string>();
  private waiters: Array<() => void> = [];

  /** `limit` 0 means unbounded. */
  constructor(readonly limit: number) {}

  get size(): number {
    return this.open.size;
  }

  add(id: string): void {
    this.open.add(id);
  }

  finish(id: string): void {
    if (!this.open.delete(id)) return;
    if (this.limit === 0 || this.open.size < this.limit) {
      const waiting = this.waiters;
      this.waiters = [];
      for (const w of waiting) w();
    }
  }

  room(): Promise<void> {
    if (this.limit === 0 || this.open.size < this.limit) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Releases every waiter (on close). */
  clear(): void {
    this.open.clear();
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }
}
