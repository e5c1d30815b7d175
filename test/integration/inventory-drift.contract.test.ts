/**
 * ERP stock readings booked into the inventory ledger and drift found against the ERP and the
 * channels (nodes/inventory/erp-snapshot.ts, channel-drift.ts), on SQLite (a file) and PostgreSQL
 * (the real server): snapshots with the ERP's reserved figure kept apart, each reading once, stale
 * readings skipped, relabelled ones refused, and each drift with its size and cause.
 */
import { createStore } from '../../nodes/runtime/create-store';
import type { Store } from '../../nodes/runtime/store';
import type { InventoryPosition as PositionDoc, AvailableToSell } from '../../nodes/model/types.generated';
import { bookErpReading, ERP_RESERVED } from '../../nodes/inventory/erp-snapshot';
import { checkReadBack, compareChannelReading } from '../../nodes/inventory/channel-drift';
import { NO_TOLERANCE } from '../../nodes/inventory/drift';
import { MAX_POSITIONS, StockReadings } from '../../nodes/inventory/stock-readings';
import { stockFigureKey } from '../../nodes/core/channel-write';
import { storeBackends } from '../support/store-backends';

const { dir: tmp, backends } = storeBackends('drift', { memory: false, pgPool: 3 });

const ODOO = { system: 'odoo', account: '' };
const reading = (asOf: string, onHand: number, reserved: number, sku = 'MUG', locationId = 'WH/Stock'): PositionDoc => ({
  kind: 'inventory.position',
  sku,
  locationId,
  onHand,
  reserved,
  inTransit: 0,
  safetyStock: 0,
  asOf,
});
const order = (orderId: string, qty: number, sku = 'MUG') => ({
  system: 'shopify',
  account: 'shop-eu',
  orderId,
  lines: [{ sku, qty }],
  locationIds: ['WH/Stock'],
});

describe.each(backends)('ERP readings and drift: %s', (_name, config) => {
  let store: Store;
  beforeEach(async () => {
    store = createStore(config(), tmp, { heartbeatMs: 0 });
    await store.open();
  });
  afterEach(async () => {
    await store.close();
  });
  const position = async (sku = 'MUG') => (await store.inventory.positions({ skus: [sku], locationIds: ['WH/Stock'] }))[0];

  it('a snapshot sets named states absolutely beside on hand, own properties only', async () => {
    await store.inventory.snapshot({ system: 'odoo', documentId: 'r1' }, [
      { sku: 'A', locationId: 'L', onHand: 5, states: { erp_reserved: 2, constructor: 1 } },
    ]);
    await store.inventory.snapshot({ system: 'odoo', documentId: 'r2' }, [{ sku: 'A', locationId: 'L', onHand: 5, states: { erp_reserved: 0 } }]);
    const [p] = await store.inventory.positions({ skus: ['A'] });
    expect(p).toMatchObject({ onHand: 5, states: { erp_reserved: 0, constructor: 1 } });
    await expect(
      store.inventory.snapshot({ system: 'odoo', documentId: 'r3' }, [{ sku: 'A', locationId: 'L', onHand: 5, states: { 'Bad Name': 1 } }]),
    ).rejects.toThrow("snapshot lines[0].states: 'Bad Name' is not a state name");
  });

  it('books the opening reading, then reports reserved drift naming the order the ERP has not reserved; the same reading again is a duplicate, an older one stale, another in the same second booked', async () => {
    const first = await bookErpReading(store, ODOO, reading('2026-12-05T10:00:00Z', 10, 0), NO_TOLERANCE);
    expect(first).toMatchObject({ outcome: 'booked', drift: [] });
    expect(await position()).toMatchObject({ onHand: 10, reserved: 0, states: {} });

    expect((await store.inventory.reserve(order('1001', 3))).outcome).toBe('reserved');
    expect((await store.inventory.reserve(order('1002', 1))).outcome).toBe('reserved');
    // The ERP took order 1002 in (the order index knows) and reserved its unit; 1001 is not in the ERP yet.
    await store.orderAccepted({ system: 'shopify', account: 'shop-eu', orderId: '1002' }, 'odoo', 'S00042');
    const second = await bookErpReading(store, ODOO, reading('2026-12-05T10:05:00Z', 10, 1), NO_TOLERANCE);
    expect(second.outcome).toBe('booked');
    expect(second.drift).toEqual([
      expect.objectContaining({
        kind: 'erp-reserved',
        sku: 'MUG',
        locationId: 'WH/Stock',
        reportedBy: ODOO,
        theirs: 1,
        ours: 4,
        size: -3,
        cause: 'reserved-in-ledger-not-in-erp',
        documents: [{ kind: 'order', system: 'shopify', account: 'shop-eu', documentId: '1001', units: 3 }],
      }),
    ]);
    expect(second.drift[0].message).toBe(
      'ERP reserved 1, ledger reserved 4: order shopify/shop-eu 1001 (3) reserved in the ledger, not in the ERP; 3 unit(s) the ERP has not reserved (an order not written to the ERP yet, or written without reserving)',
    );
    // The ledger's reserved stays its own; the ERP's is kept apart.
    expect(await position()).toMatchObject({ onHand: 10, reserved: 4, states: { [ERP_RESERVED]: 1 } });

    expect(await bookErpReading(store, ODOO, reading('2026-12-05T10:05:00Z', 10, 1), NO_TOLERANCE)).toMatchObject({ outcome: 'duplicate', drift: [] });
    expect(await bookErpReading(store, ODOO, reading('2026-12-05T10:01:00Z', 99, 0), NO_TOLERANCE)).toEqual({
      outcome: 'stale',
      newer: '2026-12-05T10:05:00Z',
      drift: [],
    });
    expect((await position()).onHand).toBe(10);
    // Another read within the same second (Odoo gives the read time to the second) that differs is a reading of its own.
    expect(await bookErpReading(store, ODOO, reading('2026-12-05T10:05:00Z', 7, 1), NO_TOLERANCE)).toMatchObject({ outcome: 'booked' });
    expect((await position()).onHand).toBe(7);
  });

  it('on-hand drift names the till sale the ERP has not booked yet, then a change made in the ERP alone; within the tolerance nothing is reported', async () => {
    await bookErpReading(store, ODOO, reading('2026-12-05T10:00:00Z', 10, 0), NO_TOLERANCE);
    await store.inventory.posSale({ system: 'pos', documentId: 'SALE-7' }, 'WH/Stock', [{ sku: 'MUG', qty: 2 }]);
    const r1 = await bookErpReading(store, ODOO, reading('2026-12-05T10:01:00Z', 10, 0), NO_TOLERANCE);
    expect(r1.drift).toEqual([expect.objectContaining({ kind: 'erp-on-hand', theirs: 10, ours: 8, size: 2, cause: 'ledger-events-not-in-erp' })]);
    expect(r1.drift[0].documents).toEqual([expect.objectContaining({ kind: 'pos-sale', system: 'pos', documentId: 'SALE-7', units: -2 })]);
    expect(r1.drift[0].message).toBe(
      "ERP on hand 10, ledger on hand 8 (+2): the ledger booked pos-sale pos SALE-7 (-2) since the ERP's reading at 2026-12-05T10:00:00Z, not in the ERP yet",
    );
    // The ERP is the system of record: its figure is booked, and the report says what the ledger had.
    expect((await position()).onHand).toBe(10);

    const r2 = await bookErpReading(store, ODOO, reading('2026-12-05T10:02:00Z', 13, 0), NO_TOLERANCE);
    expect(r2.drift).toEqual([expect.objectContaining({ kind: 'erp-on-hand', theirs: 13, ours: 10, size: 3, cause: 'changed-in-erp', documents: [] })]);

    const tolerant = { ...NO_TOLERANCE, onHand: 3 };
    expect((await bookErpReading(store, ODOO, reading('2026-12-05T10:03:00Z', 10, 0), tolerant)).drift).toEqual([]);
    expect((await bookErpReading(store, ODOO, reading('2026-12-05T10:04:00Z', 14, 0), tolerant)).drift).toEqual([
      expect.objectContaining({ size: 4, tolerance: 3 }),
    ]);
  });

  it('an ERP whose reading carries no reserved figure (Business Central) is not compared on reserved', async () => {
    const bc = { system: 'business-central', account: '' };
    await bookErpReading(store, bc, reading('2026-12-05T10:00:00Z', 10, 0), NO_TOLERANCE);
    await store.inventory.reserve(order('2001', 2));
    const r = await bookErpReading(store, bc, reading('2026-12-05T10:01:00Z', 10, 0), NO_TOLERANCE);
    expect(r).toMatchObject({ outcome: 'booked', drift: [] });
    expect((await position()).states).toEqual({});
  });

  it('a channel read-back against the last figure pushed: changed outside Tillwire, read before the push, never pushed, within tolerance', async () => {
    const readBack = (available: number, computedAt: string, sku = 'MUG'): AvailableToSell =>
      checkReadBack({ kind: 'inventory.ats', sku, channel: { system: 'shopify', account: 'shop-eu.myshopify.com' }, available, computedAt });
    await store.kvPut(stockFigureKey('shopify', 'shop-eu.myshopify.com', 'tillwire-shopify-inventory', 'MUG', undefined), {
      at: '2026-12-05T10:00:00Z',
      quantity: 5,
      sentAt: '2026-12-05T10:00:02.000Z',
    });
    const changed = await compareChannelReading(store, readBack(7, '2026-12-05T10:10:00Z'), 0);
    expect(changed.drift).toEqual([
      expect.objectContaining({
        kind: 'channel',
        sku: 'MUG',
        reportedBy: { system: 'shopify', account: 'shop-eu.myshopify.com' },
        theirs: 7,
        ours: 5,
        size: 2,
        cause: 'changed-outside-tillwire',
        message:
          "channel shows 7, Tillwire last pushed 5 at 2026-12-05T10:00:02.000Z: changed outside Tillwire (a sale on the channel not taken in yet, or an edit in the channel's own admin)",
      }),
    ]);
    expect(await compareChannelReading(store, readBack(7, '2026-12-05T09:59:00Z'), 0)).toMatchObject({ outcome: 'read-before-push', drift: [] });
    expect((await compareChannelReading(store, readBack(6, '2026-12-05T10:10:00Z'), 1)).drift).toEqual([]);
    expect((await compareChannelReading(store, readBack(3, '2026-12-05T10:10:00Z', 'TEA'), 0)).drift).toEqual([
      expect.objectContaining({ cause: 'never-pushed', theirs: 3, ours: 0 }),
    ]);
    expect(() => checkReadBack({ kind: 'inventory.ats', sku: 'MUG', channel: { system: 'ebay' }, available: 1, computedAt: '2026-12-05T10:00:00Z' })).toThrow(
      'channel "ebay" has no inventory write node',
    );
  });

  it('a reading of 1,200 positions is booked in batches: a position read twice in order, an older reading stale, drift named as one by one', async () => {
    const readings = new StockReadings(NO_TOLERANCE);
    const erp = { system: 'odoo' };
    const skus = Array.from({ length: 1200 }, (_, i) => `P${String(i).padStart(4, '0')}`);
    const opening = await readings.apply(store, { erp, payload: skus.map((sku) => reading('2026-12-05T10:00:00Z', 5, 0, sku)) } as never);
    expect(opening).toEqual({ summary: { booked: 1200, duplicate: 0, stale: 0 }, drift: [], skus });
    await store.inventory.posSale({ system: 'pos', documentId: 'till-1' }, 'WH/Stock', [{ sku: 'P0900', qty: 2 }]);
    const next = await readings.apply(store, {
      erp,
      payload: [
        ...skus.map((sku) => reading('2026-12-05T11:00:00Z', sku === 'P0900' ? 4 : 5, 0, sku)),
        // Read again later in the same message: booked after the first; an older one is stale.
        reading('2026-12-05T12:00:00Z', 7, 0, 'P0001'),
        reading('2026-12-05T09:00:00Z', 1, 0, 'P0002'),
      ],
    } as never);
    expect(next.summary).toEqual({ booked: 1201, duplicate: 0, stale: 1 });
    expect(next.problem).toBeUndefined();
    // The till sale took 5 to 3; the ERP reads 4: one unit of drift, the sale named as booked since the last reading.
    // P0001's second reading is compared with its first of this message: moved in the ERP alone. Reports keep the reading's order.
    expect(next.drift).toEqual([
      expect.objectContaining({
        kind: 'erp-on-hand',
        sku: 'P0900',
        theirs: 4,
        ours: 3,
        documents: [expect.objectContaining({ documentId: 'till-1', units: -2 })],
      }),
      expect.objectContaining({ kind: 'erp-on-hand', sku: 'P0001', theirs: 7, ours: 5, cause: 'changed-in-erp', readAt: '2026-12-05T12:00:00Z' }),
    ]);
    const figures = new Map((await store.inventory.positions()).map((p) => [p.sku, p.onHand]));
    expect([figures.size, figures.get('P0001'), figures.get('P0002'), figures.get('P0900'), figures.get('P1199')]).toEqual([1200, 7, 5, 4, 5]);
    expect((await store.inventory.explain('P0001', 'WH/Stock')).events.map((e) => [e.delta, e.after])).toEqual([
      [2, 7],
      [5, 5],
    ]);
  });

  it('an array reading books its good positions and names the refused ones; one that is too large or names no ERP is refused whole', async () => {
    const readings = new StockReadings(NO_TOLERANCE);
    const erp = { system: 'odoo' };
    const r = await readings.apply(store, {
      erp,
      payload: [
        reading('2026-12-05T10:00:00Z', 4, 0, 'A'),
        { ...reading('2026-12-05T10:00:00Z', 1, 0, 'B'), onHand: 1.5 },
        reading('2026-12-05T10:00:00Z', 6, 0, 'C'),
      ],
    } as never);
    expect(r.summary).toEqual({ booked: 2, duplicate: 0, stale: 0 });
    expect(r.problem?.message).toBe('1 position(s) of the reading refused: position [1] is not a valid inventory.position: onHand must be a whole number');
    expect((await store.inventory.positions()).map((p) => [p.sku, p.onHand])).toEqual([
      ['A', 4],
      ['C', 6],
    ]);
    // The refused position, corrected and sent again, is booked (its refusal left nothing behind); the good ones again are duplicates.
    const again = await readings.apply(store, {
      erp,
      payload: [reading('2026-12-05T10:00:00Z', 4, 0, 'A'), reading('2026-12-05T10:00:00Z', 1, 0, 'B'), reading('2026-12-05T10:00:00Z', 6, 0, 'C')],
    } as never);
    expect(again).toEqual({ summary: { booked: 1, duplicate: 2, stale: 0 }, drift: [], skus: ['B'] });
    expect((await store.inventory.positions({ skus: ['B'] }))[0].onHand).toBe(1);
    await expect(readings.apply(store, { erp, payload: Array(MAX_POSITIONS + 1).fill(reading('2026-12-05T10:00:00Z', 1, 0)) } as never)).rejects.toThrow(
      `${MAX_POSITIONS + 1} positions in one reading, at most ${MAX_POSITIONS}`,
    );
    await expect(readings.apply(store, { payload: reading('2026-12-05T10:00:00Z', 1, 0) } as never)).rejects.toThrow('must name its ERP in msg.erp.system');
    await expect(readings.apply(store, { erp, payload: { ...reading('2026-12-05T10:00:00Z', 1, 0), asOf: 'yesterday' } } as never)).rejects.toThrow(
      'the stock reading is not a valid inventory.position',
    );
  });
});
