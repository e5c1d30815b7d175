/**
 * The template "ERP shipments → channel fulfilment", as shipped in examples/, against the
 * simulators: orders from Shopify, Amazon and bol.com are in Odoo; the warehouse ships them in Odoo;
 * one read of Odoo's shipments tells each channel, once, with the tracking number. A second read
 * tells nobody anything again.
 */
import storeNode from '../../nodes/core/store-config';
import deadLetterNode from '../../nodes/core/dead-letter';
import replayNode from '../../nodes/core/replay';
import odooConfigNode from '../../nodes/odoo/odoo-config';
import odooNode from '../../nodes/odoo/odoo';
import shopifyConfigNode from '../../nodes/shopify/shopify-config';
import shopifyFulfilNode from '../../nodes/shopify/shopify-fulfil';
import amazonConfigNode from '../../nodes/amazon/amazon-config';
import amazonShipNode from '../../nodes/amazon/amazon-ship';
import bolConfigNode from '../../nodes/bol/bol-config';
import bolShipNode from '../../nodes/bol/bol-ship';
import { OdooSimulator, SEED } from '../../simulators/odoo/simulator';
import { OdooClient } from '../../nodes/odoo/client';
import { OdooSync } from '../../nodes/odoo/sync';
import { ShopifySimulator } from '../../simulators/shopify/simulator';
import { mapOrder } from '../../nodes/shopify/map';
import { AmazonSimulator } from '../../simulators/amazon/simulator';
import { toCanonicalOrder as amazonOrder } from '../../nodes/amazon/map';
import { BolSimulator } from '../../simulators/bol/simulator';
import { toCanonicalOrder as bolOrder } from '../../nodes/bol/map';
import { businessKey } from '../../nodes/model/validate';
import { helper, startServer, stopAll, until } from '../support/node-red';
import { idOf, readTemplate, templateFlow } from '../support/template';

// Node-RED's own switch node, as the template uses it.
const switchNode = require('@node-red/nodes/core/function/10-switch.js');

jest.setTimeout(60_000);
const TEMPLATE = 'ERP shipments → channel fulfilment';
const template = readTemplate(TEMPLATE);
const nodes = [
  switchNode,
  storeNode,
  deadLetterNode,
  replayNode,
  odooConfigNode,
  odooNode,
  shopifyConfigNode,
  shopifyFulfilNode,
  amazonConfigNode,
  amazonShipNode,
  bolConfigNode,
  bolShipNode,
];

let odoo: OdooSimulator;
let shopify: ShopifySimulator;
let amazon: AmazonSimulator;
let bol: BolSimulator;
beforeAll(async () => {
  odoo = new OdooSimulator({ catalogSize: 500 });
  shopify = new ShopifySimulator({ seed: 5 });
  amazon = new AmazonSimulator({ orders: 40, pendingEvery: 0, marketplaceIds: ['A1F83G8C2ARO7P'] });
  bol = new BolSimulator({ orders: 20 });
  await Promise.all([odoo.start(), shopify.start(), amazon.start(), bol.start()]);
});
afterAll(async () => {
  await Promise.all([odoo.stop(), shopify.stop(), amazon.stop(), bol.stop()]);
});
beforeEach(startServer);
afterEach(stopAll);

/** The template as deployed here: memory store, every connection pointed at its simulator. */
function flow() {
  return templateFlow(template, TEMPLATE, (n) => {
    switch (n.type) {
      case 'tillwire-store':
        return { ...n, backend: 'memory' };
      case 'tillwire-odoo-config':
        return { ...n, url: odoo.url, version: String(odoo.version), attempts: 3, retryDelay: 1 };
      case 'tillwire-shopify-config':
        return { ...n, shop: shopify.shop, baseUrl: shopify.url };
      case 'tillwire-amazon-config':
        return { ...n, endpoint: amazon.url, tokenUrl: `${amazon.url}/auth/o2/token` };
      case 'tillwire-bol-config':
        return { ...n, endpoint: bol.url, tokenUrl: bol.tokenUrl };
      default:
        return undefined;
    }
  });
}

function credentials() {
  return {
    [idOf(template, 'tillwire-odoo-config')]: { apiKey: odoo.apiKey },
    [idOf(template, 'tillwire-shopify-config')]: { accessToken: shopify.accessToken },
    [idOf(template, 'tillwire-amazon-config')]: { clientId: amazon.clientId, clientSecret: amazon.clientSecret, refreshToken: amazon.refreshToken },
    [idOf(template, 'tillwire-bol-config')]: { clientId: bol.clientId, clientSecret: bol.clientSecret },
  };
}

it('Odoo deliveries reach Shopify, Amazon and bol.com once each, with their tracking numbers', async () => {
  // One open order from each channel, written to Odoo as the channel templates would.
  const sync = new OdooSync(
    new OdooClient({ url: odoo.url, database: odoo.database, login: odoo.login, apiKey: odoo.apiKey, api: 'jsonrpc', version: odoo.version }),
    {
      version: odoo.version,
      defaultPartnerId: SEED.walkInPartnerId,
    },
  );
  const shopifyOrder = mapOrder(shopify.createOrder(), shopify.shop);
  const amazonId = amazon.orderIds().find((id) => amazon.order(id)!.OrderStatus === 'Unshipped')!;
  const amazonDoc = amazonOrder(amazon.order(amazonId)!, amazon.items(amazonId), { account: amazon.sellerId });
  const bolId = bol.orderIds().find((id) => bol.order(id)!.orderItems.every((it: any) => it.quantityShipped === 0 && it.quantityCancelled === 0))!;
  const bolDoc = bolOrder(bol.order(bolId)!, { account: '1234567' });
  const docs = [shopifyOrder, amazonDoc, bolDoc];
  for (const doc of docs) await sync.pushOrder(doc, businessKey(doc)!);
  // The warehouse ships all three; a store sale shipped too would have no channel to tell.
  const tracking = ['1Z-SHOPIFY-1', 'TBA-AMAZON-1', '3SBOL0001'];
  docs.forEach((doc, i) => odoo.ship({ order: businessKey(doc)!, carrier: 'UPS', trackingRef: tracking[i] }));

  await helper.load(nodes, flow(), credentials());
  const sent: any[] = [];
  helper.getNode('ship-sent').on('input', (m: any) => sent.push(m));
  const read = () => helper.getNode('ship-read').receive({ payload: '' });
  read();
  await until(() => sent.length === 3, 30_000);

  expect(sent.map((m) => m.channelResult.system).sort()).toEqual(['amazon', 'bol', 'shopify']);
  expect(sent.every((m) => m.payload.kind === 'shipment')).toBe(true);
  // Each channel now holds the shipment, with the ERP's tracking number.
  const fulfilments = shopify.fulfillments.get(Number(shopifyOrder.channel.id)) ?? [];
  expect(fulfilments.flatMap((f) => f.trackingInfo.map((t) => t.number))).toEqual([tracking[0]]);
  expect(Object.keys(amazon.packages(amazonId))).toHaveLength(1);
  expect(JSON.stringify(amazon.packages(amazonId))).toContain(tracking[1]);
  expect(Object.values(bol.shipments(bolId))).toEqual([tracking[2]]);

  // A second read finds no new deliveries: nobody is told twice.
  const readNode: any = helper.getNode('ship-read');
  const calls = readNode.status.getCalls().length;
  read();
  // The read has finished when its badge turns green again.
  await until(() =>
    readNode.status
      .getCalls()
      .slice(calls)
      .some((c: any) => c.thisValue?.id === 'ship-read' && c.args[0]?.fill === 'green'),
  );
  const badge = readNode.status
    .getCalls()
    .filter((c: any) => c.thisValue?.id === 'ship-read')
    .pop().args[0].text;
  expect(badge).toBe('sent 3'); // the node's running count: nothing new read
  expect(sent).toHaveLength(3);
  expect(shopify.fulfillments.get(Number(shopifyOrder.channel.id))).toHaveLength(1);
});
