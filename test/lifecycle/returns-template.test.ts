/**
 * The template "Returns and refunds from every channel", as shipped in examples/, against the
 * simulators: a Shopify refund (webhook, delivered three times) and a Square return (webhook) become
 * one posted Odoo credit note each, linked to the original order; orders passing through the same
 * webhooks are closed in the inbox without touching Odoo.
 */
import storeNode from '../../nodes/core/store-config';
import deadLetterNode from '../../nodes/core/dead-letter';
import replayNode from '../../nodes/core/replay';
import ackNode from '../../nodes/core/ack';
import odooConfigNode from '../../nodes/odoo/odoo-config';
import odooNode from '../../nodes/odoo/odoo';
import shopifyConfigNode from '../../nodes/shopify/shopify-config';
import shopifyWebhookNode from '../../nodes/shopify/shopify-webhook';
import shopifyOrdersNode from '../../nodes/shopify/shopify-orders';
import squareConfigNode from '../../nodes/square/square-config';
import squareWebhookNode from '../../nodes/square/square-webhook';
import squareOrdersNode from '../../nodes/square/square-orders';
import { OdooSimulator, SEED } from '../../simulators/odoo/simulator';
import { OdooClient } from '../../nodes/odoo/client';
import { OdooSync } from '../../nodes/odoo/sync';
import { ShopifySimulator } from '../../simulators/shopify/simulator';
import { mapOrder } from '../../nodes/shopify/map';
import { SquareSimulator } from '../../simulators/square/simulator';
import { mapSquareOrder } from '../../nodes/square/map';
import { businessKey } from '../../nodes/model/validate';
import { helper, httpNodeProbe, serveHttpNode, startServer, stopAll, until } from '../support/node-red';
import { readTemplate, templateFlow } from '../support/template';

const switchNode = require('@node-red/nodes/core/function/10-switch.js');

jest.setTimeout(60_000);
const TEMPLATE = 'Returns and refunds from every channel';
const template = readTemplate(TEMPLATE);
const nodes = [
  httpNodeProbe,
  switchNode,
  storeNode,
  deadLetterNode,
  replayNode,
  ackNode,
  odooConfigNode,
  odooNode,
  shopifyConfigNode,
  shopifyWebhookNode,
  shopifyOrdersNode,
  squareConfigNode,
  squareWebhookNode,
  squareOrdersNode,
];
const byType = (type: string) => template.find((n) => n.type === type)!;

let odoo: OdooSimulator;
let shopify: ShopifySimulator;
let square: SquareSimulator;
beforeAll(async () => {
  odoo = new OdooSimulator({ catalogSize: 500 });
  await odoo.start();
});
afterAll(() => odoo.stop());
beforeEach(async () => {
  await startServer();
  serveHttpNode();
  shopify = new ShopifySimulator({ seed: 3, webhooks: { duplicates: 3, retryDelayMs: 1 } });
  square = new SquareSimulator({
    webhook: { url: `${helper.url()}${byType('tillwire-square-webhook').path}`, autoDeliver: true, retryDelaysMs: [10, 10, 10] },
  });
  await Promise.all([shopify.start(), square.start()]);
});
afterEach(async () => {
  await Promise.all([shopify.stop(), square.stop()]);
  await stopAll();
});

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
      case 'tillwire-square-config':
        return { ...n, baseUrl: square.url };
      case 'tillwire-shopify-orders':
      case 'tillwire-square-orders':
        return { ...n, z: 'f1', interval: '0' }; // the pollers run on demand here
      default:
        return undefined;
    }
  });
}

it('a Shopify refund and a Square return each become one posted credit note linked to the original order', async () => {
  // The original orders are already in Odoo (a channel's orders template put them there).
  const sync = new OdooSync(
    new OdooClient({ url: odoo.url, database: odoo.database, login: odoo.login, apiKey: odoo.apiKey, api: 'jsonrpc', version: odoo.version }),
    {
      version: odoo.version,
      defaultPartnerId: SEED.walkInPartnerId,
    },
  );
  const placed = shopify.createOrder();
  const shopifyDoc = mapOrder(placed, shopify.shop);
  const shopifySo = await sync.pushOrder(shopifyDoc, businessKey(shopifyDoc)!);
  const skuMap = SquareSimulator.demoSkuMap(50);
  const sale = square.randomSale('L-LDN');
  const squareDoc = mapSquareOrder(sale, { mode: 'order', skuMap });
  if (squareDoc.kind !== 'order') throw new Error(`square sale mapped as ${squareDoc.kind}`);
  const squareSo = await sync.pushOrder(squareDoc.doc, squareDoc.key);

  const shopifyHook = byType('tillwire-shopify-webhook');
  const squareHook = byType('tillwire-square-webhook');
  await helper.load(nodes, flow(), {
    [byType('tillwire-odoo-config').id]: { apiKey: odoo.apiKey },
    [byType('tillwire-shopify-config').id]: { accessToken: shopify.accessToken, webhookSecret: shopify.appSecret },
    [byType('tillwire-square-config').id]: {
      accessToken: square.accessToken,
      signatureKey: 'sq-sim-signature-key',
      notificationUrl: `${helper.url()}${squareHook.path}`,
    },
  });
  const store = await (helper.getNode(byType('tillwire-store').id) as any).manager.acquire();
  await until(async () => (await fetch(`${helper.url()}${shopifyHook.path}`, { method: 'POST', body: '{}' })).status === 401);
  shopify.subscribe(`${helper.url()}${shopifyHook.path}`);

  const refund = shopify.refundOrder(placed.id); // refunds/create and orders/updated, each three times
  const { order: returned } = square.returnItems(sale.id, [{ lineUid: sale.line_items![0].uid!, quantity: '1' }]);
  await shopify.settle();

  const notes = () => odoo.records('account.move', [['move_type', '=', 'out_refund']], ['ref', 'state', 'invoice_origin']);
  await until(() => notes().length === 2 && notes().every((n) => n.state === 'posted'), 20_000);
  const byRef = Object.fromEntries(notes().map((n) => [String(n.ref), n]));
  expect(byRef[`return:shopify:${refund.id}`]).toMatchObject({ state: 'posted', invoice_origin: shopifySo.name });
  expect(byRef[`return:square:${returned.id}`]).toMatchObject({ state: 'posted', invoice_origin: squareSo.name });
  // Every webhook event is finished in the inbox, orders included, and Odoo has no new orders.
  for (const source of [`shopify:${shopify.shop}`]) await until(async () => (await store.inboxPending(source, 1000)).length === 0);
  expect(odoo.records('sale.order')).toHaveLength(2);
  expect(await store.listDeadLetters({})).toEqual([]);
});
