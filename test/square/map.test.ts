/** Square → canonical mapping: valid documents whose sums equal Square's own totals to the minor unit. */
import { validateDocument } from '../../nodes/model/validate';
import { mapSquareOrder, SquareMappingError } from '../../nodes/square/map';
import { businessDate } from '../../nodes/model/business-date';
import { percentToRate } from '../../nodes/square/pricing';
import { SquareSimulator } from '../../simulators/square/simulator';
import type { SqOrder } from '../../nodes/square/types';
import { SKU_MAP } from './support';

const sim = new SquareSimulator({ seed: 3 });
const opts = { skuMap: SKU_MAP };

function sumTenders(doc: any): number {
  return doc.tenders.reduce((s: number, t: any) => s + t.amount.amount, 0);
}

describe('Square order → canonical Sale', () => {
  it('maps 300 random sales in GBP (VAT included), USD (tax added) and JPY exactly, tips kept out of the sale', () => {
    for (let i = 0; i < 300; i++) {
      const o = sim.randomSale(['L-LDN', 'L-NYC', 'L-TYO'][i % 3], { tip: i % 7 === 0 });
      const m = mapSquareOrder(o, opts);
      if (m.kind === 'skip') throw new Error(m.reason);
      expect(validateDocument('sale', m.doc).errors).toEqual([]);
      const d = m.doc;
      const tip = o.total_tip_money?.amount ?? 0;
      expect(d.totals.grandTotal.amount).toBe(o.total_money.amount - tip);
      expect(sumTenders(d)).toBe(d.totals.grandTotal.amount);
      expect(d.totals.taxTotal.amount).toBe(o.total_tax_money!.amount);
      expect(d.totals.discountTotal.amount).toBe(o.total_discount_money!.amount);
      expect(d.currency).toBe(o.total_money.currency);
      for (const l of d.lines)
        expect(l.lineTotal.amount).toBe(l.quantity * l.unitPrice.amount - (l.discounts ?? []).reduce((s: number, x: any) => s + x.amount.amount, 0));
      expect(d).toMatchObject({
        saleId: o.id,
        storeId: o.location_id,
        terminalId: o.source!.name!.replace(/ /g, '-'),
        sequence: 1,
        taxesIncluded: o.location_id !== 'L-NYC',
      });
      expect(m.key).toBe(`sale:${o.location_id}:${d.terminalId}:${o.id}`);
      if (tip) expect(d.attributes.tipMinor).toBe(String(tip));
    }
  });

  it('maps a JPY sale to the yen: amounts copied, never scaled', () => {
    const o = sim.createOrder({
      location_id: 'L-TYO',
      source: { name: 'Register 1' },
      line_items: [
        {
          uid: 'a',
          name: '煎茶',
          quantity: '3',
          catalog_object_id: 'VAR-SENCHA',
          base_price_money: { amount: 1620, currency: 'JPY' },
          applied_taxes: [{ tax_uid: 'ct8' }],
        },
        {
          uid: 'b',
          name: '急須',
          quantity: '1',
          catalog_object_id: 'VAR-KYUSU',
          base_price_money: { amount: 5500, currency: 'JPY' },
          applied_taxes: [{ tax_uid: 'ct10' }],
          applied_discounts: [{ discount_uid: 'c500' }],
        },
      ],
      taxes: [
        { uid: 'ct8', name: '消費税 8%', percentage: '8', type: 'INCLUSIVE' },
        { uid: 'ct10', name: '消費税 10%', percentage: '10', type: 'INCLUSIVE' },
      ],
      discounts: [{ uid: 'c500', name: '500円OFF', type: 'FIXED_AMOUNT', amount_money: { amount: 500, currency: 'JPY' } }],
    });
    const paid = sim.payOrder(o.id, [{ type: 'CASH' }]);
    const m = mapSquareOrder(paid, { skuMap: { 'VAR-SENCHA': 'SENCHA-100G', 'VAR-KYUSU': 'KYUSU-TEAPOT-350' }, timeZone: 'Asia/Tokyo' });
    if (m.kind === 'skip') throw new Error(m.reason);
    expect(m.doc.totals).toEqual({
      subtotal: { amount: 10360, currency: 'JPY' },
      discountTotal: { amount: 500, currency: 'JPY' },
      taxTotal: { amount: 360 + 455, currency: 'JPY' },
      grandTotal: { amount: 9860, currency: 'JPY' },
    });
    expect(m.doc.lines[1]).toMatchObject({
      sku: 'KYUSU-TEAPOT-350',
      quantity: 1,
      unitPrice: { amount: 5500 },
      lineTotal: { amount: 5000 },
      taxes: [{ rate: '0.10', amount: { amount: 455 } }],
    });
    expect(m.doc.tenders).toEqual([{ type: 'cash', amount: { amount: 9860, currency: 'JPY' }, reference: expect.any(String) }]);
    expect(m.doc.businessDate).toBe(businessDate(paid.closed_at!, 'Asia/Tokyo'));
  });

  it('maps an itemized return to negative lines and refund tenders, linked to the original sale', () => {
    const sale = sim.randomSale('L-NYC');
    const { order } = sim.returnItems(sale.id, [{ lineUid: sale.line_items![0].uid!, quantity: '1' }]);
    const m = mapSquareOrder(order, { ...opts, sourceOrder: sale });
    if (m.kind === 'skip') throw new Error(m.reason);
    expect(m.topic).toBe('return.completed');
    expect(m.doc.returnOf).toEqual({ saleId: sale.id, storeId: 'L-NYC', terminalId: expect.any(String) });
    expect(m.doc.lines.every((l: any) => l.quantity < 0 && l.lineTotal.amount < 0)).toBe(true);
    expect(m.doc.totals.grandTotal.amount).toBe(-order.return_amounts!.total_money!.amount);
    expect(sumTenders(m.doc)).toBe(m.doc.totals.grandTotal.amount);
    expect(m.doc.tenders[0].type).toBe(sale.tenders![0].type === 'CASH' ? 'cash' : 'card');
  });

  it('holds a return back while its refund is pending, and skips orders that are not completed', () => {
    const sale = sim.randomSale('L-LDN');
    const { order } = sim.returnItems(sale.id, [{ lineUid: sale.line_items![0].uid!, quantity: '1' }], { refundStatus: 'PENDING' });
    expect(mapSquareOrder(order, opts)).toEqual({ kind: 'skip', reason: expect.stringContaining('pending') });
    const open = sim.createOrder({
      location_id: 'L-LDN',
      line_items: [{ quantity: '1', catalog_object_id: Object.keys(SKU_MAP)[0], base_price_money: { amount: 100, currency: 'GBP' } }],
    });
    expect(mapSquareOrder(open, opts).kind).toBe('skip');
  });

  it('fails (for the dead-letter store) on an unmapped SKU, a fractional quantity, or figures that do not add up', () => {
    const sale = sim.randomSale('L-LDN');
    expect(() => mapSquareOrder(sale, { skuMap: {} })).toThrow(SquareMappingError);
    expect(() => mapSquareOrder(sale, { skuMap: {} })).toThrow(/no SKU mapped for catalog object/);
    const bent: SqOrder = JSON.parse(JSON.stringify(sale));
    bent.total_money.amount += 1;
    bent.net_amounts!.total_money!.amount += 1;
    expect(() => mapSquareOrder(bent, opts)).toThrow(/differs from Square's net total/);
    const frac: SqOrder = JSON.parse(JSON.stringify(sale));
    frac.line_items![0].quantity = '1.5';
    expect(() => mapSquareOrder(frac, opts)).toThrow(/only whole, positive quantities/);
  });
});

describe('Square order → canonical Order and Return (order mode)', () => {
  it('maps orders with their state, and returns linked to the original order', () => {
    const o = sim.createOrder({
      location_id: 'L-NYC',
      reference_id: 'WEB-1001',
      line_items: [
        {
          uid: 'l1',
          quantity: '2',
          catalog_object_id: Object.keys(SKU_MAP)[1],
          base_price_money: { amount: 2500, currency: 'USD' },
          applied_taxes: [{ tax_uid: 'ny' }],
        },
      ],
      taxes: [{ uid: 'ny', name: 'NY', percentage: '8.875', type: 'ADDITIVE' }],
      fulfillments: [{ type: 'SHIPMENT', state: 'PROPOSED' }],
    });
    const open = mapSquareOrder(o, { ...opts, mode: 'auto' });
    if (open.kind === 'skip') throw new Error(open.reason);
    expect(open).toMatchObject({
      kind: 'order',
      topic: 'order.accepted',
      doc: { status: 'accepted', channelOrderNumber: 'WEB-1001', totals: { grandTotal: { amount: 5444 }, taxTotal: { amount: 444 } } },
    });
    expect(validateDocument('order', open.doc).errors).toEqual([]);
    const paid = sim.payOrder(o.id);
    const done = mapSquareOrder(paid, { ...opts, mode: 'order' });
    expect(done).toMatchObject({ kind: 'order', topic: 'item.fulfilled', doc: { status: 'fulfilled', payments: [{ amount: { amount: 5444 } }] } });
    const { order } = sim.returnItems(o.id, [{ lineUid: 'l1', quantity: '1' }]);
    const ret = mapSquareOrder(order, { ...opts, mode: 'order', sourceOrder: paid });
    if (ret.kind === 'skip') throw new Error(ret.reason);
    expect(validateDocument('return', ret.doc).errors).toEqual([]);
    expect(ret).toMatchObject({
      kind: 'return',
      topic: 'refund.issued',
      doc: {
        status: 'refunded',
        originalOrder: { id: `square:${o.id}` },
        totals: { refundTotal: { amount: 2722 } },
        refunds: [{ amount: { amount: 2722 }, method: 'card' }],
      },
    });
    const canceled = sim.cancelOrder(
      sim.createOrder({
        location_id: 'L-NYC',
        line_items: [{ quantity: '1', catalog_object_id: Object.keys(SKU_MAP)[1], base_price_money: { amount: 100, currency: 'USD' } }],
      }).id,
    );
    expect(mapSquareOrder(canceled, { ...opts, mode: 'order' })).toMatchObject({ topic: 'order.cancelled', doc: { status: 'cancelled' } });
  });

  it('turns percentages into rate text exactly', () => {
    expect(['20', '8.875', '10', '0', '5.5', '100'].map(percentToRate)).toEqual(['0.20', '0.08875', '0.10', '0.00', '0.055', '1.00']);
  });
});
