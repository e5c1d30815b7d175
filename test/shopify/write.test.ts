import fs from 'node:fs';
import path from 'node:path';
import storeNode from '../../nodes/core/store-config';
import { stockFigureKey } from '../../nodes/core/channel-write';
import configNode from '../../nodes/shopify/shopify-config';
import fulfilNode from '../../nodes/shopify/shopify-fulfil';
import inventoryNode from '../../nodes/shopify/shopify-inventory';
import { ShopifySimulator } from '../../simulators/shopify/simulator';
import { helper, startServer, stopAll } from '../support/node-red';

jest.setTimeout(60_000);

const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/canonical', name), 'utf8'));
const statuses = (node: any) =>
  node.status
    .getCalls()
    .filter((c: any) => c.thisValue === node)
    .map((c: any) => c.args[0]);

let sim: ShopifySimulator;
beforeEach(async () => {
  sim = new ShopifySimulator({ orders: 12 });
  await sim.start();
  await startServer();
});
afterEach(async () => {
  await sim.stop();
  await stopAll();
});

function flow() {
  return [
    { id: 'f1', type: 'tab', label: 'shopify write' },
    { id: 's1', type: 'tillwire-store', backend: 'memory' },
    { id: 'c1', type: 'tillwire-shopify-config', shop: sim.shop, apiVersion: '2026-04', baseUrl: sim.url, timeout: '5' },
    { id: 'ful', type: 'tillwire-shopify-fulfil', z: 'f1', shopify: 'c1', wires: [['out']] },
    { id: 'fulStore', type: 'tillwire-shopify-fulfil', z: 'f1', shopify: 'c1', store: 's1', wires: [['out']] },
    { id: 'inv', type: 'tillwire-shopify-inventory', z: 'f1', shopify: 'c1', location: '1', locationMap: '{"WH-MAN-01": "2"}', wires: [['out']] },
    { id: 'invStore', type: 'tillwire-shopify-inventory', z: 'f1', shopify: 'c1', store: 's1', location: '1', wires: [['out']] },
    { id: 'invErp', type: 'tillwire-shopify-inventory', z: 'f1', shopify: 'c1', location: '1', erpLocation: 'WH1', wires: [['out']] },
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'k1', type: 'catch', z: 'f1', scope: ['ful', 'fulStore', 'inv', 'invStore', 'invErp'], wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
  ];
}

async function load() {
  await helper.load([storeNode, configNode, fulfilNode, inventoryNode], flow(), { c1: { accessToken: sim.accessToken } });
}

/** Sends a payload into a node; resolves with the message that came out, or the one a Catch node got. */
function run(nodeId: string, payload: unknown): Promise<{ ok: boolean; msg: any }> {
  return new Promise((resolve) => {
    const out = helper.getNode('out');
    const caught = helper.getNode('caught');
    const onOut = (msg: any) => finish(true, msg);
    const onCaught = (msg: any) => finish(false, msg);
    function finish(ok: boolean, msg: any) {
      out.removeListener('input', onOut);
      caught.removeListener('input', onCaught);
      resolve({ ok, msg });
    }
    out.on('input', onOut);
    caught.on('input', onCaught);
    helper.getNode(nodeId).receive({ payload });
  });
}

function openOrder() {
  const o = sim.allOrders().find((x) => !x.fulfillment_status && !x.cancelled_at);
  if (!o) throw new Error('no open order in the simulator');
  return o;
}

function shipmentFor(orderId: number, extra: Record<string, unknown> = {}) {
  const doc = fixture('shipment.json');
  doc.order = { id: `order:shopify:${sim.shop}:${orderId}`, channel: { system: 'shopify', account: sim.shop, id: String(orderId) } };
  return { ...doc, ...extra };
}

const ats = (sku: string, available: number, computedAt = '2026-11-27T02:00:00Z') => ({
  kind: 'inventory.ats',
  sku,
  channel: { system: 'shopify', account: sim.shop },
  available,
  computedAt,
});

describe('tillwire-shopify-fulfil', () => {
  it('fulfils the order with tracking; the same shipment again is found by its tracking number and not sent twice', async () => {
    await load();
    const order = openOrder();
    const doc = shipmentFor(order.id);
    const first = await run('ful', doc);
    expect(first.ok).toBe(true);
    expect(first.msg.channelResult).toMatchObject({
      system: 'shopify',
      account: sim.shop,
      operation: 'fulfillmentCreate',
      outcome: 'sent',
      key: 'shipment:odoo:WH/OUT/00012',
      trackingNumber: '1Z999AA10123456784',
    });
    expect(sim.order(order.id)!.fulfillment_status).toBe('fulfilled');
    expect(sim.fulfillments.get(order.id)).toEqual([expect.objectContaining({ trackingInfo: [{ company: 'UPS', number: '1Z999AA10123456784', url: null }] })]);

    const again = await run('ful', doc);
    expect(again.ok).toBe(true);
    expect(again.msg.channelResult).toMatchObject({ outcome: 'already-sent', fulfillmentId: first.msg.channelResult.fulfillmentId });
    expect(sim.fulfillments.get(order.id)).toHaveLength(1);
  });

  it('with a store, a shipment already recorded is not even looked up again', async () => {
    await load();
    const order = openOrder();
    const doc = shipmentFor(order.id, { trackingNumber: undefined, shipmentId: 'WH/OUT/00099' });
    delete doc.trackingNumber;
    expect((await run('fulStore', doc)).msg.channelResult.outcome).toBe('sent');
    const calls = sim.stats.graphql;
    const again = await run('fulStore', doc);
    expect(again.msg.channelResult).toMatchObject({ outcome: 'already-sent', recorded: true });
    expect(sim.stats.graphql).toBe(calls);
    expect(sim.fulfillments.get(order.id)).toHaveLength(1);
  });

  it('a shipment for another channel is a permanent error naming the channel; nothing is sent', async () => {
    await load();
    const doc = shipmentFor(openOrder().id);
    doc.order.channel = { system: 'amazon', account: 'A2TILLWIRESELLER', id: '111-2223334-5556667' };
    const calls = sim.stats.graphql;
    const r = await run('ful', doc);
    expect(r.ok).toBe(false);
    expect(r.msg.error.message).toMatch(/wrong channel: shipment WH\/OUT\/00012 is for a amazon order \(111-2223334-5556667\); this node writes to shopify$/);
    expect(r.msg.error.code).toBe('value');
    expect(r.msg.error.cause).toEqual({ system: 'shopify', operation: 'fulfillmentCreate', kind: 'value', retryable: false, providerCode: 'WrongChannel' });
    expect(r.msg.channelError).toBeUndefined();
    expect(sim.stats.graphql).toBe(calls);
  });

  it('an order the shop does not have, or a document of another kind, is a clear permanent error', async () => {
    await load();
    const missing = await run('ful', shipmentFor(42));
    expect(missing.ok).toBe(false);
    expect(missing.msg.error.message).toMatch(/order 42 not found in the shop/);
    const wrong = await run('ful', ats('SKU-0001', 1));
    expect(wrong.msg.error.message).toMatch(/takes 'shipment' documents, not 'inventory.ats'/);
    const invalid = await run('ful', { ...shipmentFor(1), lines: [] });
    expect(invalid.msg.error.message).toMatch(/invalid shipment document: lines/);
  });

  it('THROTTLED is answered by waiting for the restore rate, then the fulfilment lands', async () => {
    await load();
    const order = openOrder();
    sim.exhaustCostBucket();
    const r = await run('ful', shipmentFor(order.id));
    expect(r.ok).toBe(true);
    expect(sim.stats.throttled).toBeGreaterThan(0);
    expect(sim.fulfillments.get(order.id)).toHaveLength(1);
    const seen = statuses(helper.getNode('ful'));
    expect(seen).toContainEqual({ fill: 'yellow', shape: 'ring', text: 'throttled: order.fulfillmentOrders' });
    expect(seen.at(-1)).toMatchObject({ fill: 'green', shape: 'dot', text: 'sent 1' });
  });
});

describe('tillwire-shopify-inventory', () => {
  const level = (item: number, location: number, name: string) =>
    sim.inventory.get(`gid://shopify/InventoryItem/${item}|gid://shopify/Location/${location}|${name}`);

  it('sets available from an ATS figure with an idempotency key; the same document again applies nothing', async () => {
    await load();
    const r = await run('inv', ats('SKU-0003', 42));
    expect(r.ok).toBe(true);
    expect(r.msg.channelResult).toMatchObject({
      operation: 'inventorySetQuantities',
      outcome: 'sent',
      sku: 'SKU-0003',
      name: 'available',
      quantity: 42,
      inventoryItemId: 'gid://shopify/InventoryItem/3',
      locationId: 'gid://shopify/Location/1',
      idempotencyKey: expect.stringMatching(/^tw-[0-9a-f]{40}$/),
    });
    expect(level(3, 1, 'available')).toBe(42);
    expect(sim.adjustmentGroups).toHaveLength(1);

    const again = await run('inv', ats('SKU-0003', 42));
    expect(again.msg.channelResult.idempotencyKey).toBe(r.msg.channelResult.idempotencyKey);
    expect(sim.adjustmentGroups).toHaveLength(1);

    // A newer figure is a new business key: it is applied.
    await run('inv', ats('SKU-0003', 40, '2026-11-27T02:05:00Z'));
    expect(level(3, 1, 'available')).toBe(40);
    expect(sim.adjustmentGroups).toHaveLength(2);
  });

  it('with a store, an older figure arriving after a newer one does not overwrite it', async () => {
    await load();
    const first = (await run('invStore', ats('SKU-0004', 30, '2026-11-27T02:05:00Z'))).msg.channelResult;
    expect(first).toMatchObject({ outcome: 'sent', quantity: 30 });
    const late = await run('invStore', ats('SKU-0004', 35, '2026-11-27T02:00:00Z'));
    expect(late.msg.channelResult).toMatchObject({ outcome: 'unchanged', stale: true, newer: '2026-11-27T02:05:00Z' });
    // The record keeps the figure pushed beside its time: drift compares what Shopify shows with it.
    const store = await (helper.getNode('s1') as any).manager.acquire();
    expect(await store.kvGet(stockFigureKey('shopify', first.account, 'tillwire-shopify-inventory', 'SKU-0004', undefined))).toEqual({
      at: '2026-11-27T02:05:00Z',
      quantity: 30,
      sentAt: expect.any(String),
      sku: 'SKU-0004',
    });
    expect(level(4, 1, 'available')).toBe(30);
    expect(sim.adjustmentGroups).toHaveLength(1);
  });

  it('sets on_hand from a position at the mapped location; an unmapped location is named', async () => {
    await load();
    const pos = { ...fixture('inventory-position.json'), sku: 'SKU-0007' };
    const r = await run('inv', pos);
    expect(r.ok).toBe(true);
    expect(level(7, 2, 'on_hand')).toBe(148);
    const bad = await run('inv', { ...pos, locationId: 'LDN-042' });
    expect(bad.ok).toBe(false);
    expect(bad.msg.error.message).toMatch(/position of SKU 'SKU-0007' at location 'LDN-042' refused: that location is not mapped to a shopify location/);
    expect(bad.msg.error.message).toMatch(/To map it, add it to the node's Location map/);
    expect(bad.msg.error.cause).toMatchObject({ kind: 'value', retryable: false, providerCode: 'UnmappedLocation' });
  });

  it("positions of two ERP locations never overwrite each other at the node's one location: only its ERP location's are written", async () => {
    await load();
    const pos = { ...fixture('inventory-position.json'), sku: 'SKU-0008' };
    const wh1 = await run('invErp', { ...pos, locationId: 'WH1', onHand: 3 });
    const wh2 = await run('invErp', { ...pos, locationId: 'WH2', onHand: 8 });
    expect(wh1.ok).toBe(true);
    expect(wh1.msg.channelResult).toMatchObject({ outcome: 'sent', locationId: 'gid://shopify/Location/1', quantity: 3 });
    expect(wh2.ok).toBe(false);
    expect(wh2.msg.error.message).toMatch(
      /position of SKU 'SKU-0008' at location 'WH2' refused: .*location 'gid:\/\/shopify\/Location\/1' takes the positions of 'WH1' only/,
    );
    expect(wh2.msg.error.cause).toMatchObject({ kind: 'value', retryable: false, providerCode: 'UnmappedLocation' });
    expect(level(8, 1, 'on_hand')).toBe(3);

    // A Location with neither a map nor an ERP location takes no position at all (it used to take every one).
    const none = await run('invStore', { ...pos, locationId: 'WH1', onHand: 3 });
    expect(none.msg.error.message).toMatch(/position of SKU 'SKU-0008' at location 'WH1' refused: that location is not mapped/);
    expect(sim.adjustmentGroups).toHaveLength(1);
  });

  it('an unknown SKU is a permanent error naming it; an ATS for another channel is refused', async () => {
    await load();
    const r = await run('inv', ats('TEE-BLK-M', 5));
    expect(r.ok).toBe(false);
    expect(r.msg.error.message).toMatch(/unknown SKU 'TEE-BLK-M': no inventory item with this SKU in shop tillwire-demo.myshopify.com$/);
    expect(r.msg.error.cause).toEqual({
      system: 'shopify',
      operation: 'inventorySetQuantities',
      kind: 'missing-reference',
      retryable: false,
      providerCode: 'UnknownSku',
    });
    expect(sim.adjustmentGroups).toHaveLength(0);

    const other = await run('inv', { ...ats('SKU-0001', 5), channel: { system: 'amazon' } });
    expect(other.msg.error.message).toMatch(/wrong channel: inventory.ats for SKU-0001 is for channel 'amazon'/);
    const otherShop = await run('inv', { ...ats('SKU-0001', 5), channel: { system: 'shopify', account: 'someone-else.myshopify.com' } });
    expect(otherShop.msg.error.message).toMatch(/wrong account/);
    expect(sim.adjustmentGroups).toHaveLength(0);
  });

  it('THROTTLED is answered by waiting for the restore rate, then the quantity lands', async () => {
    await load();
    sim.exhaustCostBucket();
    const r = await run('inv', ats('SKU-0010', 9));
    expect(r.ok).toBe(true);
    expect(sim.stats.throttled).toBeGreaterThan(0);
    expect(level(10, 1, 'available')).toBe(9);
    expect(statuses(helper.getNode('inv'))).toContainEqual({ fill: 'yellow', shape: 'ring', text: 'throttled: inventoryItems' });
  });
});
