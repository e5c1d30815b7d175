/**
 * ERP stock into the ledger and drift, in a real Node-RED (red.js with the product's settings and
 * an editor login) against the Odoo simulator: an inject-like HTTP trigger → tillwire-odoo (stock)
 * → tillwire-inventory-reserve, with channel orders and read-backs arriving over HTTP to the same
 * reserve node. The Odoo reading lands as a snapshot; an order reserves; the next Odoo reading
 * shows another reserved figure → a drift report naming the order; a Shopify read-back differing
 * from the last push → a drift report. The explain route answers, behind the login, and refuses
 * hostile parameters by name.
 */
import type { RunningNodeRed } from '../support/node-red-process';
import type { OdooSimulator } from '../../simulators/odoo/simulator';
import { startSimulator } from '../odoo/support';
import { odooConfigNode } from '../support/config-nodes';
import { flowCalls } from '../support/flow-calls';
import { type LedgerRuntime, observedReserve, shopifyOrder, startLedgerRuntime } from './ledger-flow-support';

jest.setTimeout(60_000);

const SKU = 'MUG-WHT-12OZ';
const LOCATION = 'WH/Stock';
let red: RunningNodeRed;
let sim: OdooSimulator;
let reader: string;
let rt: LedgerRuntime;

function flows() {
  return [
    ...observedReserve({
      label: 'stock and drift',
      guard: { locations: LOCATION, driftOnHand: '0', driftReserved: '0', driftChannel: '1' },
      catchScope: ['guard', 'odoo'],
    }),
    odooConfigNode(sim, { id: 'c1' }),
    // On a schedule this is an Inject node; here the test triggers the read over HTTP.
    { id: 'read', type: 'http in', z: 'tab', url: '/read', method: 'post', wires: [['odoo', 'ack']] },
    { id: 'odoo', type: 'tillwire-odoo', z: 'tab', odoo: 'c1', operation: 'stock', output: 'each', wires: [['guard']] },
  ];
}

const admin = (route: string, bearer?: string) => rt.admin(route, bearer);

const { call, untilSeen: until } = flowCalls(() => red, { callTimeoutMs: 20_000, untilTimeoutMs: 20_000 });

const order = (id: string, quantity: number) => shopifyOrder(SKU, id, quantity);

beforeAll(async () => {
  sim = await startSimulator();
  rt = await startLedgerRuntime(flows(), { credentials: { c1: { apiKey: sim.apiKey } }, moreUsers: [{ username: 'admin', permissions: '*' }] });
  red = rt.red;
  reader = rt.reader;
});

afterAll(async () => {
  await rt?.stop();
  await sim?.stop();
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
