import storeNode from '../../nodes/core/store-config';
import ackNode from '../../nodes/core/ack';
import configNode from '../../nodes/bol/bol-config';
import ordersNode from '../../nodes/bol/bol-orders';
import shipNode from '../../nodes/bol/bol-ship';
import { BolSimulator } from '../../simulators/bol/simulator';
import { validateDocument } from '../../nodes/model/validate';
import { helper, startServer, stopAll, collect, until } from '../support/node-red';
import { ManualClock, startSimulator } from './support';

const nodes = [storeNode, ackNode, configNode, ordersNode, shipNode];
const clock = new ManualClock(Date.now());
let sim: BolSimulator;
beforeAll(async () => {
  sim = await startSimulator({ orders: 30, now: clock.now, epoch: new Date(Date.now() - 3_600_000).toISOString(), orderSpacingMs: 60_000 });
});
afterAll(() => sim.stop());
beforeEach(async () => {
  sim.reset();
  await startServer();
});
afterEach(stopAll);

function flow(config: Record<string, unknown> = {}) {
  return [
    { id: 'f1', type: 'tab', label: 'bol' },
    { id: 's1', type: 'tillwire-store', backend: 'memory' },
    { id: 'c1', type: 'tillwire-bol-config', endpoint: sim.url, tokenUrl: sim.tokenUrl, retailerId: '1234567', timeout: '5', attempts: '3', ...config },
    {
      id: 'b1',
      type: 'tillwire-bol-orders',
      z: 'f1',
      bol: 'c1',
      store: 's1',
      interval: '3600',
      overlap: '60',
      lookback: '48',
      fulfilment: 'ALL',
      wires: [['out', 'ack']],
    },
    { id: 'ack', type: 'tillwire-ack', z: 'f1', store: 's1', wires: [] },
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'k1', type: 'catch', z: 'f1', scope: ['b1'], wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
  ];
}
const credentials = () => ({ c1: { clientId: sim.clientId, clientSecret: sim.clientSecret } });
const statuses = (node: any) =>
  node.status
    .getCalls()
    .filter((c: any) => c.thisValue === node)
    .map((c: any) => c.args[0]);

describe('tillwire-bol-orders', () => {
  it('emits every order once as a canonical Order with envelope and inbox ref; a change is emitted once more', async () => {
    const ids = sim.orderIds();
    await helper.load(nodes, flow(), credentials());
    const out = helper.getNode('out');
    const got: any[] = [];
    out.on('input', (m: any) => got.push(m));
    await until(() => got.length === ids.length);
    const b1 = helper.getNode('b1');
    await until(() => statuses(b1).some((s: any) => s.text === `${ids.length} orders`));
    const msg = got[0];
    expect(validateDocument('order', msg.payload)).toEqual({ valid: true, errors: [] });
    expect(msg.payload.channel).toEqual({ system: 'bol', account: '1234567', id: expect.any(String) });
    expect(msg.tillwire).toMatchObject({
      schemaVersion: 1,
      eventId: `order:${msg.payload.channel.id}:${msg.payload.updatedAt}`,
      idempotencyKey: `order:bol:1234567:${msg.payload.channel.id}`,
      source: { system: 'bol', account: '1234567', channel: 'bol.com' },
      attempts: 0,
    });
    expect(msg.tillwireInbox).toEqual({ source: 'bol-orders:b1', id: expect.any(String) });
    expect(new Set(got.map((m) => m.payload.channel.id))).toEqual(new Set(ids));
    for (const m of got) expect(m.payload.totals.grandTotal).toEqual(sim.total(m.payload.channel.id));

    // The customer cancels one order: the next poll emits exactly that new state.
    const cancelled = ids.find((id) => sim.order(id)!.orderItems.every((it: any) => it.quantityShipped === 0 && it.quantityCancelled === 0))!;
    clock.advance(1000);
    sim.cancel(cancelled);
    const more = collect(out, 1);
    b1.receive({ payload: 'poll' });
    const [change] = await more;
    expect(change.topic).toBe('order.cancelled');
    expect(change.payload.channel.id).toBe(cancelled);
    expect(change.payload.status).toBe('cancelled');
    // That poll has ended (its badge shows the count, and the microtasks that finish it have run):
    // a trigger while it runs would share it.
    await until(() => statuses(b1).at(-1)?.text === `${ids.length + 1} orders`);
    await new Promise((r) => setImmediate(r));
    // A further poll (overlap re-read) emits nothing new and fetches no order again.
    const before = { emitted: got.length, details: sim.stats['orders:get'].requests, lists: sim.stats['orders:list'].requests };
    const shown = statuses(b1).length;
    b1.receive({ payload: 'poll' });
    await until(() => sim.stats['orders:list'].requests > before.lists);
    // It ended: the badge went to "polling" and back to the count.
    await until(() => statuses(b1).length > shown + 1 && statuses(b1).at(-1)?.text === `${ids.length + 1} orders`);
    expect(got.length).toBe(before.emitted);
    expect(sim.stats['orders:get'].requests).toBe(before.details);
  });

  it('an order whose price cannot be read exactly goes to the dead-letter store, the rest pass', async () => {
    const bad = sim.orderIds()[0];
    sim.badPrices.add(bad);
    const ids = sim.orderIds();
    await helper.load(nodes, flow(), credentials());
    const got: any[] = [];
    helper.getNode('out').on('input', (m: any) => got.push(m));
    const store = await (helper.getNode('s1') as any).manager.acquire();
    await until(async () => (await store.listDeadLetters({})).length === 1);
    await until(() => got.length === ids.length - 1);
    const [entry] = await store.listDeadLetters({});
    expect(entry.error.message).toMatch(new RegExp(`order ${bad} item \\d+ unitPrice: .* has 3 decimals but EUR allows 2`));
    expect(entry.nodeId).toBe('b1');
    expect(entry.message.payload.orderId).toBe(bad);
    await until(() => statuses(helper.getNode('b1')).some((s: any) => s.text === `${ids.length - 1} orders · 1 failed`));
  });

  it('refused client credentials reach Catch as a permanent error; red ring', async () => {
    await helper.load(nodes, flow(), { c1: { clientId: sim.clientId, clientSecret: 'revoked' } });
    const [err] = await collect(helper.getNode('caught'), 1);
    expect(err.error.message).toMatch(/bol token: HTTP 401: invalid_client/);
    await until(() => statuses(helper.getNode('b1')).some((s: any) => s.fill === 'red'));
  });

  it('missing credentials: red ring naming them', async () => {
    await helper.load(nodes, flow(), { c1: {} });
    expect(statuses(helper.getNode('b1')).at(-1)).toMatchObject({ fill: 'red', shape: 'ring', text: expect.stringMatching(/client id and client secret/) });
  });
});

describe('tillwire-bol-ship', () => {
  function shipFlow(transporters = '') {
    return [
      { id: 'f1', type: 'tab', label: 'bol ship' },
      { id: 's1', type: 'tillwire-store', backend: 'memory' },
      { id: 'c1', type: 'tillwire-bol-config', endpoint: sim.url, tokenUrl: sim.tokenUrl, retailerId: '1234567', timeout: '5', attempts: '3' },
      { id: 'sh', type: 'tillwire-bol-ship', z: 'f1', bol: 'c1', store: 's1', transporters, wires: [['out']] },
      { id: 'out', type: 'helper', z: 'f1' },
      { id: 'k1', type: 'catch', z: 'f1', scope: ['sh'], wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'f1' },
    ];
  }
  function shipmentFor(orderId: string, shipmentId = 'WH/OUT/00012') {
    const order = sim.order(orderId)!;
    return {
      kind: 'shipment',
      shipmentId,
      order: { id: `bol:1234567:${orderId}`, channel: { system: 'bol', account: '1234567', id: orderId } },
      shippedAt: '2026-11-27T09:00:00Z',
      carrier: 'PostNL',
      trackingNumber: '3SBOL0987654321',
      lines: order.orderItems.map((it: any) => ({ sku: it.offer.reference, quantity: it.quantity, lineId: it.orderItemId })),
    };
  }
  const openOrder = () => sim.orderIds().find((id) => sim.order(id)!.orderItems.every((it: any) => it.quantityShipped === 0 && it.quantityCancelled === 0))!;

  it('ships a canonical shipment once: SUCCESS, then the same shipment again is a repeat without a second POST', async () => {
    await helper.load(nodes, shipFlow(), credentials());
    const id = openOrder();
    const sh = helper.getNode('sh');
    const out = helper.getNode('out');
    const first = collect(out, 1);
    sh.receive({ payload: shipmentFor(id) });
    const [msg] = await first;
    expect(msg.bol).toEqual({ orderId: id, processStatusId: expect.any(String), status: 'SUCCESS', repeat: false });
    expect(sim.order(id)!.orderItems.every((it: any) => it.quantityShipped === it.quantity)).toBe(true);
    expect(Object.values(sim.shipments(id))).toEqual(['3SBOL0987654321']);
    const second = collect(out, 1);
    sh.receive({ payload: shipmentFor(id) });
    const [again] = await second;
    expect(again.bol).toMatchObject({ orderId: id, status: 'SUCCESS', repeat: true, processStatusId: msg.bol.processStatusId });
    expect(sim.stats['shipments:create'].requests).toBe(1);
    await until(() => statuses(sh).at(-1)?.text === '1 sent · 1 repeats');
  });

  it('an invalid document, an unknown carrier and a shipment bol refuses reach Catch', async () => {
    await helper.load(nodes, shipFlow('{"Pigeon post": "OTHER"}'), credentials());
    const id = openOrder();
    const sh = helper.getNode('sh');
    const caught = collect(helper.getNode('caught'), 3);
    sh.receive({ payload: { kind: 'shipment', shipmentId: 'x' } });
    sh.receive({ payload: { ...shipmentFor(id, 'S-2'), carrier: 'Carrier pigeon' } });
    // Twice the ordered quantity: bol accepts the request (202) and the process status says FAILURE.
    const over = shipmentFor(id, 'S-3');
    over.lines = over.lines.map((l: any) => ({ ...l, quantity: l.quantity * 2 }));
    sh.receive({ payload: over });
    const errors = (await caught).map((m) => String(m.error.message));
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/bol refused shipment \(process status \d+\): Order item \d+ has no \d+ open quantity/),
        expect.stringMatching(/no bol transporter code for carrier "Carrier pigeon"/),
        expect.stringMatching(/not a valid canonical shipment: order is required/),
      ]),
    );
    expect(sim.stats['shipments:create'].requests).toBe(1);
  });
});
