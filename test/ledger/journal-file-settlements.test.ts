/**
 * The journal file node with the settlement journals the settlement journal builder posts: a
 * settlement split over two months, then reissued (reversals and revision 1), in the Xero,
 * QuickBooks and neutral layouts; each journal written once however often it arrives.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import journalFileNode from '../../nodes/ledger/journal-file';
import type { JournalEntry } from '../../nodes/model/types.generated';
import { toMinor } from '../../nodes/model/money';
import { journalNumber } from '../../nodes/model/journal-number';
import { buildSettlementJournals, settlementRowsOf } from '../../nodes/ledger/settlement-journal';
import { journalFileName } from '../../nodes/ledger/file-writer';
import { helper, startServer, stopAll, collect, until } from '../support/node-red';
import { MAPPING, tallyAndReconcile, type LineSpec } from './settlements';

let dir: string;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillwire-settlement-files-'));
  helper.settings({ userDir: dir });
  await startServer();
});
afterEach(async () => {
  await stopAll();
  helper.settings({});
  fs.rmSync(dir, { recursive: true, force: true });
});

const LAYOUTS = ['xero', 'quickbooks', 'neutral'] as const;

function flow() {
  const file = (layout: string) => ({
    id: `jf-${layout}`,
    type: 'tillwire-journal-file',
    z: 'f1',
    directory: 'settlements',
    layout,
    defaultTaxRate: 'No VAT',
    trackingNames: 'channel=Sales channel, marketplace=Marketplace',
    dateFormat: 'DD/MM/YYYY',
    accountNames: Object.values(MAPPING.accounts)
      .concat([MAPPING.bankAccount, MAPPING.reserveAccount!, MAPPING.clearingAccount!])
      .map((code) => `${code}=Account ${code}`)
      .join('\n'),
    classFrom: 'channel',
    locationFrom: 'marketplace',
    wires: [['out']],
  });
  return [
    { id: 'f1', type: 'tab' },
    ...LAYOUTS.map(file),
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'c', type: 'catch', z: 'f1', scope: LAYOUTS.map((l) => `jf-${l}`), wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
  ];
}

const LINES: LineSpec[] = [
  ['principal', 10000, { postedAt: '2026-03-30T10:00:00Z', order: '302-1' }],
  ['tax', 1900, { postedAt: '2026-03-30T10:00:00Z', order: '302-1' }],
  ['fee', -1500, { category: 'commission', postedAt: '2026-03-30T10:00:00Z', order: '302-1' }],
  ['fee', -250, { category: 'advertising', postedAt: '2026-03-31T08:00:00Z' }],
  ['principal', 5001, { postedAt: '2026-04-01T00:00:00Z', order: '302-2' }],
  ['fee', -77, { category: 'commission', postedAt: '2026-04-01T09:00:00Z', order: '302-2' }],
  ['adjustment', 300, { postedAt: '2026-04-01T10:00:00Z' }],
  ['adjustment', -300, { postedAt: '2026-04-01T11:00:00Z' }],
];

async function split() {
  const { tally, rec } = await tallyAndReconcile({ lines: LINES, depositDate: '2026-04-03', issuedAt: '2026-04-02T08:00:00Z' });
  return { tally, journals: buildSettlementJournals(tally, rec, MAPPING).journals };
}

/** Sends each journal to each file node and returns the messages out, in order of arrival. */
async function writeAll(journals: JournalEntry[]): Promise<any[]> {
  const out = collect(helper.getNode('out'), journals.length * LAYOUTS.length);
  for (const j of journals) for (const layout of LAYOUTS) helper.getNode(`jf-${layout}`).receive({ payload: JSON.parse(JSON.stringify(j)) });
  return out;
}

const csvFiles = () =>
  fs
    .readdirSync(path.join(dir, 'settlements'))
    .filter((f) => f.endsWith('.csv'))
    .sort();
const rowsOf = (file: string): string[][] => parse(fs.readFileSync(path.join(dir, 'settlements', file), 'utf8'));

describe('tillwire-journal-file with settlement journals', () => {
  it('writes each month of a split settlement in all three layouts, exact to the cent and traced to its rows, once however often it arrives', async () => {
    await helper.load(journalFileNode, flow());
    const { tally, journals } = await split();
    expect(journals.map((j) => j.journalId)).toEqual(['settlement:amazon:11978452301:2026-03', 'settlement:amazon:11978452301:2026-04']);

    const first = await writeAll(journals);
    expect(first.map((m) => m.file.unchanged)).toEqual(Array(6).fill(false));
    expect(csvFiles()).toEqual(journals.flatMap((j) => LAYOUTS.map((l) => journalFileName(j.journalId, l))).sort());

    for (const j of journals) {
      const amounts = j.lines.map((l) => (l.debit?.amount ?? 0) - (l.credit?.amount ?? 0));
      // Xero: one row per line, the signed amounts exactly, netting to zero
      const [, ...xero] = rowsOf(journalFileName(j.journalId, 'xero'));
      expect(xero.map((r) => toMinor(r[5], 'EUR'))).toEqual(amounts);
      expect(xero.every((r) => r[0] === j.narration && r[6] === 'Sales channel' && r[7] === 'amazon' && r[9] === 'DE')).toBe(true);
      // QuickBooks: one row per non-zero line under the journal's number, debits = credits
      const [, ...qbo] = rowsOf(journalFileName(j.journalId, 'quickbooks'));
      expect(qbo.map((r) => (r[3] ? toMinor(r[3], 'EUR') : -toMinor(r[4], 'EUR')))).toEqual(amounts.filter((a) => a !== 0));
      expect(new Set(qbo.map((r) => `${r[0]} ${r[1]} ${r[7]} ${r[8]} ${r[9]}`))).toEqual(
        new Set([`${journalNumber(j.journalId)} ${j.date.split('-').reverse().join('/')} EUR DE amazon`]),
      );
      expect(qbo.map((r) => r[2])).toEqual(j.lines.filter((l) => (l.debit ?? l.credit)!.amount !== 0).map((l) => `Account ${l.account}`));
      // neutral: every line with the settlement rows behind it, as the tally lists them
      const [head, ...neutral] = rowsOf(journalFileName(j.journalId, 'neutral'));
      expect(neutral).toHaveLength(j.lines.length);
      j.lines.forEach((line, i) => {
        const attributes = new URLSearchParams(neutral[i][head.indexOf('attributes')].replace(/;/g, '&'));
        const rows = settlementRowsOf(tally, line);
        if (rows === undefined) expect(attributes.get('settlementGroup')).toBeNull();
        else expect(attributes.get('settlementRowCount')).toBe(String(rows.length));
        expect(neutral[i][head.indexOf('currency')]).toBe('EUR');
        expect(neutral[i][head.indexOf('tracking')]).toBe('channel=amazon;marketplace=DE');
      });
    }
    // April's adjustments add up to zero: the zero line is kept in Xero and neutral (its rows stay traced), left out for QuickBooks
    const zero = journals[1].lines.findIndex((l) => (l.debit ?? l.credit)!.amount === 0);
    expect(journals[1].lines[zero]).toMatchObject({ account: '4900', attributes: { settlementRows: '7-8' } });
    expect(rowsOf(journalFileName(journals[1].journalId, 'xero'))[zero + 1][5]).toBe('0.00');
    expect(rowsOf(journalFileName(journals[1].journalId, 'quickbooks'))).toHaveLength(journals[1].lines.length);
    const before = Object.fromEntries(csvFiles().map((f) => [f, fs.statSync(path.join(dir, 'settlements', f)).ino]));

    // the same journals again, twice: nothing is written, no file changes, no row is added
    const again = await writeAll([...journals, ...journals]);
    expect(again.map((m) => m.file.unchanged)).toEqual(Array(12).fill(true));
    expect(Object.fromEntries(csvFiles().map((f) => [f, fs.statSync(path.join(dir, 'settlements', f)).ino]))).toEqual(before);
    expect(rowsOf(journalFileName(journals[0].journalId, 'xero'))).toHaveLength(journals[0].lines.length + 1);
    await until(() => String((helper.getNode('jf-neutral') as any).status.lastCall?.args[0]?.text).startsWith('2 written; settlement_amazon'));
  });

  it('a reissued settlement adds the reversals and revision 1 as files of their own and leaves the posted ones as they were', async () => {
    await helper.load(journalFileNode, flow());
    const { journals: posted } = await split();
    await writeAll(posted);
    const written = Object.fromEntries(csvFiles().map((f) => [f, fs.readFileSync(path.join(dir, 'settlements', f), 'utf8')]));

    const corrected = await tallyAndReconcile(
      { lines: [...LINES, ['reserve', -1000, { postedAt: '2026-04-01T10:00:00Z' }]], depositDate: '2026-04-03', issuedAt: '2026-04-05T08:00:00Z' },
      { posted },
    );
    const out = buildSettlementJournals(corrected.tally, corrected.rec, MAPPING, { posted });
    expect(out.action).toBe('repost');
    const msgs = await writeAll([...out.reversals, ...out.journals]);
    expect(msgs.every((m) => m.file.unchanged === false && m.file.rewritten === false)).toBe(true);
    expect(csvFiles()).toHaveLength(6 * 3);
    for (const [f, text] of Object.entries(written)) expect(fs.readFileSync(path.join(dir, 'settlements', f), 'utf8')).toBe(text);

    // a reversal's Xero rows are the posted journal's rows with the signs swapped
    const amounts = (id: string) =>
      rowsOf(journalFileName(id, 'xero'))
        .slice(1)
        .map((r) => toMinor(r[5], 'EUR'));
    expect(amounts(out.reversals[0].journalId)).toEqual(amounts(posted[0].journalId).map((a) => -a));
  });

  it('a journal the chosen layout cannot take goes to Catch and nothing is written for it', async () => {
    await helper.load(journalFileNode, flow());
    const { tally, rec } = await tallyAndReconcile({
      currency: 'KWD',
      lines: [
        ['principal', 12750],
        ['fee', -1275, { category: 'commission' }],
      ],
    });
    const [kwd] = buildSettlementJournals(tally, rec, MAPPING).journals;
    const caught = collect(helper.getNode('caught'), 1);
    const out = collect(helper.getNode('out'), 2);
    for (const layout of LAYOUTS) helper.getNode(`jf-${layout}`).receive({ payload: kwd });
    const [err] = await caught;
    expect(err.error.message).toContain('1.275 KWD has more than 2 decimals; Xero amounts have at most 2 and Tillwire does not round');
    expect(err.error.source).toMatchObject({ id: 'jf-xero', type: 'tillwire-journal-file' });
    expect((await out).map((m) => path.basename(m.file.path)).sort()).toEqual([
      journalFileName(kwd.journalId, 'neutral'),
      journalFileName(kwd.journalId, 'quickbooks'),
    ]);
    expect(csvFiles()).not.toContain(journalFileName(kwd.journalId, 'xero'));
  });
});
