/**
 * The read-back of a shop's quantities (operation "read" of `tillwire-shopify-inventory`,
 * core/channel-read.ts): for a page of SKUs, one `inventoryItems` search (`sku:'A' OR sku:'B' …`)
 * with each item's `inventoryLevel` at the node's location and its quantities by state
 * (contract.ts, INVENTORY_READ), followed page by page. `available` is the figure Tillwire sets
 * (inventorySetQuantities name "available"), so it is the one compared; the others ride along as
 * attributes (`shopify_<name>`), with `erpLocation`, the ERP location the Shopify location stands
 * for when the node knows it, so the reserve node can book Shopify's states there
 * (inventory/channel-states.ts). An item not stocked at the location offers 0.
 */
import { malformedAnswer, type ChannelRead, type ChannelReading } from '../core/channel-read';
import type { ShopifyClient } from './client';
import { INVENTORY_READ } from './contract';

const OPERATION = 'inventoryItems';

export function shopifyStockRead(locationId: string, erpLocation?: string, first: number = INVENTORY_READ.first): ChannelRead<ShopifyClient> {
  return {
    operation: OPERATION,
    pageSize: INVENTORY_READ.skusPerSearch,
    async read(client, skus) {
      const wanted = new Set(skus);
      const found = new Map<string, ChannelReading>();
      for (let after: string | null = null; ;) {
        const page = await client.inventoryLevelsPage({ skus, locationId, names: [...INVENTORY_READ.names], first, after });
        const { nodes, next } = checkPage(page);
        for (const item of nodes) {
          // The search matches more than the exact SKU (prefixes, other fields): only exact SKUs count.
          if (!wanted.has(item.sku) || found.has(item.sku)) continue;
          found.set(item.sku, readingOf(item, locationId, erpLocation));
        }
        if (!next) break;
        after = next;
      }
      return { readings: skus.filter((s) => found.has(s)).map((s) => found.get(s)!), unknown: skus.filter((s) => !found.has(s)) };
    },
  };
}

interface ItemNode {
  sku: string;
  level: Map<string, number> | null;
}

function checkPage(page: unknown): { nodes: ItemNode[]; next: string | null } {
  const bad = (what: string) => malformedAnswer('shopify', OPERATION, what);
  const p = page as { nodes?: unknown; pageInfo?: { hasNextPage?: unknown; endCursor?: unknown } } | null;
  if (!p || typeof p !== 'object' || !Array.isArray(p.nodes)) throw bad('inventoryItems has no list of nodes');
  if (!p.pageInfo || typeof p.pageInfo.hasNextPage !== 'boolean') throw bad('inventoryItems has no pageInfo.hasNextPage');
  if (p.pageInfo.hasNextPage && typeof p.pageInfo.endCursor !== 'string') throw bad('inventoryItems says there is a next page but gives no endCursor');
  const nodes = p.nodes.map((n: any, i: number): ItemNode => {
    if (!n || typeof n !== 'object') throw bad(`inventory item ${i} is not an object`);
    // An item without a SKU cannot be one asked for.
    const sku = typeof n.sku === 'string' ? n.sku : '';
    if (n.inventoryLevel === null || n.inventoryLevel === undefined) return { sku, level: null };
    const q = n.inventoryLevel.quantities;
    if (!Array.isArray(q)) throw bad(`the inventory level of SKU '${sku}' has no quantities`);
    const level = new Map<string, number>();
    for (const x of q) {
      if (!x || typeof x.name !== 'string' || !Number.isSafeInteger(x.quantity))
        throw bad(`the inventory level of SKU '${sku}' has a quantity that is not a name and a whole number: ${JSON.stringify(x)}`);
      level.set(x.name, x.quantity);
    }
    if (!level.has('available')) throw bad(`the inventory level of SKU '${sku}' has no "available" quantity`);
    return { sku, level };
  });
  return { nodes, next: p.pageInfo.hasNextPage ? (p.pageInfo.endCursor as string) : null };
}

function readingOf(item: ItemNode, locationId: string, erpLocation: string | undefined): ChannelReading {
  if (!item.level) return { sku: item.sku, available: 0, locationId, attributes: { shopifyLevel: 'not stocked at this location' } };
  const attributes: Record<string, string> = erpLocation ? { erpLocation } : {};
  for (const [name, quantity] of item.level) attributes[`shopify_${name}`] = String(quantity);
  // Shopify's available goes below 0 when it sold more than it had (overselling allowed): it offers none.
  return { sku: item.sku, available: Math.max(0, item.level.get('available')!), locationId, attributes };
}
