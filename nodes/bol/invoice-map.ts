/**
 * bol.com retailer invoice (ALL_IN_ONE) → canonical Settlement (docs/connectors/bol.md, "Invoices
 * as settlements"). Pure functions, no I/O:
 *
 * - the header from the invoice as GET /retailer/invoices lists it: one settlement per invoice
 *   (its period, issue date, currency), statedTotal = payableAmount seen from the seller;
 * - each specification line into one canonical line of its kind (LINE_KINDS) and, when bol charged
 *   VAT on it, a second line of type tax (category vat);
 * - a line that cannot be read (a line type the table does not know, an amount that is not one,
 *   another currency) is not a canonical line: it comes back as an InvoiceLineProblem naming the
 *   invoice, page and position, for the caller to report. Its amount is then missing from the
 *   lines, so the settlement no longer adds up to its stated total and is not posted.
 *
 * bol writes every amount from its own side (positive: the retailer owes bol); the settlement is
 * the seller's, so each amount changes sign (contract.ts, BOL_SIDE_SIGN). Amounts are JSON
 * numbers read as decimal text (model/money.ts): a value with more decimals than the currency has
 * is a problem, never a rounding.
 */
import { toMinor } from '../model/money';
import type { Settlement, SettlementLine } from '../model/types.generated';
import type { InvoiceListItem } from './client';
import { BOL_SIDE_SIGN, SPECIFICATION_FIELDS, type InvoiceLineType } from './contract';

export type LineKind = Pick<SettlementLine, 'type' | 'category'>;

const k = (type: SettlementLine['type'], category?: string): LineKind => (category ? { type, category } : { type });

/**
 * What each bol line type is. Corrections of a cost stay on that cost's kind (they reverse it); a
 * corrected turnover (a return) is a refund; compensations are reimbursements; the catch-all
 * CORRECTION_CORRECTION is an adjustment.
 */
export const LINE_KINDS: Readonly<Record<InvoiceLineType, LineKind>> = {
  TURNOVER: k('principal'),
  CORRECTION_TURNOVER: k('refund', 'principal'),
  COMMISSION: k('fee', 'commission'),
  CORRECTION_COMMISSION: k('fee', 'commission'),
  SHIPMENT_LABEL: k('fee', 'shipping-label'),
  SHIPMENT_LABEL_POST: k('fee', 'shipping-label'),
  CORRECTION_SHIPMENT_LABEL: k('fee', 'shipping-label'),
  PLAZA_RETURN_SHIPPING_LABEL: k('fee', 'shipping-label'),
  CORRECTION_PLAZA_RETURN_SHIPPING_LABEL: k('fee', 'shipping-label'),
  PICK_PACK: k('fee', 'fulfilment'),
  CORRECTION_PICK_PACK: k('fee', 'fulfilment'),
  OUTBOUND: k('fee', 'fulfilment'),
  CORRECTION_OUTBOUND: k('fee', 'fulfilment'),
  INBOUND: k('fee', 'fulfilment'),
  FIRST_MILE: k('fee', 'fulfilment'),
  CORRECTION_FIRST_MILE: k('fee', 'fulfilment'),
  LOGISTICAL_CHARGE: k('fee', 'fulfilment'),
  STOCK: k('fee', 'storage'),
  NCK_STOCK: k('fee', 'storage'),
  RETAILER_AUTHORIZATION: k('fee', 'other'),
  CORRECTION_RETAILER_AUTHORIZATION: k('fee', 'other'),
  COMPENSATION: k('adjustment', 'reimbursement'),
  COMPENSATION_LOST_GOODS: k('adjustment', 'reimbursement'),
  CORRECTION_CORRECTION: k('adjustment', 'correction'),
};

export function lineKind(type: string): LineKind | undefined {
  return Object.prototype.hasOwnProperty.call(LINE_KINDS, type) ? LINE_KINDS[type as InvoiceLineType] : undefined;
}

export type LineProblemKind = 'unknown-type' | 'amount' | 'currency' | 'shape';

/** A specification line that is not a canonical line; its invoice must not be posted as it stands. */
export interface InvoiceLineProblem {
  invoiceId: string;
  /** Specification page (from 1) and position on it (from 1). */
  page: number;
  position: number;
  /** Running line number over all pages (from 1), as the canonical lines' source.line counts. */
  line: number;
  kind: LineProblemKind;
  reason: string;
  /** The line as bol sent it. */
  raw: unknown;
}

/** What Tillwire reads of one specification line (SPECIFICATION_FIELDS says where each sits). */
export interface SpecificationLine {
  type?: string;
  amount?: unknown;
  currency?: unknown;
  vat?: unknown;
  vatCurrency?: unknown;
  quantity?: unknown;
  orderId?: string;
  orderItemId?: string;
  ean?: string;
  date?: string;
}

const value = (node: unknown): unknown => (node && typeof node === 'object' && 'value' in node ? (node as { value: unknown }).value : undefined);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v.trim() : typeof v === 'number' ? String(v) : undefined);

/** The flat view of one raw specification line. */
export function readSpecificationLine(raw: unknown): SpecificationLine {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, any>;
  const props = new Map<string, string>();
  const list = r.item?.AdditionalItemProperty;
  if (Array.isArray(list)) {
    for (const p of list) {
      const name = text(value(p?.Name));
      const v = text(value(p?.Value));
      if (name && v !== undefined) props.set(name, v);
    }
  }
  const names = { ...SPECIFICATION_FIELDS.properties, vat: SPECIFICATION_FIELDS.vat };
  return {
    type: text(value(r.item?.Name)),
    amount: value(r.lineExtensionAmount),
    currency: r.lineExtensionAmount?.currencyID,
    vat: value(r.taxTotal?.[names.vat]),
    vatCurrency: r.taxTotal?.[names.vat]?.currencyID,
    quantity: value(r.invoicedQuantity),
    orderId: props.get(names.orderId),
    orderItemId: props.get(names.orderItemId),
    ean: props.get(names.ean),
    date: props.get(names.date),
  };
}

/** Where a specification line sits: invoice, page, position on the page, running number. */
export interface LinePlace {
  invoiceId: string;
  page: number;
  position: number;
  line: number;
}

export interface MapLineOptions {
  /** channel.account of the orders (as the bol order mapping writes it: `bol:<account>:<order id>`). */
  account: string;
  /** The invoice's currency: every line must be in it. */
  currency: string;
}

class LineProblem extends Error {
  constructor(
    readonly kind: LineProblemKind,
    message: string,
  ) {
    super(message);
  }
}

/** bol's amount (its side) → the seller's, in minor units; no -0. */
function sellerMinor(v: unknown, currency: string, what: string): number {
  if (typeof v !== 'number' && typeof v !== 'string') throw new LineProblem('amount', `${what} is missing`);
  let minor: number;
  try {
    minor = toMinor(v, currency);
  } catch (err) {
    throw new LineProblem('amount', `${what} ${JSON.stringify(v)}: ${(err as Error).message}`);
  }
  return minor === 0 ? 0 : BOL_SIDE_SIGN * minor;
}

/** A date (yyyy-MM-dd) or date-time as an RFC 3339 instant, or undefined when it is neither. */
export function instantOf(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v < 1e11 ? v * 1000 : v).toISOString();
  if (typeof v !== 'string') return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return Number.isNaN(Date.parse(`${v}T00:00:00Z`)) ? undefined : `${v}T00:00:00Z`;
  if (!/^\d{4}-\d{2}-\d{2}T/.test(v) || Number.isNaN(Date.parse(v))) return undefined;
  return v;
}

/**
 * One specification line → its canonical lines (one, or two with the VAT bol charged on it), or a
 * problem. Line ids are the running number (`12`, and `12-vat` for its VAT).
 */
export function mapSpecificationLine(raw: unknown, at: LinePlace, opts: MapLineOptions): { lines: SettlementLine[] } | { problem: InvoiceLineProblem } {
  try {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new LineProblem('shape', 'the line is not an object');
    const s = readSpecificationLine(raw);
    if (!s.type) throw new LineProblem('unknown-type', 'the line has no line type (item.Name)');
    const kind = lineKind(s.type);
    if (!kind)
      throw new LineProblem('unknown-type', `line type ${s.type} is not one Tillwire knows; add it to the bol line kinds before this invoice is posted`);
    if (s.currency !== undefined && s.currency !== opts.currency) {
      throw new LineProblem('currency', `the line is in ${String(s.currency)}, the invoice in ${opts.currency}`);
    }
    if (s.vatCurrency !== undefined && s.vatCurrency !== opts.currency) {
      throw new LineProblem('currency', `the line's VAT is in ${String(s.vatCurrency)}, the invoice in ${opts.currency}`);
    }
    const amount = sellerMinor(s.amount, opts.currency, 'amount (lineExtensionAmount)');
    const vat = s.vat === undefined || s.vat === null ? 0 : sellerMinor(s.vat, opts.currency, `VAT (taxTotal.${SPECIFICATION_FIELDS.vat})`);
    const id = String(at.line);
    const common: Partial<SettlementLine> = {};
    if (s.orderId) common.orderRef = { id: `bol:${opts.account}:${s.orderId}`, channel: { system: 'bol', account: opts.account, id: s.orderId } };
    const postedAt = instantOf(s.date);
    if (postedAt) common.postedAt = postedAt;
    const attributes: Record<string, string> = {};
    if (s.ean) attributes.ean = s.ean;
    if (s.orderItemId) attributes.orderItemId = s.orderItemId;
    if (typeof s.quantity === 'number' || typeof s.quantity === 'string') attributes.quantity = String(s.quantity);
    const source = (line: number) => ({ system: 'bol', type: 'invoice-specification', id: at.invoiceId, line });
    const lines: SettlementLine[] = [
      {
        lineId: id,
        ...kind,
        description: s.type,
        amount: { amount, currency: opts.currency },
        ...common,
        source: source(at.line),
        ...(Object.keys(attributes).length ? { attributes } : {}),
      },
    ];
    if (vat !== 0) {
      lines.push({
        lineId: `${id}-vat`,
        type: 'tax',
        category: 'vat',
        description: `VAT on ${s.type}`,
        amount: { amount: vat, currency: opts.currency },
        ...common,
        source: source(at.line),
      });
    }
    return { lines };
  } catch (err) {
    if (!(err instanceof LineProblem)) throw err;
    return {
      problem: { ...at, kind: err.kind, reason: `invoice ${at.invoiceId} page ${at.page} line ${at.position}: ${err.message}`, raw },
    };
  }
}

export class InvoiceMappingError extends Error {
  override name = 'InvoiceMappingError';
}

const DAY = 86_400_000;

/**
 * The settlement header of one listed invoice: id, channel, period (bol's end date is the last day
 * of the period, the canonical periodEnd the instant after it), issue time, currency and the
 * stated total (payableAmount, sign changed to the seller's side).
 */
export function settlementHeader(item: InvoiceListItem, opts: { account: string }): Omit<Settlement, 'lines' | 'netTotal'> {
  const id = typeof item?.invoiceId === 'string' || typeof item?.invoiceId === 'number' ? String(item.invoiceId) : '';
  if (!id) throw new InvoiceMappingError('the invoice has no invoiceId');
  const payable = item.legalMonetaryTotal?.payableAmount;
  const currency = payable?.currencyID;
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) throw new InvoiceMappingError(`invoice ${id}: payableAmount has no currency`);
  let stated: number;
  try {
    stated = sellerMinor(payable?.amount, currency, 'payableAmount');
  } catch (err) {
    throw new InvoiceMappingError(`invoice ${id}: ${(err as Error).message}`);
  }
  const start = instantOf(item.invoicePeriod?.startDate);
  const lastDay = instantOf(item.invoicePeriod?.endDate);
  if (!start || !lastDay) throw new InvoiceMappingError(`invoice ${id}: invoicePeriod is not a pair of dates`);
  const issuedAt = instantOf(item.issueDate);
  return {
    kind: 'settlement',
    settlementId: id,
    channel: { system: 'bol', account: opts.account, id },
    periodStart: start,
    periodEnd: new Date(Date.parse(lastDay) + DAY).toISOString().replace(/\.000Z$/, 'Z'),
    currency,
    statedTotal: { amount: stated, currency },
    ...(issuedAt ? { issuedAt } : {}),
    attributes: { bolInvoiceType: String(item.invoiceType ?? '') },
  };
}

/** Header + lines → the Settlement, netTotal the exact sum of the lines. */
export function settlementOf(header: Omit<Settlement, 'lines' | 'netTotal'>, lines: SettlementLine[], problems = 0): Settlement {
  let sum = 0n;
  for (const l of lines) sum += BigInt(l.amount.amount);
  const attributes = { ...(header.attributes ?? {}), ...(problems ? { bolBadLines: String(problems) } : {}) };
  return { ...header, netTotal: { amount: Number(sum), currency: header.currency }, lines, attributes };
}
