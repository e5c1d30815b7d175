/**
 * A 10,000-order backfill through the poll loop with throttling on: the client paces itself on the
 * published restore rate, so Shopify never has to throttle it; every order is stored in the inbox
 * exactly once; it never runs faster than the bucket allows (how close it runs to that bound is
 * printed, not asserted: a timed upper bound fails on a busy machine without saying anything about
 * the client).
 */
import { ShopifySimulator } from '../../simulators/shopify/simulator';
import { ShopifyClient } from '../../nodes/shopify/client';
import { pollOrders, inboxSource, interpret, type PolledEvent } from '../../nodes/shopify/ingest';
import { DurableInbox } from '../../nodes/runtime/inbox';
import { createStore } from '../../nodes/runtime/create-store';
import type { InboxEntry } from '../../nodes/runtime/store';
import { toMinor } from '../../nodes/model/money';

jest.setTimeout(60_000);

it('backfills 10,000 orders with no THROTTLED answer, none missed or duplicated, in the time the restore rate allows', async () => {
  const MAX = 1000;
  const RATE = 2500;
  const sim = new ShopifySimulator({ orders: 10_000, maximumAvailable: MAX, restoreRate: RATE });
  await sim.start();
  const store = createStore({ backend: 'memory' });
  await store.open();
  const delivered: InboxEntry[] = [];
  const inbox = new DurableInbox(store, inboxSource(sim.shop), (e) => delivered.push(e));
  const client = new ShopifyClient({ shop: sim.shop, apiVersion: '2026-10', accessToken: sim.accessToken, baseUrl: sim.url });
  try {
    const started = performance.now();
    const result = await pollOrders({
      client,
      store,
      accept: (id, ev) => inbox.accept(id, ev),
      cursorKey: 'cursor',
      nodeId: 'n1',
      overlapMs: 60_000,
      initialSince: '2000-01-01T00:00:00Z',
      pageSize: 250,
    });
    const elapsed = (performance.now() - started) / 1000;

    expect(sim.stats.throttled).toBe(0);
    expect(client.throttled).toBe(0);
    const orders = delivered.filter((e) => (e.payload as PolledEvent).kind === 'order');
    expect(orders).toHaveLength(10_000);
    expect(new Set(orders.map((e) => e.eventId)).size).toBe(10_000);
    expect(result.orders).toBe(10_000);
    expect(result.pages).toBe(40);

    // Published bucket: the work costs sim.stats.requestedCost points; the bucket starts full.
    const allowed = (sim.stats.requestedCost - MAX) / RATE;
    console.log(`shopify backfill: ${elapsed.toFixed(2)} s; the bucket allows ${allowed.toFixed(2)} s (×${(elapsed / allowed).toFixed(2)})`);
    expect(elapsed).toBeGreaterThanOrEqual(allowed * 0.9);

    // Money: every order in the backfill maps exactly to Shopify's own total.
    const totals = new Map(sim.allOrders().map((o) => [String(o.id), toMinor(o.total_price, o.currency)]));
    for (const e of orders) {
      const r = interpret(e.payload as PolledEvent, sim.shop);
      if (!r.ok) throw new Error(r.reason);
      expect(r.doc.totals.grandTotal.amount).toBe(totals.get(r.doc.channel.id));
    }

    // The cursor is at the newest change: a second poll re-reads only the overlap window and stores nothing new.
    const again = await pollOrders({
      client,
      store,
      accept: (id, ev) => inbox.accept(id, ev),
      cursorKey: 'cursor',
      nodeId: 'n1',
      overlapMs: 60_000,
      initialSince: '2000-01-01T00:00:00Z',
      pageSize: 250,
    });
    expect(again.accepted).toBe(0);
    expect(again.orders).toBeLessThan(10);
    expect(sim.stats.throttled).toBe(0);
  } finally {
    await sim.stop();
    await store.close();
  }
});

it('a THROTTLED answer (a client that could not know the cost) is retried after the restore wait: one per bucket', async () => {
  const sim = new ShopifySimulator({ orders: 60, maximumAvailable: 100, restoreRate: 400 });
  await sim.start();
  const opts = { shop: sim.shop, apiVersion: '2026-10', accessToken: sim.accessToken, baseUrl: sim.url };
  const other = new ShopifyClient(opts);
  const client = new ShopifyClient(opts);
  try {
    await other.ordersPage({ first: 30 }); // drains the shared bucket to 8 points
    const ids: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await client.ordersPage({ first: 30, after });
      ids.push(...page.orders.map((o) => o.legacyResourceId));
      if (!page.hasNextPage) break;
      after = page.endCursor;
    }
    expect(ids).toEqual(sim.allOrders().map((o) => String(o.id)));
    expect(client.throttled).toBe(1);
    expect(sim.stats.throttled).toBe(1);
  } finally {
    await sim.stop();
  }
});
