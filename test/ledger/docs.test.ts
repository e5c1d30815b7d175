/**
 * docs/ledger.md stays true: its worked example's CSV blocks are what the code writes, and its
 * example flow loads and runs (inject and debug nodes replaced by test helpers).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import storeNode from '../../nodes/core/store-config';
import deadLetterNode from '../../nodes/core/dead-letter';
import journalNode from '../../nodes/ledger/journal';
import journalFileNode from '../../nodes/ledger/journal-file';
import reconcileNode from '../../nodes/ledger/reconcile';
import { buildStoreJournal } from '../../nodes/ledger/store-journal';
import { journalToCsv } from '../../nodes/ledger/journal-csv';
import { helper, startServer, stopAll, collect } from '../support/node-red';
import { fixture, makeSale } from './sales';

const doc = fs.readFileSync(path.join(__dirname, '../../docs/ledger.md'), 'utf8');

function block(after: string, lang = ''): string {
  const start = doc.indexOf(after);
  expect(start).toBeGreaterThanOrEqual(0);
  const open = doc.indexOf('```' + lang + '\n', start);
  const close = doc.indexOf('\n```', open + 4);
  return doc.slice(open + 4 + lang.length, close);
}

describe('docs/ledger.md', () => {
  it("the worked example's CSV files are exactly what the journal file node writes (CRLF shown as LF)", () => {
    const ret = makeSale({
      saleId: '042-03-000513',
      sequence: 513,
      lines: [{ qty: -1, unit: 1200, taxes: [{ code: 'VAT-STD', rate: '0.20', amount: -200 }] }],
      tenders: [{ type: 'cash' }],
    });
    const journal = buildStoreJournal(
      [fixture('sale.json'), ret],
      {
        revenueAccounts: { '20%': '4000', '0%': '4010' },
        taxAccounts: { 'VAT-STD': '2200', 'VAT-ZERO': '2200' },
        tenderAccounts: { cash: '1010', card: '1020', gift_card: '2400' },
      },
      { storeId: 'LDN-042', businessDate: '2025-03-14', currency: 'GBP' },
    );
    const lf = (csv: string) => csv.replace(/\r\n/g, '\n').replace(/\n$/, '');
    expect(block('### Xero manual-journal import')).toBe(
      lf(journalToCsv(journal, 'xero', { xero: { defaultTaxRate: 'No VAT', trackingNames: { store: 'Store' } } })),
    );
    expect(block('### QuickBooks Online journal-entry import')).toBe(
      lf(journalToCsv(journal, 'quickbooks', { quickbooks: { dateFormat: 'DD/MM/YYYY', locationFrom: 'store' } })),
    );
    expect(block('### Neutral')).toBe(lf(journalToCsv(journal, 'neutral')));
  });

  describe('example flow', () => {
    let dir: string;
    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillwire-ledger-example-'));
      helper.settings({ userDir: dir });
      await startServer();
    });
    afterEach(async () => {
      await stopAll();
      helper.settings({});
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('is wired consistently, loads, and its paths work: a till close with nothing received is a variance, an empty day is parked', async () => {
      const flow: any[] = JSON.parse(block('## Example flow', 'json'));
      const ids = new Set(flow.map((n) => n.id));
      for (const n of flow) for (const port of n.wires ?? []) for (const target of port) expect(ids.has(target)).toBe(true);
      expect(new Set(flow.map((n) => n.type))).toEqual(
        new Set([
          'comment',
          'inject',
          'debug',
          'catch',
          'tillwire-store',
          'tillwire-reconcile',
          'tillwire-journal',
          'tillwire-journal-file',
          'tillwire-dead-letter',
        ]),
      );
      const injects = Object.fromEntries(flow.filter((n) => n.type === 'inject').map((n) => [n.id, n]));
      const runnable = [
        { id: 'tab', type: 'tab' },
        ...flow
          .filter((n) => n.type !== 'inject' && n.type !== 'comment')
          .map((n) => (n.type === 'debug' ? { id: n.id, type: 'helper', z: 'tab' } : n.type === 'tillwire-store' ? n : { ...n, z: 'tab' })),
      ];
      await helper.load([storeNode, deadLetterNode, journalNode, journalFileNode, reconcileNode], runnable);
      expect((helper.getNode('ex-ledger-journal') as any).status.lastCall.args[0].text).not.toBe('invalid mapping');

      const variance = collect(helper.getNode('ex-ledger-variance'), 1);
      helper.getNode('ex-ledger-reconcile').receive({ payload: JSON.parse(injects['ex-ledger-inj-close'].payload) });
      const [v] = await variance;
      expect(v.payload.status).toBe('variance');
      expect(v.payload.missingSequences).toHaveLength(108);

      const parked = collect(helper.getNode('ex-ledger-parked'), 1);
      helper.getNode('ex-ledger-journal').receive({ payload: JSON.parse(injects['ex-ledger-inj-day'].payload) });
      const [p] = await parked;
      expect(p.error.message).toContain('no sales registered for store LDN-042 on 2025-03-14');
      expect(p.deadLetter.id).toBeTruthy();
    });
  });
});
