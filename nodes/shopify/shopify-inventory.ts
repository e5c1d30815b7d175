/**
 * `tillwire-shopify-inventory`: sets a SKU's stock in Shopify from a canonical `inventory.ats`
 * (the `available` quantity at the node's location) or `inventory.position` (the `on_hand` quantity
 * at the Shopify location its ERP location is mapped to: the location map, or the node's location
 * for the positions of its "ERP location"; any other position is refused, see `positionLocation`) with `inventorySetQuantities` and an
 * `@idempotent` key derived from the document's business key, so a retry or a replay never applies
 * twice. The SKU is looked up as an inventory item (cached); an unknown SKU is a permanent error
 * naming it. The common body is nodes/core/channel-write.ts.
 */
import type { NodeRED } from '../core/node-red';
import { idempotencyKeyFor, permanentError, positionLocation, registerChannelWrite, type PositionPlaces, type WriteResult } from '../core/channel-write';
import { joinProblems, statusTexts } from '../core/node-kit';
import type { ShopifyClient } from './client';
import { SHOPIFY_CONFIG, type ShopifyConnection } from './connection';
import { locationGid, parseLocationMap, sameShop, shopifyConnection } from './shopify-write';
import { shopifyStockRead } from './stock-read';

/** Reasons Shopify documents for inventory changes (Shopify's inventory state docs: `reason` must be one; docs/connectors/shopify.md). */
const REASONS = [
  'correction',
  'cycle_count_available',
  'damaged',
  'movement_created',
  'movement_updated',
  'movement_received',
  'movement_canceled',
  'other',
  'promotion',
  'quality_control',
  'received',
  'reservation_created',
  'reservation_deleted',
  'reservation_updated',
  'restock',
  'safety_stock',
  'shrinkage',
];

/** The one ERP location the map sends to `location` (none, or several: unknown). */
function mappedTo(map: Record<string, string>, location: string): string | undefined {
  const from = Object.keys(map).filter((erp) => map[erp] === location);
  return from.length === 1 ? from[0] : undefined;
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  registerChannelWrite<ShopifyClient, ShopifyConnection>(RED, 'tillwire-shopify-inventory', {
    system: 'shopify',
    label: 'Shopify inventory',
    operation: 'inventorySetQuantities',
    configProperty: 'shopify',
    configType: SHOPIFY_CONFIG,
    accepts: ['inventory.ats', 'inventory.position'],
    connection: shopifyConnection,
    accountMatches: sameShop,
    writer(def, connection) {
      const location = typeof def.location === 'string' && def.location.trim() ? locationGid(def.location) : undefined;
      const { map, invalid } = parseLocationMap(def.locationMap);
      const erpLocation = typeof def.erpLocation === 'string' ? def.erpLocation.trim() : '';
      const places: PositionPlaces = {
        map: new Map(Object.entries(map)),
        own: location,
        erpLocation,
        howToMap: `add it to the node's Location map (ERP location → Shopify location), or set the node's ERP location to it with a Location set`,
      };
      const reason = typeof def.reason === 'string' && def.reason.trim() ? def.reason.trim() : 'correction';
      const problem = joinProblems([
        invalid === undefined ? undefined : t.problem('status.badLocationMap', { error: invalid }),
        REASONS.includes(reason) ? undefined : t.problem('status.badReason', { reason }),
        location || Object.keys(map).length ? undefined : t.problem('status.noLocation'),
      ]);
      const items = new Map<string, string>();
      const fail = (message: string, code: string) => permanentError('shopify', 'inventorySetQuantities', message, { providerCode: code });
      return {
        problem,
        // The read-back reads the location available-to-sell figures are written to; its states
        // belong to the ERP location that stands for it (the node's ERP location, or the one the
        // location map sends there).
        reader: location ? shopifyStockRead(location, erpLocation || mappedTo(map, location)) : undefined,
        async write({ client, doc, kind, key }): Promise<WriteResult> {
          const name = kind === 'inventory.ats' ? 'available' : 'on_hand';
          const quantity: number = kind === 'inventory.ats' ? doc.available : doc.onHand;
          let locationId: string | undefined;
          if (kind === 'inventory.position') {
            locationId = positionLocation({ system: 'shopify', operation: 'inventorySetQuantities' }, places, doc);
          } else {
            // A channel-wide figure (summed over its locationIds) goes to the node's one Location.
            locationId = location;
            if (!locationId) throw fail('no Shopify location set in the node for available-to-sell figures', 'UnknownLocation');
          }
          let itemId = items.get(doc.sku);
          if (!itemId) {
            itemId = await client.inventoryItemBySku(doc.sku);
            if (!itemId) throw fail(`unknown SKU '${doc.sku}': no inventory item with this SKU in shop ${connection.account}`, 'UnknownSku');
            items.set(doc.sku, itemId);
          }
          const idempotencyKey = idempotencyKeyFor(key, name, locationId, connection.account ?? '');
          const group = await client.setInventory(
            {
              name,
              reason,
              referenceDocumentUri: `gid://tillwire/${kind === 'inventory.ats' ? 'AvailableToSell' : 'InventoryPosition'}/${encodeURIComponent(key)}`,
              // null: no compare-and-swap, the figure sent is the truth (Shopify requires the field from 2026-04).
              quantities: [{ inventoryItemId: itemId, locationId, quantity, changeFromQuantity: null }],
            },
            idempotencyKey,
          );
          const changes: any[] = group?.changes ?? [];
          return {
            operation: 'inventorySetQuantities',
            outcome: changes.length && changes.every((c) => c.delta === 0) ? 'unchanged' : 'sent',
            sku: doc.sku,
            name,
            quantity,
            inventoryItemId: itemId,
            locationId,
            idempotencyKey,
            adjustmentGroupId: group?.id ?? null,
          };
        },
      };
    },
  });
};
