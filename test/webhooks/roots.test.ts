/**
 * Issue 8, finding 1, beyond the product's settings: the webhook nodes answer whatever a user's
 * settings say about the admin and HTTP node roots, and through `npm start` itself. Each runtime
 * gets one good Shopify delivery (200, emitted once), one bad signature (401) and one Square sale.
 */
import { post, postWhenReady, shopifyDelivery, squareDelivery, startWebhookRuntime, until, type RuntimeOptions, SHOPIFY_PATH, SQUARE_PATH } from './support';

jest.setTimeout(120_000);

const variants: Array<[string, RuntimeOptions]> = [
  ["Node-RED's own default settings (both roots at /)", { nodeRedDefaults: true }],
  ['HTTP nodes at /hooks, admin at / (the admin parsers sit in front of every path)', { settings: { httpNodeRoot: '/hooks' } }],
  ['admin at /admin, HTTP nodes at /', { settings: { httpAdminRoot: '/admin' } }],
  ['npm start', { via: 'npm-start' }],
];

describe.each(variants)('webhooks answer: %s', (_name, options) => {
  it('200 and emitted once, 401 for a bad signature, Square sale emitted', async () => {
    const rt = await startWebhookRuntime(options);
    try {
      const url = rt.nodeBase + SHOPIFY_PATH;
      const order = rt.shopify.createOrder();
      const good = shopifyDelivery('orders/create', order);
      expect((await postWhenReady(url, good)).status).toBe(200);
      expect((await post(url, { ...good, headers: { ...good.headers, 'x-shopify-hmac-sha256': 'bad' } })).status).toBe(401);
      const sale = rt.square.randomSale('L-LDN');
      expect((await postWhenReady(rt.nodeBase + SQUARE_PATH, squareDelivery(rt, rt.square.events[rt.square.events.length - 1]))).status).toBe(200);
      await until(() => rt.received().some((m) => m.channel?.id === String(order.id)) && rt.received().some((m) => m.saleId === sale.id));
      expect(rt.received().filter((m) => m.channel?.id === String(order.id))).toHaveLength(1);
    } finally {
      await rt.stop();
    }
  });
});
