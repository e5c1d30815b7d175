/**
 * Safety stock from ERP readings, in a real Node-RED (red.js with the product's settings and an
 * editor login): a reading's `safetyStock` (canonical `inventory.position`) is booked as the
 * position's safety stock, absolutely, in the reading's own snapshot (docs/inventory.md, "ERP
 * snapshots"). Odoo's stock read has no such figure (its node sends 0), so the reserve node is driven
 * with canonical readings over HTTP (a WMS's, `msg.erp.system` set by the flow), and the Odoo
 * simulator's reading shows the recipe the docs give: the flow sets the figure on Odoo's readings
 * before the reserve node, and a reading it does not set clears it.
 */
import type { RunningNodeRed } from '../support/node-red-process';
import type { OdooSimulator } from '../../simulators/odoo/simulator';
import { startSimulator } from '../odoo/support';
import { odooConfigNode } from '../support/config-nodes';
import { type LedgerRuntime, shopifyOrder, startLedgerRuntime } from './ledger-flow-support';

jest.setTimeout(60_000);

const SKU = 'TEE-BLK-M';
const LOCATION = 'WH-MAN-01';
const ODOO_SKU = 'MUG-WHT-12OZ';
const ODOO_LOCATION = 'WH/Stock';
let red: RunningNodeRed;
let sim: OdooSimulator;
let reader: string;
let rt: LedgerRuntime;

function flows() {
  const answer = (body: string, status = 200) => `msg.statusCode = ${status};\nmsg.payload = ${body};\nreturn msg;`;
  return [
    { id: 'tab', type: 'tab', label: 'safety stock' },
    { id: 'st', type: 'tillwire-store', name: 'ledger', backend: 'sqlite', file: 'tillwire.db', schema: 'tillwire', synchronous: 'normal' },
    odooConfigNode(sim, { id: 'c1' }),
    // Channel orders, as canonical documents.
    { id: 'doc', type: 'http in', z: 'tab', url: '/doc', method: 'post', wires: [['guard']] },
    // A WMS's stock reading, as a canonical inventory.position: the flow names its system.
    { id: 'reading', type: 'http in', z: 'tab', url: '/reading', method: 'post', wires: [['wms']] },
    { id: 'wms', type: 'function', z: 'tab', func: "msg.erp = { system: 'wms', account: '' };\nreturn msg;", outputs: 1, wires: [['guard']] },
    // Odoo's stock read (on a schedule an Inject node), with the safety stock the flow holds set on its readings.
    { id: 'read', type: 'http in', z: 'tab', url: '/read', method: 'post', wires: [['odoo']] },
    { id: 'odoo', type: 'tillwire-odoo', z: 'tab', odoo: 'c1', operation: 'stock', output: 'array', wires: [['hold']] },
    {
      id: 'hold',
      type: 'function',
      z: 'tab',
      func: "const held = flow.get('safety');\nif (typeof held === 'number') for (const p of msg.payload) p.safetyStock = held;\nreturn msg;",
      outputs: 1,
      wires: [['guard']],
    },
    { id: 'safety', type: 'http in', z: 'tab', url: '/safety', method: 'post', wires: [['keep']] },
    {
      id: 'keep',
      type: 'function',
      z: 'tab',
      func: "flow.set('safety', msg.payload.safetyStock);\n" + answer('{ held: msg.payload.safetyStock ?? null }'),
      outputs: 1,
      wires: [['res']],
    },
    {
      id: 'guard',
      type: 'tillwire-inventory-reserve',
      z: 'tab',
      store: 'st',
      locations: LOCATION,
      wires: [['ok'], ['risk'], []],
    },
    { id: 'ok', type: 'function', z: 'tab', func: answer("{ output: 'reserved-or-booked', inventory: msg.inventory }"), outputs: 1, wires: [['res']] },
    { id: 'risk', type: 'function', z: 'tab', func: answer("{ output: 'oversell-risk', oversell: msg.oversell }"), outputs: 1, wires: [['res']] },
    { id: 'k', type: 'catch', z: 'tab', scope: ['guard', 'odoo'], uncaught: false, wires: [['refused']] },
    { id: 'refused', type: 'function', z: 'tab', func: answer('{ output: "refused", error: msg.error.message }', 422), outputs: 1, wires: [['res']] },
    { id: 'res', type: 'http response', z: 'tab', statusCode: '', headers: {} },
  ];
}

async function post(route: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${red.url}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    throw new Error(`${route} answered ${res.status}: ${text}\n${red.output().slice(-2000)}`);
  }
}

const admin = (route: string, bearer?: string) => rt.admin(route, bearer);

/** The position at the location and its newest events, from the explain API. */
async function explain(sku: string, location: string): Promise<{ position: any; events: any[] }> {
  const r = await admin(`/tillwire/inventory/explain?sku=${encodeURIComponent(sku)}&location=${encodeURIComponent(location)}`, reader);
  expect(r.status).toBe(200);
  expect(r.body.positions).toHaveLength(1);
  return { position: r.body.positions[0], events: r.body.events };
}

const reading = (asOf: string, figures: { onHand: number; safetyStock?: number }) => ({
  kind: 'inventory.position',
  sku: SKU,
  locationId: LOCATION,
  onHand: figures.onHand,
  reserved: 0,
  inTransit: 0,
  ...(figures.safetyStock === undefined ? {} : { safetyStock: figures.safetyStock }),
  asOf,
});

const order = (id: string, quantity: number) => shopifyOrder(SKU, id, quantity, 1500);

beforeAll(async () => {
  sim = await startSimulator();
  rt = await startLedgerRuntime(flows(), { credentials: { c1: { apiKey: sim.apiKey } } });
  red = rt.red;
  reader = rt.reader;
});

afterAll(async () => {
  await rt?.stop();
  await sim?.stop();
});

it("a reading's safety stock is booked with the reading as source, holds units back from orders, stays through a reading refused without it, and 0 clears it", async () => {
  const first = await post('/reading', reading('2026-12-05T10:00:00Z', { onHand: 10, safetyStock: 3 }));
  expect(first.body).toEqual({ output: 'reserved-or-booked', inventory: { booked: 1, duplicate: 0, stale: 0 } });
  let now = await explain(SKU, LOCATION);
  expect(now.position).toEqual({ sku: SKU, locationId: LOCATION, onHand: 10, reserved: 0, inTransit: 0, safetyStock: 3, states: {}, free: 7 });
  // One snapshot, both figures: the reading is the source of the safety stock as of the on hand.
  const readingSource = { system: 'wms', account: '', documentId: '2026-12-05T10:00:00Z TEE-BLK-M @ WH-MAN-01 = 10/0/0/3' };
  expect(now.events).toEqual([
    expect.objectContaining({ kind: 'snapshot', field: 'safetyStock', delta: 3, after: 3, source: readingSource }),
    expect.objectContaining({ kind: 'snapshot', field: 'onHand', delta: 10, after: 10, source: readingSource }),
  ]);

  // An order takes 2: free = on hand 10 − reserved 2 − safety stock 3.
  expect((await post('/doc', order('2001', 2))).body).toMatchObject({ output: 'reserved-or-booked', inventory: { outcome: 'reserved' } });
  now = await explain(SKU, LOCATION);
  expect(now.position).toMatchObject({ onHand: 10, reserved: 2, safetyStock: 3, free: 5 });

  // 6 units: more than the 5 free, though 8 would be without the safety stock: oversell risk on output 2.
  const risky = await post('/doc', order('2002', 6));
  expect(risky.body).toEqual({
    output: 'oversell-risk',
    oversell: { channel: { system: 'shopify', account: 'shop-eu' }, orderId: '2002', skus: [{ sku: SKU, requested: 6, available: 5 }] },
  });

  // A later reading without the field is not a valid inventory.position (the schema requires it): refused, nothing changes.
  const without = await post('/reading', reading('2026-12-05T11:00:00Z', { onHand: 12 }));
  expect(without.status).toBe(422);
  expect(without.body.error).toMatch(/not a valid inventory\.position: .*safetyStock/);
  now = await explain(SKU, LOCATION);
  expect(now.position).toMatchObject({ onHand: 10, reserved: 2, safetyStock: 3, free: 5 });

  // The same figure again changes nothing: a later reading with on hand 12 and safety stock 3 moves on hand only.
  expect((await post('/reading', reading('2026-12-05T11:30:00Z', { onHand: 12, safetyStock: 3 }))).body.inventory).toEqual({
    booked: 1,
    duplicate: 0,
    stale: 0,
  });
  now = await explain(SKU, LOCATION);
  expect(now.position).toMatchObject({ onHand: 12, reserved: 2, safetyStock: 3, free: 7 });
  expect(now.events[0]).toMatchObject({ kind: 'snapshot', field: 'onHand', delta: 2, after: 12 });

  // Safety stock 0 clears it: the 6 units fit now.
  expect((await post('/reading', reading('2026-12-05T12:00:00Z', { onHand: 12, safetyStock: 0 }))).body.inventory).toEqual({
    booked: 1,
    duplicate: 0,
    stale: 0,
  });
  now = await explain(SKU, LOCATION);
  expect(now.position).toMatchObject({ onHand: 12, reserved: 2, safetyStock: 0, free: 10 });
  expect(now.events[0]).toMatchObject({
    kind: 'snapshot',
    field: 'safetyStock',
    delta: -3,
    after: 0,
    source: { system: 'wms', account: '', documentId: '2026-12-05T12:00:00Z TEE-BLK-M @ WH-MAN-01 = 12/0/0' },
  });
  expect((await post('/doc', order('2003', 6))).body).toMatchObject({ output: 'reserved-or-booked', inventory: { outcome: 'reserved' } });
});

it("Odoo's reading carries no safety stock: the flow sets it on the readings, and a reading it does not set puts back Odoo's 0", async () => {
  const onHand = Number(sim.records('stock.quant', [['product_id.default_code', '=', ODOO_SKU]], ['quantity'])[0].quantity);
  expect((await post('/safety', { safetyStock: 3 })).body).toEqual({ held: 3 });
  expect((await post('/read', [ODOO_SKU])).body).toMatchObject({ output: 'reserved-or-booked', inventory: { booked: 1 } });
  let now = await explain(ODOO_SKU, ODOO_LOCATION);
  expect(now.position).toMatchObject({ onHand, reserved: 0, safetyStock: 3, free: Math.max(0, onHand - 3) });
  expect(now.events.find((e) => e.field === 'safetyStock')).toMatchObject({ kind: 'snapshot', delta: 3, after: 3, source: { system: 'odoo' } });

  // Odoo's figures change (a delivery reserves 1), the flow still holds 3: a new reading, the safety stock stays.
  sim.reserveStock(ODOO_SKU, 1);
  expect((await post('/read', [ODOO_SKU])).body).toMatchObject({ inventory: { booked: 1 } });
  now = await explain(ODOO_SKU, ODOO_LOCATION);
  expect(now.position).toMatchObject({ onHand, safetyStock: 3, states: { erp_reserved: 1 } });

  // The flow stops setting it: Odoo's own reading says 0, and the reading is the system of record.
  expect((await post('/safety', {})).body).toEqual({ held: null });
  sim.reserveStock(ODOO_SKU, 2);
  expect((await post('/read', [ODOO_SKU])).body).toMatchObject({ inventory: { booked: 1 } });
  now = await explain(ODOO_SKU, ODOO_LOCATION);
  expect(now.position).toMatchObject({ onHand, safetyStock: 0, states: { erp_reserved: 2 } });
  expect(now.events.find((e) => e.field === 'safetyStock')).toMatchObject({ kind: 'snapshot', delta: -3, after: 0, source: { system: 'odoo' } });
});
