/**
 * Issue 8, finding 1 (and the webhook part of finding 3): Shopify and Square deliveries, with the
 * providers' real headers and `Content-Type: application/json`, through a real Node-RED started with
 * the product's settings (admin API and HTTP nodes both at `/`, so Node-RED's admin app parses JSON
 * bodies before any node route). Every delivery must be answered within a bound: 200 and the order
 * out of the node, 401 for a bad signature, 400 for a body that is not JSON, 413 for oversize.
 */
import { post, postWhenReady, shopifyDelivery, squareDelivery, startWebhookRuntime, until, type WebhookRuntime, SHOPIFY_PATH, SQUARE_PATH } from './support';

jest.setTimeout(90_000);

const isOrder = (m: Record<string, any>, id: number) => m.kind === 'order' && m.channel?.id === String(id);

describe('webhooks on the real runtime (product settings, red.js)', () => {
  let rt: WebhookRuntime;
  beforeAll(async () => {
    rt = await startWebhookRuntime({ via: 'red' });
  });
  afterAll(async () => {
    await rt?.stop();
  });

  it('Shopify: a signed JSON order is answered 200 within 5 s and comes out of the node once', async () => {
    const order = rt.shopify.createOrder();
    const d = shopifyDelivery('orders/create', order);
    const first = await postWhenReady(rt.nodeBase + SHOPIFY_PATH, d);
    expect(first.status).toBe(200);
    // A retry of the same delivery is answered too, and not processed twice.
    expect((await post(rt.nodeBase + SHOPIFY_PATH, d)).status).toBe(200);
    await until(() => rt.received().some((m) => isOrder(m, order.id)), 15_000, 'the order in received.jsonl');
    expect(rt.received().filter((m) => isOrder(m, order.id))).toHaveLength(1);
  });

  it("the issue's reproduction: an unsigned JSON or form POST is answered (401), not left hanging", async () => {
    // (after the first test: the route is mounted and the store open)
    for (const path of [SHOPIFY_PATH, SQUARE_PATH]) {
      expect((await post(rt.nodeBase + path, { body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(401);
      expect((await post(rt.nodeBase + path, { body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status).toBe(401);
    }
  });

  it('Shopify: bad signature 401, non-JSON body with a valid signature 400, oversize 413 — each answered, none processed', async () => {
    const url = rt.nodeBase + SHOPIFY_PATH;
    const order = rt.shopify.createOrder();
    const good = shopifyDelivery('orders/create', order);
    const bad = await post(url, { ...good, headers: { ...good.headers, 'x-shopify-hmac-sha256': 'AAAA' + good.headers['x-shopify-hmac-sha256'].slice(4) } });
    expect(bad.status).toBe(401);
    const notJson = await post(url, shopifyDelivery('orders/create', '{"id": 1, "line_items": ['));
    expect(notJson.status).toBe(400);
    expect(notJson.text).toMatch(/not JSON/i);
    const huge = shopifyDelivery('orders/create', { ...order, note: 'x'.repeat(2 * 1024 * 1024) });
    const tooLarge = await post(url, huge);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.text).toMatch(/larger than/);
    // Node-RED still answers afterwards.
    expect((await fetch(rt.nr.adminUrl + '/settings')).status).toBe(200);
    expect(rt.received().some((m) => isOrder(m, order.id))).toBe(false);
  });

  it('Square: a signed event is answered 200 and its sale comes out of the node; bad signature 401; non-JSON 400; oversize 413', async () => {
    const url = rt.nodeBase + SQUARE_PATH;
    const sale = rt.square.randomSale('L-LDN');
    const event = rt.square.events[rt.square.events.length - 1];
    const first = await postWhenReady(url, squareDelivery(rt, event));
    expect(first.status).toBe(200);
    await until(() => rt.received().some((m) => m.saleId === sale.id), 15_000, 'the sale in received.jsonl');
    const d = squareDelivery(rt, event);
    expect(
      (await post(url, { ...d, headers: { ...d.headers, 'x-square-hmacsha256-signature': rt.square.sign(d.body as string, rt.notificationUrl, 'wrong-key') } }))
        .status,
    ).toBe(401);
    expect((await post(url, squareDelivery(rt, '{"event_id": "x"'))).status).toBe(400);
    expect((await post(url, squareDelivery(rt, { ...event, pad: 'y'.repeat(2 * 1024 * 1024) }))).status).toBe(413);
    expect(rt.received().filter((m) => m.saleId === sale.id)).toHaveLength(1);
  });
});
