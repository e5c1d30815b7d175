/**
 * 300,000 orders in the index (memory store), every one of them matched the way settlement
 * reconciliation asks: batches of 500 ids, one store query each. Counts are asserted exactly; the
 * memory the matching adds is measured and reported, and only bounded well above what batching
 * needs (all 300,000 answers held at once would pass it several times over); nothing is timed.
 */
import { createStore } from '../../nodes/runtime/create-store';
import { orderMatcherFor } from '../../nodes/runtime/order-index';
import type { OrderSeen, Store } from '../../nodes/runtime/store';

const ORDERS = 300_000;
const BATCH = 500;
const idOf = (i: number) => `302-${String(i).padStart(7, '0')}-${String((i * 7919) % 10_000_000).padStart(7, '0')}`;

let store: Store;
beforeAll(async () => {
  store = createStore({ backend: 'memory' }, undefined, { heartbeatMs: 0 });
  await store.open();
  // Every order but each 10th was taken in; every 3rd of those the ERP accepted.
  for (let i = 0; i < ORDERS; i += 1000) {
    const rows: OrderSeen[] = [];
    for (let j = i; j < i + 1000; j++)
      if (j % 10 !== 0) rows.push({ system: 'amazon', account: 'A1PA6795UKMFR9', orderId: idOf(j), gross: j, currency: 'EUR' });
    await store.orderSeen(rows);
  }
  for (let i = 0; i < ORDERS; i += 3)
    if (i % 10 !== 0) await store.orderAccepted({ system: 'amazon', account: 'A1PA6795UKMFR9', orderId: idOf(i) }, 'odoo', `S${i}`);
}, 120_000);
afterAll(() => store.close());

it('matches 300,000 ids in batches of 500 with memory that does not grow with the count', async () => {
  const matcher = orderMatcherFor(store, { system: 'amazon' });
  const before = process.memoryUsage();
  let peakHeap = before.heapUsed;
  let known = 0;
  let accepted = 0;
  let grossSum = 0;
  for (let i = 0; i < ORDERS; i += BATCH) {
    const ids = Array.from({ length: BATCH }, (_, k) => idOf(i + k));
    const answer = await matcher.match(ids);
    known += answer.tillwire.length;
    accepted += answer.erp.length;
    for (const t of answer.tillwire) grossSum += t.gross!.amount;
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }
  const after = process.memoryUsage();

  const expectedKnown = ORDERS - ORDERS / 10;
  const expectedAccepted = Array.from({ length: ORDERS }, (_, i) => i).filter((i) => i % 3 === 0 && i % 10 !== 0).length;
  const expectedGross = Array.from({ length: ORDERS }, (_, i) => i).reduce((s, i) => (i % 10 === 0 ? s : s + i), 0);
  expect(known).toBe(expectedKnown);
  expect(accepted).toBe(expectedAccepted);
  expect(grossSum).toBe(expectedGross);

  const mb = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;
  const growth = { peakHeapMB: mb(peakHeap - before.heapUsed), heapAfterMB: mb(after.heapUsed - before.heapUsed), rssAfterMB: mb(after.rss - before.rss) };
  console.log(`order index: ${ORDERS} ids matched in batches of ${BATCH}; memory growth ${JSON.stringify(growth)}`);
  // 300,000 answers with their gross held at once take well over 100 MB of heap; batching keeps one.
  expect(growth.peakHeapMB).toBeLessThan(100);
}, 300_000);
