/** BC items' read-only `inventory` as canonical `inventory.position` documents. No Node-RED imports. */
import { BusinessCentralClient } from './client';
import { InventoryPositionDoc, itemNumber, toInventoryPosition } from './map';

export interface InventoryResult {
  positions: InventoryPositionDoc[];
  /** SKUs with no BC item (or that cannot be BC item numbers). */
  unknown: string[];
  /** Items whose stock could not be expressed canonically (fractional quantities). */
  problems: string[];
}

/** Where the next read of changes starts: the newest item ledger entry the last read saw. */
export interface InventoryCursor {
  entryNumber: number;
}

/**
 * The items whose stock changed since `cursor`: those with item ledger entries after its entry
 * (BC's `inventory` is the sum of an item's ledger entries, so every change of it is an entry; the
 * item itself is not modified), each read fresh. No cursor: every item, as the full read, from
 * the newest entry taken before it (an entry posted during the read is read again next time).
 */
export async function readInventoryChanges(
  client: BusinessCentralClient,
  cursor: InventoryCursor | undefined,
  opts: { locationId: string; now?: () => Date },
): Promise<InventoryResult & { cursor: InventoryCursor }> {
  if (!cursor) {
    const entryNumber = await client.lastItemLedgerEntry();
    return { ...(await readInventory(client, undefined, opts)), cursor: { entryNumber } };
  }
  const entries = await client.itemLedgerEntriesAfter(cursor.entryNumber);
  if (!entries.length) return { positions: [], unknown: [], problems: [], cursor };
  const entryNumber = Math.max(cursor.entryNumber, ...entries.map((e) => e.entryNumber));
  const items = [...new Set(entries.map((e) => e.itemNumber))];
  // An item deleted since its entry was posted is simply not read: it has no stock to offer.
  const read = await readInventory(client, items, opts);
  return { positions: read.positions, unknown: [], problems: read.problems, cursor: { entryNumber } };
}

/**
 * Reads items' `inventory` (fresh, never cached) as canonical positions, one per SKU found;
 * `skus` undefined reads every Inventory item (the SKU is then the item number).
 */
export async function readInventory(
  client: BusinessCentralClient,
  skus: readonly string[] | undefined,
  opts: { locationId: string; now?: () => Date },
): Promise<InventoryResult> {
  if (skus === undefined) {
    const items = await client.inventoryItems();
    const asOf = (opts.now?.() ?? new Date()).toISOString();
    const positions: InventoryPositionDoc[] = [];
    const problems: string[] = [];
    for (const item of items) {
      try {
        positions.push(toInventoryPosition(item.number, item, { locationId: opts.locationId, asOf }));
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    return { positions, unknown: [], problems };
  }
  const numbers = new Map<string, string>();
  const unknown: string[] = [];
  for (const sku of skus) {
    const n = itemNumber(sku);
    if (n) numbers.set(sku, n);
    else unknown.push(sku);
  }
  const found = await client.findItems([...numbers.values()], { fresh: true });
  const asOf = (opts.now?.() ?? new Date()).toISOString();
  const positions: InventoryPositionDoc[] = [];
  const problems: string[] = [];
  for (const [sku, n] of numbers) {
    const item = found.get(n);
    if (!item) {
      unknown.push(sku);
      continue;
    }
    try {
      positions.push(toInventoryPosition(sku, item, { locationId: opts.locationId, asOf }));
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return { positions, unknown, problems };
}
