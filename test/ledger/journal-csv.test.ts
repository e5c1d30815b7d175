import type { JournalEntry } from '../../nodes/model/types.generated';
import { buildStoreJournal } from '../../nodes/ledger/store-journal';
import { journalToCsv, JournalCsvError, xeroDate } from '../../nodes/ledger/journal-csv';
import { fixture } from './sales';

const MAPPING = {
  revenueAccounts: { '0.20': '4000', '0': '4010' },
  taxAccounts: { 'VAT-STD': '2200', 'VAT-ZERO': '2200' },
  tenderAccounts: { card: '1020', gift_card: '2400' },
};

function fixtureJournal(): JournalEntry {
  return buildStoreJournal([fixture('sale.json')], MAPPING, { storeId: 'LDN-042', businessDate: '2025-03-14', currency: 'GBP' });
}

const kwd = (amount: number) => ({ amount, currency: 'KWD' });

/** A hand-made KWD journal with text that needs quoting, a ledger tax code and two tracking dimensions. */
function kwdJournal(): JournalEntry {
  return {
    kind: 'journal',
    journalId: 'jnl-kw-7',
    date: '2025-03-16',
    currency: 'KWD',
    narration: 'Avenues, day 16',
    lines: [
      { account: '1020', debit: kwd(11250), memo: 'KNET "batch" 12', tracking: { store: 'KWI-AVENUES', channel: 'pos' } },
      { account: '4000', credit: kwd(11000), taxCode: 'Tax Exempt', memo: 'Sales', tracking: { store: 'KWI-AVENUES' } },
      { account: '4990', credit: kwd(250), memo: 'Goodwill\nadjustment', source: [{ system: 'odoo', type: 'account.move', id: 'MISC/2025/0007' }] },
    ],
    source: [{ system: 'pos', id: 'z-0316' }],
  };
}

describe('journal CSV, Xero manual-journal import layout (docs/ledger.md)', () => {
  it('writes the fixture day exactly: template columns, dd/mm/yyyy, signed amounts (debit +), a tax-rate name on every row', () => {
    const csv = journalToCsv(fixtureJournal(), 'xero', { xero: { defaultTaxRate: 'No VAT', trackingNames: { store: 'Store' } } });
    expect(csv).toBe(
      [
        '*Narration,*Date,Description,*AccountCode,*TaxRate,*Amount,TrackingName1,TrackingOption1,TrackingName2,TrackingOption2',
        'Store LDN-042 takings 2025-03-14,14/03/2025,Takings: card,1020,No VAT,49.97,Store,LDN-042,,',
        'Store LDN-042 takings 2025-03-14,14/03/2025,Takings: gift card,2400,No VAT,20.00,Store,LDN-042,,',
        'Store LDN-042 takings 2025-03-14,14/03/2025,Sales at 20% (VAT-STD),4000,No VAT,-48.30,Store,LDN-042,,',
        'Store LDN-042 takings 2025-03-14,14/03/2025,Sales at 0% (VAT-ZERO),4010,No VAT,-12.00,Store,LDN-042,,',
        'Store LDN-042 takings 2025-03-14,14/03/2025,VAT-STD 20% on sales,2200,No VAT,-9.67,Store,LDN-042,,',
        '',
      ].join('\r\n'),
    );
  });

  it('quotes where needed, keeps 3 KWD decimals, uses a line tax code before the default, and two tracking categories in the configured order', () => {
    const csv = journalToCsv(kwdJournal(), 'xero', { xero: { defaultTaxRate: 'No Tax', trackingNames: { channel: 'Channel', store: 'Store' } } });
    expect(csv).toBe(
      [
        '*Narration,*Date,Description,*AccountCode,*TaxRate,*Amount,TrackingName1,TrackingOption1,TrackingName2,TrackingOption2',
        '"Avenues, day 16",16/03/2025,"KNET ""batch"" 12",1020,No Tax,11.250,Channel,pos,Store,KWI-AVENUES',
        '"Avenues, day 16",16/03/2025,Sales,4000,Tax Exempt,-11.000,,,Store,KWI-AVENUES',
        '"Avenues, day 16",16/03/2025,"Goodwill\nadjustment",4990,No Tax,-0.250,,,,',
        '',
      ].join('\r\n'),
    );
  });

  it('refuses what Xero would reject: no tax rate for a row, more than two tracking categories, more than 300 lines', () => {
    expect(() => journalToCsv(fixtureJournal(), 'xero')).toThrow(/line 1 has no tax rate: Xero's \*TaxRate column is required/);
    const three = kwdJournal();
    three.lines[2].tracking = { region: 'KW' };
    expect(() => journalToCsv(three, 'xero', { xero: { defaultTaxRate: 'No Tax' } })).toThrow(
      'uses 3 tracking dimensions (channel, region, store); Xero allows at most two tracking categories',
    );
    const big: JournalEntry = {
      ...kwdJournal(),
      lines: [...Array.from({ length: 300 }, () => ({ account: '1020', debit: kwd(1) })), { account: '4000', credit: kwd(300) }],
    };
    expect(() => journalToCsv(big, 'xero', { xero: { defaultTaxRate: 'No Tax' } })).toThrow(
      "has 301 lines; Xero's manual-journal import takes at most 300 per file",
    );
    expect(journalToCsv(big, 'neutral').split('\r\n')).toHaveLength(303); // header + 301 + final CRLF
  });

  it('dates are dd/mm/yyyy', () => {
    expect(xeroDate('2025-01-02')).toBe('02/01/2025');
    expect(() => xeroDate('2025-1-2')).toThrow(JournalCsvError);
  });
});

describe('journal CSV, neutral layout (every field)', () => {
  it('writes the fixture day exactly: ISO date, journal id, line numbers, decimal debit/credit, source refs', () => {
    const journal = buildStoreJournal(
      [fixture('sale.json')],
      { ...MAPPING, ledgerTaxCodes: { 'VAT-STD': 'S20' } },
      {
        storeId: 'LDN-042',
        businessDate: '2025-03-14',
        currency: 'GBP',
      },
    );
    const k = 'sale:LDN-042:T03:042-03-000512';
    // currency, tracking, line attributes, narration, journal attributes: the same on every line of this day
    const rest = ',GBP,store=LDN-042,,Store LDN-042 takings 2025-03-14,journalType=store-day;storeId=LDN-042;businessDate=2025-03-14;saleCount=1';
    expect(journalToCsv(journal, 'neutral')).toBe(
      [
        'date,journal_id,line,account,debit,credit,tax_code,memo,source_ref,currency,tracking,attributes,narration,journal_attributes',
        `2025-03-14,store-day:LDN-042:2025-03-14,1,1020,49.97,,,Takings: card,${k}#2${rest}`,
        `2025-03-14,store-day:LDN-042:2025-03-14,2,2400,20.00,,,Takings: gift card,${k}#1${rest}`,
        `2025-03-14,store-day:LDN-042:2025-03-14,3,4000,,48.30,S20,Sales at 20% (VAT-STD),${k}#1;${k}#2${rest}`,
        `2025-03-14,store-day:LDN-042:2025-03-14,4,4010,,12.00,,Sales at 0% (VAT-ZERO),${k}#3${rest}`,
        `2025-03-14,store-day:LDN-042:2025-03-14,5,2200,,9.67,S20,VAT-STD 20% on sales,${k}#1;${k}#2${rest}`,
        '',
      ].join('\r\n'),
    );
  });

  it('KWD amounts keep three decimals; a line without sources falls back to the journal source', () => {
    expect(journalToCsv(kwdJournal(), 'neutral')).toBe(
      [
        'date,journal_id,line,account,debit,credit,tax_code,memo,source_ref,currency,tracking,attributes,narration,journal_attributes',
        '2025-03-16,jnl-kw-7,1,1020,11.250,,,"KNET ""batch"" 12",pos:z-0316,KWD,store=KWI-AVENUES;channel=pos,,"Avenues, day 16",',
        '2025-03-16,jnl-kw-7,2,4000,,11.000,Tax Exempt,Sales,pos:z-0316,KWD,store=KWI-AVENUES,,"Avenues, day 16",',
        '2025-03-16,jnl-kw-7,3,4990,,0.250,,"Goodwill\nadjustment",odoo:MISC/2025/0007,KWD,,,"Avenues, day 16",',
        '',
      ].join('\r\n'),
    );
  });

  it('JPY amounts have no decimals', () => {
    const yen = (amount: number) => ({ amount, currency: 'JPY' });
    const j: JournalEntry = {
      kind: 'journal',
      journalId: 'j-jp',
      date: '2025-03-15',
      currency: 'JPY',
      narration: 'Shibuya',
      lines: [
        { account: '1010', debit: yen(2400) },
        { account: '4060', credit: yen(2182) },
        { account: '2220', credit: yen(218) },
      ],
    };
    expect(journalToCsv(j, 'neutral').split('\r\n').slice(1, 4)).toEqual([
      '2025-03-15,j-jp,1,1010,2400,,,,,JPY,,,Shibuya,',
      '2025-03-15,j-jp,2,4060,,2182,,,,JPY,,,Shibuya,',
      '2025-03-15,j-jp,3,2220,,218,,,,JPY,,,Shibuya,',
    ]);
  });
});

describe('an unbalanced journal is refused in both layouts, naming the difference', () => {
  it.each(['xero', 'neutral'] as const)('%s', (layout) => {
    const j = kwdJournal();
    j.lines[1].credit!.amount = 10999;
    expect(() => journalToCsv(j, layout, { xero: { defaultTaxRate: 'No Tax' } })).toThrow(
      'journal jnl-kw-7 does not balance: debits 11.250 KWD, credits 11.249 KWD, difference 0.001 KWD more debit',
    );
  });

  it('and a line with both sides, another currency or an unknown layout', () => {
    const both = kwdJournal();
    (both.lines[0] as any).credit = kwd(1);
    expect(() => journalToCsv(both, 'neutral')).toThrow('line 1 must have exactly one of debit and credit');
    const usd = kwdJournal();
    usd.lines[0].debit = { amount: 11250, currency: 'USD' };
    expect(() => journalToCsv(usd, 'neutral')).toThrow('line 1 must carry a non-negative whole amount of minor units in KWD');
    expect(() => journalToCsv(kwdJournal(), 'sage' as never)).toThrow('unknown journal layout "sage"');
  });
});
