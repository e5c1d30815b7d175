/**
 * docs/settlements.md stays true: its account mapping is the one the tests post with, and its
 * worked examples are what the journal builder posts for the settlements the page describes.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { JournalEntry } from '../../nodes/model/types.generated';
import { fromMinor } from '../../nodes/model/money';
import { buildSettlementJournals } from '../../nodes/ledger/settlement-journal';
import { journalToCsv } from '../../nodes/ledger/journal-csv';
import { MAPPING, tallyAndReconcile, type LineSpec } from './settlements';

const doc = fs.readFileSync(path.join(__dirname, '../../docs/settlements.md'), 'utf8');

function section(heading: string): string {
  const start = doc.indexOf(heading);
  expect(start).toBeGreaterThanOrEqual(0);
  const next = doc.indexOf('\n#', start + heading.length);
  return doc.slice(start, next < 0 ? undefined : next);
}

/** The rows of the first markdown table after `after` within `text`, cells trimmed, header and rule left out. */
function table(text: string, after = ''): string[][] {
  const lines = text.slice(text.indexOf(after)).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const l of lines.slice(first + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(
      l
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );
  }
  return rows;
}

describe('docs/settlements.md', () => {
  it('the account mapping shown is the mapping the examples post with', () => {
    const text = section('## The account mapping');
    const open = text.indexOf('```json\n') + 8;
    const json = text.slice(open, text.indexOf('\n```', open));
    expect(JSON.parse(json)).toEqual(MAPPING);
  });

  it("the worked example's journal is what is posted for its lines", async () => {
    const text = section('### Worked example');
    const lines: LineSpec[] = table(text).map(([, type, category, amount]) => [
      type as LineSpec[0],
      Math.round(Number(amount) * 100), // two-decimal text of the table; the amounts are exact in binary at this size
      category ? { category } : {},
    ]);
    const { tally, rec } = await tallyAndReconcile({ lines }, { previous: { settlementId: '1196', reserveHeld: 2000n, carriedForward: 0n } });
    const [j] = buildSettlementJournals(tally, rec, MAPPING).journals;
    expect(text).toContain(`Journal \`${j.journalId}\`,\ndated ${j.date}`);
    expect(table(text, '| account')).toEqual(
      j.lines.map((l) => [l.account, l.debit ? fromMinor(l.debit.amount, 'EUR') : '', l.credit ? fromMinor(l.credit.amount, 'EUR') : '', l.memo]),
    );
  });

  it("the month-crossing example's journals are what is posted", async () => {
    const { tally, rec } = await tallyAndReconcile({
      lines: [
        ['principal', 10000, { postedAt: '2026-03-30T10:00:00Z' }],
        ['fee', -999, { postedAt: '2026-03-31T23:59:59Z' }],
        ['principal', 5001, { postedAt: '2026-04-01T00:00:00Z' }],
        ['fee', -77, { postedAt: '2026-04-01T09:00:00Z' }],
      ],
      depositDate: '2026-04-03',
    });
    const names: Record<string, string> = { [MAPPING.clearingAccount!]: ' (clearing)', [MAPPING.bankAccount]: ' (bank)' };
    const render = (j: JournalEntry) =>
      j.lines.map((l) => `${l.debit ? 'Dr' : 'Cr'} ${l.account}${names[l.account] ?? ''} ${fromMinor((l.debit ?? l.credit)!.amount, 'EUR')}`).join(', ');
    const { journals } = buildSettlementJournals(tally, rec, MAPPING);
    expect(table(section('## Settlements that cross a month end'))).toEqual(journals.map((j) => [`\`…:${j.attributes?.settlementMonth}\``, j.date, render(j)]));
  });

  it("the journal files section's Xero and QuickBooks files are what the journal file node writes for the worked example", async () => {
    const lines: LineSpec[] = table(section('### Worked example')).map(([, type, category, amount]) => [
      type as LineSpec[0],
      Math.round(Number(amount) * 100), // two-decimal text of the table; the amounts are exact in binary at this size
      category ? { category } : {},
    ]);
    const { tally, rec } = await tallyAndReconcile({ lines }, { previous: { settlementId: '1196', reserveHeld: 2000n, carriedForward: 0n } });
    const [j] = buildSettlementJournals(tally, rec, MAPPING).journals;
    const text = section('## Journal files');
    const blocks = [...text.matchAll(/```\n([\s\S]*?)\n```/g)].map((m) => m[1]);
    const lf = (csv: string) => csv.replace(/\r\n/g, '\n').replace(/\n$/, '');
    expect(blocks).toEqual([
      lf(journalToCsv(j, 'xero', { xero: { defaultTaxRate: 'No VAT', trackingNames: { channel: 'Sales channel', marketplace: 'Marketplace' } } })),
      lf(journalToCsv(j, 'quickbooks', { quickbooks: { dateFormat: 'DD/MM/YYYY', classFrom: 'channel', locationFrom: 'marketplace' } })),
    ]);
  });
});
