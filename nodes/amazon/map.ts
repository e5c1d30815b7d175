/**
 * Amazon SP-API Orders v0 order + items → canonical Order (docs/canonical-model.md, "Order").
 * Exact money: Amazon's decimal strings are read as text into minor units (model/money.ts).
 *
 * - `ItemPrice` is the LINE total (unit price × QuantityOrdered, as the Orders API reference defines it; docs/connectors/amazon.md), so the unit
 *   price is ItemPrice ÷ quantity. When that does not divide exactly in minor units, the item
 *   becomes two canonical lines (`<OrderItemId>` and `<OrderItemId>-r`) whose unit prices differ
 *   by one minor unit, so every canonical identity still holds and nothing is rounded away.
 * - `PromotionDiscount` is a line discount (shared by the two lines of a split item in proportion
 *   to their price); each item's tax is ItemTax − PromotionDiscountTax, on its first line.
 * - Shipping: one charge per item that has one, ShippingPrice − ShippingDiscount, taxed
 *   ShippingTax − ShippingDiscountTax, with the discount shown on the charge.
 * - Amazon gives no tax rates; the TaxLine rate is the effective rate (tax ÷ taxable base, four
 *   decimals, from integers) and the code `AMAZON-<marketplace country>`.
 * - The canonical totals are computed from the lines, then checked against Amazon's OrderTotal:
 *   any difference is a MappingError (to the dead-letter store), never a silent variance.
 */
import { toMinor, currencyExponent } from '../model/money';
import { divideRound, shareRound } from '../model/decimal';
import type { Order } from '../model/types.generated';
import { findMarketplace } from './contract';

export class MappingError extends Error {
  override name = 'MappingError';
}

/** Canonical status of an Amazon OrderStatus. */
export const STATUS: Record<string, Order['status']> = {
  PendingAvailability: 'pending',
  Pending: 'pending',
  Unshipped: 'paid',
  PartiallyShipped: 'partially_fulfilled',
  Shipped: 'fulfilled',
  InvoiceUnconfirmed: 'fulfilled',
  Canceled: 'cancelled',
  Unfulfillable: 'cancelled',
};

/** The event topic for an order in a given state (docs/canonical-model.md). */
export function topicFor(order: Pick<Order, 'status'>): string {
  if (order.status === 'cancelled') return 'order.cancelled';
  if (order.status === 'fulfilled' || order.status === 'partially_fulfilled') return 'item.fulfilled';
  return 'order.accepted';
}

export interface MapOptions {
  /** channel.account: the seller id (or a name for the marketplace account). */
  account: string;
  /**
   * Prices include tax, per marketplace id. Marketplaces in nodes/amazon/contract.ts have their
   * own flag; an order from any other marketplace is a MappingError unless it is declared here.
   */
  taxesIncluded?: Record<string, boolean>;
  /** SellerSKU → retailer SKU; absent means SellerSKU is the retailer SKU. */
  skuMap?: Record<string, string>;
}

/** True when the order cannot be mapped yet: Amazon sends no prices while it is Pending. */
export function isUnpriced(order: Record<string, any>): boolean {
  return order.OrderStatus === 'Pending' || order.OrderStatus === 'PendingAvailability' || !order.OrderTotal;
}

function m(value: unknown, currency: string, what: string): number {
  if (value === undefined || value === null) return 0;
  const v = value as { Amount?: unknown; CurrencyCode?: unknown };
  if (typeof v !== 'object' || typeof v.Amount !== 'string') throw new MappingError(`${what}: Amount must be decimal text`);
  if (v.CurrencyCode !== currency) throw new MappingError(`${what}: currency ${String(v.CurrencyCode)} differs from the order's ${currency}`);
  try {
    return toMinor(v.Amount, currency);
  } catch (err) {
    throw new MappingError(`${what}: ${(err as Error).message}`);
  }
}

/** tax ÷ base as decimal text with four decimals (half up), from integers only. */
export function effectiveRate(tax: number, base: number): string {
  if (base <= 0 || tax <= 0) return '0.0000';
  const scaled = (BigInt(tax) * 100000n) / BigInt(base);
  const rounded = (scaled + 5n) / 10n; // 4 decimals, half up
  const s = rounded.toString().padStart(5, '0');
  return `${s.slice(0, -4)}.${s.slice(-4)}`;
}

export function toCanonicalOrder(order: Record<string, any>, items: Record<string, any>[], opts: MapOptions): Order {
  const id = order.AmazonOrderId;
  if (typeof id !== 'string' || !id) throw new MappingError('AmazonOrderId is missing');
  if (isUnpriced(order)) throw new MappingError(`order ${id} is ${order.OrderStatus} and has no prices yet`);
  const currency: string = order.OrderTotal.CurrencyCode;
  try {
    currencyExponent(currency);
  } catch (err) {
    throw new MappingError(`order ${id}: ${(err as Error).message}`);
  }
  if (!items.length) throw new MappingError(`order ${id} has no items`);
  // Whether ItemPrice includes ItemTax decides every total: an unknown marketplace is never guessed.
  const mp = findMarketplace(order.MarketplaceId);
  const declared = typeof order.MarketplaceId === 'string' ? opts.taxesIncluded?.[order.MarketplaceId] : undefined;
  const taxesIncluded = declared ?? mp?.taxesIncluded;
  if (taxesIncluded === undefined) {
    throw new MappingError(
      `order ${id}: marketplace ${JSON.stringify(order.MarketplaceId)} is not an Amazon marketplace Tillwire knows (nodes/amazon/contract.ts); declare whether its prices include tax with the taxesIncluded option`,
    );
  }
  const taxCode = `AMAZON-${mp?.country ?? order.MarketplaceId}`;
  const money = (amount: number) => ({ amount, currency });

  const lines: Order['lines'] = [];
  const shipping: NonNullable<Order['shipping']> = [];
  let subtotal = 0;
  let discountTotal = 0;
  let shippingTotal = 0;
  let taxTotal = 0;

  for (const it of items) {
    const where = `order ${id} item ${it.OrderItemId}`;
    const qty = it.QuantityOrdered;
    if (!Number.isInteger(qty) || qty <= 0) throw new MappingError(`${where}: QuantityOrdered must be a whole number above 0`);
    const sellerSku = it.SellerSKU;
    const sku = sellerSku === undefined ? undefined : opts.skuMap ? opts.skuMap[sellerSku] : sellerSku;
    if (!sku) throw new MappingError(`${where}: no retailer SKU for SellerSKU ${sellerSku ?? '(none)'} (ASIN ${it.ASIN})`);
    if (it.ItemPrice === undefined) throw new MappingError(`${where}: ItemPrice is missing`);
    const linePrice = m(it.ItemPrice, currency, `${where} ItemPrice`);
    const promo = m(it.PromotionDiscount, currency, `${where} PromotionDiscount`);
    const tax = m(it.ItemTax, currency, `${where} ItemTax`) - m(it.PromotionDiscountTax, currency, `${where} PromotionDiscountTax`);
    if (linePrice < 0 || promo < 0) throw new MappingError(`${where}: negative ItemPrice or PromotionDiscount`);
    subtotal += linePrice;
    discountTotal += promo;
    taxTotal += tax;

    const unit = divideRound(linePrice, qty, 'floor');
    const rest = linePrice - unit * qty; // units that cost one minor unit more
    const parts: Array<{ lineId: string; quantity: number; unit: number }> =
      rest === 0
        ? [{ lineId: it.OrderItemId, quantity: qty, unit }]
        : [
            { lineId: it.OrderItemId, quantity: qty - rest, unit },
            { lineId: `${it.OrderItemId}-r`, quantity: rest, unit: unit + 1 },
          ];
    // The promotion is shared between the parts in proportion to their price (the first part's
    // share rounded up, so neither share exceeds its part and no line total goes below zero);
    // the tax stays whole on the first part.
    const firstGross = parts[0].quantity * parts[0].unit;
    const firstPromo = parts.length === 1 ? promo : shareRound(promo, firstGross, linePrice, 'ceiling');
    parts.forEach((p, i) => {
      const first = i === 0;
      const gross = p.quantity * p.unit;
      const partPromo = first ? firstPromo : promo - firstPromo;
      const line: Order['lines'][number] = {
        lineId: p.lineId,
        sku,
        quantity: p.quantity,
        unitPrice: money(p.unit),
        lineTotal: money(gross - partPromo),
        channelLineId: it.OrderItemId,
        attributes: { asin: String(it.ASIN), sellerSku: String(sellerSku), amazonItemPrice: it.ItemPrice.Amount },
      };
      if (typeof it.Title === 'string' && it.Title) line.title = it.Title;
      if (partPromo) {
        line.discounts = [{ kind: 'promotion', amount: money(partPromo), ...(it.PromotionIds?.length ? { code: it.PromotionIds.join(',') } : {}) }];
      }
      if (first && tax) {
        const base = taxesIncluded ? linePrice - promo - tax : linePrice - promo;
        line.taxes = [{ code: taxCode, rate: effectiveRate(tax, base), name: 'Amazon ItemTax', amount: money(tax) }];
      }
      lines.push(line);
    });

    if (it.ShippingPrice !== undefined || it.ShippingDiscount !== undefined) {
      const ship = m(it.ShippingPrice, currency, `${where} ShippingPrice`);
      const shipDiscount = m(it.ShippingDiscount, currency, `${where} ShippingDiscount`);
      const shipTax = m(it.ShippingTax, currency, `${where} ShippingTax`) - m(it.ShippingDiscountTax, currency, `${where} ShippingDiscountTax`);
      if (ship || shipDiscount || shipTax) {
        const charge: NonNullable<Order['shipping']>[number] = { method: order.ShipServiceLevel ?? 'Amazon shipping', amount: money(ship - shipDiscount) };
        if (shipDiscount) charge.discounts = [{ kind: 'promotion', description: 'Amazon shipping discount', amount: money(shipDiscount) }];
        if (shipTax) {
          const base = taxesIncluded ? ship - shipDiscount - shipTax : ship - shipDiscount;
          charge.taxes = [{ code: taxCode, rate: effectiveRate(shipTax, base), name: 'Amazon ShippingTax', amount: money(shipTax) }];
        }
        shipping.push(charge);
        shippingTotal += ship - shipDiscount;
        taxTotal += shipTax;
      }
    }
  }

  const grandTotal = subtotal - discountTotal + shippingTotal + (taxesIncluded ? 0 : taxTotal);
  const reported = m(order.OrderTotal, currency, `order ${id} OrderTotal`);
  if (grandTotal !== reported) {
    throw new MappingError(
      `order ${id}: the items add up to ${grandTotal} minor units of ${currency} but Amazon's OrderTotal is ${order.OrderTotal.Amount} (${reported}); not mapped`,
    );
  }
  const status = STATUS[order.OrderStatus];
  if (!status) throw new MappingError(`order ${id}: unknown OrderStatus ${order.OrderStatus}`);

  const doc: Order = {
    kind: 'order',
    id: `amazon:${opts.account}:${id}`,
    channel: { system: 'amazon', account: opts.account, id },
    status,
    createdAt: order.PurchaseDate,
    updatedAt: order.LastUpdateDate,
    currency,
    lines,
    totals: {
      subtotal: money(subtotal),
      discountTotal: money(discountTotal),
      shippingTotal: money(shippingTotal),
      taxTotal: money(taxTotal),
      grandTotal: money(grandTotal),
    },
    taxesIncluded,
    attributes: {
      amazonOrderStatus: String(order.OrderStatus),
      marketplaceId: String(order.MarketplaceId),
      fulfillmentChannel: String(order.FulfillmentChannel ?? ''),
      ...(order.SalesChannel ? { salesChannel: String(order.SalesChannel) } : {}),
      ...(order.SellerOrderId ? { sellerOrderId: String(order.SellerOrderId) } : {}),
    },
  };
  if (shipping.length) doc.shipping = shipping;
  if (order.BuyerInfo?.BuyerEmail) doc.customer = { email: String(order.BuyerInfo.BuyerEmail) };
  if (order.PaymentMethod && status !== 'cancelled') {
    doc.payments = [{ method: `amazon:${order.PaymentMethod}`, amount: money(grandTotal) }];
  }
  return doc;
}
