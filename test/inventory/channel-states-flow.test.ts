/**
 * Shopify's own states into the ledger, in a real Node-RED (red.js with the product's settings and
 * an editor login) against the Shopify simulator: the Shopify inventory node reads back (operation
 * "read", its Location 1 standing for the ERP location WH1) into tillwire-inventory-reserve. Its
 * damaged, quality-control, safety-stock, reserved and committed units are booked at WH1 as the
 * position's states `shopify_*`, explain names the read, and available-to-sell rules that hold
 * `shopify_damaged` back offer that much less; a repair read later gives it back. An older read is
 * stale, a malformed state is refused by name, and a read-back without an ERP location books none.
 */
import type { RunningNodeRed } from '../support/node-red-process';
import { flowCalls } from '../support/flow-calls';
import { ShopifySimulator } from '../../simulators/shopify/simulator';
import { type LedgerRuntime, observedReserve, startLedgerRuntime } from './ledger-flow-support';

jest.setTimeout(60_000);

const SKU = 'SKU-0001';
const GID = 'gid://shopify/Location/1';
let red: RunningNodeRed;
let shopify: ShopifySimulator;
let rt: LedgerRuntime;
const { call, untilSeen: until } = flowCalls(() => red, { callTimeoutMs: 20_000, untilTimeoutMs: 20_000 });

function flows() {
  return [
    ...observedReserve({ label: 'Shopify states', guard: { locations: 'WH1' }, catchScope: ['guard', 'readShopify'] }),
    { id: 'shc', type: 'tillwire-shopify-config', shop: shopify.shop, apiVersion: '2026-04', baseUrl: shopify.url, timeout: '5' },
    {
      id: 'rules',
      type: 'tillwire-inventory',
      name: 'shop rules',
      locations: 'WH1',
      channels: [{ system: 'shopify', locations: 'WH1', unsellableStates: 'shopify_damaged, shopify_quality_control' }],
      bundles: [],
    },
    // The push engine that uses the rules (Node-RED starts a config node only for a node that uses it).
    { id: 'ats', type: 'tillwire-available-to-sell', z: 'tab', store: 'st', rules: 'rules', rate: 1, inFlight: 4, confirm: 30, wires: [[]] },
    // The ERP's reading of WH1 (as an ERP node sends it: msg.erp names the ERP).
    { id: 'erpIn', type: 'http in', z: 'tab', url: '/erp', method: 'post', wires: [['asErp', 'ack']] },
    { id: 'asErp', type: 'function', z: 'tab', func: "msg.erp = { system: 'odoo' };\nreturn msg;", outputs: 1, wires: [['guard']] },
    // The read-back, as the template schedules it (here over HTTP): the SKUs to read.
    { id: 'readIn', type: 'http in', z: 'tab', url: '/read', method: 'post', wires: [['asSkus', 'ack']] },
    {
      id: 'asSkus',
      type: 'function',
      z: 'tab',
      func: 'msg.skus = msg.payload.skus;\nmsg.payload = msg.skus;\nreturn msg;',
      outputs: 1,
      wires: [['readShopify']],
    },
    {
      id: 'readShopify',
      type: 'tillwire-shopify-inventory',
      z: 'tab',
      shopify: 'shc',
      location: '1',
      erpLocation: 'WH1',
      store: 'st',
      operation: 'read',
      wires: [['guard']],
    },
  ];
}

beforeAll(async () => {
  shopify = new ShopifySimulator({ orders: 0 });
  await shopify.start();
  rt = await startLedgerRuntime(flows(), { credentials: { shc: { accessToken: shopify.accessToken } } });
  red = rt.red;
});

afterAll(async () => {
  await rt?.stop();
  await shopify?.stop();
});

const position = async () => (await rt.admin(`/tillwire/inventory/explain?sku=${SKU}&location=WH1`, rt.reader)).body;
const offered = async () => {
  const res = await rt.admin(`/tillwire/inventory/explain?rules=rules&channel=shopify&sku=${SKU}`, rt.reader);
  if (res.status !== 200) throw new Error(`explain answered ${res.status}: ${JSON.stringify(res.body)}\n${red.output().slice(-3000)}`);
  return res.body.document.available;
};

it("Shopify's damaged and quality-control units are booked at the ERP location it stands for, held back from Shopify's figure, and given back when repaired", async () => {
  await call('/erp', {
    kind: 'inventory.position',
    sku: SKU,
    locationId: 'WH1',
    onHand: 10,
    reserved: 0,
    inTransit: 0,
    safetyStock: 0,
    asOf: '2026-12-05T09:00:00Z',
  });
  await until('the ERP reading booked', (s) => s.booked.length === 1);
  expect(await offered()).toBe(10);

  shopify.setQuantity(SKU, GID, 'available', 7);
  shopify.setQuantity(SKU, GID, 'damaged', 2);
  shopify.setQuantity(SKU, GID, 'quality_control', 1);
  await call('/read', { skus: [SKU] });
  let seen = await until('the read-back booked', (s) => s.booked.length === 2);
  expect(seen.caught).toEqual([]);
  expect(seen.booked[1]).toMatchObject({
    booked: 1,
    states: { locationId: 'WH1', outcome: 'booked', states: { shopify_damaged: 2, shopify_quality_control: 1 } },
  });
  const explained = await position();
  expect(explained.positions).toEqual([
    expect.objectContaining({
      onHand: 10,
      // A state that never held a unit has no entry yet.
      states: { shopify_damaged: 2, shopify_quality_control: 1 },
    }),
  ]);
  expect(explained.events.filter((e: any) => e.kind === 'levels')).toEqual(
    expect.arrayContaining([
      expect.objectContaining({
        field: 'state:shopify_damaged',
        after: 2,
        source: expect.objectContaining({ system: 'shopify', documentId: expect.stringContaining(`states:${SKU}@${GID}@`) }),
      }),
    ]),
  );
  // The rules hold damaged and quality control back: 10 − 2 − 1.
  expect(await offered()).toBe(7);

  // Repaired in Shopify: the next read gives the units back.
  shopify.setQuantity(SKU, GID, 'damaged', 0);
  shopify.setQuantity(SKU, GID, 'quality_control', 0);
  await call('/read', { skus: [SKU] });
  seen = await until('the repair booked', (s) => s.booked.length === 3);
  expect(seen.caught).toEqual([]);
  expect(await offered()).toBe(10);
});

it('an older read is stale and changes nothing; malformed, future or foreign states are refused by name; an unknown SKU or a read-back without an ERP location books no state', async () => {
  const base = (await call('/seen')).booked.length;
  const caughtBefore = (await call('/seen')).caught.length;
  const readBack = (computedAt: string, attributes: Record<string, string>) => ({
    kind: 'inventory.ats',
    sku: SKU,
    channel: { system: 'shopify', account: shopify.shop },
    locationIds: [GID],
    available: 7,
    computedAt,
    attributes,
  });
  // Taken an hour ago, arriving now, with 5 damaged: the newer read (0 damaged) stands.
  await call('/doc', readBack(new Date(Date.now() - 3_600_000).toISOString(), { erpLocation: 'WH1', shopify_damaged: '5' }));
  let seen = await until('the stale read answered', (s) => s.booked.length === base + 1);
  expect(seen.booked[base]).toMatchObject({ booked: 0, stale: 1, states: { outcome: 'stale' } });
  expect((await position()).positions[0].states.shopify_damaged ?? 0).toBe(0);
  expect(await offered()).toBe(10);

  // Malformed figures never reach the ledger.
  const rejectedAt = new Date().toISOString();
  await call('/doc', readBack(rejectedAt, { erpLocation: 'WH1', shopify_damaged: '-1' }));
  await call('/doc', readBack(new Date().toISOString(), { erpLocation: 'WH1', shopify_quality_control: '2.5' }));
  // A refusal of the states still compares the read (its drift goes out on output 1), then Catch.
  seen = await until('both refused', (s) => s.caught.length === caughtBefore + 2 && s.booked.length === base + 3);
  expect(seen.booked[base + 1]).toMatchObject({ booked: 0, channel: { outcome: 'compared' } });
  expect(seen.caught.slice(caughtBefore)).toEqual(
    expect.arrayContaining([
      expect.stringContaining(`shopify_damaged must be a whole number of units from 0 to 1,000,000,000, not "-1"`),
      expect.stringContaining(`shopify_quality_control must be a whole number of units from 0 to 1,000,000,000, not "2.5"`),
    ]),
  );

  // Refused by name, nothing booked: a count written "007" or beyond the bound, a location with a
  // control character, a read dated in the future (it would make every real read stale), another
  // shop naming the same ERP location.
  const now = new Date().toISOString();
  await call('/doc', readBack(now, { erpLocation: 'WH1', shopify_damaged: '007' }));
  await call('/doc', readBack(now, { erpLocation: 'WH1', shopify_damaged: '9999999999' }));
  await call('/doc', readBack(now, { erpLocation: 'WH1\u0007', shopify_damaged: '1' }));
  await call('/doc', readBack(new Date(Date.now() + 3_600_000).toISOString(), { erpLocation: 'WH1', shopify_damaged: '9' }));
  await call('/doc', { ...readBack(now, { erpLocation: 'WH1', shopify_damaged: '3' }), channel: { system: 'shopify', account: 'other-shop.myshopify.com' } });
  seen = await until('five more refused', (s) => s.caught.length === caughtBefore + 7 && s.booked.length === base + 8);
  expect(seen.caught.slice(caughtBefore + 2)).toEqual([
    expect.stringContaining('shopify_damaged must be a whole number of units from 0 to 1,000,000,000, not "007"'),
    expect.stringContaining('shopify_damaged must be a whole number of units from 0 to 1,000,000,000, not "9999999999"'),
    expect.stringContaining('attributes.erpLocation must be a location id'),
    expect.stringContaining('is in the future'),
    expect.stringContaining(`account "other-shop.myshopify.com" names the same ERP location`),
  ]);
  expect((await position()).positions[0].states.shopify_damaged ?? 0).toBe(0);
  expect(await offered()).toBe(10);

  // A SKU the ledger does not hold there: nothing booked (no position made of states alone).
  await call('/doc', { ...readBack(new Date().toISOString(), { erpLocation: 'WH1', shopify_damaged: '1' }), sku: 'GHOST-1' });
  seen = await until('the unknown SKU answered', (s) => s.booked.length === base + 9);
  expect(seen.booked[base + 8]).toMatchObject({ booked: 0, states: { outcome: 'no-position' } });
  expect((await rt.admin(`/tillwire/inventory/explain?sku=GHOST-1`, rt.reader)).status).toBe(404);

  // No ERP location (a node whose Location stands for none): compared, no state booked.
  await call('/doc', readBack(new Date().toISOString(), { shopify_damaged: '4' }));
  seen = await until('compared', (s) => s.booked.length === base + 10);
  expect(seen.booked[base + 9]).toMatchObject({ booked: 0, duplicate: 0, stale: 0 });
  expect(seen.booked[base + 9].states).toBeUndefined();
  expect((await position()).positions[0].states.shopify_damaged ?? 0).toBe(0);
  expect(seen.caught.length).toBe(caughtBefore + 7);

  // The refused read sent again, corrected, under the same key (shop, SKU, location, read time): booked,
  // since a refusal leaves nothing behind; then re-labelled once more with another figure: a conflict.
  await call('/doc', readBack(rejectedAt, { erpLocation: 'WH1', shopify_damaged: '1' }));
  seen = await until('the corrected read booked', (s) => s.booked.length === base + 11);
  expect(seen.booked[base + 10]).toMatchObject({ booked: 1, states: { outcome: 'booked', states: { shopify_damaged: 1 } } });
  expect((await position()).positions[0].states.shopify_damaged).toBe(1);
  await call('/doc', readBack(rejectedAt, { erpLocation: 'WH1', shopify_damaged: '4' }));
  seen = await until('the re-labelled read refused', (s) => s.caught.length === caughtBefore + 8);
  expect(seen.caught.at(-1)).toMatch(/applied before with other content/);
  expect((await position()).positions[0].states.shopify_damaged).toBe(1);
});
