/**
 * The durable inbox: persist an inbound event, then acknowledge it to its sender, then process it
 * (docs/architecture.md, Principles 3). If the process dies after the write, the entry is still 'pending' and
 * `recover()` re-emits it on the next start; if it dies before the write, the sender was never
 * acknowledged and redelivers. A repeat of an event id already stored is not delivered twice.
 *
 * Once `start()`ed, the inbox also looks after entries while it runs, so no entry stays pending
 * forever and none is re-emitted while this process still works on it:
 * - every delivery is counted; with `maxAttempts` set, an entry delivered that often without being finished (its
 *   processing threw each time, or the process stopped while working on it) is handed to
 *   `onPoison` (by default: a dead-letter entry with the last error) and then completed;
 * - a delivery that throws or rejects is retried after a short wait (doubling with each attempt),
 *   not at the next start;
 * - a pending entry nobody here is working on is re-emitted once its lease has run out: the
 *   instance working on an entry renews its lease on every sweep, so with several Node-RED
 *   instances sharing one store an entry is taken over only when its instance stopped.
 */
import { errorInfo, recordFailure } from './dead-letter';
import type { InboxEntry, Store } from './store';

/**
 * Hands an entry to its processing. Returning a promise lets the inbox see a failure (a rejection);
 * a resolved promise (or a plain return) means the entry is now with the flow until `complete` or
 * `finished` is called for it.
 */
export type Deliver = (entry: InboxEntry, redelivery: boolean) => unknown;

export interface AcceptResult {
  entry: InboxEntry;
  /** True when the event id was already in the inbox; it is not delivered again. */
  duplicate: boolean;
}

export interface InboxOptions {
  /**
   * Deliveries of one entry before it is given up and handed to `onPoison` (5 is a good value).
   * Unset: never given up, as before this option existed (callers opt in).
   */
  maxAttempts?: number;
  /** How long a delivery holds its entry against re-emission by a sweep; renewed while in flight here (default 60 s). */
  leaseMs?: number;
  /** How often a started inbox sweeps (default a third of the lease). */
  sweepEveryMs?: number;
  /** First wait before a failed delivery is retried, doubling with each attempt up to the sweep interval (default 1 s). */
  retryDelayMs?: number;
  /** Called with an entry given up and the last error seen; the entry is completed when it resolves. */
  onPoison?: (entry: InboxEntry, lastError: unknown) => Promise<void>;
  /** Called when a delivery failed; `willRetry` false means the entry is being given up. */
  onError?: (entry: InboxEntry, error: unknown, willRetry: boolean) => void;
  /**
   * Which pending entries of the source this inbox looks after (recover, sweep, give up). Unset:
   * all of them. Two nodes writing one source (so that each event is stored once whichever node
   * saw it first) each recover and retry only the entries they stored.
   */
  owns?: (entry: InboxEntry) => boolean;
}

export class DurableInbox {
  readonly maxAttempts: number;
  private readonly leaseMs: number;
  private readonly sweepEveryMs: number;
  /** Entries delivered by this process and not finished yet (tracked once started). */
  private readonly active = new Set<string>();
  /** Entries whose delivery here failed, with the last error; retried on the next sweep. */
  private readonly failed = new Map<string, unknown>();
  private readonly poisoning = new Set<string>();
  private readonly retries = new Set<NodeJS.Timeout>();
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    private readonly store: Store,
    readonly source: string,
    private readonly deliver: Deliver,
    private readonly options: InboxOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts === undefined ? Number.POSITIVE_INFINITY : Math.max(1, options.maxAttempts);
    this.leaseMs = Math.max(1, options.leaseMs ?? 60_000);
    this.sweepEveryMs = Math.max(1, options.sweepEveryMs ?? Math.ceil(this.leaseMs / 3));
  }

  /** Starts sweeping (call before `recover` and `accept`, so every delivery is tracked). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweep(), this.sweepEveryMs);
    this.timer.unref();
  }

  /**
   * Stops sweeping (on node close) and gives back the entries still in flight here: a graceful stop
   * (a redeploy, SIGTERM) is not the message's fault, so it does not count towards `maxAttempts`,
   * and another instance may take them over at once. Only a crash leaves the attempt counted.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const t of this.retries) clearTimeout(t);
    this.retries.clear();
    const inFlight = [...this.active];
    this.active.clear();
    this.failed.clear();
    await this.sweeping;
    try {
      for (let i = 0; i < inFlight.length; i += 500) await this.store.inboxRelease(inFlight.slice(i, i + 500));
    } catch {
      // Store already closed: the attempt stays counted, as after a crash.
    }
  }

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
    if (!result.duplicate) this.dispatch(result.entry, false);
    return result;
  }

  /** Marks an entry processed (its effects are stored downstream, or it is in the dead-letter store). */
  async complete(id: string): Promise<void> {
    await this.store.inboxComplete(id);
    this.finished(id);
  }

  /** Says that an entry was completed elsewhere (e.g. by a `tillwire-ack` node). */
  finished(id: string): void {
    this.active.delete(id);
    this.failed.delete(id);
  }

  /** Re-emits entries left pending by a previous run, oldest first; returns how many. */
  async recover(batchSize = 500): Promise<number> {
    let total = 0;
    let after = '0';
    for (;;) {
      const pending = await this.store.inboxPending(this.source, batchSize, after);
      for (const entry of pending) {
        after = entry.id;
        if (this.active.has(entry.id) || !this.mine(entry)) continue;
        await this.redeliver(entry);
        total++;
      }
      if (pending.length < batchSize) return total;
    }
  }

  /**
   * One pass (run by the timer once started; callable directly): renews the leases of entries in
   * flight here, retries entries whose delivery failed here, re-emits pending entries whose lease
   * ran out, and gives up entries past `maxAttempts`.
   */
  sweep(): Promise<void> {
    this.sweeping ??= this.sweepOnce().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepOnce(): Promise<void> {
    try {
      const inFlight = [...this.active];
      for (let i = 0; i < inFlight.length; i += 500) await this.store.inboxRenew(inFlight.slice(i, i + 500), this.leaseMs);
      const now = Date.now();
      const stillPending = new Set<string>();
      let after = '0';
      for (;;) {
        const page = await this.store.inboxPending(this.source, 500, after);
        for (const entry of page) {
          after = entry.id;
          stillPending.add(entry.id);
          if (this.active.has(entry.id) || this.poisoning.has(entry.id) || !this.mine(entry)) continue;
          const leaseEnds = entry.leasedUntil ? Date.parse(entry.leasedUntil) : Date.parse(entry.receivedAt) + this.leaseMs;
          if (this.failed.has(entry.id) || leaseEnds <= now) await this.redeliver(entry);
        }
        if (page.length < 500) break;
      }
      // Entries finished without telling this inbox (an ack node completing them) are forgotten.
      for (const id of inFlight) if (!stillPending.has(id)) this.finished(id);
    } catch {
      // Store unavailable: the next sweep tries again; nothing is lost meanwhile.
    }
  }

  private mine(entry: InboxEntry): boolean {
    return this.options.owns ? this.options.owns(entry) : true;
  }

  /** Delivers a pending entry again, or gives it up when it has had its attempts. */
  private async redeliver(entry: InboxEntry): Promise<void> {
    const attempts = entry.attempts + 1;
    if (attempts >= this.maxAttempts) return this.poison(entry);
    // taken before the write, so a retry timer and a sweep cannot both re-emit it
    if (this.timer) this.active.add(entry.id);
    try {
      await this.store.inboxTouch(entry.id, this.leaseMs);
    } catch (err) {
      this.active.delete(entry.id);
      throw err;
    }
    this.dispatch({ ...entry, attempts }, true);
  }

  private dispatch(entry: InboxEntry, redelivery: boolean): void {
    if (this.timer) this.active.add(entry.id);
    this.failed.delete(entry.id);
    try {
      const result = this.deliver(entry, redelivery);
      if (result && typeof (result as Promise<unknown>).then === 'function') {
        (result as Promise<unknown>).then(undefined, (err) => this.fail(entry, err));
      }
    } catch (err) {
      this.fail(entry, err);
    }
  }

  private fail(entry: InboxEntry, error: unknown): void {
    this.active.delete(entry.id);
    const willRetry = entry.attempts + 1 < this.maxAttempts;
    if (this.timer) this.failed.set(entry.id, error);
    this.options.onError?.(entry, error, willRetry);
    if (!willRetry) {
      void this.poison(entry, error);
    } else if (this.timer) {
      // Retried soon on its own (the sweep would also pick it up), backing off with each attempt.
      const wait = Math.min((this.options.retryDelayMs ?? 1000) * 2 ** entry.attempts, this.sweepEveryMs);
      const t = setTimeout(() => {
        this.retries.delete(t);
        if (this.timer && this.failed.has(entry.id) && !this.active.has(entry.id)) void this.redeliver(entry).catch(() => undefined);
      }, wait);
      t.unref();
      this.retries.add(t);
    }
  }

  private async poison(entry: InboxEntry, error?: unknown): Promise<void> {
    if (this.poisoning.has(entry.id)) return;
    this.poisoning.add(entry.id);
    const lastError =
      error ??
      this.failed.get(entry.id) ??
      new Error(`not finished after ${this.maxAttempts} deliveries (the process stopped while working on it, or the flow never finished it)`);
    try {
      await (this.options.onPoison ?? ((e, err) => this.deadLetter(e, err)))(entry, lastError);
      await this.complete(entry.id);
    } catch {
      // Could not record it (store unavailable): it stays pending and is given up on a later pass.
    } finally {
      this.poisoning.delete(entry.id);
    }
  }

  /** The default for `onPoison`: a dead-letter entry holding the stored event and the last error. */
  private async deadLetter(entry: InboxEntry, error: unknown): Promise<void> {
    await recordFailure(
      this.store,
      {
        payload: entry.payload,
        topic: 'inbox.poison',
        tillwire: { schemaVersion: 1, eventId: entry.eventId, attempts: entry.attempts, source: { system: this.source, receivedAt: entry.receivedAt } },
      },
      { error: errorInfo(error) },
    );
  }
}
