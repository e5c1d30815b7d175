/**
 * Summarised posting, the `posting: "summary"` option of the ERP nodes (docs/summarised-posting.md):
 * each till sale is assigned to its store's open summary in the store and passed on at once (its
 * inbox entry is then finished), and the node's timer closes each summary when its interval ends
 * and posts it as one ERP document through the ERP's own create-once sale path, with the summary
 * key as the idempotency key; the summaries of one tick go to the ERP together (one batch).
 *
 * Crash safety comes from the store, not from this process: an assignment is one transaction (the
 * sales arriving during one event-loop turn share one, summary-book.ts); a closed summary's sales
 * are fixed, so building it again gives the same document; the create-once path finds a document
 * an earlier run created before it could record it; and every start begins with a tick that
 * closes what is due and posts what is closed but not posted. Posting a summary is serialised in
 * this process (a lock per key) and across processes (a store claim per key).
 */
import type { NodeMessage, RuntimeNode } from './node-red';
import type { StoreBinding } from './node-kit';
import { KeyedLock } from '../runtime/keyed-lock';
import { summaryDocument } from './summary-document';
import { DEFAULT_BOUNDS } from '../model/bounds';
import { validateDocument, businessKey } from '../model/validate';
import type { Sale } from '../model/types.generated';
import { SummaryInputError, type AssignedSale, type Assignment, type SaleToAssign, type SummaryRecord } from '../runtime/summaries';
import { BatchQueue, Gather } from '../runtime/batch-queue';
import type { Store } from '../runtime/store';
import { sameDocument } from '../runtime/same-document';

export const DEFAULT_SUMMARY_SECONDS = 300;
export const MIN_SUMMARY_SECONDS = 5;

/** The interval in seconds from a node property: default 300, at least 5. */
export function summarySecondsOf(value: unknown): number {
  const n = value === '' || value === undefined || value === null ? DEFAULT_SUMMARY_SECONDS : Number(value);
  if (!Number.isFinite(n)) return DEFAULT_SUMMARY_SECONDS;
  return Math.max(MIN_SUMMARY_SECONDS, Math.floor(n));
}

/** Topic of a summary's failure message and of its replay (the dead letter sends it back to the node). */
export const SUMMARY_POST_TOPIC = 'summary.post';
export const SUMMARY_POSTED_TOPIC = 'summary.posted';

/** A message asking to post a summary: a replayed dead letter of a failed posting. */
export function isSummaryPost(msg: NodeMessage): boolean {
  return msg.topic === SUMMARY_POST_TOPIC && typeof msg.summary?.key === 'string';
}

export interface SummaryPostingOptions<C> {
  node: RuntimeNode;
  /** The ERP system: the book's scope and the register ref's name. */
  system: string;
  intervalMs: number;
  binding: StoreBinding;
  /** The chosen connection now (undefined: none usable; the tick waits). */
  connection(): C | undefined;
  /**
   * Writes canonical sales, each once per its msg.tillwire.idempotencyKey, setting each msg.erp (the
   * ERP part's `order`, or its batch of sales): one outcome or Error per message, in order.
   */
  writeMany(connection: C, msgs: NodeMessage[]): Promise<Array<unknown | Error>>;
  /** The ERP's document number in msg.erp once the ERP holds it. */
  acceptedRef(erp: Record<string, any>): string | undefined;
  /** A failure as the node reports it (a ConnectorError). */
  failure(err: unknown): Error;
  /** Told of every posted summary and every failure (badge). */
  onPosted(): void;
  onFailed(err: Error): void;
}

/** What msg.summary says of a summary. */
function summaryInfo(rec: SummaryRecord) {
  return {
    key: rec.key,
    storeId: rec.storeId,
    businessDate: rec.businessDate,
    from: rec.from,
    to: rec.to,
    sales: rec.sales,
    grandTotal: { amount: rec.amount, currency: rec.currency },
  };
}

/** Backoff of a summary's automatic retries: the interval, doubling per failure, at most 15 minutes. */
const retryDelay = (intervalMs: number, attempts: number) => Math.min(15 * 60_000, intervalMs * 2 ** Math.min(20, Math.max(0, attempts - 1)));

/** How many of `sales`, from the first, one summary document holds within the lines bound (at least one). */
function linesFit(header: SummaryRecord, sales: readonly AssignedSale[]): number {
  let lo = 1;
  let hi = sales.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const doc = summaryDocument(
      header,
      sales.slice(0, mid).map((s) => s.document as Sale),
    );
    if (doc.lines.length <= DEFAULT_BOUNDS.maxLines) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export class SummaryPosting<C> {
  private readonly locks = new KeyedLock();
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private stopped = false;
  readonly tickMs: number;
  /**
   * The sales that reach the node during one event-loop turn are assigned in one transaction (one
   * commit for up to 100; a SQLite transaction ends within the turn, so nothing would gather while
   * it runs): a busy node commits far less often, an idle one waits a turn.
   */
  private readonly assignments = new BatchQueue<SaleToAssign, Assignment>(
    async (sales) => (await this.o.binding.acquire()).summaries.assignMany(this.o.system, sales, this.o.intervalMs),
    100,
    1,
    'turn',
  );

  constructor(private readonly o: SummaryPostingOptions<C>) {
    // Often enough that a summary closes close to its interval's end; a failed one retries on its own backoff.
    this.tickMs = Math.max(1000, Math.min(5000, Math.floor(o.intervalMs / 5)));
  }

  /** Starts the timer; the first tick right away posts what an earlier run closed but did not post. */
  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.ticking = this.tick()
        // After the stop, the store may have closed under a tick that ran on: nothing to report.
        .catch((err) => {
          if (!this.stopped) this.o.node.warn(`summarised posting: ${(err as Error).message}`);
        })
        .finally(() => {
          this.ticking = undefined;
          if (!this.stopped) this.timer = setTimeout(loop, this.tickMs);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  /** Stops the timer; resolves when a tick under way has ended (the node's close bounds the wait). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
  }

  /**
   * Assigns a till sale to its summary (durable when this resolves) and says so in msg.erp.summary.
   * A sale in another currency or tax basis than the store's other sales goes into a summary of its
   * own. A sale the model refuses fails as a permanent problem (Catch → dead letter).
   */
  async assign(msg: NodeMessage): Promise<void> {
    const sale = msg.payload as Sale;
    const checked = validateDocument('sale', sale);
    if (!checked.valid) throw new SummaryInputError(`invalid sale: ${checked.errors.join('; ')}`);
    const key: string | undefined = msg.tillwire?.idempotencyKey || businessKey(sale as unknown as Record<string, unknown>);
    if (!key) throw new SummaryInputError('no idempotency key (msg.tillwire.idempotencyKey) and no business key in the sale');
    const store = await this.o.binding.acquire();
    const a = await this.assignments.push({
      key,
      storeId: sale.storeId,
      businessDate: sale.businessDate,
      amount: sale.totals.grandTotal.amount,
      currency: sale.currency,
      taxesIncluded: sale.taxesIncluded,
      occurredAt: sale.occurredAt,
      document: sale,
    });
    if (a.duplicate) {
      // A repeat is passed on uncounted; another document under a counted key is refused, never absorbed silently.
      const had = await store.summaries.saleAssignment(this.o.system, key);
      if (had && !sameDocument(had.document, JSON.parse(JSON.stringify(sale)))) {
        const was = (had.document as Sale | undefined)?.totals?.grandTotal?.amount;
        throw new SummaryInputError(
          `${key} is already in ${a.summaryKey} with a different document (grand total ${was} there, ${sale.totals.grandTotal.amount} here): a summarised sale is never replaced, send the change as a new transaction (a return, a new sale) with its own saleId`,
        );
      }
    }
    const state = a.duplicate ? ((await store.summaries.get(this.o.system, a.summaryKey))?.state ?? 'open') : 'open';
    msg.erp = {
      system: this.o.system,
      summary: { key: a.summaryKey, state, ...(a.late ? { late: true } : {}), ...(a.duplicate ? { duplicate: true } : {}) },
    };
  }

  /** Closes the summaries whose interval ended and posts every closed one that is due. */
  async tick(): Promise<void> {
    if (!this.o.binding.configured) return;
    const store = await this.o.binding.acquire();
    await store.summaries.closeDue(this.o.system);
    if (this.o.connection() === undefined) return;
    for (;;) {
      const due = await store.summaries.due(this.o.system, 50);
      let progressed = false;
      // A page's summaries are prepared side by side, each its own document under its own lock and
      // claim, and then go to the ERP together, as one batch of sales where the ERP node batches
      // (one after another, a burst across many stores waited on every summary's round trips in turn).
      const together = this.gather(due.length);
      await Promise.all(
        due.map(async (rec) => {
          if (this.stopped) return together.skip();
          try {
            const out = await this.post(store, rec.key, together);
            // Only a summary posted now moves the page on: one another instance is posting (its
            // claim) stays due, and reading the same page again at once would only spin.
            if (out) {
              this.o.node.send(out);
              progressed = true;
            }
          } catch (err) {
            // A post cut short by the stop is not the summary's failure (no backoff, no Catch):
            // its claim is given back (or lapses) and the next run posts it.
            if (!this.stopped) await this.failed(store, rec, err);
          }
        }),
      );
      if (this.stopped || !progressed || due.length < 50) return;
    }
  }

  /** A replayed failure: posts that summary now (once; a posted one is answered from the store). */
  async replay(msg: NodeMessage): Promise<NodeMessage> {
    const store = await this.o.binding.acquire();
    const key = String(msg.summary.key);
    const rec = await store.summaries.get(this.o.system, key);
    if (!rec) throw new SummaryInputError(`no summary ${key} for ${this.o.system} in this store`);
    if (rec.state === 'open') await store.summaries.closeDue(this.o.system);
    try {
      return (await this.post(store, key, this.gather(1))) ?? (await this.postedMessage(store, key));
    } catch (err) {
      // Counted on the summary as well, so the timer's retries keep their backoff (not when the
      // stop cut it short: that is not the summary's failure).
      if (!this.stopped) await store.summaries.failed(this.o.system, key, (err as Error).message, Date.now() + retryDelay(this.o.intervalMs, rec.attempts + 1));
      throw err;
    }
  }

  /** The summary.posted message of a summary posted before (a replay that finds it done). */
  private async postedMessage(store: Store, key: string): Promise<NodeMessage> {
    const rec = await store.summaries.get(this.o.system, key);
    if (!rec || rec.state !== 'posted')
      throw new SummaryInputError(`summary ${key} is ${rec?.state ?? 'unknown'}, not closed: it posts when its interval ends`);
    const doc = summaryDocument(
      rec,
      (await store.summaries.sales(this.o.system, key)).map((s) => s.document as Sale),
    );
    return {
      topic: SUMMARY_POSTED_TOPIC,
      payload: doc,
      erp: { system: this.o.system, id: rec.erpId, name: rec.erpRef, state: 'posted', alreadyPosted: true },
      summary: summaryInfo(rec),
    };
  }

  /** One ERP write for the summaries of `parties` posts: each hands its document in, or skips. */
  private gather(parties: number): Gather<NodeMessage, unknown> {
    return new Gather(parties, (msgs) => {
      const connection = this.o.connection();
      if (connection === undefined) throw new Error('no usable ERP connection');
      return this.o.writeMany(connection, msgs);
    });
  }

  /**
   * Posts one closed summary, its document written with the others `together` gathers, and records
   * it posted; undefined when it is not closed (posted meanwhile, by this process or another). Hands
   * `together` its document or skips it, exactly once, whatever happens.
   */
  private async post(store: Store, key: string, together: Gather<NodeMessage, unknown>): Promise<NodeMessage | undefined> {
    let handed = false;
    try {
      return await this.locks.run(key, () =>
        this.postLocked(store, key, (msg) => {
          handed = true;
          return together.put(msg);
        }),
      );
    } finally {
      if (!handed) together.skip();
    }
  }

  private async postLocked(store: Store, key: string, write: (msg: NodeMessage) => Promise<unknown>): Promise<NodeMessage | undefined> {
    let rec = await store.summaries.get(this.o.system, key);
    if (!rec || rec.state !== 'closed') return undefined;
    const claim = await store.claim(`summary-post:${this.o.system}`, key);
    if (claim.outcome !== 'claimed') return undefined;
    let posted = false;
    try {
      let sales = await store.summaries.sales(this.o.system, key);
      let doc = summaryDocument(
        rec,
        sales.map((s) => s.document as Sale),
      );
      if (doc.lines.length > DEFAULT_BOUNDS.maxLines) {
        // More lines than one ERP document holds: the sales beyond the first that fit move to a new
        // summary of the same interval (posted on its own) before this one reaches the ERP.
        const keep = linesFit(rec, sales);
        const moved = await store.summaries.split(
          this.o.system,
          key,
          sales.slice(keep).map((s) => s.key),
        );
        if (!moved) return undefined;
        this.o.node.warn(`${key}: ${sales.length - keep} of its ${sales.length} sales need more than ${DEFAULT_BOUNDS.maxLines} lines: moved to ${moved}`);
        rec = (await store.summaries.get(this.o.system, key))!;
        sales = await store.summaries.sales(this.o.system, key);
        doc = summaryDocument(
          rec,
          sales.map((s) => s.document as Sale),
        );
      }
      if (doc.totals.grandTotal.amount !== rec.amount || sales.length !== rec.sales) {
        throw new SummaryInputError(
          `summary ${key}: its ${sales.length} sales add up to ${doc.totals.grandTotal.amount}, the book says ${rec.sales} for ${rec.amount}`,
        );
      }
      const msg: NodeMessage = {
        topic: SUMMARY_POST_TOPIC,
        payload: doc,
        tillwire: { schemaVersion: 1, idempotencyKey: key, correlationId: key, source: { system: 'tillwire', account: rec.storeId, eventId: key } },
        summary: summaryInfo(rec),
      };
      await write(msg);
      const erp = (msg.erp ?? {}) as Record<string, any>;
      const ref = this.o.acceptedRef(erp);
      if (!ref) throw new SummaryInputError(`summary ${key}: ${this.o.system} did not accept it as a document (${JSON.stringify(erp).slice(0, 300)})`);
      await store.summaries.posted(this.o.system, key, { id: String(erp.id ?? ref), ref }, this.o.system);
      posted = true;
      this.o.onPosted();
      const after = (await store.summaries.get(this.o.system, key)) ?? rec;
      return { topic: SUMMARY_POSTED_TOPIC, payload: doc, erp, summary: summaryInfo(after) };
    } finally {
      if (posted) await store.confirm(`summary-post:${this.o.system}`, key, claim.token, 60_000);
      else await store.release(`summary-post:${this.o.system}`, key, claim.token);
    }
  }

  /**
   * A failed posting: counted on the summary with its next attempt, and on the first failure handed
   * to Catch with a message whose replay posts this summary; later automatic retries only warn.
   */
  private async failed(store: Store, rec: SummaryRecord, err: unknown): Promise<void> {
    const e = this.o.failure(err);
    const attempts = await store.summaries.failed(this.o.system, rec.key, e.message, Date.now() + retryDelay(this.o.intervalMs, rec.attempts + 1));
    this.o.onFailed(e);
    if (attempts <= 1) {
      const msg: NodeMessage = {
        topic: SUMMARY_POST_TOPIC,
        payload: { summaryKey: rec.key, storeId: rec.storeId, businessDate: rec.businessDate },
        summary: summaryInfo(rec),
      };
      this.o.node.error(e, msg);
    } else this.o.node.warn(`${rec.key}: posting failed again (attempt ${attempts}): ${e.message}`);
  }
}
