/**
 * The journal file node in a real Node-RED process started with the product's settings (build
 * first: `npm run build`): settlement journals arrive over Node-RED's HTTP input, once per layout
 * (Xero, QuickBooks, neutral), and each is written once, even when the same message is sent
 * twice, one after the other or at the same moment.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { JournalEntry } from '../../nodes/model/types.generated';
import { buildSettlementJournals } from '../../nodes/ledger/settlement-journal';
import { journalFileName, RECORD_DIR } from '../../nodes/ledger/file-writer';
import { RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { MAPPING, tallyAndReconcile } from './settlements';

jest.setTimeout(120_000);

const LAYOUTS = ['xero', 'quickbooks', 'neutral'] as const;
let red: RunningNodeRed;

function flows() {
  return [
    { id: 'tab', type: 'tab', label: 'journal files' },
    ...LAYOUTS.flatMap((layout) => [
      { id: `in-${layout}`, type: 'http in', z: 'tab', url: `/journal/${layout}`, method: 'post', wires: [[`jf-${layout}`]] },
      {
        id: `jf-${layout}`,
        type: 'tillwire-journal-file',
        z: 'tab',
        directory: 'journals',
        layout,
        defaultTaxRate: 'No VAT',
        trackingNames: 'channel=Sales channel, marketplace=Marketplace',
        dateFormat: 'MM/DD/YYYY',
        accountNames: '',
        classFrom: 'channel',
        locationFrom: 'marketplace',
        wires: [['ok']],
      },
    ]),
    { id: 'ok', type: 'function', z: 'tab', func: 'msg.payload = msg.file;\nreturn msg;', outputs: 1, wires: [['res']] },
    { id: 'k1', type: 'catch', z: 'tab', scope: LAYOUTS.map((l) => `jf-${l}`), uncaught: false, wires: [['failed']] },
    {
      id: 'failed',
      type: 'function',
      z: 'tab',
      func: 'msg.statusCode = 500;\nmsg.payload = { error: msg.error.message };\nreturn msg;',
      outputs: 1,
      wires: [['res']],
    },
    { id: 'res', type: 'http response', z: 'tab', statusCode: '', headers: {} },
  ];
}

beforeAll(async () => {
  red = await startNodeRed({ flows: flows(), via: 'red' });
});

afterAll(async () => {
  await red?.stop();
});

async function send(layout: string, journal: JournalEntry): Promise<{ status: number; body: any }> {
  const res = await fetch(`${red.url}/journal/${layout}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(journal),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    throw new Error(`answered ${res.status} with no JSON: ${text.slice(0, 200)}\n${red.output().slice(-2000)}`);
  }
}

const dir = () => path.join(red.userDir, 'journals');
const rows = (file: string): string[][] => parse(fs.readFileSync(path.join(dir(), file), 'utf8'));

async function settlementJournals(): Promise<JournalEntry[]> {
  const { tally, rec } = await tallyAndReconcile({
    lines: [
      ['principal', 10000, { postedAt: '2026-03-30T10:00:00Z', order: '302-1' }],
      ['tax', 1900, { postedAt: '2026-03-30T10:00:00Z', order: '302-1' }],
      ['fee', -1500, { category: 'commission', postedAt: '2026-03-30T10:00:00Z', order: '302-1' }],
      ['reserve', -2600, { category: 'held', postedAt: '2026-03-31T10:00:00Z' }],
      ['principal', 5001, { postedAt: '2026-04-01T00:00:00Z', order: '302-2' }],
      ['fee', -77, { category: 'commission', postedAt: '2026-04-01T09:00:00Z', order: '302-2' }],
    ],
    depositDate: '2026-04-03',
  });
  return buildSettlementJournals(tally, rec, MAPPING).journals;
}

it('writes a settlement journal once in each layout when the same message is sent twice', async () => {
  const [march] = await settlementJournals();
  for (const layout of LAYOUTS) {
    const first = await send(layout, march);
    expect(first).toMatchObject({ status: 200, body: { rewritten: false, unchanged: false } });
    expect(first.body.path).toBe(path.join(dir(), journalFileName(march.journalId, layout)));
    const again = await send(layout, march);
    expect(again).toEqual({ status: 200, body: { ...first.body, unchanged: true } });
  }
  expect(fs.readdirSync(dir()).sort()).toEqual([RECORD_DIR, ...LAYOUTS.map((l) => journalFileName(march.journalId, l))].sort());
  // one row per journal line (QuickBooks: per non-zero line), not two
  expect(rows(journalFileName(march.journalId, 'xero'))).toHaveLength(1 + march.lines.length);
  expect(rows(journalFileName(march.journalId, 'neutral'))).toHaveLength(1 + march.lines.length);
  expect(rows(journalFileName(march.journalId, 'quickbooks'))).toHaveLength(1 + march.lines.filter((l) => (l.debit ?? l.credit)!.amount > 0).length);
  expect(rows(journalFileName(march.journalId, 'xero'))[1].slice(0, 6)).toEqual([
    march.narration,
    '31/03/2026',
    march.lines[0].memo,
    march.lines[0].account,
    'No VAT',
    '-100.00',
  ]);
});

it('the same journal sent twice at the same moment is written once', async () => {
  const [, april] = await settlementJournals();
  const answers = await Promise.all([send('neutral', april), send('neutral', april)]);
  expect(answers.map((a) => a.status)).toEqual([200, 200]);
  expect(answers.map((a) => a.body.unchanged).sort()).toEqual([false, true]);
  const [head, ...body] = rows(journalFileName(april.journalId, 'neutral'));
  expect(head[1]).toBe('journal_id');
  expect(body.map((r) => r[2])).toEqual(april.lines.map((_, i) => String(i + 1)));
  expect(fs.readdirSync(dir()).filter((f) => f.startsWith('.') && f !== RECORD_DIR)).toEqual([]); // no temporary file left
});

it('an unbalanced journal reaches Catch with the difference named and nothing is written', async () => {
  const [march] = await settlementJournals();
  const broken = {
    ...march,
    journalId: 'settlement:amazon:broken:2026-03',
    lines: march.lines.map((l, i) => (i === 0 ? { ...l, credit: { ...l.credit!, amount: 9999 } } : l)),
  };
  const answer = await send('quickbooks', broken);
  expect(answer.status).toBe(500);
  expect(answer.body.error).toContain(
    'journal settlement:amazon:broken:2026-03 does not balance: debits 119.00 EUR, credits 118.99 EUR, difference 0.01 EUR more debit',
  );
  expect(fs.existsSync(path.join(dir(), journalFileName(broken.journalId, 'quickbooks')))).toBe(false);
});
