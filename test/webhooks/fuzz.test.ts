/**
 * Hostile and malformed webhook deliveries as a class, through one real Node-RED (product
 * settings): fast-check draws sequences of deliveries — bad signatures, truncated JSON, re-labelled
 * topics, stale timestamps, oversize bodies, another shop, replays with a new event-id header, a
 * rejected delivery sent again correctly — with valid ones mixed in. Every bad one is answered
 * with its 4xx, every valid one is emitted exactly once, and Node-RED keeps answering.
 */
import fc from 'fast-check';
import {
  post,
  postWhenReady,
  shopifyDelivery,
  squareDelivery,
  startWebhookRuntime,
  until,
  type Delivery,
  type WebhookRuntime,
  SHOPIFY_PATH,
  SQUARE_PATH,
} from './support';

jest.setTimeout(120_000);

const OLD = '2020-01-01T00:00:00Z';
const LIMIT_KIB = 64;

type Kind =
  | 'shopify-valid'
  | 'shopify-bad-signature'
  | 'shopify-truncated'
  | 'shopify-relabelled'
  | 'shopify-stale'
  | 'shopify-oversize'
  | 'shopify-other-shop'
  | 'shopify-replay-new-event-id'
  | 'shopify-rejected-then-valid'
  | 'square-valid'
  | 'square-stale'
  | 'square-bad-signature'
  | 'square-replay';

const KINDS: Kind[] = [
  'shopify-valid',
  'shopify-bad-signature',
  'shopify-truncated',
  'shopify-relabelled',
  'shopify-stale',
  'shopify-oversize',
  'shopify-other-shop',
  'shopify-replay-new-event-id',
  'shopify-rejected-then-valid',
  'square-valid',
  'square-stale',
  'square-bad-signature',
  'square-replay',
];

describe('webhook fuzz (real runtime)', () => {
  let rt: WebhookRuntime;
  const shopifyOrders = new Set<string>();
  const squareSales = new Set<string>();
  const sentShopify: Delivery[] = [];
  const sentSquare: Delivery[] = [];

  beforeAll(async () => {
    rt = await startWebhookRuntime({ shopifyNode: { maxBodyKiB: LIMIT_KIB } });
  });
  afterAll(async () => {
    await rt?.stop();
  });

  async function deliver(kind: Kind, n: number): Promise<void> {
    const shop = rt.nodeBase + SHOPIFY_PATH;
    const sq = rt.nodeBase + SQUARE_PATH;
    const expectStatus = async (url: string, d: Delivery, status: number) => {
      const a = await post(url, d);
      if (a.status !== status) throw new Error(`${kind}: expected ${status}, got ${a.status} ${a.text}`);
    };
    switch (kind) {
      case 'shopify-valid':
      case 'shopify-rejected-then-valid': {
        const order = rt.shopify.createOrder();
        const d = shopifyDelivery('orders/create', order);
        if (kind === 'shopify-rejected-then-valid') {
          await expectStatus(shop, { ...d, headers: { ...d.headers, 'x-shopify-hmac-sha256': 'forged' } }, 401);
          await expectStatus(shop, shopifyDelivery('orders/create', order, { 'x-shopify-triggered-at': OLD }), 422);
        }
        await expectStatus(shop, d, 200);
        shopifyOrders.add(String(order.id));
        sentShopify.push(d);
        return;
      }
      case 'shopify-bad-signature': {
        const d = shopifyDelivery('orders/create', rt.shopify.createOrder(), {}, `wrong-secret-${n}`);
        return expectStatus(shop, d, 401);
      }
      case 'shopify-truncated': {
        const body = JSON.stringify(rt.shopify.createOrder());
        return expectStatus(shop, shopifyDelivery('orders/create', body.slice(0, 1 + (n % (body.length - 1)))), 400);
      }
      case 'shopify-relabelled':
        return expectStatus(shop, shopifyDelivery('refunds/create', rt.shopify.createOrder()), 400);
      case 'shopify-stale':
        return expectStatus(shop, shopifyDelivery('orders/updated', { ...rt.shopify.createOrder(), updated_at: OLD }), 422);
      case 'shopify-oversize':
        return expectStatus(shop, shopifyDelivery('orders/create', { ...rt.shopify.createOrder(), note: 'z'.repeat((LIMIT_KIB + 1 + (n % 200)) * 1024) }), 413);
      case 'shopify-other-shop':
        return expectStatus(shop, shopifyDelivery('orders/create', rt.shopify.createOrder(), { 'x-shopify-shop-domain': `shop-${n}.myshopify.com` }), 403);
      case 'shopify-replay-new-event-id': {
        const earlier = sentShopify[n % Math.max(1, sentShopify.length)];
        if (!earlier) return deliver('shopify-valid', n);
        return expectStatus(
          shop,
          {
            ...earlier,
            headers: { ...earlier.headers, 'x-shopify-event-id': `replayed-${n}-${Math.random()}`, 'x-shopify-triggered-at': new Date().toISOString() },
          },
          200,
        );
      }
      case 'square-valid': {
        const sale = rt.square.randomSale('L-LDN');
        const d = squareDelivery(rt, rt.square.events[rt.square.events.length - 1]);
        await expectStatus(sq, d, 200);
        squareSales.add(sale.id);
        sentSquare.push(d);
        return;
      }
      case 'square-stale': {
        rt.square.randomSale('L-LDN');
        const e = rt.square.events[rt.square.events.length - 1];
        return expectStatus(sq, squareDelivery(rt, { ...e, created_at: OLD }), 422);
      }
      case 'square-bad-signature': {
        rt.square.randomSale('L-LDN');
        const d = squareDelivery(rt, rt.square.events[rt.square.events.length - 1]);
        return expectStatus(
          sq,
          { ...d, headers: { ...d.headers, 'x-square-hmacsha256-signature': rt.square.sign(d.body, rt.notificationUrl + '/other') } },
          401,
        );
      }
      case 'square-replay': {
        const earlier = sentSquare[n % Math.max(1, sentSquare.length)];
        if (!earlier) return deliver('square-valid', n);
        return expectStatus(sq, earlier, 200);
      }
    }
  }

  it('every bad delivery answered with its 4xx, every valid one emitted exactly once, Node-RED up', async () => {
    const warm = rt.shopify.createOrder();
    expect((await postWhenReady(rt.nodeBase + SHOPIFY_PATH, shopifyDelivery('orders/create', warm))).status).toBe(200);
    shopifyOrders.add(String(warm.id));
    await fc.assert(
      // Half the runs send their deliveries at once (replays racing their originals).
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...KINDS), fc.nat(100_000)), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        async (steps, together) => {
          if (together) await Promise.all(steps.map(([kind, n]) => deliver(kind, n)));
          else for (const [kind, n] of steps) await deliver(kind, n);
        },
      ),
      { numRuns: 40, seed: Number(process.env.FUZZ_SEED ?? 8_2026), endOnFailure: true },
    );
    const shopifyOut = () =>
      rt
        .received()
        .filter((m) => m.kind === 'order')
        .map((m) => String(m.channel.id));
    const squareOut = () =>
      rt
        .received()
        .filter((m) => m.saleId)
        .map((m) => String(m.saleId));
    await until(
      () => [...shopifyOrders].every((id) => shopifyOut().includes(id)) && [...squareSales].every((id) => squareOut().includes(id)),
      30_000,
      'every valid delivery emitted',
    );
    // A last valid order of each provider, then no id may appear twice or unexpectedly.
    const last = rt.shopify.createOrder();
    expect((await post(rt.nodeBase + SHOPIFY_PATH, shopifyDelivery('orders/create', last))).status).toBe(200);
    await until(() => shopifyOut().includes(String(last.id)));
    shopifyOrders.add(String(last.id));
    expect(shopifyOut().sort()).toEqual([...shopifyOrders].sort());
    expect(squareOut().sort()).toEqual([...squareSales].sort());
    expect((await fetch(rt.nr.adminUrl + '/settings')).status).toBe(200);
  });
});
