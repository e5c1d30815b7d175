/**
 * Orders API 2026-01-01 order → canonical Order. The 2026-01-01 order is first read into the v0
 * figures map.ts already maps (same checks, same canonical document for the same sale, whichever
 * version fetched it); money stays exact (decimal text → minor units → decimal text).
 *
 * What each v0 figure is read from (docs/connectors/amazon.md, "Orders API 2026-01-01"):
 * - OrderStatus ← `fulfillment.fulfillmentStatus` respelled (contract.ts FULFILLMENT_STATUS_TO_V0);
 *   OrderTotal ← `proceeds.grandTotal`; PurchaseDate/LastUpdateDate ← createdTime/lastUpdatedTime;
 *   MarketplaceId ← salesChannel.marketplaceId; FulfillmentChannel ← fulfilledBy (MERCHANT → MFN,
 *   AMAZON → AFN); PaymentMethod ← the first payment execution's method.
 * - Per item, from `proceeds.breakdowns`: ItemPrice ← ITEM, ShippingPrice ← SHIPPING,
 *   PromotionDiscount / ShippingDiscount ← minus DISCOUNT's ITEM / SHIPPING detail (all of it on
 *   the item without detail), ItemTax / ShippingTax ← TAX's ITEM / SHIPPING detail (a DISCOUNT tax
 *   detail, or TAX without detail, counts on the item). Discount taxes are netted in, so v0's
 *   PromotionDiscountTax / ShippingDiscountTax are 0.
 * An order without proceeds, or Pending, is unpriced: isUnpriced() says so and the poller holds it.
 */
import { fromMinor, toMinor } from '../model/money';
import type { Order } from '../model/types.generated';
import { FULFILLMENT_STATUS_TO_V0 } from './contract';
import { MappingError, toCanonicalOrder, type MapOptions } from './map';

type Json = Record<string, any>;

/** The v0 OrderStatus of a 2026-01-01 order (undefined without FULFILLMENT data). */
export function v0Status(order: Json): string | undefined {
  const s = order.fulfillment?.fulfillmentStatus;
  return typeof s === 'string' ? (FULFILLMENT_STATUS_TO_V0[s] ?? s) : undefined;
}

/** True when the order cannot be mapped yet: Pending, or no proceeds. */
export function isUnpricedV2026(order: Json): boolean {
  const s = v0Status(order);
  return s === 'Pending' || s === 'PendingAvailability' || !order.proceeds?.grandTotal;
}

function minor(money: Json | undefined, currency: string, what: string): number {
  if (money === undefined || money === null) return 0;
  if (typeof money !== 'object' || typeof money.amount !== 'string') throw new MappingError(`${what}: amount must be decimal text`);
  if (money.currencyCode !== currency) throw new MappingError(`${what}: currency ${String(money.currencyCode)} differs from the order's ${currency}`);
  try {
    return toMinor(money.amount, currency);
  } catch (err) {
    throw new MappingError(`${what}: ${(err as Error).message}`);
  }
}

/** The v0 order and items a 2026-01-01 order stands for (money as v0's `{ CurrencyCode, Amount }`). */
export function toV0(order: Json): { order: Json; items: Json[] } {
  const id = order.orderId;
  if (typeof id !== 'string' || !id) throw new MappingError('orderId is missing');
  const status = v0Status(order);
  const grand = order.proceeds?.grandTotal;
  const v0: Json = {
    AmazonOrderId: id,
    PurchaseDate: order.createdTime,
    LastUpdateDate: order.lastUpdatedTime,
    OrderStatus: status,
    MarketplaceId: order.salesChannel?.marketplaceId,
    FulfillmentChannel: order.fulfillment?.fulfilledBy === 'AMAZON' ? 'AFN' : order.fulfillment?.fulfilledBy === 'MERCHANT' ? 'MFN' : undefined,
  };
  if (order.salesChannel?.marketplaceName) v0.SalesChannel = order.salesChannel.marketplaceName;
  const sellerOrderId = (order.orderAliases ?? []).find((a: Json) => a?.aliasType === 'SELLER_ORDER_ID')?.aliasId;
  if (sellerOrderId) v0.SellerOrderId = sellerOrderId;
  if (order.fulfillment?.fulfillmentServiceLevel) v0.ShipServiceLevel = order.fulfillment.fulfillmentServiceLevel;
  const method = order.payment?.paymentExecutions?.[0]?.paymentMethod;
  if (method) v0.PaymentMethod = method;
  if (order.buyer?.buyerEmail) v0.BuyerInfo = { BuyerEmail: order.buyer.buyerEmail };
  if (!grand) return { order: v0, items: [] };
  const currency = String(grand.currencyCode);
  v0.OrderTotal = { CurrencyCode: currency, Amount: grand.amount };
  const money = (n: number) => ({ CurrencyCode: currency, Amount: fromMinor(n, currency) });

  const items = (Array.isArray(order.orderItems) ? order.orderItems : []).map((it: Json) => {
    const where = `order ${id} item ${it.orderItemId}`;
    const parts = { ITEM: 0, SHIPPING: 0, discountItem: 0, discountShipping: 0, taxItem: 0, taxShipping: 0 };
    let hasItem = false;
    let hasShipping = false;
    for (const b of it.proceeds?.breakdowns ?? []) {
      const amount = minor(b?.subtotal, currency, `${where} ${b?.type}`);
      const detail = (subtype: string) =>
        (b.detailedBreakdowns ?? [])
          .filter((d: Json) => d?.subtype === subtype)
          .reduce((s: number, d: Json) => s + minor(d.value, currency, `${where} ${b.type}/${subtype}`), 0);
      const detailed = Array.isArray(b.detailedBreakdowns) && b.detailedBreakdowns.length > 0;
      switch (b?.type) {
        case 'ITEM':
          parts.ITEM += amount;
          hasItem = true;
          break;
        case 'SHIPPING':
          parts.SHIPPING += amount;
          hasShipping = true;
          break;
        case 'DISCOUNT': {
          const ship = detailed ? detail('SHIPPING') : 0;
          if (amount > 0) throw new MappingError(`${where}: DISCOUNT ${b.subtotal.amount} is positive; Amazon reports discounts as reductions`);
          parts.discountShipping -= ship;
          parts.discountItem -= amount - ship;
          if (ship) hasShipping = true;
          break;
        }
        case 'TAX': {
          const ship = detailed ? detail('SHIPPING') : 0;
          parts.taxShipping += ship;
          parts.taxItem += amount - ship;
          break;
        }
        default:
          // GIFT_WRAP, COD_FEE, OTHER: no canonical place yet; the OrderTotal check refuses the order.
          if (amount) throw new MappingError(`${where}: proceeds of type ${String(b?.type)} are not mapped`);
      }
    }
    const item: Json = {
      ASIN: it.product?.asin,
      SellerSKU: it.product?.sellerSku,
      OrderItemId: it.orderItemId,
      QuantityOrdered: it.quantityOrdered,
      QuantityShipped: it.fulfillment?.quantityFulfilled ?? 0,
      PromotionIds: (it.promotion?.breakdowns ?? []).map((p: Json) => p?.promotionId).filter(Boolean),
    };
    if (it.product?.title) item.Title = it.product.title;
    if (hasItem) {
      item.ItemPrice = money(parts.ITEM);
      item.ItemTax = money(parts.taxItem);
      item.PromotionDiscount = money(parts.discountItem);
      item.PromotionDiscountTax = money(0);
    }
    if (hasShipping || parts.taxShipping) {
      item.ShippingPrice = money(parts.SHIPPING);
      item.ShippingTax = money(parts.taxShipping);
      item.ShippingDiscount = money(parts.discountShipping);
      item.ShippingDiscountTax = money(0);
    }
    return item;
  });
  return { order: v0, items };
}

/** A 2026-01-01 order as a canonical Order (MappingError when it cannot be, as for v0). */
export function toCanonicalOrderV2026(order: Json, opts: MapOptions): Order {
  const { order: v0, items } = toV0(order);
  return toCanonicalOrder(v0, items, opts);
}
