/**
 * The read-back of Square's counts (operation "read" of `tillwire-square-inventory`,
 * core/channel-read.ts): the SKUs become catalog object ids (the account's SKU map, else
 * SearchCatalogObjects, as the write does), then BatchRetrieveInventoryCounts of their IN_STOCK
 * counts at the locations read, cursor by cursor (contract.ts, INVENTORY_COUNTS_READ). Each location
 * is its own reading (Square keeps a count per location). A variation never counted at a location
 * has no count there: it offers 0.
 */
import { malformedAnswer, type ChannelRead, type ChannelReading } from '../core/channel-read';
import { permanentFailure } from '../runtime/errors';
import type { SquareClient } from './client';
import { INVENTORY_COUNTS_READ } from './contract';

const OPERATION = 'BatchRetrieveInventoryCounts';

export function squareStockRead(locationIds: string[], known: Map<string, string>, limit: number = INVENTORY_COUNTS_READ.maxLimit): ChannelRead<SquareClient> {
  return {
    operation: OPERATION,
    pageSize: INVENTORY_COUNTS_READ.idsPerRequest,
    async read(client, skus) {
      const ids = new Map<string, string>();
      const unknown: string[] = [];
      for (const sku of skus) {
        let id = known.get(sku);
        if (!id) {
          const found = await client.findVariationsBySku(sku);
          if (found.length > 1)
            throw permanentFailure(
              'square',
              OPERATION,
              `SKU '${sku}' is on ${found.length} catalog item variations in Square; map it in the account's SKU map`,
              {
                providerCode: 'AmbiguousSku',
              },
            );
          id = found[0]?.id;
          if (id) known.set(sku, id);
        }
        if (id) ids.set(id, sku);
        else unknown.push(sku);
      }
      if (!ids.size) return { readings: [], unknown };
      const counts = new Map<string, { quantity: number; text: string }>();
      for (let cursor: string | undefined; ;) {
        const page = await client.batchRetrieveInventoryCounts({
          catalog_object_ids: [...ids.keys()],
          location_ids: locationIds,
          states: [INVENTORY_COUNTS_READ.state],
          limit,
          ...(cursor ? { cursor } : {}),
        });
        const { items, next } = checkPage(page, ids);
        for (const c of items) counts.set(`${c.id}|${c.location}`, c);
        if (!next) break;
        cursor = next;
      }
      const readings: ChannelReading[] = [];
      for (const [id, sku] of ids)
        for (const location of locationIds) {
          const c = counts.get(`${id}|${location}`);
          readings.push({
            sku,
            available: c ? Math.max(0, Math.floor(c.quantity)) : 0,
            locationId: location,
            attributes: { squareCatalogObjectId: id, squareQuantity: c ? c.text : 'none' },
          });
        }
      return { readings, unknown };
    },
  };
}

function checkPage(page: unknown, ids: Map<string, string>) {
  const bad = (what: string) => malformedAnswer('square', OPERATION, what);
  const p = page as { counts?: unknown; cursor?: unknown } | null;
  if (!p || typeof p !== 'object') throw bad('the answer is not an object');
  // No counts at all is an answer without the field (Square leaves empty lists out).
  if (p.counts !== undefined && !Array.isArray(p.counts)) throw bad('counts is not a list');
  if (p.cursor !== undefined && (typeof p.cursor !== 'string' || !p.cursor)) throw bad('cursor is not text');
  const items = ((p.counts as any[]) ?? []).flatMap((c, i) => {
    if (!c || typeof c !== 'object' || typeof c.catalog_object_id !== 'string' || typeof c.location_id !== 'string')
      throw bad(`count ${i} names no catalog object or location`);
    if (c.state !== INVENTORY_COUNTS_READ.state || !ids.has(c.catalog_object_id)) return [];
    const text = c.quantity;
    if (typeof text !== 'string' || !/^-?\d+(\.\d+)?$/.test(text))
      throw bad(
        `the count of ${c.catalog_object_id} (SKU '${ids.get(c.catalog_object_id)}') at ${c.location_id} is not a decimal number as text: ${JSON.stringify(text)}`,
      );
    return [{ id: c.catalog_object_id as string, location: c.location_id as string, quantity: Number(text), text }];
  });
  return { items, next: p.cursor as string | undefined };
}
