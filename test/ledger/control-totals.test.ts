import type { Sale } from '../../nodes/model/types.generated';
import type { RegisterEntry } from '../../nodes/runtime/store';
import { ranges, reconcileTill, rollUpByStore, rollUpStore, TillCloseError } from '../../nodes/ledger/control-totals';
import { TillClose, tillCloseProblems } from '../../nodes/ledger/till-close';
import { entry, fixture, keyOf, makeSale } from './sales';

const gbp = (amount: number) => ({ amount, currency: 'GBP' });

/** Till T03's day: three sales, a return, an exchange that nets to a refund (still a sale: not every line is returned). */
function tillDay(terminalId = 'T03'): Sale[] {
  const s = (seq: number, lines: Array<{ qty: number; unit: number }>, type: 'card' | 'cash' | 'gift_card') =>
    makeSale({ saleId: `${terminalId}-${seq}`, terminalId, sequence: seq, lines, tenders: [{ type }] });
  return [
    s(101, [{ qty: 1, unit: 1000 }], 'card'),
    s(102, [{ qty: 1, unit: 2500 }], 'cash'),
    s(103, [{ qty: -1, unit: 899 }], 'card'),
    s(
      104,
      [
        { qty: -1, unit: 1500 },
        { qty: 1, unit: 1000 },
      ],
      'card',
    ),
    s(105, [{ qty: 2, unit: 600 }], 'gift_card'),
  ];
}

function close(terminalId = 'T03'): TillClose {
  return {
    kind: 'till.close',
    storeId: 'LDN-042',
    terminalId,
    businessDate: '2025-03-14',
    closedAt: '2025-03-14T21:07:42Z',
    currency: 'GBP',
    firstSequence: 101,
    lastSequence: 105,
    sales: { count: 4, total: gbp(1000 + 2500 - 500 + 1200) },
    returns: { count: 1, total: gbp(-899) },
    net: gbp(3301),
    tenders: [
      { type: 'card', count: 3, amount: gbp(1000 - 899 - 500) },
      { type: 'cash', count: 1, amount: gbp(2500) },
      { type: 'gift_card', count: 1, amount: gbp(1200) },
    ],
  };
}

const accepted = (sales: Sale[]): RegisterEntry[] => sales.map((s, i) => entry(s, { odoo: `S0004${i}` }));

describe('till close documents', () => {
  it('the fixture is a consistent till close; the sums its schema cannot check are checked', () => {
    expect(tillCloseProblems(fixture('till-close.json'))).toEqual([]);
    expect(tillCloseProblems(close())).toEqual([]);
    const bad = { ...close(), net: gbp(3300), lastSequence: 106 };
    expect(tillCloseProblems(bad)).toEqual([
      'net 33.00 GBP is not sales 42.00 GBP + returns -8.99 GBP = 33.01 GBP',
      'the sequence range 101..106 holds 6 transaction(s) but sales.count + returns.count = 5',
      'tenders add up to 33.01 GBP but net is 33.00 GBP',
    ]);
    const noFirst: Partial<TillClose> = close();
    delete noFirst.firstSequence;
    expect(tillCloseProblems(noFirst)).toEqual([expect.stringMatching(/firstSequence/)]);
  });
});

describe('reconcileTill', () => {
  it('a matched day: counts, totals, tenders and ERP acceptance all agree', () => {
    const report = reconcileTill(close(), accepted(tillDay()), { erpSystem: 'odoo' });
    const totals = { salesCount: 4, salesTotal: gbp(4200), returnsCount: 1, returnsTotal: gbp(-899) };
    expect(report).toEqual({
      storeId: 'LDN-042',
      terminalId: 'T03',
      businessDate: '2025-03-14',
      currency: 'GBP',
      status: 'matched',
      till: totals,
      received: totals,
      erpAccepted: totals,
      erpSystem: 'odoo',
      missingSequences: [],
      extraSales: [],
      valueDifference: gbp(0),
      notInErp: [],
      tenders: [
        { type: 'cash', till: { count: 1, amount: gbp(2500) }, received: { count: 1, amount: gbp(2500) } },
        { type: 'card', till: { count: 3, amount: gbp(-399) }, received: { count: 3, amount: gbp(-399) } },
        { type: 'gift_card', till: { count: 1, amount: gbp(1200) }, received: { count: 1, amount: gbp(1200) } },
      ],
      problems: [],
    });
    // other tills' and days' entries in the list are ignored
    const others = [...tillDay('T04').map((s) => entry(s)), entry(makeSale({ saleId: 'X', businessDate: '2025-03-15', lines: [{ qty: 1, unit: 5 }] }))];
    expect(reconcileTill(close(), [...accepted(tillDay()), ...others]).status).toBe('matched');
  });

  it('a gap: the missing sequence is reported, and the value it carried', () => {
    const day = tillDay().filter((s) => s.sequence !== 103);
    const report = reconcileTill(
      close(),
      day.map((s) => entry(s)),
    );
    expect(report.status).toBe('variance');
    expect(report.missingSequences).toEqual([103]);
    expect(report.received).toEqual({ salesCount: 4, salesTotal: gbp(4200), returnsCount: 0, returnsTotal: gbp(0) });
    expect(report.valueDifference).toEqual(gbp(899)); // received 42.00 net, the till took 33.01
    expect(report.problems).toEqual(
      expect.arrayContaining([
        'till LDN-042/T03 2025-03-14: 1 transaction(s) never arrived: sequence 103',
        'till LDN-042/T03 2025-03-14: the till counted 1 return(s) for -8.99 GBP, received 0 for 0.00 GBP',
        'till LDN-042/T03 2025-03-14: received 42.00 GBP net, the till took 33.01 GBP (difference 8.99 GBP)',
      ]),
    );
  });

  it('a value difference with every sequence present', () => {
    const c = close();
    c.sales.total = gbp(4210);
    c.net = gbp(3311);
    c.tenders![1].amount = gbp(2510);
    const report = reconcileTill(
      c,
      tillDay().map((s) => entry(s)),
    );
    expect(report.status).toBe('variance');
    expect(report.missingSequences).toEqual([]);
    expect(report.extraSales).toEqual([]);
    expect(report.valueDifference).toEqual(gbp(-10));
    expect(report.problems).toEqual([
      'till LDN-042/T03 2025-03-14: the till counted 4 sale(s) for 42.10 GBP, received 4 for 42.00 GBP',
      'till LDN-042/T03 2025-03-14: received 33.01 GBP net, the till took 33.11 GBP (difference -0.10 GBP)',
      'till LDN-042/T03 2025-03-14: cash tenders: the till took 1 for 25.10 GBP, received 1 for 25.00 GBP',
    ]);
  });

  it('not in the ERP: received sales without the ERP reference are listed and the accepted totals show the shortfall', () => {
    const day = tillDay();
    const received = day.map((s) => entry(s, s.sequence === 102 ? {} : { odoo: `S${s.sequence}` }));
    const report = reconcileTill(close(), received, { erpSystem: 'odoo' });
    expect(report.status).toBe('variance');
    expect(report.notInErp).toEqual([keyOf(day[1])]);
    expect(report.erpAccepted).toEqual({ salesCount: 3, salesTotal: gbp(1700), returnsCount: 1, returnsTotal: gbp(-899) });
    expect(report.received).toEqual(report.till);
    expect(report.valueDifference).toEqual(gbp(0));
    expect(report.problems).toEqual(['till LDN-042/T03 2025-03-14: 1 received sale(s) not accepted by odoo']);
    // without an ERP system the same day matches, and the report has no ERP fields
    const plain = reconcileTill(close(), received);
    expect(plain.status).toBe('matched');
    expect(plain).not.toHaveProperty('notInErp');
    expect(plain).not.toHaveProperty('erpAccepted');
  });

  it('extra sales: outside the range, or a second sale with a sequence already received', () => {
    const day = tillDay();
    const late = makeSale({ saleId: 'T03-106', sequence: 106, lines: [{ qty: 1, unit: 300 }] });
    const twin = makeSale({ saleId: 'T03-102b', sequence: 102, lines: [{ qty: 1, unit: 2500 }], tenders: [{ type: 'cash' }] });
    const received = [...day.map((s) => entry(s)), entry(late), entry(twin, {}, '2025-03-14T12:00:02.000Z')];
    const report = reconcileTill(close(), received);
    expect(report.status).toBe('variance');
    expect(report.extraSales).toEqual([keyOf(late), keyOf(twin)].sort());
    expect(report.missingSequences).toEqual([]);
    expect(report.received.salesCount).toBe(6);
    expect(report.valueDifference).toEqual(gbp(2800));
    expect(report.problems).toEqual(
      expect.arrayContaining([
        `till LDN-042/T03 2025-03-14: ${keyOf(late)} has sequence 106, outside the till's range 101..105`,
        `till LDN-042/T03 2025-03-14: sequence 102 was received twice (${keyOf(day[1])} and ${keyOf(twin)})`,
      ]),
    );
  });

  it('a till that sold nothing matches an empty register, and anything received for it is extra', () => {
    const empty: TillClose = {
      ...close(),
      firstSequence: undefined,
      lastSequence: undefined,
      sales: { count: 0, total: gbp(0) },
      returns: { count: 0, total: gbp(0) },
      net: gbp(0),
      tenders: [],
    };
    delete empty.firstSequence;
    delete empty.lastSequence;
    expect(reconcileTill(empty, []).status).toBe('matched');
    const stray = makeSale({ saleId: 'T03-1', sequence: 1, lines: [{ qty: 1, unit: 100 }] });
    const report = reconcileTill(empty, [entry(stray)]);
    expect(report.extraSales).toEqual([keyOf(stray)]);
    expect(report.problems[0]).toMatch(/outside the till's range \(no transactions\)/);
  });

  it('an inconsistent till close is an error, not a report', () => {
    expect(() => reconcileTill({ ...close(), net: gbp(1) }, [])).toThrow(TillCloseError);
    expect(() => reconcileTill({ ...close(), net: gbp(1) }, [])).toThrow(/^invalid till close LDN-042\/T03 2025-03-14: net 0.01 GBP is not sales/);
    expect(() => reconcileTill({ kind: 'till.close' } as never, [])).toThrow(/storeId is required/);
  });

  it('ranges are compact', () => {
    expect(ranges([3, 7, 8, 9, 12])).toBe('3, 7..9, 12');
  });
});

describe('store roll-up', () => {
  it('adds the tills up and reports terminals that sold but never closed', () => {
    const t03 = reconcileTill(close('T03'), accepted(tillDay('T03')), { erpSystem: 'odoo' });
    const t04Sales = tillDay('T04').filter((s) => s.sequence !== 105);
    const t04 = reconcileTill(close('T04'), accepted(t04Sales), { erpSystem: 'odoo' });
    const t05 = makeSale({ saleId: 'T05-1', terminalId: 'T05', sequence: 1, lines: [{ qty: 1, unit: 100 }] });
    const received = [...accepted(tillDay('T03')), ...accepted(t04Sales), entry(t05)];
    const roll = rollUpStore([t04, t03], received);
    expect(roll).toMatchObject({
      storeId: 'LDN-042',
      businessDate: '2025-03-14',
      status: 'variance',
      tills: { closed: 2, matched: 1, variance: 1 },
      terminals: [
        { terminalId: 'T03', status: 'matched' },
        { terminalId: 'T04', status: 'variance' },
        { terminalId: 'T05', status: 'not closed' },
      ],
      till: { salesCount: 8, salesTotal: gbp(8400), returnsCount: 2, returnsTotal: gbp(-1798) },
      received: { salesCount: 7, salesTotal: gbp(7200), returnsCount: 2, returnsTotal: gbp(-1798) },
      erpAccepted: { salesCount: 7, salesTotal: gbp(7200), returnsCount: 2, returnsTotal: gbp(-1798) },
      erpSystem: 'odoo',
      valueDifference: gbp(-1200),
      missingCount: 1,
      extraCount: 0,
      notInErpCount: 0,
      unclosedTerminals: ['T05'],
    });
    expect(roll.problems).toContain('till LDN-042/T05 2025-03-14: sales received but the till has not closed');
    expect(rollUpStore([t03]).status).toBe('matched');
    expect(rollUpByStore([t04, t03]).map((r) => [r.storeId, r.tills.closed])).toEqual([['LDN-042', 2]]);
    expect(() => rollUpStore([t03, t03])).toThrow('till T03 is reconciled twice');
    expect(() => rollUpStore([])).toThrow();
  });
});
