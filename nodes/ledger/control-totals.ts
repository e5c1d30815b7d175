/**
 * Control totals: a till's own end-of-day totals (its till.close, the Z report) against what
 * Tillwire received and registered for that till and day, and optionally against what an ERP
 * accepted (register entries carrying externalRefs[erpSystem]). Every count and sum is integer
 * minor units; a difference of one minor unit is a variance (docs/ledger.md, "Control totals").
 *
 * A transaction is a return when all its lines are returned items (negative quantity), otherwise a
 * sale, exchanges included: the rule the till.close schema states for its own counts.
 */
import type { Money } from '../model/types.generated';
import type { RegisterEntry } from '../runtime/store';
import { formatMoney, sumMoney } from '../model/money';
import { TENDER_TYPES } from './store-journal';
import { TillClose, tillCloseProblems } from './till-close';

export interface ControlTotals {
  salesCount: number;
  salesTotal: Money;
  returnsCount: number;
  returnsTotal: Money;
}

export interface TenderComparison {
  type: string;
  till: { count: number; amount: Money };
  received: { count: number; amount: Money };
}

export interface TillReconciliation {
  storeId: string;
  terminalId: string;
  businessDate: string;
  currency: string;
  status: 'matched' | 'variance';
  /** The till's own totals (from its till.close). */
  till: ControlTotals;
  /** Totals of the sales registered for this till and day. */
  received: ControlTotals;
  /** Totals of the received sales the ERP accepted (present when an ERP system was given). */
  erpAccepted?: ControlTotals;
  erpSystem?: string;
  /** Sequence numbers from firstSequence to lastSequence that were never received, ascending. */
  missingSequences: number[];
  /**
   * Business keys received for this till and day that the till did not count: outside its sequence
   * range, without a sequence, a second sale with a sequence already received, or in another currency.
   */
  extraSales: string[];
  /** received net − till net (positive: more arrived than the till took). */
  valueDifference: Money;
  /** Business keys received but without externalRefs[erpSystem] (present when an ERP system was given). */
  notInErp?: string[];
  /** Per tender type, when the till reported its tenders. */
  tenders?: TenderComparison[];
  /** Each variance in words; empty when matched. */
  problems: string[];
}

export interface ReconcileOptions {
  /** System name whose externalRefs entry means "accepted", e.g. "odoo". */
  erpSystem?: string;
}

export class TillCloseError extends Error {
  override name = 'TillCloseError';
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
  }
}

function zero(currency: string): ControlTotals {
  return { salesCount: 0, salesTotal: { amount: 0, currency }, returnsCount: 0, returnsTotal: { amount: 0, currency } };
}

function isReturn(entry: RegisterEntry): boolean {
  const lines = (entry.document as { lines?: Array<{ quantity?: unknown }> })?.lines;
  if (Array.isArray(lines) && lines.length > 0) return lines.every((l) => typeof l?.quantity === 'number' && l.quantity < 0);
  return entry.amount < 0;
}

function addEntry(t: ControlTotals, entry: RegisterEntry): void {
  const m = { amount: entry.amount, currency: entry.currency };
  if (isReturn(entry)) {
    t.returnsCount++;
    t.returnsTotal = sumMoney([t.returnsTotal, m]);
  } else {
    t.salesCount++;
    t.salesTotal = sumMoney([t.salesTotal, m]);
  }
}

function net(t: ControlTotals): Money {
  return sumMoney([t.salesTotal, t.returnsTotal]);
}

function compareTotals(label: string, a: ControlTotals, b: ControlTotals, problems: string[], what = 'received'): void {
  if (a.salesCount !== b.salesCount || a.salesTotal.amount !== b.salesTotal.amount) {
    problems.push(
      `${label}: the till counted ${a.salesCount} sale(s) for ${formatMoney(a.salesTotal)}, ${what} ${b.salesCount} for ${formatMoney(b.salesTotal)}`,
    );
  }
  if (a.returnsCount !== b.returnsCount || a.returnsTotal.amount !== b.returnsTotal.amount) {
    problems.push(
      `${label}: the till counted ${a.returnsCount} return(s) for ${formatMoney(a.returnsTotal)}, ${what} ${b.returnsCount} for ${formatMoney(b.returnsTotal)}`,
    );
  }
}

function byKey(a: RegisterEntry, b: RegisterEntry): number {
  if (a.recordedAt !== b.recordedAt) return a.recordedAt < b.recordedAt ? -1 : 1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * Reconciles one till's close with the register entries received for it. `received` may hold more
 * than this till's day (a whole store, say): only sales of the close's store, terminal and
 * business date are considered. Throws TillCloseError for a till close that is invalid or does not
 * add up on its own.
 */
export function reconcileTill(close: TillClose, received: readonly RegisterEntry[], opts: ReconcileOptions = {}): TillReconciliation {
  const closeProblems = tillCloseProblems(close);
  if (closeProblems.length) {
    const name = close && typeof close === 'object' ? ` ${close.storeId}/${close.terminalId} ${close.businessDate}` : '';
    throw new TillCloseError(`invalid till close${name}: ${closeProblems.join('; ')}`, closeProblems);
  }
  const { storeId, terminalId, businessDate, currency } = close;
  const erpSystem = opts.erpSystem?.trim() || undefined;
  const label = `till ${storeId}/${terminalId} ${businessDate}`;
  const problems: string[] = [];

  const mine = received.filter((e) => e.kind === 'sale' && e.storeId === storeId && e.terminalId === terminalId && e.businessDate === businessDate).sort(byKey);
  const first = close.firstSequence;
  const last = close.lastSequence;
  const inRange = (s: number | null): s is number => s !== null && first !== undefined && last !== undefined && s >= first && s <= last;

  const counted: RegisterEntry[] = [];
  const extra: string[] = [];
  const bySequence = new Map<number, string>();
  for (const e of mine) {
    if (e.currency !== currency) {
      extra.push(e.key);
      problems.push(`${label}: ${e.key} is in ${e.currency}, the till closed in ${currency}`);
    } else if (!inRange(e.sequence)) {
      extra.push(e.key);
      problems.push(
        e.sequence === null
          ? `${label}: ${e.key} has no sequence number`
          : `${label}: ${e.key} has sequence ${e.sequence}, outside the till's range ${first === undefined ? '(no transactions)' : `${first}..${last}`}`,
      );
    } else if (bySequence.has(e.sequence)) {
      extra.push(e.key);
      problems.push(`${label}: sequence ${e.sequence} was received twice (${bySequence.get(e.sequence)} and ${e.key})`);
    } else {
      bySequence.set(e.sequence, e.key);
      counted.push(e);
    }
  }

  const missing: number[] = [];
  if (first !== undefined && last !== undefined) for (let s = first; s <= last; s++) if (!bySequence.has(s)) missing.push(s);
  if (missing.length) problems.push(`${label}: ${missing.length} transaction(s) never arrived: sequence ${ranges(missing)}`);

  const till: ControlTotals = {
    salesCount: close.sales.count,
    salesTotal: close.sales.total,
    returnsCount: close.returns.count,
    returnsTotal: close.returns.total,
  };
  const got = zero(currency);
  for (const e of mine) if (e.currency === currency) addEntry(got, e);
  compareTotals(label, till, got, problems);
  const valueDifference = sumMoney([net(got), { amount: -close.net.amount, currency }], currency);
  if (valueDifference.amount !== 0) {
    problems.push(`${label}: received ${formatMoney(net(got))} net, the till took ${formatMoney(close.net)} (difference ${formatMoney(valueDifference)})`);
  }

  let tenders: TenderComparison[] | undefined;
  if (close.tenders) {
    const rec = new Map<string, { count: number; amount: number }>();
    for (const e of mine) {
      if (e.currency !== currency) continue;
      for (const t of (e.document as { tenders?: Array<{ type: string; amount: Money }> }).tenders ?? []) {
        const r = rec.get(t.type) ?? { count: 0, amount: 0 };
        r.count++;
        r.amount = sumMoney(
          [
            { amount: r.amount, currency },
            { amount: t.amount.amount, currency },
          ],
          currency,
        ).amount;
        rec.set(t.type, r);
      }
    }
    const types = [...new Set([...close.tenders.map((t) => t.type as string), ...rec.keys()])].sort(
      (a, b) => TENDER_TYPES.indexOf(a as never) - TENDER_TYPES.indexOf(b as never),
    );
    tenders = types.map((type) => {
      const t = close.tenders!.find((x) => x.type === type);
      const r = rec.get(type) ?? { count: 0, amount: 0 };
      const cmp: TenderComparison = {
        type,
        till: { count: t?.count ?? 0, amount: t?.amount ?? { amount: 0, currency } },
        received: { count: r.count, amount: { amount: r.amount, currency } },
      };
      if (cmp.till.count !== cmp.received.count || cmp.till.amount.amount !== cmp.received.amount.amount) {
        problems.push(
          `${label}: ${type} tenders: the till took ${cmp.till.count} for ${formatMoney(cmp.till.amount)}, received ${cmp.received.count} for ${formatMoney(cmp.received.amount)}`,
        );
      }
      return cmp;
    });
  }

  let erpAccepted: ControlTotals | undefined;
  let notInErp: string[] | undefined;
  if (erpSystem) {
    erpAccepted = zero(currency);
    notInErp = [];
    for (const e of mine) {
      if (e.currency !== currency) continue;
      if (e.externalRefs?.[erpSystem]) addEntry(erpAccepted, e);
      else notInErp.push(e.key);
    }
    if (notInErp.length) problems.push(`${label}: ${notInErp.length} received sale(s) not accepted by ${erpSystem}`);
  }

  return {
    storeId,
    terminalId,
    businessDate,
    currency,
    status: problems.length ? 'variance' : 'matched',
    till,
    received: got,
    ...(erpSystem ? { erpAccepted, erpSystem } : {}),
    missingSequences: missing,
    extraSales: extra.sort(),
    valueDifference,
    ...(erpSystem ? { notInErp: notInErp!.sort() } : {}),
    ...(tenders ? { tenders } : {}),
    problems,
  };
}

/** "3, 7..9, 12" */
export function ranges(sorted: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}..${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

export interface StoreRollUp {
  storeId: string;
  businessDate: string;
  currency: string;
  status: 'matched' | 'variance';
  tills: { closed: number; matched: number; variance: number };
  terminals: Array<{ terminalId: string; status: 'matched' | 'variance' | 'not closed' }>;
  till: ControlTotals;
  received: ControlTotals;
  erpAccepted?: ControlTotals;
  erpSystem?: string;
  valueDifference: Money;
  missingCount: number;
  extraCount: number;
  notInErpCount?: number;
  /** Terminals with sales received for the day but no till close reconciled. */
  unclosedTerminals: string[];
  problems: string[];
}

function addTotals(a: ControlTotals, b: ControlTotals): ControlTotals {
  return {
    salesCount: a.salesCount + b.salesCount,
    salesTotal: sumMoney([a.salesTotal, b.salesTotal]),
    returnsCount: a.returnsCount + b.returnsCount,
    returnsTotal: sumMoney([a.returnsTotal, b.returnsTotal]),
  };
}

/**
 * Rolls the till reconciliations of one store and business day up to the store. Pass the day's
 * register entries as `received` to also report terminals that sold but never closed.
 */
export function rollUpStore(reports: readonly TillReconciliation[], received: readonly RegisterEntry[] = []): StoreRollUp {
  if (reports.length === 0) throw new Error('rollUpStore needs at least one till reconciliation');
  const { storeId, businessDate, currency } = reports[0];
  for (const r of reports) {
    if (r.storeId !== storeId || r.businessDate !== businessDate || r.currency !== currency) {
      throw new Error(
        `rollUpStore: ${r.storeId}/${r.terminalId} ${r.businessDate} (${r.currency}) is not of store ${storeId} on ${businessDate} (${currency})`,
      );
    }
  }
  const erpSystems = new Set(reports.map((r) => r.erpSystem));
  const erpSystem = erpSystems.size === 1 ? reports[0].erpSystem : undefined;
  let till = zero(currency);
  let got = zero(currency);
  let erp: ControlTotals | undefined = erpSystem ? zero(currency) : undefined;
  let diff = 0;
  const problems: string[] = [];
  const closed = new Set<string>();
  for (const r of reports) {
    if (closed.has(r.terminalId)) throw new Error(`rollUpStore: till ${r.terminalId} is reconciled twice`);
    closed.add(r.terminalId);
    till = addTotals(till, r.till);
    got = addTotals(got, r.received);
    if (erp && r.erpAccepted) erp = addTotals(erp, r.erpAccepted);
    diff = sumMoney([{ amount: diff, currency }, r.valueDifference], currency).amount;
    problems.push(...r.problems);
  }
  const unclosed = [
    ...new Set(
      received
        .filter((e) => e.kind === 'sale' && e.storeId === storeId && e.businessDate === businessDate && e.terminalId && !closed.has(e.terminalId))
        .map((e) => e.terminalId as string),
    ),
  ].sort();
  for (const t of unclosed) problems.push(`till ${storeId}/${t} ${businessDate}: sales received but the till has not closed`);
  const variance = reports.filter((r) => r.status === 'variance').length;
  const terminals = [
    ...reports.map((r) => ({ terminalId: r.terminalId, status: r.status as 'matched' | 'variance' | 'not closed' })),
    ...unclosed.map((terminalId) => ({ terminalId, status: 'not closed' as const })),
  ].sort((a, b) => (a.terminalId < b.terminalId ? -1 : a.terminalId > b.terminalId ? 1 : 0));
  return {
    storeId,
    businessDate,
    currency,
    status: variance || unclosed.length ? 'variance' : 'matched',
    tills: { closed: reports.length, matched: reports.length - variance, variance },
    terminals,
    till,
    received: got,
    ...(erpSystem ? { erpAccepted: erp, erpSystem } : {}),
    valueDifference: { amount: diff, currency },
    missingCount: reports.reduce((n, r) => n + r.missingSequences.length, 0),
    extraCount: reports.reduce((n, r) => n + r.extraSales.length, 0),
    ...(erpSystem ? { notInErpCount: reports.reduce((n, r) => n + (r.notInErp?.length ?? 0), 0) } : {}),
    unclosedTerminals: unclosed,
    problems,
  };
}

/** Groups till reconciliations by store and business day and rolls each group up (sorted by store, then date). */
export function rollUpByStore(reports: readonly TillReconciliation[], received: readonly RegisterEntry[] = []): StoreRollUp[] {
  const groups = new Map<string, TillReconciliation[]>();
  for (const r of reports) {
    const k = `${r.storeId}\u0000${r.businessDate}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.keys()].sort().map((k) => rollUpStore(groups.get(k)!, received));
}
