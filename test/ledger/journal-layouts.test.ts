/**
 * The journal file layouts (Xero manual-journal import, QuickBooks Online journal-entry import,
 * neutral) with settlement journals built by hand: many lines, tracking dimensions, the settlement
 * rows behind each line, 0-, 2- and 3-decimal currencies, and hostile text.
 */
import { parse } from 'csv-parse/sync';
import type { JournalEntry, JournalLine } from '../../nodes/model/types.generated';
import { toMinor } from '../../nodes/model/money';
import { journalNumber } from '../../nodes/model/journal-number';
import { docNumberFor } from '../../nodes/quickbooks/map';
import { journalToCsv, pairsText, type JournalCsvOptions, type JournalLayout } from '../../nodes/ledger/journal-csv';
import { layoutOptions } from '../../nodes/ledger/node-config';

const ID = 'settlement:amazon:11978452301:2026-03';
const N = 'amazon A3TWDEMOSELLER settlement 11978452301';
const TRACK = { channel: 'amazon', marketplace: 'DE' };
const ref = (line?: number) => ({ system: 'amazon', type: 'settlement', id: '11978452301', ...(line === undefined ? {} : { line }) });
const rows = (group: string, count: number, ranges: string) => ({ settlementGroup: group, settlementRowCount: String(count), settlementRows: ranges });

/** A March settlement of Amazon DE as the settlement journal builder shapes it: group lines, a zero group, the payout. */
function eurSettlement(): JournalEntry {
  const eur = (amount: number) => ({ amount, currency: 'EUR' });
  return {
    kind: 'journal',
    journalId: ID,
    date: '2026-03-17',
    currency: 'EUR',
    narration: N,
    lines: [
      { account: '4000', credit: eur(10000), memo: 'principal (4 lines)', tracking: TRACK, attributes: rows('2026-03|principal|', 4, '1-3,9') },
      { account: '2200', credit: eur(1900), memo: 'tax (1 line)', tracking: TRACK, source: [ref(4)], attributes: rows('2026-03|tax|', 1, '4') },
      {
        account: '6100',
        debit: eur(1500),
        memo: 'fee commission (2 lines)',
        tracking: TRACK,
        source: [ref(5), ref(6)],
        attributes: rows('2026-03|fee|commission', 2, '5-6'),
      },
      {
        account: '4900',
        credit: eur(0),
        memo: 'adjustment (2 lines)',
        tracking: TRACK,
        source: [ref(7), ref(8)],
        attributes: rows('2026-03|adjustment|', 2, '7-8'),
      },
      {
        account: '1220',
        debit: eur(2600),
        memo: 'reserve held (1 line)',
        tracking: TRACK,
        source: [ref(10)],
        attributes: rows('2026-03|reserve|held', 1, '10'),
      },
      { account: '1210', debit: eur(7800), memo: 'payout deposited 2026-03-17', tracking: TRACK },
    ],
    source: [ref()],
    attributes: { settlementId: '11978452301', settlementMonth: '2026-03', settlementPart: '1/1', settlementRevision: '0', settlementPayout: 'deposit' },
  };
}

const ACCOUNT_NAMES = {
  '4000': 'Sales:Amazon',
  '2200': 'VAT payable',
  '6100': 'Selling fees:Amazon, commission',
  '4900': 'Adjustments',
  '1220': 'Amazon reserve',
  '1210': 'Amazon clearing',
};

const OPTIONS: JournalCsvOptions = {
  xero: { defaultTaxRate: 'No VAT', trackingNames: { channel: 'Sales channel', marketplace: 'Marketplace' } },
  quickbooks: { accountNames: ACCOUNT_NAMES, classFrom: 'channel', locationFrom: 'marketplace' },
};

const crlf = (lines: string[]) => [...lines, ''].join('\r\n');
const records = (csv: string): string[][] => parse(csv, { relax_column_count: false });

describe('a settlement journal in the Xero manual-journal import layout', () => {
  it('one row per line: signed amounts, the zero group kept, two tracking categories by their Xero names', () => {
    const t = 'Sales channel,amazon,Marketplace,DE';
    expect(journalToCsv(eurSettlement(), 'xero', OPTIONS)).toBe(
      crlf([
        '*Narration,*Date,Description,*AccountCode,*TaxRate,*Amount,TrackingName1,TrackingOption1,TrackingName2,TrackingOption2',
        `${N},17/03/2026,principal (4 lines),4000,No VAT,-100.00,${t}`,
        `${N},17/03/2026,tax (1 line),2200,No VAT,-19.00,${t}`,
        `${N},17/03/2026,fee commission (2 lines),6100,No VAT,15.00,${t}`,
        `${N},17/03/2026,adjustment (2 lines),4900,No VAT,0.00,${t}`,
        `${N},17/03/2026,reserve held (1 line),1220,No VAT,26.00,${t}`,
        `${N},17/03/2026,payout deposited 2026-03-17,1210,No VAT,78.00,${t}`,
      ]),
    );
  });

  it('a journal with four tracking dimensions is refused by name, and written once two of them are named "-"', () => {
    const four = eurSettlement();
    for (const l of four.lines) l.tracking = { ...TRACK, brand: 'Northwind', store: 'EU-WEB' };
    expect(() => journalToCsv(four, 'xero', OPTIONS)).toThrow(
      `journal ${ID} uses 4 tracking dimensions (channel, marketplace, brand, store); Xero allows at most two tracking categories`,
    );
    const csv = journalToCsv(four, 'xero', {
      xero: { ...OPTIONS.xero, trackingNames: { channel: 'Sales channel', brand: '-', marketplace: 'Marketplace', store: '-' } },
    });
    expect(records(csv)[1].slice(6)).toEqual(['Sales channel', 'amazon', 'Marketplace', 'DE']);
  });
});

describe('a settlement journal in the QuickBooks Online journal-entry import layout', () => {
  it('one row per non-zero line under the journal number, account names, debit and credit columns, currency, location and class', () => {
    const no = journalNumber(ID);
    const d = `| ${N}`;
    expect(journalToCsv(eurSettlement(), 'quickbooks', OPTIONS)).toBe(
      crlf([
        'Journal No,Journal Date,Account Name,Debits,Credits,Description,Name,Currency,Location,Class',
        `${no},03/17/2026,Sales:Amazon,,100.00,principal (4 lines) ${d},,EUR,DE,amazon`,
        `${no},03/17/2026,VAT payable,,19.00,tax (1 line) ${d},,EUR,DE,amazon`,
        `${no},03/17/2026,"Selling fees:Amazon, commission",15.00,,fee commission (2 lines) ${d},,EUR,DE,amazon`,
        `${no},03/17/2026,Amazon reserve,26.00,,reserve held (1 line) ${d},,EUR,DE,amazon`,
        `${no},03/17/2026,Amazon clearing,78.00,,payout deposited 2026-03-17 ${d},,EUR,DE,amazon`,
      ]),
    );
  });

  it("the journal number is the QuickBooks node's DocNumber for the journal: 21 characters, stable, different per journal", () => {
    expect(journalNumber(ID)).toBe(docNumberFor(ID));
    expect(journalNumber(ID)).toMatch(/^TW[0-9A-Z]{19}$/);
    expect(journalNumber(`${ID}:r1`)).not.toBe(journalNumber(ID));
    expect(journalNumber(`${ID}:reversal`)).toBe(docNumberFor(`${ID}:reversal`));
  });

  it("dates in the company region's form; without account names the codes are written; an account missing from the names is refused", () => {
    const csv = journalToCsv(eurSettlement(), 'quickbooks', { quickbooks: { dateFormat: 'DD/MM/YYYY' } });
    expect(records(csv)[1].slice(1, 5)).toEqual(['17/03/2026', '4000', '', '100.00']);
    expect(records(csv)[1].slice(8)).toEqual(['', '']);
    const { '6100': _fees, '1210': _bank, ...partial } = ACCOUNT_NAMES;
    expect(() => journalToCsv(eurSettlement(), 'quickbooks', { quickbooks: { accountNames: partial } })).toThrow(
      `journal ${ID}: no QuickBooks account name for account 6100, 1210; add "code=name" to the account names`,
    );
  });

  it('refuses what the import cannot take, naming it: no line with an amount, an over-long description, a long list of unnamed accounts', () => {
    const eur = (amount: number) => ({ amount, currency: 'EUR' });
    const zeros: JournalEntry = {
      ...eurSettlement(),
      lines: [
        { account: '4900', credit: eur(0) },
        { account: '1210', debit: eur(0) },
      ],
    };
    expect(() => journalToCsv(zeros, 'quickbooks')).toThrow(`journal ${ID} has no line with an amount: QuickBooks has nothing to import`);
    const long = eurSettlement();
    long.lines[1].memo = 'x'.repeat(4000);
    expect(() => journalToCsv(long, 'quickbooks')).toThrow(
      `journal ${ID}: the description of account 2200's line is ${4000 + 3 + N.length} characters; QuickBooks keeps 4000`,
    );
    const many: JournalEntry = {
      ...eurSettlement(),
      lines: [...Array.from({ length: 12 }, (_, i) => ({ account: String(6000 + i), debit: eur(100) })), { account: '1210', credit: eur(1200) }],
    };
    expect(() => journalToCsv(many, 'quickbooks', { quickbooks: { accountNames: { '1210': 'Amazon clearing' } } })).toThrow(
      'no QuickBooks account name for account 6000, 6001, 6002, 6003, 6004, 6005, 6006, 6007, 6008, 6009 and 2 more',
    );
  });

  it('the node settings become these options; an unknown date format falls back to MM/DD/YYYY', () => {
    expect(
      layoutOptions({
        dateFormat: 'DD/MM/YYYY',
        accountNames: '4000 = Sales:Amazon\n6100=Selling fees:Amazon, commission\n\nbad line',
        classFrom: ' channel ',
      }),
    ).toEqual({
      xero: { defaultTaxRate: undefined, trackingNames: {} },
      quickbooks: { dateFormat: 'DD/MM/YYYY', accountNames: { '4000': 'Sales:Amazon', '6100': 'Selling fees:Amazon, commission' }, classFrom: 'channel' },
    });
    expect(layoutOptions({ dateFormat: 'YYYY-MM-DD' }).quickbooks).toEqual({ accountNames: {} });
  });
});

describe('a settlement journal in the neutral layout', () => {
  it('every field: currency, tracking, the settlement rows behind each line, narration and journal attributes', () => {
    const head = `2026-03-17,${ID}`;
    const tail = `EUR,channel=amazon;marketplace=DE`;
    const jattr = 'settlementId=11978452301;settlementMonth=2026-03;settlementPart=1/1;settlementRevision=0;settlementPayout=deposit';
    const s = 'amazon:11978452301';
    expect(journalToCsv(eurSettlement(), 'neutral')).toBe(
      crlf([
        'date,journal_id,line,account,debit,credit,tax_code,memo,source_ref,currency,tracking,attributes,narration,journal_attributes',
        `${head},1,4000,,100.00,,principal (4 lines),${s},${tail},"settlementGroup=2026-03|principal|;settlementRowCount=4;settlementRows=1-3,9",${N},${jattr}`,
        `${head},2,2200,,19.00,,tax (1 line),${s}#4,${tail},settlementGroup=2026-03|tax|;settlementRowCount=1;settlementRows=4,${N},${jattr}`,
        `${head},3,6100,15.00,,,fee commission (2 lines),${s}#5;${s}#6,${tail},settlementGroup=2026-03|fee|commission;settlementRowCount=2;settlementRows=5-6,${N},${jattr}`,
        `${head},4,4900,,0.00,,adjustment (2 lines),${s}#7;${s}#8,${tail},settlementGroup=2026-03|adjustment|;settlementRowCount=2;settlementRows=7-8,${N},${jattr}`,
        `${head},5,1220,26.00,,,reserve held (1 line),${s}#10,${tail},settlementGroup=2026-03|reserve|held;settlementRowCount=1;settlementRows=10,${N},${jattr}`,
        `${head},6,1210,78.00,,,payout deposited 2026-03-17,${s},${tail},,${N},${jattr}`,
      ]),
    );
  });

  it('key=value text escapes %, ; and = so that it splits back exactly', () => {
    const record = { 'a=b': 'x;y', pct: '100%', plain: 'v' };
    const text = pairsText(record);
    expect(text).toBe('a%3Db=x%3By;pct=100%25;plain=v');
    const back = Object.fromEntries(text.split(';').map((p) => p.split('=').map(decodeURIComponent)));
    expect(back).toEqual(record);
  });
});

describe('0- and 3-decimal currencies', () => {
  function yenSettlement(): JournalEntry {
    const jpy = (amount: number) => ({ amount, currency: 'JPY' });
    return {
      kind: 'journal',
      journalId: 'settlement:amazon:JP-5521:2026-02',
      date: '2026-02-27',
      currency: 'JPY',
      narration: 'amazon A1JPSELLER settlement JP-5521',
      lines: [
        { account: '4000', credit: jpy(120000), memo: 'principal (12 lines)', tracking: { channel: 'amazon', marketplace: 'JP' } },
        { account: '2200', credit: jpy(9800), memo: 'tax (12 lines)', tracking: { channel: 'amazon', marketplace: 'JP' } },
        { account: '6100', debit: jpy(15576), memo: 'fee commission (12 lines)', tracking: { channel: 'amazon', marketplace: 'JP' } },
        { account: '1210', debit: jpy(114224), memo: 'payout deposited 2026-02-27', tracking: { channel: 'amazon', marketplace: 'JP' } },
      ],
    };
  }

  function dinarSettlement(feeFils: number): JournalEntry {
    const kwd = (amount: number) => ({ amount, currency: 'KWD' });
    return {
      kind: 'journal',
      journalId: 'settlement:amazon:KW-77:2026-03',
      date: '2026-03-31',
      currency: 'KWD',
      narration: 'amazon KWSELLER settlement KW-77',
      lines: [
        { account: '4000', credit: kwd(12750), memo: 'principal (3 lines)' },
        { account: '6100', debit: kwd(feeFils), memo: 'fee commission (3 lines)' },
        { account: '1210', debit: kwd(12750 - feeFils), memo: 'payout' },
      ],
    };
  }

  it('JPY amounts are whole yen in every layout', () => {
    const j = yenSettlement();
    expect(records(journalToCsv(j, 'xero', OPTIONS)).map((r) => r[5])).toEqual(['*Amount', '-120000', '-9800', '15576', '114224']);
    expect(records(journalToCsv(j, 'quickbooks', { quickbooks: { classFrom: 'channel' } })).map((r) => [r[3], r[4], r[7], r[9]])).toEqual([
      ['Debits', 'Credits', 'Currency', 'Class'],
      ['', '120000', 'JPY', 'amazon'],
      ['', '9800', 'JPY', 'amazon'],
      ['15576', '', 'JPY', 'amazon'],
      ['114224', '', 'JPY', 'amazon'],
    ]);
    expect(records(journalToCsv(j, 'neutral')).map((r) => [r[4], r[5], r[9]])).toEqual([
      ['debit', 'credit', 'currency'],
      ['', '120000', 'JPY'],
      ['', '9800', 'JPY'],
      ['15576', '', 'JPY'],
      ['114224', '', 'JPY'],
    ]);
  });

  it('KWD amounts keep three decimals; Xero takes them only when the third decimal is 0 and never rounds', () => {
    const fils5 = dinarSettlement(1275);
    expect(records(journalToCsv(fils5, 'neutral')).map((r) => [r[4], r[5]])).toEqual([
      ['debit', 'credit'],
      ['', '12.750'],
      ['1.275', ''],
      ['11.475', ''],
    ]);
    expect(records(journalToCsv(fils5, 'quickbooks')).map((r) => [r[3], r[4]])).toEqual([
      ['Debits', 'Credits'],
      ['', '12.750'],
      ['1.275', ''],
      ['11.475', ''],
    ]);
    expect(() => journalToCsv(fils5, 'xero', OPTIONS)).toThrow(
      'journal settlement:amazon:KW-77:2026-03 line 2: 1.275 KWD has more than 2 decimals; Xero amounts have at most 2 and Tillwire does not round',
    );
    expect(records(journalToCsv(dinarSettlement(1270), 'xero', OPTIONS)).map((r) => r[5])).toEqual(['*Amount', '-12.750', '1.270', '11.480']);
  });
});

describe('a settlement journal of many lines', () => {
  /** 149 group lines of varying size and sign (deterministic), four tracking dimensions, and the payout. */
  function manyLines(): JournalEntry {
    const gbp = (amount: number) => ({ amount, currency: 'GBP' });
    const tracking = { channel: 'amazon', marketplace: 'UK', brand: 'Northwind', store: 'UK-WEB' };
    const lines: JournalLine[] = [];
    let net = 0;
    for (let i = 1; i <= 149; i++) {
      const amount = ((i * 7919) % 250000) * (i % 3 === 0 ? -1 : 1) + (i % 5 === 0 ? 0 : i);
      net += amount;
      lines.push({
        account: String(4000 + (i % 40)),
        ...(amount < 0 ? { debit: gbp(-amount) } : { credit: gbp(amount) }),
        memo: `group ${i}`,
        tracking,
        attributes: rows(`2026-03|other|g${i}`, i, `${i * 10}-${i * 10 + i - 1}`),
      });
    }
    lines.push({ account: '1210', ...(net >= 0 ? { debit: gbp(net) } : { credit: gbp(-net) }), memo: 'payout', tracking });
    return { kind: 'journal', journalId: 'settlement:amazon:UK-9:2026-03', date: '2026-03-20', currency: 'GBP', narration: 'amazon UK settlement UK-9', lines };
  }

  const minor = (text: string) => BigInt(text === '' ? 0 : toMinor(text, 'GBP'));

  it.each<[JournalLayout]>([['xero'], ['quickbooks'], ['neutral']])('%s: every line is a row and the rows balance to the penny', (layout) => {
    const j = manyLines();
    const options: JournalCsvOptions = {
      quickbooks: { classFrom: 'channel' },
      xero: { defaultTaxRate: 'No VAT', trackingNames: { channel: 'Channel', brand: '-', store: '-', marketplace: 'Market' } },
    };
    const [header, ...body] = records(journalToCsv(j, layout, options));
    const col = (name: string) => header.indexOf(name);
    const nonZero = j.lines.filter((l) => (l.debit ?? l.credit)!.amount !== 0);
    if (layout === 'xero') {
      expect(body).toHaveLength(j.lines.length);
      expect(body.reduce((s, r) => s + minor(r[col('*Amount')]), 0n)).toBe(0n);
      expect(body.map((r) => minor(r[col('*Amount')]))).toEqual(j.lines.map((l) => BigInt(l.debit ? l.debit.amount : -l.credit!.amount)));
    } else {
      const [dr, cr] = layout === 'quickbooks' ? ['Debits', 'Credits'] : ['debit', 'credit'];
      expect(body).toHaveLength(layout === 'quickbooks' ? nonZero.length : j.lines.length);
      const debits = body.reduce((s, r) => s + minor(r[col(dr)]), 0n);
      expect(debits).toBe(body.reduce((s, r) => s + minor(r[col(cr)]), 0n));
      expect(debits).toBe(j.lines.reduce((s, l) => s + BigInt(l.debit?.amount ?? 0), 0n));
    }
    if (layout === 'neutral') {
      expect(body.map((r) => r[col('attributes')])).toEqual(j.lines.map((l) => pairsText(l.attributes)));
      expect(new Set(body.map((r) => r[col('tracking')]))).toEqual(new Set(['channel=amazon;marketplace=UK;brand=Northwind;store=UK-WEB']));
    }
  });
});

describe('spreadsheet formulas', () => {
  it('free text starting with = + - @ is neutralised in every layout; amounts keep their sign', () => {
    const j = eurSettlement();
    j.narration = '+SUM(A1:A9) settlement';
    j.lines[0].memo = '=HYPERLINK("http://evil.example","click")';
    j.lines[2].memo = '@cmd';
    j.lines[4].memo = '-reserve';
    const xero = records(journalToCsv(j, 'xero', OPTIONS));
    expect(xero[1].slice(0, 3)).toEqual(["'+SUM(A1:A9) settlement", '17/03/2026', `'=HYPERLINK("http://evil.example","click")`]);
    expect(xero[1][5]).toBe('-100.00');
    expect(xero[3][2]).toBe("'@cmd");
    expect(xero[5][2]).toBe("'-reserve");
    const qbo = records(journalToCsv(j, 'quickbooks', OPTIONS));
    expect(qbo[1][5]).toBe(`'=HYPERLINK("http://evil.example","click") | +SUM(A1:A9) settlement`);
    const neutral = records(journalToCsv(j, 'neutral'));
    expect([neutral[1][7], neutral[1][12]]).toEqual([`'=HYPERLINK("http://evil.example","click")`, "'+SUM(A1:A9) settlement"]);
    for (const csv of [xero, qbo, neutral]) for (const row of csv) for (const cell of row) expect(cell).not.toMatch(/^[=+@]/);
  });

  it('a setting that would start a formula is refused too: the Xero tax rate, a Xero tracking category, a QuickBooks account name', () => {
    expect(() => journalToCsv(eurSettlement(), 'xero', { xero: { defaultTaxRate: '=1' } })).toThrow(
      'the default Xero tax rate "=1" starts with a formula character',
    );
    expect(() => journalToCsv(eurSettlement(), 'xero', { xero: { defaultTaxRate: 'No VAT', trackingNames: { channel: '@x' } } })).toThrow(
      'the Xero tracking category name "@x" starts with a formula character',
    );
    expect(() => journalToCsv(eurSettlement(), 'quickbooks', { quickbooks: { accountNames: { ...ACCOUNT_NAMES, '1210': '+bank' } } })).toThrow(
      'the QuickBooks account name "+bank" starts with a formula character',
    );
  });

  it.each<[string, (j: JournalEntry) => void, string]>([
    ['an account', (j) => (j.lines[1].account = '=2+5'), 'line 2: account "=2+5" starts with a formula character'],
    ['a tracking option', (j) => (j.lines[0].tracking = { channel: '@SUM(1)' }), 'line 1: tracking channel "@SUM(1)" starts with a formula character'],
    ['a tax code', (j) => (j.lines[3].taxCode = '-1'), 'line 4: tax code "-1" starts with a formula character'],
    ['the journal id', (j) => (j.journalId = '+settlement:x'), 'the journal id "+settlement:x" starts with a formula character'],
  ])('a value the ledger matches exactly is refused in every layout: %s', (_what, spoil, message) => {
    for (const layout of ['xero', 'quickbooks', 'neutral'] as const) {
      const j = eurSettlement();
      spoil(j);
      expect(() => journalToCsv(j, layout, OPTIONS)).toThrow(message);
    }
  });
});
