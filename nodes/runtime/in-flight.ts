/**
 * Bounds the work an inbound connector has taken in but not yet seen finished. When the bound is
 * reached, `room()` waits: for MQTT that delays the next PUBACK, so the broker, not Node-RED's
 * memory, holds the backlog.
 *
 * A slot is reserved when `room()` grants it and held until `release()`: the message's id is known
 * only once its inbox write is done, and without the reservation every caller woken by one free slot
 * would pass at once (the bound was overshot by the number of waiting messages).
 */
export class InFlight {
  private readonly open = new Set<string>();
  private reserved = 0;
  private waiters: Array<() => void> = [];

  /** `limit` 0 means unbounded. */
  constructor(readonly limit: number) {}

  /** Work taken in: entries in flight plus slots reserved for messages being stored. */
  get size(): number {
    return this.open.size + this.reserved;
  }

  /** Counts an entry as in flight (a reserved slot stays reserved until `release`). */
  add(id: string): void {
    this.open.add(id);
  }

  finish(id: string): void {
    if (this.open.delete(id)) this.wake();
  }

  /** Waits for a free slot and reserves it; pair every call with one `release()`. */
  room(): Promise<void> {
    if (this.hasRoom()) {
      this.reserved++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Gives back a slot `room()` reserved (its message is now counted by id, or was not taken in). */
  release(): void {
    if (this.reserved > 0) this.reserved--;
    this.wake();
  }

  /** Releases every waiter (on close). */
  clear(): void {
    this.open.clear();
    this.reserved = 0;
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }

  private hasRoom(): boolean {
    return this.limit === 0 || this.size < this.limit;
  }

  /** Hands free slots to waiters, one each, in arrival order. */
  private wake(): void {
    while (this.waiters.length > 0 && this.hasRoom()) {
      this.reserved++;
      this.waiters.shift()!();
    }
  }
}
