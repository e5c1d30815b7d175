/**
 * ERP stock into the ledger and drift, in a real Node-RED (red.js with the product's settings and
 * an editor login) against the Odoo simulator: an inject-like HTTP trigger → tillwire-odoo (stock)
 * → tillwire-inventory-reserve, with channel orders and read-backs arriving over HTTP to the same
 * reserve node. The Odoo reading lands as a snapshot; an order reserves; the next Odoo reading
 * shows another reserved figure → a drift report naming the order; a Shopify read-back differing
 * from the last push → a drift report. The explain route answers, behind the login, and refuses
 * hostile parameters by name.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adminAuthSettings, adminToken } from '../support/admin-auth';
import { RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { writeDemoCredentials } from '../../scripts/start';
import { OdooSimulator, SEED } from '../../simulators/odoo/simulator';
import { startSimulator } from '../odoo/support';

jest.setTimeout(60_000);

const PASSWORD = 'stock horse battery';
const SKU = 'MUG-WHT-12OZ';
const LOCATION = 'WH/Stock';
let red: RunningNodeRed;
let sim: OdooSimulator;
let reader: string;
let userDir: string;
const secretBefore = process.env.TILLWIRE_CREDENTIAL_SECRET;

function flows() {
  const record = (name: string) => `const list = flow.get('${name}') || []; list.push(msg.payload); flow.set('${name}', list); return null;`;
  const ack = { id: 'ack', type: 'function', z: 'tab', func: 'msg.payload = { accepted: true };\nreturn msg;', outputs: 1, wires: [['res']] };
  return [
    { id: 'tab', type: 'tab', label: 'stock and drift' },
    { id: 'st', type: 'tillwire-store', name: 'ledger', backend: 'sqlite', file: 'tillwire.db', schema: 'tillwire', synchronous: 'normal' },
    {
      id: 'c1',
      type: 'tillwire-odoo-config',
      url: sim.url,
      database: sim.database,
      login: sim.login,
      api: 'jsonrpc',
      version: String(sim.version),
      defaultPartnerId: String(SEED.walkInPartnerId),
      maxConcurrent: '4',
      ratePerSecond: '0',
      timeout: '5',
      attempts: '2',
      retryDelay: '1',
      maxRetryWait: '0.01',
    },
    // On a schedule this is an Inject node; here the test triggers the read over HTTP.
    { id: 'read', type: 'http in', z: 'tab', url: '/read', method: 'post', wires: [['odoo', 'ack']] },
    { id: 'odoo', type: 'tillwire-odoo', z: 'tab', odoo: 'c1', operation: 'stock', output: 'each', wires: [['guard']] },
    { id: 'doc', type: 'http in', z: 'tab', url: '/doc', method: 'post', wires: [['guard', 'ack']] },
    ack,
    { id: 'res', type: 'http response', z: 'tab', statusCode: '', headers: {} },
    {
      id: 'guard',
      type: 'tillwire-inventory-reserve',
      z: 'tab',
      store: 'st',
      locations: LOCATION,
      driftOnHand: '0',
      driftReserved: '0',
      driftChannel: '1',
      wires: [['booked'], ['oversell'], ['drift']],
    },
    { id: 'booked', type: 'function', z: 'tab', func: 'msg.payload = msg.inventory;\n' + record('booked'), outputs: 1, wires: [] },
    { id: 'oversell', type: 'function', z: 'tab', func: record('oversell'), outputs: 1, wires: [] },
    { id: 'drift', type: 'function', z: 'tab', func: record('drift'), outputs: 1, wires: [] },
    { id: 'k', type: 'catch', z: 'tab', scope: ['guard', 'odoo'], uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'function', z: 'tab', func: 'msg.payload = msg.error.message;\n' + record('caught'), outputs: 1, wires: [] },
    { id: 'seen', type: 'http in', z: 'tab', url: '/seen', method: 'get', wires: [['show']] },
    {
      id: 'show',
      type: 'function',
      z: 'tab',
      func: "msg.payload = Object.fromEntries(['booked', 'oversell', 'drift', 'caught'].map((k) => [k, flow.get(k) || []]));\nreturn msg;",
      outputs: 1,
      wires: [['res']],
    },
  ];
}

const token = (username: string, scope: string) => adminToken(red.url, username, PASSWORD, scope);

async function admin(route: string, bearer?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${red.url}${route}`, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {}, signal: AbortSignal.timeout(20_000) });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

async function call(route: string, body?: unknown): Promise<any> {
  const res = await fetch(`${red.url}${route}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  if (!res.ok) throw new Error(`${route} answered ${res.status}: ${await res.text()}\n${red.output().slice(-2000)}`);
  return res.json();
}

async function until(what: string, check: (seen: any) => boolean, timeoutMs = 20_000): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const seen = await call('/seen');
    if (check(seen)) return seen;
    if (Date.now() > end) throw new Error(`${what}: not reached; seen ${JSON.stringify(seen).slice(-3000)}\n${red.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const order = (id: string, quantity: number) => ({
  kind: 'order',
  id: `shopify-${id}`,
  channel: { system: 'shopify', account: 'shop-eu', id },
  status: 'accepted',
  createdAt: '2026-12-05T09:00:00Z',
  currency: 'EUR',
  lines: [{ lineId: '1', sku: SKU, quantity, unitPrice: { amount: 1200, currency: 'EUR' }, lineTotal: { amount: 1200 * quantity, currency: 'EUR' } }],
});

beforeAll(async () => {
  sim = await startSimulator();
  process.env.TILLWIRE_CREDENTIAL_SECRET = 'test-secret';
  userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-drift-flow-'));
  const flowFile = path.join(userDir, 'flows.json');
  fs.writeFileSync(flowFile, JSON.stringify(flows()));
  writeDemoCredentials(userDir, flowFile, { c1: { apiKey: sim.apiKey } });
  red = await startNodeRed({
    via: 'red',
    userDir,
    settings: adminAuthSettings(PASSWORD, [
      { username: 'ops', permissions: 'read' },
      { username: 'admin', permissions: '*' },
    ]),
  });
  reader = await token('ops', 'read');
  const end = Date.now() + 30_000;
  while (((await admin('/tillwire/runtime', reader)).body?.flowsStarted ?? 0) < 1) {
    if (Date.now() > end) throw new Error(`flows did not start\n${red.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

afterAll(async () => {
  await red?.stop();
  await sim?.stop();
  if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  if (secretBefore === undefined) delete process.env.TILLWIRE_CREDENTIAL_SECRET;
  else process.env.TILLWIRE_CREDENTIAL_SECRET = secretBefore;
});

it('an Odoo reading lands as a snapshot, an order reserves, the next reading shows another reserved figure: drift with its cause; a channel read-back off the last push: drift', async () => {
  const onHand = Number(sim.records('stock.quant', [['product_id.default_code', '=', SKU]], ['quantity'])[0].quantity);
  await call('/read', [SKU]);
  await until('the first reading booked', (s) => s.booked.length === 1);
  const explained = await admin(`/tillwire/inventory/explain?sku=${SKU}&location=${encodeURIComponent(LOCATION)}`, reader);
  expect(explained.status).toBe(200);
  expect(explained.body.positions).toEqual([expect.objectContaining({ sku: SKU, locationId: LOCATION, onHand, reserved: 0, free: onHand })]);
  expect(explained.body.events[0]).toMatchObject({ kind: 'snapshot', field: 'onHand', delta: onHand, after: onHand, source: { system: 'odoo' } });

  await call('/doc', order('1001', 2));
  await until('the order reserved', (s) => s.booked.length === 2);
  // Odoo reserves 1 unit (another delivery), not the 2 the ledger holds for order 1001.
  sim.reserveStock(SKU, 1);
  await call('/read', [SKU]);
  const seen = await until('the drift reported', (s) => s.drift.length === 1);
  expect(seen.caught).toEqual([]);
  expect(seen.drift[0]).toMatchObject({
    kind: 'erp-reserved',
    sku: SKU,
    locationId: LOCATION,
    reportedBy: { system: 'odoo', account: '' },
    theirs: 1,
    ours: 2,
    size: -1,
    cause: 'reserved-in-ledger-not-in-erp',
    documents: [{ kind: 'order', system: 'shopify', account: 'shop-eu', documentId: '1001', units: 2 }],
  });
  expect(seen.drift[0].message).toMatch(/^ERP reserved 1, ledger reserved 2: order shopify\/shop-eu 1001 \(2\) reserved in the ledger, not in the ERP/);
  const after = await admin(`/tillwire/inventory/explain?sku=${SKU}`, reader);
  expect(after.body.positions).toEqual([expect.objectContaining({ onHand, reserved: 2, states: { erp_reserved: 1 } })]);
  expect(after.body.events.map((e: any) => e.kind)).toEqual(['snapshot', 'reserve', 'snapshot']);

  // A Shopify read-back: Tillwire never pushed this SKU from this store, the channel shows 5 (tolerance 1).
  await call('/doc', {
    kind: 'inventory.ats',
    sku: SKU,
    channel: { system: 'shopify', account: 'shop-eu' },
    available: 5,
    computedAt: new Date().toISOString(),
  });
  const withChannel = await until('the channel drift reported', (s) => s.drift.length === 2);
  expect(withChannel.drift[1]).toMatchObject({ kind: 'channel', cause: 'never-pushed', theirs: 5, ours: 0, size: 5, tolerance: 1 });

  // A position that names no ERP (not from an ERP node) goes to Catch by name; a good reading after it is still booked.
  await call('/doc', {
    kind: 'inventory.position',
    sku: SKU,
    locationId: LOCATION,
    onHand: 3,
    reserved: 0,
    inTransit: 0,
    safetyStock: 0,
    asOf: new Date().toISOString(),
  });
  const refused = await until('the reading without an ERP refused', (s) => s.caught.length === 1);
  expect(refused.caught[0]).toMatch(/an ERP stock reading must name its ERP in msg.erp.system/);
  await call('/read', [SKU]);
  await until('a good reading still booked', (s) => s.booked.length === 5);
});

it('the explain route: behind the login, 400 naming the parameter, 404 for a SKU with no position, another store refused', async () => {
  expect((await admin(`/tillwire/inventory/explain?sku=${SKU}`)).status).toBe(401);
  const cases: Array<[string, number, RegExp]> = [
    ['', 400, /^sku is required$/],
    [`sku=${'X'.repeat(129)}`, 400, /^sku is 129 characters long, at most 128 allowed$/],
    [`sku=${SKU}&sku=OTHER`, 400, /^sku must be given once, as text$/],
    [`sku=${SKU}&limit=0`, 400, /^limit must be a whole number from 1 to 500$/],
    [`sku=${SKU}&limit=1e3`, 400, /^limit must be a whole number from 1 to 500$/],
    [`sku=${SKU}&location=${encodeURIComponent('WH\u0000x')}`, 400, /^location holds control characters$/],
    [`sku=${SKU}&sql=1`, 400, /^unknown parameter sql/],
    [`sku=${SKU}&store=another-store`, 404, /^no Tillwire store with id another-store$/],
    ['sku=NO-SUCH-SKU', 404, /^no inventory position for SKU NO-SUCH-SKU$/],
    [`sku=${SKU}&location=WH2`, 404, /^no inventory position for SKU MUG-WHT-12OZ at location WH2$/],
    // With rules, the same route answers a channel's available-to-sell figure instead (docs/inventory.md).
    [`rules=nope&channel=amazon&sku=${SKU}`, 404, /^no tillwire-inventory node with id nope$/],
  ];
  for (const [query, status, message] of cases) {
    const r = await admin(`/tillwire/inventory/explain?${query}`, reader);
    expect([query, r.status, r.body.error]).toEqual([query, status, expect.stringMatching(message)]);
  }
  const ok = await admin(`/tillwire/inventory/explain?sku=${SKU}&limit=1`, reader);
  expect(ok.status).toBe(200);
  expect(ok.body).toMatchObject({ sku: SKU, location: null, more: true });
  expect(ok.body.events).toHaveLength(1);
});
