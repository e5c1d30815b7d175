/**
 * Channel read-back in a real Node-RED (red.js with the product's settings): figures pushed to the
 * Shopify, Amazon, Square and bol.com simulators through their inventory nodes (operation "write"),
 * then read back by the same nodes with operation "read" into tillwire-inventory-reserve, the ledger on
 * PostgreSQL (a schema of this test's own), as the template wires it.
 *
 * - nothing changed at the channels: every read-back is compared, no drift;
 * - each channel's quantity changed behind Tillwire's back (the channel's own admin, a sale): the
 *   read-back of every SKU the nodes pushed reports drift on the reserve node's third output with its
 *   size and cause, and nothing is written to any channel.
 */
import { deployCredentialsAndWait, RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { flowCalls } from '../support/flow-calls';
import { POSTGRES_URL, uniqueName } from '../support/services';
import { channelConfigNodes } from '../support/config-nodes';
import { ShopifySimulator } from '../../simulators/shopify/simulator';
import { AmazonSimulator } from '../../simulators/amazon/simulator';
import { SquareSimulator } from '../../simulators/square/simulator';
import { BolSimulator } from '../../simulators/bol/simulator';
import { DEFAULT_SQUARE_VERSION } from '../../nodes/square/contract';

jest.setTimeout(60_000);

const schema = uniqueName('tw_readback');
const UK = 'A1F83G8C2ARO7P';
const SKU = 'SKU-0001';
const SHOPIFY_LOCATION = 'gid://shopify/Location/1';
let red: RunningNodeRed;
let shopify: ShopifySimulator;
let amazon: AmazonSimulator;
let square: SquareSimulator;
let bol: BolSimulator;
const { call, until } = flowCalls(() => red);

const CHANNELS = ['shopify', 'amazon', 'square', 'bol'] as const;

function flows() {
  const record = (name: string, what: string) => `const list = flow.get('${name}') || []; list.push(${what}); flow.set('${name}', list); return msg;`;
  const offers = JSON.stringify({ [SKU]: BolSimulator.offerIdOf(SKU) });
  const settings = {
    shopify: { type: 'tillwire-shopify-inventory', shopify: 'shc', location: '1' },
    amazon: { type: 'tillwire-amazon-inventory', amazon: 'amc', marketplaceIds: UK },
    square: { type: 'tillwire-square-inventory', square: 'sqc', location: 'L-LDN' },
    bol: { type: 'tillwire-bol-inventory', bol: 'boc', offers },
  };
  return [
    { id: 'tab', type: 'tab', label: 'read-back' },
    { id: 'st', type: 'tillwire-store', name: 'shared', backend: 'postgres', schema },
    ...channelConfigNodes({ shopify, amazon, square, bol }, { marketplaceIds: UK, squareLocations: 'L-LDN' }).nodes,
    // Pushes: an inventory.ats per channel, routed by its channel to the write nodes.
    { id: 'push', type: 'http in', z: 'tab', url: '/push', method: 'post', wires: [['route', 'ack']] },
    {
      id: 'route',
      type: 'switch',
      z: 'tab',
      property: 'payload.channel.system',
      propertyType: 'msg',
      rules: CHANNELS.map((c) => ({ t: 'eq', v: c, vt: 'str' })),
      checkall: 'false',
      outputs: 4,
      wires: CHANNELS.map((c) => [`write-${c}`]),
    },
    ...CHANNELS.map((c) => ({ id: `write-${c}`, z: 'tab', ...settings[c], store: 'st', operation: 'write', wires: [['sent']] })),
    { id: 'sent', type: 'function', z: 'tab', func: record('sent', 'msg.channelResult'), outputs: 1, wires: [[]] },
    // The read-back, as the template schedules it: a timestamp (every SKU pushed) or msg.skus, to every channel's read node, into the reserve node.
    { id: 'read', type: 'http in', z: 'tab', url: '/read', method: 'post', wires: [['asInject', 'ack']] },
    {
      id: 'asInject',
      type: 'function',
      z: 'tab',
      func: 'if (Array.isArray(msg.payload.skus)) msg.skus = msg.payload.skus;\nmsg.payload = Date.now();\nreturn msg;',
      outputs: 1,
      wires: [CHANNELS.map((c) => `read-${c}`)],
    },
    ...CHANNELS.map((c) => ({ id: `read-${c}`, z: 'tab', ...settings[c], store: 'st', operation: 'read', wires: [['guard']] })),
    // A bol read-back node without a store: it can read SKUs it is given, not "every SKU pushed".
    { id: 'read-lone', type: 'http in', z: 'tab', url: '/read-lone', method: 'post', wires: [['asSkus', 'ack']] },
    {
      id: 'asSkus',
      type: 'function',
      z: 'tab',
      func: 'if (msg.payload.skus !== undefined) msg.skus = msg.payload.skus;\nmsg.payload = msg.payload.payload;\nreturn msg;',
      outputs: 1,
      wires: [['read-nostore']],
    },
    { id: 'read-nostore', z: 'tab', ...settings.bol, operation: 'read', wires: [['guard']] },
    { id: 'guard', type: 'tillwire-inventory-reserve', z: 'tab', store: 'st', locations: 'WH1', wires: [['compared'], [], ['drift']] },
    {
      id: 'compared',
      type: 'function',
      z: 'tab',
      func: record('compared', '{ channel: msg.payload.channel, sku: msg.payload.sku, available: msg.payload.available }'),
      outputs: 1,
      wires: [[]],
    },
    { id: 'drift', type: 'function', z: 'tab', func: record('drift', 'msg.payload'), outputs: 1, wires: [[]] },
    {
      id: 'kc',
      type: 'catch',
      z: 'tab',
      scope: [...CHANNELS.map((c) => `write-${c}`), ...CHANNELS.map((c) => `read-${c}`), 'read-nostore', 'guard'],
      uncaught: false,
      wires: [['failed']],
    },
    { id: 'failed', type: 'function', z: 'tab', func: record('failed', 'msg.error.message'), outputs: 1, wires: [[]] },
    { id: 'ack', type: 'function', z: 'tab', func: 'msg.payload = { ok: true };\nreturn msg;', outputs: 1, wires: [['res']] },
    { id: 'res', type: 'http response', z: 'tab', statusCode: '', headers: {} },
    { id: 'seen', type: 'http in', z: 'tab', url: '/seen', method: 'get', wires: [['show']] },
    {
      id: 'show',
      type: 'function',
      z: 'tab',
      func: "msg.payload = { sent: flow.get('sent') || [], compared: flow.get('compared') || [], drift: flow.get('drift') || [], failed: flow.get('failed') || [] };\nreturn msg;",
      outputs: 1,
      wires: [['res']],
    },
  ];
}

interface Seen {
  sent: Array<{ system: string; outcome: string }>;
  compared: Array<{ channel: { system: string }; sku: string; available: number }>;
  drift: Array<Record<string, any>>;
  failed: string[];
}
const seen = (): Promise<Seen> => call('/seen');

/** What each simulator holds for the SKU now. */
const held = {
  shopify: () => shopify.inventory.get(`${shopify.inventoryItems.get(SKU)}|${SHOPIFY_LOCATION}|available`),
  amazon: () => amazon.listing(SKU, UK),
  square: () => Number(square.inventoryCount(SquareSimulator.catalogObjectId(SKU), 'L-LDN')),
  bol: () => bol.offer(BolSimulator.offerIdOf(SKU))?.amount,
};

beforeAll(async () => {
  shopify = new ShopifySimulator({ orders: 0 });
  amazon = new AmazonSimulator({ orders: 0, marketplaceIds: [UK] });
  square = new SquareSimulator({});
  bol = new BolSimulator({ orders: 0 });
  await Promise.all([shopify.start(), amazon.start(), square.start(), bol.start()]);
  red = await startNodeRed({ via: 'red', flows: flows(), env: { TILLWIRE_LOG_LEVEL: 'warn' } });
  await deployCredentialsAndWait(red, {
    st: { url: POSTGRES_URL },
    ...channelConfigNodes({ shopify, amazon, square, bol }, { marketplaceIds: UK, squareLocations: 'L-LDN' }).credentials,
  });
  // Tillwire pushes 7 of the SKU to every channel.
  const computedAt = new Date(Date.now() - 1000).toISOString();
  for (const system of CHANNELS) await call('/push', { kind: 'inventory.ats', sku: SKU, channel: { system }, available: 7, computedAt });
  await until('every push confirmed', async () => (await seen()).sent.length === 4);
  expect(CHANNELS.map((c) => held[c]())).toEqual([7, 7, 7, 7]);
});

afterAll(async () => {
  await red?.stop();
  await Promise.all([shopify?.stop(), amazon?.stop(), square?.stop(), bol?.stop()]);
});

it('nothing changed at the channels: every read-back is compared with the push and no drift is reported', async () => {
  await call('/read', { skus: [SKU] });
  await until('every channel read back', async () => (await seen()).compared.length === 4);
  const s = await seen();
  expect(s.compared.map((c) => [c.channel.system, c.sku, c.available]).sort()).toEqual(CHANNELS.map((c) => [c, SKU, 7]).sort());
  expect(s.drift).toEqual([]);
  expect(s.failed).toEqual([]);
});

it("a channel's quantity changed behind Tillwire's back: the read-back reports the drift with its size and cause, and nothing is overwritten", async () => {
  shopify.setQuantity(SKU, SHOPIFY_LOCATION, 'available', 4);
  amazon.setListingQuantity(SKU, UK, 9);
  const res = await fetch(`${square.url}/v2/inventory/changes/batch-create`, {
    method: 'POST',
    headers: { authorization: `Bearer ${square.accessToken}`, 'content-type': 'application/json', 'square-version': DEFAULT_SQUARE_VERSION },
    body: JSON.stringify({
      idempotency_key: 'counted-in-the-shop',
      changes: [
        {
          type: 'PHYSICAL_COUNT',
          physical_count: {
            catalog_object_id: SquareSimulator.catalogObjectId(SKU),
            state: 'IN_STOCK',
            location_id: 'L-LDN',
            quantity: '2',
            occurred_at: new Date().toISOString(),
          },
        },
      ],
    }),
  });
  expect(res.status).toBe(200);
  bol.setOfferAmount(BolSimulator.offerIdOf(SKU), 5);
  const before = { bolUpdates: bol.stockUpdates.length, shopifyGroups: shopify.adjustmentGroups.length };

  // An inject's timestamp: every SKU the nodes pushed.
  await call('/read', {});
  await until('four drift reports', async () => (await seen()).drift.length === 4);
  const s = await seen();
  const bySystem = Object.fromEntries(s.drift.map((d) => [d.reportedBy.system, d]));
  const want = { shopify: 4, amazon: 9, square: 2, bol: 5 };
  for (const c of CHANNELS) {
    expect(bySystem[c]).toMatchObject({ kind: 'channel', sku: SKU, theirs: want[c], ours: 7, size: want[c] - 7, cause: 'changed-outside-tillwire' });
    expect(bySystem[c].message).toContain('changed outside Tillwire');
  }
  expect(bySystem.shopify.locationId).toBe(SHOPIFY_LOCATION);
  expect(bySystem.square.locationId).toBe('L-LDN');
  expect(s.failed).toEqual([]);
  // Reported, not corrected: every channel keeps the figure it was given behind Tillwire's back.
  expect(CHANNELS.map((c) => held[c]())).toEqual([4, 9, 2, 5]);
  expect(bol.stockUpdates.length).toBe(before.bolUpdates);
  expect(shopify.adjustmentGroups.length).toBe(before.shopifyGroups);
  expect(s.sent).toHaveLength(4);
});

it('SKUs a channel does not know are named in one error per channel while the known ones are read; a read without SKUs needs the store; bad msg.skus is refused by name', async () => {
  const before = await seen();
  await call('/read', { skus: [SKU, 'NO-SUCH-SKU'] });
  await until('every channel read and its unknown SKU named', async () => {
    const s = await seen();
    return s.compared.length === before.compared.length + 4 && s.failed.length === before.failed.length + 4;
  });
  const s = await seen();
  expect(s.compared.slice(before.compared.length).map((c) => c.sku)).toEqual([SKU, SKU, SKU, SKU]);
  expect(s.failed.slice(before.failed.length).sort()).toEqual(
    [
      `amazon getListingsItem: 1 SKU not found in amazon (${amazon.sellerId}): NO-SUCH-SKU; the other SKUs were read`,
      `bol offers:get: 1 SKU not found in bol (1234567): NO-SUCH-SKU; the other SKUs were read`,
      `shopify inventoryItems: 1 SKU not found in shopify (${shopify.shop}): NO-SUCH-SKU; the other SKUs were read`,
      `square BatchRetrieveInventoryCounts: 1 SKU not found in square (L-LDN): NO-SUCH-SKU; the other SKUs were read`,
    ].sort(),
  );

  await call('/read-lone', { payload: '*' });
  await call('/read-lone', { skus: ['SKU-0001', ''] });
  await until('both refusals', async () => (await seen()).failed.length === before.failed.length + 6);
  expect((await seen()).failed.slice(-2).sort()).toEqual(
    [
      'bol offers:get: reading every SKU the node pushed needs the store it records its pushes in: choose a store, or send the SKUs in msg.skus',
      'bol offers:get: msg.skus must hold SKUs of 1 to 128 characters, got ""',
    ].sort(),
  );
  // Given the SKUs, it reads without a store of its own; the reserve node compares with the push record in its store.
  const drifts = (await seen()).drift.length;
  await call('/read-lone', { skus: [SKU] });
  await until('the lone read-back compared', async () => (await seen()).drift.length === drifts + 1);
  expect((await seen()).drift[drifts]).toMatchObject({ reportedBy: { system: 'bol' }, theirs: 5, ours: 7, size: -2, cause: 'changed-outside-tillwire' });
});
