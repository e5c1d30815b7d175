import fc from 'fast-check';
import { toCanonicalOrder, statusOf, topicFor, toShipmentRequest, MappingError, latestChange } from '../../nodes/bol/map';
import { BolSimulator } from '../../simulators/bol/simulator';
import { validateDocument } from '../../nodes/model/validate';
import { fromMinor } from '../../nodes/model/money';

function order(items: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}) {
  return {
    orderId: '1043965710',
    pickupPoint: false,
    orderPlacedDateTime: '2026-11-20T10:00:00+01:00',
    shipmentDetails: {
      firstName: 'Sam',
      surname: 'de Vries',
      streetName: 'Oudegracht',
      houseNumber: '12',
      zipCode: '3511 AB',
      city: 'Utrecht',
      countryCode: 'NL',
      email: 'x@verkopen.test.bol.com',
    },
    orderItems: items.map((it, i) => ({
      orderItemId: `600000000${i}`,
      cancellationRequest: false,
      fulfilment: { method: 'FBR', distributionParty: 'RETAILER', latestDeliveryDate: '2026-11-22' },
      offer: { offerId: 'o-1', reference: `SKU-${i}` },
      product: { ean: `871000000000${i}`, title: `item ${i}` },
      quantity: 1,
      quantityShipped: 0,
      quantityCancelled: 0,
      unitPrice: 10,
      commission: 1.5,
      latestChangedDateTime: `2026-11-20T10:0${i}:00+01:00`,
      ...it,
    })),
    ...extra,
  };
}

describe('bol map: order → canonical Order', () => {
  it('maps lines, totals (exact, tax included), channel, customer, address and payment; valid', () => {
    const doc = toCanonicalOrder(
      order([
        { unitPrice: 19.99, quantity: 3 },
        { unitPrice: 0.1, quantity: 7 },
      ]),
      { account: 'retailer-1' },
    );
    expect(validateDocument('order', doc)).toEqual({ valid: true, errors: [] });
    expect(doc.channel).toEqual({ system: 'bol', account: 'retailer-1', id: '1043965710' });
    expect(doc.id).toBe('bol:retailer-1:1043965710');
    expect(doc.currency).toBe('EUR');
    expect(doc.lines.map((l) => [l.sku, l.quantity, l.unitPrice.amount, l.lineTotal.amount])).toEqual([
      ['SKU-0', 3, 1999, 5997],
      ['SKU-1', 7, 10, 70],
    ]);
    expect(doc.totals).toEqual({
      subtotal: { amount: 6067, currency: 'EUR' },
      discountTotal: { amount: 0, currency: 'EUR' },
      shippingTotal: { amount: 0, currency: 'EUR' },
      taxTotal: { amount: 0, currency: 'EUR' },
      grandTotal: { amount: 6067, currency: 'EUR' },
    });
    expect(doc.taxesIncluded).toBe(true);
    expect(doc.status).toBe('paid');
    expect(doc.updatedAt).toBe('2026-11-20T10:01:00+01:00');
    expect(doc.customer).toEqual({ email: 'x@verkopen.test.bol.com', name: 'Sam de Vries' });
    expect(doc.shippingAddress).toEqual({ name: 'Sam de Vries', line1: 'Oudegracht 12', city: 'Utrecht', postalCode: '3511 AB', country: 'NL' });
    expect(doc.payments).toEqual([{ method: 'bol', amount: { amount: 6067, currency: 'EUR' } }]);
    expect(doc.lines[0].attributes).toMatchObject({ ean: '8710000000000', offerReference: 'SKU-0', fulfilmentMethod: 'FBR', commission: '1.5' });
  });

  it('exact money in 0, 2 and 3 decimal currencies (the simulator extension `currency`)', () => {
    const jpy = toCanonicalOrder(order([{ unitPrice: 1980, quantity: 3 }], { currency: 'JPY' }), { account: 'r' });
    expect(jpy.totals.grandTotal).toEqual({ amount: 5940, currency: 'JPY' });
    const kwd = toCanonicalOrder(
      order(
        [
          { unitPrice: 12.345, quantity: 3 },
          { unitPrice: 0.005, quantity: 1 },
        ],
        { currency: 'KWD' },
      ),
      { account: 'r' },
    );
    expect(kwd.totals.grandTotal).toEqual({ amount: 37040, currency: 'KWD' });
    expect(validateDocument('order', kwd).valid).toBe(true);
    // 0.1 + 0.2 in floats is 0.30000000000000004; in minor units it is 30.
    const eur = toCanonicalOrder(order([{ unitPrice: 0.1 }, { unitPrice: 0.2 }]), { account: 'r' });
    expect(eur.totals.grandTotal.amount).toBe(30);
  });

  it('too many decimals for the currency, a missing SKU or bad quantities are mapping errors', () => {
    expect(() => toCanonicalOrder(order([{ unitPrice: 1.999 }]), { account: 'r' })).toThrow(/unitPrice: 1.999 has 3 decimals but EUR allows 2/);
    expect(() => toCanonicalOrder(order([{ unitPrice: 10.5 }], { currency: 'JPY' }), { account: 'r' })).toThrow(MappingError);
    expect(() => toCanonicalOrder(order([{ offer: { offerId: 'x' } }]), { account: 'r' })).toThrow(/no retailer SKU/);
    expect(() => toCanonicalOrder(order([{ quantity: 0 }]), { account: 'r' })).toThrow(/quantity must be a whole number/);
    expect(() => toCanonicalOrder(order([{ quantity: 2, quantityShipped: 2, quantityCancelled: 1 }]), { account: 'r' })).toThrow(/exceeds/);
    expect(() => toCanonicalOrder(order([{ unitPrice: '12,50' }]), { account: 'r' })).toThrow(MappingError);
    // EAN as SKU, and an SKU map
    expect(toCanonicalOrder(order([{}]), { account: 'r', skuFrom: 'ean' }).lines[0].sku).toBe('8710000000000');
    expect(toCanonicalOrder(order([{}]), { account: 'r', skuMap: { 'SKU-0': 'TW-1' } }).lines[0].sku).toBe('TW-1');
  });

  it('status from quantities; topics', () => {
    expect(statusOf([{ quantity: 2 }])).toBe('paid');
    expect(statusOf([{ quantity: 2, quantityShipped: 1 }])).toBe('partially_fulfilled');
    expect(statusOf([{ quantity: 2, quantityShipped: 1, quantityCancelled: 1 }])).toBe('fulfilled');
    expect(
      statusOf([
        { quantity: 2, quantityCancelled: 2 },
        { quantity: 1, quantityCancelled: 1 },
      ]),
    ).toBe('cancelled');
    expect(topicFor({ status: 'cancelled' })).toBe('order.cancelled');
    expect(topicFor({ status: 'fulfilled' })).toBe('item.fulfilled');
    expect(topicFor({ status: 'paid' })).toBe('order.accepted');
    const cancelled = toCanonicalOrder(order([{ quantityCancelled: 1 }]), { account: 'r' });
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.payments).toBeUndefined();
    expect(latestChange(order([{}, {}]))).toBe('2026-11-20T10:01:00+01:00');
  });

  it('property: any unit prices and quantities in EUR, JPY and KWD map exactly', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('EUR', 'JPY', 'KWD'),
        fc.array(fc.record({ unit: fc.integer({ min: 0, max: 10_000_000 }), quantity: fc.integer({ min: 1, max: 50 }) }), { minLength: 1, maxLength: 6 }),
        (currency, lines) => {
          const o = order(
            lines.map((l) => ({ unitPrice: Number(fromMinor(l.unit, currency)), quantity: l.quantity })),
            { currency },
          );
          const doc = toCanonicalOrder(o, { account: 'r' });
          expect(doc.totals.grandTotal.amount).toBe(lines.reduce((s, l) => s + l.unit * l.quantity, 0));
          expect(validateDocument('order', doc).valid).toBe(true);
        },
      ),
    );
  });

  it("every simulator order maps exactly to the simulator's own total, in EUR, JPY, KWD and GBP", () => {
    const sim = new BolSimulator({ orders: 400, currencies: ['EUR', 'JPY', 'KWD', 'GBP'], now: () => Date.parse('2026-11-27T00:00:00Z') });
    const sums: Record<string, number> = {};
    for (const id of sim.orderIds()) {
      const doc = toCanonicalOrder(sim.order(id)!, { account: 'r' });
      expect(validateDocument('order', doc).valid).toBe(true);
      expect(doc.totals.grandTotal).toEqual(sim.total(id));
      sums[doc.currency] = (sums[doc.currency] ?? 0) + doc.totals.grandTotal.amount;
    }
    expect(Object.keys(sums).sort()).toEqual(['EUR', 'GBP', 'JPY', 'KWD']);
  });
});

describe('bol map: canonical Shipment → bol shipment request', () => {
  const shipment = {
    kind: 'shipment' as const,
    shipmentId: 'WH/OUT/00012',
    order: { id: 'bol:r:1043965710', channel: { system: 'bol', account: 'r', id: '1043965710' } },
    shippedAt: '2026-11-21T09:00:00Z',
    carrier: 'PostNL',
    trackingNumber: '3SBOL0987654321',
    lines: [{ sku: 'SKU-0', quantity: 2, lineId: '6000000000' }],
  };
  it('maps lines by orderItemId, the carrier to a transporter code, the shipment id as reference', () => {
    expect(toShipmentRequest(shipment)).toEqual({
      orderItems: [{ orderItemId: '6000000000', quantity: 2 }],
      shipmentReference: 'WH/OUT/00012',
      transport: { transporterCode: 'TNT', trackAndTrace: '3SBOL0987654321' },
    });
    expect(() => toShipmentRequest({ ...shipment, lines: [{ sku: 'SKU-0', quantity: 1 }] })).toThrow(/no lineId/);
    expect(() => toShipmentRequest({ ...shipment, carrier: 'Pigeon post' })).toThrow(/no bol transporter code/);
    expect(toShipmentRequest({ ...shipment, carrier: 'Pigeon post' }, { 'Pigeon post': 'OTHER' }).transport?.transporterCode).toBe('OTHER');
  });
});
