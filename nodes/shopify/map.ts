/**
 * Shopify → canonical (docs/canonical-model.md): an order (REST/webhook JSON, or the GraphQL shape
 * converted by `restFromGraphQL`) becomes a canonical Order; a refund becomes a canonical Return.
 * Money is Shopify's decimal text converted with `toMinor` (never float arithmetic); a line without
 * a SKU fails the message rather than inventing one.
 */
import { toMinor, type Money } from '../model/money';
import { formatDecimal, parseDecimal } from '../model/decimal';
import type { Order, Return } from '../model/types.generated';

export class MappingError extends Error {
  override name = 'MappingError';
}

export const SYSTEM = 'shopify';

/** The canonical order id of a Shopify order. */
export const canonicalOrderId = (shop: string, id: string | number) => `shopify:${shop}:${id}`;

/** Inbox event id of one state of an order: a webhook and a poll of the same state share it. */
export const orderEventId = (o: { id: number | string; updated_at: string }) => `order:${o.id}:${Date.parse(o.updated_at)}`;
export const refundEventId = (r: { id: number | string }) => `refund:${r.id}`;

export function orderTopic(o: Record<string, any>): string {
  return o.cancelled_at ? 'order.cancelled' : 'order.accepted';
}

const gidTail = (gid: unknown) => String(gid ?? '').replace(/^gid:\/\/shopify\/\w+\//, '');

function amountOf(value: unknown, currency: string, what: string): Money {
  if (value === undefined || value === null) throw new MappingError(`${what} is missing`);
  try {
    return { amount: toMinor(value as string, currency), currency };
  } catch (err) {
    throw new MappingError(`${what}: ${(err as Error).message}`);
  }
}

/** Shop money of a `*_set` bag, else the plain amount; the order's currency decides the exponent. */
function pick(plain: unknown, set: any, currency: string, what: string): Money {
  const shop = set?.shop_money;
  if (shop && shop.currency_code && shop.currency_code !== currency) throw new MappingError(`${what} is in ${shop.currency_code}, the order in ${currency}`);
  return amountOf(shop?.amount ?? plain, currency, what);
}

function taxLines(lines: any[] | undefined, currency: string, what: string) {
  return (lines ?? [])
    .map((t, i) => {
      let rate: string;
      try {
        rate = formatDecimal(parseDecimal(t.rate ?? '0', { negative: false, what: 'rate' }));
      } catch (err) {
        throw new MappingError(`${what}.tax_lines[${i}].rate: ${(err as Error).message}`);
      }
      return {
        code: String(t.title || 'TAX'),
        rate,
        name: t.title ? String(t.title) : undefined,
        amount: pick(t.price, t.price_set, currency, `${what}.tax_lines[${i}].price`),
      };
    })
    .filter((t) => t.amount.amount !== 0 || t.rate !== '0')
    .map((t) => (t.name === undefined ? { code: t.code, rate: t.rate, amount: t.amount } : t));
}

const KIND: Record<string, 'coupon' | 'promotion' | 'manual' | 'other'> = {
  discount_code: 'coupon',
  automatic: 'promotion',
  script: 'promotion',
  manual: 'manual',
};

function status(o: Record<string, any>): Order['status'] {
  if (o.cancelled_at) return 'cancelled';
  if (o.fulfillment_status === 'fulfilled') return o.closed_at ? 'closed' : 'fulfilled';
  if (o.fulfillment_status === 'partial') return 'partially_fulfilled';
  if (['paid', 'partially_refunded', 'refunded', 'partially_paid'].includes(o.financial_status)) return 'paid';
  return 'accepted';
}

const strings = (o: Record<string, unknown>) => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null && v !== '') out[k] = String(v);
  return out;
};

/** A Shopify order (REST/webhook JSON) as a canonical Order. */
export function mapOrder(o: Record<string, any>, shop: string): Order {
  if (!o || typeof o !== 'object' || o.id === undefined) throw new MappingError('not a Shopify order (no id)');
  const currency = String(o.currency ?? '');
  if (!/^[A-Z]{3}$/.test(currency)) throw new MappingError(`order ${o.id} has no valid currency`);
  const apps: any[] = o.discount_applications ?? [];
  if (!Array.isArray(o.line_items) || !o.line_items.length) throw new MappingError(`order ${o.id} has no line items`);
  const lines = o.line_items.map((l: any, i: number) => {
    const at = `line_items[${i}]`;
    if (!l.sku) throw new MappingError(`${at} (${l.title ?? l.id}) has no SKU: map the variant to a SKU in Shopify, then replay`);
    const unitPrice = pick(l.price, l.price_set, currency, `${at}.price`);
    const discounts = (l.discount_allocations ?? []).map((a: any, j: number) => {
      const app = apps[a.discount_application_index] ?? {};
      const d: Record<string, any> = {
        kind: KIND[app.type] ?? 'other',
        amount: pick(a.amount, a.amount_set, currency, `${at}.discount_allocations[${j}].amount`),
      };
      if (app.code) d.code = String(app.code);
      if (app.description || app.title) d.description = String(app.description ?? app.title);
      return d;
    });
    const discounted = discounts.reduce((s: number, d: any) => s + d.amount.amount, 0);
    const taxes = taxLines(l.tax_lines, currency, at);
    const line: Record<string, any> = {
      lineId: String(l.id),
      sku: String(l.sku),
      title: l.title ?? l.name,
      quantity: l.quantity,
      unitPrice,
      lineTotal: { amount: unitPrice.amount * l.quantity - discounted, currency },
      channelLineId: String(l.id),
    };
    if (discounts.length) line.discounts = discounts;
    if (taxes.length) line.taxes = taxes;
    if (l.variant_id) line.attributes = { shopifyVariantId: String(l.variant_id) };
    return line;
  });
  const shipping = (o.shipping_lines ?? []).map((s: any, i: number) => {
    const c: Record<string, any> = {
      amount: pick(s.discounted_price ?? s.price, s.discounted_price_set ?? s.price_set, currency, `shipping_lines[${i}].price`),
    };
    if (s.title) c.method = String(s.title);
    const taxes = taxLines(s.tax_lines, currency, `shipping_lines[${i}]`);
    if (taxes.length) c.taxes = taxes;
    return c;
  });
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const subtotal = sum(lines.map((l: any) => l.unitPrice.amount * l.quantity));
  const discountTotal = sum(lines.map((l: any) => sum((l.discounts ?? []).map((d: any) => d.amount.amount))));
  const shippingTotal = sum(shipping.map((s: any) => s.amount.amount));
  const taxTotal = sum([...lines, ...shipping].map((x: any) => sum((x.taxes ?? []).map((t: any) => t.amount.amount))));
  const included = !!o.taxes_included;
  const grandTotal = pick(o.total_price, o.total_price_set, currency, 'total_price');
  const computed = subtotal - discountTotal + shippingTotal + (included ? 0 : taxTotal);
  if (computed !== grandTotal.amount) {
    throw new MappingError(
      `order ${o.id}: lines, shipping and taxes add up to ${computed} minor units of ${currency}, Shopify's total_price is ${grandTotal.amount} (order-level adjustments are not supported yet)`,
    );
  }
  const order: Record<string, any> = {
    kind: 'order',
    id: canonicalOrderId(shop, o.id),
    channel: { system: SYSTEM, account: shop, id: String(o.id) },
    status: status(o),
    createdAt: o.created_at,
    updatedAt: o.updated_at,
    currency,
    lines,
    totals: {
      subtotal: { amount: subtotal, currency },
      discountTotal: { amount: discountTotal, currency },
      shippingTotal: { amount: shippingTotal, currency },
      taxTotal: { amount: taxTotal, currency },
      grandTotal,
    },
    taxesIncluded: included,
    attributes: strings({
      shopifyFinancialStatus: o.financial_status,
      shopifyFulfillmentStatus: o.fulfillment_status,
      sourceName: o.source_name,
      cancelReason: o.cancel_reason,
    }),
  };
  if (o.name) order.channelOrderNumber = String(o.name);
  if (shipping.length) order.shipping = shipping;
  if (['paid', 'partially_refunded', 'refunded'].includes(o.financial_status) && grandTotal.amount > 0) {
    const p: Record<string, any> = { method: String(o.payment_gateway_names?.[0] ?? 'shopify'), amount: grandTotal };
    if (o.processed_at) p.capturedAt = o.processed_at;
    order.payments = [p];
  }
  const c = o.customer;
  if (c) {
    const name = [c.first_name, c.last_name].filter(Boolean).join(' ');
    order.customer = { ...(c.id ? { id: String(c.id) } : {}), ...(c.email ? { email: c.email } : {}), ...(name ? { name } : {}) };
  }
  const a = o.shipping_address;
  if (a) {
    order.shippingAddress = Object.fromEntries(
      Object.entries({
        name: a.name,
        line1: a.address1,
        line2: a.address2,
        city: a.city,
        region: a.province_code,
        postalCode: a.zip,
        country: a.country_code,
      }).filter(([, v]) => typeof v === 'string' && v !== ''),
    );
  }
  return order as Order;
}

/** A Shopify refund (the `refunds/create` payload, or one of an order's `refunds`) as a canonical Return. */
export function mapRefund(r: Record<string, any>, shop: string): Return {
  if (!r || r.id === undefined || r.order_id === undefined) throw new MappingError('not a Shopify refund (no id or order_id)');
  const items: any[] = r.refund_line_items ?? [];
  if (!items.length) throw new MappingError(`refund ${r.id} refunds no line items (order adjustments alone are not supported yet)`);
  const currency = String(items[0].subtotal_set?.shop_money?.currency_code ?? r.transactions?.[0]?.currency ?? '');
  if (!/^[A-Z]{3}$/.test(currency)) throw new MappingError(`refund ${r.id} has no currency`);
  const lines = items.map((x, i) => {
    const sku = x.line_item?.sku;
    if (!sku) throw new MappingError(`refund_line_items[${i}] has no SKU`);
    const sub = pick(x.subtotal, x.subtotal_set, currency, `refund_line_items[${i}].subtotal`);
    const tax = pick(x.total_tax ?? '0', x.total_tax_set, currency, `refund_line_items[${i}].total_tax`);
    const line: Record<string, any> = {
      lineId: String(i + 1),
      originalLineId: String(x.line_item_id),
      sku: String(sku),
      quantity: x.quantity,
      reason: 'other',
      restock: x.restock_type !== 'no_restock' && x.restock_type !== 'NO_RESTOCK',
      refundAmount: { amount: sub.amount + tax.amount, currency },
    };
    if (r.note) line.reasonText = String(r.note);
    return line;
  });
  const refunds = (r.transactions ?? [])
    .filter((t: any) => t.kind === 'refund' && t.status === 'success')
    .map((t: any) => {
      const f: Record<string, any> = {
        refundId: String(t.id),
        amount: amountOf(t.amount, currency, 'transactions.amount'),
        issuedAt: t.processed_at ?? r.processed_at ?? r.created_at,
      };
      if (t.gateway) f.method = String(t.gateway);
      if (t.authorization) f.reference = String(t.authorization);
      return f;
    });
  const refundTotal = lines.reduce((s, l) => s + l.refundAmount.amount, 0);
  const ret: Record<string, any> = {
    kind: 'return',
    returnId: String(r.id),
    channel: { system: SYSTEM, account: shop, id: String(r.id) },
    originalOrder: { id: canonicalOrderId(shop, r.order_id), channel: { system: SYSTEM, account: shop, id: String(r.order_id) } },
    status: refunds.length ? 'refunded' : 'authorized',
    createdAt: r.created_at,
    currency,
    lines,
    totals: { refundTotal: { amount: refundTotal, currency } },
  };
  if (refunds.length) ret.refunds = refunds;
  return ret as Return;
}

// ──────────────────────────────────── GraphQL → REST shape ────────────────────────────────────────

const set = (bag: any) =>
  bag && {
    shop_money: { amount: bag.shopMoney.amount, currency_code: bag.shopMoney.currencyCode },
    presentment_money: bag.presentmentMoney && { amount: bag.presentmentMoney.amount, currency_code: bag.presentmentMoney.currencyCode },
  };
const nodes = (conn: any): any[] => (Array.isArray(conn) ? conn : (conn?.nodes ?? conn?.edges?.map((e: any) => e.node) ?? []));
const restTax = (lines: any[]) =>
  (lines ?? []).map((t) => ({ title: t.title, rate: t.rate, price: t.priceSet?.shopMoney?.amount, price_set: set(t.priceSet) }));
const TYPE: Record<string, string> = {
  DiscountCodeApplication: 'discount_code',
  AutomaticDiscountApplication: 'automatic',
  ManualDiscountApplication: 'manual',
  ScriptDiscountApplication: 'script',
};

/** The GraphQL order shape (as Tillwire queries it) in the REST/webhook shape `mapOrder` reads. */
export function restFromGraphQL(g: Record<string, any>): Record<string, any> {
  const id = g.legacyResourceId ?? gidTail(g.id);
  const apps: any[] = [];
  const appIndex = new Map<string, number>();
  const line_items = nodes(g.lineItems).map((l) => ({
    id: gidTail(l.id),
    sku: l.sku,
    title: l.title,
    quantity: l.quantity,
    variant_id: l.variant?.id ? gidTail(l.variant.id) : undefined,
    price: l.originalUnitPriceSet?.shopMoney?.amount,
    price_set: set(l.originalUnitPriceSet),
    discount_allocations: (l.discountAllocations ?? []).map((a: any) => {
      const app = a.discountApplication ?? {};
      const key = JSON.stringify([app.__typename, app.code, app.title, app.description]);
      if (!appIndex.has(key)) {
        appIndex.set(key, apps.length);
        apps.push({
          type: TYPE[app.__typename] ?? 'other',
          code: app.code ?? undefined,
          title: app.title ?? undefined,
          description: app.description ?? undefined,
        });
      }
      return { amount: a.allocatedAmountSet?.shopMoney?.amount, amount_set: set(a.allocatedAmountSet), discount_application_index: appIndex.get(key) };
    }),
    tax_lines: restTax(l.taxLines),
  }));
  const lower = (v: unknown) => (v === null || v === undefined ? null : String(v).toLowerCase());
  const fulfil = g.displayFulfillmentStatus === 'FULFILLED' ? 'fulfilled' : g.displayFulfillmentStatus === 'PARTIALLY_FULFILLED' ? 'partial' : null;
  const c = g.customer;
  const [first, ...rest] = String(c?.displayName ?? '').split(' ');
  return {
    id,
    name: g.name,
    email: g.email,
    created_at: g.createdAt,
    updated_at: g.updatedAt,
    processed_at: g.processedAt,
    cancelled_at: g.cancelledAt ?? null,
    cancel_reason: lower(g.cancelReason),
    closed_at: g.closedAt ?? null,
    currency: g.currencyCode,
    presentment_currency: g.presentmentCurrencyCode,
    taxes_included: g.taxesIncluded,
    financial_status: lower(g.displayFinancialStatus),
    fulfillment_status: fulfil,
    payment_gateway_names: g.paymentGatewayNames ?? [],
    source_name: g.sourceName,
    total_price: g.totalPriceSet?.shopMoney?.amount,
    total_price_set: set(g.totalPriceSet),
    total_tax: g.totalTaxSet?.shopMoney?.amount,
    total_discounts: g.totalDiscountsSet?.shopMoney?.amount,
    subtotal_price: g.subtotalPriceSet?.shopMoney?.amount,
    discount_applications: apps,
    line_items,
    shipping_lines: nodes(g.shippingLines).map((s) => ({
      title: s.title,
      code: s.code,
      price: s.originalPriceSet?.shopMoney?.amount,
      price_set: set(s.originalPriceSet),
      discounted_price: s.discountedPriceSet?.shopMoney?.amount,
      discounted_price_set: set(s.discountedPriceSet),
      tax_lines: restTax(s.taxLines),
    })),
    customer: c && { id: gidTail(c.id), email: c.email, first_name: first || undefined, last_name: rest.join(' ') || undefined },
    shipping_address: g.shippingAddress && {
      name: g.shippingAddress.name,
      address1: g.shippingAddress.address1,
      address2: g.shippingAddress.address2 ?? undefined,
      city: g.shippingAddress.city,
      province_code: g.shippingAddress.provinceCode,
      zip: g.shippingAddress.zip,
      country_code: g.shippingAddress.countryCodeV2,
    },
    refunds: (g.refunds ?? []).map((r: any) => ({
      id: r.legacyResourceId ?? gidTail(r.id),
      order_id: id,
      created_at: r.createdAt,
      note: r.note,
      refund_line_items: nodes(r.refundLineItems).map((x, i) => ({
        id: `${r.legacyResourceId ?? gidTail(r.id)}-${i + 1}`,
        line_item_id: gidTail(x.lineItem?.id),
        quantity: x.quantity,
        restock_type: lower(x.restockType),
        subtotal: x.subtotalSet?.shopMoney?.amount,
        subtotal_set: set(x.subtotalSet),
        total_tax: x.totalTaxSet?.shopMoney?.amount,
        total_tax_set: set(x.totalTaxSet),
        line_item: { id: gidTail(x.lineItem?.id), sku: x.lineItem?.sku, title: x.lineItem?.title },
      })),
      transactions: nodes(r.transactions).map((t) => ({
        id: gidTail(t.id),
        kind: lower(t.kind),
        status: lower(t.status),
        gateway: t.gateway,
        amount: t.amountSet?.shopMoney?.amount,
        currency: t.amountSet?.shopMoney?.currencyCode,
        processed_at: t.processedAt,
        authorization: t.authorizationCode ?? undefined,
      })),
    })),
  };
}
