/**
 * The read-back of bol.com offer stock (operation "read" of `tillwire-bol-inventory`,
 * core/channel-read.ts): each SKU's offer (the node's offer map) read with
 * `GET /retailer/offers/{offer-id}` (contract.ts, OFFER_READ), paced by the client's `offers:get`
 * bucket. The figure compared is `correctedStock`, what bol offers now (a sale on bol not taken in
 * yet shows as drift); `amount`, the figure last set, rides along as an attribute. A SKU not in the
 * offer map, or whose offer bol does not know (404), is unknown.
 */
import { malformedAnswer, type ChannelRead } from '../core/channel-read';
import type { BolClient } from './client';

const OPERATION = 'offers:get';

export function bolStockRead(offers: Record<string, string>): ChannelRead<BolClient> {
  return {
    operation: OPERATION,
    pageSize: 25,
    async read(client, skus) {
      const readings = [];
      const unknown: string[] = [];
      for (const sku of skus) {
        const offerId = offers[sku];
        const offer = offerId ? await client.getOffer(offerId) : undefined;
        if (!offer) {
          unknown.push(sku);
          continue;
        }
        const stock = (offer as { stock?: { amount?: unknown; correctedStock?: unknown; managedByRetailer?: unknown } }).stock;
        const whole = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
        if (!stock || typeof stock !== 'object') throw malformedAnswer('bol', OPERATION, `offer ${offerId} (SKU '${sku}') has no stock`);
        if (!whole(stock.amount) || !whole(stock.correctedStock))
          throw malformedAnswer(
            'bol',
            OPERATION,
            `offer ${offerId} (SKU '${sku}'): stock.amount and stock.correctedStock must be whole numbers of 0 or more, got ${JSON.stringify(stock.amount)} and ${JSON.stringify(stock.correctedStock)}`,
          );
        readings.push({
          sku,
          available: stock.correctedStock as number,
          attributes: { bolOfferId: offerId, bolAmount: String(stock.amount), bolManagedByRetailer: String(stock.managedByRetailer === true) },
        });
      }
      return { readings, unknown };
    },
  };
}
