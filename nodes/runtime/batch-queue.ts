import { asError } from './errors';

/**
 * Groups work that arrives while earlier work is in flight, without waiting on a timer: an item
 * that finds a free slot goes at once (alone, when the queue is idle); the items that arrive
 * meanwhile wait and go together, up to `maxBatch` at a time, as soon as a slot frees. So an idle
 * flow pays no added latency and a busy one sends fewer, larger requests.
 *
 * Each item gets its own outcome: `run` answers one result or one Error per item, in order, and
 * each item's promise settles with it (an Error rejects only that item's promise).
 */
export class BatchQueue<T, R> {
  private readonly waiting: Array<{ item: T; resolve: (r: R) => void; reject: (e: Error) => void }> = [];
  private running = 0;

  /**
   * `maxBatch`: the most items one `run` gets; `slots`: the runs in flight at once (a second slot
   * lets the next batch gather and start while the ERP answers the first).
   */
  constructor(
    private readonly run: (items: T[]) => Promise<Array<R | Error>>,
    readonly maxBatch: number,
    readonly slots = 2,
    /**
     * 'turn': a batch starts at the end of the event-loop turn, so the items pushed during one turn
     * go together even when a run finishes within the turn (a SQLite transaction does: nothing
     * would ever arrive "meanwhile"). Costs an idle item one turn.
     */
    private readonly gather: 'at-once' | 'turn' = 'at-once',
  ) {
    if (!(maxBatch >= 1) || !(slots >= 1)) throw new Error('a batch queue needs maxBatch and slots of at least 1');
  }

  private scheduled = false;

  /** The outcome of `item`, once the batch that carried it is done. */
  push(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.next();
    });
  }

  /** Items waiting for a slot (not counting those in flight). */
  get queued(): number {
    return this.waiting.length;
  }

  private next(): void {
    if (this.gather === 'turn') {
      if (this.scheduled || this.running >= this.slots || !this.waiting.length) return;
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.start();
      });
      return;
    }
    this.start();
  }

  private start(): void {
    while (this.running < this.slots && this.waiting.length) {
      const batch = this.waiting.splice(0, this.maxBatch);
      this.running++;
      // Settled entry by entry; a failure of the whole run fails each of its items with it.
      Promise.resolve()
        .then(() => this.run(batch.map((b) => b.item)))
        .then(
          (results) =>
            batch.forEach((b, i) => {
              const r = results[i];
              if (r instanceof Error) b.reject(r);
              else if (i >= results.length) b.reject(new Error('the batch gave no outcome for this item'));
              else b.resolve(r);
            }),
          (err) => batch.forEach((b) => b.reject(asError(err))),
        )
        .finally(() => {
          this.running--;
          this.next();
        });
    }
  }
}
