/**
 * Shopify's REST leaky bucket (Shopify's documented REST limits: 40 requests, leaking 2 a second): the simulator counts requests,
 * says how full the bucket is on every answer and refuses with 429 + Retry-After when it is full;
 * the client pages `orders.json` by `page_info` and, paced by the shared CallLimitBucket, never
 * meets a 429 of its own making, and waits out one caused by someone else.
 */
import { ShopifySimulator } from '../../simulators/shopify/simulator';
import { ShopifyClient } from '../../nodes/shopify/client';
import { CallLimitBucket } from '../../nodes/runtime/call-limit-bucket';

let sim: ShopifySimulator;
afterEach(() => sim.stop());

const get = (path: string) => fetch(`${sim.url}/admin/api/2026-10/${path}`, { headers: { 'x-shopify-access-token': sim.accessToken } });

it('the simulator: X-Shopify-Shop-Api-Call-Limit on every answer, 429 with Retry-After when full, page_info alone', async () => {
  sim = new ShopifySimulator({ orders: 30, restBucketSize: 5, restLeakRate: 1 });
  await sim.start();
  const answers = await Promise.all(Array.from({ length: 7 }, () => get('orders.json?status=any&limit=10')));
  const statuses = answers.map((r) => r.status).sort();
  expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
  for (const r of answers) expect(r.headers.get('x-shopify-shop-api-call-limit')).toMatch(/^\d+\/5$/);
  const refused = answers.find((r) => r.status === 429)!;
  expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(sim.stats.restThrottled).toBe(2);

  sim = await restart(sim);
  const first = await get('orders.json?status=any&limit=10');
  const link = first.headers.get('link')!;
  expect(link).toMatch(/rel="next"/);
  const next = new URL(/<([^>]+)>; rel="next"/.exec(link)![1]);
  const mixed = await get(`orders.json?page_info=${next.searchParams.get('page_info')}&status=any`);
  expect(mixed.status).toBe(400);
});

async function restart(old: ShopifySimulator): Promise<ShopifySimulator> {
  await old.stop();
  const fresh = new ShopifySimulator({ orders: 30 });
  await fresh.start();
  return fresh;
}

it('the client pages every order once through a small, fast-leaking bucket without a single 429', async () => {
  sim = new ShopifySimulator({ orders: 300, restBucketSize: 5, restLeakRate: 40 });
  await sim.start();
  const client = new ShopifyClient({
    shop: sim.shop,
    apiVersion: '2026-10',
    accessToken: sim.accessToken,
    baseUrl: sim.url,
    restBucket: new CallLimitBucket(5, 40),
  });
  const ids: number[] = [];
  let pageInfo: string | undefined;
  let pages = 0;
  do {
    const page = await client.restOrdersPage(pageInfo ? { pageInfo, limit: 10 } : { updatedAtMin: '2000-01-01T00:00:00Z', limit: 10 });
    ids.push(...page.orders.map((o) => o.id));
    pageInfo = page.nextPageInfo;
    pages++;
  } while (pageInfo);
  expect(pages).toBe(30);
  expect(new Set(ids).size).toBe(300);
  expect(ids.sort((a, b) => a - b)).toEqual(
    sim
      .allOrders()
      .map((o) => o.id)
      .sort((a, b) => a - b),
  );
  expect(sim.stats.restThrottled).toBe(0);
});

it('a bucket filled by another app answers 429; the client waits out Retry-After and then succeeds', async () => {
  sim = new ShopifySimulator({ orders: 5, restBucketSize: 3, restLeakRate: 10 });
  await sim.start();
  await Promise.all(Array.from({ length: 3 }, () => get('orders.json?status=any')));
  const client = new ShopifyClient({
    shop: sim.shop,
    apiVersion: '2026-10',
    accessToken: sim.accessToken,
    baseUrl: sim.url,
    restBucket: new CallLimitBucket(3, 10),
    policy: { maxAttempts: 4 },
  });
  const page = await client.restOrdersPage({ updatedAtMin: '2000-01-01T00:00:00Z' });
  expect(page.orders).toHaveLength(5);
  expect(sim.stats.restThrottled).toBe(1);
});
