import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import storeNode from '../../nodes/core/store-config';
import journalNode from '../../nodes/ledger/journal';
import journalFileNode from '../../nodes/ledger/journal-file';
import reconcileNode from '../../nodes/ledger/reconcile';
import type { Sale } from '../../nodes/model/types.generated';
import type { Store } from '../../nodes/runtime/store';
import { validateDocument } from '../../nodes/model/validate';
import { helper, startServer, stopAll, collect, until } from '../support/node-red';
import { fixture, keyOf, makeSale, newEntry } from './sales';

const nodes = [storeNode, journalNode, journalFileNode, reconcileNode];

const JOURNAL_CONFIG = {
  defaultRevenueAccount: '4000',
  revenueRates: [{ rate: '0%', account: '4010' }],
  taxCodes: [
    { code: 'VAT-STD', account: '2200', ledgerTaxCode: '' },
    { code: 'VAT-ZERO', rate: '0', account: '2200' },
  ],
  tenderAccounts: { cash: '1010', card: '1020', gift_card: '2400', voucher: '', store_credit: '', mobile: '', other: '' },
};

let dir: string;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillwire-ledger-nodes-'));
  helper.settings({ userDir: dir });
  await startServer();
});
afterEach(async () => {
  await stopAll();
  helper.settings({});
  fs.rmSync(dir, { recursive: true, force: true });
});

function flow(extra: Record<string, unknown>[] = [], journal: Record<string, unknown> = {}, file: Record<string, unknown> = {}) {
  return [
    { id: 'f1', type: 'tab' },
    { id: 's1', type: 'tillwire-store', backend: 'memory' },
    { id: 'j1', type: 'tillwire-journal', z: 'f1', name: 'store journal', store: 's1', ...JOURNAL_CONFIG, ...journal, wires: [['jf']] },
    { id: 'jf', type: 'tillwire-journal-file', z: 'f1', directory: 'ledger/out', layout: 'neutral', ...file, wires: [['out']] },
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'c', type: 'catch', z: 'f1', scope: ['j1', 'jf', 'r1'], wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
    ...extra,
  ];
}

async function storeOf(): Promise<Store> {
  return (helper.getNode('s1') as any).manager.acquire();
}

function day(): Sale[] {
  return [
    fixture('sale.json'),
    makeSale({
      saleId: '042-03-000513',
      sequence: 513,
      lines: [{ qty: -1, unit: 1200, taxes: [{ code: 'VAT-STD', rate: '0.20', amount: -200 }] }],
      tenders: [{ type: 'cash' }],
    }),
  ];
}

describe('tillwire-journal → tillwire-journal-file', () => {
  it('journals the registered store day and writes it once; a re-run with the same sales writes nothing', async () => {
    await helper.load(nodes, flow());
    const store = await storeOf();
    for (const s of day()) await store.registerPut(newEntry(s));
    // a sale of another store on the same day is not part of this journal
    await store.registerPut(newEntry(makeSale({ saleId: 'M-1', storeId: 'MAN-001', lines: [{ qty: 1, unit: 100 }] })));

    const out = collect(helper.getNode('out'), 1);
    helper.getNode('j1').receive({ payload: { storeId: 'LDN-042', businessDate: '2025-03-14' }, tillwire: { correlationId: 'cor-1' } });
    const [msg] = await out;
    expect(msg.topic).toBe('journal.posted');
    expect(msg.payload.journalId).toBe('store-day:LDN-042:2025-03-14');
    expect(validateDocument('journal-entry', msg.payload)).toEqual({ valid: true, errors: [] });
    expect(msg.payload.source.map((s: any) => s.id)).toEqual(day().map(keyOf));
    expect(msg.payload.lines.map((l: any) => [l.account, l.debit ? 'D' : 'C', (l.debit ?? l.credit).amount])).toEqual([
      ['1010', 'C', 1200],
      ['1020', 'D', 4997],
      ['2400', 'D', 2000],
      ['4000', 'C', 4830],
      ['4000', 'D', 1000],
      ['4010', 'C', 1200],
      ['2200', 'C', 967],
      ['2200', 'D', 200],
    ]);
    expect(msg.tillwire).toMatchObject({
      schemaVersion: 1,
      idempotencyKey: 'journal:store-day:LDN-042:2025-03-14',
      correlationId: 'cor-1',
      source: { system: 'tillwire' },
    });

    const file = path.join(dir, 'ledger/out/store-day_LDN-042_2025-03-14.neutral.csv');
    const content = fs.readFileSync(file, 'utf8');
    expect(msg.file).toEqual({ path: file, sha256: crypto.createHash('sha256').update(content).digest('hex'), rewritten: false, unchanged: false });
    expect(content.split('\r\n')[0]).toBe(
      'date,journal_id,line,account,debit,credit,tax_code,memo,source_ref,currency,tracking,attributes,narration,journal_attributes',
    );
    expect(content.split('\r\n')[1]).toMatch(
      /^2025-03-14,store-day:LDN-042:2025-03-14,1,1010,,12\.00,,Refunds paid out: cash,sale:LDN-042:T03:042-03-000513#1,GBP,store=LDN-042,/,
    );

    // the same day again, this time triggered by a till close: same journal, same single file
    const again = collect(helper.getNode('out'), 1);
    helper.getNode('j1').receive({ payload: fixture('till-close.json') });
    const [second] = await again;
    expect(second.payload).toEqual(msg.payload);
    expect(second.file).toEqual({ ...msg.file, unchanged: true });
    expect(fs.readdirSync(path.join(dir, 'ledger/out'))).toEqual(['.tillwire-written', 'store-day_LDN-042_2025-03-14.neutral.csv']);
    await until(() => String((helper.getNode('jf') as any).status.lastCall?.args[0]?.text).startsWith('1 written; store-day_LDN-042'));
    expect((helper.getNode('j1') as any).status.lastCall.args[0]).toMatchObject({ fill: 'green', shape: 'dot' });
  });

  it('an unmapped tender type reaches the Catch node naming it and the sale; nothing is written', async () => {
    await helper.load(nodes, flow());
    const store = await storeOf();
    const voucherSale = makeSale({ saleId: 'V-1', sequence: 9, lines: [{ qty: 1, unit: 500 }], tenders: [{ type: 'voucher' }] });
    await store.registerPut(newEntry(voucherSale));
    const caught = collect(helper.getNode('caught'), 1);
    helper.getNode('j1').receive({ payload: { storeId: 'LDN-042', businessDate: '2025-03-14' } });
    const [err] = await caught;
    expect(err.error.message).toContain(`no account mapped for tender type 'voucher' (first used by ${keyOf(voucherSale)})`);
    expect(err.error.source).toMatchObject({ id: 'j1', type: 'tillwire-journal' });
    expect((helper.getNode('j1') as any).status.lastCall.args[0]).toMatchObject({ fill: 'red', shape: 'ring' });
    expect(fs.existsSync(path.join(dir, 'ledger/out'))).toBe(false);
  });

  it('a day without sales, and a payload that names no store day, are errors for Catch', async () => {
    await helper.load(nodes, flow());
    const caught = collect(helper.getNode('caught'), 2);
    helper.getNode('j1').receive({ payload: { storeId: 'LDN-042', businessDate: '2025-03-15' } });
    helper.getNode('j1').receive({ payload: 'today' });
    const errors = (await caught).map((m) => m.error.message);
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringContaining('no sales registered for store LDN-042 on 2025-03-15: nothing to post'),
        expect.stringContaining('msg.payload must be { storeId, businessDate'),
      ]),
    );
  });

  it('the file node writes the Xero layout and refuses an unbalanced journal, naming the difference', async () => {
    await helper.load(nodes, flow([], {}, { layout: 'xero', directory: path.join(dir, 'abs'), defaultTaxRate: 'No VAT', trackingNames: 'store=Store' }));
    const store = await storeOf();
    await store.registerPut(newEntry(fixture('sale.json')));
    const out = collect(helper.getNode('out'), 1);
    helper.getNode('j1').receive({ payload: { storeId: 'LDN-042', businessDate: '2025-03-14' } });
    const [ok] = await out;
    expect(ok.file.path).toBe(path.join(dir, 'abs', 'store-day_LDN-042_2025-03-14.xero.csv'));
    expect(fs.readFileSync(ok.file.path, 'utf8').split('\r\n')[1]).toBe(
      'Store LDN-042 takings 2025-03-14,14/03/2025,Takings: card,1020,No VAT,49.97,Store,LDN-042,,',
    );

    const unbalanced = JSON.parse(JSON.stringify(ok.payload));
    unbalanced.journalId = 'broken-1';
    unbalanced.lines[0].debit.amount += 1;
    const caught = collect(helper.getNode('caught'), 1);
    helper.getNode('jf').receive({ payload: unbalanced });
    const [err] = await caught;
    expect(err.error.message).toContain('journal broken-1 does not balance: debits 69.98 GBP, credits 69.97 GBP, difference 0.01 GBP more debit');
    expect(err.error.source).toMatchObject({ id: 'jf', type: 'tillwire-journal-file' });
    expect(fs.readdirSync(path.join(dir, 'abs'))).toEqual(['.tillwire-written', 'store-day_LDN-042_2025-03-14.xero.csv']);
  });
});

describe('tillwire-reconcile', () => {
  const reconcileFlow = (erpSystem = 'odoo') =>
    flow([
      { id: 'r1', type: 'tillwire-reconcile', z: 'f1', store: 's1', mode: 'till-close', erpSystem, wires: [['matched'], ['variance']] },
      { id: 'matched', type: 'helper', z: 'f1' },
      { id: 'variance', type: 'helper', z: 'f1' },
    ]);

  function till(): { sales: Sale[]; close: any } {
    const sales = [1, 2, 3].map((n) => makeSale({ saleId: `R-${n}`, sequence: n, lines: [{ qty: 1, unit: 1000 * n }], tenders: [{ type: 'card' }] }));
    const close = {
      kind: 'till.close',
      storeId: 'LDN-042',
      terminalId: 'T03',
      businessDate: '2025-03-14',
      closedAt: '2025-03-14T21:00:00Z',
      currency: 'GBP',
      firstSequence: 1,
      lastSequence: 3,
      sales: { count: 3, total: { amount: 6000, currency: 'GBP' } },
      returns: { count: 0, total: { amount: 0, currency: 'GBP' } },
      net: { amount: 6000, currency: 'GBP' },
    };
    return { sales, close };
  }

  it('a matched till leaves on output 1; a gap and a sale the ERP has not accepted leave on output 2', async () => {
    await helper.load(nodes, reconcileFlow());
    const store = await storeOf();
    const { sales, close } = till();
    for (const s of sales) {
      await store.registerPut(newEntry(s));
      await store.registerSetRef(keyOf(s), 'odoo', `S0${s.sequence}`);
    }
    const matched = collect(helper.getNode('matched'), 1);
    helper.getNode('r1').receive({ payload: close });
    const [m] = await matched;
    expect(m.payload).toMatchObject({ status: 'matched', missingSequences: [], notInErp: [], valueDifference: { amount: 0, currency: 'GBP' } });
    expect(m.tillClose).toEqual(close);
    expect(m.topic).toBe('till.reconciled');

    // the next day: sequence 5 never arrived, sequence 6 is not in the ERP yet
    const next = {
      ...close,
      businessDate: '2025-03-15',
      firstSequence: 4,
      lastSequence: 6,
      sales: { count: 3, total: { amount: 1500, currency: 'GBP' } },
      net: { amount: 1500, currency: 'GBP' },
    };
    const s4 = makeSale({ saleId: 'R-4', sequence: 4, businessDate: '2025-03-15', lines: [{ qty: 1, unit: 400 }] });
    const s6 = makeSale({ saleId: 'R-6', sequence: 6, businessDate: '2025-03-15', lines: [{ qty: 1, unit: 600 }] });
    await store.registerPut(newEntry(s4));
    await store.registerSetRef(keyOf(s4), 'odoo', 'S04');
    await store.registerPut(newEntry(s6));
    const variance = collect(helper.getNode('variance'), 1);
    helper.getNode('r1').receive({ payload: next });
    const [v] = await variance;
    expect(v.topic).toBe('till.variance');
    expect(v.payload).toMatchObject({
      status: 'variance',
      missingSequences: [5],
      notInErp: [keyOf(s6)],
      valueDifference: { amount: -500, currency: 'GBP' },
      received: { salesCount: 2, salesTotal: { amount: 1000, currency: 'GBP' } },
      erpAccepted: { salesCount: 1, salesTotal: { amount: 400, currency: 'GBP' } },
    });
    await until(() => (helper.getNode('r1') as any).status.lastCall?.args[0]?.text === 'matched 1, variance 1');
  });

  it('anything but a consistent till close goes to Catch', async () => {
    await helper.load(nodes, reconcileFlow(''));
    const { close } = till();
    const caught = collect(helper.getNode('caught'), 2);
    helper.getNode('r1').receive({ payload: { storeId: 'LDN-042', businessDate: '2025-03-14' } });
    helper.getNode('r1').receive({ payload: { ...close, net: { amount: 5999, currency: 'GBP' } } });
    const errors = (await caught).map((m) => m.error.message);
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringContaining('msg.payload must be a till.close document'),
        expect.stringContaining('invalid till close LDN-042/T03 2025-03-14: net 59.99 GBP is not sales 60.00 GBP + returns 0.00 GBP = 60.00 GBP'),
      ]),
    );
  });

  it('without a store the node says so on its badge and errors to Catch', async () => {
    await helper.load(nodes, [
      { id: 'f1', type: 'tab' },
      { id: 'r1', type: 'tillwire-reconcile', z: 'f1', mode: 'till-close', wires: [[], []] },
      { id: 'c', type: 'catch', z: 'f1', scope: ['r1'], wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'f1' },
    ]);
    expect((helper.getNode('r1') as any).status.lastCall.args[0]).toMatchObject({ fill: 'red', text: 'no store configured' });
    const caught = collect(helper.getNode('caught'), 1);
    helper.getNode('r1').receive({ payload: till().close });
    expect((await caught)[0].error.message).toContain('no store configured');
  });
});
