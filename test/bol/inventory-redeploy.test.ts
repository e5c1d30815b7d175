/**
 * A redeploy while tillwire-bol-inventory waits for bol's process status, in a real Node-RED (red.js
 * with the product's settings) against the bol simulator: the old node's figure must not land after
 * the new node's newer one, and the store's newest-figure record must never move back, so a late
 * figure older than the newest written is still passed on as stale.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { deployCredentialsAndWait, RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { BolSimulator } from '../../simulators/bol/simulator';
import { startSimulator } from './support';

jest.setTimeout(60_000);
const RETAILER = '1234567';
const SKU = 'SKU-0001';
let red: RunningNodeRed;
let sim: BolSimulator;

function flows() {
  const record = (name: string) => `const list = flow.get('${name}') || []; list.push(msg.payload); flow.set('${name}', list); return null;`;
  return [
    { id: 'tab', type: 'tab', label: 'bol stock' },
    { id: 'st', type: 'tillwire-store', name: 'store', backend: 'sqlite', file: 'tillwire.db', schema: 'tillwire', synchronous: 'normal' },
    { id: 'bc', type: 'tillwire-bol-config', endpoint: sim.url, tokenUrl: sim.tokenUrl, retailerId: RETAILER, timeout: '5', attempts: '3' },
    { id: 'in', type: 'http in', z: 'tab', url: '/stock', method: 'post', wires: [['inv', 'ack']] },
    { id: 'ack', type: 'function', z: 'tab', func: 'msg.payload = { accepted: true };\nreturn msg;', outputs: 1, wires: [['res']] },
    { id: 'res', type: 'http response', z: 'tab', statusCode: '', headers: {} },
    {
      id: 'inv',
      type: 'tillwire-bol-inventory',
      z: 'tab',
      bol: 'bc',
      store: 'st',
      offers: JSON.stringify({ [SKU]: BolSimulator.offerIdOf(SKU) }),
      wait: '20',
      wires: [['sent']],
    },
    { id: 'sent', type: 'function', z: 'tab', func: 'msg.payload = msg.channelResult;\n' + record('sent'), outputs: 1, wires: [] },
    { id: 'seen', type: 'http in', z: 'tab', url: '/seen', method: 'get', wires: [['show']] },
    { id: 'show', type: 'function', z: 'tab', func: "msg.payload = { sent: flow.get('sent') || [] };\nreturn msg;", outputs: 1, wires: [['res']] },
  ];
}

async function call(route: string, body?: unknown): Promise<any> {
  const res = await fetch(`${red.url}${route}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`${route} answered ${res.status}: ${await res.text()}\n${red.output().slice(-2000)}`);
  return res.json();
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what}: not reached; updates ${JSON.stringify(sim.stockUpdates)}\n${red.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const ats = (available: number, computedAt: string) => ({
  kind: 'inventory.ats',
  sku: SKU,
  channel: { system: 'bol', account: RETAILER },
  available,
  computedAt,
});
/** The write records the node keeps in its store (one per figure written), read from the store's SQLite file. */
function writesRecorded(): number {
  const db = new Database(path.join(red.userDir, 'tillwire.db'), { readonly: true, fileMustExist: true });
  try {
    const table = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%kv'").get() as { name: string }).name;
    return (db.prepare(`SELECT count(*) AS n FROM "${table}" WHERE kv_key LIKE 'channel-write:bol:%'`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}
const credentials = () => ({ bc: { clientId: sim.clientId, clientSecret: sim.clientSecret } });
/** How long bol keeps the next stock updates PENDING (the simulator reads its option per update). */
const processDelay = (ms: number) => ((sim as unknown as { opts: { processDelayMs: number } }).opts.processDelayMs = ms);

beforeAll(async () => {
  sim = await startSimulator({ orders: 0, processDelayMs: 0 });
  red = await startNodeRed({ flows: flows(), via: 'red' });
  await deployCredentialsAndWait(red, credentials());
});

afterAll(async () => {
  await red?.stop();
  await sim?.stop();
});

it('a redeploy while a figure waits for bol: the newer figure is bol’s last word and a late older figure is still stale', async () => {
  // 12:00 figure (5): bol keeps it pending for 3 s; the flows are redeployed meanwhile.
  processDelay(3_000);
  await call('/stock', ats(5, '2026-12-05T12:00:00Z'));
  await until('the 12:00 figure reached bol', () => sim.stockUpdates.length === 1);
  processDelay(0);
  await deployCredentialsAndWait(red, credentials());
  // The redeployed node gets the 12:20 figure (9).
  await call('/stock', ats(9, '2026-12-05T12:20:00Z'));
  await until('the 12:20 figure answered', async () => (await call('/seen')).sent.length === 1 && sim.stockUpdates.length === 2);
  // Both writes have finished, the 12:00 one too (it was still waiting for bol when the flows stopped).
  await until('both writes recorded', () => writesRecorded() === 2);
  // A late 12:10 figure (7) is older than the newest written (12:20): stale, never sent.
  await call('/stock', ats(7, '2026-12-05T12:10:00Z'));
  await until('the late figure answered', async () => (await call('/seen')).sent.length === 2);
  const [, late] = (await call('/seen')).sent;
  expect(late).toMatchObject({ outcome: 'unchanged', stale: true, newer: '2026-12-05T12:20:00Z' });
  expect(sim.stockUpdates.map((u) => u.amount)).toEqual([5, 9]);
  expect(sim.offer(BolSimulator.offerIdOf(SKU))?.amount).toBe(9);
});
