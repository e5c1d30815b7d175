/**
 * `tillwire-amazon-ship`: confirms a canonical shipment to Amazon (Orders v0 `confirmShipment`
 * with the shipped order items, carrier, tracking number and ship date). The order's marketplace
 * comes from getOrder; lines without the Amazon order item id (`lineId`) are matched to the order's
 * items by SellerSKU, and a SKU the order does not have is a permanent error naming it. The package
 * reference is derived from the shipment id, so a repeat is the same package (Amazon accepts it
 * without change); an order Amazon says is already shipped counts as done. The common body is
 * nodes/core/channel-write.ts.
 */
import type { NodeRED } from '../core/node-red';
import { permanentError, registerChannelWrite, type WriteResult } from '../core/channel-write';
import { ConnectorError } from '../runtime/http';
import type { AmazonClient } from './client';
import { amazonConnection, packageReferenceFor } from './amazon-write';
import { v0Status } from './map-v2026';
import { AMAZON_CONFIG, type AmazonConnection } from './connection';

/**
 * What confirmShipment needs of an order (status in v0's spelling, marketplace, items), read with
 * the account's Orders API version: 2026-01-01 getOrder (FULFILLMENT; items inline) or v0
 * getOrder (+ getOrderItems when a line has no order item id).
 */
async function readOrder(client: AmazonClient, conn: AmazonConnection, orderId: string, needItems: boolean) {
  if (conn.apiVersion === '2026-01-01') {
    const o = await client.getOrderV2026(orderId, ['FULFILLMENT']);
    const items = (o.orderItems ?? []).map((it: Record<string, any>) => ({ OrderItemId: it.orderItemId, SellerSKU: it.product?.sellerSku }));
    return { status: v0Status(o), marketplaceId: o.salesChannel?.marketplaceId as string, items };
  }
  const o = await client.getOrder(orderId);
  return { status: o.OrderStatus as string, marketplaceId: o.MarketplaceId as string, items: needItems ? await client.getOrderItems(orderId) : [] };
}

/** Carrier codes Amazon knows, by the lower-case name an ERP might hold; others go as `Other` + name. */
const CARRIERS: Record<string, string> = {
  ups: 'UPS',
  usps: 'USPS',
  fedex: 'FedEx',
  dhl: 'DHL',
  'dhl express': 'DHL',
  dpd: 'DPD',
  gls: 'GLS',
  'royal mail': 'Royal Mail',
  hermes: 'Hermes',
  evri: 'Evri',
  'japan post': 'Japan Post',
  'yamato transport': 'Yamato Transport',
  ontrac: 'OnTrac',
  'amazon shipping': 'Amazon Shipping',
};

export = function register(RED: NodeRED) {
  registerChannelWrite<AmazonClient, AmazonConnection>(RED, 'tillwire-amazon-ship', {
    system: 'amazon',
    label: 'Amazon shipment confirmation',
    operation: 'confirmShipment',
    configProperty: 'amazon',
    configType: AMAZON_CONFIG,
    accepts: ['shipment'],
    connection: amazonConnection,
    writer(_def, _connection, _node, conn) {
      const fail = (message: string, code: string) => permanentError('amazon', 'confirmShipment', message, { providerCode: code });
      return {
        async write(ctx): Promise<WriteResult> {
          const { client, doc, key } = ctx;
          const orderId = String(doc.order.channel.id);
          if (!doc.trackingNumber) throw fail(`shipment ${doc.shipmentId} has no trackingNumber; Amazon needs one to confirm a shipment`, 'NoTracking');
          const needItems = doc.lines.some((l: any) => !l.lineId);
          let order: Awaited<ReturnType<typeof readOrder>>;
          try {
            order = await readOrder(client, conn, orderId, needItems);
          } catch (err) {
            if (err instanceof ConnectorError && err.status === 404) throw fail(`order ${orderId} not found on Amazon (seller ${conn.sellerId})`, 'NotFound');
            throw err;
          }
          if (order.status === 'Canceled') throw fail(`order ${orderId} is Canceled on Amazon and cannot be shipped`, 'OrderCanceled');
          const wasShipped = order.status === 'Shipped';
          const items = order.items;
          const orderItems = doc.lines.map((l: any) => {
            if (l.lineId) return { orderItemId: String(l.lineId), quantity: l.quantity };
            const it = items.find((x: Record<string, any>) => x.SellerSKU === l.sku);
            if (!it)
              throw fail(`unknown SKU '${l.sku}': Amazon order ${orderId} has no item with this SellerSKU (give the order item id as lineId)`, 'UnknownSku');
            return { orderItemId: String(it.OrderItemId), quantity: l.quantity };
          });
          const carrier = String(doc.carrier ?? '').trim();
          const code = CARRIERS[carrier.toLowerCase()];
          const packageReferenceId = packageReferenceFor(key);
          const base = {
            operation: 'confirmShipment',
            orderId,
            shipmentId: doc.shipmentId,
            packageReferenceId,
            marketplaceId: order.marketplaceId,
            trackingNumber: doc.trackingNumber,
          };
          try {
            await client.confirmShipment(orderId, {
              marketplaceId: order.marketplaceId,
              packageDetail: {
                packageReferenceId,
                carrierCode: code ?? 'Other',
                ...(code ? {} : { carrierName: carrier || 'Other' }),
                ...(doc.service ? { shippingMethod: doc.service } : {}),
                trackingNumber: doc.trackingNumber,
                shipDate: doc.shippedAt,
                orderItems,
              },
            });
          } catch (err) {
            // Amazon refuses a second confirmation of a shipped order: that is this shipment done.
            if (err instanceof ConnectorError && err.status === 400) {
              const already =
                /already (been )?shipped/i.test(err.details.providerMessage ?? '') || (await readOrder(client, conn, orderId, false)).status === 'Shipped';
              if (already) return { ...base, outcome: 'already-sent', reason: 'Amazon says the order is already shipped' };
            }
            throw err;
          }
          return { ...base, outcome: wasShipped ? 'already-sent' : 'sent' };
        },
      };
    },
  });
};
