/**
 * `tillwire-square-inventory`: sets a SKU's IN_STOCK count at a Square location from a canonical
 * `inventory.ats` (`available`) or `inventory.position` (`onHand`) with BatchChangeInventory: one
 * PHYSICAL_COUNT stamped with the document's own time (`computedAt` / `asOf`, so Square orders
 * late arrivals by it) and an `idempotency_key` derived from the document's business key, so a
 * retry or a replay applies nothing twice. The SKU becomes a catalog_object_id through the
 * account's SKU map or SearchCatalogObjects (cached); an unknown SKU is a permanent error naming
 * it. The common body is nodes/core/channel-write.ts.
 */
import type { NodeRED } from '../core/node-red';
import { idempotencyKeyFor, permanentError, positionLocation, registerChannelWrite, type PositionPlaces, type WriteResult } from '../core/channel-write';
import { statusTexts } from '../core/node-kit';
import type { SquareClient } from './client';
import { SQUARE_CONFIG, type SquareConnection } from './connection';
import { squareStockRead } from './stock-read';

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  registerChannelWrite<SquareClient, SquareConnection>(RED, 'tillwire-square-inventory', {
    system: 'square',
    label: 'Square inventory',
    operation: 'BatchChangeInventory',
    configProperty: 'square',
    configType: SQUARE_CONFIG,
    accepts: ['inventory.ats', 'inventory.position'],
    connection: (conn) => ({ client: conn.client, problem: conn.problem, account: conn.settings.locationIds.join(',') || undefined }),
    writer(def, _connection, _node, { settings }) {
      const own = typeof def.location === 'string' ? def.location.trim() : '';
      const problem =
        own && !settings.locationIds.includes(own)
          ? t.problem('status.foreignLocation', { location: own, account: settings.locationIds.join(', ') })
          : undefined;
      const fallback = own || (settings.locationIds.length === 1 ? settings.locationIds[0] : undefined);
      // A position's ERP location: a Square location of the account itself, the one the store map
      // pairs with it (Square location → store id), or the node's Location for its ERP location.
      const map = new Map<string, string>(settings.locationIds.map((id) => [id, id]));
      const stores = Object.entries(settings.storeMap);
      for (const [square, store] of stores) {
        // A store id two Square locations share names no one location: refused, not guessed.
        if (!map.has(store) && stores.filter(([, s]) => s === store).length === 1) map.set(store, square);
      }
      const places: PositionPlaces = {
        map,
        own: fallback,
        erpLocation: typeof def.erpLocation === 'string' ? def.erpLocation.trim() : '',
        howToMap: `add it to the Square account's store map (Square location → store id), or set the node's ERP location to it (with a Location set)`,
      };
      // The account's SKU map is catalog object id → SKU; reversed here.
      const known = new Map<string, string>(Object.entries(settings.skuMap).map(([id, sku]) => [sku, id]));
      const fail = (message: string, code: string) => permanentError('square', 'BatchChangeInventory', message, { providerCode: code });

      function locationOf(doc: Record<string, any>, kind: string): string {
        if (kind === 'inventory.position') return positionLocation({ system: 'square', operation: 'BatchChangeInventory' }, places, doc);
        // A channel-wide figure (summed over its locationIds) goes to the Square location it is for.
        const account = doc.channel?.account;
        if (account && settings.locationIds.includes(account)) return account;
        if (fallback) return fallback;
        throw fail('the available-to-sell figure names no Square location (channel.account) and the node has none set', 'UnknownLocation');
      }

      return {
        problem,
        // The read-back reads the node's location (where its figures go), else every location of the account.
        reader: squareStockRead(fallback ? [fallback] : settings.locationIds, known),
        async write({ client, doc, kind, key }): Promise<WriteResult> {
          const locationId = locationOf(doc, kind);
          let catalogObjectId = known.get(doc.sku);
          if (!catalogObjectId) {
            const found = await client.findVariationsBySku(doc.sku);
            if (!found.length) throw fail(`unknown SKU '${doc.sku}': no catalog item variation with this SKU in Square`, 'UnknownSku');
            if (found.length > 1)
              throw fail(
                `SKU '${doc.sku}' is on ${found.length} catalog item variations in Square (${found.map((f) => f.id).join(', ')}); map it in the account's SKU map`,
                'AmbiguousSku',
              );
            catalogObjectId = found[0].id;
            known.set(doc.sku, catalogObjectId);
          }
          const wanted: number = kind === 'inventory.ats' ? doc.available : doc.onHand;
          const quantity = Math.max(0, wanted);
          const idempotencyKey = idempotencyKeyFor(key, catalogObjectId, locationId);
          const r = await client.batchChangeInventory({
            idempotency_key: idempotencyKey,
            changes: [
              {
                type: 'PHYSICAL_COUNT',
                physical_count: {
                  reference_id: key.slice(0, 255),
                  catalog_object_id: catalogObjectId,
                  state: 'IN_STOCK',
                  location_id: locationId,
                  quantity: String(quantity),
                  occurred_at: kind === 'inventory.ats' ? doc.computedAt : doc.asOf,
                },
              },
            ],
            ignore_unchanged_counts: true,
          });
          const count = (r.counts ?? []).find((c) => c.catalog_object_id === catalogObjectId && c.location_id === locationId && c.state === 'IN_STOCK');
          return {
            operation: 'BatchChangeInventory',
            outcome: r.changes?.length ? 'sent' : 'unchanged',
            sku: doc.sku,
            catalogObjectId,
            locationId,
            quantity,
            ...(quantity !== wanted ? { clampedFrom: wanted } : {}),
            idempotencyKey,
            count: count?.quantity ?? null,
          };
        },
      };
    },
  });
};
