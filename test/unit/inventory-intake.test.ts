/**
 * What each canonical document does to the inventory ledger (nodes/inventory/order-intake.ts), on
 * the memory store: till sales and till returns, returns by state and restock flag, orders by state.
 */
import { createStore } from '../../nodes/runtime/create-store';
import type { Store } from '../../nodes/runtime/store';
import { applyToLedger } from '../../nodes/inventory/order-intake';

let store: Store;
const settings = { locationIds: ['WH1'], returnLocationId: 'WH1' };
const onHand = async (sku: string, locationId: string) => (await store.inventory.positions({ skus: [sku], locationIds: [locationId] }))[0]?.onHand;

beforeEach(async () => {
  store = createStore({ backend: 'memory' }, process.cwd(), { heartbeatMs: 0 });
  await store.open();
  await store.inventory.snapshot({ system: 'odoo', documentId: 'q1' }, [
    { sku: 'CAP', locationId: 'STORE-1', onHand: 1 },
    { sku: 'CAP', locationId: 'WH1', onHand: 4 },
  ]);
});
afterEach(() => store.close());

const sale = (saleId: string, lines: Array<{ sku: string; quantity: number }>) => ({ kind: 'sale', saleId, storeId: 'STORE-1', terminalId: 'T1', lines });

it('a till sale takes units off its store at once, below zero if need be; a till return puts them back; each sale once', async () => {
  const sold = await applyToLedger(store.inventory, sale('S-1', [{ sku: 'CAP', quantity: 3 }]), settings);
  expect(sold).toMatchObject({ output: 1, change: { duplicate: false, events: [{ delta: -3, after: -2, note: 'negative-on-hand', kind: 'pos-sale' }] } });
  expect(await applyToLedger(store.inventory, sale('S-1', [{ sku: 'CAP', quantity: 3 }]), settings)).toMatchObject({ change: { duplicate: true } });
  await applyToLedger(store.inventory, sale('S-2', [{ sku: 'CAP', quantity: -1 }]), settings);
  expect(await onHand('CAP', 'STORE-1')).toBe(-1);
  expect(await onHand('CAP', 'WH1')).toBe(4);
});

it('a till sale at a location no order draws from and the ledger holds nothing at is booked, and flagged', async () => {
  const evil = await applyToLedger(store.inventory, { ...sale('S-9', [{ sku: 'CAP', quantity: 1 }]), storeId: 'EVIL-STORE' }, settings);
  expect(evil).toMatchObject({ output: 1, unknownLocation: 'EVIL-STORE', change: { events: [{ locationId: 'EVIL-STORE', delta: -1, after: -1 }] } });
  // Known: a position exists there (STORE-1, from the ERP reading), or the node draws from it (WH1).
  expect(await applyToLedger(store.inventory, sale('S-10', [{ sku: 'CAP', quantity: 1 }]), settings)).not.toHaveProperty('unknownLocation');
  const wh = await applyToLedger(store.inventory, { ...sale('S-11', [{ sku: 'NEW', quantity: 1 }]), storeId: 'WH1' }, settings);
  expect(wh).not.toHaveProperty('unknownLocation');
});

it('orders reserve while open, not once fulfilled; returns restock only received lines marked restock', async () => {
  const order = (status: string, id = 'o1') => ({
    kind: 'order',
    status,
    channel: { system: 'shopify', account: 'eu', id },
    lines: [{ sku: 'CAP', quantity: 2 }],
  });
  expect(await applyToLedger(store.inventory, order('fulfilled', 'o0'), settings)).toEqual({
    output: 1,
    note: 'order o0 of shopify/eu holds no reservation: nothing to consume (recorded: an accept arriving later reserves nothing)',
  });
  expect(await applyToLedger(store.inventory, order('paid'), settings)).toMatchObject({ output: 1, reservation: { outcome: 'reserved' } });
  expect(await applyToLedger(store.inventory, order('paid', 'o2'), settings)).toMatchObject({ output: 1 });
  expect(await applyToLedger(store.inventory, order('paid', 'o3'), settings)).toMatchObject({
    output: 2,
    reservation: { outcome: 'short', orderId: 'o3', short: [{ sku: 'CAP', requested: 2, available: 0 }] },
  });
  // Fulfilled without a shipment document: what o2 still holds has shipped; the same news again changes nothing.
  expect(await applyToLedger(store.inventory, order('fulfilled', 'o2'), settings)).toMatchObject({
    change: {
      events: [
        { field: 'reserved', delta: -2 },
        { field: 'onHand', delta: -2, after: 2 },
      ],
    },
  });
  expect(await applyToLedger(store.inventory, order('closed', 'o2'), settings)).toMatchObject({
    note: 'order o2 of shopify/eu holds no reservation: nothing to consume',
  });
  expect(await applyToLedger(store.inventory, order('cancelled', 'o3'), settings)).toMatchObject({
    note: 'order o3 of shopify/eu holds no reservation: nothing to release',
  });
  const ret = (status: string, restock: boolean, returnId = 'r1') => ({
    kind: 'return',
    returnId,
    status,
    channel: { system: 'shopify', account: 'eu', id: returnId },
    originalOrder: { id: 'o1', channel: { system: 'shopify', account: 'eu', id: 'o1' } },
    lines: [{ sku: 'CAP', quantity: 1, restock }],
  });
  expect(await applyToLedger(store.inventory, ret('requested', true), settings)).toMatchObject({ note: 'return is requested: nothing back on the shelf yet' });
  expect(await applyToLedger(store.inventory, ret('received', false, 'r2'), settings)).toMatchObject({ note: 'no line of the return is restocked' });
  await applyToLedger(store.inventory, ret('received', true), settings);
  expect(await onHand('CAP', 'WH1')).toBe(3);
  await expect(applyToLedger(store.inventory, ret('received', true, 'r3'), { locationIds: ['WH1'] })).rejects.toThrow(
    'return r3 restocks units but the node has no return location set',
  );
  await expect(applyToLedger(store.inventory, { kind: 'shipment', shipmentId: 'x', order: { id: 'o1' }, lines: [] }, settings)).rejects.toThrow(
    'the shipment names no channel order (channel system and id)',
  );
});
