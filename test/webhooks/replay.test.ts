/**
 * Issue 8, finding 5: replay and re-labelling on the real runtime. What identifies and dates a
 * delivery must be what the provider signed (the body), never an unsigned header alone; the shop
 * header must be the configured shop; a delivery older than the freshness window is refused.
 * Each refused delivery is answered with its status and a text naming the problem, and has no
 * effect: nothing comes out of the node and nothing lands in the dead-letter store.
 */
import {
  post,
  postWhenReady,
  shopifyDelivery,
  squareDelivery,
  startWebhookRuntime,
  until,
  type WebhookRuntime,
  SHOPIFY_PATH,
  SQUARE_MERCHANT,
  SQUARE_PATH,
} from './support';

jest.setTimeout(90_000);

const OLD = '2019-03-01T10:00:00Z';
/** An hour ahead: far beyond the 5 minutes allowed for clock differences. */
const AHEAD = () => new Date(Date.now() + 3600_000).toISOString();
/** Two minutes ahead: inside the allowance (a provider's clock running a little fast). */
const SLIGHTLY_AHEAD = () => new Date(Date.now() + 120_000).toISOString();

describe('webhook replay protection (real runtime, product settings)', () => {
  let rt: WebhookRuntime;
  let shopifyUrl: string;
  const deadLetters = async (): Promise<any[]> => ((await (await fetch(`${rt.nr.adminUrl}/tillwire/dead-letters?limit=500`)).json()) as any).entries;
  /** Everything a delivery about Shopify order `id` caused: outputs and dead letters. */
  const effectsOf = async (id: number) => {
    const out = rt.received().filter((m) => m.channel?.id === String(id) || m.originalOrder?.channel?.id === String(id));
    const dl = (await deadLetters()).filter((e) => JSON.stringify(e.message?.payload ?? '').includes(String(id)));
    return out.length + dl.length;
  };

  beforeAll(async () => {
    rt = await startWebhookRuntime({ via: 'red' });
    shopifyUrl = rt.nodeBase + SHOPIFY_PATH;
    // Ready: a genuine order is answered 200 and comes out.
    const warm = rt.shopify.createOrder();
    expect((await postWhenReady(shopifyUrl, shopifyDelivery('orders/create', warm))).status).toBe(200);
    await until(() => rt.received().some((m) => m.channel?.id === String(warm.id)));
  });
  afterAll(async () => {
    await rt?.stop();
  });

  it('Shopify: a body without id replayed with a new X-Shopify-Event-Id is one event (its id is a hash of the signed body)', async () => {
    const order = rt.shopify.createOrder();
    const { id, ...noId } = order as any;
    const body = { ...noId, note: `replay-probe-${id}` };
    expect((await post(shopifyUrl, shopifyDelivery('orders/create', body))).status).toBe(200);
    expect((await post(shopifyUrl, shopifyDelivery('orders/create', body))).status).toBe(200);
    // It cannot be mapped (no id), so it is dead-lettered: once, not once per replay.
    await until(async () => (await deadLetters()).some((e) => JSON.stringify(e.message?.payload ?? '').includes(`replay-probe-${id}`)));
    const marker = rt.shopify.createOrder();
    expect((await post(shopifyUrl, shopifyDelivery('orders/create', marker))).status).toBe(200);
    await until(() => rt.received().some((m) => m.channel?.id === String(marker.id)));
    expect((await deadLetters()).filter((e) => JSON.stringify(e.message?.payload ?? '').includes(`replay-probe-${id}`))).toHaveLength(1);
  });

  it('Shopify: the topic header cannot re-label a body: an order sent as refunds/create, a refund sent as orders/updated → 400 naming the problem', async () => {
    const order = rt.shopify.createOrder();
    const asRefund = await post(shopifyUrl, shopifyDelivery('refunds/create', order));
    expect(asRefund.status).toBe(400);
    expect(asRefund.text).toMatch(/refunds\/create needs a refund body.*an order/);
    const paid = rt.shopify.updateOrder(order.id);
    const refund = rt.shopify.refundOrder(paid.id);
    const asOrder = await post(shopifyUrl, shopifyDelivery('orders/updated', refund));
    expect(asOrder.status).toBe(400);
    expect(asOrder.text).toMatch(/orders\/updated needs an order body.*a refund/);
    expect(await effectsOf(order.id)).toBe(0);
  });

  it('Shopify: a delivery for another shop is refused 403', async () => {
    const order = rt.shopify.createOrder();
    const other = await post(shopifyUrl, shopifyDelivery('orders/create', order, { 'x-shopify-shop-domain': 'someone-else.myshopify.com' }));
    expect(other.status).toBe(403);
    expect(other.text).toMatch(/someone-else\.myshopify\.com/);
    expect(await effectsOf(order.id)).toBe(0);
  });

  it('Shopify: a stale delivery (signed updated_at, or X-Shopify-Triggered-At, older than the window) is refused 422', async () => {
    const order = rt.shopify.createOrder();
    const oldBody = await post(shopifyUrl, shopifyDelivery('orders/updated', { ...order, updated_at: OLD }, { 'x-shopify-triggered-at': OLD }));
    expect(oldBody.status).toBe(422);
    expect(oldBody.text).toMatch(/older than the 24 h/);
    const oldHeader = await post(shopifyUrl, shopifyDelivery('orders/updated', order, { 'x-shopify-triggered-at': OLD }));
    expect(oldHeader.status).toBe(422);
    expect(oldHeader.text).toMatch(/X-Shopify-Triggered-At/);
    expect(await effectsOf(order.id)).toBe(0);
  });

  it('Square: an event whose signed created_at is older than the window is refused 422, a fresh one accepted', async () => {
    const url = rt.nodeBase + SQUARE_PATH;
    const sale = rt.square.randomSale('L-LDN');
    const event = rt.square.events[rt.square.events.length - 1];
    const stale = await post(url, squareDelivery(rt, { ...event, event_id: `${event.event_id}-old`, created_at: OLD }));
    expect(stale.status).toBe(422);
    expect(stale.text).toMatch(/created_at .* older than the 96 h/);
    expect((await post(url, squareDelivery(rt, event))).status).toBe(200);
    await until(() => rt.received().some((m) => m.saleId === sale.id));
    expect(rt.received().filter((m) => m.saleId === sale.id)).toHaveLength(1);
  });

  it('Shopify: a signed time or X-Shopify-Triggered-At more than 5 min in the future is refused 422 naming it; 2 min ahead is accepted', async () => {
    const order = rt.shopify.createOrder();
    const future = AHEAD();
    const inBody = await post(shopifyUrl, shopifyDelivery('orders/updated', { ...order, updated_at: future }));
    expect(inBody.status).toBe(422);
    expect(inBody.text).toContain(`the order's updated_at ${future} is in the future`);
    const inHeader = await post(shopifyUrl, shopifyDelivery('orders/updated', order, { 'x-shopify-triggered-at': future }));
    expect(inHeader.status).toBe(422);
    expect(inHeader.text).toContain(`X-Shopify-Triggered-At ${future} is in the future`);
    expect(await effectsOf(order.id)).toBe(0);
    const skewed = rt.shopify.createOrder();
    expect((await post(shopifyUrl, shopifyDelivery('orders/create', skewed, { 'x-shopify-triggered-at': SLIGHTLY_AHEAD() }))).status).toBe(200);
    await until(() => rt.received().some((m) => m.channel?.id === String(skewed.id)));
  });

  it('Square: an event whose created_at is more than 5 min in the future is refused 422 naming it; nothing is emitted', async () => {
    const url = rt.nodeBase + SQUARE_PATH;
    const sale = rt.square.randomSale('L-LDN');
    const event = rt.square.events[rt.square.events.length - 1];
    const future = AHEAD();
    const ahead = await post(url, squareDelivery(rt, { ...event, created_at: future }));
    expect(ahead.status).toBe(422);
    expect(ahead.text).toContain(`the event's created_at ${future} is in the future`);
    const aheadHeader = await post(url, squareDelivery(rt, event, { 'square-initial-delivery-timestamp': future }));
    expect(aheadHeader.status).toBe(422);
    expect(aheadHeader.text).toContain(`square-initial-delivery-timestamp ${future} is in the future`);
    // The same event with honest times is then accepted and emitted once (the refusals stored nothing).
    expect((await post(url, squareDelivery(rt, event))).status).toBe(200);
    await until(() => rt.received().some((m) => m.saleId === sale.id));
    expect(rt.received().filter((m) => m.saleId === sale.id)).toHaveLength(1);
  });

  it("Square: an event signed with the key but for another merchant (or none) is refused 403 naming it; the connection's merchant is accepted", async () => {
    const url = rt.nodeBase + SQUARE_PATH;
    const sale = rt.square.randomSale('L-LDN');
    const event = rt.square.events[rt.square.events.length - 1];
    expect(event.merchant_id).toBe(SQUARE_MERCHANT);
    const other = await post(url, squareDelivery(rt, { ...event, merchant_id: 'MLSOMEONEELSE9' }));
    expect(other.status).toBe(403);
    expect(other.text).toBe(`the event is for merchant MLSOMEONEELSE9, this webhook serves ${SQUARE_MERCHANT}`);
    const { merchant_id: _omit, ...anonymous } = event;
    const none = await post(url, squareDelivery(rt, anonymous));
    expect(none.status).toBe(403);
    expect(none.text).toMatch(/no merchant_id/);
    expect(rt.received().some((m) => m.saleId === sale.id)).toBe(false);
    expect((await post(url, squareDelivery(rt, event))).status).toBe(200);
    await until(() => rt.received().some((m) => m.saleId === sale.id));
    expect(rt.received().filter((m) => m.saleId === sale.id)).toHaveLength(1);
  });
});
