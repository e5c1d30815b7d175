/**
 * The template "Daily channel control totals", as shipped in examples/, in a real Node-RED started
 * with the product's settings, on a store that already holds a day of orders and a held settlement:
 * its "yesterday, now" inject (pressed through the admin API, as the editor's button does) reports
 * yesterday, and its alert-text function nodes turn outputs 2 and 3 into a subject and a text.
 * The debug nodes are stood in for by function nodes that keep what reaches them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { readTemplate } from '../support/template';
import { createStore } from '../../nodes/runtime/create-store';
import { SettlementRegister } from '../../nodes/ledger/settlement-register';
import { addDays } from '../../nodes/ledger/chain-totals';

jest.setTimeout(60_000);

const DAY_MS = 86_400_000;
const NOW = Date.now();
const YESTERDAY = addDays(new Date(NOW).toISOString().slice(0, 10), -1);
let red: RunningNodeRed;
let userDir: string;

function flows() {
  const template = readTemplate('Daily channel control totals');
  const keep = (id: string) =>
    `const list = flow.get('${id}') || []; list.push({ topic: msg.topic, payload: msg.payload }); flow.set('${id}', list); return null;`;
  return [
    { id: 'tab', type: 'tab', label: 'template' },
    ...template.map((n) => {
      if (n.type === 'tillwire-store') return n;
      if (n.type === 'debug') return { id: n.id, type: 'function', z: 'tab', func: keep(n.id), outputs: 1, wires: [] };
      return { ...n, z: 'tab' };
    }),
    { id: 'seen', type: 'http in', z: 'tab', url: '/seen', method: 'get', wires: [['show']] },
    {
      id: 'show',
      type: 'function',
      z: 'tab',
      func: `msg.payload = Object.fromEntries(${JSON.stringify(template.filter((n) => n.type === 'debug').map((n) => n.id))}.map((k) => [k, flow.get(k) || []]));\nreturn msg;`,
      outputs: 1,
      wires: [['res']],
    },
    { id: 'res', type: 'http response', z: 'tab', statusCode: '', headers: {} },
  ];
}

async function seen(): Promise<Record<string, Array<{ topic?: string; payload: any }>>> {
  const res = await fetch(`${red.url}/seen`, { signal: AbortSignal.timeout(10_000) });
  return res.json() as Promise<any>;
}

beforeAll(async () => {
  userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-totals-template-'));
  // The store the template names (tillwire.db in the user directory), as the order and settlement flows left it.
  const store = createStore({ backend: 'sqlite', file: 'tillwire.db' }, userDir);
  await store.open();
  const order = (orderId: string, placedAt: string, gross: number, status = 'paid') => ({
    system: 'bol',
    account: '1234567',
    orderId,
    gross,
    currency: 'EUR',
    placedAt,
    status,
  });
  await store.orderSeen([
    order('B-1', `${YESTERDAY}T09:00:00Z`, 2_500),
    order('B-2', `${YESTERDAY}T10:00:00Z`, 1_000),
    order('B-3', `${YESTERDAY}T11:00:00Z`, 4_000, 'cancelled'),
    order('B-OLD', new Date(NOW - 30 * DAY_MS).toISOString(), 990),
    order('B-USD', new Date(NOW - 29 * DAY_MS).toISOString(), 1_200),
  ]);
  // Old, but settled only in another currency than its own: not settled, and said so.
  await store.settledOrdersAdd([
    {
      system: 'bol',
      account: '1234567',
      orderId: 'B-USD',
      settlementId: 'INV-USD',
      charged: 1_300,
      net: 1_300,
      currency: 'USD',
      settledAt: new Date(NOW - 20 * DAY_MS).toISOString(),
    },
  ]);
  await store.orderAccepted({ system: 'bol', account: '1234567', orderId: 'B-1' }, 'odoo', 'S00001');
  // A settlement held two days ago.
  await new SettlementRegister(store, () => NOW - 2 * DAY_MS).update({ system: 'bol', account: '1234567', settlementId: 'INV-9' }, () => ({
    system: 'bol',
    account: '1234567',
    settlementId: 'INV-9',
    fingerprint: 'f',
    state: 'held',
    variances: [{ kind: 'total', message: 'the lines add up to 10.00 EUR but the channel states 10.01 EUR' }],
    summaryForNext: { settlementId: 'INV-9', reserveHeld: '0', carriedForward: '0' },
    journals: [],
    ledgerIds: {},
    updatedAt: '',
  }));
  // A settlement whose journal a journal file node wrote for import (its answer wired back): not unposted.
  await new SettlementRegister(store, () => NOW - 2 * DAY_MS).update({ system: 'bol', account: '1234567', settlementId: 'INV-8' }, () => ({
    system: 'bol',
    account: '1234567',
    settlementId: 'INV-8',
    fingerprint: 'f8',
    state: 'posted',
    variances: [],
    summaryForNext: { settlementId: 'INV-8', reserveHeld: '0', carriedForward: '0' },
    journals: [{ journalId: 'settlement:bol:INV-8:2026-10' } as never],
    ledgerIds: { 'settlement:bol:INV-8:2026-10': 'file:settlement_bol_INV-8_2026-10.neutral.csv' },
    updatedAt: '',
  }));
  await store.close();
  red = await startNodeRed({ flows: flows(), via: 'red', userDir, env: { TILLWIRE_DEMO: '0' } });
});

afterAll(async () => {
  await red?.stop();
  fs.rmSync(userDir, { recursive: true, force: true });
});

it('reports yesterday per channel and turns the unposted settlement and the unsettled order into alert texts', async () => {
  const res = await fetch(`${red.adminUrl}/inject/dct-now`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  expect(res.status).toBe(200);
  const end = Date.now() + 20_000;
  let s = await seen();
  while (!(s['dct-report'].length && s['dct-unposted-alert'].length && s['dct-unsettled-alert'].length) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    s = await seen();
  }
  expect(s['dct-why']).toEqual([]);
  expect(s['dct-report']).toHaveLength(1);
  expect(s['dct-report'][0].payload).toMatchObject({
    system: 'bol',
    account: '1234567',
    currency: 'EUR',
    day: YESTERDAY,
    channel: { count: 2, value: 3_500 },
    erp: { count: 1, value: 2_500 },
    settled: { count: 0, value: 0 },
    posted: { count: 0, value: 0 },
    cancelled: { count: 1, value: 4_000 },
    differences: { notInErp: { count: 1, value: 1_000 }, notSettled: { count: 2, value: 3_500 } },
  });
  expect(s['dct-unposted-alert']).toEqual([
    {
      topic: '1 settlement(s) not in the ledger after 24 h',
      payload: 'bol 1234567 INV-9: held (the lines add up to 10.00 EUR but the channel states 10.01 EUR)',
    },
  ]);
  expect(s['dct-unsettled-alert']).toEqual([
    {
      topic: '2 order(s) unsettled after 14 days',
      payload: [
        `bol 1234567 B-OLD placed ${new Date(NOW - 30 * DAY_MS).toISOString()}`,
        `bol 1234567 B-USD placed ${new Date(NOW - 29 * DAY_MS).toISOString()} (settled only in USD)`,
      ].join('\n'),
    },
  ]);
});
