/**
 * The V2 settlement report reader on hand-built files: both decimal marks and date forms, 0- and
 * 3-decimal currencies, reserves, refunds, a negative settlement, gzip, bad rows reported with
 * their row numbers while the rest still parse, input in tiny chunks, and a 200,000-row file read
 * with the heap growing far less than the file's size.
 */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import v8 from 'node:v8';
import vm from 'node:vm';
import { SETTLEMENT_COLUMNS } from '../../nodes/amazon/contract';
import { readDate, readSettlementReport, SettlementReportError, type SettlementRowProblem } from '../../nodes/amazon/settlement-report';
import type { SettlementLine } from '../../nodes/model/types.generated';
import { validateDocument } from '../../nodes/model/validate';
import { toMinor } from '../../nodes/model/money';

type Row = Partial<Record<(typeof SETTLEMENT_COLUMNS)[number] | 'promotion-id', string>>;

const HEADER = SETTLEMENT_COLUMNS.join('\t');
const row = (r: Row, columns: readonly string[] = SETTLEMENT_COLUMNS) => columns.map((c) => r[c as keyof Row] ?? '').join('\t');

function summary(r: Row & { 'settlement-id'?: string }): Row {
  return {
    'settlement-id': '23456789012',
    'settlement-start-date': '2026-11-03 08:00:00 UTC',
    'settlement-end-date': '2026-11-17 08:00:00 UTC',
    'deposit-date': '2026-11-19 08:00:00 UTC',
    currency: 'USD',
    ...r,
  };
}

const ORDER = '111-1234567-7654321';
function tx(r: Row): Row {
  return { 'settlement-id': '23456789012', 'transaction-type': 'Order', 'order-id': ORDER, 'posted-date-time': '2026-11-04 10:15:00 UTC', sku: 'SKU-1', ...r };
}

function file(rows: Row[], columns: readonly string[] = SETTLEMENT_COLUMNS): string {
  return [columns.join('\t'), ...rows.map((r) => row(r, columns))].join('\n') + '\n';
}

async function read(input: Parameters<typeof readSettlementReport>[0], opts: Partial<Parameters<typeof readSettlementReport>[1]> = {}) {
  const problems: SettlementRowProblem[] = [];
  const report = await readSettlementReport(input, { account: 'A2SELLER', onProblem: (p) => void problems.push(p), ...opts });
  const lines: SettlementLine[] = [];
  for await (const l of report.lines) lines.push(l);
  return { report, lines, problems };
}

const sum = (lines: SettlementLine[]) => lines.reduce((s, l) => s + l.amount.amount, 0);

/** One order (principal, tax, shipping, commission, FBA fee, promotion) and its settlement total. */
const US_ROWS: Row[] = [
  summary({ 'total-amount': '41.47' }),
  tx({ 'amount-type': 'ItemPrice', 'amount-description': 'Principal', amount: '39.98' }),
  tx({ 'amount-type': 'ItemPrice', 'amount-description': 'Tax', amount: '3.55' }),
  tx({ 'amount-type': 'ItemPrice', 'amount-description': 'Shipping', amount: '3.99' }),
  tx({ 'amount-type': 'Promotion', 'amount-description': 'Principal', amount: '-2.00' }),
  tx({ 'amount-type': 'ItemFees', 'amount-description': 'Commission', amount: '-6.00' }),
  tx({ 'amount-type': 'ItemFees', 'amount-description': 'FBAPerUnitFulfillmentFee', amount: '-3.22' }),
  tx({ 'amount-type': 'ItemWithheldTax', 'amount-description': 'MarketplaceFacilitatorTax-Principal', amount: '5.17', 'order-id': '', sku: '' }),
];

describe('a consistent US file (decimal point, "UTC" dates)', () => {
  it('gives the header from the summary row and one canonical line per later row, adding up to the stated total', async () => {
    const { report, lines, problems } = await read(file(US_ROWS));
    expect(problems).toEqual([]);
    expect(report.header).toEqual({
      kind: 'settlement',
      settlementId: '23456789012',
      channel: { system: 'amazon', account: 'A2SELLER', id: '23456789012' },
      periodStart: '2026-11-03T08:00:00Z',
      periodEnd: '2026-11-17T08:00:00Z',
      depositDate: '2026-11-19',
      currency: 'USD',
      statedTotal: { amount: 4147, currency: 'USD' },
    });
    expect(lines.map((l) => [l.lineId, l.type, l.category, l.amount.amount])).toEqual([
      ['3', 'principal', undefined, 3998],
      ['4', 'tax', undefined, 355],
      ['5', 'shipping', undefined, 399],
      ['6', 'promotion', undefined, -200],
      ['7', 'fee', 'commission', -600],
      ['8', 'fee', 'fulfilment', -322],
      ['9', 'tax', 'withheld', 517],
    ]);
    expect(lines[0]).toEqual({
      lineId: '3',
      type: 'principal',
      description: 'Principal',
      amount: { amount: 3998, currency: 'USD' },
      orderRef: { id: `amazon:A2SELLER:${ORDER}`, channel: { system: 'amazon', account: 'A2SELLER', id: ORDER } },
      sku: 'SKU-1',
      postedAt: '2026-11-04T10:15:00Z',
      source: { system: 'amazon', type: 'settlement-report', id: '23456789012', line: 3 },
    });
    expect(lines[6].orderRef).toBeUndefined();
    expect(sum(lines)).toBe(report.header.statedTotal!.amount);
    expect(report.tally).toEqual({ rows: 7, lines: 7, problems: 0, lineSum: 4147n, complete: true });
    expect(report.postable()).toBe(true);
  });

  it('makes a canonical Settlement the validator accepts (netTotal = Σ lines)', async () => {
    const { report, lines } = await read(file(US_ROWS));
    const doc = { ...report.header, netTotal: { amount: sum(lines), currency: 'USD' }, lines };
    expect(validateDocument('settlement', doc)).toMatchObject({ valid: true });
  });

  it('is not postable before every row was read', async () => {
    const report = await readSettlementReport(file(US_ROWS), { account: 'A2SELLER' });
    const it = report.lines[Symbol.asyncIterator]();
    await it.next();
    expect(report.postable()).toBe(false);
    await it.return!(undefined);
    expect(report.postable()).toBe(false);
  });

  it('reads a file with the 24th column promotion-id by the header names', async () => {
    const columns = [...SETTLEMENT_COLUMNS, 'promotion-id'];
    const rows: Row[] = [
      summary({ 'total-amount': '8.00' }),
      tx({ 'amount-type': 'Promotion', 'amount-description': 'Shipping', amount: '-1.99', 'promotion-id': 'PROMO-1' }),
    ];
    rows.push(tx({ 'amount-type': 'ItemPrice', 'amount-description': 'Shipping', amount: '9.99' }));
    const { lines, problems } = await read(file(rows, columns));
    expect(problems).toEqual([]);
    expect(lines.map((l) => [l.type, l.category, l.amount.amount])).toEqual([
      ['promotion', 'shipping', -199],
      ['shipping', undefined, 999],
    ]);
  });
});

describe('number and date formats', () => {
  it('reads an EU file: decimal comma ("95,00") and day-first dates ("03.11.2026 08:00:00 UTC")', async () => {
    const eu = (r: Row) => tx({ 'posted-date-time': '04.11.2026 10:15:00 UTC', ...r });
    const { report, lines, problems } = await read(
      file([
        summary({
          currency: 'EUR',
          'total-amount': '80,25',
          'settlement-start-date': '03.11.2026 08:00:00 UTC',
          'settlement-end-date': '17.11.2026 08:00:00 UTC',
          'deposit-date': '19.11.2026 08:00:00 UTC',
        }),
        eu({ 'amount-type': 'ItemPrice', 'amount-description': 'Principal', amount: '95,00' }),
        eu({ 'amount-type': 'ItemFees', 'amount-description': 'Commission', amount: '-14,25' }),
        eu({ 'amount-type': 'ItemFees', 'amount-description': 'FBAPerUnitFulfillmentFee', amount: '-0,5' }),
      ]),
    );
    expect(problems).toEqual([]);
    expect(report.header).toMatchObject({ periodStart: '2026-11-03T08:00:00Z', periodEnd: '2026-11-17T08:00:00Z', depositDate: '2026-11-19' });
    expect(report.header.statedTotal).toEqual({ amount: 8025, currency: 'EUR' });
    expect(lines.map((l) => l.amount.amount)).toEqual([9500, -1425, -50]);
    expect(lines[0].postedAt).toBe('2026-11-04T10:15:00Z');
    expect(sum(lines)).toBe(8025);
  });

  it('reads a 0-decimal currency (JPY) and refuses an amount with decimals JPY does not have', async () => {
    const { report, lines, problems } = await read(
      file([
        summary({ currency: 'JPY', 'total-amount': '1330' }),
        tx({ 'amount-type': 'ItemPrice', 'amount-description': 'Principal', amount: '1500' }),
        tx({ 'amount-type': 'ItemFees', 'amount-description': 'Commission', amount: '-170' }),
        tx({ 'amount-type': 'ItemFees', 'amount-description': 'Commission', amount: '-12.5' }),
      ]),
    );
    expect(report.header.statedTotal).toEqual({ amount: 1330, currency: 'JPY' });
    expect(lines.map((l) => l.amount)).toEqual([
      { amount: 1500, currency: 'JPY' },
      { amount: -170, currency: 'JPY' },
    ]);
    expect(problems).toEqual([expect.objectContaining({ row: 5, kind: 'amount', reason: expect.stringContaining('12.5 has 1 decimals but JPY allows 0') })]);
    expect(report.postable()).toBe(false);
  });

  it('applies a 3-decimal currency exponent (Amazon has no KWD marketplace; the reader is not tied to 2 decimals)', async () => {
    const { report, lines, problems } = await read(
      file([summary({ currency: 'KWD', 'total-amount': '12.345' }), tx({ 'amount-type': 'ItemPrice', 'amount-description': 'Principal', amount: '12.345' })]),
    );
    expect(problems).toEqual([]);
    expect(report.header.statedTotal).toEqual({ amount: 12345, currency: 'KWD' });
    expect(lines[0].amount).toEqual({ amount: 12345, currency: 'KWD' });
  });

  it('reads every amount form exactly as toMinor does, and refuses the forms toMinor refuses', async () => {
    // The reader reads the usual form ("-12.34") from its characters; the rest goes through toMinor.
    const texts = [
      '0',
      '-0.00',
      '0.5',
      '12.30',
      '-12.3',
      '007.10',
      '+5.00',
      '123456789012.34',
      '1234567890123.45',
      '90071992547409.91',
      '1.',
      '.5',
      '-',
      '1-2',
      '12.345',
      '1e3',
      ' 7.00 ',
    ];
    const { lines, problems } = await read(
      file([summary({ 'total-amount': '0.00' }), ...texts.map((amount) => tx({ 'amount-type': 'ItemPrice', 'amount-description': 'Principal', amount }))]),
    );
    const expected = texts.map((text) => {
      try {
        return toMinor(text, 'USD');
      } catch {
        return 'refused';
      }
    });
    const got: Array<number | string> = texts.map(() => 'refused');
    for (const l of lines) got[Number(l.lineId) - 3] = l.amount.amount;
    expect(got).toEqual(expected);
    expect(got.filter((g) => g === 'refused')).toHaveLength(problems.length);
    expect(Object.is(got[1], 0)).toBe(true); // "-0.00" is 0, not -0
    expect(got.slice(0, 10)).toEqual([0, 0, 50, 1230, -1230, 710, 500, 12345678901234, 123456789012345, 9007199254740991]);
  });

  it('reads the ISO form of Amazon’s field definitions and a posted-date without time', async () => {
    const { report, lines } = await read(
      file([
        summary({
          'total-amount': '1.00',
          'settlement-start-date': '2026-11-03T16:00:00-07:00',
          'settlement-end-date': '2026-11-17T16:00:00-07:00',
          'deposit-date': '2026-11-19T16:00:00-07:00',
        }),
        tx({ 'amount-type': 'ItemPrice', 'amount-description': 'Principal', amount: '1.00', 'posted-date-time': '', 'posted-date': '2026-11-05' }),
      ]),
    );
    expect(report.header).toMatchObject({ periodStart: '2026-11-03T16:00:00-07:00', depositDate: '2026-11-19' });
    expect(lines[0].postedAt).toBe('2026-11-05T00:00:00Z');
  });

  it.each([['31.02.2026 08:00:00 UTC'], ['2026-13-01 08:00:00 UTC'], ['2026-11-03 25:00:00 UTC'], ['2026-11-03 08:00:00 PST'], ['11/03/2026'], ['']])(
    'refuses the date %j',
    (text) => expect(readDate(text)).toBeUndefined(),
  );

  it('knows 29 February only in leap years', () => {
    expect(readDate('29.02.2028 00:00:00 UTC')?.date).toBe('2028-02-29');
    expect(readDate('2027-02-29')).toBeUndefined();
  });
});

describe('reserves, refunds and negative settlements', () => {
  it('maps the previous reserve released (+) and the current reserve held (−)', async () => {
    const other = (description: string, amount: string) =>
      tx({ 'transaction-type': 'other-transaction', 'order-id': '', sku: '', 'amount-type': 'other-transaction', 'amount-description': description, amount });
    const { lines, report } = await read(
      file([
        summary({ 'total-amount': '95.00' }),
        tx({ 'amount-type': 'ItemPrice', 'amount-description': 'Principal', amount: '100.00' }),
        other('Previous Reserve Amount Balance', '20.00'),
        other('Current Reserve Amount', '-25.00'),
      ]),
    );
    expect(lines.slice(1).map((l) => [l.type, l.category, l.description, l.amount.amount])).toEqual([
      ['reserve', 'released', 'Previous Reserve Amount Balance', 2000],
      ['reserve', 'held', 'Current Reserve Amount', -2500],
    ]);
    expect(sum(lines)).toBe(report.header.statedTotal!.amount);
  });

  it('reads a negative settlement (the seller owes Amazon) whose refund lines are refunds', async () => {
    const refund = (r: Row) => tx({ 'transaction-type': 'Refund', ...r });
    const { report, lines, problems } = await read(
      file([
        summary({ 'total-amount': '-25.50' }),
        refund({ 'amount-type': 'ItemPrice', 'amount-description': 'Principal', amount: '-30.00' }),
        refund({ 'amount-type': 'ItemPrice', 'amount-description': 'Tax', amount: '-2.50' }),
        refund({ 'amount-type': 'ItemFees', 'amount-description': 'Commission', amount: '4.50' }),
        refund({ 'amount-type': 'ItemFees', 'amount-description': 'RefundCommission', amount: '-0.90' }),
        tx({
          'transaction-type': 'ServiceFee',
          'order-id': '',
          'amount-type': 'Cost of Advertising',
          'amount-description': 'TransactionTotalAmount',
          amount: '3.40',
        }),
      ]),
    );
    expect(problems).toEqual([]);
    expect(report.header.statedTotal).toEqual({ amount: -2550, currency: 'USD' });
    expect(lines.map((l) => [l.type, l.category])).toEqual([
      ['refund', 'principal'],
      ['refund', 'tax'],
      ['fee', 'commission'],
      ['fee', 'commission'],
      ['fee', 'advertising'],
    ]);
    expect(sum(lines)).toBe(-2550);
  });
});

describe('bad rows', () => {
  it('reports each bad row with its row number and cells, parses the others, and leaves the settlement not postable', async () => {
    const rows: Row[] = [
      summary({ 'total-amount': '10.00' }),
      tx({ 'amount-type': 'ItemPrice', 'amount-description': 'Principal', amount: '12.00' }), // row 3
      tx({ 'amount-type': 'ItemPrice', 'amount-description': 'Principal', amount: '12.0O' }), // row 4: letter O
      tx({ 'amount-type': 'MysteryFees', 'amount-description': 'Surprise', amount: '-1.00' }), // row 5
      tx({ 'amount-type': 'ItemFees', 'amount-description': 'Commission', amount: '-2.00' }), // row 6
      tx({ 'amount-type': 'ItemFees', 'amount-description': 'Commission', amount: '-2.00', currency: 'EUR' }), // row 8 (row 7 below)
    ];
    const text = file(rows).split('\n');
    text.splice(6, 0, ['23456789012', '', '', '', '', '', 'Order', ORDER, '', '', '', '', 'ItemFees', 'Commission', '-1.00'].join('\t')); // row 7: 15 columns
    const { report, lines, problems } = await read(text.join('\n'));
    expect(lines.map((l) => [l.lineId, l.amount.amount])).toEqual([
      ['3', 1200],
      ['6', -200],
    ]);
    expect(problems.map((p) => [p.row, p.kind])).toEqual([
      [4, 'amount'],
      [5, 'unknown-type'],
      [7, 'columns'],
      [8, 'currency'],
    ]);
    expect(problems[0]).toMatchObject({ settlementId: '23456789012', reason: expect.stringMatching(/^row 4: amount: '12\.0O' is not a decimal amount/) });
    expect(problems[0].cells).toMatchObject({ amount: '12.0O', 'order-id': ORDER });
    expect(problems[1].reason).toContain('amount-type "MysteryFees"');
    expect(problems[2].reason).toContain('15 columns where the header row has 23');
    expect(problems[3].reason).toContain('currency EUR differs from the settlement');
    expect(report.tally).toMatchObject({ rows: 6, lines: 2, problems: 4, complete: true });
    expect(report.postable()).toBe(false);
  });

  it('refuses an amount written with the other decimal mark than the rest of the file, and one with grouping', async () => {
    const { problems, lines } = await read(
      file([
        summary({ currency: 'EUR', 'total-amount': '1,00' }),
        tx({ 'amount-type': 'ItemPrice', 'amount-description': 'Principal', amount: '1,00' }),
        tx({ 'amount-type': 'ItemPrice', 'amount-description': 'Principal', amount: '1.00' }),
        tx({ 'amount-type': 'ItemPrice', 'amount-description': 'Principal', amount: '1.000,00' }),
        tx({ 'amount-type': 'ItemPrice', 'amount-description': 'Principal', amount: '' }),
      ]),
    );
    expect(lines).toHaveLength(1);
    expect(problems.map((p) => [p.row, p.kind])).toEqual([
      [4, 'amount'],
      [5, 'amount'],
      [6, 'amount'],
    ]);
    expect(problems[0].reason).toContain("uses a decimal point but this file's amounts use a decimal comma");
  });

  it('refuses a row of another settlement', async () => {
    const { problems } = await read(
      file([
        summary({ 'total-amount': '1.00' }),
        tx({ 'settlement-id': '999', 'amount-type': 'ItemPrice', 'amount-description': 'Principal', amount: '1.00' }),
      ]),
    );
    expect(problems).toEqual([expect.objectContaining({ row: 3, kind: 'settlement' })]);
  });

  it('waits for an asynchronous onProblem (a dead-letter write) before reading on', async () => {
    const order: string[] = [];
    const report = await readSettlementReport(
      file([
        summary({ 'total-amount': '1.00' }),
        tx({ 'amount-type': 'Nope', 'amount-description': 'x', amount: '1.00' }),
        tx({ 'amount-type': 'ItemPrice', 'amount-description': 'Principal', amount: '1.00' }),
      ]),
      {
        account: 'A2SELLER',
        onProblem: async (p) => {
          await new Promise((r) => setImmediate(r));
          order.push(`problem ${p.row}`);
        },
      },
    );
    for await (const l of report.lines) order.push(`line ${l.lineId}`);
    expect(order).toEqual(['problem 3', 'line 4']);
  });
});

describe('files that are not a readable settlement', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['empty', '', /empty/],
    ['not a settlement report', 'sku\tquantity\nA\t1\n', /not a V2 settlement report: the header row lacks settlement-id/],
    ['no summary row', HEADER + '\n', /no summary row/],
    ['a summary row without a total', file([summary({ 'total-amount': '' })]), /summary row: total-amount: empty/],
    [
      'a summary row with a bad date',
      file([summary({ 'total-amount': '1.00', 'settlement-start-date': '2026/11/03' })]),
      /settlement-start-date "2026\/11\/03"/,
    ],
    ['an unknown currency', file([summary({ 'total-amount': '1.00', currency: 'XXQ' })]), /currency "XXQ"/],
    ['a settlement id that is not numeric', file([summary({ 'total-amount': '1.00', 'settlement-id': 'abc' })]), /settlement-id "abc"/],
  ];
  it.each(cases)('%s → SettlementReportError', async (_name, text, message) => {
    const err = await readSettlementReport(text, { account: 'A2SELLER' }).catch((e) => e);
    expect(err).toBeInstanceOf(SettlementReportError);
    expect(err.message).toMatch(message);
  });

  it('stops at a row longer than the limit', async () => {
    const text = file([summary({ 'total-amount': '1.00' }), tx({ 'amount-type': 'ItemPrice', 'amount-description': 'x'.repeat(5000), amount: '1.00' })]);
    // csv-parse reads ahead, so a small file fails while its header is read; a large one while its lines are.
    const err = await read(text, { maxRowChars: 1000 }).catch((e) => e);
    expect(err).toBeInstanceOf(SettlementReportError);
    expect(err.message).toMatch(/Max Record Size/);
  });

  it('stops after maxRows transaction rows', async () => {
    const rows = [
      summary({ 'total-amount': '3.00' }),
      ...[1, 2, 3].map(() => tx({ 'amount-type': 'ItemPrice', 'amount-description': 'Principal', amount: '1.00' })),
    ];
    const report = await readSettlementReport(file(rows), { account: 'A2SELLER', maxRows: 2 });
    await expect(drain(report.lines)).rejects.toThrow(/more than 2 transaction rows/);
  });

  it('refuses a gzip of nothing but line breaks (a small file that inflates to millions of empty lines) after 1,000 empty lines', async () => {
    const bomb = gzipSync(Buffer.from(`${HEADER}\n${'\n'.repeat(2_000_000)}`));
    expect(bomb.length).toBeLessThan(10_000);
    const err = await readSettlementReport(bomb, { account: 'A2SELLER', compression: 'GZIP' }).catch((e) => e);
    expect(err).toBeInstanceOf(SettlementReportError);
    expect(err.message).toMatch(/more than 1000 empty lines: this is not a settlement report/);
    // Among the lines as well as before the summary row.
    const rows = [summary({ 'total-amount': '1.00' }), tx({ 'amount-type': 'ItemPrice', 'amount-description': 'Principal', amount: '1.00' })];
    const report = await readSettlementReport(file(rows) + '\n'.repeat(5_000), { account: 'A2SELLER' });
    await expect(drain(report.lines)).rejects.toThrow(/more than 1000 empty lines/);
    expect(report.postable()).toBe(false);
  });

  it('lets other work run while a large file given as one Buffer is read', async () => {
    const rows = [summary({ 'total-amount': '50000.00' })];
    for (let i = 0; i < 50_000; i++) rows.push(tx({ 'amount-type': 'ItemPrice', 'amount-description': 'Principal', amount: '1.00' }));
    const report = await readSettlementReport(Buffer.from(file(rows)), { account: 'A2SELLER' });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    try {
      expect(await drain(report.lines)).toBe(50_000);
    } finally {
      clearInterval(timer);
    }
    // Without turns of the event loop the timer would not have fired once before the end.
    expect(ticks).toBeGreaterThan(0);
  });

  it('refuses a compression algorithm Amazon does not define', async () => {
    await expect(readSettlementReport(file(US_ROWS), { account: 'A2SELLER', compression: 'ZSTD' })).rejects.toThrow(/unknown compressionAlgorithm "ZSTD"/);
  });
});

async function drain<T>(it: AsyncIterable<T>): Promise<number> {
  let n = 0;
  for await (const _ of it) n++;
  return n;
}

describe('streaming', () => {
  it('reads a gzip document (compressionAlgorithm GZIP) to the same lines as the plain file; corrupt gzip is a SettlementReportError', async () => {
    const plain = await read(file(US_ROWS));
    const zipped = await read(gzipSync(Buffer.from(file(US_ROWS))), { compression: 'GZIP' });
    expect(zipped.report.header).toEqual(plain.report.header);
    expect(zipped.lines).toEqual(plain.lines);
    const broken = gzipSync(Buffer.from(file(US_ROWS)));
    broken[broken.length - 6] ^= 0xff; // the CRC no longer matches
    const truncated = broken.subarray(0, broken.length - 12);
    await expect(read(truncated, { compression: 'GZIP' })).rejects.toThrow(SettlementReportError);
  });

  it('parses across chunk boundaries: 3-byte chunks, split inside multi-byte characters, give the same settlement', async () => {
    const rows = [...US_ROWS, tx({ 'amount-type': 'ItemPrice', 'amount-description': 'Principal', amount: '0.00', sku: 'CAFÉ-€-ÜBER' })];
    const text = Buffer.from(file(rows));
    const chunks: Buffer[] = [];
    for (let i = 0; i < text.length; i += 3) chunks.push(text.subarray(i, i + 3));
    const whole = await read(text);
    const pieces = await read(Readable.from(chunks));
    expect(pieces.report.header).toEqual(whole.report.header);
    expect(pieces.lines).toEqual(whole.lines);
    expect(pieces.lines.at(-1)?.sku).toBe('CAFÉ-€-ÜBER');
  });

  it('reads 200,000 rows with the heap growing far less than the file (lines are not held)', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const ROWS = 200_000;
    // Each order: principal 19.99, commission −3.00, FBA fee −2.50 → 14.49 per 3 rows.
    const perOrder = [
      ['ItemPrice', 'Principal', '19.99'],
      ['ItemFees', 'Commission', '-3.00'],
      ['ItemFees', 'FBAPerUnitFulfillmentFee', '-2.50'],
    ];
    const orders = Math.floor(ROWS / perOrder.length);
    const total = orders * 1449;
    let bytes = 0;
    async function* generate(): AsyncGenerator<Buffer> {
      const head = file([summary({ 'total-amount': `${Math.floor(total / 100)}.${String(total % 100).padStart(2, '0')}` })]);
      bytes += head.length;
      yield Buffer.from(head);
      let batch = '';
      for (let o = 0; o < orders; o++) {
        for (const [type, description, amount] of perOrder) {
          batch +=
            row(
              tx({
                'order-id': `111-${String(o).padStart(7, '0')}-0000001`,
                sku: `SKU-${o % 500}`,
                'amount-type': type,
                'amount-description': description,
                amount,
              }),
            ) + '\n';
        }
        if (batch.length > 64 * 1024) {
          bytes += batch.length;
          yield Buffer.from(batch);
          batch = '';
        }
      }
      bytes += batch.length;
      yield Buffer.from(batch);
    }
    gc();
    const before = process.memoryUsage().heapUsed;
    const report = await readSettlementReport(Readable.from(generate()), { account: 'A2SELLER' });
    let lines = 0;
    let amount = 0;
    let peak = 0;
    for await (const l of report.lines) {
      lines++;
      amount += l.amount.amount;
      if (lines % 50_000 === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed - before);
      }
    }
    gc();
    const after = process.memoryUsage().heapUsed - before;
    expect(lines).toBe(orders * perOrder.length);
    expect(amount).toBe(total);
    expect(report.header.statedTotal!.amount).toBe(total);
    expect(report.postable()).toBe(true);
    expect(bytes).toBeGreaterThan(20_000_000);
    expect(peak).toBeLessThan(bytes / 10);
    expect(after).toBeLessThan(bytes / 10);
  });
});
