/**
 * The durable inbox: persist an inbound event, then acknowledge it to its sender, then process it
 * (DESIGN.md principle 3). If the process dies after the write, the entry is still 'pending' and
 * `recover()` re-emits it on the next start; if it dies before the write, the sender was never
 * acknowledged and redelivers. A repeat of an event id already stored is not delivered twice.
 */
import type { InboxEntry, Store } from './store';

export type Deliver = (entry: InboxEntry, redelivery: boolean) => void;

export interface AcceptResult {
  entry: InboxEntry;
  /** True when the event id was already in the inbox; it is not delivered again. */
  duplicate: boolean;
}

export class DurableInbox {
  constructor(
    private readonly store: Store,
    readonly source: string,
    private readonly deliver: Deliver,
  ) {}

  /**
   * Stores the event, then calls `ack` (HTTP 200, MQTT PUBACK, poll cursor advance), then delivers
   * it. Rejects only if the write failed, in which case `ack` was not called: the sender must retry.
   */
  async accept(eventId: string, payload: unknown, ack?: () => void | Promise<void>): Promise<AcceptResult> {
    const result = await this.store.inboxAdd(this.source, eventId, payload);
    if (ack) {
      try {
        await ack();
      } catch {
        // The event is stored; a failed ack only means the sender may send it again, and the
        // inbox recognises the repeat. Delivery goes ahead.
      }
    }
    if (!result.duplicate) this.deliver(result.entry, false);
    return result;
  }

  /** Marks an entry processed (its effects are stored downstream, or it is in the dead-letter store). */
  complete(id: string): Promise<void> {
    return this.store.inboxComplete(id);
  }

  /** Re-emits entries left pending by a previous run, oldest first; returns how many. */
  async recover(batchSize = 500): Promise<number> {
    let total = 0;
    let after = '0';
    for (;;) {
      const pending = await this.store.inboxPending(this.source, batchSize, after);
      for (const entry of pending) {
        after = entry.id;
        await this.store.inboxTouch(entry.id);
        this.deliver({ ...entry, attempts: entry.attempts + 1 }, true);
        total++;
      }
      if (pending.length < batchSize) return total;
    }
  }
}
