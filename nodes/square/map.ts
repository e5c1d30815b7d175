/**
 * Square order → canonical document, exactly (docs/connectors/square.md "Mapping").
 *
 * - A completed in-store order is a canonical **Sale** (storeId = the location, terminalId = the
 *   order's source name, saleId = the Square order id, channel = square / location / order id). An itemized return order becomes a Sale
 *   with negative lines and negative (refund) tenders, with `returnOf` naming the original order;
 *   an exchange is one Sale with both kinds of line.
 * - In `order` mode (or `auto` for orders with fulfillments) an order is a canonical **Order** and
 *   a return order a canonical **Return** linked to the original order.
 * - Square money is already integer minor units: amounts are copied, never recomputed through a
 *   float, and every mapped document is checked against Square's own totals to the minor unit;
 *   a difference is a mapping error (to the dead-letter store), never a silent adjustment.
 *
 * Square has no per-terminal transaction sequence: `Sale.sequence` (required by the schema) is set
 * to 1 and `attributes.sequenceSource` to "none". Gaps cannot be detected from Square sales; the
 * SearchOrders poller is the safety net for missed webhooks.
 */
import { businessKey, validateDocument } from '../model/validate';
import { integerQuantity, percentToRate } from './pricing';
import { businessDate } from '../model/business-date';
import type { SqAppliedDiscount, SqAppliedTax, SqDiscount, SqMoney, SqOrder, SqTax, SqTender } from './types';

export type SquareMode = 'sale' | 'order' | 'auto';

export interface SquareMapOptions {
  mode?: SquareMode;
  /** Square catalog object id (item variation) → retailer SKU. */
  skuMap?: Record<string, string>;
  /** Square location id → Tillwire store id (default: the location id). */
  storeMap?: Record<string, string>;
  /** IANA time zone the stores book their trading day in (default UTC). */
  timeZone?: string;
  /** The original order of a return, when fetched: refund tenders take its tender types. */
  sourceOrder?: SqOrder;
}

export type MappedSquare = { kind: 'sale' | 'order' | 'return'; doc: Record<string, any>; topic: string; key: string } | { kind: 'skip'; reason: string };

export class SquareMappingError extends Error {
  override name = 'SquareMappingError';
}

const fail = (order: SqOrder, message: string): never => {
  throw new SquareMappingError(`Square order ${order.id}: ${message}`);
};

const TENDER_TYPES: Record<string, string> = {
  CARD: 'card',
  THIRD_PARTY_CARD: 'card',
  CASH: 'cash',
  SQUARE_GIFT_CARD: 'gift_card',
  WALLET: 'mobile',
};

function amt(m: SqMoney | undefined): number {
  return m?.amount ?? 0;
}

function sameCurrency(order: SqOrder, m: SqMoney | undefined, where: string, currency: string): number {
  if (!m) return 0;
  if (!Number.isSafeInteger(m.amount)) fail(order, `${where} amount ${m.amount} is not an integer of minor units`);
  if (m.currency !== currency) fail(order, `${where} is in ${m.currency}, the order in ${currency}`);
  return m.amount;
}

/** A terminal id from Square's free-text source name ("Terminal 2" → "Terminal-2"). */
export function terminalOf(order: SqOrder): string {
  const name = order.source?.name?.trim();
  if (!name) return 'square';
  return name.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 64) || 'square';
}

function skuOf(order: SqOrder, catalogObjectId: string | undefined, lineName: string | undefined, opts: SquareMapOptions): string {
  const sku = catalogObjectId ? opts.skuMap?.[catalogObjectId] : undefined;
  if (!sku) {
    fail(
      order,
      `no SKU mapped for ${catalogObjectId ? `catalog object ${catalogObjectId}` : 'a custom-amount line'} ("${lineName ?? ''}"): add it to the SKU map of the Square connection`,
    );
  }
  return sku!;
}

function taxesIncludedOf(order: SqOrder): boolean {
  const all: SqTax[] = [...(order.taxes ?? []), ...(order.returns ?? []).flatMap((r) => r.return_taxes ?? [])];
  const used = new Set<string>();
  for (const l of order.line_items ?? []) for (const t of l.applied_taxes ?? []) used.add(t.tax_uid);
  for (const r of order.returns ?? []) for (const l of r.return_line_items ?? []) for (const t of l.applied_taxes ?? []) used.add(t.tax_uid);
  const types = new Set(all.filter((t) => used.has(t.uid) || t.scope === 'ORDER').map((t) => t.type ?? 'ADDITIVE'));
  if (types.size > 1) fail(order, 'mixes tax-inclusive and additive taxes, which the canonical model cannot express in one document');
  return !types.has('ADDITIVE');
}

interface LineFigures {
  quantity: number;
  unitPrice: number;
  gross: number;
  discount: number;
  tax: number;
  discounts: Array<{ kind: string; description?: string; code?: string; amount: number }>;
  taxes: Array<{ code: string; rate: string; name?: string; amount: number }>;
}

function lineFigures(
  order: SqOrder,
  where: string,
  currency: string,
  l: {
    quantity: string;
    base_price_money?: SqMoney;
    applied_taxes?: SqAppliedTax[];
    applied_discounts?: SqAppliedDiscount[];
    total_tax_money?: SqMoney;
    total_discount_money?: SqMoney;
  },
  gross: SqMoney | undefined,
  taxes: SqTax[],
  discounts: SqDiscount[],
): LineFigures {
  const quantity = integerQuantity(l.quantity);
  if (quantity === undefined || quantity <= 0) fail(order, `${where} has quantity "${l.quantity}": only whole, positive quantities map to the canonical model`);
  const unitPrice = sameCurrency(order, l.base_price_money, `${where} base_price_money`, currency);
  const g = sameCurrency(order, gross, `${where} gross`, currency);
  if (g !== unitPrice * quantity!)
    fail(order, `${where} gross ${g} is not quantity × base price (${quantity} × ${unitPrice}): modifiers are not supported yet`);
  const discount = sameCurrency(order, l.total_discount_money, `${where} total_discount_money`, currency);
  const tax = sameCurrency(order, l.total_tax_money, `${where} total_tax_money`, currency);
  const ds = (l.applied_discounts ?? []).map((a) => {
    const d = discounts.find((x) => x.uid === a.discount_uid);
    return { kind: 'manual', ...(d?.name ? { description: d.name } : {}), amount: sameCurrency(order, a.applied_money, `${where} discount`, currency) };
  });
  const dSum = ds.reduce((s, d) => s + d.amount, 0);
  if (dSum !== discount) {
    if (ds.length) fail(order, `${where} applied discounts add up to ${dSum}, Square's total_discount_money is ${discount}`);
    if (discount) ds.push({ kind: 'manual', amount: discount });
  }
  const ts = (l.applied_taxes ?? []).map((a) => {
    const t = taxes.find((x) => x.uid === a.tax_uid);
    if (!t?.percentage) fail(order, `${where} applies tax ${a.tax_uid}, which has no percentage on the order`);
    return {
      code: t!.uid,
      rate: percentToRate(t!.percentage!),
      ...(t!.name ? { name: t!.name } : {}),
      amount: sameCurrency(order, a.applied_money, `${where} tax`, currency),
    };
  });
  const tSum = ts.reduce((s, t) => s + t.amount, 0);
  if (tSum !== tax) fail(order, `${where} applied taxes add up to ${tSum}, Square's total_tax_money is ${tax}`);
  return { quantity: quantity!, unitPrice, gross: g, discount, tax, discounts: ds.filter((d) => d.amount !== 0), taxes: ts };
}

const money = (amount: number, currency: string) => ({ amount, currency });

function checkExtras(order: SqOrder, currency: string): void {
  const sc = (order.service_charges ?? []).reduce((s, c) => s + sameCurrency(order, c.total_money, 'service charge', currency), 0);
  if (sc !== 0 || amt(order.total_service_charge_money) !== 0) fail(order, 'has service charges, which are not mapped yet');
  if (amt(order.rounding_adjustment?.amount_money) !== 0) fail(order, 'has a cash rounding adjustment, which is not mapped yet');
}

function tenderOf(t: SqTender, currency: string, order: SqOrder) {
  const tip = sameCurrency(order, t.tip_money, 'tender tip_money', currency);
  const amount = sameCurrency(order, t.amount_money, 'tender amount_money', currency) - tip;
  const last4 = t.card_details?.card?.last_4;
  return { type: TENDER_TYPES[t.type] ?? 'other', amount, reference: last4 ? `**** ${last4}` : (t.payment_id ?? t.id) };
}

function mapSale(order: SqOrder, opts: SquareMapOptions): MappedSquare {
  if (order.state !== 'COMPLETED') return { kind: 'skip', reason: `order is ${order.state}: only completed orders are sales` };
  const currency = order.total_money?.currency;
  if (!currency) fail(order, 'has no total_money currency');
  checkExtras(order, currency);
  const pending = (order.refunds ?? []).filter((r) => r.status === 'PENDING');
  if (pending.length) return { kind: 'skip', reason: `refund ${pending.map((r) => r.id).join(', ')} is still pending` };
  const taxesIncluded = taxesIncludedOf(order);
  const lines: any[] = [];
  for (const [i, l] of (order.line_items ?? []).entries()) {
    const where = `line ${l.uid ?? i + 1}`;
    const f = lineFigures(order, where, currency, l, l.gross_sales_money, order.taxes ?? [], order.discounts ?? []);
    lines.push({
      lineId: l.uid ?? String(i + 1),
      sku: skuOf(order, l.catalog_object_id, l.name, opts),
      ...(l.name ? { description: l.name } : {}),
      quantity: f.quantity,
      unitPrice: money(f.unitPrice, currency),
      lineTotal: money(f.gross - f.discount, currency),
      ...(f.discounts.length ? { discounts: f.discounts.map((d) => ({ ...d, amount: money(d.amount, currency) })) } : {}),
      ...(f.taxes.length ? { taxes: f.taxes.map((t) => ({ ...t, amount: money(t.amount, currency) })) } : {}),
    });
  }
  let sourceOrderId: string | undefined;
  for (const r of order.returns ?? []) {
    sourceOrderId ??= r.source_order_id;
    for (const [i, l] of (r.return_line_items ?? []).entries()) {
      const where = `return line ${l.uid ?? i + 1}`;
      const f = lineFigures(order, where, currency, l, l.gross_return_money, r.return_taxes ?? [], r.return_discounts ?? []);
      lines.push({
        lineId: `R-${l.uid ?? i + 1}`,
        sku: skuOf(order, l.catalog_object_id, l.name, opts),
        ...(l.name ? { description: l.name } : {}),
        quantity: -f.quantity,
        unitPrice: money(f.unitPrice, currency),
        lineTotal: money(-(f.gross - f.discount), currency),
        ...(f.discounts.length ? { discounts: f.discounts.map((d) => ({ ...d, amount: money(-d.amount, currency) })) } : {}),
        ...(f.taxes.length ? { taxes: f.taxes.map((t) => ({ ...t, amount: money(-t.amount, currency) })) } : {}),
        ...(l.source_line_item_uid ? { attributes: { sourceLineUid: l.source_line_item_uid } } : {}),
      });
    }
  }
  if (!lines.length) fail(order, 'has neither line items nor itemized returns (an unitemized refund cannot become a sale)');
  const tenders: any[] = (order.tenders ?? []).map((t) => tenderOf(t, currency, order));
  for (const r of order.refunds ?? []) {
    if (r.status === 'REJECTED' || r.status === 'FAILED') continue;
    const srcTender = opts.sourceOrder?.tenders?.find((t) => t.id === r.tender_id);
    tenders.push({
      type: srcTender ? (TENDER_TYPES[srcTender.type] ?? 'other') : 'other',
      amount: -sameCurrency(order, r.amount_money, 'refund amount_money', currency),
      reference: r.id,
    });
  }
  const sum = (f: (l: any) => number) => lines.reduce((s, l) => s + f(l), 0);
  const subtotal = sum((l) => l.quantity * l.unitPrice.amount);
  const discountTotal = sum((l) => (l.discounts ?? []).reduce((s: number, d: any) => s + d.amount.amount, 0));
  const taxTotal = sum((l) => (l.taxes ?? []).reduce((s: number, t: any) => s + t.amount.amount, 0));
  const grandTotal = subtotal - discountTotal + (taxesIncluded ? 0 : taxTotal);
  const tip = amt(order.total_tip_money);
  const squareNet =
    (order.net_amounts?.total_money ? amt(order.net_amounts.total_money) : amt(order.total_money) - amt(order.return_amounts?.total_money)) - tip;
  if (grandTotal !== squareNet) fail(order, `mapped grand total ${grandTotal} differs from Square's net total ${squareNet} (tips excluded)`);
  const tendered = tenders.reduce((s, t) => s + t.amount, 0);
  if (!tenders.length) fail(order, 'has no tenders and no refunds');
  if (tendered !== grandTotal) fail(order, `tenders and refunds add up to ${tendered}, the sale to ${grandTotal}`);
  const storeId = opts.storeMap?.[order.location_id] ?? order.location_id;
  const occurredAt = order.closed_at ?? order.updated_at;
  let day = '';
  try {
    day = businessDate(occurredAt, opts.timeZone ?? 'UTC');
  } catch (err) {
    fail(order, (err as Error).message);
  }
  const attributes: Record<string, string> = {
    squareOrderId: order.id,
    squareLocationId: order.location_id,
    squareVersion: String(order.version),
    sequenceSource: 'none',
  };
  if (tip) attributes.tipMinor = String(tip);
  const doc: Record<string, any> = {
    kind: 'sale',
    saleId: order.id,
    storeId,
    terminalId: terminalOf(order),
    sequence: 1,
    occurredAt,
    businessDate: day,
    // Square takes the sale's card money and pays it out: its payouts name this order id
    // (payment → order), so the order index and settlement reconciliation find the sale by it.
    channel: { system: 'square', account: order.location_id, id: order.id },
    currency,
    lines,
    tenders: tenders.map((t) => ({ ...t, amount: money(t.amount, currency) })),
    totals: {
      subtotal: money(subtotal, currency),
      discountTotal: money(discountTotal, currency),
      taxTotal: money(taxTotal, currency),
      grandTotal: money(grandTotal, currency),
    },
    ...(sourceOrderId
      ? {
          returnOf: {
            saleId: sourceOrderId,
            ...(opts.sourceOrder
              ? { storeId: opts.storeMap?.[opts.sourceOrder.location_id] ?? opts.sourceOrder.location_id, terminalId: terminalOf(opts.sourceOrder) }
              : {}),
          },
        }
      : {}),
    taxesIncluded,
    attributes,
  };
  const allReturned = lines.every((l) => l.quantity < 0);
  return finish(order, 'sale', doc, allReturned ? 'return.completed' : 'sale.completed');
}

function finish(order: SqOrder, kind: 'sale' | 'order' | 'return', doc: Record<string, any>, topic: string): MappedSquare {
  const result = validateDocument(kind, doc);
  if (!result.valid) fail(order, `mapped ${kind} is invalid: ${result.errors.join('; ')}`);
  return { kind, doc, topic, key: businessKey(doc)! };
}

function orderStatus(order: SqOrder): { status: string; topic: string } {
  switch (order.state) {
    case 'CANCELED':
      return { status: 'cancelled', topic: 'order.cancelled' };
    case 'DRAFT':
      return { status: 'pending', topic: 'order.accepted' };
    case 'COMPLETED':
      return order.fulfillments?.length ? { status: 'fulfilled', topic: 'item.fulfilled' } : { status: 'paid', topic: 'payment.captured' };
    default:
      return (order.tenders ?? []).length ? { status: 'paid', topic: 'payment.captured' } : { status: 'accepted', topic: 'order.accepted' };
  }
}

function mapOrder(order: SqOrder, opts: SquareMapOptions): MappedSquare {
  const currency = order.total_money?.currency;
  if (!currency) fail(order, 'has no total_money currency');
  checkExtras(order, currency);
  const taxesIncluded = taxesIncludedOf(order);
  const channel = { system: 'square', account: order.location_id, id: order.id };
  const lines = (order.line_items ?? []).map((l, i) => {
    const f = lineFigures(order, `line ${l.uid ?? i + 1}`, currency, l, l.gross_sales_money, order.taxes ?? [], order.discounts ?? []);
    return {
      lineId: l.uid ?? String(i + 1),
      sku: skuOf(order, l.catalog_object_id, l.name, opts),
      ...(l.name ? { title: l.name } : {}),
      quantity: f.quantity,
      unitPrice: money(f.unitPrice, currency),
      lineTotal: money(f.gross - f.discount, currency),
      ...(f.discounts.length ? { discounts: f.discounts.map((d) => ({ ...d, amount: money(d.amount, currency) })) } : {}),
      ...(f.taxes.length ? { taxes: f.taxes.map((t) => ({ ...t, amount: money(t.amount, currency) })) } : {}),
      ...(l.uid ? { channelLineId: l.uid } : {}),
    };
  });
  if (!lines.length) fail(order, 'has no line items');
  const subtotal = lines.reduce((s, l) => s + l.quantity * l.unitPrice.amount, 0);
  const discountTotal = lines.reduce((s, l) => s + (l.discounts ?? []).reduce((a, d) => a + d.amount.amount, 0), 0);
  const taxTotal = lines.reduce((s, l) => s + (l.taxes ?? []).reduce((a, t) => a + t.amount.amount, 0), 0);
  const grandTotal = subtotal - discountTotal + (taxesIncluded ? 0 : taxTotal);
  const tip = amt(order.total_tip_money);
  if (grandTotal !== amt(order.total_money) - tip)
    fail(order, `mapped grand total ${grandTotal} differs from Square's total_money ${amt(order.total_money)} less tips ${tip}`);
  const payments = (order.tenders ?? []).map((t) => {
    const tt = tenderOf(t, currency, order);
    return {
      method: tt.type,
      amount: money(tt.amount, currency),
      reference: t.payment_id ?? t.id,
      ...(t.created_at && t.card_details?.status !== 'AUTHORIZED' ? { capturedAt: t.created_at } : {}),
    };
  });
  const { status, topic } = orderStatus(order);
  const doc: Record<string, any> = {
    kind: 'order',
    id: `square:${order.id}`,
    channel,
    ...(order.reference_id ? { channelOrderNumber: order.reference_id } : {}),
    status,
    createdAt: order.created_at,
    updatedAt: order.updated_at,
    currency,
    ...(order.customer_id ? { customer: { id: order.customer_id } } : {}),
    lines,
    ...(payments.length ? { payments } : {}),
    totals: {
      subtotal: money(subtotal, currency),
      discountTotal: money(discountTotal, currency),
      shippingTotal: money(0, currency),
      taxTotal: money(taxTotal, currency),
      grandTotal: money(grandTotal, currency),
    },
    taxesIncluded,
    attributes: { squareVersion: String(order.version), squareState: order.state, ...(tip ? { tipMinor: String(tip) } : {}) },
  };
  return finish(order, 'order', doc, topic);
}

function mapReturn(order: SqOrder, opts: SquareMapOptions): MappedSquare {
  const currency = order.total_money?.currency;
  if (!currency) fail(order, 'has no total_money currency');
  const ret = order.returns![0];
  if (!ret.source_order_id) fail(order, 'return names no source order');
  const lines = (order.returns ?? []).flatMap((r) =>
    (r.return_line_items ?? []).map((l, i) => {
      const q = integerQuantity(l.quantity);
      if (q === undefined || q <= 0) fail(order, `return line ${l.uid ?? i + 1} has quantity "${l.quantity}"`);
      return {
        ...(l.uid ? { lineId: l.uid } : {}),
        ...(l.source_line_item_uid ? { originalLineId: l.source_line_item_uid } : {}),
        sku: skuOf(order, l.catalog_object_id, l.name, opts),
        quantity: q!,
        reason: 'other',
        restock: false,
        refundAmount: money(sameCurrency(order, l.total_money, 'return line total_money', currency), currency),
      };
    }),
  );
  if (!lines.length) fail(order, 'has no itemized return lines');
  const refundTotal = lines.reduce((s, l) => s + l.refundAmount.amount, 0);
  if (refundTotal !== amt(order.return_amounts?.total_money))
    fail(order, `return lines add up to ${refundTotal}, Square's return_amounts.total_money is ${amt(order.return_amounts?.total_money)}`);
  const done = (order.refunds ?? []).filter((r) => r.status === 'COMPLETED' || r.status === 'APPROVED');
  const refunds = done.map((r) => {
    const src = opts.sourceOrder?.tenders?.find((t) => t.id === r.tender_id);
    return {
      refundId: r.id,
      amount: money(sameCurrency(order, r.amount_money, 'refund amount_money', currency), currency),
      ...(src ? { method: TENDER_TYPES[src.type] ?? 'other' } : {}),
      issuedAt: r.created_at ?? order.updated_at,
      reference: r.id,
    };
  });
  const refunded = refunds.reduce((s, r) => s + r.amount.amount, 0);
  const channel = { system: 'square', account: order.location_id };
  const doc: Record<string, any> = {
    kind: 'return',
    returnId: order.id,
    channel: { ...channel, id: order.id },
    originalOrder: { id: `square:${ret.source_order_id}`, channel: { ...channel, id: ret.source_order_id } },
    status: refunded >= refundTotal ? 'refunded' : 'authorized',
    createdAt: order.created_at,
    currency,
    lines,
    ...(refunds.length ? { refunds } : {}),
    totals: { refundTotal: money(refundTotal, currency) },
    attributes: { squareVersion: String(order.version) },
  };
  return finish(order, 'return', doc, refunds.length ? 'refund.issued' : 'return.authorized');
}

/** Maps one Square order (as RetrieveOrder or SearchOrders returns it) to a canonical document. */
export function mapSquareOrder(order: SqOrder, opts: SquareMapOptions = {}): MappedSquare {
  const mode = opts.mode ?? 'sale';
  const online = mode === 'order' || (mode === 'auto' && (order.fulfillments ?? []).length > 0);
  if (!online) return mapSale(order, opts);
  if ((order.returns ?? []).length) {
    if ((order.line_items ?? []).length) fail(order, 'is an exchange (returns and new items together), which maps to a Sale, not an Order: use sale mode');
    return mapReturn(order, opts);
  }
  return mapOrder(order, opts);
}

/** The order a return order returns from, if any. */
export function sourceOrderIdOf(order: SqOrder): string | undefined {
  return order.returns?.find((r) => r.source_order_id)?.source_order_id;
}
