/**
 * The canonical model's business rules, property-based: documents built consistently pass; one
 * figure, sign, id, date or quantity changed makes the rule it breaks fail, in a sentence that
 * names it with the figures.
 */
import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_BOUNDS, DEFAULT_DATE_WINDOW, ruleViolations, validateDocument, DocumentType } from '../../nodes/model/validate';
import type { Order, Sale, Settlement, TillClose } from '../../nodes/model/types.generated';

const NOW = Date.UTC(2026, 11, 4, 12, 0, 0);
const DAY = 86_400_000;
const clock = { now: NOW, dateWindow: DEFAULT_DATE_WINDOW };
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/canonical', name), 'utf8'));
const clone = <T>(v: T): T => structuredClone(v);
const m = (amount: number, currency: string) => ({ amount, currency });
const rulesOf = (type: DocumentType, doc: unknown) => ruleViolations(type, doc, clock).map((v) => v.rule);

const currencyArb = fc.constantFrom('GBP', 'USD', 'JPY', 'KWD', 'EUR');
/** An instant inside the default window (up to 29 days back), as the till writes it. */
const recentArb = fc.integer({ min: 0, max: 29 * DAY }).map((back) => new Date(NOW - back).toISOString());

/** Splits `total` into 1–3 tenders that add up to it exactly. */
function tendersFor(total: number, cuts: number[], currency: string, types: string[]) {
  const amounts: number[] = [];
  let rest = total;
  for (const c of cuts) {
    const part = Math.trunc(total * c);
    amounts.push(part);
    rest -= part;
  }
  amounts.push(rest);
  return amounts.map((a, i) => ({ type: types[i % types.length], amount: m(a, currency) }));
}

const saleLineArb = fc.record({
  quantity: fc.integer({ min: -20, max: 20 }).filter((q) => q !== 0),
  unit: fc.integer({ min: 0, max: 500_000 }),
  discountShare: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
  taxes: fc.array(fc.integer({ min: 0, max: 50_000 }), { maxLength: 2 }),
});

/** A sale whose lines, discounts, taxes, totals and tenders add up exactly, dated recently. */
const saleArb = fc
  .record({
    currency: currencyArb,
    taxesIncluded: fc.boolean(),
    lines: fc.array(saleLineArb, { minLength: 1, maxLength: 8 }),
    cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 2 }),
    tenderTypes: fc.shuffledSubarray(['cash', 'card', 'gift_card', 'voucher', 'mobile'], { minLength: 3, maxLength: 3 }),
    occurredAt: recentArb,
  })
  .map(({ currency, taxesIncluded, lines, cuts, tenderTypes, occurredAt }): Sale => {
    const saleLines = lines.map((l, i) => {
      const sign = Math.sign(l.quantity);
      const gross = l.quantity * l.unit;
      const discount = l.discountShare === undefined ? 0 : sign * Math.floor(Math.abs(gross) * l.discountShare);
      return {
        lineId: String(i + 1),
        sku: `SKU-${i}`,
        quantity: l.quantity,
        unitPrice: m(l.unit, currency),
        lineTotal: m(gross - discount, currency),
        ...(l.discountShare === undefined ? {} : { discounts: [{ kind: 'promotion' as const, amount: m(discount, currency) }] }),
        ...(l.taxes.length ? { taxes: l.taxes.map((t, j) => ({ code: `T${j}`, rate: '0.20', amount: m(sign * t, currency) })) } : {}),
      };
    });
    const subtotal = saleLines.reduce((s, l) => s + l.quantity * l.unitPrice.amount, 0);
    const discountTotal = saleLines.reduce((s, l) => s + (l.discounts ?? []).reduce((a, d) => a + d.amount.amount, 0), 0);
    const taxTotal = saleLines.reduce((s, l) => s + (l.taxes ?? []).reduce((a, t) => a + t.amount.amount, 0), 0);
    const grandTotal = subtotal - discountTotal + (taxesIncluded ? 0 : taxTotal);
    return {
      kind: 'sale',
      saleId: 'S-1',
      storeId: 'LDN-042',
      terminalId: 'T03',
      sequence: 1,
      occurredAt,
      businessDate: occurredAt.slice(0, 10),
      currency,
      lines: saleLines,
      tenders: tendersFor(grandTotal, cuts, currency, tenderTypes) as Sale['tenders'],
      totals: {
        subtotal: m(subtotal, currency),
        discountTotal: m(discountTotal, currency),
        taxTotal: m(taxTotal, currency),
        grandTotal: m(grandTotal, currency),
      },
      taxesIncluded,
    };
  });

/** An order whose lines, shipping, order-level discounts and taxes add up exactly. */
const orderArb = fc
  .record({
    currency: currencyArb,
    taxesIncluded: fc.boolean(),
    lines: fc.array(
      fc.record({
        quantity: fc.integer({ min: 1, max: 50 }),
        unit: fc.integer({ min: 0, max: 200_000 }),
        discountShare: fc.double({ min: 0, max: 1, noNaN: true }),
        tax: fc.integer({ min: 0, max: 20_000 }),
      }),
      { minLength: 1, maxLength: 6 },
    ),
    shipping: fc.array(fc.record({ amount: fc.integer({ min: 0, max: 5_000 }), tax: fc.integer({ min: 0, max: 1_000 }) }), { maxLength: 2 }),
    orderDiscountShare: fc.double({ min: 0, max: 1, noNaN: true }),
    orderTax: fc.integer({ min: 0, max: 1_000 }),
    createdAt: recentArb,
    updatedAfter: fc.integer({ min: 0, max: DAY }),
  })
  .map((o): Order => {
    const cur = o.currency;
    const lines = o.lines.map((l, i) => {
      const gross = l.quantity * l.unit;
      const discount = Math.floor(gross * l.discountShare);
      return {
        lineId: `L${i}`,
        sku: `SKU-${i}`,
        quantity: l.quantity,
        unitPrice: m(l.unit, cur),
        lineTotal: m(gross - discount, cur),
        discounts: [{ kind: 'promotion' as const, amount: m(discount, cur) }],
        taxes: [{ code: 'T', rate: '0.08875', amount: m(l.tax, cur) }],
      };
    });
    const shipping = o.shipping.map((s) => ({ amount: m(s.amount, cur), taxes: [{ code: 'T', rate: '0.1', amount: m(s.tax, cur) }] }));
    const lineTotals = lines.reduce((s, l) => s + l.lineTotal.amount, 0);
    const orderDiscount = Math.floor(lineTotals * o.orderDiscountShare);
    const subtotal = lines.reduce((s, l) => s + l.quantity * l.unitPrice.amount, 0);
    const discountTotal = lines.reduce((s, l) => s + l.discounts[0].amount.amount, 0) + orderDiscount;
    const shippingTotal = shipping.reduce((s, c) => s + c.amount.amount, 0);
    const taxTotal = lines.reduce((s, l) => s + l.taxes[0].amount.amount, 0) + shipping.reduce((s, c) => s + c.taxes[0].amount.amount, 0) + o.orderTax;
    const grandTotal = subtotal - discountTotal + shippingTotal + (o.taxesIncluded ? 0 : taxTotal);
    return {
      kind: 'order',
      id: 'ord-1',
      channel: { system: 'shopify', account: 'shop', id: '1' },
      status: 'paid',
      createdAt: o.createdAt,
      updatedAt: new Date(Date.parse(o.createdAt) + o.updatedAfter).toISOString(),
      currency: cur,
      lines,
      ...(shipping.length ? { shipping } : {}),
      discounts: [{ kind: 'coupon', amount: m(orderDiscount, cur) }],
      taxes: [{ code: 'T', rate: '0.01', amount: m(o.orderTax, cur) }],
      payments: [{ method: 'card', amount: m(grandTotal, cur) }],
      totals: {
        subtotal: m(subtotal, cur),
        discountTotal: m(discountTotal, cur),
        shippingTotal: m(shippingTotal, cur),
        taxTotal: m(taxTotal, cur),
        grandTotal: m(grandTotal, cur),
      },
      taxesIncluded: o.taxesIncluded,
    };
  });

/** A till close whose counts, totals, sequence range and tenders agree. */
const tillCloseArb = fc
  .record({
    currency: currencyArb,
    sales: fc.array(fc.integer({ min: -5_000, max: 100_000 }), { maxLength: 20 }),
    returns: fc.array(fc.integer({ min: -50_000, max: 0 }), { maxLength: 5 }),
    cardShare: fc.double({ min: 0, max: 1, noNaN: true }),
    first: fc.integer({ min: 1, max: 100_000 }),
    closedAt: recentArb,
  })
  .map((c): TillClose => {
    const cur = c.currency;
    const salesTotal = c.sales.reduce((a, b) => a + b, 0);
    const returnsTotal = c.returns.reduce((a, b) => a + b, 0);
    const net = salesTotal + returnsTotal;
    const card = Math.trunc(net * c.cardShare);
    const count = c.sales.length + c.returns.length;
    return {
      kind: 'till.close',
      storeId: 'LDN-042',
      terminalId: 'T03',
      businessDate: c.closedAt.slice(0, 10),
      closedAt: c.closedAt,
      currency: cur,
      ...(count ? { firstSequence: c.first, lastSequence: c.first + count - 1 } : {}),
      sales: { count: c.sales.length, total: m(salesTotal, cur) },
      returns: { count: c.returns.length, total: m(returnsTotal, cur) },
      net: m(net, cur),
      ...(count
        ? {
            tenders: [
              { type: 'card', count, amount: m(card, cur) },
              { type: 'cash', count, amount: m(net - card, cur) },
            ],
          }
        : {}),
    };
  });

const settlementArb = fc
  .record({ currency: currencyArb, amounts: fc.array(fc.integer({ min: -100_000, max: 100_000 }), { maxLength: 30 }), end: recentArb })
  .map(({ currency, amounts, end }): Settlement => ({
    kind: 'settlement',
    settlementId: '1',
    channel: { system: 'amazon', id: '1' },
    periodStart: new Date(Date.parse(end) - 14 * DAY).toISOString(),
    periodEnd: end,
    currency,
    netTotal: m(
      amounts.reduce((a, b) => a + b, 0),
      currency,
    ),
    lines: amounts.map((a, i) => ({ lineId: String(i + 1), type: a < 0 ? ('fee' as const) : ('principal' as const), amount: m(a, currency) })),
  }));

describe('consistent documents pass', () => {
  it('every generated sale (sold, returned and exchanged lines, with or without tax on top) is valid', () => {
    fc.assert(
      fc.property(saleArb, (sale) => expect(validateDocument('sale', sale, clock)).toEqual({ valid: true, errors: [] })),
      { numRuns: 300 },
    );
  });

  it('every generated order (line, shipping and order-level discounts and taxes) is valid', () => {
    fc.assert(
      fc.property(orderArb, (order) => expect(validateDocument('order', order, clock)).toEqual({ valid: true, errors: [] })),
      { numRuns: 300 },
    );
  });

  it('every generated till close and settlement is valid', () => {
    fc.assert(
      fc.property(tillCloseArb, (close) => expect(validateDocument('till-close', close, clock)).toEqual({ valid: true, errors: [] })),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(settlementArb, (s) => expect(validateDocument('settlement', s, clock)).toEqual({ valid: true, errors: [] })),
      { numRuns: 200 },
    );
  });
});

describe('one figure changed breaks the rule that names it', () => {
  type Mutation = [rule: string, apply: (sale: Sale, at: number) => boolean];
  const saleMutations: Mutation[] = [
    ['line-total', (s, i) => ((s.lines[i].lineTotal.amount += i % 2 ? 1 : -1), true)],
    ['subtotal', (s) => ((s.totals.subtotal.amount += 1), true)],
    ['discount-total', (s) => ((s.totals.discountTotal.amount -= 1), true)],
    ['tax-total', (s) => ((s.totals.taxTotal.amount += 1), true)],
    ['grand-total', (s) => ((s.totals.grandTotal.amount -= 1), true)],
    ['tenders', (s) => ((s.tenders[0].amount.amount += 1), true)],
    ['line-signs', (s, i) => s.lines[i].lineTotal.amount !== 0 && ((s.lines[i].lineTotal.amount *= -1), true)],
    ['unique-line-ids', (s, i) => s.lines.length > 1 && ((s.lines[(i + 1) % s.lines.length].lineId = s.lines[i].lineId), true)],
    ['max-quantity', (s, i) => ((s.lines[i].quantity = Math.sign(s.lines[i].quantity) * (DEFAULT_BOUNDS.maxQuantity + 1)), true)],
    ['business-date', (s) => ((s.businessDate = '1994-03-14'), true)],
    ['date-window', (s) => ((s.occurredAt = new Date(NOW - 31 * DAY).toISOString()), (s.businessDate = s.occurredAt.slice(0, 10)), true)],
    ['date-window', (s) => ((s.occurredAt = new Date(NOW + 2 * DAY + 1000).toISOString()), (s.businessDate = s.occurredAt.slice(0, 10)), true)],
    [
      'sale-sign',
      (s) => {
        if (s.lines.some((l) => l.quantity < 0) || s.totals.grandTotal.amount <= 0) return false;
        s.totals.grandTotal.amount = -s.totals.grandTotal.amount;
        return true;
      },
    ],
  ];

  it('a sale: a total ±1 minor unit, a flipped sign, a duplicate line id, an absurd quantity, a date out of the window', () => {
    fc.assert(
      fc.property(saleArb, fc.nat(), fc.integer({ min: 0, max: saleMutations.length - 1 }), (sale, pick, which) => {
        const [rule, mutate] = saleMutations[which];
        const bad = clone(sale);
        fc.pre(mutate(bad, pick % bad.lines.length));
        expect(rulesOf('sale', bad)).toContain(rule);
        const { valid, errors } = validateDocument('sale', bad, clock);
        expect(valid).toBe(false);
        expect(errors.length).toBeGreaterThan(0);
      }),
      { numRuns: 600 },
    );
  });

  it('an order: each total and each line ±1, a negative amount, a duplicate line id', () => {
    const mutations: Array<[string, (o: Order, i: number) => boolean]> = [
      ['line-total', (o, i) => ((o.lines[i].lineTotal.amount += 1), true)],
      ['subtotal', (o) => ((o.totals.subtotal.amount -= 1), true)],
      ['discount-total', (o) => ((o.totals.discountTotal.amount += 1), true)],
      ['shipping-total', (o) => ((o.totals.shippingTotal.amount += 1), true)],
      ['tax-total', (o) => ((o.totals.taxTotal.amount -= 1), true)],
      ['grand-total', (o) => ((o.totals.grandTotal.amount += 1), true)],
      ['order-signs', (o, i) => ((o.lines[i].taxes![0].amount.amount = -1), true)],
      ['unique-line-ids', (o, i) => o.lines.length > 1 && ((o.lines[(i + 1) % o.lines.length].lineId = o.lines[i].lineId), true)],
      ['date-order', (o) => ((o.updatedAt = new Date(Date.parse(o.createdAt) - 1000).toISOString()), true)],
    ];
    fc.assert(
      fc.property(orderArb, fc.nat(), fc.integer({ min: 0, max: mutations.length - 1 }), (order, pick, which) => {
        const [rule, mutate] = mutations[which];
        const bad = clone(order);
        fc.pre(mutate(bad, pick % bad.lines.length));
        expect(rulesOf('order', bad)).toContain(rule);
        expect(validateDocument('order', bad, clock).valid).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('a till close and a settlement: net, tenders and the sign of returns', () => {
    fc.assert(
      fc.property(tillCloseArb, fc.constantFrom('net', 'tenders', 'close-signs'), (close, rule) => {
        const bad = clone(close);
        if (rule === 'net') bad.net.amount += 1;
        if (rule === 'tenders') {
          fc.pre(!!bad.tenders);
          bad.tenders![0].amount.amount -= 1;
        }
        if (rule === 'close-signs') {
          bad.returns.total.amount = 1;
          bad.returns.count = Math.max(1, bad.returns.count);
        }
        expect(rulesOf('till-close', bad)).toContain(rule);
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(settlementArb, fc.integer({ min: 1, max: 1000 }), (s, delta) => {
        const bad = clone(s);
        bad.netTotal.amount += delta;
        expect(rulesOf('settlement', bad)).toEqual(['net-total']);
      }),
      { numRuns: 100 },
    );
  });
});

describe('the sentences name the rule and the figures', () => {
  it('a sale', () => {
    const sale = fixture('sale.json');
    sale.lines[0].lineTotal.amount += 1;
    sale.totals.grandTotal.amount = 1200;
    sale.tenders[1].amount.amount = 5000;
    expect(validateDocument('sale', sale).errors).toEqual([
      'lines[0].lineTotal 40.00 GBP ≠ quantity 1 × unitPrice 49.99 GBP − discounts 10.00 GBP = 39.99 GBP',
      'totals.grandTotal 12.00 GBP ≠ subtotal 79.97 GBP − discountTotal 10.00 GBP = 69.97 GBP (prices include tax)',
      'tenders add up to 70.00 GBP ≠ totals.grandTotal 12.00 GBP',
    ]);
  });

  it('a US order with tax on top, and a negative amount in it', () => {
    const order = fixture('order.json');
    order.totals.grandTotal.amount = 1200;
    order.shipping[0].taxes[0].amount.amount = -62;
    expect(validateDocument('order', order).errors).toEqual([
      'shipping[0].taxes[0].amount -0.62 USD is negative: every amount in an order is zero or positive',
      'totals.taxTotal 5.77 USD ≠ line taxes 5.15 USD + shipping taxes -0.62 USD + order taxes 0.00 USD = 4.53 USD',
      'totals.grandTotal 12.00 USD ≠ subtotal 68.00 USD − discountTotal 10.00 USD + shippingTotal 6.95 USD + taxTotal 5.77 USD = 70.72 USD',
    ]);
  });

  it('yen and dinar figures are written with their own decimals', () => {
    const jpy = fixture('order-jpy.json');
    jpy.lines[0].lineTotal.amount = 4861;
    expect(validateDocument('order', jpy).errors).toContain('lines[0].lineTotal 4861 JPY ≠ quantity 3 × unitPrice 1620 JPY = 4860 JPY');
    const kwd = fixture('sale-kwd.json');
    kwd.tenders[0].amount.amount = 9999;
    expect(validateDocument('sale', kwd).errors).toEqual(['tenders add up to 11.249 KWD ≠ totals.grandTotal 11.250 KWD']);
  });

  it('a returned line with a positive total, and a return that takes money', () => {
    const sale = fixture('sale-kwd.json');
    sale.lines = [sale.lines[1]];
    sale.lines[0].lineTotal.amount = 24500;
    sale.totals = { subtotal: m(-24500, 'KWD'), discountTotal: m(0, 'KWD'), taxTotal: m(0, 'KWD'), grandTotal: m(24500, 'KWD') };
    sale.tenders = [{ type: 'cash', amount: m(24500, 'KWD') }];
    expect(validateDocument('sale', sale).errors).toEqual([
      'lines[0].lineTotal 24.500 KWD is positive but its quantity -1 is negative',
      'lines[0].lineTotal 24.500 KWD ≠ quantity -1 × unitPrice 24.500 KWD = -24.500 KWD',
      'totals.grandTotal 24.500 KWD ≠ subtotal -24.500 KWD − discountTotal 0.000 KWD + taxTotal 0.000 KWD = -24.500 KWD',
      'totals.grandTotal 24.500 KWD is positive but every line returns an item: a return cannot take money from the customer',
    ]);
  });

  it('a settlement, a journal, an available-to-sell figure beyond its basis', () => {
    const s = fixture('settlement.json');
    s.netTotal.amount += 100;
    expect(validateDocument('settlement', s).errors).toEqual(['netTotal 26.16 GBP ≠ sum of the lines = 25.16 GBP']);
    const j = fixture('journal-entry.json');
    j.lines[0].debit.amount += 1;
    expect(validateDocument('journal-entry', j).errors).toEqual([expect.stringMatching(/^journal does not balance: debits \S+ GBP ≠ credits \S+ GBP$/)]);
    const ats = fixture('available-to-sell.json');
    ats.available = 179;
    expect(validateDocument('available-to-sell', ats).errors).toEqual([
      'available 179 is more than its basis holds: onHand 160 + inTransit 40 − reserved 14 − safetyStock 8 = 178',
    ]);
  });

  it('dates are compared with the clock only when a window is given, and a calendar date counts in any time zone', () => {
    const sale = fixture('sale.json'); // 2025-03-14
    expect(validateDocument('sale', sale).valid).toBe(true);
    expect(validateDocument('sale', sale, clock).errors).toEqual([
      'occurredAt 2025-03-14T17:42:10Z is more than 30 days before now',
      'businessDate 2025-03-14 is more than 30 days before now',
    ]);
    const tomorrowInKiribati = { ...sale, occurredAt: '2026-12-05T09:00:00+14:00', businessDate: '2026-12-05' };
    expect(validateDocument('sale', tomorrowInKiribati, { now: new Date('2026-12-04T19:30:00Z'), dateWindow: { pastDays: 30, futureDays: 0 } }).errors).toEqual(
      [],
    );
    const order = fixture('order.json'); // created in 2025, updated now: news today
    order.updatedAt = new Date(NOW).toISOString();
    expect(validateDocument('order', order, clock).errors).toEqual([]);
  });
});
