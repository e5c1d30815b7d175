/** Odoo's done outgoing transfers (`stock.picking`) as canonical `shipment`s, read after a keyset cursor. */
import type { Shipment } from '../model/types.generated';
import { validateDocument, channelOfOrderKey } from '../model/validate';
import type { OdooSync } from './sync';

/** Where the shipments read stopped: the last transfer's `date_done` (Odoo UTC text) and id. */
export interface ShipmentCursor {
  doneAt: string;
  id: number;
}

export interface ShipmentsResult {
  shipments: Shipment[];
  /** Transfers that could not be mapped to a valid shipment (left out, named with the reasons). */
  invalid: Array<{ picking: string; errors: string[] }>;
  /** The cursor after this page; unchanged when nothing new was done. */
  cursor: ShipmentCursor | undefined;
  /** True when the page was full: read again for more. */
  more: boolean;
}

/**
 * Done outgoing transfers (`stock.picking`, picking_type_code `outgoing`, state `done`) after
 * `cursor`, oldest first, as validated canonical `shipment`s. Keyset paging on (date_done, id) so
 * transfers validated in the same second are neither lost nor read twice.
 */
export function readShipments(sync: OdooSync, cursor?: ShipmentCursor, limit = 200, names?: string[]): Promise<ShipmentsResult> {
  return sync.client.track(shipments(sync, cursor, limit, names));
}

async function shipments(sync: OdooSync, cursor: ShipmentCursor | undefined, limit: number, names?: string[]): Promise<ShipmentsResult> {
  type PickingRow = {
    id: number;
    name: string;
    date_done: string;
    sale_id: [number, string] | false;
    origin: string | false;
    carrier_id: [number, string] | false;
    carrier_tracking_ref: string | false;
  };
  // Named transfers (a re-read after fixing one in Odoo) ignore the cursor; else those after it.
  const after = names
    ? [['name', 'in', names]]
    : cursor
      ? ['|', ['date_done', '>', cursor.doneAt], '&', ['date_done', '=', cursor.doneAt], ['id', '>', cursor.id]]
      : [];
  const pickings = await sync.client.searchRead<PickingRow>('stock.picking', [['picking_type_code', '=', 'outgoing'], ['state', '=', 'done'], ...after], {
    fields: ['id', 'name', 'date_done', 'sale_id', 'origin', 'carrier_id', 'carrier_tracking_ref'],
    order: 'date_done asc, id asc',
    limit,
  });
  if (!pickings.length) return { shipments: [], invalid: [], cursor, more: false };
  type MoveRow = { picking_id: [number, string]; product_id: [number, string]; quantity: number; state: string };
  const ids = pickings.map((p) => p.id);
  const saleIds = [...new Set(pickings.filter((p) => p.sale_id).map((p) => (p.sale_id as [number, string])[0]))];
  const [moves, orders] = await Promise.all([
    sync.client.searchRead<MoveRow>(
      'stock.move',
      [
        ['picking_id', 'in', ids],
        ['state', '=', 'done'],
      ],
      { fields: ['picking_id', 'product_id', 'quantity', 'state'], order: 'id' },
    ),
    saleIds.length
      ? sync.client.read<{ id: number; name: string; client_order_ref: string | false }>('sale.order', saleIds, ['name', 'client_order_ref'])
      : Promise.resolve([]),
  ]);
  const productIds = [...new Set(moves.map((m) => m.product_id[0]))];
  const products = productIds.length
    ? await sync.client.read<{ id: number; default_code: string | false }>('product.product', productIds, ['default_code'])
    : [];
  const skuOf = new Map(products.map((p) => [p.id, p.default_code]));
  const orderById = new Map(orders.map((o) => [o.id, o]));
  const shipments: Shipment[] = [];
  const invalid: ShipmentsResult['invalid'] = [];
  for (const p of pickings) {
    const errors: string[] = [];
    const qty = new Map<string, number>();
    for (const m of moves.filter((x) => x.picking_id[0] === p.id)) {
      const sku = skuOf.get(m.product_id[0]);
      if (!sku) {
        errors.push(`product ${m.product_id[1]} has no Internal Reference (SKU)`);
        continue;
      }
      if (!Number.isInteger(m.quantity)) errors.push(`${sku}: ${m.quantity} is not a whole number of units`);
      qty.set(sku, (qty.get(sku) ?? 0) + m.quantity);
    }
    const so = p.sale_id ? orderById.get(p.sale_id[0]) : undefined;
    const orderKey = so?.client_order_ref || undefined;
    if (!orderKey) errors.push(so ? `${so.name} has no Customer Reference (client_order_ref): it was not written by Tillwire` : 'not linked to a sales order');
    const lines = [...qty].filter(([, q]) => q > 0).map(([sku, quantity]) => ({ sku, quantity }));
    if (!lines.length && !errors.length) errors.push('nothing was shipped');
    const channel = orderKey ? channelOfOrderKey(orderKey) : undefined;
    const doc: Shipment = {
      kind: 'shipment',
      shipmentId: p.name,
      order: { id: orderKey ?? (p.origin || p.name), ...(channel ? { channel } : {}) },
      shippedAt: `${p.date_done.replace(' ', 'T')}Z`,
      ...(p.carrier_id ? { carrier: p.carrier_id[1] } : {}),
      ...(p.carrier_tracking_ref ? { trackingNumber: p.carrier_tracking_ref } : {}),
      lines,
      source: { system: 'odoo', type: 'stock.picking', id: p.name },
      attributes: { odooPickingId: String(p.id), ...(so ? { odooSaleOrder: so.name } : {}) },
    };
    if (!errors.length) {
      const check = validateDocument('shipment', doc);
      if (!check.valid) errors.push(...check.errors);
    }
    if (errors.length) invalid.push({ picking: p.name, errors });
    else shipments.push(doc);
  }
  const last = pickings[pickings.length - 1];
  return { shipments, invalid, cursor: { doneAt: last.date_done, id: last.id }, more: pickings.length === limit };
}
