/**
 * The summary document (core/summary-document.ts): sales aggregated per SKU, unit price, taxes and
 * direction, exact to the minor unit. Property: for any valid sales of one store day, the summary
 * is a valid canonical sale whose totals, tenders and per-SKU units are exactly the sums of its
 * sales'; returns stay on their own negative lines.
 */
import fc from 'fast-check';
import { summaryDocument } from '../../nodes/core/summary-document';
import { buildSale } from '../../simulators/pos-mqtt/device-sales';
import { catalogItem } from '../../simulators/kit/catalog';
import { validateDocument } from '../../nodes/model/validate';
import type { Sale } from '../../nodes/model/types.generated';

const header = {
  key: 'summary:LDN-042:2026-03-14:3',
  storeId: 'LDN-042',
  businessDate: '2026-03-14',
  from: '2026-03-14T12:00:00.000Z',
  to: '2026-03-14T12:05:00.000Z',
  currency: 'GBP',
  taxesIncluded: true,
};

const lineArb = fc.record({
  item: fc.integer({ min: 0, max: 6 }),
  quantity: fc.integer({ min: -3, max: 5 }).filter((q) => q !== 0),
  perUnit: fc.option(fc.integer({ min: 1, max: 400 }), { nil: undefined }),
});

const saleArb = fc.array(lineArb, { minLength: 1, maxLength: 5 }).map((lines) => lines);

let n = 0;
function sale(lines: Array<{ item: number; quantity: number; perUnit?: number }>, occurredAt = '2026-03-14T12:01:00Z'): Sale {
  n++;
  return buildSale({
    saleId: `S${n}`,
    storeId: 'LDN-042',
    terminalId: `T${n % 3}`,
    sequence: n,
    occurredAt,
    businessDate: '2026-03-14',
    currency: 'GBP',
    lines: lines.map((l) => ({
      item: catalogItem(l.item),
      quantity: l.quantity,
      ...(l.perUnit ? { discount: { kind: 'promotion' as const, perUnit: l.perUnit } } : {}),
    })),
    tenders: (total) =>
      total >= 0
        ? [
            { type: 'card', amount: { amount: Math.floor(total / 2), currency: 'GBP' } },
            { type: 'cash', amount: { amount: total - Math.floor(total / 2), currency: 'GBP' } },
          ]
        : [{ type: 'cash', amount: { amount: total, currency: 'GBP' } }],
  });
}

const valid = (s: Sale) => validateDocument('sale', s).valid;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('summary document', () => {
  test('aggregates per SKU, price, tax and direction, exact to the minor unit (property)', () => {
    fc.assert(
      fc.property(fc.array(saleArb, { minLength: 1, maxLength: 25 }), (specs) => {
        const sales = specs.map((l) => sale(l)).filter(valid);
        fc.pre(sales.length > 0);
        const doc = summaryDocument(header, sales);
        expect(validateDocument('sale', doc).errors).toEqual([]);
        for (const k of ['subtotal', 'discountTotal', 'taxTotal', 'grandTotal'] as const)
          expect(doc.totals[k].amount).toBe(sum(sales.map((s) => s.totals[k].amount)));
        expect(sum(doc.tenders.map((t) => t.amount.amount))).toBe(doc.totals.grandTotal.amount);
        // Per SKU and direction the units are the sales' units, on one line each (all below the line bound here).
        const units = new Map<string, number>();
        for (const l of sales.flatMap((s) => s.lines))
          units.set(`${l.sku}${l.quantity < 0 ? '-' : '+'}`, (units.get(`${l.sku}${l.quantity < 0 ? '-' : '+'}`) ?? 0) + l.quantity);
        expect(doc.lines.length).toBe(units.size);
        for (const l of doc.lines) expect(l.quantity).toBe(units.get(`${l.sku}${l.quantity < 0 ? '-' : '+'}`));
        // The same sales in the same order give the same document (a summary built again after a crash).
        expect(summaryDocument(header, sales)).toEqual(doc);
      }),
      { numRuns: 150 },
    );
  });

  test('a return stays a negative line beside the sold units; discounts and taxes summed on their line', () => {
    const a = sale([{ item: 0, quantity: 2, perUnit: 100 }]);
    const b = sale([
      { item: 0, quantity: 1, perUnit: 100 },
      { item: 1, quantity: 1 },
    ]);
    const c = sale([{ item: 0, quantity: -1 }]);
    const doc = summaryDocument(header, [a, b, c]);
    const unit = catalogItem(0).unitPrice;
    expect(doc.lines.map((l) => [l.sku, l.quantity, l.lineTotal.amount, l.discounts?.[0]?.amount.amount ?? 0])).toEqual([
      ['SKU-0001', 3, 3 * unit - 300, 300],
      ['SKU-0002', 1, catalogItem(1).unitPrice, 0],
      ['SKU-0001', -1, -unit, 0],
    ]);
    expect(doc.lines[0].taxes).toEqual([
      {
        code: a.lines[0].taxes![0].code,
        rate: '0.2000',
        name: a.lines[0].taxes![0].name,
        amount: { amount: a.lines[0].taxes![0].amount.amount + b.lines[0].taxes![0].amount.amount, currency: 'GBP' },
      },
    ]);
    expect(doc.totals.grandTotal.amount).toBe(a.totals.grandTotal.amount + b.totals.grandTotal.amount + c.totals.grandTotal.amount);
    expect(doc).toMatchObject({ saleId: header.key, storeId: 'LDN-042', businessDate: '2026-03-14', attributes: { summaryKey: header.key, sales: '3' } });
  });

  test('a line never passes the model bound of units: more units of one kind start a second line', () => {
    const big = Array.from({ length: 3 }, () => sale([{ item: 2, quantity: 4000 }]));
    const doc = summaryDocument(header, big);
    expect(doc.lines.map((l) => l.quantity)).toEqual([8000, 4000]);
    expect(validateDocument('sale', doc).errors).toEqual([]);
    expect(doc.totals.grandTotal.amount).toBe(sum(big.map((s) => s.totals.grandTotal.amount)));
  });

  test('a sale in another currency or tax basis is refused', () => {
    const eur = { ...sale([{ item: 0, quantity: 1 }]), currency: 'EUR' };
    expect(() => summaryDocument(header, [eur])).toThrow(/EUR/);
    expect(() => summaryDocument({ ...header, taxesIncluded: false }, [sale([{ item: 0, quantity: 1 }])])).toThrow(/tax basis/);
  });
});
