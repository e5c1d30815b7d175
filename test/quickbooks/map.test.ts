/** Canonical JournalEntry → QuickBooks JournalEntry: the JSON QuickBooks receives, amounts by their digits. */
import { docNumberFor, isEntryOf, requestIdFor, toQboJournalEntry, toQboJson } from '../../nodes/quickbooks/map';
import { ConnectorError } from '../../nodes/runtime/errors';
import { DOC_NUMBER_MAX, REQUEST_ID_MAX } from '../../nodes/quickbooks/contract';
import { journal } from './support';

/** The JSON text QuickBooks would receive, and the line amounts as they are written in it. */
function wire(j = journal('J-1'), options: Parameters<typeof toQboJournalEntry>[1] = { homeCurrency: 'USD' }) {
  const text = toQboJson(toQboJournalEntry(j, options));
  const amounts = [...text.matchAll(/"Amount":(-?[\d.]+)/g)].map((m) => m[1]);
  return { text, body: JSON.parse(text), amounts };
}

function refusal(fn: () => unknown): ConnectorError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectorError);
    return err as ConnectorError;
  }
  throw new Error('expected a refusal');
}

describe('QuickBooks journal mapping', () => {
  it('writes a two-decimal currency to the cent, debits and credits as PostingType with AccountRef and Description', () => {
    const { body, amounts } = wire();
    expect(amounts).toEqual(['90.00', '12.34', '102.34']);
    expect(body.TxnDate).toBe('2026-11-30');
    expect(body.Line.map((l: any) => [l.JournalEntryLineDetail.PostingType, l.JournalEntryLineDetail.AccountRef.value, l.Description, l.DetailType])).toEqual([
      ['Debit', '1000', 'payout', 'JournalEntryLineDetail'],
      ['Debit', '6000', 'fees', 'JournalEntryLineDetail'],
      ['Credit', '4000', 'sales', 'JournalEntryLineDetail'],
    ]);
    expect(body.CurrencyRef).toBeUndefined();
    expect(body.ExchangeRate).toBeUndefined();
  });

  it('writes a zero-decimal currency (JPY) without a decimal point and a three-decimal one (KWD) with all three', () => {
    const jpy = journal('J-JPY', {
      currency: 'JPY',
      lines: [
        { account: '1000', debit: { amount: 1500, currency: 'JPY' } },
        { account: '4000', credit: { amount: 1500, currency: 'JPY' } },
      ],
    });
    expect(wire(jpy, { homeCurrency: 'JPY' }).amounts).toEqual(['1500', '1500']);
    const kwd = journal('J-KWD', {
      currency: 'KWD',
      lines: [
        { account: '1000', debit: { amount: 1250, currency: 'KWD' } },
        { account: '6000', debit: { amount: 5, currency: 'KWD' } },
        { account: '4000', credit: { amount: 1255, currency: 'KWD' } },
      ],
    });
    expect(wire(kwd, { homeCurrency: 'KWD' }).amounts).toEqual(['1.250', '0.005', '1.255']);
  });

  it('keeps every digit of an amount beyond what a float holds exactly', () => {
    const big = Number.MAX_SAFE_INTEGER; // 90,071,992,547,409.91 USD
    const j = journal('J-BIG', {
      lines: [
        { account: '1000', debit: { amount: big, currency: 'USD' } },
        { account: '4000', credit: { amount: big, currency: 'USD' } },
      ],
    });
    expect(wire(j).amounts).toEqual(['90071992547409.91', '90071992547409.91']);
  });

  it('names the currency and its exchange rate to the home currency for a foreign-currency journal', () => {
    const eur = journal('J-EUR', { currency: 'EUR' });
    const { text, body } = wire(eur, { homeCurrency: 'USD', exchangeRate: '1.08250' });
    expect(body.CurrencyRef).toEqual({ value: 'EUR' });
    expect(text).toContain('"ExchangeRate":1.0825');
    expect(
      wire(
        journal('J-KWD2', {
          currency: 'KWD',
          lines: [
            { account: '1000', debit: { amount: 1000, currency: 'KWD' } },
            { account: '4000', credit: { amount: 1000, currency: 'KWD' } },
          ],
        }),
        { homeCurrency: 'USD', exchangeRate: '3.2537' },
      ).text,
    ).toContain('"ExchangeRate":3.2537');
  });

  it('refuses a foreign-currency journal without a usable exchange rate, naming it', () => {
    const eur = journal('J-EUR', { currency: 'EUR' });
    for (const exchangeRate of [undefined, '', '0', '-1.1', 'abc', '1.123456789']) {
      const err = refusal(() => toQboJournalEntry(eur, { homeCurrency: 'USD', exchangeRate }));
      expect(err.cause).toMatchObject({ kind: 'value', retryable: false, providerCode: 'mapping' });
    }
  });

  it('derives a DocNumber of 21 characters from the journalId, the same every time, and marks the entry with the full id', () => {
    const long = 'amazon-settlement-'.padEnd(255, 'x');
    const a = docNumberFor(long);
    expect(a).toHaveLength(DOC_NUMBER_MAX);
    expect(a).toMatch(/^TW[0-9A-Z]{19}$/);
    expect(docNumberFor(long)).toBe(a);
    expect(docNumberFor(`${long.slice(0, 254)}y`)).not.toBe(a);
    const { body } = wire(journal(long));
    expect(body.DocNumber).toBe(a);
    expect(body.PrivateNote.split('\n')).toEqual([`tillwire:${long}`, `Amazon US settlement ${long}`]);
    expect(isEntryOf(body, long)).toBe(true);
    expect(isEntryOf(body, long.slice(0, 200))).toBe(false);
  });

  it('derives the requestid from the journalId and the exact body: same request, same id; a changed body, a new id', () => {
    const { text } = wire();
    const id = requestIdFor('J-1', text);
    expect(id.length).toBeLessThanOrEqual(REQUEST_ID_MAX);
    expect(requestIdFor('J-1', text)).toBe(id);
    expect(requestIdFor('J-1', text.replace('90.00', '90.01'))).not.toBe(id);
    expect(requestIdFor('J-2', text)).not.toBe(id);
  });

  it('maps tracking dimensions to ClassRef and DepartmentRef where configured, through the tables given', () => {
    const j = journal('J-T', {
      lines: [
        { account: '1000', debit: { amount: 100, currency: 'USD' }, tracking: { channel: 'amazon-us', store: 'NYC-01' } },
        { account: '4000', credit: { amount: 100, currency: 'USD' }, tracking: { store: 'NYC-02' } },
      ],
    });
    const { body } = wire(j, {
      homeCurrency: 'USD',
      classFrom: 'channel',
      classes: { 'amazon-us': '5000000000000012' },
      departmentFrom: 'store',
      accounts: { '1000': '35' },
    });
    expect(body.Line[0].JournalEntryLineDetail).toEqual({
      PostingType: 'Debit',
      AccountRef: { value: '35' },
      ClassRef: { value: '5000000000000012' },
      DepartmentRef: { value: 'NYC-01' },
    });
    expect(body.Line[1].JournalEntryLineDetail).toEqual({ PostingType: 'Credit', AccountRef: { value: '4000' }, DepartmentRef: { value: 'NYC-02' } });
  });

  it('leaves out zero lines and refuses what QuickBooks cannot take as a journal line', () => {
    const withZero = journal('J-Z', {
      lines: [
        { account: '1000', debit: { amount: 100, currency: 'USD' } },
        { account: '6100', debit: { amount: 0, currency: 'USD' } },
        { account: '4000', credit: { amount: 100, currency: 'USD' } },
      ],
    });
    expect(wire(withZero).amounts).toEqual(['1.00', '1.00']);
    const allZero = journal('J-Z0', {
      lines: [
        { account: '1000', debit: { amount: 0, currency: 'USD' } },
        { account: '4000', credit: { amount: 0, currency: 'USD' } },
      ],
    });
    expect(refusal(() => toQboJournalEntry(allZero, { homeCurrency: 'USD' })).kind).toBe('value');
    const taxed = journal('J-TAX', {
      lines: [
        { account: '1000', debit: { amount: 100, currency: 'USD' }, taxCode: 'TAX' },
        { account: '4000', credit: { amount: 100, currency: 'USD' } },
      ],
    });
    expect(refusal(() => toQboJournalEntry(taxed, { homeCurrency: 'USD' })).cause).toMatchObject({ kind: 'value', providerCode: 'mapping' });
  });
});
