/**
 * Summarised posting's book (docs/summarised-posting.md): per ERP (`scope`), store, business date,
 * currency, tax basis and interval one summary, and one row per sale naming the summary that
 * carries it. The sale's row is its key's only assignment: a duplicate or a replayed sale finds the
 * row and is not counted again. A summary is `open` (taking sales) until its interval ends, then `closed` (its
 * sales fixed, waiting to be posted), then `posted` (the ERP's id and number recorded).
 */

export type SummaryState = 'open' | 'closed' | 'posted';

/** A sale to assign: its business key, where and when it belongs, its signed grand total in minor units. */
export interface SaleToAssign {
  key: string;
  storeId: string;
  businessDate: string;
  /** Signed grand total, minor units (a return is negative). */
  amount: number;
  currency: string;
  taxesIncluded: boolean;
  /** When the till rang it up (RFC 3339); a sale older than the open summary's interval is late. */
  occurredAt?: string;
  /** The canonical sale, kept so the summary is built from exactly the sales assigned to it. */
  document: unknown;
}

export interface Assignment {
  summaryKey: string;
  /** The sale's key was assigned before (to `summaryKey`): nothing was counted now. */
  duplicate: boolean;
  /** It rang up before the interval of the summary that took it (its own interval's summary had closed). */
  late: boolean;
}

export interface SummaryRecord {
  scope: string;
  key: string;
  storeId: string;
  businessDate: string;
  seq: number;
  state: SummaryState;
  /** The interval, RFC 3339: [from, to). */
  from: string;
  to: string;
  closedAt: string | null;
  currency: string;
  taxesIncluded: boolean;
  /** How many sales it carries and their grand totals' sum, minor units. */
  sales: number;
  amount: number;
  erpId: string | null;
  erpRef: string | null;
  postedAt: string | null;
  /** Failed posting attempts so far, the last one's error and when the next is due. */
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
}

export interface AssignedSale {
  key: string;
  summaryKey: string;
  amount: number;
  currency: string;
  late: boolean;
  assignedAt: string;
  document: unknown;
}

/** A sale summarised posting cannot take (invalid, no key, a changed document under a counted key): a permanent problem. */
export class SummaryInputError extends Error {
  override name = 'SummaryInputError';
}

/** The summary key, which is also its ERP idempotency key. */
export const summaryKey = (storeId: string, businessDate: string, seq: number) => `summary:${storeId}:${businessDate}:${seq}`;

export interface SummaryBook {
  /**
   * Assigns a sale, in one transaction: to the open summary of its store, business date, currency
   * and tax basis (opened for the interval of `intervalMs` that holds now, with the store day's next
   * number, when there is none; one whose interval has ended is closed first). A key assigned
   * before returns its summary, `duplicate`.
   */
  assign(scope: string, sale: SaleToAssign, intervalMs: number): Promise<Assignment>;
  /**
   * Assigns several sales in one transaction, each as `assign` would (in order, so a key twice is a
   * duplicate the second time): one outcome per sale, an Error for a sale that could not be assigned
   * (that sale alone is undone). Rejects, assigning none, only when the transaction itself fails.
   */
  assignMany(scope: string, sales: readonly SaleToAssign[], intervalMs: number): Promise<Array<Assignment | Error>>;
  /** Closes every open summary whose interval has ended; returns their keys. */
  closeDue(scope: string): Promise<string[]>;
  /** Closed summaries not posted yet whose next attempt is due, oldest first. */
  due(scope: string, limit?: number): Promise<SummaryRecord[]>;
  get(scope: string, key: string): Promise<SummaryRecord | undefined>;
  /** Summaries of a store (and business date), by business date and sequence; any ERP unless `scope` is given. */
  list(filter: { scope?: string; storeId: string; businessDate?: string; limit?: number }): Promise<SummaryRecord[]>;
  /** The sales a summary carries, by sale key. */
  sales(scope: string, key: string): Promise<AssignedSale[]>;
  /** The summary a sale was assigned to (undefined: none). */
  saleAssignment(scope: string, saleKey: string): Promise<AssignedSale | undefined>;
  /**
   * Records a closed summary posted: the ERP's id and document number, and, in the same transaction,
   * that number as each of its sales' register ref for `refSystem` (so control totals against the ERP
   * count them accepted) and the summary key under `<refSystem>.summary`. False if it was not closed.
   */
  posted(scope: string, key: string, erp: { id: string; ref: string }, refSystem: string): Promise<boolean>;
  /**
   * Moves `saleKeys` of a closed summary, in one transaction, to a new closed summary of the same
   * interval (the store day's next number), for a summary whose sales need more lines than one ERP
   * document holds. Only before the summary was posted; returns the new key (undefined: not closed).
   */
  split(scope: string, key: string, saleKeys: readonly string[]): Promise<string | undefined>;
  /** Records a failed posting attempt; returns the attempts so far. */
  failed(scope: string, key: string, error: string, nextAttemptAt: number): Promise<number>;
}
