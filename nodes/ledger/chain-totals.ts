/**
 * Control totals across the chain (docs/settlements.md, "Control totals across the chain"): for
 * one channel (system and account), currency and day, the orders and their value at four points:
 *
 *  - channel: orders placed that day (their own createdAt, on the configured time zone's calendar)
 *    that Tillwire took in from the channel, cancelled ones apart;
 *  - ERP: of those, the ones an ERP accepted (the order index holds its ref);
 *  - settled: of those, the ones a settlement that passed reconciliation names (value: what the
 *    settlements charged the customer: principal, tax, shipping and promotion);
 *  - posted: of the settled ones, those whose every settlement is in the ledger, confirmed by it
 *    (ledgerStatus 'posted');
 *  - written: of the settled ones, those whose settlements are all posted or written as journal
 *    files for import, at least one only written (ledgerStatus 'written': not confirmed by a ledger).
 *
 * and the orders behind each difference. Settlements deposited that day naming orders Tillwire never
 * saw at the channel, and ERP orders Tillwire never saw, are listed too: they belong to no column.
 * Everything is integer minor units. Pure: the node (channel-totals.ts) reads the store and feeds this.
 */
import type { ChainOrder, OrderIndexEntry, SettledOrder } from '../runtime/store';
import { ledgerStatus, type SettlementRecord } from './settlement-register';
import { BusinessDateError, businessDate, isTimeZone } from '../model/business-date';

export interface Figure {
  count: number;
  /** Minor units of the report's currency. */
  value: number;
}

/** One order behind a difference. */
export interface DifferenceOrder {
  orderId: string;
  placedAt?: string;
  /** Tillwire's gross (the order's grand total), when it saw the order. */
  gross?: number;
  erpRef?: string;
  /**
   * The settlements naming it, with what each charged and whether it is posted (confirmed by the
   * ledger) or written for import (a journal file, not confirmed); currency when not the order's.
   */
  settlements?: Array<{ settlementId: string; charged: number; settledAt: string; posted: boolean; writtenForImport: boolean; currency?: string }>;
}

/** The orders behind one difference: all counted, the first `cap` listed. */
export interface DifferenceList extends Figure {
  orders: DifferenceOrder[];
  /** How many more there are than listed. */
  more: number;
}

export interface ChannelDayReport {
  system: string;
  account: string;
  currency: string;
  day: string;
  timeZone: string;
  /** The day as instants: [from, to). */
  from: string;
  to: string;
  channel: Figure;
  erp: Figure;
  settled: Figure;
  posted: Figure;
  /** Settled, every settlement posted or written as a journal file for import, some only written: not confirmed by the ledger. */
  written: Figure;
  /** Orders of the day the channel cancelled: in no column, never a difference. */
  cancelled: Figure;
  differences: {
    /** At the channel, not in the ERP. */
    notInErp: DifferenceList;
    /** At the channel, in no settlement yet (normal for a few days: see output 3 for the old ones). */
    notSettled: DifferenceList;
    /** Settled, but a settlement naming them is unconfirmed: its journals neither all confirmed by the ledger nor written for import. */
    settledNotPosted: DifferenceList;
    /** At the channel, settled only by settlements in another currency than the order's (which cannot be added to it). */
    settledOtherCurrency: DifferenceList;
    /** Named by a settlement deposited that day, never seen by Tillwire at the channel (value: what was charged). */
    settledNotSeen: DifferenceList;
    /** Accepted by an ERP that day, never seen by Tillwire at the channel (value unknown: 0). */
    inErpNotSeen: DifferenceList;
  };
  /** No difference other than "not settled yet". */
  balanced: boolean;
}

/** A settlement the ledger does not have (yet). */
export interface UnpostedSettlement {
  system: string;
  account: string;
  settlementId: string;
  currency?: string;
  /** held: reconciliation holds it; unconfirmed: journals built, not all confirmed by a ledger nor written for import. */
  reason: 'held' | 'unconfirmed';
  state: string;
  variances: Array<{ kind: string; message: string }>;
  /** Journals built for it that no poster confirmed and no journal file node wrote. */
  journalsWithoutLedgerId: string[];
  deadLetterId?: string;
  /** When its register record last changed. */
  since: string;
  hours: number;
}

export class ChainTotalsInputError extends Error {
  override name = 'ChainTotalsInputError';
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The day `YYYY-MM-DD` as a real calendar date, or a ChainTotalsInputError naming the problem. */
export function checkDay(day: unknown): string {
  const m = typeof day === 'string' ? DAY.exec(day) : null;
  if (!m) throw new ChainTotalsInputError(`msg.day must be a date 'YYYY-MM-DD', got ${JSON.stringify(day)?.slice(0, 40)}`);
  // Years outside 1970..9998 are refused by name: Date.UTC reads 0..99 as 1900..1999, and the day
  // after 9999-12-31 has no four-digit year to compute the day's end with.
  const year = Number(m[1]);
  if (year < 1970 || year > 9998) throw new ChainTotalsInputError(`msg.day '${day}' is out of range: the year must be 1970 to 9998`);
  const d = new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3])));
  if (d.toISOString().slice(0, 10) !== day) throw new ChainTotalsInputError(`msg.day '${day}' is not a calendar date`);
  return day as string;
}

/** The calendar date `days` after `day` (negative: before). */
export function addDays(day: string, days: number): string {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** The first instant (epoch ms) of `day` on the wall clock of `timeZone`. */
export function startOfDay(day: string, timeZone: string): number {
  if (!isTimeZone(timeZone)) throw new BusinessDateError(`unknown time zone '${timeZone}' (expected an IANA name such as Europe/London or UTC)`);
  const [y, m, d] = day.split('-').map(Number);
  const midnightUtc = Date.UTC(y, m - 1, d);
  // The zone's offset is read from Intl, twice: the offset at the guess may differ from the one at
  // local midnight when a daylight-saving change falls between them.
  let t = midnightUtc - offsetAt(midnightUtc, timeZone);
  t = midnightUtc - offsetAt(t, timeZone);
  // A zone that skips midnight (a DST change at 00:00) starts the day at the first instant that is on it.
  while (businessDate(new Date(t), timeZone) < day) t += 15 * 60_000;
  return t;
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

/** Wall clock minus UTC at `ms` in `timeZone`, in ms. */
function offsetAt(ms: number, timeZone: string): number {
  let f = offsetFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    if (offsetFormatters.size > 500) offsetFormatters.clear();
    offsetFormatters.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const wall = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  return wall - Math.floor(ms / 1000) * 1000;
}

/** [from, to) of `day` in `timeZone`, epoch ms (23 or 25 hours on a daylight-saving change). */
export function dayRange(day: string, timeZone: string): { from: number; to: number } {
  return { from: startOfDay(day, timeZone), to: startOfDay(addDays(day, 1), timeZone) };
}

/** A channel filter as msg.channel gives it: { system, account? }. */
export function checkChannel(channel: unknown): { system: string; account?: string } | undefined {
  if (channel === undefined || channel === null) return undefined;
  const c = channel as Record<string, unknown>;
  if (typeof c !== 'object' || typeof c.system !== 'string' || !c.system.trim() || (c.account !== undefined && typeof c.account !== 'string')) {
    throw new ChainTotalsInputError('msg.channel must be { system: "<channel system>", account?: "<account>" }');
  }
  return { system: c.system.trim(), ...(typeof c.account === 'string' ? { account: c.account.trim() } : {}) };
}

/** Where a settlement (by system, account and id) is on its way to the ledger, from the register's records (pending when unknown). */
export type LedgerLookup = (system: string, account: string, settlementId: string) => 'posted' | 'written' | 'pending';

/**
 * What the control totals need of the settlement register, read record by record: the keys of the
 * posted and the written-for-import settlements, and the others (held, unconfirmed) without their
 * journals' lines, so a register of years of settlements is never held whole.
 */
export class RegisterDigest {
  private readonly postedKeys = new Set<string>();
  private readonly writtenKeys = new Set<string>();
  /** Settlements not in the ledger (reversed ones left out), their journals reduced to their ids. */
  readonly pending: SettlementRecord[] = [];
  count = 0;

  add(r: SettlementRecord): void {
    this.count++;
    const status = ledgerStatus(r);
    const key = JSON.stringify([r.system, r.account, r.settlementId]);
    if (status === 'posted') this.postedKeys.add(key);
    else if (status === 'written') this.writtenKeys.add(key);
    else if (r.state !== 'reversed')
      this.pending.push({ ...r, journals: r.journals.map((j) => ({ journalId: j.journalId }) as SettlementRecord['journals'][number]) });
  }

  readonly status: LedgerLookup = (system, account, settlementId) => {
    const key = JSON.stringify([system, account, settlementId]);
    return this.postedKeys.has(key) ? 'posted' : this.writtenKeys.has(key) ? 'written' : 'pending';
  };
}

export function ledgerLookupOf(records: Iterable<SettlementRecord>): LedgerLookup {
  const digest = new RegisterDigest();
  for (const r of records) digest.add(r);
  return digest.status;
}

const list = (): DifferenceList => ({ count: 0, value: 0, orders: [], more: 0 });

/** Builds the day's reports, one per (system, account, currency), from orders fed page by page. */
export class ChainTotalsBuilder {
  private readonly reports = new Map<string, ChannelDayReport>();

  constructor(
    private readonly day: { day: string; timeZone: string; from: number; to: number },
    private readonly status: LedgerLookup,
    /** Orders listed per difference (the count covers all). */
    private readonly cap = 100,
  ) {}

  private report(system: string, account: string, currency: string): ChannelDayReport {
    const key = JSON.stringify([system, account, currency]);
    let r = this.reports.get(key);
    if (!r) {
      const zero = () => ({ count: 0, value: 0 });
      r = {
        system,
        account,
        currency,
        day: this.day.day,
        timeZone: this.day.timeZone,
        from: new Date(this.day.from).toISOString(),
        to: new Date(this.day.to).toISOString(),
        channel: zero(),
        erp: zero(),
        settled: zero(),
        posted: zero(),
        written: zero(),
        cancelled: zero(),
        differences: {
          notInErp: list(),
          notSettled: list(),
          settledNotPosted: list(),
          settledOtherCurrency: list(),
          settledNotSeen: list(),
          inErpNotSeen: list(),
        },
        balanced: true,
      };
      this.reports.set(key, r);
    }
    return r;
  }

  private note(l: DifferenceList, value: number, order: () => DifferenceOrder): void {
    l.count++;
    l.value += value;
    if (l.orders.length < this.cap) l.orders.push(order());
    else l.more++;
  }

  private settlementsOf(rows: SettledOrder[], currency?: string) {
    return rows.map((s) => {
      const status = this.status(s.system, s.account, s.settlementId);
      return {
        settlementId: s.settlementId,
        charged: s.charged,
        settledAt: s.settledAt,
        posted: status === 'posted',
        writtenForImport: status === 'written',
        ...(currency !== undefined && s.currency !== currency ? { currency: s.currency } : {}),
      };
    });
  }

  /** One order placed on the day, with its settlement rows (Store.chainOrders). */
  addOrder({ order, settled }: ChainOrder): void {
    if (!order) return;
    const seen = order.seenAt !== null;
    const currency = order.currency ?? settled[0]?.currency ?? '';
    const r = this.report(order.system, order.account, currency);
    const d = r.differences;
    const gross = order.gross ?? 0;
    const base = (o: OrderIndexEntry): DifferenceOrder => ({
      orderId: o.orderId,
      ...(o.placedAt ? { placedAt: o.placedAt } : {}),
      ...(o.gross !== null ? { gross: o.gross } : {}),
      ...(o.erpRef !== null ? { erpRef: o.erpRef } : {}),
    });
    if (!seen) {
      if (order.erpRef !== null) this.note(d.inErpNotSeen, 0, () => base(order));
      return;
    }
    if (order.status === 'cancelled') {
      r.cancelled.count++;
      r.cancelled.value += gross;
      return;
    }
    r.channel.count++;
    r.channel.value += gross;
    if (order.erpRef !== null) {
      r.erp.count++;
      r.erp.value += gross;
    } else {
      this.note(d.notInErp, gross, () => base(order));
    }
    // Rows in another currency than the order's cannot be added to it: such an order is not settled
    // here, and when only other currencies settled it, that is a difference of its own.
    const rows = settled.filter((s) => s.currency === currency);
    if (!rows.length) {
      if (settled.length) this.note(d.settledOtherCurrency, gross, () => ({ ...base(order), settlements: this.settlementsOf(settled, currency) }));
      else this.note(d.notSettled, gross, () => base(order));
      return;
    }
    const charged = rows.reduce((sum, s) => sum + s.charged, 0);
    r.settled.count++;
    r.settled.value += charged;
    const by = { posted: 0, written: 0, pending: 0 };
    for (const s of rows) by[this.status(s.system, s.account, s.settlementId)] += s.charged;
    const statuses = new Set(rows.map((s) => this.status(s.system, s.account, s.settlementId)));
    // settled = posted + written + settledNotPosted, in value; an order counts in the column its least advanced settlement is in.
    r.posted.value += by.posted;
    r.written.value += by.written;
    if (statuses.has('pending')) this.note(d.settledNotPosted, by.pending, () => ({ ...base(order), settlements: this.settlementsOf(rows) }));
    else if (statuses.has('written')) r.written.count++;
    else r.posted.count++;
  }

  /**
   * A settlement row deposited on the day whose order Tillwire never saw (Store.settledUnseen, in
   * order id order): an order settled in parts by several settlements that day is one order.
   */
  addSettledUnseen(row: SettledOrder): void {
    const r = this.report(row.system, row.account, row.currency);
    const l = r.differences.settledNotSeen;
    const key = JSON.stringify([row.system, row.account, row.currency, row.orderId]);
    if (key === this.lastUnseen) {
      l.value += row.charged;
      const listed = l.orders[l.orders.length - 1];
      if (l.more === 0 && listed?.orderId === row.orderId) listed.settlements!.push(...this.settlementsOf([row]));
      return;
    }
    this.lastUnseen = key;
    this.note(l, row.charged, () => ({ orderId: row.orderId, settlements: this.settlementsOf([row]) }));
  }

  private lastUnseen = '';

  /** The reports, ordered by system, account and currency. */
  build(): ChannelDayReport[] {
    const out = [...this.reports.values()].sort((a, b) => cmp(a.system, b.system) || cmp(a.account, b.account) || cmp(a.currency, b.currency));
    for (const r of out) {
      const d = r.differences;
      r.balanced = d.notInErp.count + d.settledNotPosted.count + d.settledOtherCurrency.count + d.settledNotSeen.count + d.inErpNotSeen.count === 0;
    }
    return out;
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The settlements of the register neither in the ledger nor written for import, older than `olderThanMs` at `now`. */
export function unpostedSettlements(records: Iterable<SettlementRecord>, now: number, olderThanMs: number): UnpostedSettlement[] {
  const out: UnpostedSettlement[] = [];
  for (const r of records) {
    if (r.state === 'reversed' || ledgerStatus(r) !== 'pending') continue;
    const since = Date.parse(r.updatedAt);
    if (!(now - since >= olderThanMs)) continue;
    out.push({
      system: r.system,
      account: r.account,
      settlementId: r.settlementId,
      ...(r.currency ? { currency: r.currency } : {}),
      reason: r.state === 'held' ? 'held' : 'unconfirmed',
      state: r.state,
      variances: r.variances,
      journalsWithoutLedgerId: r.journals.filter((j) => !r.ledgerIds[j.journalId]).map((j) => j.journalId),
      ...(r.deadLetterId ? { deadLetterId: r.deadLetterId } : {}),
      since: r.updatedAt,
      hours: Math.floor((now - since) / 3_600_000),
    });
  }
  return out.sort((a, b) => cmp(a.since, b.since) || cmp(a.settlementId, b.settlementId));
}
