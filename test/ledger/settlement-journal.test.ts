/**
 * Settlement journals (nodes/ledger/settlement-journal.ts, settlement-mapping.ts): what is posted
 * for reserves, negative, month-crossing, failed and reissued settlements in currencies with 0, 2
 * and 3 decimals; every journal valid by the canonical validator; each line traced to its rows;
 * missing accounts named.
 */
import type { JournalEntry } from '../../nodes/model/types.generated';
import { validateDocument } from '../../nodes/model/validate';
import { buildSettlementJournals, partDate, rowsNamedBy, settlementRowsOf, SettlementJournalError } from '../../nodes/ledger/settlement-journal';
import { mappingProblems } from '../../nodes/ledger/settlement-mapping';
import { MAPPING, tallyAndReconcile, type LineSpec } from './settlements';

/** A journal as [account, Dr|Cr, amount] rows: what a bookkeeper reads. */
function entries(j: JournalEntry): Array<[string, 'Dr' | 'Cr', number]> {
  return j.lines.map((l) => [l.account, l.debit ? 'Dr' : 'Cr', (l.debit ?? l.credit)!.amount]);
}

function expectValid(journals: JournalEntry[]): void {
  for (const j of journals) expect(validateDocument('journal-entry', j)).toEqual({ valid: true, errors: [] });
}

describe('what is posted', () => {
  it('a settlement with reserves held and released: sales, tax and shipping credited, fees debited, the reserve account moved, the payout to the bank', async () => {
    const { tally, rec } = await tallyAndReconcile(
      {
        lines: [
          ['principal', 10000, { order: 'A' }],
          ['tax', 1900, { order: 'A' }],
          ['shipping', 499, { order: 'A' }],
          ['promotion', -500, { order: 'A' }],
          ['fee', -1500, { category: 'commission', order: 'A' }],
          ['fee', -250, { category: 'advertising' }],
          ['reserve', 2000, { category: 'released' }],
          ['reserve', -2600, { category: 'held' }],
        ],
      },
      { previous: { settlementId: '1196', reserveHeld: 2000n, carriedForward: 0n } },
    );
    const { action, journals, reversals } = buildSettlementJournals(tally, rec, MAPPING);
    expect([action, reversals]).toEqual(['post', []]);
    expect(journals).toHaveLength(1);
    const [j] = journals;
    expect(j).toMatchObject({
      journalId: 'settlement:amazon:11978452301:2026-03',
      date: '2026-03-17',
      currency: 'EUR',
      narration: 'amazon A3TWDEMOSELLER settlement 11978452301',
    });
    expect(entries(j)).toEqual([
      ['4000', 'Cr', 10000],
      ['2200', 'Cr', 1900],
      ['4010', 'Cr', 499],
      ['6200', 'Dr', 250],
      ['6100', 'Dr', 1500],
      ['4090', 'Dr', 500],
      ['1220', 'Dr', 2600],
      ['1220', 'Cr', 2000],
      ['1210', 'Dr', 9549],
    ]);
    expect(j.lines[0].tracking).toEqual({ channel: 'amazon', marketplace: 'DE' });
    expect(j.lines[0].source).toEqual([{ system: 'amazon', type: 'settlement', id: '11978452301', line: 1 }]);
    expectValid(journals);
  });

  it('a negative settlement credits the payable account with what is owed to the channel', async () => {
    const { tally, rec } = await tallyAndReconcile({
      lines: [
        ['principal', 1000],
        ['refund', -5000, { order: 'A' }],
        ['fee', -300, { category: 'storage' }],
      ],
    });
    const [j] = buildSettlementJournals(tally, rec, MAPPING).journals;
    expect(entries(j)).toEqual([
      ['4000', 'Cr', 1000],
      ['6100', 'Dr', 300],
      ['4050', 'Dr', 5000],
      ['2110', 'Cr', 4300],
    ]);
    expect(j.lines[3].memo).toBe('negative settlement: owed to amazon');
    expectValid([j]);
  });

  it('a month-crossing settlement: one journal per posted month, earlier parts through the clearing account, the payout in the last', async () => {
    const { tally, rec } = await tallyAndReconcile({
      lines: [
        ['principal', 10000, { postedAt: '2026-03-30T10:00:00Z' }],
        ['fee', -999, { postedAt: '2026-03-31T23:59:59Z' }],
        ['principal', 5001, { postedAt: '2026-04-01T00:00:00Z' }],
        ['fee', -77, { postedAt: '2026-04-01T09:00:00Z' }],
      ],
      depositDate: '2026-04-03',
    });
    const { journals } = buildSettlementJournals(tally, rec, MAPPING);
    expect(journals.map((j) => [j.journalId, j.date, j.attributes?.settlementPart])).toEqual([
      ['settlement:amazon:11978452301:2026-03', '2026-03-31', '1/2'],
      ['settlement:amazon:11978452301:2026-04', '2026-04-03', '2/2'],
    ]);
    expect(entries(journals[0])).toEqual([
      ['4000', 'Cr', 10000],
      ['6100', 'Dr', 999],
      ['1240', 'Dr', 9001],
    ]);
    expect(entries(journals[1])).toEqual([
      ['4000', 'Cr', 5001],
      ['6100', 'Dr', 77],
      ['1240', 'Cr', 9001],
      ['1210', 'Dr', 13925],
    ]);
    expect(journals[1].narration).toBe('amazon A3TWDEMOSELLER settlement 11978452301, 2026-04 part 2 of 2');
    expectValid(journals);
  });

  it('a failed payout goes to the carried-forward account, and its repayment next time clears it', async () => {
    const failed = await tallyAndReconcile({
      lines: [
        ['principal', 8000],
        ['fee', -800, { category: 'commission' }],
      ],
      status: 'failed',
    });
    const [j] = buildSettlementJournals(failed.tally, failed.rec, MAPPING).journals;
    expect(entries(j)).toEqual([
      ['4000', 'Cr', 8000],
      ['6100', 'Dr', 800],
      ['1230', 'Dr', 7200],
    ]);
    expect(j.lines[2].memo).toBe('payout failed: carried forward to the next settlement');

    const next = await tallyAndReconcile(
      {
        id: '2',
        lines: [
          ['principal', 3000],
          ['adjustment', 7200, { category: 'failed-payout' }],
        ],
      },
      { previous: { settlementId: '11978452301', reserveHeld: 0n, carriedForward: 7200n } },
    );
    const [k] = buildSettlementJournals(next.tally, next.rec, MAPPING).journals;
    expect(entries(k)).toEqual([
      ['4000', 'Cr', 3000],
      ['1230', 'Cr', 7200],
      ['1210', 'Dr', 10200],
    ]);
    expectValid([j, k]);
  });

  it('a reissued settlement: what was posted is reversed (debits and credits swapped), then the new version posted as revision 1', async () => {
    const lines: LineSpec[] = [
      ['principal', 10000, { postedAt: '2026-03-31T10:00:00Z' }],
      ['principal', 2000, { postedAt: '2026-04-01T10:00:00Z' }],
    ];
    const first = await tallyAndReconcile({ lines, issuedAt: '2026-04-02T08:00:00Z', depositDate: '2026-04-03' });
    const posted = buildSettlementJournals(first.tally, first.rec, MAPPING).journals;

    const corrected = await tallyAndReconcile(
      { lines: [...lines, ['reserve', -1000, { postedAt: '2026-04-01T10:00:00Z' }]], issuedAt: '2026-04-05T08:00:00Z', depositDate: '2026-04-03' },
      { posted },
    );
    const out = buildSettlementJournals(corrected.tally, corrected.rec, MAPPING, { posted });
    expect(out.action).toBe('repost');
    expect(out.reversals.map((j) => [j.journalId, j.date, j.attributes?.reverses])).toEqual([
      ['settlement:amazon:11978452301:2026-03:reversal', '2026-03-31', 'settlement:amazon:11978452301:2026-03'],
      ['settlement:amazon:11978452301:2026-04:reversal', '2026-04-03', 'settlement:amazon:11978452301:2026-04'],
    ]);
    expect(entries(out.reversals[0])).toEqual(entries(posted[0]).map(([a, side, n]) => [a, side === 'Dr' ? 'Cr' : 'Dr', n]));
    expect(out.journals.map((j) => j.journalId)).toEqual(['settlement:amazon:11978452301:2026-03:r1', 'settlement:amazon:11978452301:2026-04:r1']);
    expect(entries(out.journals[1])).toEqual([
      ['4000', 'Cr', 2000],
      ['1220', 'Dr', 1000],
      ['1240', 'Cr', 10000],
      ['1210', 'Dr', 11000],
    ]);
    expectValid([...out.reversals, ...out.journals]);

    // A second correction reverses revision 1, not revision 0 again.
    const postedNow = [...posted, ...out.reversals, ...out.journals];
    const again = await tallyAndReconcile(
      { lines: [...lines, ['reserve', -900, { postedAt: '2026-04-01T10:00:00Z' }]], issuedAt: '2026-04-06T08:00:00Z', depositDate: '2026-04-03' },
      { posted: postedNow },
    );
    const out2 = buildSettlementJournals(again.tally, again.rec, MAPPING, { posted: postedNow, reversalDate: '2026-04-06' });
    expect(out2.reversals.map((j) => [j.journalId, j.date])).toEqual([
      ['settlement:amazon:11978452301:2026-03:r1:reversal', '2026-04-06'],
      ['settlement:amazon:11978452301:2026-04:r1:reversal', '2026-04-06'],
    ]);
    expect(out2.journals.map((j) => j.journalId)).toEqual(['settlement:amazon:11978452301:2026-03:r2', 'settlement:amazon:11978452301:2026-04:r2']);

    // The same version sent again posts nothing.
    const resent = await tallyAndReconcile(
      { lines: [...lines, ['reserve', -900, { postedAt: '2026-04-01T10:00:00Z' }]], issuedAt: '2026-04-06T08:00:00Z', depositDate: '2026-04-03' },
      { posted: [...postedNow, ...out2.reversals, ...out2.journals] },
    );
    expect(buildSettlementJournals(resent.tally, resent.rec, MAPPING)).toEqual({ action: 'already-posted', reversals: [], journals: [] });
  });

  it.each([
    [
      'JPY',
      0,
      [
        ['principal', 15000],
        ['fee', -1650, { category: 'commission' }],
      ] as LineSpec[],
      13350,
    ],
    [
      'KWD',
      3,
      [
        ['principal', 12345],
        ['tax', 617],
        ['fee', -1235, { category: 'commission' }],
      ] as LineSpec[],
      11727,
    ],
    [
      'BHD',
      3,
      [
        ['principal', 1],
        ['fee', -1, { category: 'payment' }],
        ['principal', 999],
      ] as LineSpec[],
      999,
    ],
  ])('%s (%i decimals): amounts stay in minor units and balance exactly', async (currency, _decimals, lines, payout) => {
    const { tally, rec } = await tallyAndReconcile({ currency, lines });
    const [j] = buildSettlementJournals(tally, rec, MAPPING).journals;
    expect(j.currency).toBe(currency);
    expect(j.lines.at(-1)).toMatchObject({ account: '1210', debit: { amount: payout, currency } });
    expectValid([j]);
  });

  it('refuses a reconciliation made from another tally', async () => {
    const a = await tallyAndReconcile({ lines: [['principal', 100]] });
    const b = await tallyAndReconcile({ lines: [['principal', 200]] });
    expect(() => buildSettlementJournals(a.tally, b.rec, MAPPING)).toThrow(
      'the reconciliation of settlement 11978452301 is not the reconciliation of this tally',
    );
  });

  it('refuses a settlement that is not postable, naming why', async () => {
    const { tally, rec } = await tallyAndReconcile({ lines: [['principal', 100]], statedTotal: 90 });
    expect(() => buildSettlementJournals(tally, rec, MAPPING)).toThrow(SettlementJournalError);
    expect(() => buildSettlementJournals(tally, rec, MAPPING)).toThrow(/not postable: the lines add up to 1\.00 EUR but the channel states 0\.90 EUR/);
  });
});

describe('the account mapping', () => {
  it('names every account a settlement needs and the mapping lacks', async () => {
    const { tally, rec } = await tallyAndReconcile({
      lines: [
        ['principal', 100, { postedAt: '2026-03-31T10:00:00Z' }],
        ['fee', -20, { category: 'advertising', postedAt: '2026-03-31T10:00:00Z' }],
        ['reserve', -500, { postedAt: '2026-04-01T10:00:00Z' }],
      ],
    });
    const mapping = { accounts: { principal: '4000' }, bankAccount: '1210' };
    expect(mappingProblems(mapping, tally, rec)).toEqual([
      "no account for fee/advertising (1 lines, -0.20 EUR): set accounts['fee/advertising'] or accounts['fee']",
      "no account for reserve/held (1 lines, -5.00 EUR): set accounts['reserve/held'] or accounts['reserve'] or reserveAccount",
      'payableAccount is missing: settlement 11978452301 is negative (-4.20 EUR owed to the channel)',
      'clearingAccount is missing: settlement 11978452301 is split over 2026-03, 2026-04',
    ]);
    expect(() => buildSettlementJournals(tally, rec, mapping)).toThrow(
      /the account mapping cannot post settlement 11978452301: no account for fee\/advertising/,
    );
  });

  it('names a malformed mapping', () => {
    expect(mappingProblems(null)).toEqual(['the account mapping must be an object']);
    expect(mappingProblems({ accounts: { fees: '6100', fee: '' }, reserveAccount: 7, tracking: { channel: 1 } })).toEqual([
      "accounts key 'fees' does not start with a line type (principal, tax, shipping, fee, promotion, refund, reserve, adjustment, other)",
      "accounts['fee'] must be a non-empty account code",
      'bankAccount is missing: the account the payout is paid into',
      'reserveAccount must be a non-empty account code',
      'tracking must map names to non-empty text',
    ]);
  });

  it('the most specific key wins, and ledger tax codes follow the same rule', async () => {
    const { tally, rec } = await tallyAndReconcile({
      lines: [
        ['fee', -20, { category: 'advertising' }],
        ['fee', -30, { category: 'commission' }],
        ['principal', 100],
      ],
    });
    const [j] = buildSettlementJournals(tally, rec, { ...MAPPING, taxCodes: { fee: 'INPUT2', 'fee/advertising': 'NONE' } }).journals;
    expect(j.lines.filter((l) => l.memo?.startsWith('fee')).map((l) => [l.memo, l.account, l.taxCode])).toEqual([
      ['fee advertising (1 line)', '6200', 'NONE'],
      ['fee commission (1 line)', '6100', 'INPUT2'],
    ]);
  });
});

describe('traceability', () => {
  it('few rows are listed as sources, many as ranges, and every journal line lists its rows from the tally', async () => {
    const lines: LineSpec[] = [];
    for (let i = 0; i < 30; i++) lines.push(['principal', 100 + i], ['fee', -10, { category: 'commission' }]);
    lines.push(['other', 5]);
    const { tally, rec } = await tallyAndReconcile({ lines });
    const [j] = buildSettlementJournals(tally, rec, MAPPING, { maxRangeChars: 40 }).journals;
    const principal = j.lines[0];
    expect(principal.source).toBeUndefined();
    expect(principal.attributes).toMatchObject({ settlementGroup: '2026-03|principal|', settlementRowCount: '30' });
    // 30 single rows do not fit in 40 characters: only the tally lists them.
    expect(principal.attributes?.settlementRows).toBeUndefined();
    expect(rowsNamedBy(principal)).toBeUndefined();
    expect(Array.from(settlementRowsOf(tally, principal)!)).toEqual(Array.from({ length: 30 }, (_, i) => 2 * i + 1));
    const other = j.lines.find((l) => l.account === '4990')!;
    expect(other.source).toEqual([{ system: 'amazon', type: 'settlement', id: '11978452301', line: 61 }]);
    expect(other.attributes?.settlementRows).toBe('61');
    expect(rowsNamedBy(other)).toEqual([61]);
    expect(settlementRowsOf(tally, j.lines.at(-1)!)).toBeUndefined();
  });

  it('dates a part on the deposit date within its month, else on the month end', () => {
    expect(partDate('2026-02', '2026-02-11')).toBe('2026-02-11');
    expect(partDate('2026-02', '2026-03-02')).toBe('2026-02-28');
    expect(partDate('2028-02')).toBe('2028-02-29');
  });
});
