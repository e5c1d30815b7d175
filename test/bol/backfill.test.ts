/**
 * A 10,000-order backfill against the simulator (in its own process) with throttling on, at the
 * simulator's published limits × SPEED (bucket sizes as published): no 429 beyond the first per
 * bucket, every order state stored exactly once, money exact to the minor unit against the
 * simulator's own totals (EUR, JPY, KWD, GBP), and never faster than the simulator's buckets
 * allow (how close it runs to that bound is printed, not asserted: a timed upper bound fails on a
 * busy machine without saying anything about the client). The client is configured with the same table the simulator
 * publishes (RATE_LIMITS, windows divided by SPEED; GET /__simulator/limits shows what the
 * simulator applies) and 32 requests on the wire per group. Timing-sensitive: run it in band.
 */
import { BolClient } from '../../nodes/bol/client';
import { RATE_LIMITS } from '../../simulators/bol/simulator';
import { createStore } from '../../nodes/runtime/create-store';
import { DurableInbox } from '../../nodes/runtime/inbox';
import type { Store } from '../../nodes/runtime/store';
import { pollOnce } from '../../nodes/bol/poller';
import { toCanonicalOrder } from '../../nodes/bol/map';
import { validateDocument } from '../../nodes/model/validate';
import { FAST, spawnSimulator } from './support';

const ORDERS = 10_000;
const SPEED = 12;
const DAYS = 20;

let sim: Awaited<ReturnType<typeof spawnSimulator>>;
let store: Store;
beforeAll(async () => {
  sim = await spawnSimulator(['--orders', String(ORDERS), '--speed', String(SPEED), '--seed', '11', '--days', String(DAYS), '--currencies', 'EUR,JPY,KWD,GBP']);
  store = createStore({ backend: 'memory' });
  await store.open();
});
afterAll(async () => {
  await sim?.stop();
  await store?.close();
});

it(`backfills ${ORDERS} orders within the simulator's limits: no 429 storm, none missed or doubled, money exact`, async () => {
  const delivered = new Map<string, number>();
  const canonical = new Map<string, { amount: number; currency: string }>();
  const sums: Record<string, number> = {};
  const invalid: string[] = [];
  const inbox = new DurableInbox(store, 'bol:test', (entry) => {
    const order = entry.payload as Record<string, any>;
    delivered.set(entry.eventId, (delivered.get(entry.eventId) ?? 0) + 1);
    const doc = toCanonicalOrder(order, { account: 'tillwire-retailer' });
    if (!validateDocument('order', doc).valid) invalid.push(order.orderId);
    canonical.set(order.orderId, doc.totals.grandTotal);
    sums[doc.currency] = (sums[doc.currency] ?? 0) + doc.totals.grandTotal.amount;
    void inbox.complete(entry.id);
  });
  const limits = Object.fromEntries(Object.entries(RATE_LIMITS).map(([g, l]) => [g, { limit: l.limit, windowSeconds: l.windowSeconds / SPEED }]));
  const client = new BolClient({
    endpoint: sim.url,
    tokenUrl: `${sim.url}/token`,
    credentials: { clientId: 'tillwire-bol-client', clientSecret: 'tillwire-bol-secret' },
    policy: FAST,
    limits,
    maxInFlight: 32,
  });
  const poll = () =>
    pollOnce({
      client,
      store,
      cursorKey: 'bol:test:cursor',
      accept: (eventId, order) => inbox.accept(eventId, order),
      startAt: () => new Date(Date.now() - (DAYS + 1) * 86_400_000).toISOString(),
      overlapMs: 3_600_000,
      concurrency: 32,
    });
  const started = performance.now();
  const result = await poll();
  const elapsed = (performance.now() - started) / 1000;

  const all: Array<{ orderId: string; latestChangedDateTime: string; amount: number; currency: string }> = await sim.json('/__simulator/orders');
  expect(all.length).toBe(ORDERS);
  expect(result.accepted).toBe(ORDERS);
  expect(result.duplicates).toBe(0);
  expect(delivered.size).toBe(ORDERS);
  for (const o of all) expect(delivered.get(`order:${o.orderId}:${o.latestChangedDateTime}`)).toBe(1);
  expect(invalid).toEqual([]);

  // Money: every order and every currency's sum equal the simulator's own totals to the minor unit.
  for (const o of all) expect(canonical.get(o.orderId)).toEqual({ amount: o.amount, currency: o.currency });
  expect(sums).toEqual(await sim.json('/__simulator/totals'));
  expect(Object.keys(sums).sort()).toEqual(['EUR', 'GBP', 'JPY', 'KWD']);

  // Throttling: at most the first 429 per bucket (normally none).
  const { stats } = await sim.json('/__simulator/state');
  const applied = await sim.json('/__simulator/limits');
  for (const group of Object.keys(stats)) expect(stats[group].throttled).toBeLessThanOrEqual(1);
  expect(stats['orders:get'].requests - stats['orders:get'].throttled).toBe(ORDERS);
  expect(stats['orders:list'].requests - stats['orders:list'].throttled).toBe(result.pages);
  for (const group of Object.keys(applied))
    expect(applied[group].perSecond).toBeCloseTo((RATE_LIMITS[group].limit / RATE_LIMITS[group].windowSeconds) * SPEED, 9);

  // Elapsed time: the slowest bucket decides; its calls beyond the bucket size take (calls − size) / rate.
  const bound = Math.max(...Object.keys(stats).map((g) => Math.max(0, stats[g].requests - applied[g].limit) / applied[g].perSecond));
  console.log(
    `bol backfill: ${elapsed.toFixed(2)} s for ${ORDERS} orders (${result.pages} list pages over ${result.days.length} days); the simulator's limits allow ${bound.toFixed(2)} s (×${(elapsed / bound).toFixed(2)}); 429s ${JSON.stringify(client.throttled)}`,
  );
  expect(elapsed).toBeGreaterThanOrEqual(bound * 0.9);

  // The cursor moved, compare-and-set, to the window's upper bound; a re-poll over the overlap
  // delivers nothing again.
  expect(await store.kvGet('bol:test:cursor')).toEqual({ lastPolledAt: result.cursor });
  const again = await poll();
  expect(again.accepted).toBe(0);
  expect(delivered.size).toBe(ORDERS);
  expect([...delivered.values()].every((n) => n === 1)).toBe(true);
}, 90_000);
