import { asError } from './errors';

interface Waiting<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: Error) => void;
}

/** Runs `run` for `batch` and settles each item with its own outcome; a failure of the whole run fails each item with it. */
function settleEach<T, R>(batch: readonly Waiting<T, R>[], run: () => Promise<Array<R | Error>>): Promise<void> {
  return Promise.resolve()
    .then(run)
    .then(
      (results) =>
        batch.forEach((b, i) => {
          const r = results[i];
          if (r instanceof Error) b.reject(r);
          else if (i >= results.length) b.reject(new Error('the batch gave no outcome for this item'));
          else b.resolve(r);
        }),
      (err) => batch.forEach((b) => b.reject(asError(err))),
    );
}

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
  private readonly waiting: Array<Waiting<T, R>> = [];
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

  /** Like `push` for each item, queued together first: they go in as few batches as `maxBatch` allows. */
  pushAll(items: readonly T[]): Array<Promise<R>> {
    const out = items.map((item) => new Promise<R>((resolve, reject) => this.waiting.push({ item, resolve, reject })));
    this.next();
    return out;
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
      settleEach(batch, () => this.run(batch.map((b) => b.item))).finally(() => {
        this.running--;
        this.next();
      });
    }
  }
}

/**
 * One run for the items of a known number of parties, each of which either hands in an item
 * (`put`) or says it has none (`skip`), exactly once. When the last has, the items go to `run`
 * together and each `put` settles with its own outcome. For work that is prepared side by side, one
 * piece at a time, and should then go out as one request (summaries a tick posts). A party must
 * not wait for the run before it arrives, or nobody runs.
 */
export class Gather<T, R> {
  private readonly items: Array<Waiting<T, R>> = [];

  constructor(
    private left: number,
    private readonly run: (items: T[]) => Promise<Array<R | Error>>,
  ) {}

  put(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.items.push({ item, resolve, reject });
      this.arrived();
    });
  }

  skip(): void {
    this.arrived();
  }

  private arrived(): void {
    if (--this.left !== 0 || this.items.length === 0) return;
    const batch = this.items.splice(0);
    void settleEach(batch, () => this.run(batch.map((b) => b.item)));
  }
}
