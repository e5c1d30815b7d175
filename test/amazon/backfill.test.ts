/**
 * A 10,000-order backfill on the Orders API 2026-01-01 (the default) against the simulator (in its own process) with throttling on, at
 * Amazon's published rates × MULTIPLIER (bursts as published): no 429 beyond the first per bucket,
 * every priced order stored exactly once, money exact to the minor unit, and never faster than
 * the simulator's buckets allow. How close to that bound it runs is printed, not asserted: a
 * timed upper bound fails on a busy machine without saying anything about the client.
 */
import { AmazonClient } from '../../nodes/amazon/client';
import { USAGE_PLANS } from '../../simulators/amazon/simulator';
import { createStore } from '../../nodes/runtime/create-store';
import { DurableInbox } from '../../nodes/runtime/inbox';
import type { Store } from '../../nodes/runtime/store';
import { pollOnce, PolledOrder } from '../../nodes/amazon/poller';
import { toCanonicalOrderV2026 } from '../../nodes/amazon/map-v2026';
import { validateDocument } from '../../nodes/model/validate';
import { toMinor } from '../../nodes/model/money';
import { FAST, payable, spawnSimulator } from './support';

const ORDERS = 10_000;
const MULTIPLIER = 1000;

let sim: Awaited<ReturnType<typeof spawnSimulator>>;
let store: Store;
beforeAll(async () => {
  sim = await spawnSimulator(['--orders', String(ORDERS), '--speed', String(MULTIPLIER), '--seed', '11', '--epoch', '2025-03-01T00:00:00Z']);
  store = createStore({ backend: 'memory' });
  await store.open();
});
afterAll(async () => {
  await sim?.stop();
  await store?.close();
});

it(`backfills ${ORDERS} orders at the simulator's published rates: no 429 storm, none missed or doubled, money exact`, async () => {
  const delivered = new Map<string, number>();
  const totals = new Map<string, { amazon: number; canonical: number }>();
  let variances = 0;
  const inbox = new DurableInbox(store, 'amazon:test', (entry) => {
    const { order, apiVersion } = entry.payload as PolledOrder;
    if (apiVersion !== '2026-01-01') throw new Error(`polled with ${apiVersion}`);
    delivered.set(entry.eventId, (delivered.get(entry.eventId) ?? 0) + 1);
    const doc = toCanonicalOrderV2026(order, { account: 'A2TILLWIRESELLER' });
    if (!validateDocument('order', doc).valid) throw new Error(`invalid ${order.orderId}`);
    const amazon = toMinor(order.proceeds.grandTotal.amount, order.proceeds.grandTotal.currencyCode);
    if (payable(doc) !== amazon) variances++;
    const t = totals.get(doc.currency) ?? { amazon: 0, canonical: 0 };
    t.amazon += amazon;
    t.canonical += payable(doc);
    totals.set(doc.currency, t);
  });
  const client = new AmazonClient({
    endpoint: sim.url,
    tokenUrl: `${sim.url}/auth/o2/token`,
    credentials: { clientId: 'amzn1.application-oa2-client.tillwire', clientSecret: 'tillwire-demo-secret', refreshToken: 'Atzr|tillwire-demo-refresh-token' },
    policy: FAST,
  });
  const started = performance.now();
  const result = await pollOnce({
    client,
    store,
    cursorKey: 'amazon:test:cursor',
    marketplaceIds: ['ATVPDKIKX0DER', 'A1F83G8C2ARO7P', 'A1PA6795UKMFR9', 'A1VC38T7YXB528'],
    accept: (eventId, polled) => inbox.accept(eventId, polled),
    startAt: () => '2025-01-01T00:00:00Z',
    overlapMs: 300_000,
    concurrency: 16,
  });
  const elapsed = (performance.now() - started) / 1000;

  const all: Array<{ AmazonOrderId: string; OrderStatus: string; LastUpdateDate: string }> = await sim.json('/__simulator/orders');
  const priced = all.filter((o) => o.OrderStatus !== 'Pending');
  expect(result.orders).toBe(ORDERS);
  expect(result.accepted).toBe(priced.length);
  expect(result.held.sort()).toEqual(
    all
      .filter((o) => o.OrderStatus === 'Pending')
      .map((o) => o.AmazonOrderId)
      .sort(),
  );
  expect(delivered.size).toBe(priced.length);
  for (const o of priced) expect(delivered.get(`order:${o.AmazonOrderId}:${o.LastUpdateDate}`)).toBe(1);
  expect(variances).toBe(0);
  for (const t of totals.values()) expect(t.canonical).toBe(t.amazon);
  expect([...totals.keys()].sort()).toEqual(['EUR', 'GBP', 'JPY', 'USD']);

  // Throttling: at most the first 429 per bucket (normally none).
  const { stats } = await sim.json('/__simulator/state');
  const plans = await sim.json('/__simulator/plans');
  for (const op of Object.keys(stats)) expect(stats[op].throttled).toBeLessThanOrEqual(1);
  // Items are inline: one searchOrders request per page of 100, no per-order request.
  expect(Object.keys(stats)).toEqual(['searchOrders']);
  expect(stats.searchOrders.requests - stats.searchOrders.throttled).toBe(ORDERS / 100);
  expect(plans.searchOrders).toEqual({ rate: USAGE_PLANS.searchOrders.rate * MULTIPLIER, burst: 20 });

  // Elapsed time: the slowest bucket decides; its calls beyond the burst take (calls − burst) / rate.
  const bound = Math.max(...Object.keys(stats).map((op) => Math.max(0, stats[op].requests - plans[op].burst) / plans[op].rate));
  console.log(
    `backfill: ${elapsed.toFixed(2)} s for ${ORDERS} orders; the simulator's buckets allow ${bound.toFixed(2)} s (×${(elapsed / bound).toFixed(2)}); 429s ${JSON.stringify(client.throttled)}`,
  );
  expect(elapsed).toBeGreaterThanOrEqual(bound * 0.95);

  // The cursor moved to the window's upper bound Amazon reported.
  expect(await store.kvGet('amazon:test:cursor')).toEqual({ lastUpdatedBefore: result.cursor });
}, 60_000);
