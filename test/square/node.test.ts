/**
 * The Square nodes through node-red-node-test-helper, the simulator on loopback delivering to
 * Node-RED's own HTTP server (helper.url() serves RED.httpNode).
 */
import storeNode from '../../nodes/core/store-config';
import ackNode from '../../nodes/core/ack';
import configNode from '../../nodes/square/square-config';
import webhookNode from '../../nodes/square/square-webhook';
import ordersNode from '../../nodes/square/square-orders';
import { SquareSimulator } from '../../simulators/square/simulator';
import { helper, httpNodeApp, httpNodeProbe, serveHttpNode, startServer, stopAll, until } from '../support/node-red';
import { SKU_MAP, startSim } from './support';

const nodes = [httpNodeProbe, storeNode, ackNode, configNode, webhookNode, ordersNode];
const PATH = '/square/hooks';

let sim: SquareSimulator;
beforeEach(async () => {
  await startServer();
  serveHttpNode();
});
afterEach(async () => {
  await stopAll();
  await sim?.stop();
});

function flow(notificationUrl: string, over: { config?: Record<string, unknown>; poller?: Record<string, unknown> } = {}) {
  return {
    flow: [
      { id: 'f1', type: 'tab' },
      { id: 's1', type: 'tillwire-store', backend: 'memory' },
      {
        id: 'c1',
        type: 'tillwire-square-config',
        environment: 'custom',
        baseUrl: sim.url,
        locationIds: 'L-LDN, L-NYC, L-TYO',
        mode: 'sale',
        skuMap: JSON.stringify(SKU_MAP),
        ratePerSecond: 0,
        ...over.config,
      },
      { id: 'wh', type: 'tillwire-square-webhook', z: 'f1', square: 'c1', store: 's1', path: PATH, wires: [['out', 'ack']] },
      {
        id: 'po',
        type: 'tillwire-square-orders',
        z: 'f1',
        square: 'c1',
        store: 's1',
        interval: 0,
        overlap: 60,
        lookback: 1,
        pageSize: 20,
        wires: [['out', 'ack'], ['polls']],
        ...over.poller,
      },
      { id: 'ack', type: 'tillwire-ack', z: 'f1', store: 's1', wires: [[]] },
      { id: 'out', type: 'helper', z: 'f1' },
      { id: 'polls', type: 'helper', z: 'f1' },
    ],
    credentials: { c1: { accessToken: sim.accessToken, signatureKey: sim.webhook.signatureKey, notificationUrl } },
  };
}

async function load(notificationUrl = helper.url() + PATH, over: Parameters<typeof flow>[1] = {}) {
  const { flow: f, credentials } = flow(notificationUrl, over);
  await helper.load(nodes as any, f, credentials);
  const store = await (helper.getNode('s1') as any).manager.acquire();
  const received: any[] = [];
  helper.getNode('out').on('input', (m: any) => received.push(m));
  // The webhook inbox opens once the store is acquired; until then deliveries get 503.
  await until(async () => (await fetch(helper.url() + PATH, { method: 'POST', body: '{}' })).status === 401);
  return { store, received };
}

async function settled(store: any) {
  await until(async () => (await store.inboxPending('square-webhook:wh')).length === 0 && (await store.inboxPending('square-orders:po')).length === 0, 20_000);
}

describe('tillwire-square-webhook + tillwire-square-orders', () => {
  it('webhooks delivered 3 times, out of order, 5% never: with the poller every order arrives exactly once', async () => {
    sim = await startSim({ seed: 5, webhook: { duplicates: 3, outOfOrder: true, dropRate: 0.05, retryDelaysMs: [] } });
    sim.webhook.url = helper.url() + PATH;
    const { store, received } = await load();
    for (let i = 0; i < 40; i++) sim.randomSale(['L-LDN', 'L-NYC', 'L-TYO'][i % 3]);
    const sale = [...sim.orders.values()][0];
    sim.returnItems(sale.id, [{ lineUid: sale.line_items![0].uid!, quantity: '1' }]);
    // A few sales whose webhooks are never sent at all (subscription down): only the poller finds them.
    const url = sim.webhook.url;
    sim.webhook.url = undefined;
    const unseen = [sim.randomSale('L-LDN').id, sim.randomSale('L-TYO').id];
    sim.webhook.url = url;
    sim.createOrder({
      location_id: 'L-LDN',
      line_items: [{ quantity: '1', catalog_object_id: Object.keys(SKU_MAP)[0], base_price_money: { amount: 100, currency: 'GBP' } }],
    }); // stays OPEN: no sale
    await sim.flushWebhooks();
    expect(sim.dropped.size).toBeGreaterThan(0);
    await settled(store);
    const viaWebhooks = received.length;
    expect(received.map((m) => m.payload.saleId)).not.toEqual(expect.arrayContaining(unseen));

    const polls: any[] = [];
    helper.getNode('polls').on('input', (m: any) => polls.push(m));
    helper.getNode('po').receive({ payload: 'poll' });
    await until(() => polls.length === 1);
    await settled(store);

    const completed = [...sim.orders.values()].filter((o) => o.state === 'COMPLETED').map((o) => o.id);
    expect(completed).toHaveLength(43);
    const ids = received.map((m) => m.payload.saleId);
    expect(ids.sort()).toEqual([...completed].sort()); // each completed order once, none twice
    expect(received.length).toBeGreaterThan(viaWebhooks);
    const ret = received.find((m) => m.topic === 'return.completed');
    expect(ret.payload).toMatchObject({ returnOf: { saleId: sale.id }, storeId: sale.location_id });
    for (const m of received) {
      expect(m.tillwire).toMatchObject({
        schemaVersion: 1,
        idempotencyKey: `sale:${m.payload.storeId}:${m.payload.terminalId}:${m.payload.saleId}`,
        source: { system: 'square' },
      });
      expect(m.payload.totals.grandTotal.amount).toBe(
        sim.orders.get(m.payload.saleId)!.net_amounts!.total_money!.amount - (sim.orders.get(m.payload.saleId)!.total_tip_money?.amount ?? 0),
      );
    }
    // Store sales are in the register for close-of-day and the store journal.
    const registered = await store.registerList({ kind: 'sale', storeId: 'L-LDN' });
    expect(registered.length).toBe(ids.filter((id) => sim.orders.get(id)!.location_id === 'L-LDN').length);
    expect(registered.every((e: any) => e.sequence === null)).toBe(true);
    // A second poll over the overlap window finds nothing new.
    helper.getNode('po').receive({ payload: 'poll' });
    await until(() => polls.length === 2);
    await settled(store);
    expect(received).toHaveLength(43);
    expect(polls[1].payload).toMatchObject({ accepted: 0 });
  });

  it('rejects a bad signature and a valid signature over a tampered body with 401, and never processes them', async () => {
    sim = await startSim({ webhook: { retryDelaysMs: [] } });
    sim.webhook.url = helper.url() + PATH;
    const { store, received } = await load();
    const order = sim.randomSale('L-LDN');
    const event = sim.events[sim.events.length - 1];
    const body = JSON.stringify(event);
    const post = (b: string, sig: string) =>
      fetch(helper.url() + PATH, { method: 'POST', headers: { 'content-type': 'application/json', 'x-square-hmacsha256-signature': sig }, body: b });
    expect((await post(body, sim.sign(body, sim.webhook.url, 'wrong-key'))).status).toBe(401);
    expect((await post(body, sim.sign(body, 'https://elsewhere.example/hook'))).status).toBe(401);
    const tampered = body.replace(order.id, sim.randomSale('L-LDN').id);
    expect((await post(tampered, sim.sign(body))).status).toBe(401);
    expect((await post(body, '')).status).toBe(401);
    // The simulator's bad-signature switch: every attempt refused.
    sim.webhook.badSignatureRate = 1;
    await sim.flushWebhooks();
    expect(sim.deliveries.every((d) => d.status === 401)).toBe(true);
    expect(await store.inboxPending('square-webhook:wh')).toEqual([]);
    expect(received).toEqual([]);
    // The genuine delivery is accepted, and a repeat of it is answered 200 without a second message.
    expect((await post(body, sim.sign(body))).status).toBe(200);
    expect((await post(body, sim.sign(body))).status).toBe(200);
    await until(() => received.length === 1);
    await settled(store);
    expect(received).toHaveLength(1);
    expect(received[0].tillwire.source.eventId).toBe(event.event_id);
  });

  it('puts an order it cannot map into the dead-letter store with the raw webhook body', async () => {
    sim = await startSim({ webhook: { retryDelaysMs: [] } });
    sim.webhook.url = helper.url() + PATH;
    const { store, received } = await load();
    const o = sim.createOrder({
      location_id: 'L-LDN',
      line_items: [{ name: 'Mystery', quantity: '1', catalog_object_id: 'UNMAPPED', base_price_money: { amount: 500, currency: 'GBP' } }],
    });
    sim.payOrder(o.id);
    await sim.flushWebhooks();
    await settled(store);
    await until(async () => (await store.countDeadLetters({})) >= 1);
    const [dl] = await store.listDeadLetters({});
    expect(dl.error.message).toMatch(/no SKU mapped for catalog object UNMAPPED/);
    expect(JSON.parse(dl.message.payload as string)).toMatchObject({ type: expect.stringMatching(/^order\./), data: { id: o.id } });
    expect(received).toEqual([]);
  });

  it('poller: an order whose processing keeps failing (its source order unavailable) is retried, then dead-lettered after Attempts; the sale beside it is emitted', async () => {
    sim = await startSim();
    // One HTTP call per processing attempt (connection Attempts 1), two processing attempts (node Attempts 2).
    const { store, received } = await load(undefined, { config: { attempts: 1 }, poller: { maxAttempts: 2 } });
    const sale = sim.randomSale('L-LDN');
    const { order: ret } = sim.returnItems(sale.id, [{ lineUid: sale.line_items![0].uid!, quantity: '1' }]);
    // Mapping the return needs its source order, which Square keeps answering 503.
    sim.failRetrieve(sale.id, Infinity);
    helper.getNode('po').receive({});
    await until(async () => (await store.countDeadLetters({})) >= 1, 20_000);
    await settled(store);
    const letters = await store.listDeadLetters({});
    expect(letters).toHaveLength(1);
    expect(letters[0].error).toMatchObject({ name: 'PoisonMessage', message: expect.stringMatching(/^gave up after 2 attempts: .*temporarily unavailable/) });
    expect(letters[0].message.payload).toMatchObject({ id: ret.id });
    expect(sim.failedRetrieves.get(sale.id)).toBe(2);
    expect(received.filter((m) => m.square?.orderId === sale.id)).toHaveLength(1);
    expect(received.filter((m) => m.square?.orderId === ret.id)).toHaveLength(0);
  });

  it('order mode: every order the poller takes in is in the order index with its grand total', async () => {
    sim = await startSim({ seed: 11 });
    const { store, received } = await load(undefined, { config: { mode: 'order' } });
    const sold = [sim.randomSale('L-LDN'), sim.randomSale('L-NYC'), sim.randomSale('L-TYO')].map((o) => o.id);
    helper.getNode('po').receive({});
    await until(() => received.filter((m) => m.payload.kind === 'order').length === sold.length, 20_000);
    await settled(store);
    const orders = received.filter((m) => m.payload.kind === 'order');
    expect(orders.map((m) => m.payload.channel.id).sort()).toEqual([...sold].sort());
    const lookup = () => store.orderLookup(sold, { system: 'square' });
    await until(async () => (await lookup()).length === sold.length);
    const gross = new Map((await lookup()).map((r: any) => [r.orderId, { amount: r.gross, currency: r.currency }]));
    expect(gross).toEqual(new Map(orders.map((m) => [m.payload.channel.id, m.payload.totals.grandTotal])));
  });

  it('sale mode: a sale Square paid out (card) is in the order index under its Square order id; a cash sale is not', async () => {
    sim = await startSim({ seed: 12, webhook: { retryDelaysMs: [] } });
    sim.webhook.url = helper.url() + PATH;
    const { store, received } = await load();
    const sold = Array.from({ length: 12 }, (_, i) => sim.randomSale(['L-LDN', 'L-NYC', 'L-TYO'][i % 3]));
    await sim.flushWebhooks();
    await settled(store);
    await until(() => received.filter((m) => m.payload.kind === 'sale').length === sold.length, 20_000);
    const byCard = sold.filter((o) => o.tenders!.some((t) => t.type === 'CARD'));
    const byCash = sold.filter((o) => o.tenders!.every((t) => t.type === 'CASH'));
    expect(byCard.length).toBeGreaterThan(0);
    expect(byCash.length).toBeGreaterThan(0);
    const sales = new Map(received.map((m) => [m.payload.saleId, m.payload]));
    const rows = await store.orderLookup(
      sold.map((o) => o.id),
      { system: 'square' },
    );
    expect(
      new Map(rows.map((r: any) => [r.orderId, { account: r.account, gross: r.gross, currency: r.currency, placedAt: r.placedAt, status: r.status }])),
    ).toEqual(
      new Map(
        byCard.map((o) => [
          o.id,
          {
            account: o.location_id,
            gross: sales.get(o.id).totals.grandTotal.amount,
            currency: sales.get(o.id).currency,
            placedAt: new Date(sales.get(o.id).occurredAt).toISOString(),
            status: 'completed',
          },
        ]),
      ),
    );
  });

  it('removes its route when the flow stops, and shows a red ring without an access token', async () => {
    sim = await startSim();
    await load();
    const routes = () => httpNodeApp()._router.stack.filter((l: any) => l.route?.path === PATH).length;
    expect(routes()).toBe(1);
    await helper.unload();
    expect(routes()).toBe(0);
    const { flow: f } = flow('http://x/y');
    const statuses: any[] = [];
    await helper.load(nodes as any, f, { c1: {} });
    const wh = helper.getNode('wh') as any;
    wh.on('call:status', (c: any) => statuses.push(c.args[0]));
    expect(helper.getNode('c1')).toMatchObject({ connection: { problem: expect.stringMatching(/no access token/) } });
  });
});
