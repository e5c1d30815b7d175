/** shipOnce keeps a shipment to one send although bol has no idempotency key. */
import { createStore } from '../../nodes/runtime/create-store';
import type { Store } from '../../nodes/runtime/store';
import { shipOnce } from '../../nodes/bol/ship';
import { BolSimulator } from '../../simulators/bol/simulator';
import type { Shipment } from '../../nodes/model/types.generated';
import { clientFor, startSimulator } from './support';

let sim: BolSimulator;
let store: Store;
beforeAll(async () => {
  sim = await startSimulator({ orders: 20 });
});
afterAll(() => sim.stop());
beforeEach(async () => {
  sim.reset();
  store = createStore({ backend: 'memory' });
  await store.open();
});
afterEach(() => store.close());

function shipmentFor(orderId: string, shipmentId: string): Shipment {
  const order = sim.order(orderId)!;
  return {
    kind: 'shipment',
    shipmentId,
    order: { id: `bol:r:${orderId}`, channel: { system: 'bol', account: 'r', id: orderId } },
    shippedAt: '2026-11-27T09:00:00Z',
    carrier: 'DHL',
    trackingNumber: 'JVGL0001',
    lines: order.orderItems.map((it: any) => ({ sku: it.offer.reference, quantity: it.quantity, lineId: it.orderItemId })),
  };
}
const openOrders = () => sim.orderIds().filter((id) => sim.order(id)!.orderItems.every((it: any) => it.quantityShipped === 0 && it.quantityCancelled === 0));

it('an attempt that ended without an answer: the order is read first, and a shipment bol already has is not sent again', async () => {
  const client = clientFor(sim);
  const [id] = openOrders();
  // The first attempt reached bol, but its answer was lost: bol shipped, the store says 'sending'.
  const first = await client.createShipment({
    orderItems: sim.order(id)!.orderItems.map((it: any) => ({ orderItemId: it.orderItemId, quantity: it.quantity })),
  });
  expect((await client.getProcessStatus(first.processStatusId)).status).toBe('SUCCESS');
  await store.kvPut('bol-ship:r:S-1', { state: 'sending' });
  const result = await shipOnce({ client, store, account: 'r', shipment: shipmentFor(id, 'S-1') });
  expect(result).toEqual({ orderId: id, status: 'ALREADY_SHIPPED', repeat: true });
  expect(sim.stats['shipments:create'].requests).toBe(1);
});

it('an attempt that never reached bol: the order is read, the items are still open, the shipment is sent', async () => {
  const client = clientFor(sim);
  const [, id] = openOrders();
  await store.kvPut('bol-ship:r:S-2', { state: 'sending' });
  const result = await shipOnce({ client, store, account: 'r', shipment: shipmentFor(id, 'S-2') });
  expect(result).toMatchObject({ orderId: id, status: 'SUCCESS', repeat: false });
  expect(await store.kvGet('bol-ship:r:S-2')).toMatchObject({ state: 'sent', processStatusId: result.processStatusId, status: 'SUCCESS' });
});

it('two senders of one shipment at once: one sends, the other is told it is in progress or gets the recorded outcome', async () => {
  const client = clientFor(sim);
  const [, , id] = openOrders();
  const results = await Promise.allSettled([
    shipOnce({ client, store, account: 'r', shipment: shipmentFor(id, 'S-3') }),
    shipOnce({ client, store, account: 'r', shipment: shipmentFor(id, 'S-3') }),
  ]);
  expect(sim.stats['shipments:create'].requests).toBe(1);
  const fulfilled = results.filter((r) => r.status === 'fulfilled');
  expect(fulfilled.length).toBeGreaterThanOrEqual(1);
  for (const r of results) if (r.status === 'rejected') expect(String(r.reason.message)).toMatch(/being sent by another node/);
});

it('a copy that arrives while the first send is in progress is told so (retryable) and sends nothing', async () => {
  const client = clientFor(sim);
  const [, , , id] = openOrders();
  await store.kvPut('bol-ship:r:S-5', { state: 'sending', claimedAt: Date.now() });
  await expect(shipOnce({ client, store, account: 'r', shipment: shipmentFor(id, 'S-5') })).rejects.toMatchObject({
    retryable: true,
    message: expect.stringMatching(/being sent by another node/),
  });
  expect(sim.stats['shipments:create']?.requests ?? 0).toBe(0);
});

it('lines known only by SKU (as an ERP sends them) are matched to the order items; sending the shipment again sends nothing', async () => {
  const client = clientFor(sim);
  const [, , , , id] = openOrders();
  const bySku = shipmentFor(id, 'S-6');
  bySku.lines = bySku.lines.map(({ sku, quantity }) => ({ sku, quantity }));
  const first = await shipOnce({ client, store, account: 'r', shipment: bySku });
  expect(first).toMatchObject({ orderId: id, status: 'SUCCESS', repeat: false });
  expect(sim.order(id)!.orderItems.every((it: any) => it.quantityShipped === it.quantity)).toBe(true);
  const again = await shipOnce({ client, store, account: 'r', shipment: bySku });
  expect(again).toMatchObject({ orderId: id, status: 'SUCCESS', repeat: true });
  expect(sim.stats['shipments:create'].requests).toBe(1);
});

it('a shipment for another channel is refused', async () => {
  const client = clientFor(sim);
  const s = shipmentFor(sim.orderIds()[0], 'S-4');
  s.order.channel = { system: 'amazon', id: 'x' };
  await expect(shipOnce({ client, store, account: 'r', shipment: s })).rejects.toThrow(/is for amazon, not bol/);
});
