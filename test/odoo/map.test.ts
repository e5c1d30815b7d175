import fc from 'fast-check';
import { ConnectorError } from '../../nodes/runtime/http';
import { fromMinor, toMinor } from '../../nodes/model/money';
import { buildSaleOrderValues, exactLineParts, lineFieldNames, odooDatetime, originOf, prepareSaleOrder, Refs } from '../../nodes/odoo/map';
import { OdooSync } from '../../nodes/odoo/sync';
import { OdooSimulator, roundTo, SEED } from '../../simulators/odoo/simulator';
import { clientFor, fixture, startSimulator, TAX_MAP } from './support';

/** What Odoo computes for a line: round(price_unit × (1 − discount/100) × qty), in floats. */
function odooLineTotal(qty: number, priceUnit: number, discount: number, decimals: number): number {
  return roundTo(priceUnit * (1 - discount / 100) * qty, decimals);
}

describe('exact line amounts', () => {
  it('a discount becomes Odoo’s percentage when Odoo’s rounding gives the line total back', () => {
    expect(exactLineParts(1, 4999, 3999)).toEqual([{ qty: 1, unit: 4999, discountBp: 2000, netted: false }]); // 20.00 %
    expect(exactLineParts(1, 5500, 5000)).toEqual([{ qty: 1, unit: 5500, discountBp: 909, netted: false }]); // 9.09 %, JPY
    expect(exactLineParts(2, 6250, 11250)).toEqual([{ qty: 2, unit: 6250, discountBp: 1000, netted: false }]); // KWD
    expect(exactLineParts(-1, 24500, -24500)).toEqual([{ qty: -1, unit: 24500, discountBp: 0, netted: false }]);
    expect(exactLineParts(1, 1000, 0)).toEqual([{ qty: 1, unit: 1000, discountBp: 10000, netted: false }]);
  });

  it('otherwise the net unit price, or two lines when the total does not divide by the quantity', () => {
    expect(exactLineParts(1, 99999999, 99999998)).toEqual([{ qty: 1, unit: 99999998, discountBp: 0, netted: true }]);
    expect(exactLineParts(3, 100000000, 299999999)).toEqual([
      { qty: 2, unit: 99999999, discountBp: 0, netted: true },
      { qty: 1, unit: 100000001, discountBp: 0, netted: true },
    ]);
    expect(exactLineParts(-3, 100000000, -299999999)).toEqual([
      { qty: -2, unit: 99999999, discountBp: 0, netted: true },
      { qty: -1, unit: 100000001, discountBp: 0, netted: true },
    ]);
  });

  it.each([
    ['GBP', 2],
    ['JPY', 0],
    ['KWD', 3],
  ])('property (%s): Odoo’s own float computation of the parts adds up to the canonical line total exactly', (currency, decimals) => {
    fc.assert(
      fc.property(
        fc.integer({ min: -6, max: 6 }).filter((q) => q !== 0),
        fc.integer({ min: 0, max: 5_000_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (qty, unit, fraction) => {
          const gross = Math.abs(qty * unit);
          const discount = Math.floor(gross * fraction);
          const total = Math.sign(qty) * (gross - discount) || 0;
          const parts = exactLineParts(qty, unit, total);
          const odoo = parts.reduce((sum, p) => {
            const priceUnit = Number(fromMinor(p.unit, currency));
            const pct = Number(`${Math.floor(p.discountBp / 100)}.${String(p.discountBp % 100).padStart(2, '0')}`);
            return sum + toMinor(odooLineTotal(p.qty, priceUnit, pct, decimals).toFixed(decimals), currency);
          }, 0);
          expect(odoo).toBe(total);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('sale.order values', () => {
  const refs = (skus: string[]): Refs => ({
    partnerId: SEED.walkInPartnerId,
    pricelistId: 7,
    products: new Map(skus.map((sku, i) => [sku, { id: 100 + i, uomId: 1 }])),
  });

  it('GBP sale: exact floats from decimal text, discount %, tax by version, key and origin', () => {
    const sale = fixture('sale.json');
    const v = buildSaleOrderValues(sale, 'sale:LDN-042:T03:042-03-000512', refs(['JEANS-SLIM-32-32', 'SOCK-3PK-BLK', 'KIDS-TEE-7Y']), {
      version: 17,
      taxMap: TAX_MAP,
    });
    expect(v).toEqual({
      partner_id: SEED.walkInPartnerId,
      client_order_ref: 'sale:LDN-042:T03:042-03-000512',
      origin: 'POS LDN-042/T03 sale 042-03-000512',
      date_order: '2025-03-14 17:42:10',
      pricelist_id: 7,
      order_line: [
        [
          0,
          0,
          {
            product_id: 100,
            name: 'Slim Jeans Indigo 32/32',
            product_uom_qty: 1,
            product_uom: 1,
            price_unit: 49.99,
            discount: 20,
            tax_id: [[6, 0, [SEED.taxes.vat20Included]]],
          },
        ],
        [
          0,
          0,
          {
            product_id: 101,
            name: 'Socks 3-pack Black',
            product_uom_qty: 2,
            product_uom: 1,
            price_unit: 8.99,
            discount: 0,
            tax_id: [[6, 0, [SEED.taxes.vat20Included]]],
          },
        ],
        [
          0,
          0,
          { product_id: 102, name: 'Kids Tee Age 7', product_uom_qty: 1, product_uom: 1, price_unit: 12, discount: 0, tax_id: [[6, 0, [SEED.taxes.vat0]]] },
        ],
      ],
    });
    expect(lineFieldNames(19)).toEqual({ uom: 'product_uom_id', taxes: 'tax_ids' });
    const v19 = buildSaleOrderValues(sale, 'k', refs(['JEANS-SLIM-32-32', 'SOCK-3PK-BLK', 'KIDS-TEE-7Y']), { version: 19 });
    const line = (v19.order_line as any[])[0][2];
    expect(Object.keys(line)).toEqual(['product_id', 'name', 'product_uom_qty', 'product_uom_id', 'price_unit', 'discount']); // no tax map: product taxes
  });

  it('KWD exchange: the returned item is a negative-quantity line at its positive price; 3-decimal prices', () => {
    const sale = fixture('sale-kwd.json');
    const v = buildSaleOrderValues(sale, 'k', refs(['ABAYA-BLK-54', 'ABAYA-BLK-52', 'SHAYLA-SILK-GRY']), { version: 17, taxMap: TAX_MAP });
    const lines = (v.order_line as any[]).map((l) => l[2]);
    expect(lines.map((l) => [l.name, l.product_uom_qty, l.price_unit, l.discount, l.tax_id])).toEqual([
      ['Classic Abaya Black 54', 1, 24.5, 0, [[6, 0, []]]],
      ['Return: Classic Abaya Black 52 (exchanged)', -1, 24.5, 0, [[6, 0, []]]],
      ['Silk Shayla Grey', 2, 6.25, 10, [[6, 0, []]]],
    ]);
    expect(v.origin).toBe('POS KWI-AVENUES/07 sale AVN-07-004418 (returns AVN-07-004371)');
    expect(v.date_order).toBe('2025-03-16 17:31:55'); // +03:00 → UTC
  });

  it('JPY order: shipping becomes a line of the shipping product; origin names the channel', () => {
    const order = fixture('order-jpy.json');
    const v = buildSaleOrderValues(order, 'k', refs(['SENCHA-100G', 'KYUSU-TEAPOT-350', 'SHIPPING']), { version: 17, taxMap: TAX_MAP });
    const lines = (v.order_line as any[]).map((l) => l[2]);
    expect(lines.map((l) => [l.name, l.product_uom_qty, l.price_unit, l.discount])).toEqual([
      ['静岡煎茶 100g', 3, 1620, 0],
      ['常滑焼 急須 350ml', 1, 5500, 9.09],
      ['Shipping: 宅配便', 1, 550, 0],
    ]);
    expect(originOf(order)).toBe('rakuten tillwire-tea order 384726-20250315-0012345678');
    expect(odooDatetime(order.createdAt)).toBe('2025-03-15 01:24:07');
  });

  it('USD order: an order-level coupon becomes a negative line of the discount product', () => {
    const order = fixture('order.json');
    const v = buildSaleOrderValues(order, 'k', refs(['TEE-BLK-M', 'MUG-WHT-12OZ', 'SHIPPING', 'DISCOUNT']), { version: 17 });
    const lines = (v.order_line as any[]).map((l) => l[2]);
    expect(lines.map((l) => [l.name, l.product_uom_qty, l.price_unit, l.discount])).toEqual([
      ['Organic Cotton Tee - Black / M', 2, 25, 10],
      ['Stoneware Mug 12oz - White', 1, 18, 0],
      ['Shipping: Standard (3-5 business days)', 1, 6.95, 0],
      ['Discount: $5 off your first order WELCOME5', 1, -5, 0],
    ]);
    expect(originOf(order)).toBe('shopify tillwire-demo.myshopify.com order #1001');
  });
});

describe('against the simulator: Odoo’s totals equal the canonical grand totals', () => {
  let sim: OdooSimulator;
  beforeAll(async () => {
    sim = await startSimulator();
  });
  afterAll(() => sim.stop());
  beforeEach(() => sim.reset());

  it.each([
    ['sale.json', 'GBP', 6997],
    ['sale-kwd.json', 'KWD', 11250],
    ['order-jpy.json', 'JPY', 10410],
  ])('%s → amount_total %s %d, to the minor unit', async (file, currency, grand) => {
    const client = clientFor(sim);
    const sync = new OdooSync(client, { version: 17, defaultPartnerId: SEED.walkInPartnerId, taxMap: TAX_MAP });
    const doc = fixture(file);
    const result = await sync.pushOrder(doc, `key:${file}`);
    expect(result).toMatchObject({ created: true, state: 'sale', amountTotal: { amount: grand, currency } });
    expect('variance' in result).toBe(false);
    const [order] = sim.orders();
    expect(order).toMatchObject({ client_order_ref: `key:${file}`, currency, state: 'sale', lines: doc.lines.length + (doc.shipping?.length ?? 0) });
    expect(toMinor(order.amount_total, currency)).toBe(grand);
    await client.close();
  });

  it('the USD order (tax added on top, computed differently by the channel) reports the variance instead of hiding it', async () => {
    const client = clientFor(sim);
    const sync = new OdooSync(client, { version: 17, defaultPartnerId: SEED.walkInPartnerId, taxMap: TAX_MAP });
    const [partner] = await client.create('res.partner', { name: 'Jordan Lee', email: 'Jordan.Lee@example.com' });
    const result: any = await sync.pushOrder(fixture('order.json'), 'order:shopify:tillwire-demo.myshopify.com:5902184710234');
    expect(result.amountTotal.currency).toBe('USD');
    expect(result.variance).toEqual({ amount: result.amountTotal.amount - 7072, currency: 'USD' });
    expect(sim.records('sale.order', [], ['partner_id'])[0].partner_id).toEqual([partner, 'Jordan Lee']); // found by e-mail, case-insensitively
    await client.close();
  });

  it('unknown SKUs, unmapped tax codes and a missing customer: one permanent error naming them all, nothing created', async () => {
    const client = clientFor(sim);
    const sale = fixture('sale.json');
    sale.lines[0].sku = 'NOPE-1';
    sale.lines[1].sku = 'NOPE_2';
    sale.lines[2].taxes[0].code = 'VAT-ODD';
    const err: ConnectorError = await prepareSaleOrder(client, sale, 'k', { version: 17, taxMap: TAX_MAP }).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.cause).toEqual({ system: 'odoo', operation: 'sale.order', kind: 'missing-reference', retryable: false, providerCode: 'unknown_sku' });
    expect(err.description).toBe(
      'unknown SKUs in Odoo (no active product with that Internal Reference): NOPE-1, NOPE_2; tax code missing from the tax map: VAT-ODD; ' +
        'no Odoo customer for this document: set a default customer (partner id) in the Odoo connection',
    );
    expect(sim.counts()['sale.order']).toBe(0);
    await client.close();
  });

  it('a currency Odoo has no pricelist for is refused before anything is created', async () => {
    const client = clientFor(sim);
    const sale = fixture('sale.json');
    sale.currency = 'CHF';
    for (const l of sale.lines) {
      l.unitPrice.currency = 'CHF';
      l.lineTotal.currency = 'CHF';
      for (const d of l.discounts ?? []) d.amount.currency = 'CHF';
      for (const t of l.taxes ?? []) t.amount.currency = 'CHF';
    }
    for (const t of sale.tenders) t.amount.currency = 'CHF';
    for (const k of Object.keys(sale.totals)) sale.totals[k].currency = 'CHF';
    const err: ConnectorError = await prepareSaleOrder(client, sale, 'k', { version: 17, defaultPartnerId: 2 }).catch((e) => e);
    expect(err.message).toContain('Odoo has no active pricelist in CHF (and the company currency is GBP)');
    await client.close();
  });
});
