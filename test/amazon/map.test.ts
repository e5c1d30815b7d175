import { AmazonSimulator } from '../../simulators/amazon/simulator';
import { MappingError, effectiveRate, toCanonicalOrder, topicFor } from '../../nodes/amazon/map';
import { validateDocument, businessKey } from '../../nodes/model/validate';
import { currencyExponent, toMinor } from '../../nodes/model/money';
import { isKnownCurrency } from '../../nodes/model/currencies';
import { MARKETPLACES, marketplaceById } from '../../nodes/amazon/contract';
import type { Order } from '../../nodes/model/types.generated';
import { payable } from './support';

function checkIdentities(doc: Order) {
  let subtotal = 0;
  let discounts = 0;
  for (const l of doc.lines) {
    const d = (l.discounts ?? []).reduce((s, x) => s + x.amount.amount, 0);
    expect(l.lineTotal.amount).toBe(l.quantity * l.unitPrice.amount - d);
    subtotal += l.quantity * l.unitPrice.amount;
    discounts += d;
  }
  expect(doc.totals.subtotal.amount).toBe(subtotal);
  expect(doc.totals.discountTotal.amount).toBe(discounts);
}

describe('Amazon order → canonical Order', () => {
  const sim = new AmazonSimulator({ orders: 2000, seed: 3 });
  const ids = sim.orderIds();

  it('every priced order maps to a valid Order whose lines add up to OrderTotal to the minor unit (USD, GBP, EUR, JPY)', () => {
    const currencies = new Map<string, number>();
    let mapped = 0;
    for (const id of ids) {
      const order = sim.order(id)!;
      if (order.OrderStatus === 'Pending') continue;
      const doc = toCanonicalOrder(order, sim.items(id), { account: sim.sellerId });
      const v = validateDocument('order', doc);
      if (!v.valid) throw new Error(`${id}: ${v.errors.join('; ')}`);
      const total = toMinor(order.OrderTotal.Amount, order.OrderTotal.CurrencyCode);
      expect(payable(doc)).toBe(total);
      expect(doc.totals.grandTotal.amount).toBe(total);
      checkIdentities(doc);
      currencies.set(doc.currency, (currencies.get(doc.currency) ?? 0) + 1);
      mapped++;
    }
    expect(mapped).toBeGreaterThan(1800);
    expect([...currencies.keys()].sort()).toEqual(['EUR', 'GBP', 'JPY', 'USD']);
    expect(currencyExponent('JPY')).toBe(0);
  });

  it('channel, business key, status and topic', () => {
    const id = ids.find((x) => sim.order(x)!.OrderStatus === 'Canceled')!;
    const doc = toCanonicalOrder(sim.order(id)!, sim.items(id), { account: sim.sellerId });
    expect(doc.channel).toEqual({ system: 'amazon', account: sim.sellerId, id });
    expect(businessKey(doc)).toBe(`order:amazon:${sim.sellerId}:${id}`);
    expect(doc.status).toBe('cancelled');
    expect(topicFor(doc)).toBe('order.cancelled');
    expect(doc.attributes).toMatchObject({ amazonOrderStatus: 'Canceled' });
  });

  const base = (currency: string, total: string, items: any[], marketplace = 'XKWTEST') =>
    [
      {
        AmazonOrderId: '171-0000001-0000001',
        PurchaseDate: '2025-03-01T10:00:00Z',
        LastUpdateDate: '2025-03-01T10:05:00Z',
        OrderStatus: 'Unshipped',
        MarketplaceId: marketplace,
        OrderTotal: { CurrencyCode: currency, Amount: total },
      },
      items,
    ] as const;

  it('a 3-decimal currency (KWD, synthetic: no Amazon marketplace sells in one) maps exactly', () => {
    const [order, items] = base('KWD', '12.345', [
      {
        ASIN: 'B1',
        OrderItemId: '1',
        SellerSKU: 'ABAYA-BLK-54',
        QuantityOrdered: 3,
        ItemPrice: { CurrencyCode: 'KWD', Amount: '10.500' },
        PromotionDiscount: { CurrencyCode: 'KWD', Amount: '0.105' },
        ShippingPrice: { CurrencyCode: 'KWD', Amount: '1.950' },
      },
    ]);
    const doc = toCanonicalOrder(order, [...items], { account: 'S1', taxesIncluded: { XKWTEST: true } });
    expect(validateDocument('order', doc).valid).toBe(true);
    expect(doc.lines[0]).toMatchObject({ quantity: 3, unitPrice: { amount: 3500, currency: 'KWD' }, lineTotal: { amount: 10395, currency: 'KWD' } });
    expect(payable(doc)).toBe(12345);
  });

  it('an order from a marketplace not in the contract table is a MappingError naming it, unless its tax treatment is declared', () => {
    const [order, items] = base(
      'USD',
      '10.00',
      [{ ASIN: 'B1', OrderItemId: '9', SellerSKU: 'TEE', QuantityOrdered: 1, ItemPrice: { CurrencyCode: 'USD', Amount: '10.00' } }],
      'A1NEWMARKET',
    );
    expect(() => toCanonicalOrder(order, [...items], { account: 'S1' })).toThrow(MappingError);
    expect(() => toCanonicalOrder(order, [...items], { account: 'S1' })).toThrow(/171-0000001-0000001: marketplace "A1NEWMARKET" is not an Amazon marketplace/);
    expect(() => toCanonicalOrder({ ...order, MarketplaceId: undefined }, [...items], { account: 'S1' })).toThrow(/marketplace undefined is not/);
    const declared = toCanonicalOrder(order, [...items], { account: 'S1', taxesIncluded: { A1NEWMARKET: false } });
    expect(declared.totals.grandTotal.amount).toBe(1000);
    expect(() => marketplaceById('A1NEWMARKET')).toThrow(/unknown Amazon marketplace id "A1NEWMARKET"/);
  });

  it('the contract table: unique ids, known currencies, tax added on top only in the US and Canada', () => {
    expect(new Set(MARKETPLACES.map((m) => m.id)).size).toBe(MARKETPLACES.length);
    expect(MARKETPLACES.filter((m) => !isKnownCurrency(m.currency))).toEqual([]);
    expect(
      MARKETPLACES.filter((m) => !m.taxesIncluded)
        .map((m) => m.country)
        .sort(),
    ).toEqual(['CA', 'US']);
    expect(marketplaceById('A1F83G8C2ARO7P')).toMatchObject({ country: 'GB', currency: 'GBP', taxesIncluded: true });
  });

  it('ItemPrice is the line total: one that does not divide by the quantity becomes two exact lines', () => {
    const [order, items] = base(
      'USD',
      '10.00',
      [{ ASIN: 'B1', OrderItemId: '9', SellerSKU: 'TEE', QuantityOrdered: 3, ItemPrice: { CurrencyCode: 'USD', Amount: '10.00' } }],
      'ATVPDKIKX0DER',
    );
    const doc = toCanonicalOrder(order, [...items], { account: 'S1' });
    expect(doc.lines.map((l) => [l.lineId, l.quantity, l.unitPrice.amount, l.lineTotal.amount])).toEqual([
      ['9', 2, 333, 666],
      ['9-r', 1, 334, 334],
    ]);
    checkIdentities(doc);
    expect(doc.totals.grandTotal.amount).toBe(1000);
  });

  it('a promotion on a split item is shared by its two lines in proportion, so neither line total goes below zero', () => {
    const [order, items] = base(
      'USD',
      '5.01',
      [
        {
          ASIN: 'B1',
          OrderItemId: '9',
          SellerSKU: 'TEE',
          QuantityOrdered: 3,
          ItemPrice: { CurrencyCode: 'USD', Amount: '10.01' },
          PromotionDiscount: { CurrencyCode: 'USD', Amount: '5.00' },
        },
      ],
      'ATVPDKIKX0DER',
    );
    const doc = toCanonicalOrder(order, [...items], { account: 'S1' });
    expect(validateDocument('order', doc)).toEqual({ valid: true, errors: [] });
    expect(doc.lines.map((l) => [l.lineId, l.quantity, l.unitPrice.amount, l.discounts?.[0].amount.amount, l.lineTotal.amount])).toEqual([
      ['9', 1, 333, 167, 166],
      ['9-r', 2, 334, 333, 335],
    ]);
    checkIdentities(doc);
    expect(doc.totals).toMatchObject({ discountTotal: { amount: 500 }, grandTotal: { amount: 501 } });
  });

  it('a total that does not add up, a float-like amount, a missing SKU or a Pending order are MappingErrors', () => {
    const item = { ASIN: 'B1', OrderItemId: '9', SellerSKU: 'TEE', QuantityOrdered: 1, ItemPrice: { CurrencyCode: 'USD', Amount: '10.00' } };
    const bad = (total: string, it: any, status = 'Unshipped') => {
      const [order] = base('USD', total, [], 'ATVPDKIKX0DER');
      return () => toCanonicalOrder({ ...order, OrderStatus: status }, [it], { account: 'S1' });
    };
    expect(bad('10.01', item)).toThrow(/add up to 1000 .* OrderTotal is 10.01/);
    expect(bad('10.00', { ...item, ItemPrice: { CurrencyCode: 'USD', Amount: '9.999' } })).toThrow(MappingError);
    expect(bad('10.00', { ...item, ItemPrice: { CurrencyCode: 'USD', Amount: 10 } })).toThrow(/decimal text/);
    expect(bad('10.00', { ...item, SellerSKU: undefined })).toThrow(/no retailer SKU/);
    expect(bad('10.00', item, 'Pending')).toThrow(/Pending/);
  });

  it('effective tax rates come from integers', () => {
    expect(effectiveRate(200, 1000)).toBe('0.2000');
    expect(effectiveRate(8875, 100000)).toBe('0.0888');
    expect(effectiveRate(1, 3)).toBe('0.3333');
    expect(effectiveRate(0, 0)).toBe('0.0000');
  });
});
