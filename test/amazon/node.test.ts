import storeNode from '../../nodes/core/store-config';
import ackNode from '../../nodes/core/ack';
import configNode from '../../nodes/amazon/amazon-config';
import ordersNode from '../../nodes/amazon/amazon-orders';
import { AmazonSimulator } from '../../simulators/amazon/simulator';
import { validateDocument } from '../../nodes/model/validate';
import { helper, startServer, stopAll, collect, until } from '../support/node-red';
import { ManualClock, startSimulator } from './support';

const nodes = [storeNode, ackNode, configNode, ordersNode];
const clock = new ManualClock(Date.now());
let sim: AmazonSimulator;
beforeAll(async () => {
  sim = await startSimulator({ orders: 30, pendingEvery: 10, now: clock.now, epoch: new Date(Date.now() - 86_400_000).toISOString() });
});
afterAll(() => sim.stop());
beforeEach(async () => {
  sim.reset();
  await startServer();
});
afterEach(stopAll);

function flow(config: Record<string, unknown> = {}) {
  return [
    { id: 'f1', type: 'tab', label: 'amazon' },
    { id: 's1', type: 'tillwire-store', backend: 'memory' },
    {
      id: 'c1',
      type: 'tillwire-amazon-config',
      region: 'custom',
      endpoint: sim.url,
      tokenUrl: sim.tokenUrl,
      sellerId: sim.sellerId,
      marketplaceIds: 'ATVPDKIKX0DER, A1F83G8C2ARO7P, A1PA6795UKMFR9, A1VC38T7YXB528',
      timeout: '5',
      attempts: '3',
      ...config,
    },
    { id: 'a1', type: 'tillwire-amazon-orders', z: 'f1', amazon: 'c1', store: 's1', interval: '3600', overlap: '5', lookback: '48', wires: [['out', 'ack']] },
    { id: 'ack', type: 'tillwire-ack', z: 'f1', store: 's1', wires: [] },
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'k1', type: 'catch', z: 'f1', scope: ['a1'], wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
  ];
}
const credentials = () => ({ c1: { clientId: sim.clientId, clientSecret: sim.clientSecret, refreshToken: sim.refreshToken } });
const statuses = (node: any) =>
  node.status
    .getCalls()
    .filter((c: any) => c.thisValue === node)
    .map((c: any) => c.args[0]);

// The account's Orders API version: 2026-01-01 (the default, no setting) and v0 (until 2027-03-27).
describe.each([
  { version: '2026-01-01', config: {}, listOp: 'searchOrders', orderId: (p: any) => p.order.orderId },
  { version: 'v0', config: { apiVersion: 'v0' }, listOp: 'getOrders', orderId: (p: any) => p.order.AmazonOrderId },
])('tillwire-amazon-orders on Orders API $version', ({ config, listOp, orderId }) => {
  it('emits every priced order once as a canonical Order with envelope and inbox ref; Pending held until priced', async () => {
    const priced = sim.orderIds().filter((id) => sim.order(id)!.OrderStatus !== 'Pending');
    await helper.load(nodes, flow(config), credentials());
    const out = helper.getNode('out');
    const first: any[] = [];
    out.on('input', (m: any) => first.push(m));
    await until(() => first.length === priced.length);
    const a1 = helper.getNode('a1');
    await until(() => statuses(a1).some((s: any) => s.text === `${priced.length} orders · 3 held`));
    const msg = first[0];
    expect(validateDocument('order', msg.payload).valid).toBe(true);
    expect(msg.payload.channel).toEqual({ system: 'amazon', account: sim.sellerId, id: expect.any(String) });
    expect(msg.tillwire).toMatchObject({
      schemaVersion: 1,
      eventId: `order:${msg.payload.channel.id}:${msg.payload.updatedAt}`,
      idempotencyKey: `order:amazon:${sim.sellerId}:${msg.payload.channel.id}`,
      source: { system: 'amazon', account: sim.sellerId, channel: expect.any(String) },
      attempts: 0,
    });
    expect(msg.tillwireInbox).toEqual({ source: 'amazon-orders:a1', id: expect.any(String) });
    expect(new Set(first.map((m) => m.payload.channel.id))).toEqual(new Set(priced));

    // Amazon prices the Pending orders; the next poll emits exactly those.
    const released = sim.releasePending();
    clock.advance(180_000);
    const more = collect(out, released.length);
    a1.receive({ payload: 'poll' });
    expect((await more).map((m) => m.payload.channel.id).sort()).toEqual(released.sort());
    // That poll has ended (its badge shows the count, and the microtasks that finish it have run):
    // a trigger while it runs would share it.
    await until(() => statuses(a1).at(-1)?.text === `${priced.length + released.length} orders · 0 held`);
    await new Promise((r) => setImmediate(r));
    // A further poll (overlap re-read) emits nothing new.
    const before = first.length;
    const shown = statuses(a1).length;
    a1.receive({ payload: 'poll' });
    await until(() => sim.stats[listOp]?.requests >= 3);
    // It ended: the badge went to "polling" and back to the count.
    await until(() => statuses(a1).length > shown + 1 && statuses(a1).at(-1)?.text === `${priced.length + released.length} orders · 0 held`);
    expect(first.length).toBe(before);
  });

  it('an order whose items do not add up to OrderTotal goes to the dead-letter store, the rest pass', async () => {
    const bad = sim.orderIds()[0];
    sim.wrongTotals.add(bad);
    const priced = sim.orderIds().filter((id) => sim.order(id)!.OrderStatus !== 'Pending');
    await helper.load(nodes, flow(config), credentials());
    const got: any[] = [];
    helper.getNode('out').on('input', (m: any) => got.push(m));
    const store = await (helper.getNode('s1') as any).manager.acquire();
    await until(async () => (await store.listDeadLetters({})).length === 1, 10_000);
    await until(() => got.length === priced.length - 1);
    const entries = await store.listDeadLetters({});
    expect(entries[0].error.message).toMatch(new RegExp(`order ${bad}: the items add up to .* OrderTotal`));
    expect(entries[0].nodeId).toBe('a1');
    expect(orderId(entries[0].message.payload)).toBe(bad);
  });
});

describe('tillwire-amazon-orders', () => {
  it('a refused refresh token reaches Catch as a permanent error; red ring', async () => {
    await helper.load(nodes, flow(), { c1: { clientId: sim.clientId, clientSecret: sim.clientSecret, refreshToken: 'revoked' } });
    const caught = collect(helper.getNode('caught'), 1);
    const [err] = await caught;
    expect(err.error.message).toMatch(/amazon lwa-token: HTTP 400: invalid_grant/);
    await until(() => statuses(helper.getNode('a1')).some((s: any) => s.fill === 'red'));
  });

  it('missing credentials: red ring naming them', async () => {
    await helper.load(nodes, flow(), { c1: {} });
    expect(statuses(helper.getNode('a1')).at(-1)).toMatchObject({ fill: 'red', shape: 'ring', text: expect.stringMatching(/LWA client id/) });
  });

  it('an Orders API version Tillwire does not speak: red ring naming it', async () => {
    await helper.load(nodes, flow({ apiVersion: '2024-01-01' }), credentials());
    expect(statuses(helper.getNode('a1')).at(-1)).toMatchObject({
      fill: 'red',
      shape: 'ring',
      text: expect.stringMatching(/unknown Orders API version "2024-01-01"/),
    });
  });

  it("a marketplace id not in Amazon's table: red ring naming it", async () => {
    await helper.load(nodes, flow({ marketplaceIds: 'ATVPDKIKX0DER, A1NOTAMARKET' }), credentials());
    expect(statuses(helper.getNode('a1')).at(-1)).toMatchObject({
      fill: 'red',
      shape: 'ring',
      text: expect.stringMatching(/unknown marketplace id\(s\) A1NOTAMARKET/),
    });
  });
});
