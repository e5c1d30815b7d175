/**
 * The business rules of the canonical model, checked beside its JSON Schema (docs/architecture.md, Principles 8:
 * valid means right, not just well-formed). The rules are the relations the model defines
 * (docs/canonical-model.md, "Business rules"): sums exact to the minor unit, signs that fit the
 * document's kind, unique line ids, quantities and dates within bounds. Each broken rule is one
 * sentence with the figures in words, e.g.
 * "totals.grandTotal 12.00 EUR ≠ subtotal 11.50 EUR − discountTotal 0.00 EUR + taxTotal 0.40 EUR = 11.90 EUR".
 *
 * The rules run on documents that already passed the schema and the currency checks, so every
 * figure is an integer in the document's known currency. Sums are BigInt: no total can overflow.
 */
import { currencyExponent } from './money';
import type { DateWindow } from './bounds';
import type { AvailableToSell, JournalEntry, Order, Return, Sale, Settlement, Shipment, TillClose } from './types.generated';

/** One broken rule: a stable name (for code and tests) and the sentence a person reads. */
export interface RuleViolation {
  rule: string;
  message: string;
}

export interface RuleContext {
  maxQuantity: number;
  /** When set, the document's dates must lie within this window of `now`. */
  dateWindow?: DateWindow;
  now: number;
}

interface MoneyLike {
  amount: number;
  currency: string;
}

type Out = RuleViolation[];

/** Largest sequence range a till close may span (a bigger one is a till reset or a typo, not a day's trade). */
export const MAX_SEQUENCE_RANGE = 1_000_000;

// ─── figures in words ────────────────────────────────────────────────────────────────────────────

/** Minor units as decimal text with the currency: 1999n, "GBP" → "19.99 GBP". */
export function formatMinor(amount: bigint | number, currency: string): string {
  const exponent = currencyExponent(currency);
  const big = BigInt(amount);
  const negative = big < 0n;
  const digits = (negative ? -big : big).toString().padStart(exponent + 1, '0');
  const text = exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  return `${negative ? '-' : ''}${text} ${currency}`;
}

const minor = (m: MoneyLike | undefined): bigint => BigInt(m?.amount ?? 0);

function sum<T>(items: readonly T[] | undefined, amount: (item: T) => bigint): bigint {
  let total = 0n;
  for (const item of items ?? []) total += amount(item);
  return total;
}

const sumMoney = (items: ReadonlyArray<{ amount: MoneyLike }> | undefined): bigint => sum(items, (x) => minor(x.amount));

// ─── rules shared by several documents ───────────────────────────────────────────────────────────

/** Line ids (or any id field) are unique within the document. */
function uniqueIds<T extends object>(out: Out, items: readonly T[] | undefined, field: keyof T & string, where: string): void {
  const seen = new Map<string, number>();
  (items ?? []).forEach((item, i) => {
    const id = item[field];
    if (typeof id !== 'string') return;
    const first = seen.get(id);
    if (first === undefined) seen.set(id, i);
    else out.push({ rule: 'unique-line-ids', message: `${where}[${i}].${field} '${id}' is used by ${where}[${first}] too` });
  });
}

function quantityBound(out: Out, lines: ReadonlyArray<{ quantity: number }>, ctx: RuleContext, where = 'lines'): void {
  lines.forEach((l, i) => {
    if (Math.abs(l.quantity) > ctx.maxQuantity) {
      out.push({ rule: 'max-quantity', message: `${where}[${i}].quantity ${l.quantity} is beyond the limit of ${ctx.maxQuantity} units per line` });
    }
  });
}

/** lineTotal = quantity × unitPrice − Σ discounts, exactly (sale and order lines). */
function lineTotals(
  out: Out,
  lines: ReadonlyArray<{ quantity: number; unitPrice: MoneyLike; lineTotal: MoneyLike; discounts?: ReadonlyArray<{ amount: MoneyLike }> }>,
  cur: string,
): void {
  lines.forEach((l, i) => {
    const gross = BigInt(l.quantity) * minor(l.unitPrice);
    const discounts = sumMoney(l.discounts);
    const expected = gross - discounts;
    if (minor(l.lineTotal) !== expected) {
      const off = l.discounts?.length ? ` − discounts ${formatMinor(discounts, cur)}` : '';
      out.push({
        rule: 'line-total',
        message: `lines[${i}].lineTotal ${formatMinor(minor(l.lineTotal), cur)} ≠ quantity ${l.quantity} × unitPrice ${formatMinor(minor(l.unitPrice), cur)}${off} = ${formatMinor(expected, cur)}`,
      });
    }
  });
}

function total(out: Out, rule: string, field: string, actual: bigint, expected: bigint, how: string, cur: string): void {
  if (actual !== expected) out.push({ rule, message: `${field} ${formatMinor(actual, cur)} ≠ ${how} = ${formatMinor(expected, cur)}` });
}

/** grandTotal = subtotal − discountTotal (+ shippingTotal) (+ taxTotal when tax is added on top). */
function grandTotal(
  out: Out,
  totals: { subtotal: MoneyLike; discountTotal: MoneyLike; taxTotal: MoneyLike; grandTotal: MoneyLike; shippingTotal?: MoneyLike },
  taxesIncluded: boolean,
  cur: string,
): void {
  let expected = minor(totals.subtotal) - minor(totals.discountTotal);
  let how = `subtotal ${formatMinor(minor(totals.subtotal), cur)} − discountTotal ${formatMinor(minor(totals.discountTotal), cur)}`;
  if (totals.shippingTotal) {
    expected += minor(totals.shippingTotal);
    how += ` + shippingTotal ${formatMinor(minor(totals.shippingTotal), cur)}`;
  }
  if (!taxesIncluded) {
    expected += minor(totals.taxTotal);
    how += ` + taxTotal ${formatMinor(minor(totals.taxTotal), cur)}`;
  }
  const actual = minor(totals.grandTotal);
  if (actual !== expected) {
    out.push({
      rule: 'grand-total',
      message: `totals.grandTotal ${formatMinor(actual, cur)} ≠ ${how} = ${formatMinor(expected, cur)}${taxesIncluded ? ' (prices include tax)' : ''}`,
    });
  }
}

// ─── dates ───────────────────────────────────────────────────────────────────────────────────────

const DAY_MS = 86_400_000;
// A calendar date (LocalDate) names a different span of instants in every time zone: from its
// start at UTC+14 to its end at UTC−12. The window accepts it when any of that span is inside.
const EARLIEST_ZONE_MS = 14 * 3_600_000;
const LATEST_ZONE_MS = 12 * 3_600_000;

interface DateAt {
  path: string;
  value: string;
}

function isLocalDate(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(value);
}

/** The earliest and latest instants a date or timestamp can stand for; undefined when unreadable. */
function span(value: string): { from: number; to: number } | undefined {
  if (isLocalDate(value)) {
    const start = Date.parse(`${value}T00:00:00Z`);
    return Number.isNaN(start) ? undefined : { from: start - EARLIEST_ZONE_MS, to: start + DAY_MS + LATEST_ZONE_MS };
  }
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : { from: t, to: t };
}

const days = (n: number) => `${n} day${n === 1 ? '' : 's'}`;

/**
 * Each group is the dates of one fact (an order's createdAt and updatedAt): every date must not lie
 * ahead of the window, and the latest of them must not lie before it (an order placed last year
 * and updated today is news today).
 */
function dateWindow(out: Out, groups: DateAt[][], ctx: RuleContext): void {
  const w = ctx.dateWindow;
  if (!w) return;
  const earliest = ctx.now - w.pastDays * DAY_MS;
  const latest = ctx.now + w.futureDays * DAY_MS;
  for (const group of groups) {
    let newest: { at: DateAt; to: number } | undefined;
    for (const at of group) {
      const s = span(at.value);
      if (!s) continue;
      if (s.from > latest) out.push({ rule: 'date-window', message: `${at.path} ${at.value} is more than ${days(w.futureDays)} after now` });
      if (!newest || s.to > newest.to) newest = { at, to: s.to };
    }
    if (newest && newest.to < earliest) {
      out.push({ rule: 'date-window', message: `${newest.at.path} ${newest.at.value} is more than ${days(w.pastDays)} before now` });
    }
  }
}

const dated = (path: string, value: string | undefined): DateAt[] => (typeof value === 'string' ? [{ path, value }] : []);

// ─── documents ───────────────────────────────────────────────────────────────────────────────────

function saleRules(sale: Sale, ctx: RuleContext): Out {
  const out: Out = [];
  const cur = sale.currency;
  uniqueIds(out, sale.lines, 'lineId', 'lines');
  quantityBound(out, sale.lines, ctx);
  // Signs: a returned line (negative quantity) has a negative total, discounts and taxes.
  sale.lines.forEach((l, i) => {
    const sign = l.quantity > 0 ? 1n : -1n;
    const word = l.quantity > 0 ? 'positive' : 'negative';
    const check = (path: string, amount: bigint) => {
      if (amount * sign < 0n) {
        out.push({
          rule: 'line-signs',
          message: `lines[${i}].${path} ${formatMinor(amount, cur)} is ${amount < 0n ? 'negative' : 'positive'} but its quantity ${l.quantity} is ${word}`,
        });
      }
    };
    check('lineTotal', minor(l.lineTotal));
    (l.discounts ?? []).forEach((d, j) => check(`discounts[${j}].amount`, minor(d.amount)));
    (l.taxes ?? []).forEach((t, j) => check(`taxes[${j}].amount`, minor(t.amount)));
  });
  lineTotals(out, sale.lines, cur);
  const t = sale.totals;
  total(
    out,
    'subtotal',
    'totals.subtotal',
    minor(t.subtotal),
    sum(sale.lines, (l) => BigInt(l.quantity) * minor(l.unitPrice)),
    "sum of the lines' quantity × unitPrice",
    cur,
  );
  total(
    out,
    'discount-total',
    'totals.discountTotal',
    minor(t.discountTotal),
    sum(sale.lines, (l) => sumMoney(l.discounts)),
    'sum of the line discounts',
    cur,
  );
  total(
    out,
    'tax-total',
    'totals.taxTotal',
    minor(t.taxTotal),
    sum(sale.lines, (l) => sumMoney(l.taxes)),
    'sum of the line taxes',
    cur,
  );
  grandTotal(out, t, sale.taxesIncluded, cur);
  const tendered = sumMoney(sale.tenders);
  if (tendered !== minor(t.grandTotal)) {
    out.push({ rule: 'tenders', message: `tenders add up to ${formatMinor(tendered, cur)} ≠ totals.grandTotal ${formatMinor(minor(t.grandTotal), cur)}` });
  }
  // Only a transaction that returns something pays money back; one that only returns cannot take money.
  const returned = sale.lines.filter((l) => l.quantity < 0).length;
  const gt = minor(t.grandTotal);
  if (gt < 0n && returned === 0) {
    out.push({
      rule: 'sale-sign',
      message: `totals.grandTotal ${formatMinor(gt, cur)} is negative but no line returns an item: only a return or an exchange pays money back`,
    });
  } else if (gt > 0n && returned === sale.lines.length) {
    out.push({
      rule: 'sale-sign',
      message: `totals.grandTotal ${formatMinor(gt, cur)} is positive but every line returns an item: a return cannot take money from the customer`,
    });
  }
  businessDateNearOccurrence(out, sale.businessDate, sale.occurredAt);
  dateWindow(out, [dated('occurredAt', sale.occurredAt), dated('businessDate', sale.businessDate)], ctx);
  return out;
}

/**
 * A sale's trading day is the date of occurredAt as the till wrote it, or a day either side (sales
 * after midnight booked to the day before; a till writing UTC for a store far from it).
 */
function businessDateNearOccurrence(out: Out, businessDate: string, occurredAt: string): void {
  const business = Date.parse(`${businessDate}T00:00:00Z`);
  const local = Date.parse(`${occurredAt.slice(0, 10)}T00:00:00Z`);
  if (Number.isNaN(business) || Number.isNaN(local)) return;
  if (Math.abs(business - local) > DAY_MS) {
    out.push({ rule: 'business-date', message: `businessDate ${businessDate} is more than a day away from occurredAt ${occurredAt}` });
  }
}

function orderRules(order: Order, ctx: RuleContext): Out {
  const out: Out = [];
  const cur = order.currency;
  uniqueIds(out, order.lines, 'lineId', 'lines');
  quantityBound(out, order.lines, ctx);
  lineTotals(out, order.lines, cur);
  // Signs: nothing in an order is negative (refunds are a Return, not a negative order).
  const nonNegative = (path: string, m: MoneyLike) => {
    if (m.amount < 0)
      out.push({ rule: 'order-signs', message: `${path} ${formatMinor(m.amount, cur)} is negative: every amount in an order is zero or positive` });
  };
  order.lines.forEach((l, i) => {
    nonNegative(`lines[${i}].lineTotal`, l.lineTotal);
    (l.discounts ?? []).forEach((d, j) => nonNegative(`lines[${i}].discounts[${j}].amount`, d.amount));
    (l.taxes ?? []).forEach((t, j) => nonNegative(`lines[${i}].taxes[${j}].amount`, t.amount));
  });
  (order.shipping ?? []).forEach((s, i) => {
    nonNegative(`shipping[${i}].amount`, s.amount);
    (s.taxes ?? []).forEach((t, j) => nonNegative(`shipping[${i}].taxes[${j}].amount`, t.amount));
    (s.discounts ?? []).forEach((d, j) => nonNegative(`shipping[${i}].discounts[${j}].amount`, d.amount));
  });
  (order.discounts ?? []).forEach((d, i) => nonNegative(`discounts[${i}].amount`, d.amount));
  (order.taxes ?? []).forEach((t, i) => nonNegative(`taxes[${i}].amount`, t.amount));
  for (const field of ['subtotal', 'discountTotal', 'shippingTotal', 'taxTotal', 'grandTotal'] as const) nonNegative(`totals.${field}`, order.totals[field]);

  const t = order.totals;
  total(
    out,
    'subtotal',
    'totals.subtotal',
    minor(t.subtotal),
    sum(order.lines, (l) => BigInt(l.quantity) * minor(l.unitPrice)),
    "sum of the lines' quantity × unitPrice",
    cur,
  );
  const lineDiscounts = sum(order.lines, (l) => sumMoney(l.discounts));
  const orderDiscounts = sumMoney(order.discounts);
  total(
    out,
    'discount-total',
    'totals.discountTotal',
    minor(t.discountTotal),
    lineDiscounts + orderDiscounts,
    `line discounts ${formatMinor(lineDiscounts, cur)} + order discounts ${formatMinor(orderDiscounts, cur)}`,
    cur,
  );
  total(out, 'shipping-total', 'totals.shippingTotal', minor(t.shippingTotal), sumMoney(order.shipping), 'sum of the shipping charges', cur);
  const lineTaxes = sum(order.lines, (l) => sumMoney(l.taxes));
  const shippingTaxes = sum(order.shipping, (s) => sumMoney(s.taxes));
  const orderTaxes = sumMoney(order.taxes);
  total(
    out,
    'tax-total',
    'totals.taxTotal',
    minor(t.taxTotal),
    lineTaxes + shippingTaxes + orderTaxes,
    `line taxes ${formatMinor(lineTaxes, cur)} + shipping taxes ${formatMinor(shippingTaxes, cur)} + order taxes ${formatMinor(orderTaxes, cur)}`,
    cur,
  );
  grandTotal(out, t, order.taxesIncluded, cur);
  if (order.updatedAt && Date.parse(order.updatedAt) < Date.parse(order.createdAt)) {
    out.push({ rule: 'date-order', message: `updatedAt ${order.updatedAt} is before createdAt ${order.createdAt}` });
  }
  dateWindow(out, [[...dated('createdAt', order.createdAt), ...dated('updatedAt', order.updatedAt)]], ctx);
  return out;
}

function returnRules(ret: Return, ctx: RuleContext): Out {
  const out: Out = [];
  uniqueIds(out, ret.lines, 'lineId', 'lines');
  uniqueIds(out, ret.refunds, 'refundId', 'refunds');
  quantityBound(out, ret.lines, ctx);
  dateWindow(out, [[...dated('createdAt', ret.createdAt), ...(ret.refunds ?? []).flatMap((r, i) => dated(`refunds[${i}].issuedAt`, r.issuedAt))]], ctx);
  return out;
}

function tillCloseRules(close: TillClose, ctx: RuleContext): Out {
  const out: Out = [];
  const cur = close.currency;
  const sales = minor(close.sales.total);
  const returns = minor(close.returns.total);
  if (minor(close.net) !== sales + returns) {
    out.push({
      rule: 'net',
      message: `net ${formatMinor(minor(close.net), cur)} is not sales ${formatMinor(sales, cur)} + returns ${formatMinor(returns, cur)} = ${formatMinor(sales + returns, cur)}`,
    });
  }
  if (returns > 0n) out.push({ rule: 'close-signs', message: `returns.total ${formatMinor(returns, cur)} must be negative or zero` });
  for (const part of ['sales', 'returns'] as const) {
    if (close[part].count === 0 && minor(close[part].total) !== 0n) {
      out.push({ rule: 'close-counts', message: `${part}.total ${formatMinor(minor(close[part].total), cur)} is not zero but ${part}.count is 0` });
    }
  }
  const counted = close.sales.count + close.returns.count;
  if (close.firstSequence === undefined || close.lastSequence === undefined) {
    if (counted > 0)
      out.push({ rule: 'sequence-range', message: `firstSequence and lastSequence are required when the till counted ${counted} transaction(s)` });
  } else {
    const range = close.lastSequence - close.firstSequence + 1;
    if (range < 1) out.push({ rule: 'sequence-range', message: `lastSequence ${close.lastSequence} is before firstSequence ${close.firstSequence}` });
    else if (range > MAX_SEQUENCE_RANGE) {
      out.push({
        rule: 'sequence-range',
        message: `the sequence range ${close.firstSequence}..${close.lastSequence} spans more than ${MAX_SEQUENCE_RANGE} transactions`,
      });
    } else if (range !== counted) {
      out.push({
        rule: 'sequence-range',
        message: `the sequence range ${close.firstSequence}..${close.lastSequence} holds ${range} transaction(s) but sales.count + returns.count = ${counted}`,
      });
    }
  }
  if (close.tenders) {
    const seen = new Set<string>();
    close.tenders.forEach((t, i) => {
      if (seen.has(t.type)) out.push({ rule: 'unique-line-ids', message: `tender type '${t.type}' is listed more than once` });
      seen.add(t.type);
      if (t.count === 0 && t.amount.amount !== 0) {
        out.push({ rule: 'close-counts', message: `tenders[${i}].amount ${formatMinor(t.amount.amount, cur)} is not zero but its count is 0` });
      }
    });
    const tendered = sumMoney(close.tenders);
    if (tendered !== minor(close.net))
      out.push({ rule: 'tenders', message: `tenders add up to ${formatMinor(tendered, cur)} but net is ${formatMinor(minor(close.net), cur)}` });
  }
  dateWindow(out, [dated('closedAt', close.closedAt), dated('businessDate', close.businessDate)], ctx);
  return out;
}

function settlementRules(s: Settlement, ctx: RuleContext): Out {
  const out: Out = [];
  const cur = s.currency;
  uniqueIds(out, s.lines, 'lineId', 'lines');
  total(out, 'net-total', 'netTotal', minor(s.netTotal), sumMoney(s.lines), 'sum of the lines', cur);
  if (Date.parse(s.periodEnd) <= Date.parse(s.periodStart)) {
    out.push({ rule: 'date-order', message: `periodEnd ${s.periodEnd} is not after periodStart ${s.periodStart}` });
  }
  dateWindow(out, [dated('periodEnd', s.periodEnd)], ctx);
  return out;
}

/** A journal balances when, per currency, the debits equal the credits (to the minor unit). */
function journalRules(j: JournalEntry, ctx: RuleContext): Out {
  const out: Out = [];
  const totals = new Map<string, { debit: bigint; credit: bigint }>();
  for (const line of j.lines) {
    for (const side of ['debit', 'credit'] as const) {
      const m = line[side];
      if (!m) continue;
      const t = totals.get(m.currency) ?? { debit: 0n, credit: 0n };
      t[side] += minor(m);
      totals.set(m.currency, t);
    }
  }
  for (const [cur, t] of totals) {
    if (t.debit !== t.credit) {
      out.push({ rule: 'balance', message: `journal does not balance: debits ${formatMinor(t.debit, cur)} ≠ credits ${formatMinor(t.credit, cur)}` });
    }
  }
  dateWindow(out, [dated('date', j.date)], ctx);
  return out;
}

function shipmentRules(s: Shipment, ctx: RuleContext): Out {
  const out: Out = [];
  uniqueIds(out, s.lines, 'lineId', 'lines');
  quantityBound(out, s.lines ?? [], ctx);
  dateWindow(out, [dated('shippedAt', s.shippedAt)], ctx);
  return out;
}

/** Never offer stock that is not there: available ≤ onHand + inTransit − reserved − safetyStock. */
function atsRules(a: AvailableToSell, ctx: RuleContext): Out {
  const out: Out = [];
  if (a.basis) {
    const b = a.basis;
    const most = Math.max(0, b.onHand + b.inTransit - b.reserved - b.safetyStock);
    if (a.available > most) {
      out.push({
        rule: 'ats-basis',
        message: `available ${a.available} is more than its basis holds: onHand ${b.onHand} + inTransit ${b.inTransit} − reserved ${b.reserved} − safetyStock ${b.safetyStock} = ${most}`,
      });
    }
  }
  dateWindow(out, [dated('computedAt', a.computedAt)], ctx);
  return out;
}

function datedOnly(field: string) {
  return (doc: Record<string, any>, ctx: RuleContext): Out => {
    const out: Out = [];
    dateWindow(out, [dated(field, doc[field])], ctx);
    return out;
  };
}

const RULES: Record<string, (doc: any, ctx: RuleContext) => Out> = {
  sale: saleRules,
  order: orderRules,
  return: returnRules,
  'till-close': tillCloseRules,
  settlement: settlementRules,
  'journal-entry': journalRules,
  shipment: shipmentRules,
  'available-to-sell': atsRules,
  'inventory-position': datedOnly('asOf'),
  'inventory-adjustment': datedOnly('occurredAt'),
};

/**
 * Every business rule `doc` (of a canonical document type, already valid against its schema)
 * breaks; empty when it is right.
 */
export function businessRuleViolations(type: string, doc: Record<string, unknown>, ctx: RuleContext): RuleViolation[] {
  const rules = RULES[type];
  return rules ? rules(doc, ctx) : [];
}
