/**
 * The read-back of a seller's listing quantities (operation "read" of `tillwire-amazon-inventory`,
 * core/channel-read.ts): `getListingsItem` with `includedData=fulfillmentAvailability` per SKU and
 * marketplace (contract.ts, LISTING_QUANTITY_READ), paced by the account's getListingsItem bucket.
 * The quantity of the node's fulfilment channel code (DEFAULT: merchant-fulfilled) is the figure
 * Tillwire sets; a listing without an entry for it offers 0. A SKU the seller has no listing for (404)
 * in a marketplace is unknown. With several marketplaces each is its own reading, the marketplace id
 * as its location.
 */
import { malformedAnswer, type ChannelRead, type ChannelReading } from '../core/channel-read';
import type { AmazonClient } from './client';

const OPERATION = 'getListingsItem';

export function amazonStockRead(sellerId: string, marketplaceIds: string[], channelCode: string): ChannelRead<AmazonClient> {
  return {
    operation: OPERATION,
    // One call per SKU and marketplace: a page is what the bucket's burst lets through at once.
    pageSize: 10,
    async read(client, skus) {
      const readings: ChannelReading[] = [];
      const unknown = new Set<string>();
      for (const sku of skus)
        for (const mp of marketplaceIds) {
          const listing = await client.getListingsItem(sellerId, sku, mp);
          if (!listing) {
            unknown.add(marketplaceIds.length > 1 ? `${sku} (${mp})` : sku);
            continue;
          }
          const available = quantityOf(listing, sku, mp, channelCode);
          readings.push({
            sku,
            available: available ?? 0,
            ...(marketplaceIds.length > 1 ? { locationId: mp } : {}),
            attributes: { amazonMarketplaceId: mp, amazonFulfillmentChannelCode: channelCode, ...(available === undefined ? { amazonQuantity: 'none' } : {}) },
          });
        }
      return { readings, unknown: [...unknown] };
    },
  };
}

/** The listing's quantity for the channel code; undefined when it has no entry for it. */
function quantityOf(listing: Record<string, any>, sku: string, mp: string, channelCode: string): number | undefined {
  const bad = (what: string) => malformedAnswer('amazon', OPERATION, `listing ${sku} in ${mp}: ${what}`);
  if (typeof listing !== 'object' || listing === null) throw bad('the answer is not an object');
  const fa = listing.fulfillmentAvailability;
  // Asked for with includedData: absent or not a list means the answer is not what the API documents.
  if (!Array.isArray(fa)) throw bad('no fulfillmentAvailability list, though includedData asked for it');
  const entry = fa.find((f: any) => f?.fulfillmentChannelCode === channelCode);
  if (!entry) return undefined;
  if (!Number.isSafeInteger(entry.quantity) || entry.quantity < 0)
    throw bad(`the ${channelCode} quantity is not a whole number of 0 or more: ${JSON.stringify(entry.quantity)}`);
  return entry.quantity;
}
