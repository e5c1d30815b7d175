/** Odoo's on-hand and reserved stock (`stock.quant`) as canonical `inventory.position`s. */
import type { InventoryPosition } from '../model/types.generated';
import type { OdooSync } from './sync';
// Odoo stamps `write_date` with its transaction's start, so a transaction that commits after a read
// can carry a time before that read's newest one: a read of changes looks back (change-cursor.ts).
import { CURSOR_FUTURE_SLACK_MS, lookBackSeconds } from '../core/change-cursor';

export interface StockResult {
  positions: InventoryPosition[];
  /** Requested SKUs Odoo has no active product for. */
  unknown: string[];
  /** SKUs whose stock is not a whole number of units (left out). */
  fractional: string[];
}

/**
 * Where the next read of changes starts: the newest `write_date` Odoo gave a quant or a done move
 * the last read saw (Odoo's own clock, to the second, as `YYYY-MM-DD HH:MM:SS` in UTC).
 */
export interface StockCursor {
  since: string;
  /** The Odoo it was read from (OdooClient.source): a cursor of another Odoo or database counts as none. */
  source: string;
  /** When this clock first saw `since` (RFC 3339): the look-back closes as time passes (core/change-cursor.ts). */
  seenAt?: string;
}

/**
 * Every row of `model` matching `domain`, a page at a time by id (keyset, not offset: a row deleted
 * or added between two pages would shift an offset and skip a row).
 */
async function pagedSearchRead<T extends { id: number }>(sync: OdooSync, model: string, domain: unknown[], fields: string[], page = 1000): Promise<T[]> {
  const out: T[] = [];
  for (let after = 0; ;) {
    const rows = await sync.client.searchRead<T>(model, [...domain, ['id', '>', after]], { fields: [...new Set(['id', ...fields])], limit: page, order: 'id' });
    out.push(...rows);
    if (rows.length < page) return out;
    after = rows[rows.length - 1].id;
  }
}

async function stockLocation(sync: OdooSync): Promise<{ id: number; name: string } | undefined> {
  if (sync.defaultLocation) return sync.defaultLocation;
  const [wh] = await sync.client.searchRead<{ lot_stock_id: [number, string] | false }>('stock.warehouse', [], {
    fields: ['lot_stock_id'],
    limit: 1,
    order: 'sequence, id',
  });
  if (wh?.lot_stock_id) sync.defaultLocation = { id: wh.lot_stock_id[0], name: wh.lot_stock_id[1] };
  return sync.defaultLocation;
}

/**
 * On-hand and reserved stock per SKU and internal location, as canonical positions. `skus`
 * undefined: every storable product with an Internal Reference, including those with no stock
 * (reported as 0 at the main warehouse's stock location, so a sold-out SKU is not left out).
 */
export function readStock(sync: OdooSync, skus?: string[], asOf = new Date()): Promise<StockResult> {
  return sync.client.track(stock(sync, skus, asOf));
}

async function stock(sync: OdooSync, skus: string[] | undefined, asOf: Date): Promise<StockResult & { newest?: string }> {
  const all = skus === undefined;
  const products = all
    ? await pagedSearchRead<ProductRow>(sync, 'product.product', [['default_code', '!=', false], ...storable(sync)], ['id', 'default_code'])
    : skus.length
      ? await sync.client.searchRead<ProductRow>('product.product', [['default_code', 'in', skus]], { fields: ['id', 'default_code'] })
      : [];
  const skuById = skusOf(products);
  const known = new Set(skuById.values());
  const unknown = all ? [] : [...new Set(skus.filter((s) => !known.has(s)))];
  return { ...(await positionsOf(sync, skuById, all, asOf)), unknown };
}

type ProductRow = { id: number; default_code: string | false };
type QuantRow = { id: number; product_id: [number, string]; location_id: [number, string]; quantity: number; reserved_quantity: number; write_date: string };
type MoveRow = { id: number; product_id: [number, string]; location_id: [number, string]; location_dest_id: [number, string]; write_date: string };

const storable = (sync: OdooSync) => (sync.client.version >= 18 ? [['is_storable', '=', true]] : [['type', '=', 'product']]);

function skusOf(products: ProductRow[]): Map<number, string> {
  const skuById = new Map<number, string>();
  for (const p of products) if (p.default_code) skuById.set(p.id, p.default_code);
  return skuById;
}

/** Changed products read in one go at most. */
const CHANGED_PRODUCTS_A_READ = 1000;

const bySkuAndLocation = (a: InventoryPosition, b: InventoryPosition) => (a.sku === b.sku ? a.locationId.localeCompare(b.locationId) : a.sku < b.sku ? -1 : 1);

const newer = (a: string | undefined, b: string | undefined) => (a === undefined ? b : b === undefined || a >= b ? a : b);

/**
 * The positions of these products: their quants summed per internal location. `all`: the read
 * covers every product (quants read without a product filter). `emptied`: product × location pairs
 * stock moved out of or into; one with no quant now is sent as 0 (Odoo deletes a quant that reached
 * 0, so a location emptied would otherwise keep its last figure in the ledger).
 */
async function positionsOf(
  sync: OdooSync,
  skuById: Map<number, string>,
  all: boolean,
  asOf: Date,
  emptied: Array<{ productId: number; location: [number, string] }> = [],
): Promise<{ positions: InventoryPosition[]; fractional: string[]; newest?: string }> {
  const ids = [...skuById.keys()];
  const quants = ids.length
    ? await pagedSearchRead<QuantRow>(
        sync,
        'stock.quant',
        [['location_id.usage', '=', 'internal'], ...(all ? [] : [['product_id', 'in', ids]])],
        ['product_id', 'location_id', 'quantity', 'reserved_quantity', 'write_date'],
      )
    : [];
  let newest: string | undefined;
  const totals = new Map<string, { sku: string; productId: number; location: [number, string]; onHand: number; reserved: number }>();
  for (const q of quants) {
    const sku = skuById.get(q.product_id[0]);
    if (!sku) continue;
    newest = newer(newest, q.write_date || undefined);
    const k = `${q.product_id[0]}:${q.location_id[0]}`;
    const t = totals.get(k) ?? { sku, productId: q.product_id[0], location: q.location_id, onHand: 0, reserved: 0 };
    t.onHand += q.quantity;
    t.reserved += q.reserved_quantity;
    totals.set(k, t);
  }
  for (const e of emptied) {
    const sku = skuById.get(e.productId);
    const k = `${e.productId}:${e.location[0]}`;
    if (sku && !totals.has(k)) totals.set(k, { sku, productId: e.productId, location: e.location, onHand: 0, reserved: 0 });
  }
  const withStock = new Set([...totals.values()].map((t) => t.productId));
  const missing = ids.filter((id) => !withStock.has(id));
  if (missing.length) {
    const loc = await stockLocation(sync);
    if (loc)
      for (const id of missing) totals.set(`${id}:${loc.id}`, { sku: skuById.get(id)!, productId: id, location: [loc.id, loc.name], onHand: 0, reserved: 0 });
  }
  const at = new Date(Math.floor(asOf.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const positions: InventoryPosition[] = [];
  const fractional = new Set<string>();
  for (const t of totals.values()) {
    if (!Number.isInteger(t.onHand) || !Number.isInteger(t.reserved)) {
      fractional.add(t.sku);
      continue;
    }
    positions.push({
      kind: 'inventory.position',
      sku: t.sku,
      locationId: t.location[1],
      onHand: t.onHand,
      reserved: Math.max(0, t.reserved),
      inTransit: 0,
      safetyStock: 0,
      asOf: at,
      attributes: { odooProductId: String(t.productId), odooLocationId: String(t.location[0]) },
    });
  }
  positions.sort(bySkuAndLocation);
  return { positions, fractional: [...fractional], newest };
}

/** An Odoo datetime (`YYYY-MM-DD HH:MM:SS`, UTC) `seconds` earlier. */
function before(odooTime: string, seconds: number): string {
  const t = Date.parse(`${odooTime.replace(' ', 'T')}Z`);
  if (!Number.isFinite(t)) throw new TypeError(`not an Odoo datetime: ${JSON.stringify(odooTime)}`);
  return new Date(t - seconds * 1000).toISOString().replace('T', ' ').slice(0, 19);
}

/**
 * The stock that changed since `cursor`: every product with a quant or a done stock move written
 * since (less the look-back), read whole (all its internal locations, so several quants at one
 * location are summed as a full read sums them). No cursor: every SKU, as the full read, and the
 * cursor to start from. The cursor returned never moves back.
 */
export function readStockChanges(sync: OdooSync, cursor: unknown, asOf = new Date()): Promise<StockResult & { cursor?: StockCursor }> {
  return sync.client.track(stockChanges(sync, usableCursor(cursor, sync.client.source, asOf), asOf));
}

/**
 * The cursor if it can be trusted, else undefined (the read is then whole and starts a new one): an
 * Odoo datetime that exists, of this Odoo, not a day or more ahead of this clock. A cursor from the
 * future (a database clock that jumped, a store edited by hand) would otherwise hide every change.
 */
function usableCursor(cursor: unknown, source: string, now: Date): StockCursor | undefined {
  const c = cursor as Partial<StockCursor> | null | undefined;
  if (typeof c?.since !== 'string' || c.source !== source || !/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(c.since)) return undefined;
  const t = Date.parse(`${c.since.replace(' ', 'T')}Z`);
  if (!Number.isFinite(t) || new Date(t).toISOString().replace('T', ' ').slice(0, 19) !== c.since) return undefined;
  return t - now.getTime() > CURSOR_FUTURE_SLACK_MS ? undefined : { since: c.since, source, ...(typeof c.seenAt === 'string' ? { seenAt: c.seenAt } : {}) };
}

async function stockChanges(sync: OdooSync, cursor: StockCursor | undefined, asOf: Date): Promise<StockResult & { cursor?: StockCursor }> {
  if (!cursor) {
    const { newest, ...read } = await stock(sync, undefined, asOf);
    return { ...read, cursor: newest ? { since: newest, source: sync.client.source, seenAt: asOf.toISOString() } : undefined };
  }
  const lookBack = lookBackSeconds(cursor.seenAt, asOf);
  const since = before(cursor.since, lookBack);
  // Once the look-back has closed, what was written in the newest second has been read: strictly after it.
  const from = lookBack > 0 ? '>=' : '>';
  const quants = await pagedSearchRead<QuantRow>(
    sync,
    'stock.quant',
    [
      ['write_date', from, since],
      ['location_id.usage', '=', 'internal'],
    ],
    ['product_id', 'write_date'],
  );
  const moves = await pagedSearchRead<MoveRow>(
    sync,
    'stock.move',
    [
      ['write_date', from, since],
      ['state', '=', 'done'],
    ],
    ['product_id', 'location_id', 'location_dest_id', 'write_date'],
  );
  let newest: string | undefined = cursor.since;
  const productIds = new Set<number>();
  for (const row of [...quants, ...moves]) {
    productIds.add(row.product_id[0]);
    newest = newer(newest, row.write_date || undefined);
  }
  // The newest change moved: the look-back starts again from it.
  // (A cursor that does not say when it was seen is taken as seen now.)
  const next = (since: string): StockCursor => ({ since, source: cursor.source, seenAt: (since === cursor.since && cursor.seenAt) || asOf.toISOString() });
  if (!productIds.size) return { positions: [], unknown: [], fractional: [], cursor: next(newest!) };
  const moveLocations = [...new Set(moves.flatMap((m) => [m.location_id[0], m.location_dest_id[0]]))];
  const internal = moveLocations.length
    ? new Set(
        (
          await sync.client.searchRead<{ id: number }>(
            'stock.location',
            [
              ['id', 'in', moveLocations],
              ['usage', '=', 'internal'],
            ],
            { fields: ['id'] },
          )
        ).map((l) => l.id),
      )
    : new Set<number>();
  const emptied = moves.flatMap((m) =>
    [m.location_id, m.location_dest_id].filter((l) => internal.has(l[0])).map((location) => ({ productId: m.product_id[0], location })),
  );
  // The changed products a thousand at a time: a large change (a whole warehouse counted) stays a
  // series of ordinary requests, not one with every id in it.
  const positions: InventoryPosition[] = [];
  const fractional: string[] = [];
  let seen = newest;
  const ids = [...productIds];
  for (let i = 0; i < ids.length; i += CHANGED_PRODUCTS_A_READ) {
    const chunk = ids.slice(i, i + CHANGED_PRODUCTS_A_READ);
    const products = await sync.client.searchRead<ProductRow>('product.product', [['id', 'in', chunk], ['default_code', '!=', false], ...storable(sync)], {
      fields: ['id', 'default_code'],
    });
    const inChunk = new Set(chunk);
    const read = await positionsOf(
      sync,
      skusOf(products),
      false,
      asOf,
      emptied.filter((e) => inChunk.has(e.productId)),
    );
    positions.push(...read.positions);
    fractional.push(...read.fractional);
    seen = newer(seen, read.newest);
  }
  return { positions: positions.sort(bySkuAndLocation), unknown: [], fractional, cursor: next(seen!) };
}
