import { ShopifySimulator, toGraphQLOrder } from '../../simulators/shopify/simulator';
import { mapOrder, mapRefund, restFromGraphQL, MappingError } from '../../nodes/shopify/map';
import { validateDocument, businessKey } from '../../nodes/model/validate';
import { toMinor } from '../../nodes/model/money';

const shop = 'tillwire-demo.myshopify.com';
const sim = new ShopifySimulator({ orders: 600, seed: 7 });
const orders = sim.allOrders();

describe('Shopify → canonical mapping', () => {
  it('every order is a valid canonical Order whose sums equal Shopify’s own totals to the minor unit (0, 2 and 3 decimals)', () => {
    const byCurrency = new Map<string, number>();
    for (const o of orders) {
      const doc = mapOrder(o, shop);
      const v = validateDocument('order', doc);
      if (!v.valid) throw new Error(`${o.id}: ${v.errors.join('; ')}`);
      const cur = o.currency;
      const m = (t: string) => toMinor(t, cur);
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      const lines = sum(doc.lines.map((l) => l.lineTotal.amount));
      const shipping = sum((doc.shipping ?? []).map((s) => s.amount.amount));
      const taxes = sum([...doc.lines, ...(doc.shipping ?? [])].flatMap((x) => (x.taxes ?? []).map((t) => t.amount.amount)));
      const discounts = sum(doc.lines.flatMap((l) => (l.discounts ?? []).map((d) => d.amount.amount)));
      expect(lines + shipping + (o.taxes_included ? 0 : taxes)).toBe(m(o.total_price));
      expect(taxes).toBe(m(o.total_tax));
      expect(discounts).toBe(m(o.total_discounts));
      expect(lines).toBe(m(o.subtotal_price));
      expect(doc.totals).toEqual({
        subtotal: { amount: m(o.total_line_items_price), currency: cur },
        discountTotal: { amount: m(o.total_discounts), currency: cur },
        shippingTotal: { amount: m(o.total_shipping_price_set.shop_money.amount), currency: cur },
        taxTotal: { amount: m(o.total_tax), currency: cur },
        grandTotal: { amount: m(o.total_price), currency: cur },
      });
      expect(doc.channel).toEqual({ system: 'shopify', account: shop, id: String(o.id) });
      expect(businessKey(doc)).toBe(`order:shopify:${shop}:${o.id}`);
      byCurrency.set(cur, (byCurrency.get(cur) ?? 0) + 1);
    }
    expect([...byCurrency.keys()].sort()).toEqual(['BHD', 'EUR', 'GBP', 'JPY', 'KWD', 'USD']);
  });

  it('maps statuses, discounts by kind, shipping, payments and the customer', () => {
    const o = orders.find((x) => x.discount_applications.length === 2 && !x.cancelled_at && x.financial_status === 'paid')!;
    const doc = mapOrder(o, shop);
    const kinds = doc.lines.flatMap((l) => (l.discounts ?? []).map((d) => d.kind));
    expect(kinds).toEqual(expect.arrayContaining(['promotion', 'coupon']));
    expect(doc.lines.flatMap((l) => l.discounts ?? []).find((d) => d.kind === 'coupon')!.code).toBe('WELCOME5');
    expect(doc.payments).toEqual([{ method: 'shopify_payments', amount: doc.totals.grandTotal, capturedAt: o.processed_at }]);
    expect(doc.channelOrderNumber).toBe(o.name);
    expect(
      mapOrder(
        orders.find((x) => x.cancelled_at)!,
        shop,
      ).status,
    ).toBe('cancelled');
    expect(
      mapOrder(
        orders.find((x) => x.financial_status === 'pending')!,
        shop,
      ).payments,
    ).toBeUndefined();
  });

  it('the GraphQL shape maps to the same canonical order as the webhook (REST) shape', () => {
    for (const o of orders.slice(0, 120)) expect(mapOrder(restFromGraphQL(toGraphQLOrder(o)), shop)).toEqual(mapOrder(o, shop));
  });

  it('refunds become valid canonical Returns whose refund total equals the refund transactions', () => {
    const refunded = orders.filter((o) => o.refunds.length);
    expect(refunded.length).toBeGreaterThan(10);
    for (const o of refunded) {
      for (const r of o.refunds) {
        const ret = mapRefund(r, shop);
        const v = validateDocument('return', ret);
        if (!v.valid) throw new Error(v.errors.join('; '));
        const paid = r.transactions.reduce((s: number, t: any) => s + toMinor(t.amount, o.currency), 0);
        expect(ret.totals!.refundTotal.amount).toBe(paid);
        expect(ret.originalOrder!.channel!.id).toBe(String(o.id));
        expect(ret.status).toBe('refunded');
        const g = restFromGraphQL(toGraphQLOrder(o)).refunds[0];
        expect(mapRefund(g, shop)).toEqual(ret);
      }
    }
  });

  it('refuses what it cannot map exactly: no SKU, too many decimals, totals that do not add up', () => {
    const o = structuredClone(orders[3]);
    o.line_items[0].sku = '';
    expect(() => mapOrder(o, shop)).toThrow(/no SKU/);
    const jpy = structuredClone(orders.find((x) => x.currency === 'JPY')!);
    jpy.line_items[0].price = '12.5';
    jpy.line_items[0].price_set.shop_money.amount = '12.5';
    expect(() => mapOrder(jpy, shop)).toThrow(MappingError);
    const off = structuredClone(orders[1]);
    off.total_price_set.shop_money.amount = toMinor(off.total_price, off.currency) + 1 + '';
    expect(() => mapOrder(off, shop)).toThrow(/add up/);
  });
});
