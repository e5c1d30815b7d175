/**
 * Business Central stock into the ledger and drift, in a real Node-RED (red.js with the product's
 * settings and an editor login) against the Business Central simulator: an HTTP trigger (an Inject
 * on a schedule) → tillwire-business-central (operation "inventory", items' `inventory`) →
 * tillwire-inventory-reserve, with channel orders over HTTP to the same reserve node. BC's reading
 * lands as a snapshot; its stock changed behind Tillwire's back is reported as on-hand drift with
 * its size and cause, not taken silently; BC has no reserved figure, so an order reserved in the
 * ledger is never reported as reserved drift against it.
 */
import type { RunningNodeRed } from '../support/node-red-process';
import { bcConfigNode } from '../support/config-nodes';
import { flowCalls } from '../support/flow-calls';
import type { BusinessCentralSimulator } from '../../simulators/business-central/simulator';
import { startSimulator } from '../business-central/helpers';
import { type LedgerRuntime, observedReserve, shopifyOrder, startLedgerRuntime } from './ledger-flow-support';

jest.setTimeout(60_000);

const SKU = 'MUG-WHT-12OZ';
const LOCATION = 'BC-MAIN';
let red: RunningNodeRed;
let bc: BusinessCentralSimulator;
let rt: LedgerRuntime;
const { call, untilSeen: until } = flowCalls(() => red, { callTimeoutMs: 20_000, untilTimeoutMs: 20_000 });

function flows() {
  return [
    ...observedReserve({ label: 'BC stock and drift', guard: { locations: LOCATION, driftOnHand: '0', driftReserved: '0' }, catchScope: ['guard', 'bc'] }),
    bcConfigNode(bc, { id: 'ec' }),
    // On a schedule this is an Inject node; here the test triggers the read over HTTP.
    { id: 'read', type: 'http in', z: 'tab', url: '/read', method: 'post', wires: [['bc', 'ack']] },
    { id: 'bc', type: 'tillwire-business-central', z: 'tab', bc: 'ec', operation: 'inventory', locationId: LOCATION, wires: [['guard']] },
  ];
}

beforeAll(async () => {
  bc = await startSimulator();
  rt = await startLedgerRuntime(flows(), { credentials: { ec: { token: bc.token } } });
  red = rt.red;
});

afterAll(async () => {
  await rt?.stop();
  await bc?.close();
});

it("a Business Central reading lands as a snapshot; its stock changed behind Tillwire's back is on-hand drift with size and cause; a ledger reservation is not reserved drift", async () => {
  await call('/read', [SKU]);
  await until('the first reading booked', (s) => s.booked.length === 1);
  const first = await rt.admin(`/tillwire/inventory/explain?sku=${SKU}&location=${LOCATION}`, rt.reader);
  expect(first.body.positions).toEqual([expect.objectContaining({ sku: SKU, locationId: LOCATION, onHand: 30, reserved: 0, free: 30 })]);
  expect(first.body.events[0]).toMatchObject({ kind: 'snapshot', field: 'onHand', after: 30, source: { system: 'business-central' } });

  await call('/doc', shopifyOrder(SKU, '2001', 2, 1800));
  await until('the order reserved', (s) => s.booked.length === 2);
  // A goods receipt of 5 booked in Business Central, not through Tillwire.
  bc.upsertItems([{ number: SKU, inventory: 35 }]);
  await call('/read', [SKU]);
  const seen = await until('the drift reported', (s) => s.drift.length >= 1 && s.booked.length === 3);
  expect(seen.caught).toEqual([]);
  expect(seen.drift).toEqual([
    expect.objectContaining({
      kind: 'erp-on-hand',
      sku: SKU,
      locationId: LOCATION,
      reportedBy: expect.objectContaining({ system: 'business-central' }),
      theirs: 35,
      ours: 30,
      size: 5,
      cause: 'changed-in-erp',
    }),
  ]);
  // Reported, and the ERP's figure booked (BC is the system of record); the reservation stands.
  const after = await rt.admin(`/tillwire/inventory/explain?sku=${SKU}&location=${LOCATION}`, rt.reader);
  expect(after.body.positions).toEqual([expect.objectContaining({ onHand: 35, reserved: 2, free: 33 })]);
});
