/** Odoo's on-hand and reserved stock (`stock.quant`) as canonical `inventory.position`s. */
import type { InventoryPosition } from '../model/types.generated';
import type { OdooSync } from './sync';

export interface StockResult {
  positions: InventoryPosition[];
  /** Requested SKUs Odoo has no active product for. */
  unknown: string[];
  /** SKUs whose stock is not a whole number of units (left out). */
  fractional: string[];
}

async function pagedSearchRead<T>(sync: OdooSync, model: string, domain: unknown[], fields: string[], page = 1000): Promise<T[]> {
  const out: T[] = [];
  for (let offset = 0; ; offset += page) {
    const rows = await sync.client.searchRead<T>(model, domain, { fields, limit: page, offset, order: 'id' });
    out.push(...rows);
    if (rows.length < page) return out;
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

async function stock(sync: OdooSync, skus: string[] | undefined, asOf: Date): Promise<StockResult> {
  const all = skus === undefined;
  const storable = sync.client.version >= 18 ? [['is_storable', '=', true]] : [['type', '=', 'product']];
  type ProductRow = { id: number; default_code: string | false };
  const products = all
    ? await pagedSearchRead<ProductRow>(sync, 'product.product', [['default_code', '!=', false], ...storable], ['id', 'default_code'])
    : skus.length
      ? await sync.client.searchRead<ProductRow>('product.product', [['default_code', 'in', skus]], { fields: ['id', 'default_code'] })
      : [];
  const skuById = new Map<number, string>();
  for (const p of products) if (p.default_code) skuById.set(p.id, p.default_code);
  const known = new Set(skuById.values());
  const unknown = all ? [] : [...new Set(skus.filter((s) => !known.has(s)))];
  type QuantRow = { product_id: [number, string]; location_id: [number, string]; quantity: number; reserved_quantity: number };
  const ids = [...skuById.keys()];
  const quants = ids.length
    ? await pagedSearchRead<QuantRow>(
        sync,
        'stock.quant',
        [['location_id.usage', '=', 'internal'], ...(all ? [] : [['product_id', 'in', ids]])],
        ['product_id', 'location_id', 'quantity', 'reserved_quantity'],
      )
    : [];
  const totals = new Map<string, { sku: string; productId: number; location: [number, string]; onHand: number; reserved: number }>();
  for (const q of quants) {
    const sku = skuById.get(q.product_id[0]);
    if (!sku) continue;
    const k = `${q.product_id[0]}:${q.location_id[0]}`;
    const t = totals.get(k) ?? { sku, productId: q.product_id[0], location: q.location_id, onHand: 0, reserved: 0 };
    t.onHand += q.quantity;
    t.reserved += q.reserved_quantity;
    totals.set(k, t);
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
  positions.sort((a, b) => (a.sku === b.sku ? a.locationId.localeCompare(b.locationId) : a.sku < b.sku ? -1 : 1));
  return { positions, unknown, fractional: [...fractional] };
}
