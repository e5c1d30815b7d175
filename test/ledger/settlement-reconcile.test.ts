/**
 * Settlement reconciliation (nodes/ledger/settlement-reconcile.ts): the stated total, the line
 * types that explain a variance, reserves and failed payouts carried between settlements, orders
 * matched in batches, the kind of payout, and reissues.
 */
import type { OrderMatcher } from '../../nodes/ledger/settlement-reconcile';
import { summaryForNext } from '../../nodes/ledger/settlement-reconcile';
import { buildSettlementJournals } from '../../nodes/ledger/settlement-journal';
import { MAPPING, tallyAndReconcile, type LineSpec } from './settlements';

const SALE: LineSpec[] = [
  ['principal', 10000, { order: 'A' }],
  ['tax', 1900, { order: 'A' }],
  ['fee', -1500, { category: 'commission', order: 'A' }],
  ['principal', 4000, { order: 'B' }],
  ['fee', -600, { category: 'commission', order: 'B' }],
];

describe('the stated total', () => {
  it('lines that add up to the stated total are consistent, and the payout is a deposit', async () => {
    const { rec } = await tallyAndReconcile({ lines: SALE });
    expect(rec).toMatchObject({
      status: 'consistent',
      linesTotal: 13800n,
      statedTotal: 13800n,
      variance: 0n,
      postable: true,
      payout: { kind: 'deposit', amount: 13800n },
    });
    expect(rec.variances).toEqual([]);
  });

  it('a variance equal to a type total names that type', async () => {
    // The channel's total leaves out the reserve it held (-2500): Σ lines is 2500 below it.
    const { rec } = await tallyAndReconcile({ lines: [...SALE, ['reserve', -2500]], statedTotal: 13800 });
    expect(rec).toMatchObject({ status: 'inconsistent', linesTotal: 11300n, variance: -2500n, postable: false });
    expect(rec.explanations).toEqual([{ type: 'reserve', category: 'held', total: -2500n, relation: 'equal' }]);
    expect(rec.variances).toEqual([
      expect.objectContaining({
        kind: 'total',
        blocking: true,
        message: expect.stringMatching(
          /lines add up to 113\.00 EUR but the channel states 138\.00 EUR: variance -25\.00 EUR.*reserve\/held \(-25\.00 EUR, equal\)/,
        ),
      }),
    ]);
  });

  it("a variance equal to the previous settlement's hold points at a missing current-reserve line", async () => {
    // The file has the release of the previous hold but lacks this settlement's new hold of the same size.
    const { rec } = await tallyAndReconcile(
      { lines: [...SALE, ['reserve', 3000]], statedTotal: 13800 },
      { previous: { settlementId: '1196', reserveHeld: 3000n, carriedForward: 0n } },
    );
    expect(rec.variance).toBe(3000n);
    expect(rec.explanations).toEqual(
      expect.arrayContaining([
        { type: 'reserve', category: 'released', total: 3000n, relation: 'equal' },
        { type: 'previous-reserve', total: 3000n, relation: 'equal' },
      ]),
    );
  });

  it('otherwise the largest reserve, adjustment, other and fee totals are named', async () => {
    const { rec } = await tallyAndReconcile({ lines: [...SALE, ['adjustment', 700, { category: 'reimbursement' }], ['other', -5]], statedTotal: 14000 });
    expect(rec.variance).toBe(495n);
    expect(rec.explanations).toEqual([
      { type: 'fee', category: 'commission', total: -2100n, relation: 'large' },
      { type: 'adjustment', category: 'reimbursement', total: 700n, relation: 'large' },
      { type: 'other', total: -5n, relation: 'large' },
    ]);
  });

  it('a variance of a minor unit or two reads as rounding, not as the largest fee group', async () => {
    // 5 lines: rounding plausibly explains up to min(⌊6/2⌋, ⌈√5⌉) = 3 cents.
    const { rec } = await tallyAndReconcile({ lines: SALE, statedTotal: 13801 });
    expect(rec.variance).toBe(-1n);
    expect(rec.explanations).toEqual([{ type: 'rounding', total: 3n, relation: 'within' }]);
    expect(rec.variances[0].message).toMatch(
      /variance -0\.01 EUR; usually explained by rounding \(per-line rounding by the channel: plausible up to 0\.03 EUR for 5 lines\)$/,
    );
    expect(rec.postable).toBe(false);
    // Just beyond the bound: the usual suspects again.
    const beyond = (await tallyAndReconcile({ lines: SALE, statedTotal: 13804 })).rec;
    expect(beyond.explanations.map((c) => c.relation)).toEqual(['large']);
    expect(beyond.variances[0].message).not.toMatch(/rounding/);
  });

  it('a group that totals the variance exactly is named before rounding', async () => {
    const { rec } = await tallyAndReconcile({ lines: [...SALE, ['other', -1]], statedTotal: 13800 });
    expect(rec.explanations).toEqual([
      { type: 'other', total: -1n, relation: 'equal' },
      { type: 'rounding', total: 3n, relation: 'within' },
    ]);
  });

  it('the rounding bound is half a minor unit per line, and no more than the square root of the line count', async () => {
    const { roundingBound } = await import('../../nodes/ledger/settlement-reconcile');
    expect([0, 1, 2, 3, 4, 9, 100, 10_000, 1_000_000].map((n) => roundingBound(n))).toEqual([0n, 1n, 1n, 2n, 2n, 3n, 10n, 100n, 1000n]);
    // 10,000 lines and a variance of 1.01 EUR: beyond what rounding makes, the usual suspects are named.
    const many: LineSpec[] = Array.from({ length: 10_000 }, (_, i) => (i % 2 ? ['fee', -10, { category: 'commission' }] : ['principal', 110]) as LineSpec);
    const { rec } = await tallyAndReconcile({ lines: many, statedTotal: 500_000 - 101 });
    expect(rec.variance).toBe(101n);
    expect(rec.explanations[0]).toMatchObject({ type: 'fee', relation: 'large' });
    const within = (await tallyAndReconcile({ lines: many, statedTotal: 500_000 - 100 })).rec;
    expect(within.explanations).toEqual([{ type: 'rounding', total: 100n, relation: 'within' }]);
  });

  it('a stated total in another currency blocks posting', async () => {
    const { tally } = await tallyAndReconcile({ lines: SALE });
    (tally.header as { statedTotal?: unknown }).statedTotal = { amount: 13800, currency: 'GBP' };
    const { reconcileSettlement } = await import('../../nodes/ledger/settlement-reconcile');
    const rec = await reconcileSettlement(tally);
    expect(rec).toMatchObject({ status: 'inconsistent', postable: false });
    expect(rec.variances[0].message).toBe('the stated total is in GBP, the lines in EUR');
  });

  it('without a stated total Σ lines is the payout, and the note says so', async () => {
    const { rec } = await tallyAndReconcile({ lines: SALE, statedTotal: null });
    expect(rec).toMatchObject({ status: 'consistent', statedTotal: undefined, postable: true });
    expect(rec.notes).toContain('the channel states no total: Σ lines is taken as the payout');
  });
});

describe('carried between settlements', () => {
  it('the reserve released must equal what the previous settlement held', async () => {
    const lines: LineSpec[] = [...SALE, ['reserve', 2000, { category: 'released' }], ['reserve', -2600, { category: 'held' }]];
    const ok = await tallyAndReconcile({ lines }, { previous: { settlementId: '1196', reserveHeld: 2000n, carriedForward: 0n } });
    expect(ok.rec).toMatchObject({ postable: true, reserves: { held: 2600n, released: 2000n, previousHeld: 2000n } });
    expect(summaryForNext(ok.rec)).toEqual({ settlementId: '11978452301', reserveHeld: 2600n, carriedForward: 0n });

    const bad = await tallyAndReconcile({ lines }, { previous: { settlementId: '1196', reserveHeld: 2100n, carriedForward: 0n } });
    expect(bad.rec.postable).toBe(false);
    expect(bad.rec.variances).toEqual([
      { kind: 'reserve-carry', blocking: true, message: 'this settlement releases 20.00 EUR of reserve but settlement 1196 held 21.00 EUR' },
    ]);
  });

  it('a release without a previous summary is noted as unchecked', async () => {
    const { rec } = await tallyAndReconcile({ lines: [...SALE, ['reserve', 2000]] });
    expect(rec.postable).toBe(true);
    expect(rec.notes).toContain('no previous settlement summary was given: the reserve release of 20.00 EUR was not checked');
  });

  it('a failed payout is carried forward, and the next settlement must repay it', async () => {
    const failed = await tallyAndReconcile({ lines: SALE, status: 'failed' });
    expect(failed.rec).toMatchObject({ postable: true, payout: { kind: 'carried-forward', amount: 13800n } });
    const previous = summaryForNext(failed.rec);
    expect(previous.carriedForward).toBe(13800n);

    const repaid = await tallyAndReconcile({ id: '2', lines: [...SALE, ['adjustment', 13800, { category: 'failed-payout' }]] }, { previous });
    expect(repaid.rec).toMatchObject({ postable: true, carried: { repaid: 13800n, previous: 13800n }, payout: { kind: 'deposit', amount: 27600n } });

    const forgotten = await tallyAndReconcile({ id: '2', lines: SALE }, { previous });
    expect(forgotten.rec.postable).toBe(false);
    expect(forgotten.rec.variances[0].message).toBe('settlement 11978452301 carried 138.00 EUR forward (failed payout) but this one repays 0.00 EUR');
  });

  it('a negative settlement is a payable; an open one is not posted', async () => {
    const negative = await tallyAndReconcile({
      lines: [
        ['refund', -5000, { order: 'A' }],
        ['fee', -300, { category: 'storage' }],
        ['principal', 1000],
      ],
    });
    expect(negative.rec.payout).toEqual({ kind: 'payable', amount: -4300n });
    const open = await tallyAndReconcile({ lines: SALE, status: 'open' });
    expect(open.rec.postable).toBe(false);
    expect(open.rec.variances.map((v) => v.kind)).toEqual(['open']);
  });

  it('a settlement crossing a month end has parts per posted month that add up to the payout', async () => {
    const { rec } = await tallyAndReconcile({
      lines: [
        ['principal', 10000, { postedAt: '2026-03-30T10:00:00Z' }],
        ['fee', -999, { postedAt: '2026-03-31T23:59:59Z' }],
        ['principal', 5001, { postedAt: '2026-04-01T00:00:00Z' }],
        ['fee', -77, { postedAt: '2026-04-02T09:00:00+09:00' }], // 1 April UTC
      ],
    });
    expect(rec.months).toEqual([
      { month: '2026-03', total: 9001n, count: 2 },
      { month: '2026-04', total: 4924n, count: 2 },
    ]);
    expect(rec.months.reduce((s, m) => s + m.total, 0n)).toBe(rec.payout.amount);
  });
});

describe('orders', () => {
  it('asks the matcher in batches and names the orders unknown to Tillwire or the ERP and gross differences', async () => {
    const calls: string[][] = [];
    const matcher: OrderMatcher = {
      async match(ids) {
        calls.push([...ids]);
        return {
          tillwire: ids.filter((id) => id !== 'C').map((id) => ({ orderId: id, gross: { amount: id === 'B' ? 4100 : 11900, currency: 'EUR' } })),
          erp: ids.filter((id) => id === 'A'),
        };
      },
    };
    const { rec } = await tallyAndReconcile({ lines: [...SALE, ['principal', 500, { order: 'C' }]] }, { matcher, batchSize: 2 });
    expect(calls).toEqual([['A', 'B'], ['C']]);
    expect(rec.orders).toEqual({ checked: 3, notInTillwire: ['C'], notInErp: ['B', 'C'], grossDifferences: [{ orderId: 'B', charged: 4000n, gross: 4100n }] });
    expect(rec.variances.map((v) => [v.kind, v.blocking, v.message])).toEqual([
      ['order-not-in-tillwire', false, '1 orders are not known to Tillwire: C'],
      ['order-not-in-erp', false, '2 orders are not in the ERP: B, C'],
      ['order-gross', false, "order B: the settlement charged 40.00 EUR, Tillwire's order is 41.00 EUR"],
    ]);
    expect(rec.postable).toBe(true);
  });

  it('names ten orders and counts the rest', async () => {
    const lines: LineSpec[] = Array.from({ length: 13 }, (_, i) => ['principal', 100, { order: `O${i}` }]);
    const { rec } = await tallyAndReconcile({ lines }, { matcher: { match: async () => ({ tillwire: [], erp: [] }) } });
    expect(rec.variances[0].message).toBe('13 orders are not known to Tillwire: O0, O1, O2, O3, O4, O5, O6, O7, O8, O9 and 3 more');
  });
});

describe('reissues', () => {
  it('the same content again is already posted; other content is a new revision; an older version is refused', async () => {
    const first = await tallyAndReconcile({ lines: SALE, issuedAt: '2026-03-16T08:00:00Z' });
    const posted = buildSettlementJournals(first.tally, first.rec, MAPPING).journals;

    const again = await tallyAndReconcile({ lines: SALE, issuedAt: '2026-03-16T08:00:00Z' }, { posted });
    expect(again.rec.reissue).toEqual({ action: 'already-posted', postedRevision: 0, revision: 0 });
    expect(again.rec.postable).toBe(false);

    const corrected = await tallyAndReconcile({ lines: [...SALE, ['reserve', -500]], issuedAt: '2026-03-18T08:00:00Z' }, { posted });
    expect(corrected.rec.reissue).toEqual({ action: 'repost', postedRevision: 0, revision: 1 });
    expect(corrected.rec.postable).toBe(true);

    // Journals of another settlement are not this one's postings.
    const other = posted.map((j) => ({ ...j, journalId: j.journalId.replace('11978452301', '999'), attributes: { ...j.attributes, settlementId: '999' } }));
    const unrelated = await tallyAndReconcile({ lines: SALE, issuedAt: '2026-03-16T08:00:00Z' }, { posted: other });
    expect(unrelated.rec.reissue).toBeUndefined();
    expect(unrelated.rec.postable).toBe(true);

    const older = await tallyAndReconcile({ lines: [...SALE, ['other', 1]], issuedAt: '2026-03-15T08:00:00Z' }, { posted });
    expect(older.rec.reissue?.action).toBe('older');
    expect(older.rec.variances.map((v) => v.message)).toEqual(['a later version of settlement 11978452301 (revision 0) is already posted']);
  });
});
