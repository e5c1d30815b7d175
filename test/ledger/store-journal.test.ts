import fc from 'fast-check';
import type { JournalEntry, Sale } from '../../nodes/model/types.generated';
import { validateDocument } from '../../nodes/model/validate';
import { buildStoreJournal, MappingError, NothingToPostError, StoreJournalError, StoreJournalMapping, TENDER_TYPES } from '../../nodes/ledger/store-journal';
import { addRates, normaliseRate, ratePercent } from '../../nodes/ledger/tax-rate';
import { fixture, keyOf, makeSale } from './sales';

const MAPPING: StoreJournalMapping = {
  revenueAccounts: { '20%': '4000', '0': '4010', none: '4020', '0.08875': '4050', '0.10': '4060' },
  defaultRevenueAccount: '4090',
  taxAccounts: {
    'VAT-STD': '2200',
    'VAT-ZERO': '2200',
    'VAT-RED': '2201',
    'US-NY-STATE': '2210',
    'US-NY-CITY': '2211',
    'JP-CT10': '2220',
    'KW-X@0.05': '2230',
  },
  tenderAccounts: { cash: '1010', card: '1020', gift_card: '2400', voucher: '1030', store_credit: '2410', mobile: '1040', other: '1090' },
};

const GBP = { storeId: 'LDN-042', businessDate: '2025-03-14', currency: 'GBP' };
const gbp = (amount: number) => ({ amount, currency: 'GBP' });

/** Each line as [account, 'D'|'C', amount, memo] for compact expectations. */
function summary(j: JournalEntry) {
  return j.lines.map((l) => [l.account, l.debit ? 'D' : 'C', (l.debit ?? l.credit)!.amount, l.memo]);
}

function totals(j: JournalEntry) {
  let debit = 0;
  let credit = 0;
  for (const l of j.lines) {
    if (l.debit) debit += l.debit.amount;
    else credit += l.credit!.amount;
  }
  return { debit, credit };
}

/** credits − debits on the accounts whose code starts with one of the prefixes */
function netCredit(j: JournalEntry, prefixes: string[]): number {
  return j.lines.filter((l) => prefixes.some((p) => l.account.startsWith(p))).reduce((n, l) => n + (l.credit ? l.credit.amount : -l.debit!.amount), 0);
}

/** A store day with a sale at two VAT rates, a return refunded to card, and an exchange. */
function gbpDay(): Sale[] {
  const s1 = fixture('sale.json') as Sale;
  const s2 = makeSale({
    saleId: 'S-513',
    sequence: 513,
    lines: [
      { qty: 1, unit: 2400, taxes: [{ code: 'VAT-STD', rate: '0.20', amount: 400 }] },
      { qty: 1, unit: 1050, taxes: [{ code: 'VAT-RED', rate: '0.05', amount: 50 }] },
    ],
    tenders: [{ type: 'cash' }],
  });
  const s3 = makeSale({
    saleId: 'S-514',
    sequence: 514,
    lines: [{ qty: -2, unit: 899, taxes: [{ code: 'VAT-STD', rate: '0.2000', amount: -300 }] }],
    tenders: [{ type: 'card' }],
  });
  const s4 = makeSale({
    saleId: 'S-515',
    sequence: 515,
    lines: [
      { qty: -1, unit: 3999, taxes: [{ code: 'VAT-STD', rate: '0.20', amount: -667 }] },
      { qty: 1, unit: 4999, taxes: [{ code: 'VAT-STD', rate: '0.20', amount: 833 }] },
    ],
    tenders: [{ type: 'card' }],
  });
  return [s4, s1, s3, s2];
}

describe('tax rates as exact decimal text', () => {
  it('normalises, adds and shows rates without floats', () => {
    expect(normaliseRate('0.20')).toBe('0.2');
    expect(normaliseRate('0.2000')).toBe('0.2');
    expect(normaliseRate('20%')).toBe('0.2');
    expect(normaliseRate('0.00')).toBe('0');
    expect(addRates(['0.04', '0.04875'])).toBe('0.08875');
    expect(addRates(['0.1', '0.2'])).toBe('0.3'); // 0.1 + 0.2 in floats is 0.30000000000000004
    expect(ratePercent('0.08875')).toBe('8.875%');
    expect(ratePercent('0')).toBe('0%');
    expect(() => normaliseRate('twenty')).toThrow(/not a tax rate/);
  });
});

describe('buildStoreJournal', () => {
  it('journals the sale fixture: tenders debited, revenue net of tax per rate and VAT credited, to the minor unit', () => {
    const sale = fixture('sale.json') as Sale;
    const j = buildStoreJournal([sale], MAPPING, GBP);
    expect(j).toMatchObject({
      kind: 'journal',
      journalId: 'store-day:LDN-042:2025-03-14',
      date: '2025-03-14',
      currency: 'GBP',
      narration: 'Store LDN-042 takings 2025-03-14',
      source: [{ system: 'tillwire', type: 'sale', id: 'sale:LDN-042:T03:042-03-000512' }],
      attributes: { journalType: 'store-day', storeId: 'LDN-042', businessDate: '2025-03-14', saleCount: '1' },
    });
    expect(summary(j)).toEqual([
      ['1020', 'D', 4997, 'Takings: card'],
      ['2400', 'D', 2000, 'Takings: gift card'],
      ['4000', 'C', 4830, 'Sales at 20% (VAT-STD)'], // (39.99 − 6.67) + (17.98 − 3.00)
      ['4010', 'C', 1200, 'Sales at 0% (VAT-ZERO)'],
      ['2200', 'C', 967, 'VAT-STD 20% on sales'], // VAT-ZERO's 0.00 is not posted
    ]);
    const key = 'sale:LDN-042:T03:042-03-000512';
    expect(j.lines[0].source).toEqual([{ system: 'tillwire', type: 'sale.tender', id: key, line: 2 }]);
    expect(j.lines[2].source).toEqual([
      { system: 'tillwire', type: 'sale', id: key, line: 1 },
      { system: 'tillwire', type: 'sale', id: key, line: 2 },
    ]);
    expect(j.lines.every((l) => l.tracking?.store === 'LDN-042')).toBe(true);
    expect(totals(j)).toEqual({ debit: 6997, credit: 6997 });
    expect(validateDocument('journal-entry', j)).toEqual({ valid: true, errors: [] });
  });

  it('a day with two VAT rates, a return refunded to card and an exchange: returns debit revenue and VAT, the refund credits card', () => {
    const j = buildStoreJournal(gbpDay(), MAPPING, GBP);
    expect(summary(j)).toEqual([
      ['1010', 'D', 3450, 'Takings: cash'],
      ['1020', 'D', 5997, 'Takings: card'], // 49.97 + 10.00 (exchange top-up)
      ['1020', 'C', 1798, 'Refunds paid out: card'],
      ['2400', 'D', 2000, 'Takings: gift card'],
      ['4090', 'C', 1000, 'Sales at 5% (VAT-RED)'], // no revenue account for 5%: the default
      ['4000', 'C', 10996, 'Sales at 20% (VAT-STD)'],
      ['4000', 'D', 4830, 'Returns at 20% (VAT-STD)'],
      ['4010', 'C', 1200, 'Sales at 0% (VAT-ZERO)'],
      ['2201', 'C', 50, 'VAT-RED 5% on sales'],
      ['2200', 'C', 2200, 'VAT-STD 20% on sales'],
      ['2200', 'D', 967, 'VAT-STD 20% on returns'],
    ]);
    expect(totals(j)).toEqual({ debit: 17244, credit: 17244 });
    // revenue + tax = Σ grand totals = Σ tenders
    expect(netCredit(j, ['4', '22'])).toBe(6997 + 3450 - 1798 + 1000);
    expect(j.source).toHaveLength(4);
    expect(j.source!.map((s) => s.id)).toEqual([...j.source!.map((s) => s.id)].sort());
  });

  it('is deterministic: same sales in any order give the same journal and id', () => {
    const day = gbpDay();
    const a = buildStoreJournal(day, MAPPING, GBP);
    const b = buildStoreJournal([...day].reverse(), MAPPING, GBP);
    expect(b).toEqual(a);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  it('prices without tax (US): two taxes on one line make one revenue line at their exact combined rate', () => {
    const sale = makeSale({
      saleId: 'NY-1',
      storeId: 'NYC-5',
      currency: 'USD',
      taxesIncluded: false,
      lines: [
        {
          qty: 2,
          unit: 1000,
          taxes: [
            { code: 'US-NY-STATE', rate: '0.04', amount: 80 },
            { code: 'US-NY-CITY', rate: '0.04875', amount: 98 },
          ],
        },
      ],
      tenders: [{ type: 'mobile', amount: 1000 }, { type: 'cash' }],
    });
    const j = buildStoreJournal([sale], MAPPING, { storeId: 'NYC-5', businessDate: '2025-03-14', currency: 'USD' });
    expect(summary(j)).toEqual([
      ['1010', 'D', 1178, 'Takings: cash'],
      ['1040', 'D', 1000, 'Takings: mobile'],
      ['4050', 'C', 2000, 'Sales at 8.875% (US-NY-CITY 4.875% + US-NY-STATE 4%)'],
      ['2211', 'C', 98, 'US-NY-CITY 4.875% on sales'],
      ['2210', 'C', 80, 'US-NY-STATE 4% on sales'],
    ]);
  });

  it('KWD (3 decimals): the exchange fixture balances to the fils, untaxed lines on the "none" revenue account', () => {
    const sale = fixture('sale-kwd.json') as Sale;
    const extra = makeSale({
      saleId: 'AVN-07-004419',
      storeId: 'KWI-AVENUES',
      terminalId: '07',
      sequence: 4419,
      businessDate: '2025-03-16',
      currency: 'KWD',
      taxesIncluded: false,
      lines: [{ qty: 3, unit: 1333, taxes: [{ code: 'KW-X', rate: '0.05', amount: 200 }] }],
      tenders: [{ type: 'card' }],
    });
    const j = buildStoreJournal([sale, extra], MAPPING, { storeId: 'KWI-AVENUES', businessDate: '2025-03-16', currency: 'KWD' });
    expect(summary(j)).toEqual([
      ['1010', 'D', 10000, 'Takings: cash'],
      ['1020', 'D', 1250 + 4199, 'Takings: card'],
      ['4090', 'C', 3999, 'Sales at 5% (KW-X)'],
      ['4020', 'C', 35750, 'Sales without tax'],
      ['4020', 'D', 24500, 'Returns without tax'],
      ['2230', 'C', 200, 'KW-X 5% on sales'], // mapped by code@rate
    ]);
    expect(totals(j)).toEqual({ debit: 39949, credit: 39949 });
  });

  it('JPY (no decimals): tax-inclusive yen prices split into revenue and consumption tax exactly', () => {
    const sale = makeSale({
      saleId: 'TKY-1',
      storeId: 'TKY-SHIBUYA',
      currency: 'JPY',
      lines: [
        { qty: 1, unit: 1500, taxes: [{ code: 'JP-CT10', rate: '0.10', amount: 136 }] },
        { qty: 3, unit: 330, discount: 90, taxes: [{ code: 'JP-CT10', rate: '0.10', amount: 82 }] },
      ],
      tenders: [{ type: 'store_credit', amount: 500 }, { type: 'cash' }],
    });
    const j = buildStoreJournal([sale], MAPPING, { storeId: 'TKY-SHIBUYA', businessDate: '2025-03-14', currency: 'JPY' });
    expect(summary(j)).toEqual([
      ['1010', 'D', 1900, 'Takings: cash'],
      ['2410', 'D', 500, 'Takings: store credit'],
      ['4060', 'C', 1364 + 818, 'Sales at 10% (JP-CT10)'],
      ['2220', 'C', 218, 'JP-CT10 10% on sales'],
    ]);
  });

  it('puts the mapped ledger tax code on tax lines and on revenue lines taxed by that code alone', () => {
    const j = buildStoreJournal([fixture('sale.json')], { ...MAPPING, ledgerTaxCodes: { 'VAT-STD': '20% (VAT on Income)' } }, GBP);
    expect(j.lines.filter((l) => l.taxCode).map((l) => [l.account, l.taxCode])).toEqual([
      ['4000', '20% (VAT on Income)'],
      ['2200', '20% (VAT on Income)'],
    ]);
  });

  it('a sale that does not balance is an error naming the sale and the difference, never a plug', () => {
    const sale = fixture('sale.json') as Sale;
    sale.tenders[1].amount.amount -= 1;
    const run = () => buildStoreJournal([...gbpDay().slice(0, 1), sale], { ...MAPPING, roundingAccount: '9999' }, GBP);
    expect(run).toThrow(StoreJournalError);
    expect(run).toThrow('sale sale:LDN-042:T03:042-03-000512 is not a valid sale: tenders add up to 69.96 GBP ≠ totals.grandTotal 69.97 GBP');
    const wrongLines = fixture('sale.json') as Sale;
    wrongLines.lines[0].lineTotal.amount += 5;
    expect(() => buildStoreJournal([wrongLines], MAPPING, GBP)).toThrow(
      /lines\[0\]\.lineTotal 40\.04 GBP ≠ quantity 1 × unitPrice 49\.99 GBP − discounts 10\.00 GBP = 39\.99 GBP/,
    );
    const wrongTax = fixture('sale.json') as Sale;
    wrongTax.totals.taxTotal = gbp(966);
    expect(() => buildStoreJournal([wrongTax], MAPPING, GBP)).toThrow(/totals\.taxTotal 9\.66 GBP ≠ sum of the line taxes = 9\.67 GBP/);
  });

  it('an unmapped tender type, tax code or revenue rate is a clear error naming the first sale using it', () => {
    const noGift = { ...MAPPING, tenderAccounts: { card: '1020' } };
    expect(() => buildStoreJournal([fixture('sale.json')], noGift, GBP)).toThrow(MappingError);
    expect(() => buildStoreJournal([fixture('sale.json')], noGift, GBP)).toThrow(
      "no account mapped for tender type 'gift_card' (first used by sale:LDN-042:T03:042-03-000512)",
    );
    const noVat = { ...MAPPING, taxAccounts: { 'VAT-STD': '2200' } };
    expect(() => buildStoreJournal([fixture('sale.json')], noVat, GBP)).toThrow("no tax account mapped for tax code 'VAT-ZERO' (rate 0%)");
    const noRevenue = { ...MAPPING, revenueAccounts: {}, defaultRevenueAccount: undefined };
    expect(() => buildStoreJournal([fixture('sale.json')], noRevenue, GBP)).toThrow('no revenue account for tax rate 20% and no default revenue account');
    expect(() => buildStoreJournal([fixture('sale.json')], { ...MAPPING, tenderAccounts: { cheque: '1' } as never }, GBP)).toThrow(
      /tender type "cheque" is not one of cash, card/,
    );
    expect(() => buildStoreJournal([fixture('sale.json')], { ...MAPPING, revenueAccounts: { standard: '4000' } }, GBP)).toThrow(
      /revenue account key "standard": 'standard' is not a tax rate/,
    );
  });

  it('refuses sales of another store, day or currency, a sale given twice, an invalid sale and an empty day', () => {
    const sale = fixture('sale.json') as Sale;
    expect(() => buildStoreJournal([sale], MAPPING, { ...GBP, storeId: 'MAN-001' })).toThrow('belongs to store LDN-042, not MAN-001');
    expect(() => buildStoreJournal([sale], MAPPING, { ...GBP, businessDate: '2025-03-15' })).toThrow('is booked to 2025-03-14, not 2025-03-15');
    expect(() => buildStoreJournal([sale], MAPPING, { ...GBP, currency: 'EUR' })).toThrow('is in GBP, but the journal is in EUR');
    expect(() => buildStoreJournal([sale, fixture('sale.json')], MAPPING, GBP)).toThrow(`sale ${keyOf(sale)} is given more than once`);
    const broken = fixture('sale.json');
    broken.lines[0].quantity = 0;
    expect(() => buildStoreJournal([broken], MAPPING, GBP)).toThrow(/is not a valid sale: lines\[0\]\.quantity/);
    expect(() => buildStoreJournal([], MAPPING, GBP)).toThrow(NothingToPostError);
    expect(() => buildStoreJournal([], MAPPING, GBP)).toThrow('no sales registered for store LDN-042 on 2025-03-14: nothing to post');
  });

  it('property: any set of balanced sales gives a balanced journal whose revenue + tax equals the sum of grand totals', () => {
    const taxes = [
      { code: 'VAT-STD', rate: '0.20' },
      { code: 'VAT-RED', rate: '0.05' },
      { code: 'VAT-ZERO', rate: '0' },
      { code: 'US-NY-STATE', rate: '0.04' },
      { code: 'US-NY-CITY', rate: '0.04875' },
    ];
    const mapping: StoreJournalMapping = {
      revenueAccounts: { '0.2': '4000', none: '4020' },
      defaultRevenueAccount: '4090',
      taxAccounts: Object.fromEntries(taxes.map((t, i) => [t.code, `22${i}`])),
      tenderAccounts: Object.fromEntries(TENDER_TYPES.map((t, i) => [t, `10${i}`])),
    };
    const line = fc
      .record({
        qty: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: -3, max: -1 })),
        unit: fc.integer({ min: 0, max: 250_000 }),
        discountShare: fc.integer({ min: 0, max: 100 }),
        taxes: fc.uniqueArray(fc.integer({ min: 0, max: taxes.length - 1 }), { maxLength: 2 }),
        taxShare: fc.integer({ min: 0, max: 30 }),
      })
      .map((l) => {
        const gross = Math.abs(l.qty * l.unit);
        const discount = Math.floor((gross * l.discountShare) / 400);
        const sign = l.qty < 0 ? -1 : 1;
        return {
          qty: l.qty,
          unit: l.unit,
          discount,
          taxes: l.taxes.map((i) => ({ ...taxes[i], amount: sign * Math.floor(((gross - discount) * l.taxShare) / 100) })),
        };
      });
    const saleArb = fc.record({
      taxesIncluded: fc.boolean(),
      lines: fc.array(line, { minLength: 1, maxLength: 4 }),
      tenders: fc.array(fc.record({ type: fc.constantFrom(...TENDER_TYPES), amount: fc.integer({ min: -50_000, max: 500_000 }) }), {
        minLength: 1,
        maxLength: 3,
      }),
    });
    fc.assert(
      fc.property(fc.constantFrom('GBP', 'KWD', 'JPY', 'USD'), fc.array(saleArb, { minLength: 1, maxLength: 8 }), (currency, specs) => {
        const sales = specs.map((s, i) => makeSale({ saleId: `P-${i}`, sequence: i + 1, currency, ...s }));
        const grand = sales.reduce((n, s) => n + s.totals.grandTotal.amount, 0);
        const opts = { storeId: 'LDN-042', businessDate: '2025-03-14', currency };
        let j: JournalEntry;
        try {
          j = buildStoreJournal(sales, mapping, opts);
        } catch (err) {
          // only a day whose every amount nets to zero has nothing to post
          expect(err).toBeInstanceOf(NothingToPostError);
          expect(grand).toBe(0);
          return;
        }
        expect(validateDocument('journal-entry', j).valid).toBe(true);
        const t = totals(j);
        expect(t.debit).toBe(t.credit);
        expect(netCredit(j, ['4', '22'])).toBe(grand); // revenue + tax = Σ grand totals
        expect(0 - netCredit(j, ['10'])).toBe(grand); // tenders = Σ grand totals (0 - x, not -x: a zero sale's -0 is not 0 to toBe)
        expect(j.lines.every((l) => (l.debit ?? l.credit)!.amount > 0)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
