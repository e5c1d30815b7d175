/**
 * The one store interface behind dedupe, dead-letter, replay and the durable inbox.
 * Backends: SQLite file (embedded default), PostgreSQL (shared by several Node-RED instances),
 * memory (SQLite in memory: same semantics, nothing on disk). All three pass test/integration/store.contract.
 */

import type { InventoryLedger } from './inventory';
import type { SummaryBook } from './summaries';

export type StoreKind = 'sqlite' | 'postgres' | 'memory';

/** How a claim is taken (see Store.claim). */
export interface ClaimOptions {
  /**
   * The durable-inbox entry the message came from ("<source>#<id>"), recorded on the claim so a
   * redelivery of that same entry by this process can take its own open claim back.
   */
  holder?: string;
  /** The message is the inbox's re-emission of `holder` (an earlier attempt never finished). */
  redelivery?: boolean;
}

export type ClaimResult =
  | { outcome: 'claimed'; token: string }
  /** `state` says whether the first holder has finished ('done') or is still working ('in-flight'). */
  | { outcome: 'duplicate'; state: 'done' | 'in-flight' };

export interface ErrorInfo {
  message: string;
  name?: string;
  source?: { id?: string; type?: string; name?: string };
  /** A connector failure's kind (docs/errors.md), as the Catch node's msg.error.code had it. */
  code?: string;
  /** A connector failure's fields (system, operation, kind, retryable, status, attempts…). */
  cause?: Record<string, unknown>;
}

export interface AttemptRecord {
  at: string;
  attempt: number;
  error: ErrorInfo;
  nodeId?: string | null;
}

export type DeadLetterStatus = 'pending' | 'replayed';

export interface NewDeadLetter {
  flowId?: string | null;
  nodeId?: string | null;
  nodeType?: string | null;
  nodeName?: string | null;
  topic?: string | null;
  error: ErrorInfo;
  attempts: number;
  /** The failed message as it was, serialisable JSON (payload, topic, tillwire envelope...). */
  message: Record<string, unknown>;
  history?: AttemptRecord[];
}

export interface DeadLetterEntry extends Required<Omit<NewDeadLetter, 'history'>> {
  id: string;
  createdAt: string;
  updatedAt: string;
  status: DeadLetterStatus;
  history: AttemptRecord[];
  /** Optimistic-concurrency counter; every update bumps it. */
  version: number;
}

export interface DeadLetterFilter {
  ids?: string[];
  status?: DeadLetterStatus;
  flowId?: string;
  nodeId?: string;
  limit?: number;
  offset?: number;
  /**
   * Leave the kept messages out (each entry's `message` is `{}`): for listings that read only
   * the errors, so a store of large messages (a held settlement keeps up to 2,000 lines) is not
   * read and parsed whole on every request.
   */
  withoutMessage?: boolean;
}

export type DeadLetterPatch = Partial<
  Pick<DeadLetterEntry, 'message' | 'status' | 'attempts' | 'history' | 'error' | 'flowId' | 'nodeId' | 'nodeType' | 'nodeName' | 'topic'>
>;

export interface InboxEntry {
  id: string;
  source: string;
  eventId: string;
  payload: unknown;
  receivedAt: string;
  state: 'pending' | 'done';
  attempts: number;
  /** While pending: until when the instance that last delivered it holds it (absent: never leased). */
  leasedUntil?: string;
}

/**
 * The sales register: one row per accepted canonical sale (or other business document), by its
 * business key, with the fields close-of-day reconciliation and the daily journal group by, and
 * the id each system of record gave it. Written once; the external refs are added as they come.
 */
export interface RegisterEntry {
  key: string;
  kind: string;
  storeId: string | null;
  terminalId: string | null;
  businessDate: string | null;
  sequence: number | null;
  /** Signed grand total in minor units (a return is negative). */
  amount: number;
  currency: string;
  document: Record<string, unknown>;
  recordedAt: string;
  /** Ids in systems of record, e.g. { odoo: "S00042" }. */
  externalRefs: Record<string, string>;
}

export type NewRegisterEntry = Omit<RegisterEntry, 'recordedAt' | 'externalRefs'>;

export interface RegisterFilter {
  kind?: string;
  storeId?: string;
  terminalId?: string;
  businessDate?: string;
  limit?: number;
  /** Keyset paging: entries whose key sorts after this one. */
  afterKey?: string;
}

/** Where an indexed channel order is: the channel system, its account ('' when it has none) and its own order id. */
export interface ChannelOrderRef {
  system: string;
  account: string;
  orderId: string;
}

/** A canonical channel order Tillwire took in, with its gross (grandTotal) in minor units. */
export interface OrderSeen extends ChannelOrderRef {
  gross: number;
  currency: string;
  /** When the customer placed it (the canonical order's createdAt, RFC 3339); the day control totals count it on. */
  placedAt?: string;
  /** Its status at the channel as last seen (the canonical order's status, e.g. "cancelled"). */
  status?: string;
}

/**
 * One row of the order index: which channel orders Tillwire took in (seenAt set) and which an ERP
 * accepted (erpSystem/erpRef set). Either side may be missing; settlement reconciliation names it.
 */
export interface OrderIndexEntry extends ChannelOrderRef {
  gross: number | null;
  currency: string | null;
  seenAt: string | null;
  erpSystem: string | null;
  erpRef: string | null;
  erpAt: string | null;
  /** The order's own date (else the first time Tillwire or the ERP knew it). */
  placedAt: string | null;
  /** Its channel status as last seen. */
  status: string | null;
}

/** What one settlement settled for one order (an order settled in parts has a row per settlement). */
export interface SettledOrder extends ChannelOrderRef {
  settlementId: string;
  /** What the settlement charged the customer: its principal, tax, shipping and promotion lines, minor units. */
  charged: number;
  /** Every line of the order in the settlement (fees and refunds included), minor units. */
  net: number;
  currency: string;
  /**
   * The settlement's deposit date (else issue time, else period end), RFC 3339. A date-only deposit
   * date (a calendar date, as Shopify and Square state it) is stored as that date's 00:00 UTC and
   * read back as the calendar date (SettledUnseenQuery.day), whatever the reader's time zone.
   */
  settledAt: string;
}

/** One order of a channel day: its index row (absent when only a settlement names it) and its settlement rows. */
export interface ChainOrder {
  order?: OrderIndexEntry;
  settled: SettledOrder[];
}

/** Which orders a control-totals read covers: a time range, one channel system (and account). */
export interface ChainQuery {
  system?: string;
  account?: string;
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
  /** Keyset paging: orders after this (system, account, orderId). */
  after?: ChannelOrderRef;
  /** Most orders per page (default 5,000). */
  limit?: number;
}

/** Settled-order rows of a day whose order Tillwire never saw, a page at a time (keyset after the last row's key). */
export interface SettledUnseenQuery extends Omit<ChainQuery, 'after'> {
  after?: { system: string; account: string; orderId: string; settlementId: string };
  /**
   * The calendar day ('YYYY-MM-DD') that [from, to) is in the reader's time zone: rows at exactly
   * 00:00 UTC are calendar dates (SettledOrder.settledAt) and are matched on this day instead of
   * on the range. Without it, every row is read as an instant.
   */
  day?: string;
}

/** Orders known before `before` that no settlement in their currency names and that the channel did not cancel. */
/** Output of Store.unsettledOrders. */
export interface UnsettledOrders {
  count: number;
  /** Of `count`, the orders that settlements name only in another currency than the order's. */
  otherCurrency: number;
  /** `settledIn`: a currency (the first by name) of the settlements naming the order, when only other currencies settled it. */
  orders: Array<OrderIndexEntry & { settledIn?: string }>;
}

export interface UnsettledQuery {
  system?: string;
  account?: string;
  /** Epoch ms: orders placed before it. */
  before: number;
  /** Most orders listed (the count covers all). Default 100. */
  limit?: number;
}

export interface KvEntry {
  key: string;
  value: unknown;
  updatedAt: string;
}

/** What settlement matching asks of one order-index row (orderMatch): the lean form of OrderIndexEntry. */
export interface OrderMatchRow {
  orderId: string;
  /** Set when Tillwire took the order in (with its gross, when it had one). */
  seen: boolean;
  gross: number | null;
  currency: string | null;
  /** An ERP accepted the order (gave it a ref). */
  accepted: boolean;
}

/** Narrows an order-index lookup to one channel system (and account). */
export interface OrderIndexScope {
  system?: string;
  account?: string;
}

export interface Store {
  readonly kind: StoreKind;
  /** Human-readable location for status text and logs (file path, host/db, "memory"). */
  readonly description: string;
  /** Opens the store; claims left open by an earlier run of the same instance lapse at once. */
  open(): Promise<void>;
  /** Closes the store; this owner's open claims lapse at once (a redelivery is processed at once). */
  close(): Promise<void>;

  /**
   * Who holds this store's claims: a new id for every store object (each deployment of a store
   * config node in each process). Its claims live as long as it renews them (renewClaims); they
   * lapse when it closes, when a later run of the same instance opens the store, or one lease after
   * its last renewal (a crash, on a host that does not come back).
   */
  readonly owner: string;

  /**
   * Atomically claims `key` in `scope`. Exactly one of any number of concurrent callers
   * (in this process or another sharing the store) gets 'claimed'. An open (unconfirmed) claim is
   * held by this store's owner and kept alive by its heartbeat; it can be claimed again once it
   * lapsed, or by this same owner for a redelivery of the same `holder` (options).
   */
  claim(scope: string, key: string, options?: ClaimOptions): Promise<ClaimResult>;
  /**
   * The heartbeat: extends the lease of every open claim of this owner, in one statement.
   * The store calls it on its own timer while open; returns how many claims it renewed.
   */
  renewClaims(): Promise<number>;
  /** Marks a claim done; duplicates are then rejected for `retentionMs`. False if the claim was lost. */
  confirm(scope: string, key: string, token: string, retentionMs: number): Promise<boolean>;
  /** Gives a claimed (or confirmed) key back so a redelivery is processed again. */
  release(scope: string, key: string, token: string): Promise<boolean>;
  /** Deletes expired keys and finished inbox entries past retention; returns rows removed. */
  purgeExpired(inboxRetentionMs?: number): Promise<number>;

  putDeadLetter(entry: NewDeadLetter): Promise<DeadLetterEntry>;
  getDeadLetter(id: string): Promise<DeadLetterEntry | undefined>;
  listDeadLetters(filter?: DeadLetterFilter): Promise<DeadLetterEntry[]>;
  countDeadLetters(filter?: DeadLetterFilter): Promise<number>;
  /** Applies `patch` if the entry is still at `expectedVersion` (when given). */
  updateDeadLetter(id: string, patch: DeadLetterPatch, expectedVersion?: number): Promise<DeadLetterEntry | undefined>;
  deleteDeadLetter(id: string): Promise<boolean>;

  /** Persists an inbound event once per (source, eventId); a repeat returns the stored entry. */
  inboxAdd(source: string, eventId: string, payload: unknown): Promise<{ entry: InboxEntry; duplicate: boolean }>;
  inboxComplete(id: string): Promise<void>;
  /** Counts one more processing attempt of a pending entry (used when it is re-emitted), leasing it for `leaseMs` when given. */
  inboxTouch(id: string, leaseMs?: number): Promise<void>;
  /** Extends the lease of pending entries still being worked on to now + `leaseMs`. */
  inboxRenew(ids: string[], leaseMs: number): Promise<void>;
  /**
   * Gives pending entries back on a graceful stop: the delivery cut short does not count as an
   * attempt (attempts − 1, never below 0) and the lease ends, so another instance may take them over.
   */
  inboxRelease(ids: string[]): Promise<void>;
  /** Pending entries oldest first, after entry id `afterId` (keyset paging). */
  inboxPending(source: string, limit?: number, afterId?: string): Promise<InboxEntry[]>;

  /** Records a document once per key; false if the key was already registered. */
  registerPut(entry: NewRegisterEntry): Promise<boolean>;
  /** Adds the id a system of record gave the document (e.g. 'odoo' → 'S00042'). */
  registerSetRef(key: string, system: string, ref: string): Promise<boolean>;
  registerGet(key: string): Promise<RegisterEntry | undefined>;
  /** Entries matching the filter, ordered by key. */
  registerList(filter: RegisterFilter): Promise<RegisterEntry[]>;

  /**
   * The order index. `orderSeen` records (or refreshes the gross of) channel orders Tillwire took
   * in; `orderAccepted` records the ERP's ref for a channel order, keeping the first ref an ERP
   * gave it (a later write never replaces or clears it). Neither touches the other side's columns.
   */
  orderSeen(orders: readonly OrderSeen[]): Promise<void>;
  orderAccepted(order: ChannelOrderRef, erpSystem: string, erpRef: string): Promise<void>;
  /** The index rows for these channel order ids (any system unless `scope` narrows it), one query per 500 ids. */
  orderLookup(orderIds: readonly string[], scope?: OrderIndexScope): Promise<OrderIndexEntry[]>;
  /**
   * The same rows reduced to what settlement matching reads (seen, gross, accepted), for the
   * hundreds of thousands of ids of a large settlement: no timestamps or refs built per row.
   */
  orderMatch(orderIds: readonly string[], scope?: OrderIndexScope): Promise<OrderMatchRow[]>;

  /**
   * The orders settlements settled. `settledOrdersReplace` starts a settlement's rows afresh (a
   * reissued settlement replaces what its earlier version recorded) with a first batch;
   * `settledOrdersAdd` adds further batches of the same settlement. Both write in statements of 100 rows.
   */
  settledOrdersReplace(settlement: { system: string; account: string; settlementId: string }, rows: readonly SettledOrder[]): Promise<void>;
  settledOrdersAdd(rows: readonly SettledOrder[]): Promise<void>;
  /** The orders placed in [from, to) with their settlement rows, ordered by (system, account, orderId), one page. */
  chainOrders(query: ChainQuery): Promise<ChainOrder[]>;
  /** Settlement rows settled in [from, to) whose order Tillwire never saw at the channel. */
  settledUnseen(query: SettledUnseenQuery): Promise<SettledOrder[]>;
  /** Orders placed before `before`, not cancelled, that no settlement names: how many, and the oldest `limit` of them. */
  unsettledOrders(query: UnsettledQuery): Promise<UnsettledOrders>;

  /**
   * Small durable values by key (poll cursors, tokens' expiry, leader leases). `kvPut` with
   * `expected` writes only if the current value is still `expected` (undefined = absent), so two
   * instances advancing one cursor cannot overwrite each other; it returns whether it wrote.
   */
  kvGet(key: string): Promise<unknown | undefined>;
  kvPut(key: string, value: unknown, expected?: unknown): Promise<boolean>;
  /** The values of many keys in one query, by key (absent keys left out). */
  kvGetMany(keys: readonly string[]): Promise<Map<string, unknown>>;
  /** kvPut with `expected` for many entries in one transaction: per entry, whether it wrote. */
  kvPutMany(entries: readonly { key: string; value: unknown; expected: unknown }[]): Promise<boolean[]>;
  /** Entries whose key starts with `prefix`, ordered by key, after `afterKey` (keyset paging), at most `limit` (default 500). */
  kvList(prefix: string, options?: { afterKey?: string; limit?: number }): Promise<KvEntry[]>;

  /** The inventory ledger: positions per SKU × location, their events and order reservations (docs/inventory.md). */
  readonly inventory: InventoryLedger;

  /** Summarised posting: summaries per store, business date and interval, and each sale's (docs/summarised-posting.md). */
  readonly summaries: SummaryBook;
}

export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

export class VersionConflictError extends Error {
  override name = 'VersionConflictError';
}
