import storeNode from '../../nodes/core/store-config';
import configNode from '../../nodes/shopify/shopify-config';
import webhookNode from '../../nodes/shopify/shopify-webhook';
import ordersNode from '../../nodes/shopify/shopify-orders';
import { ShopifySimulator } from '../../simulators/shopify/simulator';
import { hmacSha256Base64 } from '../../nodes/runtime/webhook';
import { orderEventId, refundEventId } from '../../nodes/shopify/map';
import { validateDocument } from '../../nodes/model/validate';
import { helper, httpNodeProbe, serveHttpNode, startServer, stopAll, until } from '../support/node-red';

jest.setTimeout(60_000);
const nodes = [httpNodeProbe, storeNode, configNode, webhookNode, ordersNode];
const PATH = '/shopify/webhooks';

let sim: ShopifySimulator;
beforeEach(async () => {
  sim = new ShopifySimulator({ appSecret: 'whsec-node-test' });
  await sim.start();
  await startServer();
  serveHttpNode();
});
afterEach(async () => {
  await sim.stop();
  await stopAll();
});

function flow(extra: Record<string, unknown> = {}) {
  return [
    { id: 'f1', type: 'tab', label: 'shopify' },
    { id: 's1', type: 'tillwire-store', backend: 'memory' },
    { id: 'c1', type: 'tillwire-shopify-config', shop: sim.shop, apiVersion: '2026-10', baseUrl: sim.url, timeout: '5' },
    { id: 'w1', type: 'tillwire-shopify-webhook', z: 'f1', shopify: 'c1', store: 's1', path: PATH, wires: [['out']] },
    {
      id: 'p1',
      type: 'tillwire-shopify-orders',
      z: 'f1',
      shopify: 'c1',
      store: 's1',
      interval: '0',
      overlap: '300',
      lookback: '1',
      pageSize: '50',
      wires: [['out']],
      ...extra,
    },
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'k1', type: 'catch', z: 'f1', scope: ['p1', 'w1'], wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
    { id: 'd1', type: 'complete', z: 'f1', scope: ['p1'], wires: [['completed']] },
    { id: 'completed', type: 'helper', z: 'f1' },
  ];
}
const credentials = { c1: { accessToken: 'shpat_tillwire_demo', webhookSecret: 'whsec-node-test' } };

async function load() {
  await helper.load(nodes, flow(), credentials);
  const got: any[] = [];
  helper.getNode('out').on('input', (m: any) => got.push(m));
  const store = await helper.getNode('s1').manager.acquire();
  // The route answers once the store is open.
  await until(async () => (await post('{}', { 'x-shopify-hmac-sha256': 'x' })).status === 401);
  return { got, store };
}

function post(body: string, headers: Record<string, string>) {
  return fetch(`${helper.url()}${PATH}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
}

function signed(topic: string, payload: unknown, secret = 'whsec-node-test') {
  const body = JSON.stringify(payload);
  return {
    body,
    headers: {
      'x-shopify-topic': topic,
      'x-shopify-hmac-sha256': hmacSha256Base64(secret, body),
      'x-shopify-event-id': `evt-${Math.random()}`,
      'x-shopify-shop-domain': sim.shop,
    },
  };
}

describe('tillwire-shopify-webhook + tillwire-shopify-orders', () => {
  it('each webhook 3 times, out of order, 5% never delivered: with the poller every order state reaches the output exactly once, none missing', async () => {
    const { got, store } = await load();
    const caught: any[] = [];
    helper.getNode('caught').on('input', (m: any) => caught.push(m));
    sim.webhooks = { ...sim.webhooks, duplicates: 3, outOfOrder: true, dropRate: 0.05, maxRetries: 2, retryDelayMs: 1 };
    sim.subscribe(`${helper.url()}${PATH}`);
    const created = Array.from({ length: 80 }, () => sim.createOrder());
    for (const o of created.slice(0, 30)) sim.updateOrder(o.id, (x) => (x.tags = 'vip'));
    for (const o of created.slice(30, 36)) sim.cancelOrder(o.id);
    const refunds = created
      .filter((o) => o.financial_status === 'paid')
      .slice(40, 48)
      .map((o) => sim.refundOrder(o.id));
    await sim.settle();
    expect(sim.dropped.length).toBeGreaterThan(0);

    // States delivered by webhook (answered 200), and every order's final state.
    const expected = new Set<string>();
    for (const o of sim.allOrders()) {
      expected.add(orderEventId(o));
      for (const r of o.refunds) expected.add(refundEventId(r));
    }
    const webhookOnly = got.length;
    expect(webhookOnly).toBeGreaterThan(0);
    helper.getNode('p1').receive({});
    await until(() => [...expected].every((id) => got.some((m) => m.tillwire.eventId === id)), 20_000);
    // Exactly once: one message per inbox entry, no event id twice.
    const entries = await store.inboxPending('shopify:' + sim.shop, 10_000);
    await until(() => got.length === entries.length);
    const ids = got.map((m) => m.tillwire.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    // Webhook-delivered intermediate states are there too, and nothing else.
    const delivered = new Set(sim.deliveries.filter((d) => d.status === 200).map((d) => d.eventId));
    expect(delivered.size).toBeGreaterThan(0);
    for (const m of got) {
      expect(m.tillwire).toMatchObject({ schemaVersion: 1, source: { system: 'shopify', account: sim.shop } });
      expect(m.tillwireInbox).toEqual({ source: 'shopify:' + sim.shop, id: expect.any(String) });
      expect(validateDocument(m.payload.kind, m.payload).valid).toBe(true);
    }
    const orders = got.filter((m) => m.payload.kind === 'order');
    expect(orders.every((m) => m.tillwire.idempotencyKey === `order:shopify:${sim.shop}:${m.payload.channel.id}`)).toBe(true);
    expect(
      orders
        .filter((m) => m.topic === 'order.cancelled')
        .map((m) => m.payload.channel.id)
        .sort(),
    ).toEqual(
      created
        .slice(30, 36)
        .map((o) => String(o.id))
        .sort(),
    );
    expect(
      got
        .filter((m) => m.topic === 'refund.issued')
        .map((m) => m.payload.returnId)
        .sort(),
    ).toEqual(refunds.map((r) => String(r.id)).sort());

    // A second poll finds only what is already stored.
    const before = got.length;
    const finished = new Promise((resolve) => helper.getNode('completed').on('input', resolve));
    helper.getNode('p1').receive({});
    await finished;
    expect((await store.inboxPending('shopify:' + sim.shop, 10_000)).length).toBe(before);
    expect(caught).toHaveLength(0);

    // Every order taken in is in the order index under the shop, with the gross of a state it was emitted in.
    const orderIds = [...new Set(orders.map((m) => m.payload.channel.id))];
    const indexed = () => store.orderLookup(orderIds, { system: 'shopify', account: sim.shop });
    await until(async () => (await indexed()).length === orderIds.length);
    for (const row of await indexed()) {
      const grosses = orders.filter((m) => m.payload.channel.id === row.orderId).map((m) => m.payload.totals.grandTotal);
      expect(grosses).toContainEqual({ amount: row.gross, currency: row.currency });
    }
  });

  it('a bad signature is answered 401 and never processed; so is a valid signature over a tampered body', async () => {
    const { got, store } = await load();
    const order = sim.createOrder();
    const wrong = signed('orders/create', order, 'not-the-secret');
    expect((await post(wrong.body, wrong.headers)).status).toBe(401);
    const ok = signed('orders/create', order);
    const tampered = ok.body.replace(`"total_price":"${order.total_price}"`, '"total_price":"0.01"');
    expect(tampered).not.toBe(ok.body);
    expect((await post(tampered, ok.headers)).status).toBe(401);
    const { 'x-shopify-hmac-sha256': _drop, ...unsigned } = ok.headers;
    expect((await post(ok.body, unsigned)).status).toBe(401);
    expect(await store.inboxPending('shopify:' + sim.shop)).toHaveLength(0);
    // The genuine one goes through, once, even when repeated.
    expect((await post(ok.body, ok.headers)).status).toBe(200);
    expect((await post(ok.body, ok.headers)).status).toBe(200);
    await until(() => got.length === 1);
    expect(got[0].payload.channel.id).toBe(String(order.id));
    expect(await store.inboxPending('shopify:' + sim.shop)).toHaveLength(1);
  });

  it('an order that cannot be mapped goes to the dead-letter store with its raw body; the 200 still goes out', async () => {
    const { got, store } = await load();
    const order: any = sim.createOrder();
    order.line_items[0].sku = '';
    const w = signed('orders/updated', order);
    expect((await post(w.body, w.headers)).status).toBe(200);
    await until(async () => (await store.countDeadLetters()) === 1);
    const [entry] = await store.listDeadLetters();
    expect(entry.message.payload).toBe(w.body);
    expect(entry.error.message).toMatch(/no SKU/);
    expect(entry.nodeId).toBe('w1');
    expect(got).toHaveLength(0);
    expect(await store.inboxPending('shopify:' + sim.shop)).toHaveLength(0);
  });

  it('closing the flow removes the route', async () => {
    await load();
    await helper.unload();
    expect((await post('{}', {})).status).toBe(404);
  });

  it('a poll failure (wrong token) reaches the Catch node', async () => {
    await helper.load(nodes, flow(), { c1: { accessToken: 'wrong', webhookSecret: 'x' } });
    const caught = new Promise<any>((resolve) => helper.getNode('caught').on('input', resolve));
    helper.getNode('p1').receive({});
    const msg = await caught;
    expect(msg.error.message).toMatch(/shopify orders: HTTP 401/);
  });
});

it('the config node warns when its API version is not one Shopify still serves', async () => {
  await helper.load(
    [configNode],
    [
      { id: 'old', type: 'tillwire-shopify-config', shop: sim.shop, apiVersion: '2025-01', baseUrl: sim.url },
      { id: 'cur', type: 'tillwire-shopify-config', shop: sim.shop, apiVersion: '2026-10', baseUrl: sim.url },
    ],
    { old: { accessToken: 'shpat_tillwire_demo' }, cur: { accessToken: 'shpat_tillwire_demo' } },
  );
  const warnings = helper
    .log()
    .args.map((a: any[]) => a[0])
    .filter((e: any) => e?.level === 30 && e.type === 'tillwire-shopify-config');
  expect(warnings).toEqual([
    expect.objectContaining({ id: 'old', msg: expect.stringMatching(/2025-01 is not one Tillwire is tested with.*default is 2026-10/) }),
  ]);
});
