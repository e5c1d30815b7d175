/** SearchOrders backfill through the poller with Square's rate limit on: one 429 at most, nothing missed or doubled. */
import { createStore } from '../../nodes/runtime/create-store';
import { observeCalls, type CallEvent } from '../../nodes/runtime/call-observer';
import { TokenBucket } from '../../nodes/runtime/http';
import { DurableInbox } from '../../nodes/runtime/inbox';
import type { InboxEntry, Store } from '../../nodes/runtime/store';
import { pollOnce } from '../../nodes/square/poller';
import { SquareSimulator } from '../../simulators/square/simulator';
import { clientFor, startSim } from './support';

let sim: SquareSimulator;
let store: Store;
afterEach(async () => {
  await sim?.stop();
  await store?.close();
});

it('backfills 1500 orders in pages of 50 under a 20/s limit (client paced at 20/s, burst 1, as the config node does): no 429 after the first signal, each order once, cursor forward', async () => {
  sim = await startSim({ rateLimit: { ratePerSecond: 20, burst: 20 } });
  for (let i = 0; i < 1500; i++) sim.randomSale(['L-LDN', 'L-NYC', 'L-TYO'][i % 3]);
  store = createStore({ backend: 'memory' });
  await store.open();
  const delivered: InboxEntry[] = [];
  const inbox = new DurableInbox(store, 'square-orders:test', (e) => delivered.push(e));
  // Another client on the same account has just used up the bucket: the backfill meets a 429 first.
  const before = sim.stats.rateLimited;
  sim.exhaustRateLimit(500);
  const retries: CallEvent[] = [];
  const client = clientFor(sim, { governor: new TokenBucket(20, 1) });
  const opts = { cursorKey: 'square:poll:test', locationIds: ['L-LDN', 'L-NYC', 'L-TYO'], overlapMs: 60_000, initialLookbackMs: 86_400_000, pageSize: 50 };
  const report = await observeCalls(
    (e) => retries.push(e),
    () => pollOnce(client, store, inbox, opts),
  );
  expect(report).toMatchObject({ pages: 30, orders: 1500, accepted: 1500, duplicates: 0 });
  expect(sim.stats.rateLimited - before).toBe(1);
  expect(retries).toHaveLength(1);
  expect(retries[0]).toMatchObject({ type: 'throttle', system: 'square', kind: 'rate-limit', status: 429 });
  const ids = delivered.map((e) => (e.payload as any).order.id);
  expect(new Set(ids).size).toBe(1500);
  expect(new Set(ids)).toEqual(new Set(sim.orders.keys()));
  const newest = [...sim.orders.values()]
    .map((o) => o.updated_at)
    .sort()
    .pop();
  expect(await store.kvGet('square:poll:test')).toEqual({ updatedAt: newest });

  // The next pass re-reads only the overlap window; repeats are recognised, nothing is delivered twice.
  const changed = sim.randomSale('L-LDN');
  const again = await pollOnce(client, store, inbox, opts);
  expect(again.accepted).toBe(1);
  expect(again.duplicates).toBe(again.orders - 1);
  expect(delivered).toHaveLength(1501);
  expect((delivered[1500].payload as any).order.id).toBe(changed.id);
  expect(sim.stats.rateLimited - before).toBe(1);
});
