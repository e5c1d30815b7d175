/**
 * Channel states on the ledger (nodes/inventory/channel-states.ts), on an in-memory store: which
 * shop an ERP location's states come from, and when another shop takes it over.
 */
import { createStore } from '../../nodes/runtime/create-store';
import type { Store } from '../../nodes/runtime/store';
import { bookChannelStates, channelStatesOf, STATES_HANDOVER_MS } from '../../nodes/inventory/channel-states';
import type { AvailableToSell } from '../../nodes/model/types.generated';

let store: Store;
beforeEach(async () => {
  store = createStore({ backend: 'memory' });
  await store.open();
  await store.inventory.snapshot({ system: 'odoo', documentId: 'r1' }, [{ sku: 'MUG', locationId: 'WH1', onHand: 10 }]);
});
afterEach(() => store.close());

const T = Date.parse('2026-12-01T10:00:00Z');
const read = (account: string, at: number, damaged: number): AvailableToSell => ({
  kind: 'inventory.ats',
  sku: 'MUG',
  channel: { system: 'shopify', account },
  locationIds: ['gid://shopify/Location/1'],
  available: 5,
  computedAt: new Date(at).toISOString(),
  attributes: { erpLocation: 'WH1', shopify_damaged: String(damaged) },
});
const book = (doc: AvailableToSell) => bookChannelStates(store, doc, channelStatesOf(doc, Date.parse(doc.computedAt))!);
const damaged = async () => (await store.inventory.positions({ skus: ['MUG'] }))[0].states.shopify_damaged;

it("an ERP location's states come from one shop; another shop takes it over only once the first has not read back for a day", async () => {
  expect((await book(read('shop-a', T, 2))).outcome).toBe('booked');
  await expect(book(read('shop-b', T + 3600_000, 7))).rejects.toThrow(/come from account "shop-a".*account "shop-b" names the same ERP location/);
  expect(await damaged()).toBe(2);
  // A day after shop A's last read (the shop renamed, the location moved): shop B takes it over.
  expect((await book(read('shop-b', T + STATES_HANDOVER_MS + 1000, 7))).outcome).toBe('booked');
  expect(await damaged()).toBe(7);
  // Now shop A is the other one: refused, and its older read is not stale-skipped silently either.
  await expect(book(read('shop-a', T + STATES_HANDOVER_MS + 2000, 0))).rejects.toThrow(/come from account "shop-b"/);
  expect(await damaged()).toBe(7);
});
