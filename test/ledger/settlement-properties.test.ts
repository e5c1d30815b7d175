/**
 * Properties of settlement posting over generated settlements (any types, categories, signs,
 * months, statuses, currencies with 0, 2 and 3 decimals): every journal is valid and balances to
 * the minor unit, the parts of a split add up to the payout, every settlement line is traced to
 * exactly one journal line, and a reissue's reversals cancel what was posted.
 */
import fc from 'fast-check';
import type { JournalEntry } from '../../nodes/model/types.generated';
import { validateDocument } from '../../nodes/model/validate';
import { buildSettlementJournals, LINE_ATTR, settlementRowsOf } from '../../nodes/ledger/settlement-journal';
import { MAPPING, tallyAndReconcile, type LineSpec } from './settlements';

const CATEGORIES: Record<LineSpec[0], Array<string | undefined>> = {
  principal: [undefined],
  tax: [undefined],
  shipping: [undefined],
  fee: [undefined, 'commission', 'fulfilment', 'advertising', 'storage'],
  promotion: [undefined],
  refund: [undefined],
  reserve: [undefined, 'held', 'released'],
  adjustment: [undefined, 'reimbursement', 'chargeback'],
  other: [undefined],
};

const line: fc.Arbitrary<LineSpec> = fc
  .record({
    type: fc.constantFrom(...(Object.keys(CATEGORIES) as Array<LineSpec[0]>)),
    pick: fc.nat(),
    amount: fc.integer({ min: -1_000_000_000_000, max: 1_000_000_000_000 }),
    order: fc.option(fc.constantFrom('A', 'B', 'C', 'D'), { nil: undefined }),
    // Mostly 2026-03 .. 2026-05; null = no postedAt (deposit-date month).
    postedAt: fc.option(
      fc.date({ min: new Date('2026-03-01T00:00:00Z'), max: new Date('2026-05-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()),
      { nil: null },
    ),
  })
  .map(({ type, pick, amount, order, postedAt }) => {
    const categories = CATEGORIES[type];
    return [type, amount, { category: categories[pick % categories.length], order, postedAt }];
  });

const settlement = fc.record({
  currency: fc.constantFrom('JPY', 'EUR', 'GBP', 'KWD', 'BHD'),
  lines: fc.array(line, { minLength: 1, maxLength: 60 }),
  status: fc.constantFrom(undefined, 'paid' as const, 'in-transit' as const, 'failed' as const),
  depositDate: fc.constantFrom('2026-04-03', '2026-05-20', '2026-06-02'),
});

function balances(j: JournalEntry): boolean {
  let debit = 0n;
  let credit = 0n;
  for (const l of j.lines) {
    expect(l.debit === undefined).not.toBe(l.credit === undefined);
    expect((l.debit ?? l.credit)!.currency).toBe(j.currency);
    debit += BigInt(l.debit?.amount ?? 0);
    credit += BigInt(l.credit?.amount ?? 0);
  }
  return debit === credit;
}

/** credits − debits of the lines summed from settlement lines (not the balancing lines). */
function groupNet(j: JournalEntry): bigint {
  let net = 0n;
  for (const l of j.lines) if (l.attributes?.[LINE_ATTR.group]) net += BigInt(l.credit?.amount ?? 0) - BigInt(l.debit?.amount ?? 0);
  return net;
}

describe('settlement posting properties', () => {
  it('every journal is valid and balances; the parts add up to the payout; each line is traced to exactly one journal line', async () => {
    await fc.assert(
      fc.asyncProperty(settlement, async (spec) => {
        const { tally, rec } = await tallyAndReconcile(spec);
        const { journals } = buildSettlementJournals(tally, rec, MAPPING);
        const total = spec.lines.reduce((s, [, amount]) => s + BigInt(amount), 0n);

        expect(journals.map((j) => j.attributes?.settlementMonth)).toEqual(rec.months.map((m) => m.month));
        for (const j of journals) {
          expect(validateDocument('journal-entry', j)).toEqual({ valid: true, errors: [] });
          expect(balances(j)).toBe(true);
        }
        // The parts, each month's own lines, add up to the payout.
        expect(journals.reduce((s, j) => s + groupNet(j), 0n)).toBe(total);
        expect(rec.payout.amount).toBe(total);
        // The payout line of the last part carries the whole payout, on the side its sign asks for.
        const last = journals.at(-1)!.lines.at(-1)!;
        if (total !== 0n) {
          const paid = BigInt(last.debit?.amount ?? 0) - BigInt(last.credit?.amount ?? 0);
          expect(paid).toBe(total);
          const expected = spec.status === 'failed' ? MAPPING.carriedForwardAccount : total < 0n ? MAPPING.payableAccount : MAPPING.bankAccount;
          expect(last.account).toBe(expected);
        }
        // The clearing account nets to zero over the parts.
        let clearing = 0n;
        for (const j of journals)
          for (const l of j.lines) if (l.account === MAPPING.clearingAccount) clearing += BigInt(l.debit?.amount ?? 0) - BigInt(l.credit?.amount ?? 0);
        expect(clearing).toBe(0n);
        // Every settlement line behind exactly one journal line.
        const seen = new Int32Array(spec.lines.length + 1);
        for (const j of journals) for (const l of j.lines) for (const row of settlementRowsOf(tally, l) ?? []) seen[row]++;
        expect(Array.from(seen.subarray(1))).toEqual(spec.lines.map(() => 1));
      }),
      { numRuns: 200 },
    );
  });

  it("a reissue's reversals cancel every account of what was posted", async () => {
    await fc.assert(
      fc.asyncProperty(settlement, fc.array(line, { minLength: 1, maxLength: 5 }), async (spec, extra) => {
        const first = await tallyAndReconcile({ ...spec, issuedAt: '2026-06-01T00:00:00Z' });
        const posted = buildSettlementJournals(first.tally, first.rec, MAPPING).journals;
        const reissued = await tallyAndReconcile({ ...spec, lines: [...spec.lines, ...extra], issuedAt: '2026-06-02T00:00:00Z' }, { posted });
        const out = buildSettlementJournals(reissued.tally, reissued.rec, MAPPING, { posted });
        expect(out.action).toBe('repost');
        const perAccount = new Map<string, bigint>();
        for (const j of [...posted, ...out.reversals]) {
          for (const l of j.lines) perAccount.set(l.account, (perAccount.get(l.account) ?? 0n) + BigInt(l.debit?.amount ?? 0) - BigInt(l.credit?.amount ?? 0));
        }
        expect([...perAccount.values()].every((v) => v === 0n)).toBe(true);
        expect(out.reversals.map((j) => j.attributes?.reverses)).toEqual(posted.map((j) => j.journalId));
        expect(new Set([...posted, ...out.reversals, ...out.journals].map((j) => j.journalId)).size).toBe(posted.length * 2 + out.journals.length);
      }),
      { numRuns: 100 },
    );
  });
});
