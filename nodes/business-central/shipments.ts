/** BC's posted sales shipments as canonical `shipment` documents, read after a durable cursor. No Node-RED imports. */
import { validateDocument, channelOfOrderKey } from '../model/validate';
import { BcEntity, BusinessCentralClient, SYSTEM } from './client';
import { isHashed, keyFromComments } from './map';

export const SHIPMENT_CURSOR_PREFIX = 'bc:shipments:cursor:';

export const KEY_PREFIX = 'bc:key:';

/** Small durable values with compare-and-set (a Tillwire store). */
export interface Kv {
  kvGet(key: string): Promise<unknown>;
  kvPut(key: string, value: unknown, expected?: unknown): Promise<boolean>;
}

/** Where the shipment read got to: the last lastModifiedDateTime read, and the shipments read at that instant. */
export interface ShipmentCursor {
  after: string;
  seen: string[];
}

export interface ShipmentDoc {
  kind: 'shipment';
  shipmentId: string;
  order: { id: string; channel: { system: string; account?: string; id: string } };
  shippedAt: string;
  lines: Array<{ sku: string; quantity: number }>;
  source: { system: string; type: string; id: string };
  attributes?: Record<string, string>;
}

export interface ShipmentsResult {
  shipments: ShipmentDoc[];
  /** Posted shipments of BC documents that are not channel orders (till sales, manual orders). */
  skipped: string[];
  /** Shipments that could not be turned into canonical documents, and why. */
  problems: string[];
  cursor: ShipmentCursor | undefined;
  /** false when another instance moved the cursor first (compare-and-set lost): nothing was lost, downstream dedupe by shipmentId absorbs the overlap. */
  advanced: boolean;
}

/** The canonical order key behind an externalDocumentNumber: verbatim keys are read back, hashed ones looked up. */
async function orderKeyOf(client: BusinessCentralClient, kv: Kv | undefined, edn: string, orderNumber: string): Promise<string | undefined> {
  if (/^ORDER:/.test(edn)) return `order:${edn.slice('ORDER:'.length)}`;
  if (!isHashed(edn)) return undefined;
  const stored = kv ? await kv.kvGet(KEY_PREFIX + edn) : undefined;
  if (typeof stored === 'string') return stored;
  if (!orderNumber) return undefined;
  const order = await client.salesOrderByNumber(orderNumber);
  return keyFromComments(order?.salesOrderLines as Array<{ lineType?: unknown; description?: unknown }> | undefined);
}

/**
 * Reads BC's posted sales shipments after the cursor kept in `kv` (compare-and-set, so two
 * instances cannot move it backwards) and maps each one of a channel order to a canonical,
 * validated `shipment`: shipmentId = the posted shipment number, order.id = the order's
 * canonical key (its externalDocumentNumber read back, or for a hashed number the key recorded at
 * create time or carried in the order's comment lines), lines = the Item lines shipped.
 */
export async function readShipments(client: BusinessCentralClient, kv: Kv, opts: { cursorKey?: string; maxPages?: number } = {}): Promise<ShipmentsResult> {
  const cursorKey = opts.cursorKey ?? SHIPMENT_CURSOR_PREFIX + client.options.companyId;
  const raw = await kv.kvGet(cursorKey);
  const current = raw && typeof raw === 'object' ? (raw as ShipmentCursor) : undefined;
  const rows = await client.salesShipmentsSince(current?.after, { maxPages: opts.maxPages });
  const seen = new Set(current?.seen ?? []);
  const shipments: ShipmentDoc[] = [];
  const skipped: string[] = [];
  const problems: string[] = [];
  let next = current;
  for (const row of rows) {
    const number = String(row.number);
    const at = String(row.lastModifiedDateTime);
    if (current && at === current.after && seen.has(number)) continue;
    next = next && next.after === at ? { after: at, seen: [...next.seen, number] } : { after: at, seen: [number] };
    const edn = String(row.externalDocumentNumber ?? '');
    const key = await orderKeyOf(client, kv, edn, String(row.orderNumber ?? ''));
    const channel = key ? channelOfOrderKey(key) : undefined;
    if (!key || !channel) {
      if (/^(SALE|RETURN):/.test(edn) || edn === '') skipped.push(number);
      else
        problems.push(
          `posted shipment ${number} (order ${String(row.orderNumber)}, external document no. '${edn}'): not a Tillwire channel order, or its key is unknown`,
        );
      continue;
    }
    const lines: ShipmentDoc['lines'] = [];
    let bad: string | undefined;
    for (const l of (row.salesShipmentLines as BcEntity[] | undefined) ?? []) {
      if (l.lineType !== 'Item') continue;
      const q = Number(l.quantity);
      if (q === 0) continue;
      if (!Number.isInteger(q) || q < 0) bad = `line ${String(l.lineObjectNumber)} has quantity ${String(l.quantity)}, not a whole number of units`;
      else lines.push({ sku: String(l.lineObjectNumber), quantity: q });
    }
    const doc: ShipmentDoc = {
      kind: 'shipment',
      shipmentId: number,
      order: { id: key, channel },
      shippedAt: new Date(at).toISOString(),
      lines,
      source: { system: SYSTEM, type: 'salesShipment', id: number },
      attributes: {
        bcOrderNumber: String(row.orderNumber ?? ''),
        bcPostingDate: String(row.postingDate ?? ''),
        ...(row.shipmentMethodCode ? { bcShipmentMethodCode: String(row.shipmentMethodCode) } : {}),
      },
    };
    const valid = bad ? { valid: false, errors: [bad] } : validateDocument('shipment', doc);
    if (!valid.valid) {
      problems.push(`posted shipment ${number}: ${valid.errors.join('; ')}`);
      continue;
    }
    shipments.push(doc);
  }
  let advanced = true;
  if (next && next !== current) advanced = await kv.kvPut(cursorKey, next, current);
  return { shipments, skipped, problems, cursor: advanced ? next : current, advanced };
}
