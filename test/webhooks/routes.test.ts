/**
 * Webhook routes across deploys, on the real runtime: a webhook node that closes (a redeploy of it,
 * or its removal) takes only its own route with it. Three webhook nodes run side by side (Shopify on
 * two paths, Square on a third); after each deploy the others still answer and emit.
 *
 * This runtime's Square connection has no merchant id: the node says so in a warning and accepts
 * the events signed with the key whatever their merchant.
 */
import {
  deploy,
  post,
  postWhenReady,
  shopifyDelivery,
  squareDelivery,
  startWebhookRuntime,
  until,
  type WebhookRuntime,
  SHOPIFY_PATH,
  SQUARE_PATH,
} from './support';

jest.setTimeout(120_000);

const SECOND_PATH = '/shopify/webhooks-second';

describe('webhook routes across deploys (real runtime)', () => {
  let rt: WebhookRuntime;
  const emittedOrder = (id: number) => rt.received().filter((m) => m.channel?.id === String(id)).length;
  const emittedSale = (id: string) => rt.received().filter((m) => m.saleId === id).length;

  /** A new Shopify order posted to `path`: answered 200 (once the route is there) and emitted once. */
  async function shopifyAnswers(path: string): Promise<void> {
    const order = rt.shopify.createOrder();
    expect((await postWhenReady(rt.nodeBase + path, shopifyDelivery('orders/create', order))).status).toBe(200);
    await until(() => emittedOrder(order.id) > 0, 15_000, `order ${order.id} out of the node on ${path}`);
    expect(emittedOrder(order.id)).toBe(1);
  }

  /** A new Square sale: answered 200 and emitted once. */
  async function squareAnswers(): Promise<void> {
    const sale = rt.square.randomSale('L-LDN');
    expect((await postWhenReady(rt.nodeBase + SQUARE_PATH, squareDelivery(rt, rt.square.events[rt.square.events.length - 1]))).status).toBe(200);
    await until(() => emittedSale(sale.id) > 0, 15_000, `sale ${sale.id} out of the square node`);
    expect(emittedSale(sale.id)).toBe(1);
  }

  beforeAll(async () => {
    rt = await startWebhookRuntime({
      via: 'red',
      squareConfig: { merchantId: '' },
      extraNodes: [
        { id: 'wt-shopify-2', type: 'tillwire-shopify-webhook', shopify: 'wt-shop', store: 'wt-store', path: SECOND_PATH, wires: [['wt-file', 'wt-ack']] },
      ],
    });
    await shopifyAnswers(SHOPIFY_PATH);
    await shopifyAnswers(SECOND_PATH);
    await squareAnswers();
  });
  afterAll(async () => {
    await rt?.stop();
  });

  it('a redeploy of the Square node leaves both Shopify routes answering, and Square answers again after it', async () => {
    await deploy(rt, (flows) => flows.map((n) => (n.id === 'wt-square' ? { ...n, maxAgeHours: 95 } : n)));
    // While and after the Square node restarts, the Shopify routes answer at once (no 404, no 503).
    for (const path of [SHOPIFY_PATH, SECOND_PATH]) {
      const order = rt.shopify.createOrder();
      expect((await post(rt.nodeBase + path, shopifyDelivery('orders/create', order))).status).toBe(200);
      await until(() => emittedOrder(order.id) > 0, 15_000, `order ${order.id} on ${path}`);
    }
    await squareAnswers();
  });

  it('removing one Shopify webhook node removes its route (404) and only it: the other Shopify route and Square keep answering', async () => {
    await deploy(rt, (flows) => flows.filter((n) => n.id !== 'wt-shopify-2'));
    await until(
      async () => (await post(rt.nodeBase + SECOND_PATH, shopifyDelivery('orders/create', rt.shopify.createOrder()))).status === 404,
      15_000,
      'the removed route answering 404',
    );
    const order = rt.shopify.createOrder();
    expect((await post(rt.nodeBase + SHOPIFY_PATH, shopifyDelivery('orders/create', order))).status).toBe(200);
    await until(() => emittedOrder(order.id) > 0, 15_000, `order ${order.id} on ${SHOPIFY_PATH}`);
    await squareAnswers();
  });

  it('a redeploy of the first Shopify node leaves Square answering at once, and the Shopify route answers again after it', async () => {
    await deploy(rt, (flows) => flows.map((n) => (n.id === 'wt-shopify' ? { ...n, maxAgeHours: 23 } : n)));
    const sale = rt.square.randomSale('L-LDN');
    expect((await post(rt.nodeBase + SQUARE_PATH, squareDelivery(rt, rt.square.events[rt.square.events.length - 1]))).status).toBe(200);
    await until(() => emittedSale(sale.id) > 0, 15_000, `sale ${sale.id}`);
    await shopifyAnswers(SHOPIFY_PATH);
  });

  it('without a merchant id on the connection: a warning at start, and an event of any merchant is accepted', async () => {
    expect(rt.nr.output()).toMatch(/\[tillwire-square-webhook:wt-square\] no merchant id in the Square connection/);
    const sale = rt.square.randomSale('L-LDN');
    const event = rt.square.events[rt.square.events.length - 1];
    expect((await post(rt.nodeBase + SQUARE_PATH, squareDelivery(rt, { ...event, merchant_id: 'MLANYMERCHANT1' }))).status).toBe(200);
    await until(() => emittedSale(sale.id) > 0, 15_000, `sale ${sale.id}`);
  });
});
