/** BC items' read-only `inventory` as canonical `inventory.position` documents. No Node-RED imports. */
import { BusinessCentralClient } from './client';
// Entry numbers need not commit in order (Business Central can post item ledger entries from
// several sessions at once): a read of changes also looks back over entry times (change-cursor.ts).
import { CURSOR_FUTURE_SLACK_MS, lookBackSeconds } from '../core/change-cursor';
import { InventoryPositionDoc, itemNumber, toInventoryPosition } from './map';

export interface InventoryResult {
  positions: InventoryPositionDoc[];
  /** SKUs with no BC item (or that cannot be BC item numbers). */
  unknown: string[];
  /** Items whose stock could not be expressed canonically (fractional quantities). */
  problems: string[];
}

/** Where the next read of changes starts. */
export interface InventoryCursor {
  /** The newest item ledger entry the last read saw. */
  entryNumber: number;
  /** The newest `lastModifiedDateTime` of those entries (RFC 3339), for the look-back. */
  modifiedAt?: string;
  /** When this clock first saw `modifiedAt`: the look-back closes as time passes (core/change-cursor.ts). */
  seenAt?: string;
  /** The company it was read from (the client's company path): a cursor of another counts as none. */
  source: string;
}

function usableCursor(cursor: unknown, source: string, now: Date): InventoryCursor | undefined {
  const c = cursor as Partial<InventoryCursor> | null | undefined;
  if (!c || c.source !== source || !Number.isSafeInteger(c.entryNumber) || (c.entryNumber as number) < 0) return undefined;
  const modified = typeof c.modifiedAt === 'string' ? Date.parse(c.modifiedAt) : NaN;
  // An entry time a day or more ahead would switch the look-back off: the cursor is not trusted.
  if (modified - now.getTime() > CURSOR_FUTURE_SLACK_MS) return undefined;
  return {
    entryNumber: c.entryNumber as number,
    source,
    ...(Number.isFinite(modified) ? { modifiedAt: c.modifiedAt } : {}),
    ...(typeof c.seenAt === 'string' ? { seenAt: c.seenAt } : {}),
  };
}

const later = (a: string | undefined, b: unknown) =>
  typeof b === 'string' && Number.isFinite(Date.parse(b)) && (a === undefined || Date.parse(b) > Date.parse(a)) ? b : a;

/**
 * The items whose stock changed since `cursor`: those with item ledger entries after its entry, or
 * modified within the look-back before its newest entry time (BC's `inventory` is the sum of an
 * item's ledger entries, so every change of it is an entry; the item itself is not modified), each
 * read fresh. No usable cursor (none yet, another company's, one ahead of BC's newest entry): every
 * item, as the full read, from the newest entry taken before it (an entry posted during the read
 * is read again next time).
 */
export async function readInventoryChanges(
  client: BusinessCentralClient,
  stored: unknown,
  opts: { locationId: string; now?: () => Date },
): Promise<InventoryResult & { cursor: InventoryCursor }> {
  const source = client.companyPath;
  const now = opts.now?.() ?? new Date();
  let cursor = usableCursor(stored, source, now);
  // Once the look-back has closed, nothing is read again by time: the entry numbers carry on alone.
  const lookBack = cursor ? lookBackSeconds(cursor.seenAt, now) : 0;
  const since = cursor?.modifiedAt && lookBack > 0 ? new Date(Date.parse(cursor.modifiedAt) - lookBack * 1000).toISOString() : undefined;
  const entries = cursor ? await client.itemLedgerEntriesAfter(cursor.entryNumber, since) : [];
  // Nothing new, and a cursor beyond BC's newest entry (a company restored from an older copy): start again.
  if (cursor && !entries.length && (await client.lastItemLedgerEntry()) < cursor.entryNumber) cursor = undefined;
  if (!cursor) {
    const entryNumber = await client.lastItemLedgerEntry();
    return { ...(await readInventory(client, undefined, opts)), cursor: { entryNumber, source } };
  }
  if (!entries.length)
    return { positions: [], unknown: [], problems: [], cursor: cursor.seenAt || !cursor.modifiedAt ? cursor : { ...cursor, seenAt: now.toISOString() } };
  let entryNumber = cursor.entryNumber;
  let modifiedAt = cursor.modifiedAt;
  const items = new Set<string>();
  for (const e of entries) {
    if (Number.isSafeInteger(e.entryNumber) && e.entryNumber > entryNumber) entryNumber = e.entryNumber;
    modifiedAt = later(modifiedAt, e.lastModifiedDateTime);
    if (typeof e.itemNumber === 'string' && e.itemNumber) items.add(e.itemNumber);
  }
  // An item deleted since its entry was posted is simply not read: it has no stock to offer.
  const read = await readInventory(client, [...items], opts);
  // The newest entry time moved: the look-back starts again from it.
  // (A cursor that does not say when it was seen is taken as seen now.)
  const seenAt = (modifiedAt === cursor.modifiedAt && cursor.seenAt) || now.toISOString();
  return {
    positions: read.positions,
    unknown: [],
    problems: read.problems,
    cursor: { entryNumber, source, ...(modifiedAt ? { modifiedAt } : {}), ...(seenAt ? { seenAt } : {}) },
  };
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
