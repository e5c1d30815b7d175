/**
 * Stock movements into the ledger in a real Node-RED (red.js with the product's settings and an
 * editor login): canonical `inventory.adjustment` documents posted over HTTP to
 * tillwire-inventory-reserve, the ledger in a SQLite file in the user dir. A goods receipt raises on
 * hand and the explain API names the adjustment behind the change; the same adjustment again
 * changes nothing and says so; the same adjustmentId with another delta goes to Catch as a conflict
 * naming the id; malformed JSON, a schema violation, a delta of 0 and of 1.5 are refused by name
 * while a good adjustment in the same array is booked; a movement at a location holding reserved
 * stock moves the channel's available-to-sell figure by its delta.
 */
import type { RunningNodeRed } from '../support/node-red-process';
import { flowCalls } from '../support/flow-calls';
import { type LedgerRuntime, observedReserve, startLedgerRuntime } from './ledger-flow-support';

jest.setTimeout(60_000);

const SKU = 'MUG-WHT-12OZ';
const LOCATION = 'WH1';
let red: RunningNodeRed;
let reader: string;
let rt: LedgerRuntime;

function flows() {
  return [
    ...observedReserve({
      label: 'stock movements',
      guard: { locations: LOCATION },
      bookedAs: '{ inventory: msg.inventory, skus: msg.skus }',
      seenExtra: "msg.payload.badge = flow.get('badge') || '';\n",
    }),
    // The rules the available-to-sell explanation reads: the web shop sells what WH1 has free.
    { id: 'rules', type: 'tillwire-inventory', name: 'web shop', locations: LOCATION, channels: [{ system: 'shopify', locations: LOCATION }], bundles: [] },
    // One wire from the route to the node, as a user wires it (/doc's second wire, its answer, makes
    // Node-RED clone the message before the node sees it); a refusal answers 422 from a Catch.
    { id: 'one', type: 'http in', z: 'tab', url: '/one', method: 'post', wires: [['guard']] },
    { id: 'k422', type: 'catch', z: 'tab', scope: ['guard'], uncaught: false, wires: [['refuse']] },
    {
      id: 'refuse',
      type: 'function',
      z: 'tab',
      func: "if (msg.req?.url !== '/one') return null;\nmsg.statusCode = 422;\nmsg.payload = { error: msg.error.message };\nreturn msg;",
      outputs: 1,
      wires: [['res']],
    },
    // The node's badge, as a Status node reports it.
    { id: 'badge', type: 'status', z: 'tab', scope: ['guard'], wires: [['keep']] },
    { id: 'keep', type: 'function', z: 'tab', func: "flow.set('badge', msg.status.text);\nreturn null;", outputs: 1, wires: [[]] },
  ];
}

const admin = (route: string, bearer?: string) => rt.admin(route, bearer);

/** POSTs a body as JSON, or as it is when `raw` (text/plain: what a flow gets from a body it did not parse). */
const { call, untilSeen: until } = flowCalls(() => red, { callTimeoutMs: 20_000, untilTimeoutMs: 20_000 });

const adjustment = (adjustmentId: string, delta: unknown, reason = 'receipt', extra: Record<string, unknown> = {}) => ({
  kind: 'inventory.adjustment',
  adjustmentId,
  sku: SKU,
  locationId: LOCATION,
  delta,
  reason,
  occurredAt: '2026-12-05T08:30:00Z',
  source: { system: 'odoo', type: 'stock.move', id: adjustmentId },
  ...extra,
});

const explain = async () => {
  const r = await admin(`/tillwire/inventory/explain?sku=${SKU}&location=${LOCATION}`, reader);
  expect(r.status).toBe(200);
  return r.body;
};

beforeAll(async () => {
  rt = await startLedgerRuntime(flows());
  red = rt.red;
  reader = rt.reader;
});

afterAll(async () => {
  await rt?.stop();
});

it('a receipt raises on hand and the explain API names it; the same adjustment again changes nothing; the same id with another delta is a conflict', async () => {
  await call('/doc', adjustment('odoo:stock.move:9001', 12));
  const first = await until('the receipt booked', (s) => s.booked.length === 1);
  expect(first.caught).toEqual([]);
  expect(first.booked[0]).toEqual({
    inventory: {
      booked: 1,
      duplicate: 0,
      events: [expect.objectContaining({ kind: 'adjustment', field: 'onHand', delta: 12, after: 12, sku: SKU, locationId: LOCATION })],
    },
    skus: [SKU],
  });
  expect(first.badge).toBe('reserved 0, oversell 0, booked 1');
  const explained = await explain();
  expect(explained.positions).toEqual([expect.objectContaining({ sku: SKU, locationId: LOCATION, onHand: 12, reserved: 0, free: 12 })]);
  expect(explained.events).toEqual([
    expect.objectContaining({
      kind: 'adjustment',
      field: 'onHand',
      delta: 12,
      after: 12,
      source: { system: 'tillwire', account: '', documentId: 'odoo:stock.move:9001' },
    }),
  ]);

  // The same document again: nothing changes, and output 1 says it was a duplicate.
  await call('/doc', adjustment('odoo:stock.move:9001', 12));
  const again = await until('the repeat answered', (s) => s.booked.length === 2);
  expect(again.booked[1]).toEqual({ inventory: { booked: 0, duplicate: 1, events: [] }, skus: [] });
  expect(again.badge).toBe('reserved 0, oversell 0, booked 1');
  expect((await explain()).events).toHaveLength(1);

  // The same adjustmentId with another delta: refused to Catch, naming the id; nothing changes.
  await call('/doc', adjustment('odoo:stock.move:9001', 7));
  const conflict = await until('the conflict refused', (s) => s.caught.length === 1);
  expect(conflict.caught[0]).toMatch(/adjustment odoo:stock\.move:9001 of tillwire was applied before with other content; refused/);
  expect(conflict.booked).toHaveLength(2);
  const after = await explain();
  expect(after.positions[0].onHand).toBe(12);
  expect(after.events).toHaveLength(1);
});

it('malformed JSON, a schema violation, a delta of 0 or 1.5 are refused by name; a good adjustment in the same array is booked', async () => {
  // A body the flow did not parse (a truncated JSON text) reaches the node as text.
  await call('/doc', '{"kind":"inventory.adjustment","adjustmentId":"odoo:stock.move:9002",', true);
  const text = await until('the text refused', (s) => s.caught.length === 2);
  expect(text.caught[1]).toMatch(/takes canonical documents as objects, not text: parse the JSON first/);

  await call('/doc', [
    adjustment('odoo:stock.move:9003', -2, 'damage'),
    '{"kind":"inventory.adjustment",',
    adjustment('odoo:stock.move:9004', 3, 'lost'),
    adjustment('odoo:stock.move:9005', 0, 'count'),
    adjustment('odoo:stock.move:9006', 1.5, 'count'),
  ]);
  const seen = await until('the array answered', (s) => s.caught.length === 3 && s.booked.length === 3);
  expect(seen.booked[2]).toEqual({
    inventory: { booked: 1, duplicate: 0, events: [expect.objectContaining({ kind: 'adjustment', delta: -2, after: 10 })] },
    skus: [SKU],
  });
  const refusal: string = seen.caught[2];
  expect(refusal).toMatch(/^InventoryInputError: 4 of 5 adjustments refused: /);
  expect(refusal).toContain('adjustment [1] is not a valid inventory.adjustment: payload must be a inventory-adjustment object, got string');
  expect(refusal).toContain('adjustment [2] "odoo:stock.move:9004" is not a valid inventory.adjustment: reason must be one of');
  expect(refusal).toContain('adjustment [3] "odoo:stock.move:9005" is not a valid inventory.adjustment: delta must not be 0');
  expect(refusal).toContain('adjustment [4] "odoo:stock.move:9006" is not a valid inventory.adjustment: delta must be a whole number');
  const explained = await explain();
  expect(explained.positions[0].onHand).toBe(10);
  expect(explained.events.map((e: any) => [e.source.documentId, e.delta])).toEqual([
    ['odoo:stock.move:9003', -2],
    ['odoo:stock.move:9001', 12],
  ]);
  // Corrected, a refused adjustment is booked: a refusal leaves nothing behind.
  await call('/doc', adjustment('odoo:stock.move:9005', -1, 'count'));
  await until('the corrected count booked', (s) => s.booked.length === 4);
  expect((await explain()).positions[0].onHand).toBe(9);
});

it('a movement at a location holding reserved stock moves the channel figure by its delta', async () => {
  await call('/doc', {
    kind: 'order',
    id: 'shopify-1001',
    channel: { system: 'shopify', account: 'shop-eu', id: '1001' },
    status: 'accepted',
    createdAt: '2026-12-05T09:00:00Z',
    currency: 'EUR',
    lines: [{ lineId: '1', sku: SKU, quantity: 3, unitPrice: { amount: 1200, currency: 'EUR' }, lineTotal: { amount: 3600, currency: 'EUR' } }],
  });
  await until('the order reserved', (s) => s.booked.length === 5);
  const ats = async () => {
    const r = await admin(`/tillwire/inventory/explain?rules=rules&channel=shopify&sku=${SKU}`, reader);
    expect(r.status).toBe(200);
    return r.body.document.available;
  };
  expect(await ats()).toBe(6); // 9 on hand − 3 reserved
  await call('/doc', adjustment('odoo:stock.move:9007', -4, 'transfer_out'));
  const seen = await until('the transfer booked', (s) => s.booked.length === 6);
  expect(seen.caught).toHaveLength(3);
  expect(await ats()).toBe(2);
  expect((await explain()).positions[0]).toMatchObject({ onHand: 5, reserved: 3, free: 2 });
  expect(seen.badge).toBe('reserved 1, oversell 0, booked 4');
});

it('an adjustment nested thousands of levels deep (20 KB) is refused by name to Catch, and Node-RED stays up for the next one', async () => {
  const before = await call('/seen');
  // Written as text: the test's own JSON.stringify would overflow on it too.
  const deep = JSON.stringify(adjustment('odoo:stock.move:9099', 1, 'receipt', { attributes: { a: 'DEEP' } })).replace(
    '"DEEP"',
    '['.repeat(10_000) + ']'.repeat(10_000),
  );
  const res = await fetch(`${red.url}/one`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: deep,
    signal: AbortSignal.timeout(20_000),
  });
  expect(res.status).toBe(422);
  expect(((await res.json()) as any).error).toMatch(/is not a valid inventory.adjustment: payload is nested more than 32 levels deep/);
  const refused = await until('the deep one refused', (s) => s.caught.length === before.caught.length + 1);
  expect(refused.caught.at(-1)).toMatch(/nested more than 32 levels deep/);
  // Still up and booking: Node-RED's clone of the failed message for Catch did not overflow.
  await call('/doc', adjustment('odoo:stock.move:9100', 2));
  await until('the next one booked', (s) => s.booked.length === before.booked.length + 1);
  expect((await explain()).positions[0].onHand).toBe(7);
});

it('more adjustments in one message than one transaction takes (501) are refused as a whole, naming the bound; nothing of them is booked', async () => {
  const onHand = (await explain()).positions[0].onHand;
  const many = Array.from({ length: 501 }, (_, i) => adjustment(`odoo:stock.move:bulk-${i}`, 1));
  const res = await fetch(`${red.url}/one`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(many),
    signal: AbortSignal.timeout(20_000),
  });
  expect(res.status).toBe(422);
  expect(((await res.json()) as any).error).toMatch(/501 adjustments in one message, at most 500/);
  expect((await explain()).positions[0].onHand).toBe(onHand);
});
