/**
 * The inventory ledger on the store, one contract for SQLite (a file), PostgreSQL (the real server
 * on 127.0.0.1:5432) and memory: positions, events, idempotency by source document and by order,
 * reservations that cannot oversell under real concurrency, and bad input refused by name.
 */
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createStore, StoreConfig } from '../../nodes/runtime/create-store';
import type { Store } from '../../nodes/runtime/store';
import type { ChannelOrderKey, InventoryPosition, ReservationResult } from '../../nodes/runtime/inventory';
import { uniqueName } from '../support/services';
import { storeBackends } from '../support/store-backends';

const { dir: tmp, backends } = storeBackends('inv');

const erp = (documentId: string) => ({ system: 'odoo', documentId });
const shopify = (orderId: string): ChannelOrderKey => ({ system: 'shopify', account: 'shop-eu', orderId });
const at = (positions: InventoryPosition[], sku: string, locationId: string) => positions.find((p) => p.sku === sku && p.locationId === locationId);

describe.each(backends)('inventory ledger: %s', (name, config) => {
  let cfg: StoreConfig;
  let store: Store;
  const open = async () => {
    const s = createStore(cfg, tmp, { heartbeatMs: 0 });
    await s.open();
    return s;
  };
  beforeEach(async () => {
    cfg = config();
    store = await open();
  });
  afterEach(async () => {
    await store.close();
  });
  const position = async (sku: string, locationId: string) => at(await store.inventory.positions({ skus: [sku] }), sku, locationId);

  it('an ERP snapshot sets on hand absolutely and records the delta it implied; the same snapshot again changes nothing', async () => {
    const first = await store.inventory.snapshot(erp('quant-1'), [
      { sku: 'TEE-M', locationId: 'WH1', onHand: 12, inTransit: 4 },
      { sku: 'TEE-L', locationId: 'WH1', onHand: 3 },
    ]);
    expect(first.duplicate).toBe(false);
    expect(first.events.map((e) => [e.sku, e.field, e.delta, e.after])).toEqual([
      ['TEE-M', 'onHand', 12, 12],
      ['TEE-M', 'inTransit', 4, 4],
      ['TEE-L', 'onHand', 3, 3],
    ]);
    const second = await store.inventory.snapshot(erp('quant-2'), [{ sku: 'TEE-M', locationId: 'WH1', onHand: 9 }]);
    expect(second.events.map((e) => [e.field, e.delta, e.after, e.kind, e.source.documentId])).toEqual([['onHand', -3, 9, 'snapshot', 'quant-2']]);
    expect(await store.inventory.snapshot(erp('quant-2'), [{ sku: 'TEE-M', locationId: 'WH1', onHand: 9 }])).toEqual({ duplicate: true, events: [] });
    expect(await position('TEE-M', 'WH1')).toEqual({ sku: 'TEE-M', locationId: 'WH1', onHand: 9, reserved: 0, inTransit: 4, safetyStock: 0, states: {} });
    // The same document id relabelled with other figures is refused, not applied.
    await expect(store.inventory.snapshot(erp('quant-2'), [{ sku: 'TEE-M', locationId: 'WH1', onHand: 50 }])).rejects.toThrow(
      'snapshot quant-2 of odoo was applied before with other content; refused',
    );
    expect((await position('TEE-M', 'WH1'))?.onHand).toBe(9);
  });

  it('a snapshot line with safety stock sets it absolutely in the same document; a line without it keeps it; 0 clears it', async () => {
    const first = await store.inventory.snapshot(erp('read-1'), [{ sku: 'CAP', locationId: 'WH1', onHand: 10, safetyStock: 3 }]);
    expect(first.events.map((e) => [e.field, e.delta, e.after, e.kind, e.source.documentId])).toEqual([
      ['onHand', 10, 10, 'snapshot', 'read-1'],
      ['safetyStock', 3, 3, 'snapshot', 'read-1'],
    ]);
    // An order may take on hand − reserved − safety stock: 7 of the 10.
    expect(await store.inventory.reserve({ ...shopify('5001'), lines: [{ sku: 'CAP', qty: 8 }], locationIds: ['WH1'] })).toMatchObject({
      outcome: 'short',
      short: [{ sku: 'CAP', requested: 8, available: 7 }],
    });
    const [kept, cleared] = await store.inventory.snapshots([
      { source: erp('read-2'), lines: [{ sku: 'CAP', locationId: 'WH1', onHand: 11 }] },
      { source: erp('read-3'), lines: [{ sku: 'CAP', locationId: 'WH2', onHand: 4, safetyStock: 2 }] },
    ]);
    expect(kept).toEqual({ duplicate: false, events: [expect.objectContaining({ field: 'onHand', delta: 1, after: 11 })] });
    expect(cleared).toEqual({
      duplicate: false,
      events: [expect.objectContaining({ field: 'onHand' }), expect.objectContaining({ field: 'safetyStock', after: 2 })],
    });
    expect((await position('CAP', 'WH1'))?.safetyStock).toBe(3);
    const [zero] = await store.inventory.snapshots([{ source: erp('read-4'), lines: [{ sku: 'CAP', locationId: 'WH1', onHand: 11, safetyStock: 0 }] }]);
    expect(zero).toEqual({ duplicate: false, events: [expect.objectContaining({ field: 'safetyStock', delta: -3, after: 0, kind: 'snapshot' })] });
    expect(await position('CAP', 'WH1')).toEqual({ sku: 'CAP', locationId: 'WH1', onHand: 11, reserved: 0, inTransit: 0, safetyStock: 0, states: {} });
    await expect(store.inventory.snapshot(erp('read-5'), [{ sku: 'CAP', locationId: 'WH1', onHand: 11, safetyStock: -1 }])).rejects.toThrow(
      'snapshot lines[0].safetyStock must be a whole number from 0 to 1000000000, not -1',
    );
  });

  it('adjustments are deltas, idempotent by their source; safety stock and channel states are set absolutely', async () => {
    await store.inventory.snapshot(erp('s1'), [{ sku: 'MUG', locationId: 'WH1', onHand: 10 }]);
    await store.inventory.adjust(erp('move-7'), [{ sku: 'MUG', locationId: 'WH1', delta: -2 }]);
    await store.inventory.adjust(erp('move-7'), [{ sku: 'MUG', locationId: 'WH1', delta: -2 }]);
    await store.inventory.adjust(erp('po-3'), [{ sku: 'MUG', locationId: 'WH1', delta: 6, field: 'inTransit' }]);
    await store.inventory.setLevels({ system: 'shopify', account: 'shop-eu', documentId: 'levels-1' }, [
      { sku: 'MUG', locationId: 'WH1', safetyStock: 1, states: { damaged: 2, quality_control: 1 } },
    ]);
    const levels = await store.inventory.setLevels({ system: 'shopify', account: 'shop-eu', documentId: 'levels-2' }, [
      { sku: 'MUG', locationId: 'WH1', states: { damaged: 0 } },
    ]);
    expect(levels.events.map((e) => [e.field, e.delta, e.after])).toEqual([['state:damaged', -2, 0]]);
    expect(await position('MUG', 'WH1')).toEqual({
      sku: 'MUG',
      locationId: 'WH1',
      onHand: 8,
      reserved: 0,
      inTransit: 6,
      safetyStock: 1,
      states: { damaged: 0, quality_control: 1 },
    });
  });

  it('reserves an accepted order from its locations in order of preference, all lines or none', async () => {
    await store.inventory.snapshot(erp('s1'), [
      { sku: 'A', locationId: 'STORE-1', onHand: 2 },
      { sku: 'A', locationId: 'WH1', onHand: 5 },
      { sku: 'B', locationId: 'WH1', onHand: 1 },
    ]);
    await store.inventory.setLevels(erp('ss'), [{ sku: 'A', locationId: 'WH1', safetyStock: 1 }]);
    const ok = await store.inventory.reserve({
      ...shopify('1001'),
      lines: [
        { sku: 'A', qty: 4 },
        { sku: 'B', qty: 1 },
      ],
      locationIds: ['STORE-1', 'WH1'],
    });
    expect(ok).toEqual({
      ...shopify('1001'),
      outcome: 'reserved',
      duplicate: false,
      allocations: [
        { sku: 'A', locationId: 'STORE-1', qty: 2 },
        { sku: 'A', locationId: 'WH1', qty: 2 },
        { sku: 'B', locationId: 'WH1', qty: 1 },
      ],
    });
    // A free: WH1 5 − 2 reserved − 1 safety = 2; B free: 0. The order is short on B and reserves nothing.
    const short = await store.inventory.reserve({
      system: 'amazon',
      account: 'A1PA6795UKMFR9',
      orderId: '028-1',
      lines: [
        { sku: 'A', qty: 1 },
        { sku: 'B', qty: 2 },
      ],
      locationIds: ['WH1'],
    });
    expect(short).toEqual({
      system: 'amazon',
      account: 'A1PA6795UKMFR9',
      orderId: '028-1',
      outcome: 'short',
      duplicate: false,
      short: [{ sku: 'B', requested: 2, available: 0 }],
    });
    expect((await position('A', 'WH1'))?.reserved).toBe(2);
    expect((await position('B', 'WH1'))?.reserved).toBe(1);
  });

  it('the same order re-sent returns the first result and reserves nothing more; other lines under its id are a conflict', async () => {
    await store.inventory.snapshot(erp('s1'), [{ sku: 'A', locationId: 'WH1', onHand: 3 }]);
    const order = { ...shopify('1002'), lines: [{ sku: 'A', qty: 2 }], locationIds: ['WH1'] };
    const first = await store.inventory.reserve(order);
    const again = await store.inventory.reserve(order);
    expect(again).toEqual({ ...first, duplicate: true });
    expect((await position('A', 'WH1'))?.reserved).toBe(2);
    await expect(store.inventory.reserve({ ...order, lines: [{ sku: 'A', qty: 1 }] })).rejects.toThrow(
      'order 1002 of shopify/shop-eu was reserved before with other lines or locations; refused',
    );
    // A refused (short) order re-sent is refused again with its first figures, even after stock arrived.
    const big = { ...shopify('1003'), lines: [{ sku: 'A', qty: 5 }], locationIds: ['WH1'] };
    expect((await store.inventory.reserve(big)).outcome).toBe('short');
    await store.inventory.adjust(erp('receipt-1'), [{ sku: 'A', locationId: 'WH1', delta: 10 }]);
    expect(await store.inventory.reserve(big)).toMatchObject({ outcome: 'short', duplicate: true, short: [{ sku: 'A', requested: 5, available: 1 }] });
  });

  it('an operator reconsiders a short order: decided again on the stock free now, reserved once however many retries race; a reserved or cancelled order is never decided again', async () => {
    await store.inventory.snapshot(erp('s1'), [{ sku: 'B', locationId: 'WH1', onHand: 3 }]);
    const big = { ...shopify('2001'), lines: [{ sku: 'B', qty: 5 }], locationIds: ['WH1'] };
    expect((await store.inventory.reserve(big)).outcome).toBe('short');
    // Still short on today's stock: the new answer, with today's figures.
    await store.inventory.adjust(erp('receipt-b1'), [{ sku: 'B', locationId: 'WH1', delta: 1 }]);
    expect(await store.inventory.reserve(big, { reconsider: true })).toEqual({
      ...shopify('2001'),
      outcome: 'short',
      short: [{ sku: 'B', requested: 5, available: 4 }],
      duplicate: false,
      reconsidered: true,
    });
    // Stock arrives; ten retries of the operator's decision race (across two connections where the backend has them).
    await store.inventory.adjust(erp('receipt-b2'), [{ sku: 'B', locationId: 'WH1', delta: 9 }]);
    const other = name === 'memory' ? store : await open();
    try {
      const retries = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? other : store).inventory.reserve(big, { reconsider: true })));
      expect(retries.filter((r) => r.outcome === 'reserved' && !r.duplicate)).toHaveLength(1);
      expect(retries.filter((r) => r.outcome === 'reserved' && r.duplicate)).toHaveLength(9);
    } finally {
      if (other !== store) await other.close();
    }
    expect(await position('B', 'WH1')).toMatchObject({ onHand: 13, reserved: 5 });
    // Sent again, with or without the operator's flag: its answer, nothing more reserved.
    expect(await store.inventory.reserve(big)).toEqual({
      ...shopify('2001'),
      outcome: 'reserved',
      allocations: [{ sku: 'B', locationId: 'WH1', qty: 5 }],
      duplicate: true,
    });
    expect(await store.inventory.reserve(big, { reconsider: true })).toMatchObject({ outcome: 'reserved', duplicate: true });
    // Other lines under its id stay a conflict; a cancelled order is not brought back.
    await expect(store.inventory.reserve({ ...big, lines: [{ sku: 'B', qty: 1 }] }, { reconsider: true })).rejects.toThrow(
      'was reserved before with other lines or locations',
    );
    const gone = { ...shopify('2002'), lines: [{ sku: 'B', qty: 50 }], locationIds: ['WH1'] };
    expect((await store.inventory.reserve(gone)).outcome).toBe('short');
    await store.inventory.release(shopify('2002'), { system: 'shopify', account: 'shop-eu', documentId: 'cancelled:2002' });
    expect(await store.inventory.reserve(gone, { reconsider: true })).toMatchObject({ outcome: 'cancelled', duplicate: true });
    // A short order cancelled under an earlier version kept the outcome `short` (its cancel recorded
    // as a source, the order row left alone): a retry finds the cancel and closes it, reserving nothing.
    const old = { ...shopify('2003'), lines: [{ sku: 'B', qty: 2 }], locationIds: ['WH1'] };
    await store.inventory.adjust(erp('drain-b'), [{ sku: 'B', locationId: 'WH1', delta: -8 }]);
    expect((await store.inventory.reserve(old)).outcome).toBe('short');
    await store.inventory.release(shopify('2003'), { system: 'shopify', account: 'shop-eu', documentId: 'cancelled:2003' });
    const ledger = store.inventory as unknown as { driver: { query(sql: string, params: unknown[]): Promise<unknown> }; t: { order: string } };
    await ledger.driver.query(`UPDATE ${ledger.t.order} SET outcome = 'short' WHERE order_id = ?`, ['2003']);
    await store.inventory.adjust(erp('receipt-b3'), [{ sku: 'B', locationId: 'WH1', delta: 50 }]);
    expect(await store.inventory.reserve(old, { reconsider: true })).toMatchObject({ outcome: 'cancelled', wasReserved: false, duplicate: true });
    expect(await store.inventory.reserve(old, { reconsider: true })).toMatchObject({ outcome: 'cancelled', duplicate: true });
    expect((await position('B', 'WH1'))?.reserved).toBe(5);
  });

  it('a cancel releases, a shipment consumes (on hand and reserved drop), a return restocks; each once', async () => {
    await store.inventory.snapshot(erp('s1'), [{ sku: 'A', locationId: 'WH1', onHand: 10 }]);
    await store.inventory.reserve({ ...shopify('2001'), lines: [{ sku: 'A', qty: 4 }], locationIds: ['WH1'] });
    await store.inventory.reserve({ ...shopify('2002'), lines: [{ sku: 'A', qty: 3 }], locationIds: ['WH1'] });
    expect(await position('A', 'WH1')).toMatchObject({ onHand: 10, reserved: 7 });

    const shipped = await store.inventory.consume(shopify('2001'), { system: 'shopify', account: 'shop-eu', documentId: 'fulfilment-1' }, [
      { sku: 'A', qty: 3 },
    ]);
    expect(shipped.events.map((e) => [e.field, e.delta, e.after])).toEqual([
      ['reserved', -3, 4],
      ['onHand', -3, 7],
    ]);
    expect(
      (await store.inventory.consume(shopify('2001'), { system: 'shopify', account: 'shop-eu', documentId: 'fulfilment-1' }, [{ sku: 'A', qty: 3 }])).duplicate,
    ).toBe(true);
    // The cancel of the rest of 2001 releases its last open unit; all of 2002 is released.
    await store.inventory.release(shopify('2001'), { system: 'shopify', account: 'shop-eu', documentId: 'cancel-2001' });
    await store.inventory.release(shopify('2002'), { system: 'shopify', account: 'shop-eu', documentId: 'cancel-2002' });
    expect(await store.inventory.release(shopify('2002'), { system: 'shopify', account: 'shop-eu', documentId: 'cancel-2002' })).toEqual({
      duplicate: true,
      events: [],
    });
    expect(await position('A', 'WH1')).toMatchObject({ onHand: 7, reserved: 0 });
    expect(await store.inventory.reservation(shopify('2001'))).toEqual({
      result: { ...shopify('2001'), outcome: 'reserved', allocations: [{ sku: 'A', locationId: 'WH1', qty: 4 }] },
      open: [{ sku: 'A', locationId: 'WH1', qty: 0 }],
    });
    expect(await store.inventory.reservation({ ...shopify('2001'), account: 'shop-us' })).toBeUndefined();

    await store.inventory.restock(
      { system: 'shopify', account: 'shop-eu', documentId: 'return-9' },
      [{ sku: 'A', locationId: 'WH1', qty: 2 }],
      shopify('2001'),
    );
    await store.inventory.restock(
      { system: 'shopify', account: 'shop-eu', documentId: 'return-9' },
      [{ sku: 'A', locationId: 'WH1', qty: 2 }],
      shopify('2001'),
    );
    expect(await position('A', 'WH1')).toMatchObject({ onHand: 9, reserved: 0 });
  });

  it('a cancel before the accept is recorded: the late accept reserves nothing and says the order was cancelled', async () => {
    await store.inventory.snapshot(erp('s1'), [{ sku: 'A', locationId: 'WH1', onHand: 5 }]);
    const cancel = { system: 'shopify', account: 'shop-eu', documentId: 'cancelled:R3-9' };
    expect(await store.inventory.release(shopify('R3-9'), cancel)).toEqual({ duplicate: false, events: [] });
    const late = await store.inventory.reserve({ ...shopify('R3-9'), lines: [{ sku: 'A', qty: 2 }], locationIds: ['WH1'] });
    expect(late).toEqual({ ...shopify('R3-9'), outcome: 'cancelled', wasReserved: false, duplicate: true });
    expect(await position('A', 'WH1')).toMatchObject({ onHand: 5, reserved: 0 });
    // Fulfilled (closed) before its accept: the same.
    await store.inventory.consume(shopify('R3-10'), { system: 'shopify', account: 'shop-eu', documentId: 'fulfilled:R3-10' });
    expect(await store.inventory.reserve({ ...shopify('R3-10'), lines: [{ sku: 'A', qty: 1 }], locationIds: ['WH1'] })).toMatchObject({
      outcome: 'fulfilled',
      wasReserved: false,
    });
    expect(await position('A', 'WH1')).toMatchObject({ onHand: 5, reserved: 0 });
    // A shipment with lines for an order never seen is still refused by name.
    await expect(
      store.inventory.consume(shopify('R3-11'), { system: 'shopify', account: 'shop-eu', documentId: 'ship-1' }, [{ sku: 'A', qty: 1 }]),
    ).rejects.toThrow('no reservation for order R3-11 of shopify/shop-eu');
  });

  it('an accept re-sent after its own cancel reports the order as cancelled holding 0, not its old allocations', async () => {
    await store.inventory.snapshot(erp('s1'), [{ sku: 'A', locationId: 'WH1', onHand: 5 }]);
    const order = { ...shopify('R3-12'), lines: [{ sku: 'A', qty: 2 }], locationIds: ['WH1'] };
    expect((await store.inventory.reserve(order)).outcome).toBe('reserved');
    await store.inventory.release(shopify('R3-12'), { system: 'shopify', account: 'shop-eu', documentId: 'cancelled:R3-12' });
    expect(await store.inventory.reserve(order)).toEqual({ ...shopify('R3-12'), outcome: 'cancelled', wasReserved: true, duplicate: true });
    expect(await position('A', 'WH1')).toMatchObject({ onHand: 5, reserved: 0 });
  });

  it('a till sale decrements the store location at once, below zero if need be, and says so', async () => {
    await store.inventory.snapshot(erp('s1'), [{ sku: 'CAP', locationId: 'STORE-1', onHand: 1 }]);
    const sale = await store.inventory.posSale({ system: 'pos', documentId: 'STORE-1/T1/20261205/42' }, 'STORE-1', [{ sku: 'CAP', qty: 2 }]);
    expect(sale.events).toEqual([expect.objectContaining({ field: 'onHand', delta: -2, after: -1, kind: 'pos-sale', note: 'negative-on-hand' })]);
    expect((await store.inventory.posSale({ system: 'pos', documentId: 'STORE-1/T1/20261205/42' }, 'STORE-1', [{ sku: 'CAP', qty: 2 }])).duplicate).toBe(true);
    // A SKU the ledger never saw is sold all the same.
    await store.inventory.posSale({ system: 'pos', documentId: 'STORE-1/T1/20261205/43' }, 'STORE-1', [{ sku: 'NEW', qty: 1 }]);
    expect(await position('NEW', 'STORE-1')).toMatchObject({ onHand: -1, reserved: 0 });
    expect(await position('CAP', 'STORE-1')).toMatchObject({ onHand: -1 });
  });

  it('explains a figure from its events, most recent first, bounded', async () => {
    await store.inventory.snapshot(erp('s1'), [
      { sku: 'A', locationId: 'WH1', onHand: 5 },
      { sku: 'A', locationId: 'WH2', onHand: 1 },
    ]);
    await store.inventory.reserve({ ...shopify('3001'), lines: [{ sku: 'A', qty: 2 }], locationIds: ['WH1'] });
    await store.inventory.posSale({ system: 'pos', documentId: 'sale-1' }, 'WH2', [{ sku: 'A', qty: 1 }]);
    const all = await store.inventory.explain('A');
    expect(all.positions.map((p) => [p.locationId, p.onHand, p.reserved])).toEqual([
      ['WH1', 5, 2],
      ['WH2', 0, 0],
    ]);
    expect(all.events.map((e) => [e.kind, e.locationId, e.field, e.delta])).toEqual([
      ['pos-sale', 'WH2', 'onHand', -1],
      ['reserve', 'WH1', 'reserved', 2],
      ['snapshot', 'WH2', 'onHand', 1],
      ['snapshot', 'WH1', 'onHand', 5],
    ]);
    expect(all.events[1]).toMatchObject({ order: shopify('3001'), source: { system: 'shopify', account: 'shop-eu', documentId: '3001' } });
    expect(all.more).toBe(false);
    const one = await store.inventory.explain('A', 'WH1', 1);
    expect(one.positions).toHaveLength(1);
    expect(one.events.map((e) => e.kind)).toEqual(['reserve']);
    expect(one.more).toBe(true);
    // Every figure is the sum of its events' deltas.
    for (const p of all.positions) {
      const mine = all.events.filter((e) => e.locationId === p.locationId);
      expect(mine.filter((e) => e.field === 'onHand').reduce((n, e) => n + e.delta, 0)).toBe(p.onHand);
      expect(mine.filter((e) => e.field === 'reserved').reduce((n, e) => n + e.delta, 0)).toBe(p.reserved);
    }
  });

  it('refuses bad input by name and changes nothing', async () => {
    await store.inventory.snapshot(erp('s1'), [{ sku: 'A', locationId: 'WH1', onHand: 5 }]);
    await store.inventory.reserve({ ...shopify('4001'), lines: [{ sku: 'A', qty: 2 }], locationIds: ['WH1'] });
    const inv = store.inventory;
    const order = (lines: unknown, locationIds: unknown = ['WH1']) => ({ ...shopify('4002'), lines, locationIds }) as never;
    await expect(inv.reserve(order([{ sku: 'A', qty: -1 }]))).rejects.toThrow('order lines[0].qty must be a whole number from 1 to 1000000, not -1');
    await expect(inv.reserve(order([{ sku: 'A', qty: 1.5 }]))).rejects.toThrow('order lines[0].qty must be a whole number from 1 to 1000000, not 1.5');
    await expect(inv.reserve(order([{ sku: 'A', qty: 1e12 }]))).rejects.toThrow(
      'order lines[0].qty must be a whole number from 1 to 1000000, not 1000000000000',
    );
    await expect(inv.reserve(order([{ sku: 'A', qty: '2' }]))).rejects.toThrow('order lines[0].qty must be a whole number from 1 to 1000000, not "2"');
    await expect(inv.reserve(order(Array.from({ length: 501 }, (_, i) => ({ sku: `S${i}`, qty: 1 }))))).rejects.toThrow(
      'order lines: 501 given, at most 500 allowed',
    );
    await expect(inv.reserve(order([]))).rejects.toThrow('order lines must be a non-empty list');
    await expect(inv.reserve(order([{ sku: '', qty: 1 }]))).rejects.toThrow('order lines[0].sku must be a non-empty string');
    await expect(inv.reserve(order([{ sku: 'A', qty: 1 }], ['WH1', 'WH1']))).rejects.toThrow('order locationIds name a location twice');
    // Release: a SKU the order never reserved, more than is open, another channel's (or account's) order id.
    await expect(inv.release(shopify('4001'), { system: 'shopify', documentId: 'c1' }, [{ sku: 'ZZZ', qty: 1 }])).rejects.toThrow(
      'order 4001 of shopify/shop-eu has no reservation of ZZZ',
    );
    await expect(inv.release(shopify('4001'), { system: 'shopify', documentId: 'c1' }, [{ sku: 'A', qty: 3 }])).rejects.toThrow(
      'release of 3 × A for order 4001 of shopify/shop-eu: only 2 still reserved',
    );
    // Lines of another channel's (or account's) order id are refused; a whole cancel of it is recorded
    // as that order's own decision (a cancel before its accept) and leaves Shopify's 4001 alone.
    await expect(
      inv.release({ system: 'amazon', account: 'A1PA6795UKMFR9', orderId: '4001' }, { system: 'amazon', documentId: 'c1' }, [{ sku: 'A', qty: 1 }]),
    ).rejects.toThrow('no reservation for order 4001 of amazon/A1PA6795UKMFR9');
    await expect(inv.release({ ...shopify('4001'), account: 'shop-us' }, { system: 'shopify', documentId: 'c1' }, [{ sku: 'A', qty: 1 }])).rejects.toThrow(
      'no reservation for order 4001 of shopify/shop-us',
    );
    expect(await inv.release({ ...shopify('4001'), account: 'shop-us' }, { system: 'shopify', documentId: 'c9' })).toEqual({ duplicate: false, events: [] });
    await expect(inv.consume(shopify('4001'), { system: 'shopify', documentId: 'f1' }, [{ sku: 'A', qty: 0 }])).rejects.toThrow(
      'consume lines[0].qty must be a whole number from 1 to 1000000, not 0',
    );
    await expect(inv.adjust(erp('m1'), [{ sku: 'A', locationId: 'WH1', delta: 0 }])).rejects.toThrow('adjustment lines[0].delta must not be 0');
    await expect(inv.snapshot(erp('s2'), [{ sku: 'A', locationId: 'WH1', onHand: 1e10 }])).rejects.toThrow(
      'snapshot lines[0].onHand must be a whole number from -1000000000 to 1000000000, not 10000000000',
    );
    await expect(
      inv.snapshot(erp('s3'), [
        { sku: 'A', locationId: 'WH1', onHand: 1 },
        { sku: 'A', locationId: 'WH1', onHand: 2 },
      ]),
    ).rejects.toThrow('snapshot lines give A at WH1 twice');
    await expect(inv.setLevels(erp('l1'), [{ sku: 'A', locationId: 'WH1', states: { 'Bad Name': 1 } }])).rejects.toThrow(
      "levels lines[0].states: 'Bad Name' is not a state name",
    );
    await expect(inv.posSale({ system: 'pos', documentId: '' }, 'STORE-1', [{ sku: 'A', qty: 1 }])).rejects.toThrow(
      'source documentId must be a non-empty string',
    );
    // Nothing changed; the refused release's key is not spent: the right release under it still works.
    expect(await position('A', 'WH1')).toMatchObject({ onHand: 5, reserved: 2 });
    expect((await inv.release(shopify('4001'), { system: 'shopify', documentId: 'c1' })).events.map((e) => e.delta)).toEqual([-2]);
    expect((await position('A', 'WH1'))?.reserved).toBe(0);
  });

  // The case: 100 orders from 3 channels at once for the last 10 units.
  it('a batch of snapshots: each document once by its own source, a conflict or bad line refused by name while the rest apply', async () => {
    await store.inventory.snapshot(erp('old'), [{ sku: 'A', locationId: 'WH1', onHand: 5 }]);
    const docs = [
      { source: erp('r1'), lines: [{ sku: 'A', locationId: 'WH1', onHand: 7 }] },
      { source: erp('old'), lines: [{ sku: 'A', locationId: 'WH1', onHand: 99 }] },
      { source: erp('r2'), lines: [{ sku: 'B', locationId: 'WH1', onHand: -1.5 }] },
      // The same position again later in the batch sees the figure the first document left.
      { source: erp('r3'), lines: [{ sku: 'A', locationId: 'WH1', onHand: 4, states: { erp_reserved: 1 } }] },
      { source: erp('r1'), lines: [{ sku: 'A', locationId: 'WH1', onHand: 7 }] },
      // As it was applied before the batch: a duplicate, although the batch's first `old` was a conflict.
      { source: erp('old'), lines: [{ sku: 'A', locationId: 'WH1', onHand: 5 }] },
    ];
    const out = await store.inventory.snapshots(docs);
    expect(out[0]).toMatchObject({ duplicate: false, events: [{ field: 'onHand', delta: 2, after: 7, source: { documentId: 'r1' } }] });
    expect(String(out[1])).toContain('snapshot old of odoo was applied before with other content; refused');
    expect(String(out[2])).toContain('snapshot lines[0].onHand must be a whole number');
    expect(out[3]).toMatchObject({
      duplicate: false,
      events: [
        { field: 'onHand', delta: -3, after: 4 },
        { field: 'state:erp_reserved', delta: 1, after: 1 },
      ],
    });
    expect(out[4]).toEqual({ duplicate: true, events: [] });
    expect(out[5]).toEqual({ duplicate: true, events: [] });
    const ids = [out[0], out[3]].flatMap((c) => (c as { events: { id: string }[] }).events.map((e) => Number(e.id)));
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(await position('A', 'WH1')).toMatchObject({ onHand: 4, states: { erp_reserved: 1 } });
    expect(await position('B', 'WH1')).toBeUndefined();
    // Positions read by exact pairs (A at WH1 is in the cross product of the SKUs and locations, not in the pairs).
    await store.inventory.snapshot(erp('w2'), [
      { sku: 'A', locationId: 'WH2', onHand: 1 },
      { sku: 'C', locationId: 'WH1', onHand: 1 },
    ]);
    const pairs = await store.inventory.positions({
      at: [
        { sku: 'A', locationId: 'WH2' },
        { sku: 'C', locationId: 'WH1' },
      ],
    });
    expect(pairs.map((p) => `${p.sku}@${p.locationId}`)).toEqual(['A@WH2', 'C@WH1']);
    // The whole batch again changes nothing; the single-document path agrees it was applied.
    const again = await store.inventory.snapshots(docs);
    expect(again.filter((c) => !(c instanceof Error)).every((c) => (c as { duplicate: boolean }).duplicate)).toBe(true);
    expect(await store.inventory.snapshot(erp('r3'), docs[3].lines)).toEqual({ duplicate: true, events: [] });
    expect((await store.inventory.explain('A', 'WH1')).events.map((e) => e.id)).toEqual(
      [...ids]
        .reverse()
        .map(String)
        .concat((await store.inventory.explain('A', 'WH1')).events.slice(ids.length).map((e) => e.id)),
    );
  });

  it('a batch of adjustments: each document once by its own source, as adjust knows it; a conflict or bad line refused by name while the rest apply', async () => {
    await store.inventory.adjust(erp('m0'), [{ sku: 'A', locationId: 'WH1', delta: 5 }]);
    const docs = [
      { source: erp('m1'), lines: [{ sku: 'A', locationId: 'WH1', delta: 3 }] },
      { source: erp('m0'), lines: [{ sku: 'A', locationId: 'WH1', delta: 50 }] },
      { source: erp('m2'), lines: [{ sku: 'B', locationId: 'WH1', delta: 0 }] },
      // The same position again later in the batch sees the figure the first document left.
      { source: erp('m3'), lines: [{ sku: 'A', locationId: 'WH1', delta: -10 }] },
      { source: erp('m1'), lines: [{ sku: 'A', locationId: 'WH1', delta: 3 }] },
      { source: erp('m0'), lines: [{ sku: 'A', locationId: 'WH1', delta: 5 }] },
    ];
    const out = await store.inventory.adjustments(docs);
    expect(out[0]).toMatchObject({ duplicate: false, events: [{ kind: 'adjustment', field: 'onHand', delta: 3, after: 8, source: { documentId: 'm1' } }] });
    expect(String(out[1])).toContain('adjustment m0 of odoo was applied before with other content; refused');
    expect(String(out[2])).toContain('adjustment lines[0].delta must not be 0');
    expect(out[3]).toMatchObject({ duplicate: false, events: [{ field: 'onHand', delta: -10, after: -2, note: 'negative-on-hand' }] });
    expect(out[4]).toEqual({ duplicate: true, events: [] });
    expect(out[5]).toEqual({ duplicate: true, events: [] });
    expect(await position('A', 'WH1')).toMatchObject({ onHand: -2 });
    expect(await position('B', 'WH1')).toBeUndefined();
    // Again: nothing changes; the single-document path agrees it was applied.
    const again = await store.inventory.adjustments(docs);
    expect(again.filter((c) => !(c instanceof Error)).every((c) => (c as { duplicate: boolean }).duplicate)).toBe(true);
    expect(await store.inventory.adjust(erp('m3'), docs[3].lines)).toEqual({ duplicate: true, events: [] });
    expect(await position('A', 'WH1')).toMatchObject({ onHand: -2 });
    await expect(store.inventory.adjustments(Array.from({ length: 501 }, (_, i) => docs[i % 2]))).rejects.toThrow(
      'a batch of adjustments must be a list of at most 500 documents',
    );
  });

  it('batched snapshots of 2,000 positions while 100 orders reserve: no oversell, no order sees half a batch, events add up', async () => {
    const N = 2000;
    const skus = Array.from({ length: N }, (_, i) => `S${String(i).padStart(4, '0')}`);
    const batchesOf = (tag: string, onHand: (i: number) => number) =>
      Array.from({ length: N / 500 }, (_, b) =>
        skus
          .slice(b * 500, (b + 1) * 500)
          .map((sku, k) => ({ source: erp(`${tag}-${sku}`), lines: [{ sku, locationId: 'WH1', onHand: onHand(b * 500 + k) }] })),
      );
    for (const batch of batchesOf('open', () => 1)) await store.inventory.snapshots(batch);
    const other = name === 'memory' ? store : await open();
    try {
      // The ERP now reads 0 of even SKUs and 2 of odd ones; each order wants 2 of one SKU, so it is reserved only after the reading.
      const reading = (async () => {
        const out = [];
        for (const batch of batchesOf('read', (i) => (i % 2 ? 2 : 0))) out.push(await other.inventory.snapshots(batch));
        return out;
      })();
      const picked = Array.from({ length: 100 }, (_, i) => skus[i * 20 + (i % 2)]);
      const orders = await Promise.all(
        picked.map((sku, i) => store.inventory.reserve({ ...shopify(`batch-race-${i}`), lines: [{ sku, qty: 2 }], locationIds: ['WH1'] })),
      );
      const read = await reading;
      expect(read.flat().every((c) => !(c instanceof Error) && !c.duplicate)).toBe(true);
      const finals = await store.inventory.positions({ skus: picked });
      for (const [i, sku] of picked.entries()) {
        const p = at(finals, sku, 'WH1')!;
        const reservedHere = orders[i].outcome === 'reserved';
        if (i % 2 === 0) expect(reservedHere).toBe(false);
        expect(p).toMatchObject({ onHand: i % 2 ? 2 : 0, reserved: reservedHere ? 2 : 0 });
        // Replayed in id order, the events add up to the position, and no reservation took more than was free.
        const events = (await store.inventory.explain(sku, 'WH1', 500)).events.reverse();
        let onHand = 0;
        let reserved = 0;
        for (const e of events) {
          if (e.field === 'reserved' && e.delta > 0) expect(onHand - reserved).toBeGreaterThanOrEqual(e.delta);
          if (e.field === 'onHand') onHand += e.delta;
          if (e.field === 'reserved') reserved += e.delta;
          expect(e.after).toBe(e.field === 'onHand' ? onHand : reserved);
        }
        expect({ onHand, reserved }).toEqual({ onHand: p.onHand, reserved: p.reserved });
        // A reservation of a batch's position comes wholly before or wholly after that batch's events.
        const batch = read[Math.floor((i * 20) / 500)] as { events: { id: string }[] }[];
        const batchIds = batch.flatMap((c) => c.events.map((e) => BigInt(e.id)));
        const [lo, hi] = [batchIds.reduce((a, b) => (a < b ? a : b)), batchIds.reduce((a, b) => (a > b ? a : b))];
        for (const e of events.filter((x) => x.kind === 'reserve')) expect(BigInt(e.id) < lo || BigInt(e.id) > hi).toBe(true);
      }
    } finally {
      if (other !== store) await other.close();
    }
  });

  it('100 concurrent orders across 3 channels for 10 units: exactly 10 reserved, 90 flagged short with their channel and figures', async () => {
    await store.inventory.snapshot(erp('s1'), [{ sku: 'LAST', locationId: 'WH1', onHand: 10 }]);
    // Two stores on one file or database (memory is private to one): the orders race across connections.
    const other = name === 'memory' ? store : await open();
    try {
      const channels = [
        { system: 'shopify', account: 'shop-eu' },
        { system: 'amazon', account: 'A1PA6795UKMFR9' },
        { system: 'bol', account: '' },
      ];
      const results: ReservationResult[] = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          (i % 2 ? other : store).inventory.reserve({ ...channels[i % 3], orderId: `race-${i}`, lines: [{ sku: 'LAST', qty: 1 }], locationIds: ['WH1'] }),
        ),
      );
      const reserved = results.filter((r) => r.outcome === 'reserved');
      const short = results.filter((r) => r.outcome === 'short');
      expect(reserved).toHaveLength(10);
      expect(short).toHaveLength(90);
      for (const r of short) {
        expect(r).toMatchObject({ short: [{ sku: 'LAST', requested: 1, available: 0 }] });
        expect(channels).toContainEqual({ system: r.system, account: r.account });
      }
      expect(await position('LAST', 'WH1')).toMatchObject({ onHand: 10, reserved: 10 });
      const why = await store.inventory.explain('LAST', 'WH1', 500);
      expect(
        why.events
          .filter((e) => e.kind === 'reserve')
          .map((e) => e.order?.orderId)
          .sort(),
      ).toEqual(reserved.map((r) => r.orderId).sort());
    } finally {
      if (other !== store) await other.close();
    }
  });
});

// Two Node processes on one SQLite file (as two Node-RED instances sharing a file would be): the
// file's write lock, not this process's queue, keeps the units to as many orders. Stock lasts for
// most of the run, so the two processes' reservations interleave throughout.
it('SQLite: 2,000 orders from two processes on one file for 1,000 units: exactly 1,000 reserved', async () => {
  const file = path.join(tmp, `${uniqueName('procs')}.db`);
  const seed = createStore({ backend: 'sqlite', file }, tmp, { heartbeatMs: 0 });
  await seed.open();
  await seed.inventory.snapshot(erp('s1'), [{ sku: 'LAST', locationId: 'WH1', onHand: 1000 }]);
  await seed.close();
  const dist = path.resolve(__dirname, '../../dist/nodes/runtime/create-store.js'); // run `npm run build` first
  const script = (part: number) => `
    const { createStore } = require(${JSON.stringify(dist)});
    (async () => {
      const s = createStore({ backend: 'sqlite', file: ${JSON.stringify(file)} }, '.', { heartbeatMs: 0 });
      await s.open();
      const r = await Promise.all(Array.from({ length: 1000 }, (_, i) => s.inventory.reserve({
        system: ['shopify', 'amazon', 'bol'][i % 3], account: '', orderId: 'p${part}-' + i, lines: [{ sku: 'LAST', qty: 1 }], locationIds: ['WH1'] })));
      await s.close();
      console.log(JSON.stringify(r.map((x) => x.outcome)));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const run = (part: number) =>
    new Promise<string[]>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', script(part)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`reserving process exited ${code}: ${err}`))));
    });
  const outcomes = (await Promise.all([run(1), run(2)])).flat();
  expect(outcomes.filter((o) => o === 'reserved')).toHaveLength(1000);
  expect(outcomes.filter((o) => o === 'short')).toHaveLength(1000);
  const check = createStore({ backend: 'sqlite', file }, tmp, { heartbeatMs: 0 });
  await check.open();
  try {
    expect(await check.inventory.positions({ skus: ['LAST'] })).toEqual([expect.objectContaining({ onHand: 1000, reserved: 1000 })]);
  } finally {
    await check.close();
  }
});
