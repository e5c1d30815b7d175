import storeNode from '../../nodes/core/store-config';
import configNode from '../../nodes/amazon/amazon-config';
import shipNode from '../../nodes/amazon/amazon-ship';
import inventoryNode from '../../nodes/amazon/amazon-inventory';
import { packageReferenceFor } from '../../nodes/amazon/amazon-write';
import { AmazonSimulator } from '../../simulators/amazon/simulator';
import { helper, startServer, stopAll, until } from '../support/node-red';
import { startSimulator } from './support';

jest.setTimeout(60_000);
const US = 'ATVPDKIKX0DER';
const UK = 'A1F83G8C2ARO7P';
const statuses = (node: any) =>
  node.status
    .getCalls()
    .filter((c: any) => c.thisValue === node)
    .map((c: any) => c.args[0]);

let sim: AmazonSimulator;
beforeAll(async () => {
  sim = await startSimulator({ orders: 40, pendingEvery: 0 });
});
afterAll(() => sim.stop());
beforeEach(async () => {
  sim.reset();
  await startServer();
});
afterEach(stopAll);

function flow(config: Record<string, unknown> = {}) {
  return [
    { id: 'f1', type: 'tab', label: 'amazon write' },
    { id: 's1', type: 'tillwire-store', backend: 'memory' },
    {
      id: 'c1',
      type: 'tillwire-amazon-config',
      region: 'custom',
      endpoint: sim.url,
      tokenUrl: sim.tokenUrl,
      sellerId: sim.sellerId,
      marketplaceIds: `${US}, ${UK}, A1PA6795UKMFR9, A1VC38T7YXB528`,
      timeout: '5',
      attempts: '4',
      ...config,
    },
    { id: 'ship', type: 'tillwire-amazon-ship', z: 'f1', amazon: 'c1', wires: [['out']] },
    { id: 'inv', type: 'tillwire-amazon-inventory', z: 'f1', amazon: 'c1', marketplaceIds: `${US} ${UK}`, wires: [['out']] },
    // The same, listing the stock of one location: it takes that location's positions.
    { id: 'invAt', type: 'tillwire-amazon-inventory', z: 'f1', amazon: 'c1', marketplaceIds: US, location: 'WH-MAN-01', wires: [['out']] },
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'k1', type: 'catch', z: 'f1', scope: ['ship', 'inv', 'invAt'], wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
  ];
}

async function load(config: Record<string, unknown> = {}) {
  await helper.load([storeNode, configNode, shipNode, inventoryNode], flow(config), {
    c1: { clientId: sim.clientId, clientSecret: sim.clientSecret, refreshToken: sim.refreshToken },
  });
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

/** An Unshipped order with at least two items. */
function unshippedOrder(skip = 0): string {
  const ids = sim.orderIds().filter((id) => sim.order(id)!.OrderStatus === 'Unshipped' && sim.items(id).length >= 2);
  if (ids.length <= skip) throw new Error('no unshipped order');
  return ids[skip];
}

/** A shipment of every item of an order: the first line by Amazon order item id, the rest by SKU. */
function shipmentFor(orderId: string, shipmentId = 'WH/OUT/00012') {
  const items = sim.items(orderId);
  return {
    kind: 'shipment',
    shipmentId,
    order: { id: `amazon:${sim.sellerId}:${orderId}`, channel: { system: 'amazon', account: sim.sellerId, id: orderId } },
    shippedAt: '2026-11-26T09:12:44Z',
    carrier: 'UPS',
    service: 'Standard',
    trackingNumber: '1Z999AA10123456784',
    lines: items.map((it, i) =>
      i === 0 ? { sku: it.SellerSKU, quantity: it.QuantityOrdered, lineId: it.OrderItemId } : { sku: it.SellerSKU, quantity: it.QuantityOrdered },
    ),
    source: { system: 'odoo', type: 'stock.picking', id: shipmentId },
  };
}

const ats = (sku: string, available: number, computedAt = '2026-11-27T02:00:00Z') => ({
  kind: 'inventory.ats',
  sku,
  channel: { system: 'amazon', account: sim.sellerId },
  available,
  computedAt,
});

describe('tillwire-amazon-ship', () => {
  it.each([
    ['2026-01-01', {}, 'getOrderV2026', 'getOrderItems'],
    ['v0', { apiVersion: 'v0' }, 'getOrderItems', 'getOrderV2026'],
  ])("reads the order with the account's Orders API version (%s): lines by SKU matched, shipment confirmed", async (_version, config, used, unused) => {
    await load(config);
    const id = unshippedOrder();
    const r = await run('ship', shipmentFor(id));
    expect(r.ok).toBe(true);
    expect(r.msg.channelResult).toMatchObject({ outcome: 'sent', marketplaceId: sim.order(id)!.MarketplaceId });
    expect(sim.stats[used].ok).toBeGreaterThan(0);
    expect(sim.stats[unused]).toBeUndefined();
    expect(sim.items(id).every((it) => it.QuantityShipped === it.QuantityOrdered)).toBe(true);
  });

  it('confirms the shipment with its order items; the same shipment again changes nothing', async () => {
    await load();
    const id = unshippedOrder();
    const doc = shipmentFor(id);
    const r = await run('ship', doc);
    expect(r.ok).toBe(true);
    const pkg = packageReferenceFor('shipment:odoo:WH/OUT/00012');
    expect(pkg).toMatch(/^[1-9]\d*$/);
    expect(r.msg.channelResult).toMatchObject({
      system: 'amazon',
      account: sim.sellerId,
      operation: 'confirmShipment',
      outcome: 'sent',
      orderId: id,
      packageReferenceId: pkg,
    });
    expect(sim.order(id)!.OrderStatus).toBe('Shipped');
    expect(sim.items(id).every((it) => it.QuantityShipped === it.QuantityOrdered)).toBe(true);
    expect(sim.packages(id)).toEqual({ [pkg]: '1Z999AA10123456784' });
    const updated = sim.order(id)!.LastUpdateDate;

    const again = await run('ship', doc);
    expect(again.ok).toBe(true);
    expect(again.msg.channelResult.outcome).toBe('already-sent');
    expect(sim.order(id)!.LastUpdateDate).toBe(updated);
    expect(sim.packages(id)).toEqual({ [pkg]: '1Z999AA10123456784' });
  });

  it('Amazon refusing a second confirmation of a shipped order ("already shipped") counts as done', async () => {
    await load();
    const id = unshippedOrder();
    expect((await run('ship', shipmentFor(id, 'WH/OUT/1'))).msg.channelResult.outcome).toBe('sent');
    const before = sim.stats.confirmShipment.requests;
    const other = await run('ship', shipmentFor(id, 'WH/OUT/2'));
    expect(other.ok).toBe(true);
    expect(other.msg.channelResult).toMatchObject({ outcome: 'already-sent', reason: 'Amazon says the order is already shipped' });
    expect(sim.stats.confirmShipment.requests).toBe(before + 1);
    expect(Object.keys(sim.packages(id))).toHaveLength(1);
  });

  it('a SKU the order does not have, a missing order and another channel are permanent errors naming the problem', async () => {
    await load();
    const id = unshippedOrder();
    const doc = shipmentFor(id);
    doc.lines.push({ sku: 'TEE-BLK-M', quantity: 1 });
    const unknown = await run('ship', doc);
    expect(unknown.ok).toBe(false);
    expect(unknown.msg.error.message).toMatch(new RegExp(`unknown SKU 'TEE-BLK-M': Amazon order ${id} has no item with this SellerSKU`));
    expect(unknown.msg.error.cause).toEqual({
      system: 'amazon',
      operation: 'confirmShipment',
      kind: 'missing-reference',
      retryable: false,
      providerCode: 'UnknownSku',
    });
    expect(sim.order(id)!.OrderStatus).toBe('Unshipped');

    const missing = await run(
      'ship',
      shipmentFor(id, 'X').order.channel.id ? { ...shipmentFor(id), order: { id: 'x', channel: { system: 'amazon', id: '999-0000000-0000000' } } } : {},
    );
    expect(missing.msg.error.message).toMatch(/order 999-0000000-0000000 not found on Amazon/);
    expect(missing.msg.error.cause).toMatchObject({ kind: 'missing-reference', retryable: false, providerCode: 'NotFound' });

    const shopify = { ...shipmentFor(id), order: { id: 'order:shopify:x:1', channel: { system: 'shopify', account: 'x.myshopify.com', id: '1' } } };
    const wrong = await run('ship', shopify);
    expect(wrong.msg.error.message).toMatch(/wrong channel: shipment WH\/OUT\/00012 is for a shopify order \(1\); this node writes to amazon/);
    expect(wrong.msg.error.cause).toMatchObject({ kind: 'value', retryable: false, providerCode: 'WrongChannel' });
    expect(sim.stats.confirmShipment?.requests ?? 0).toBe(0);
  });

  it('a 429 (QuotaExceeded, no Retry-After) is waited out on the token bucket, then the confirmation lands', async () => {
    await load();
    const id = unshippedOrder();
    sim.exhaust('confirmShipment');
    const r = await run('ship', shipmentFor(id));
    expect(r.ok).toBe(true);
    expect(sim.stats.confirmShipment.throttled).toBeGreaterThan(0);
    expect(sim.order(id)!.OrderStatus).toBe('Shipped');
    const seen = statuses(helper.getNode('ship'));
    expect(seen).toContainEqual({ fill: 'yellow', shape: 'ring', text: 'throttled: confirmShipment' });
    expect(seen.at(-1)).toMatchObject({ fill: 'green', shape: 'dot', text: 'sent 1' });
  });
});

describe('tillwire-amazon-inventory', () => {
  it('patches fulfillment_availability per marketplace; the same figure again is not patched', async () => {
    await load();
    const r = await run('inv', ats('SKU-0005', 17));
    expect(r.ok).toBe(true);
    expect(r.msg.channelResult).toMatchObject({
      operation: 'patchListingsItem',
      outcome: 'sent',
      sku: 'SKU-0005',
      quantity: 17,
      patched: [US, UK],
      productType: 'PRODUCT',
    });
    expect(sim.listing('SKU-0005', US)).toBe(17);
    expect(sim.listing('SKU-0005', UK)).toBe(17);
    expect(sim.listing('SKU-0005', 'A1PA6795UKMFR9')).toBeUndefined();
    expect(sim.stats.patchListingsItem.ok).toBe(1);

    const again = await run('inv', ats('SKU-0005', 17, '2026-11-27T02:10:00Z'));
    expect(again.msg.channelResult.outcome).toBe('unchanged');
    expect(sim.stats.patchListingsItem.requests).toBe(1);
  });

  it("a listing holds one quantity: a position is taken only for the node's Location (on hand less reserved and safety stock); others are refused naming the problem", async () => {
    await load();
    const pos = {
      kind: 'inventory.position',
      sku: 'SKU-0009',
      locationId: 'WH-MAN-01',
      onHand: 148,
      reserved: 12,
      inTransit: 40,
      safetyStock: 5,
      asOf: '2026-11-27T02:00:00Z',
    };
    const r = await run('invAt', pos);
    expect(r.msg.channelResult).toMatchObject({ outcome: 'sent', quantity: 131 });
    expect(sim.listing('SKU-0009', US)).toBe(131);
    // Another location's stock of the same SKU would replace the listing's quantity: refused, nothing patched.
    const other = await run('invAt', { ...pos, locationId: 'WH-LDN-02', onHand: 8, reserved: 0, safetyStock: 0 });
    expect(other.ok).toBe(false);
    expect(other.msg.error.message).toMatch(
      /position of SKU 'SKU-0009' at location 'WH-LDN-02' refused: this node lists the stock of location 'WH-MAN-01' only/,
    );
    expect(other.msg.error.cause).toMatchObject({ kind: 'value', retryable: false, providerCode: 'OtherLocation' });
    // A node without a Location takes no position at all.
    const none = await run('inv', pos);
    expect(none.ok).toBe(false);
    expect(none.msg.error.message).toMatch(/Amazon inventory keeps one figure per listing.*Send available-to-sell figures \(inventory.ats/);
    expect(none.msg.error.cause).toMatchObject({ kind: 'value', retryable: false, providerCode: 'PositionWithoutLocation' });
    expect(sim.stats.patchListingsItem.requests).toBe(1);
    expect(sim.listing('SKU-0009', US)).toBe(131);
  });

  it('an unknown SKU is a permanent error naming it; an ATS for another channel is refused; nothing patched', async () => {
    await load();
    const r = await run('inv', ats('TEE-BLK-M', 3));
    expect(r.ok).toBe(false);
    expect(r.msg.error.message).toMatch(new RegExp(`unknown SKU 'TEE-BLK-M': seller ${sim.sellerId} has no listing for it in marketplace ${US}$`));
    expect(r.msg.error.cause).toEqual({
      system: 'amazon',
      operation: 'patchListingsItem',
      kind: 'missing-reference',
      retryable: false,
      providerCode: 'UnknownSku',
    });
    const other = await run('inv', { ...ats('SKU-0001', 3), channel: { system: 'shopify' } });
    expect(other.msg.error.message).toMatch(/wrong channel: inventory.ats for SKU-0001 is for channel 'shopify'/);
    expect(sim.stats.patchListingsItem?.requests ?? 0).toBe(0);
  });

  it('a 429 on patchListingsItem is waited out on its token bucket, then the quantity lands', async () => {
    await load();
    sim.exhaust('patchListingsItem');
    const r = await run('inv', ats('SKU-0011', 4));
    expect(r.ok).toBe(true);
    expect(sim.stats.patchListingsItem.throttled).toBeGreaterThan(0);
    expect(sim.listing('SKU-0011', US)).toBe(4);
    expect(statuses(helper.getNode('inv'))).toContainEqual({ fill: 'yellow', shape: 'ring', text: 'throttled: patchListingsItem' });
  });

  it('twelve SKUs at once are paced by the account token buckets: every quantity lands', async () => {
    await load();
    const skus = Array.from({ length: 12 }, (_, i) => `SKU-${String(100 + i).padStart(4, '0')}`);
    const got: any[] = [];
    const errors: any[] = [];
    helper.getNode('out').on('input', (m: any) => got.push(m));
    helper.getNode('caught').on('input', (m: any) => errors.push(m));
    const inv = helper.getNode('inv');
    skus.forEach((sku, i) => inv.receive({ payload: ats(sku, i + 1) }));
    await until(() => got.length + errors.length === skus.length);
    expect(errors).toEqual([]);
    expect(got.map((m) => m.channelResult.outcome)).toEqual(skus.map(() => 'sent'));
    skus.forEach((sku, i) => expect(sim.listing(sku, UK)).toBe(i + 1));
    expect(sim.stats.patchListingsItem.ok).toBe(12);
    // Paced below Amazon's buckets (getListingsItem 5/s burst 10, patchListingsItem 5/s burst 5).
    expect(sim.stats.getListingsItem.throttled + sim.stats.patchListingsItem.throttled).toBe(0);
  });
});
