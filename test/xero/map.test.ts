/** Canonical JournalEntry → Xero ManualJournal: signs, decimals by currency, tracking, the journal id. */
import { idempotencyKey, journalIdOf, JournalMappingError, lineAmount, postingStatus, toManualJournal } from '../../nodes/xero/map';
import type { JournalEntry } from '../../nodes/model/types.generated';
import { journal } from './support';

function problems(doc: unknown, baseCurrency = 'GBP'): string[] {
  try {
    toManualJournal(doc, { baseCurrency });
  } catch (err) {
    if (err instanceof JournalMappingError) return err.problems;
    throw err;
  }
  throw new Error('expected the journal to be refused');
}

/** A two-line journal in `currency`: `minor` debited to fees, credited to sales. */
function twoLines(currency: string, minor: number, id = 'J-1'): JournalEntry {
  return {
    kind: 'journal',
    journalId: id,
    date: '2026-11-30',
    currency,
    narration: 'Settlement',
    lines: [
      { account: '480', debit: { amount: minor, currency } },
      { account: '200', credit: { amount: minor, currency } },
    ],
  };
}

it('debits are positive and credits negative LineAmounts, with the journal id in the narration', () => {
  const mj = toManualJournal(journal('STL-1'), { baseCurrency: 'GBP' });
  expect(mj).toMatchObject({ Narration: 'Amazon UK settlement STL-1 [tw:STL-1]', Date: '2026-11-30', Status: 'POSTED', LineAmountTypes: 'NoTax' });
  expect(mj.JournalLines.map((l) => l.LineAmount)).toEqual([84.5, 15.5, -100]);
  expect(mj.JournalLines[2]).toEqual({
    LineAmount: -100,
    AccountCode: '200',
    Description: 'sales',
    Tracking: [
      { Name: 'Channel', Option: 'amazon-uk' },
      { Name: 'Store', Option: 'LDN-042' },
    ],
  });
  expect(journalIdOf(mj.Narration)).toBe('STL-1');
});

it('2-decimal amounts are exact to the cent, large ones included', () => {
  expect(toManualJournal(twoLines('GBP', 1), { baseCurrency: 'GBP' }).JournalLines[0].LineAmount).toBe(0.01);
  expect(toManualJournal(twoLines('GBP', 123_456_789_012), { baseCurrency: 'GBP' }).JournalLines.map((l) => l.LineAmount)).toEqual([
    1_234_567_890.12, -1_234_567_890.12,
  ]);
});

it('a 0-decimal currency (JPY) is sent in whole yen when it is the base currency', () => {
  expect(toManualJournal(twoLines('JPY', 1500), { baseCurrency: 'JPY' }).JournalLines.map((l) => l.LineAmount)).toEqual([1500, -1500]);
});

it('a 3-decimal currency (KWD) is sent when its third decimal is 0, refused (not rounded) otherwise', () => {
  expect(toManualJournal(twoLines('KWD', 1250), { baseCurrency: 'KWD' }).JournalLines.map((l) => l.LineAmount)).toEqual([1.25, -1.25]);
  expect(problems(twoLines('KWD', 1255), 'KWD')).toEqual([
    'lines[0] (account 480): 1.255 KWD has 3 decimals; Xero amounts carry 2',
    'lines[1] (account 200): -1.255 KWD has 3 decimals; Xero amounts carry 2',
  ]);
  expect(lineAmount(-1255, 'KWD')).toEqual({ problem: '-1.255 KWD has 3 decimals; Xero amounts carry 2' });
});

it('an amount with more digits than a JSON number holds exactly is refused', () => {
  expect('problem' in lineAmount(9_007_199_254_740_991, 'GBP')).toBe(true);
});

it('a journal in another currency than the base currency is refused, naming both', () => {
  expect(problems(twoLines('USD', 1000), 'GBP')).toEqual(["journal is in USD but Xero manual journals are in the organisation's base currency GBP"]);
});

it('an unbalanced or malformed journal is refused by the canonical checks before mapping', () => {
  const doc = twoLines('GBP', 1000);
  doc.lines[1].credit!.amount = 999;
  expect(problems(doc).join()).toMatch(/does not balance/);
  expect(problems({ kind: 'journal', journalId: 'x' }).length).toBeGreaterThan(0);
  expect(problems('not a journal').length).toBeGreaterThan(0);
});

it('more than 2 tracking categories on a line, or a long option, are refused', () => {
  const doc = twoLines('GBP', 1000);
  doc.lines[0].tracking = { Store: 'A', Channel: 'B', Region: 'C' };
  doc.lines[1].tracking = { Store: 'x'.repeat(101) };
  expect(problems(doc)).toEqual([
    'lines[0] (account 480): 3 tracking categories; Xero takes at most 2 per line',
    "lines[1] (account 200): tracking 'Store' is longer than 100 characters",
  ]);
});

it('a journal id too long for the Idempotency-Key, or with a quote, is refused', () => {
  expect(problems(twoLines('GBP', 1000, 'J'.repeat(120)))).toEqual(["journalId is 120 characters; at most 119 fit Xero's Idempotency-Key (128)"]);
  expect(problems(twoLines('GBP', 1000, 'J"1'))[0]).toMatch(/quote/);
});

it('lines with tax codes are tax-inclusive, so the journal still balances in Xero', () => {
  const doc = twoLines('GBP', 1200);
  doc.lines[1].taxCode = 'OUTPUT2';
  const mj = toManualJournal(doc, { baseCurrency: 'GBP' });
  expect(mj.LineAmountTypes).toBe('Inclusive');
  expect(mj.JournalLines[1].TaxType).toBe('OUTPUT2');
});

it('the Idempotency-Key is the journal id plus a digest of the request: same request, same key; corrected, new key', () => {
  const a = toManualJournal(journal('STL-1'), { baseCurrency: 'GBP' });
  const b = toManualJournal(journal('STL-1'), { baseCurrency: 'GBP' });
  const draft = toManualJournal(journal('STL-1'), { baseCurrency: 'GBP', status: 'DRAFT' });
  expect(idempotencyKey('STL-1', a)).toBe(idempotencyKey('STL-1', b));
  expect(idempotencyKey('STL-1', a)).toMatch(/^STL-1\/[0-9a-f]{8}$/);
  expect(idempotencyKey('STL-1', draft)).not.toBe(idempotencyKey('STL-1', a));
});

it("Xero's answer is read back by its digits: debit total in minor units, the date, the journal id", () => {
  const status = postingStatus(
    {
      ManualJournalID: 'mj-1',
      Narration: 'Settlement [tw:J-9]',
      Date: '/Date(1796083200000+0000)/',
      Status: 'POSTED',
      JournalLines: [
        { LineAmount: 0.1, AccountCode: '480' },
        { LineAmount: 0.2, AccountCode: '481' },
        { LineAmount: -0.3, AccountCode: '200' },
      ],
    },
    'GBP',
  );
  expect(status).toMatchObject({ journalId: 'J-9', manualJournalId: 'mj-1', status: 'POSTED', date: '2026-12-01', lines: 3, debitTotal: 30 });
});
