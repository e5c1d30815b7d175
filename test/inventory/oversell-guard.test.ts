/**
 * The oversell guard in two real Node-RED processes (red.js with the product's settings) sharing
 * one PostgreSQL store: canonical documents arrive over HTTP (http in → tillwire-inventory-reserve →
 * http response), so each request's answer is the output the document left on, or the Catch node's
 * error. 100 orders from 3 channels at once, split over both processes, for 10 units: exactly 10
 * reserved, 90 on the oversell output naming their channel, order and SKU. Then the rest of an
 * order's life (re-sent, shipped, cancelled) and refused documents beside good ones.
 */
import { Client } from 'pg';
import { createStore } from '../../nodes/runtime/create-store';
import type { Store } from '../../nodes/runtime/store';
import { deployCredentialsAndWait, RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { POSTGRES_URL, uniqueName } from '../support/services';

jest.setTimeout(120_000);

const schema = uniqueName('tw_oversell');
const reds: RunningNodeRed[] = [];
let ledger: Store;

function flows() {
  const answer = (body: string, status = 200) => `msg.statusCode = ${status};\nmsg.payload = ${body};\nreturn msg;`;
  return [
    { id: 'tab', type: 'tab', label: 'oversell guard' },
    { id: 'st', type: 'tillwire-store', name: 'shared', backend: 'postgres', schema },
    { id: 'in', type: 'http in', z: 'tab', url: '/doc', method: 'post', wires: [['guard']] },
    { id: 'guard', type: 'tillwire-inventory-reserve', z: 'tab', store: 'st', locations: 'WH1, STORE-1', returnLocation: 'WH1', wires: [['ok'], ['risk']] },
    { id: 'ok', type: 'function', z: 'tab', func: answer("{ output: 'reserved-or-booked', inventory: msg.inventory }"), outputs: 1, wires: [['res']] },
    { id: 'risk', type: 'function', z: 'tab', func: answer("{ output: 'oversell-risk', oversell: msg.oversell }"), outputs: 1, wires: [['res']] },
    { id: 'k', type: 'catch', z: 'tab', scope: ['guard'], uncaught: false, wires: [['refused']] },
    { id: 'refused', type: 'function', z: 'tab', func: answer('{ output: "refused", error: msg.error.message }', 422), outputs: 1, wires: [['res']] },
    { id: 'res', type: 'http response', z: 'tab', statusCode: '', headers: {} },
  ];
}

async function post(red: RunningNodeRed, doc: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${red.url}/doc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(doc),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, body: await res.json() };
}

const CHANNELS = [
  { system: 'shopify', account: 'shop-eu' },
  { system: 'amazon', account: 'A1PA6795UKMFR9' },
  { system: 'bol', account: '' },
];

const order = (channel: { system: string; account: string }, id: string, lines: Array<{ sku: string; quantity: number }>, status = 'accepted') => ({
  kind: 'order',
  id: `${channel.system}-${id}`,
  channel: { ...channel, id },
  status,
  createdAt: '2026-12-05T09:00:00Z',
  currency: 'EUR',
  lines: lines.map((l, i) => ({
    lineId: String(i + 1),
    ...l,
    unitPrice: { amount: 1000, currency: 'EUR' },
    lineTotal: { amount: 1000 * l.quantity, currency: 'EUR' },
  })),
});

const position = async (sku: string, locationId: string) => (await ledger.inventory.positions({ skus: [sku], locationIds: [locationId] }))[0];

beforeAll(async () => {
  ledger = createStore({ backend: 'postgres', url: POSTGRES_URL, schema }, process.cwd(), { heartbeatMs: 0 });
  await ledger.open();
  await ledger.inventory.snapshot({ system: 'odoo', documentId: 'quant-1' }, [
    { sku: 'LAST', locationId: 'WH1', onHand: 10 },
    { sku: 'MUG', locationId: 'WH1', onHand: 5 },
  ]);
  const started = await Promise.all([0, 1].map(() => startNodeRed({ via: 'red', flows: flows(), env: { TILLWIRE_LOG_LEVEL: 'warn' } })));
  reds.push(...started);
  // The PostgreSQL address is a credential, entered as a user would.
  await Promise.all(reds.map((red) => deployCredentialsAndWait(red, { st: { url: POSTGRES_URL } })));
});

afterAll(async () => {
  for (const red of reds) await red.stop();
  await ledger?.close();
  const c = new Client({ connectionString: POSTGRES_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await c.end();
});

it('100 concurrent orders across 3 channels and two Node-RED processes for 10 units: exactly 10 reserved, 90 oversell risks', async () => {
  const answers = await Promise.all(
    Array.from({ length: 100 }, (_, i) => post(reds[i % 2], order(CHANNELS[i % 3], `race-${i}`, [{ sku: 'LAST', quantity: 1 }]))),
  );
  const reserved = answers.filter((a) => a.body.output === 'reserved-or-booked');
  const risks = answers.filter((a) => a.body.output === 'oversell-risk');
  expect(reserved).toHaveLength(10);
  expect(risks).toHaveLength(90);
  for (const r of reserved) expect(r.body.inventory).toMatchObject({ outcome: 'reserved', allocations: [{ sku: 'LAST', locationId: 'WH1', qty: 1 }] });
  for (const r of risks) {
    expect(r.body.oversell).toMatchObject({ orderId: expect.stringMatching(/^race-\d+$/), skus: [{ sku: 'LAST', requested: 1, available: 0 }] });
    const i = Number(r.body.oversell.orderId.slice('race-'.length));
    expect(r.body.oversell.channel).toEqual(CHANNELS[i % 3]);
  }
  // Both processes took part in the race, and the ledger holds exactly what was accepted.
  expect(new Set(reserved.map((r) => r.body.inventory.orderId)).size).toBe(10);
  expect(await position('LAST', 'WH1')).toMatchObject({ onHand: 10, reserved: 10 });
});

it('an order re-sent to the other process gets its first answer; a shipment consumes, a cancel releases, a return restocks', async () => {
  const first = await post(reds[0], order(CHANNELS[0], 'life-1', [{ sku: 'MUG', quantity: 3 }]));
  expect(first.body.inventory).toMatchObject({ outcome: 'reserved', duplicate: false });
  const again = await post(reds[1], order(CHANNELS[0], 'life-1', [{ sku: 'MUG', quantity: 3 }], 'paid'));
  expect(again.body.inventory).toMatchObject({ outcome: 'reserved', duplicate: true });
  expect(await position('MUG', 'WH1')).toMatchObject({ onHand: 5, reserved: 3 });

  const shipped = await post(reds[1], {
    kind: 'shipment',
    shipmentId: 'ship-1',
    order: { id: 'shopify-life-1', channel: { ...CHANNELS[0], id: 'life-1' } },
    shippedAt: '2026-12-05T10:00:00Z',
    lines: [{ sku: 'MUG', quantity: 2 }],
  });
  expect(shipped.body.inventory.events.map((e: any) => [e.field, e.delta])).toEqual([
    ['reserved', -2],
    ['onHand', -2],
  ]);
  const cancelled = await post(reds[0], order(CHANNELS[0], 'life-1', [{ sku: 'MUG', quantity: 3 }], 'cancelled'));
  expect(cancelled.body.inventory.events.map((e: any) => [e.field, e.delta])).toEqual([['reserved', -1]]);
  const returned = await post(reds[0], {
    kind: 'return',
    returnId: 'rma-1',
    channel: { ...CHANNELS[0], id: 'rma-1' },
    originalOrder: { id: 'shopify-life-1', channel: { ...CHANNELS[0], id: 'life-1' } },
    status: 'received',
    createdAt: '2026-12-05T11:00:00Z',
    currency: 'EUR',
    lines: [{ sku: 'MUG', quantity: 1, reason: 'damaged', restock: true, refundAmount: { amount: 1000, currency: 'EUR' } }],
  });
  expect(returned.body.inventory.events.map((e: any) => [e.field, e.delta, e.after])).toEqual([['onHand', 1, 4]]);
  expect(await position('MUG', 'WH1')).toMatchObject({ onHand: 4, reserved: 0 });
});

it('refuses bad documents by name through Catch, while a good one beside them flows', async () => {
  const bad = await Promise.all([
    post(reds[0], order(CHANNELS[1], 'bad-1', [{ sku: 'MUG', quantity: -1 }])),
    post(reds[1], order(CHANNELS[1], 'bad-2', [{ sku: 'MUG', quantity: 5e9 }])),
    post(
      reds[0],
      order(
        CHANNELS[1],
        'bad-3',
        Array.from({ length: 501 }, (_, i) => ({ sku: `S${i}`, quantity: 1 })),
      ),
    ),
    post(reds[0], { kind: 'invoice', id: 'x' }),
  ]);
  // Another channel's order id: race-0 was Shopify's; Amazon cancelling it releases nothing and says why.
  const relabelled = await post(reds[1], order(CHANNELS[1], 'race-0', [{ sku: 'LAST', quantity: 1 }], 'cancelled'));
  const good = await post(reds[1], order(CHANNELS[2], 'fine-1', [{ sku: 'MUG', quantity: 1 }]));
  expect(bad.map((b) => [b.status, b.body.output])).toEqual(Array.from({ length: 4 }, () => [422, 'refused']));
  // Node-RED's Catch node gives the error as "<name>: <message>".
  expect(bad.map((b) => b.body.error)).toEqual([
    'InventoryInputError: order lines[0].qty must be a whole number from 1 to 1000000, not -1',
    'InventoryInputError: order lines[0].qty must be a whole number from 1 to 1000000, not 5000000000',
    'InventoryInputError: order lines: 501 given, at most 500 allowed',
    'InventoryInputError: the inventory reserve node takes canonical orders, shipments, returns, sales, stock positions (inventory.position), stock movements (inventory.adjustment) and channel read-backs (inventory.ats), not "invoice"',
  ]);
  expect(relabelled.body.inventory).toEqual({
    note: 'order race-0 of amazon/A1PA6795UKMFR9 holds no reservation: nothing to release (recorded: an accept arriving later reserves nothing)',
  });
  expect(good.body.inventory).toMatchObject({ outcome: 'reserved', orderId: 'fine-1' });
  expect(await position('LAST', 'WH1')).toMatchObject({ reserved: 10 });
  expect(await position('MUG', 'WH1')).toMatchObject({ onHand: 4, reserved: 1 });
});

it('a cancel that arrives before its accept: the late accept (or its replay) reserves nothing and says so on output 1', async () => {
  const cancel = await post(reds[0], order(CHANNELS[0], 'R3-9', [{ sku: 'MUG', quantity: 2 }], 'cancelled'));
  expect(cancel.body).toMatchObject({ output: 'reserved-or-booked', inventory: { note: expect.stringContaining('holds no reservation') } });
  for (const red of reds) {
    const late = await post(red, order(CHANNELS[0], 'R3-9', [{ sku: 'MUG', quantity: 2 }]));
    expect(late.body).toEqual({
      output: 'reserved-or-booked',
      inventory: {
        ...CHANNELS[0],
        orderId: 'R3-9',
        outcome: 'cancelled',
        wasReserved: false,
        duplicate: true,
        note: 'order R3-9 was cancelled before it was accepted: nothing reserved, it holds 0',
      },
    });
  }
  // An accept re-sent after the order's own cancel reports what it holds now, not its old allocations.
  const resent = await post(reds[1], order(CHANNELS[0], 'life-1', [{ sku: 'MUG', quantity: 3 }]));
  expect(resent.body.inventory).toMatchObject({ outcome: 'cancelled', wasReserved: true, duplicate: true });
  expect(await position('MUG', 'WH1')).toMatchObject({ onHand: 4, reserved: 1 });
});

it('a till sale at a store nothing knew is booked but flagged on its message; one at a known store is not', async () => {
  const sale = (saleId: string, storeId: string) => ({ kind: 'sale', saleId, storeId, terminalId: 'T1', lines: [{ sku: 'MUG', quantity: 1 }] });
  const evil = await post(reds[0], sale('till-evil-1', 'EVIL-STORE'));
  expect(evil.body.inventory).toMatchObject({
    unknownLocation: 'EVIL-STORE',
    warning: 'till sale booked at unknown location EVIL-STORE: no order draws from it and the ledger held nothing there',
    events: [{ locationId: 'EVIL-STORE', delta: -1, after: -1 }],
  });
  const known = await post(reds[1], sale('till-ok-1', 'STORE-1'));
  expect(known.body.inventory).not.toHaveProperty('unknownLocation');
  expect(await position('MUG', 'EVIL-STORE')).toMatchObject({ onHand: -1 });
});
