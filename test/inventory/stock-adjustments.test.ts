/**
 * Canonical stock movements into the ledger (nodes/inventory/stock-adjustments.ts) on a memory
 * store: a lone document refused throws by name, an array's refused ones are named together while
 * the rest book, the bound on one message, and the same id twice in one array.
 */
import { createStore } from '../../nodes/runtime/create-store';
import type { Store } from '../../nodes/runtime/store';
import { bookAdjustments, isAdjustment, MAX_ADJUSTMENTS } from '../../nodes/inventory/stock-adjustments';

let store: Store;

beforeEach(async () => {
  store = createStore({ backend: 'memory' }, '/tmp', { heartbeatMs: 0 });
  await store.open();
});
afterEach(() => store.close());

const adj = (adjustmentId: string, delta: unknown, extra: Record<string, unknown> = {}) => ({
  kind: 'inventory.adjustment',
  adjustmentId,
  sku: 'MUG',
  locationId: 'WH1',
  delta,
  reason: 'receipt',
  occurredAt: '2026-12-05T08:30:00Z',
  ...extra,
});
const onHand = async () => (await store.inventory.positions({ skus: ['MUG'] }))[0]?.onHand;

it('tells a stock movement (or an array starting with one) from other documents', () => {
  expect(isAdjustment(adj('a', 1))).toBe(true);
  expect(isAdjustment([adj('a', 1), { kind: 'order' }])).toBe(true);
  expect(isAdjustment({ kind: 'inventory.position' })).toBe(false);
  expect(isAdjustment([])).toBe(false);
  expect(isAdjustment(null)).toBe(false);
});

it('a lone document: booked once, a repeat is a duplicate, a refusal or conflict throws by name and books nothing', async () => {
  expect((await bookAdjustments(store.inventory, adj('r1', 4))).summary).toMatchObject({ booked: 1, duplicate: 0 });
  expect(await bookAdjustments(store.inventory, adj('r1', 4))).toEqual({ summary: { booked: 0, duplicate: 1, events: [] }, skus: [] });
  await expect(bookAdjustments(store.inventory, adj('r1', 5))).rejects.toThrow('adjustment r1 of tillwire was applied before with other content; refused');
  await expect(bookAdjustments(store.inventory, adj('r2', 0))).rejects.toThrow('the adjustment is not a valid inventory.adjustment: delta must not be 0');
  await expect(bookAdjustments(store.inventory, adj('r3', 2, { sku: '' }))).rejects.toThrow('the adjustment is not a valid inventory.adjustment: sku');
  expect(await onHand()).toBe(4);
});

it('an array: the good ones book in order, the refused ones are named together (the first five), the same id twice counts once', async () => {
  const docs = [adj('a1', 3), adj('a1', 3), adj('a1', 9), ...Array.from({ length: 6 }, (_, i) => adj(`bad${i}`, 0)), adj('a2', -1)];
  const r = await bookAdjustments(store.inventory, docs);
  expect(r.summary).toMatchObject({ booked: 2, duplicate: 1 });
  expect(r.summary.events.map((e) => [e.source.documentId, e.delta, e.after])).toEqual([
    ['a1', 3, 3],
    ['a2', -1, 2],
  ]);
  expect(r.skus).toEqual(['MUG']);
  expect(r.problem?.message).toBe(
    '7 of 10 adjustments refused: adjustment [2] "a1": adjustment a1 of tillwire was applied before with other content; refused; adjustment [3] "bad0" is not a valid inventory.adjustment: delta must not be 0; adjustment [4] "bad1" is not a valid inventory.adjustment: delta must not be 0; adjustment [5] "bad2" is not a valid inventory.adjustment: delta must not be 0; adjustment [6] "bad3" is not a valid inventory.adjustment: delta must not be 0; and 2 more',
  );
  expect(await onHand()).toBe(2);
});

it(`more than ${MAX_ADJUSTMENTS} in one message are refused as a whole, naming the bound`, async () => {
  const docs = Array.from({ length: MAX_ADJUSTMENTS + 1 }, (_, i) => adj(`m${i}`, 1));
  await expect(bookAdjustments(store.inventory, docs)).rejects.toThrow(`${MAX_ADJUSTMENTS + 1} adjustments in one message, at most ${MAX_ADJUSTMENTS}`);
  expect(await onHand()).toBeUndefined();
  const fits = await bookAdjustments(store.inventory, docs.slice(0, MAX_ADJUSTMENTS));
  expect(fits.summary.booked).toBe(MAX_ADJUSTMENTS);
  expect(await onHand()).toBe(MAX_ADJUSTMENTS);
});
