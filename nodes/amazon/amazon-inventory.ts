/**
 * `tillwire-amazon-inventory`: sets the quantity Amazon may sell of a SKU (merchant-fulfilled)
 * from a canonical `inventory.ats` (`available`) or, for the node's Location only, an
 * `inventory.position` (on hand less reserved and safety stock, never below 0): a listing holds one
 * quantity, not one per location (channel-write.ts, `onePerListing`), per SKU and marketplace, with Listings Items
 * `patchListingsItem` on `/attributes/fulfillment_availability`. It reads the listing first
 * (getListingsItem): a SKU the seller does not list is a permanent error naming it, the product
 * type comes from the listing, and a marketplace already at the quantity is not patched again.
 * Both calls are paced by the account's per-operation token buckets. The common body is
 * nodes/core/channel-write.ts.
 */
import type { NodeRED } from '../core/node-red';
import { permanentError, registerChannelWrite, type WriteResult } from '../core/channel-write';
import { statusTexts } from '../core/node-kit';
import type { AmazonClient } from './client';
import { amazonConnection, marketplacesFor } from './amazon-write';
import { AMAZON_CONFIG, type AmazonConnection } from './connection';
import { amazonStockRead } from './stock-read';

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  registerChannelWrite<AmazonClient, AmazonConnection>(RED, 'tillwire-amazon-inventory', {
    system: 'amazon',
    label: 'Amazon inventory',
    operation: 'patchListingsItem',
    configProperty: 'amazon',
    configType: AMAZON_CONFIG,
    accepts: ['inventory.ats', 'inventory.position'],
    onePerListing: true,
    connection: amazonConnection,
    writer(def, _connection, _node, conn) {
      const { ids: marketplaceIds, foreign } = marketplacesFor(def.marketplaceIds, conn);
      const channelCode = typeof def.fulfillmentChannelCode === 'string' && def.fulfillmentChannelCode.trim() ? def.fulfillmentChannelCode.trim() : 'DEFAULT';
      const fail = (message: string, code: string) => permanentError('amazon', 'patchListingsItem', message, { providerCode: code });
      return {
        problem: foreign
          ? t.problem('status.foreignMarketplace', { marketplaces: foreign.join(', '), account: conn.marketplaceIds.join(', ') })
          : conn.sellerId
            ? undefined
            : t.problem('status.noSellerId'),
        reader: amazonStockRead(conn.sellerId, marketplaceIds, channelCode),
        async write(ctx): Promise<WriteResult> {
          const { client, doc, kind } = ctx;
          const quantity: number = kind === 'inventory.ats' ? doc.available : Math.max(0, doc.onHand - doc.reserved - doc.safetyStock);
          const toPatch: string[] = [];
          let productType: string | undefined;
          for (const mp of marketplaceIds) {
            const listing = await client.getListingsItem(conn.sellerId, doc.sku, mp);
            if (!listing) throw fail(`unknown SKU '${doc.sku}': seller ${conn.sellerId} has no listing for it in marketplace ${mp}`, 'UnknownSku');
            productType ??= listing.summaries?.find((s) => s.productType)?.productType;
            const current = listing.fulfillmentAvailability?.find((f) => f.fulfillmentChannelCode === channelCode)?.quantity;
            if (current !== quantity) toPatch.push(mp);
          }
          const base = { operation: 'patchListingsItem', sku: doc.sku, quantity, fulfillmentChannelCode: channelCode, marketplaceIds };
          if (!toPatch.length) return { ...base, outcome: 'unchanged' };
          const r = await client.setQuantity({
            sellerId: conn.sellerId,
            sku: doc.sku,
            marketplaceIds: toPatch,
            quantity,
            productType: productType ?? 'PRODUCT',
            fulfillmentChannelCode: channelCode,
          });
          if (r.status !== 'ACCEPTED') {
            const issues = (r.issues ?? []).map((i: any) => `${i.code}: ${i.message}`).join('; ');
            throw fail(`listing ${doc.sku} not accepted (${r.status})${issues ? `: ${issues}` : ''}`, (r.issues ?? [])[0]?.code ?? r.status);
          }
          return { ...base, outcome: 'sent', patched: toPatch, submissionId: r.submissionId, productType: productType ?? 'PRODUCT' };
        },
      };
    },
  });
};
