/**
 * Builds the canonical documents a store till sends (docs/store-devices.md): sales, returns and
 * the end-of-day close. Every amount is an integer number of minor units; prices on the shelf
 * include tax, and the tax inside a line is computed exactly from the catalogue's rate text
 * (no floats), rounded half away from zero, so a full return mirrors its sale to the minor unit.
 */
import type { TillClose } from '../../nodes/model/types.generated';
import type { Discount, Money, Sale, SaleLine, TaxLine, Tender } from '../../nodes/model/types.generated';
import type { CatalogItem } from '../kit/catalog';
import { currencyExponent } from '../../nodes/model/money';
import { formatDecimal, fractionToPercent, includedTax as taxInside, parseDecimal, trimDecimal, type Decimal } from '../../nodes/model/decimal';
import { SeededRandom } from '../kit/random';

export type TenderType = Tender['type'];

/** The canonical TillClose document, as generated from till-close.schema.json. */
export type TillCloseDocument = TillClose;

/** Business key of a till close: `till.close:<storeId>:<terminalId>:<businessDate>`. */
export function tillCloseKey(doc: Pick<TillCloseDocument, 'storeId' | 'terminalId' | 'businessDate'>): string {
  return `till.close:${doc.storeId}:${doc.terminalId}:${doc.businessDate}`;
}

/** Business key of a sale (or return): `sale:<storeId>:<terminalId>:<saleId>`. */
export function saleKey(doc: Pick<Sale, 'storeId' | 'terminalId' | 'saleId'>): string {
  return `sale:${doc.storeId}:${doc.terminalId}:${doc.saleId}`;
}

/** A transaction is a return when every line returns an item; anything else is a sale. */
export function isReturn(doc: Pick<Sale, 'lines'>): boolean {
  return doc.lines.length > 0 && doc.lines.every((l) => l.quantity < 0);
}

// ---------------------------------------------------------------------------------------------
// Exact tax

function rateOf(rate: string): Decimal {
  return parseDecimal(rate, { negative: false, what: 'tax rate' });
}

/**
 * The tax contained in a tax-inclusive amount: amount × rate / (1 + rate), rounded half away from
 * zero, signed like the amount.
 */
export function includedTax(amount: number, rate: string): number {
  return taxInside(amount, rateOf(rate), 'half-away-from-zero');
}

/** "0.2000" → "20", "0.0500" → "5", "0.08875" → "8.875". */
export function ratePercent(rate: string): string {
  return formatDecimal(trimDecimal(fractionToPercent(rateOf(rate))));
}

export function taxCode(rate: string): { code: string; name: string } {
  const pct = ratePercent(rate);
  const n = Number(pct);
  const code = n === 0 ? 'VAT-ZERO' : n >= 15 ? 'VAT-STD' : 'VAT-RED';
  return { code, name: `VAT ${pct}%` };
}

// ---------------------------------------------------------------------------------------------
// Lines, sales and returns

export interface LineDiscount {
  kind: Discount['kind'];
  /** Amount off one unit, in minor units, ≥ 0 and below the unit price. */
  perUnit: number;
  code?: string;
  description?: string;
}

export interface LineSpec {
  item: CatalogItem;
  /** Signed units: positive sold, negative returned; never 0. */
  quantity: number;
  discount?: LineDiscount;
  attributes?: Record<string, string>;
}

function m(amount: number, currency: string): Money {
  return { amount, currency };
}

/** One priced sale line: lineTotal = quantity × unitPrice − discount; tax included in lineTotal. */
export function priceLine(lineId: string, spec: LineSpec, currency: string): SaleLine {
  const { item, quantity, discount } = spec;
  if (!Number.isInteger(quantity) || quantity === 0) throw new Error(`quantity must be a non-zero integer, got ${quantity}`);
  const gross = quantity * item.unitPrice;
  const off = discount ? quantity * discount.perUnit : 0;
  const lineTotal = gross - off;
  const { code, name } = taxCode(item.taxRate);
  const line: SaleLine = {
    lineId,
    sku: item.sku,
    description: item.name,
    quantity,
    unitPrice: m(item.unitPrice, currency),
    lineTotal: m(lineTotal, currency),
  };
  if (discount && discount.perUnit > 0) {
    const d: Discount = { kind: discount.kind, amount: m(off, currency) };
    if (discount.code) d.code = discount.code;
    if (discount.description) d.description = discount.description;
    line.discounts = [d];
  }
  const tax: TaxLine = { code, rate: item.taxRate, name, amount: m(includedTax(lineTotal, item.taxRate), currency) };
  line.taxes = [tax];
  if (spec.attributes) line.attributes = { ...spec.attributes };
  return line;
}

export interface SaleSpec {
  saleId: string;
  storeId: string;
  terminalId: string;
  cashierId?: string;
  sequence: number;
  occurredAt: string;
  businessDate: string;
  currency: string;
  lines: LineSpec[];
  /** Builds the tenders once the grand total is known; they must add up to it. */
  tenders: (grandTotal: number) => Tender[];
  returnOf?: Sale['returnOf'];
  attributes?: Record<string, string>;
}

/** A complete canonical Sale with tax-inclusive prices; totals and tenders add up exactly. */
export function buildSale(spec: SaleSpec): Sale {
  const { currency } = spec;
  currencyExponent(currency); // throws for an unknown currency
  const lines = spec.lines.map((l, i) => priceLine(String(i + 1), l, currency));
  let subtotal = 0;
  let discountTotal = 0;
  let taxTotal = 0;
  for (const line of lines) {
    subtotal += line.quantity * line.unitPrice.amount;
    for (const d of line.discounts ?? []) discountTotal += d.amount.amount;
    for (const t of line.taxes ?? []) taxTotal += t.amount.amount;
  }
  const grandTotal = subtotal - discountTotal;
  const tenders = spec.tenders(grandTotal);
  const tendered = tenders.reduce((s, t) => s + t.amount.amount, 0);
  if (tendered !== grandTotal) throw new Error(`tenders add up to ${tendered}, not the grand total ${grandTotal}`);
  const sale: Sale = {
    kind: 'sale',
    saleId: spec.saleId,
    storeId: spec.storeId,
    terminalId: spec.terminalId,
    ...(spec.cashierId ? { cashierId: spec.cashierId } : {}),
    sequence: spec.sequence,
    occurredAt: spec.occurredAt,
    businessDate: spec.businessDate,
    currency,
    lines,
    tenders,
    totals: {
      subtotal: m(subtotal, currency),
      discountTotal: m(discountTotal, currency),
      taxTotal: m(taxTotal, currency),
      grandTotal: m(grandTotal, currency),
    },
    ...(spec.returnOf ? { returnOf: spec.returnOf } : {}),
    taxesIncluded: true,
    ...(spec.attributes ? { attributes: spec.attributes } : {}),
  };
  return sale;
}

// ---------------------------------------------------------------------------------------------
// Tenders

const GIFT_CARD_VALUES = [1000, 2000, 2500, 5000];

/** How a customer pays a positive total: one or two tenders adding up to it exactly. */
export function paymentTenders(rng: SeededRandom, grandTotal: number, currency: string): Tender[] {
  const style = rng.weighted([
    ['card', 55],
    ['cash', 22],
    ['mobile', 12],
    ['gift_card+card', 8],
    ['voucher+cash', 3],
  ] as const);
  const auth = () => `AUTH ${rng.digits(6)}`;
  switch (style) {
    case 'cash':
      return [{ type: 'cash', amount: m(grandTotal, currency) }];
    case 'mobile':
      return [{ type: 'mobile', amount: m(grandTotal, currency), reference: auth() }];
    case 'gift_card+card': {
      const gc = Math.min(rng.pick(GIFT_CARD_VALUES), grandTotal);
      const card: Tender = { type: 'gift_card', amount: m(gc, currency), reference: `**** **** **** ${rng.digits(4)}` };
      return gc === grandTotal ? [card] : [card, { type: 'card', amount: m(grandTotal - gc, currency), reference: auth() }];
    }
    case 'voucher+cash': {
      const v = Math.min(500, grandTotal);
      const voucher: Tender = { type: 'voucher', amount: m(v, currency), reference: `VCH-${rng.digits(8)}` };
      return v === grandTotal ? [voucher] : [voucher, { type: 'cash', amount: m(grandTotal - v, currency) }];
    }
    default:
      return [{ type: 'card', amount: m(grandTotal, currency), reference: auth() }];
  }
}

/** How a refund (a negative total) is paid back: to the original tender, or store credit without a receipt. */
export function refundTenders(rng: SeededRandom, grandTotal: number, currency: string, originalType?: TenderType): Tender[] {
  let type: TenderType;
  if (!originalType) type = rng.chance(0.5) ? 'store_credit' : 'cash';
  else if (originalType === 'voucher') type = 'store_credit';
  else type = originalType;
  const t: Tender = { type, amount: m(grandTotal, currency) };
  if (type === 'card' || type === 'mobile') t.reference = `REFUND ${rng.digits(6)}`;
  if (type === 'store_credit') t.reference = `CREDIT-${rng.digits(8)}`;
  return [t];
}

// ---------------------------------------------------------------------------------------------
// The close

/** Accumulates a till's day, sale by sale, into its TillClose (every transaction the till made). */
export class TillDay {
  private first: number | undefined;
  private last: number | undefined;
  private readonly sales = { count: 0, total: 0 };
  private readonly returns = { count: 0, total: 0 };
  private readonly tenders = new Map<TenderType, { count: number; amount: number }>();

  constructor(
    readonly storeId: string,
    readonly terminalId: string,
    readonly businessDate: string,
    readonly currency: string,
  ) {}

  add(sale: Sale): void {
    if (sale.storeId !== this.storeId || sale.terminalId !== this.terminalId) throw new Error('sale from another till');
    this.first = this.first === undefined ? sale.sequence : Math.min(this.first, sale.sequence);
    this.last = this.last === undefined ? sale.sequence : Math.max(this.last, sale.sequence);
    const bucket = isReturn(sale) ? this.returns : this.sales;
    bucket.count += 1;
    bucket.total += sale.totals.grandTotal.amount;
    for (const t of sale.tenders) {
      const e = this.tenders.get(t.type) ?? { count: 0, amount: 0 };
      e.count += 1;
      e.amount += t.amount.amount;
      this.tenders.set(t.type, e);
    }
  }

  close(closedAt: string, attributes?: Record<string, string>): TillCloseDocument {
    const c = this.currency;
    const doc: TillCloseDocument = {
      kind: 'till.close',
      storeId: this.storeId,
      terminalId: this.terminalId,
      businessDate: this.businessDate,
      closedAt,
      currency: c,
      ...(this.first !== undefined ? { firstSequence: this.first, lastSequence: this.last } : {}),
      sales: { count: this.sales.count, total: m(this.sales.total, c) },
      returns: { count: this.returns.count, total: m(this.returns.total, c) },
      net: m(this.sales.total + this.returns.total, c),
      tenders: [...this.tenders.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([type, e]) => ({ type, count: e.count, amount: m(e.amount, c) })),
    };
    if (attributes) doc.attributes = attributes;
    return doc;
  }
}
