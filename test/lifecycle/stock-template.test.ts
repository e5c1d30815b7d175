/**
 * The template "ERP stock → channel inventory", as shipped in examples/, against the simulators:
 * one read of Odoo's stock for the template's SKUs sets each channel's quantity to what Odoo holds
 * at the main stock location WH/Stock (Shopify on hand, Amazon sellable = on hand − reserved, Square
 * physical count, bol.com offer stock = on hand − reserved − safety stock), though one SKU also has
 * stock at a second location (read after WH/Stock's) that would otherwise overwrite it, and that the
 * Shopify and Square nodes refuse even past the switch; reading the same stock again leaves every
 * quantity as it is.
 */
import storeNode from '../../nodes/core/store-config';
import deadLetterNode from '../../nodes/core/dead-letter';
import odooConfigNode from '../../nodes/odoo/odoo-config';
import odooNode from '../../nodes/odoo/odoo';
import shopifyConfigNode from '../../nodes/shopify/shopify-config';
import shopifyInventoryNode from '../../nodes/shopify/shopify-inventory';
import amazonConfigNode from '../../nodes/amazon/amazon-config';
import amazonInventoryNode from '../../nodes/amazon/amazon-inventory';
import squareConfigNode from '../../nodes/square/square-config';
import squareInventoryNode from '../../nodes/square/square-inventory';
import bolConfigNode from '../../nodes/bol/bol-config';
import bolInventoryNode from '../../nodes/bol/bol-inventory';
import { OdooSimulator } from '../../simulators/odoo/simulator';
import { OdooClient } from '../../nodes/odoo/client';
import { OdooSync } from '../../nodes/odoo/sync';
import { ShopifySimulator } from '../../simulators/shopify/simulator';
import { AmazonSimulator } from '../../simulators/amazon/simulator';
import { SquareSimulator } from '../../simulators/square/simulator';
import { BolSimulator } from '../../simulators/bol/simulator';
import { helper, startServer, stopAll, until } from '../support/node-red';
import { idOf, readTemplate, templateFlow } from '../support/template';

const switchNode = require('@node-red/nodes/core/function/10-switch.js');

jest.setTimeout(60_000);
const TEMPLATE = 'ERP stock → channel inventory';
const template = readTemplate(TEMPLATE);
const nodes = [
  storeNode,
  deadLetterNode,
  odooConfigNode,
  odooNode,
  shopifyConfigNode,
  shopifyInventoryNode,
  amazonConfigNode,
  amazonInventoryNode,
  squareConfigNode,
  squareInventoryNode,
  bolConfigNode,
  bolInventoryNode,
  switchNode,
];
const MARKETPLACE = 'A1F83G8C2ARO7P';
const CHANNELS = 4;

let odoo: OdooSimulator;
let shopify: ShopifySimulator;
let amazon: AmazonSimulator;
let square: SquareSimulator;
let bol: BolSimulator;
beforeAll(async () => {
  odoo = new OdooSimulator({ catalogSize: 50 });
  shopify = new ShopifySimulator();
  amazon = new AmazonSimulator({ orders: 10, marketplaceIds: [MARKETPLACE], listingDelayMs: 0 });
  square = new SquareSimulator();
  bol = new BolSimulator({ orders: 0 });
  await Promise.all([odoo.start(), shopify.start(), amazon.start(), square.start(), bol.start()]);
});
afterAll(async () => {
  await Promise.all([odoo.stop(), shopify.stop(), amazon.stop(), square.stop(), bol.stop()]);
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
        return { ...n, url: odoo.url, version: String(odoo.version) };
      case 'tillwire-shopify-config':
        return { ...n, shop: shopify.shop, baseUrl: shopify.url };
      case 'tillwire-amazon-config':
        return { ...n, endpoint: amazon.url, tokenUrl: `${amazon.url}/auth/o2/token`, marketplaceIds: MARKETPLACE };
      case 'tillwire-square-config':
        return { ...n, baseUrl: square.url };
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
    [idOf(template, 'tillwire-square-config')]: {
      accessToken: square.accessToken,
      signatureKey: 'sq-sim-signature-key',
      notificationUrl: 'http://127.0.0.1:1880/square/webhook',
    },
    [idOf(template, 'tillwire-bol-config')]: { clientId: bol.clientId, clientSecret: bol.clientSecret },
  };
}

it("each channel ends up with Odoo's quantity for every SKU; the same stock again leaves them as they are", async () => {
  const inject = template.find((n) => n.type === 'inject')!;
  const skus: string[] = JSON.parse(inject.payload);
  const sync = new OdooSync(
    new OdooClient({ url: odoo.url, database: odoo.database, login: odoo.login, apiKey: odoo.apiKey, api: 'jsonrpc', version: odoo.version }),
    { version: odoo.version },
  );
  // A second internal location holds more of the first SKU; Odoo reports it after WH/Stock's.
  odoo.stockAt(skus[0], 'Store', 8);
  const read = await sync.readStock(skus);
  expect(read.positions.filter((p) => p.sku === skus[0]).map((p) => [p.locationId, p.onHand])).toEqual([
    ['WH/Stock', expect.any(Number)],
    ['WH/Store', 8],
  ]);
  const positions = read.positions.filter((p) => p.locationId === 'WH/Stock');
  expect(positions.map((p) => p.sku).sort()).toEqual([...skus].sort());
  expect(positions.find((p) => p.sku === skus[0])!.onHand).not.toBe(8);

  await helper.load(nodes, flow(), credentials());
  const sent: any[] = [];
  helper.getNode('stk-sent').on('input', (m: any) => sent.push(m));
  const dead: any[] = [];
  helper.getNode('stk-dl').on('input', (m: any) => dead.push(m.error));
  helper.getNode('stk-read').receive({ payload: skus });
  await until(() => sent.length === CHANNELS * skus.length, 30_000);

  const shopifyLevel = (sku: string) => shopify.inventory.get(`${shopify.inventoryItems.get(sku)}|gid://shopify/Location/1|on_hand`);
  const squareCount = (sku: string) => square.inventoryCount(SquareSimulator.catalogObjectId(sku), 'L-LDN');
  const bolStock = (sku: string) => bol.offer(BolSimulator.offerIdOf(sku))?.amount;
  for (const p of positions) {
    expect({
      sku: p.sku,
      shopify: shopifyLevel(p.sku),
      amazon: amazon.listing(p.sku, MARKETPLACE),
      square: squareCount(p.sku),
      bol: bolStock(p.sku),
    }).toEqual({
      sku: p.sku,
      shopify: p.onHand,
      amazon: Math.max(0, p.onHand - p.reserved - p.safetyStock),
      square: String(p.onHand),
      bol: Math.max(0, p.onHand - p.reserved - p.safetyStock),
    });
  }
  expect(bol.stockUpdates).toHaveLength(skus.length);
  expect(sent.every((m) => ['sent', 'unchanged'].includes(m.channelResult.outcome))).toBe(true);

  // The same stock read again (a later asOf, so a new figure): every channel still holds Odoo's
  // quantity, and Amazon, which is asked first, is not patched to what it already has.
  const levels = () => positions.map((p) => [shopifyLevel(p.sku), amazon.listing(p.sku, MARKETPLACE), squareCount(p.sku), bolStock(p.sku)]);
  const before = levels();
  helper.getNode('stk-read').receive({ payload: skus });
  await until(() => sent.length === 2 * CHANNELS * skus.length, 30_000);
  expect(levels()).toEqual(before);
  expect(
    sent
      .slice(CHANNELS * skus.length)
      .filter((m) => m.channelResult.system === 'amazon')
      .every((m) => m.channelResult.outcome !== 'sent'),
  ).toBe(true);
  expect(dead).toEqual([]);

  // Past the switch, Shopify and Square take no other location's position either (their node's
  // location takes its ERP location's, WH/Stock): WH/Store's is dead-lettered, not written over it.
  const second = read.positions.find((p) => p.locationId === 'WH/Store')!;
  helper.getNode('stk-shopify').receive({ payload: second });
  helper.getNode('stk-square').receive({ payload: second });
  await until(() => dead.length === 2, 30_000);
  expect(dead.map((e) => [e.cause.system, e.cause.providerCode, e.message.match(/SKU '[^']+' at location '[^']+'/)?.[0]]).sort()).toEqual([
    ['shopify', 'UnmappedLocation', `SKU '${skus[0]}' at location 'WH/Store'`],
    ['square', 'UnmappedLocation', `SKU '${skus[0]}' at location 'WH/Store'`],
  ]);
  expect(levels()).toEqual(before);
});
