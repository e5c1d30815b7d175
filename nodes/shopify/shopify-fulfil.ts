/**
 * `tillwire-shopify-fulfil`: sends a canonical shipment to Shopify as a fulfilment
 * (`fulfillmentCreate` on the order's open fulfilment orders, with the tracking company, number and
 * URL). Once per shipment: a fulfilment already carrying the shipment's tracking number is not sent
 * again, and with a Tillwire store the shipment's business key is recorded too. A shipment for
 * another channel's order is a permanent error. The common body is nodes/core/channel-write.ts.
 */
import type { NodeRED } from '../core/node-red';
import { registerChannelWrite, type WriteResult } from '../core/channel-write';
import type { ShopifyClient } from './client';
import { SHOPIFY_CONFIG, type ShopifyConnection } from './connection';
import { sameShop, shopifyConnection } from './shopify-write';

export = function register(RED: NodeRED) {
  registerChannelWrite<ShopifyClient, ShopifyConnection>(RED, 'tillwire-shopify-fulfil', {
    system: 'shopify',
    label: 'Shopify fulfilment',
    operation: 'fulfillmentCreate',
    configProperty: 'shopify',
    configType: SHOPIFY_CONFIG,
    accepts: ['shipment'],
    connection: shopifyConnection,
    accountMatches: sameShop,
    writer(def, _connection, node) {
      const notifyCustomer = def.notify === true || def.notify === 'true';
      return {
        async write({ client, doc }): Promise<WriteResult> {
          const tracking = { company: doc.carrier, number: doc.trackingNumber, url: doc.trackingUrl };
          const r = await client.fulfilShipment(String(doc.order.channel.id), tracking, notifyCustomer);
          const base = { operation: 'fulfillmentCreate', orderId: r.orderId, shipmentId: doc.shipmentId, trackingNumber: doc.trackingNumber ?? null };
          if (r.outcome === 'already-fulfilled') {
            node.warn(`shipment ${doc.shipmentId}: Shopify order ${doc.order.channel.id} has no open fulfilment order left (fulfilled already); nothing sent`);
            return { ...base, outcome: 'unchanged', reason: 'order already fulfilled: no open fulfilment order' };
          }
          return { ...base, outcome: r.outcome, fulfillmentId: r.fulfillment?.id ?? null };
        },
      };
    },
  });
};
