/**
 * tillwire-available-to-sell in a real Node-RED (red.js with the product's settings) pushing to the
 * Shopify, Amazon, Square and bol.com simulators through their inventory nodes, the ledger on
 * PostgreSQL (a schema of this test's own), as the "ERP stock → available-to-sell → every channel"
 * template wires it: the output routed by msg.channel, each inventory node's output and a Catch on
 * them back into the engine. ERP stock readings (canonical positions, as the Odoo node sends them) and
 * till sales go through tillwire-inventory-reserve over HTTP, which books them and names the SKUs
 * that changed.
 *
 * - a stock change reaches every channel once, and only the SKU whose figure changed is pushed;
 * - a burst of 1,000 till sales of one SKU is pushed as a handful of figures ending at the right one;
 * - a push bol.com refuses (an injected 500) is retried, and while it fails a newer figure replaces
 *   it: bol ends at the newest, never receiving an older figure after a newer one.
 */
import { createStore } from '../../nodes/runtime/create-store';
import type { Store } from '../../nodes/runtime/store';
import { deployCredentialsAndWait, RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { POSTGRES_URL, uniqueName } from '../support/services';
import { channelConfigNodes } from '../support/config-nodes';
import { ShopifySimulator } from '../../simulators/shopify/simulator';
import { AmazonSimulator } from '../../simulators/amazon/simulator';
import { SquareSimulator } from '../../simulators/square/simulator';
import { BolSimulator } from '../../simulators/bol/simulator';

jest.setTimeout(60_000);

const schema = uniqueName('tw_atspush');
const UK = 'A1F83G8C2ARO7P';
const SKUS = ['SKU-0001', 'SKU-0002', 'SKU-0003'];
let red: RunningNodeRed;
let ledger: Store;
let shopify: ShopifySimulator;
let amazon: AmazonSimulator;
let square: SquareSimulator;
let bol: BolSimulator;

/** What each channel simulator holds for a SKU now (undefined: never set). */
const held = {
  shopify: (sku: string) => shopify.inventory.get(`${shopify.inventoryItems.get(sku)}|gid://shopify/Location/1|available`),
  amazon: (sku: string) => amazon.listing(sku, UK),
  square: (sku: string) => {
    const n = square.inventoryCount(SquareSimulator.catalogObjectId(sku), 'L-LDN');
    return n === undefined ? undefined : Number(n);
  },
  bol: (sku: string) => bol.offer(BolSimulator.offerIdOf(sku))?.amount,
};
type Channel = keyof typeof held;
const CHANNELS = Object.keys(held) as Channel[];

function flows() {
  const record = (name: string, what: string) => `const list = flow.get('${name}') || []; list.push(${what}); flow.set('${name}', list); return msg;`;
  const answers = ['ats'];
  const offers = Object.fromEntries(SKUS.map((s) => [s, BolSimulator.offerIdOf(s)]));
  return [
    { id: 'tab', type: 'tab', label: 'available to sell' },
    { id: 'st', type: 'tillwire-store', name: 'shared', backend: 'postgres', schema },
    {
      id: 'rules',
      type: 'tillwire-inventory',
      name: 'shop rules',
      locations: 'WH1, STORE-1',
      channels: [
        { system: 'shopify', locations: 'WH1, STORE-1' },
        { system: 'amazon', locations: 'WH1', allocationPercent: 50 },
        { system: 'square', locations: 'STORE-1' },
        // bol takes 0–999 per offer
        { system: 'bol', locations: 'WH1', buffer: 2, maxListed: 999 },
      ],
      bundles: [],
    },
    // One bol attempt: an injected bol failure fails the push at once, so the engine's retry is what is tested.
    ...channelConfigNodes({ shopify, amazon, square, bol }, { marketplaceIds: UK, squareLocations: 'L-LDN', bolAttempts: 1 }).nodes,
    // ERP stock readings (as the Odoo node sends them: msg.erp names the ERP) and till sales, through the reserve node.
    { id: 'reading', type: 'http in', z: 'tab', url: '/reading', method: 'post', wires: [['asOdoo']] },
    { id: 'asOdoo', type: 'function', z: 'tab', func: "msg.erp = { system: 'odoo', account: '' };\nreturn msg;", outputs: 1, wires: [['guard']] },
    { id: 'sale', type: 'http in', z: 'tab', url: '/sale', method: 'post', wires: [['guard']] },
    { id: 'guard', type: 'tillwire-inventory-reserve', z: 'tab', store: 'st', locations: 'WH1', wires: [['ats', 'ack'], ['ack'], []] },
    { id: 'ack', type: 'function', z: 'tab', func: 'msg.payload = { ok: true };\nreturn msg;', outputs: 1, wires: [['res']] },
    { id: 'kg', type: 'catch', z: 'tab', scope: ['guard'], uncaught: false, wires: [['refused']] },
    {
      id: 'refused',
      type: 'function',
      z: 'tab',
      func: 'msg.statusCode = 422;\nmsg.payload = { error: msg.error.message };\nreturn msg;',
      outputs: 1,
      wires: [['res']],
    },
    { id: 'res', type: 'http response', z: 'tab', statusCode: '', headers: {} },
    // The engine: 1 push per second per channel, so a burst coalesces to a few figures.
    { id: 'ats', type: 'tillwire-available-to-sell', z: 'tab', store: 'st', rules: 'rules', rate: 1, inFlight: 4, confirm: 30, wires: [['route']] },
    {
      id: 'route',
      type: 'switch',
      z: 'tab',
      property: 'channel',
      propertyType: 'msg',
      rules: CHANNELS.map((c) => ({ t: 'eq', v: c, vt: 'str' })),
      checkall: 'false',
      outputs: 4,
      wires: [['inv-shopify'], ['inv-amazon'], ['inv-square'], ['inv-bol']],
    },
    { id: 'inv-shopify', type: 'tillwire-shopify-inventory', z: 'tab', shopify: 'shc', store: 'st', location: '1', wires: [['sent']] },
    { id: 'inv-amazon', type: 'tillwire-amazon-inventory', z: 'tab', amazon: 'amc', store: 'st', marketplaceIds: UK, wires: [['sent']] },
    { id: 'inv-square', type: 'tillwire-square-inventory', z: 'tab', square: 'sqc', store: 'st', location: 'L-LDN', wires: [['sent']] },
    { id: 'inv-bol', type: 'tillwire-bol-inventory', z: 'tab', bol: 'boc', store: 'st', offers: JSON.stringify(offers), wires: [['sent']] },
    { id: 'sent', type: 'function', z: 'tab', func: record('sent', 'msg.push'), outputs: 1, wires: [answers] },
    { id: 'kc', type: 'catch', z: 'tab', scope: ['inv-shopify', 'inv-amazon', 'inv-square', 'inv-bol'], uncaught: false, wires: [['failed']] },
    { id: 'failed', type: 'function', z: 'tab', func: record('failed', '{ push: msg.push, error: msg.error.message }'), outputs: 1, wires: [answers] },
    { id: 'seen', type: 'http in', z: 'tab', url: '/seen', method: 'get', wires: [['show']] },
    {
      id: 'show',
      type: 'function',
      z: 'tab',
      func: "msg.payload = { sent: flow.get('sent') || [], failed: flow.get('failed') || [] };\nreturn msg;",
      outputs: 1,
      wires: [['res']],
    },
  ];
}

async function call(route: string, body?: unknown): Promise<any> {
  const res = await fetch(`${red.url}${route}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  if (!res.ok) throw new Error(`${route} answered ${res.status}: ${await res.text()}\n${red.output().slice(-2000)}`);
  return res.json();
}

interface Sent {
  channel: Channel;
  sku: string;
  available: number;
  seq: number;
}
const seen = async (): Promise<{ sent: Sent[]; failed: Array<{ push: Sent; error: string }> }> => call('/seen');

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what}: not reached; seen ${JSON.stringify(await seen()).slice(-2000)}\n${red.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What each channel should be offered of a SKU with `wh` units at WH1 and `store` at STORE-1 (the rules above). */
const expected = (wh: number, store: number): Record<Channel, number> => ({
  shopify: Math.max(0, wh + store),
  amazon: Math.floor(Math.max(0, wh) / 2),
  square: Math.max(0, store),
  bol: Math.min(999, Math.max(0, wh - 2)),
});

const everyChannelHas = (sku: string, want: Record<Channel, number>) => CHANNELS.every((c) => held[c](sku) === want[c]);

let reading = 0;
/** An ERP stock reading posted through the reserve node, which books it and names the SKUs that changed. */
async function erpStock(lines: Array<{ sku: string; locationId: string; onHand: number }>) {
  const asOf = new Date(Date.UTC(2026, 11, 5, 1, 0, ++reading)).toISOString();
  await call(
    '/reading',
    lines.map((l) => ({ kind: 'inventory.position', ...l, reserved: 0, inTransit: 0, safetyStock: 0, asOf })),
  );
}

const tillSale = (id: string, sku: string) => ({
  kind: 'sale',
  saleId: id,
  storeId: 'WH1',
  tillId: 'T1',
  businessDate: '2026-12-05',
  occurredAt: '2026-12-05T09:00:00Z',
  currency: 'GBP',
  lines: [{ lineId: '1', sku, quantity: 1, unitPrice: { amount: 100, currency: 'GBP' }, lineTotal: { amount: 100, currency: 'GBP' } }],
  totals: { net: { amount: 100, currency: 'GBP' }, tax: { amount: 0, currency: 'GBP' }, gross: { amount: 100, currency: 'GBP' } },
  payments: [{ method: 'cash', amount: { amount: 100, currency: 'GBP' } }],
});

beforeAll(async () => {
  shopify = new ShopifySimulator({ orders: 0 });
  amazon = new AmazonSimulator({ orders: 0, marketplaceIds: [UK] });
  square = new SquareSimulator({});
  bol = new BolSimulator({ orders: 0 });
  await Promise.all([shopify.start(), amazon.start(), square.start(), bol.start()]);
  ledger = createStore({ backend: 'postgres', url: POSTGRES_URL, schema }, process.cwd(), { heartbeatMs: 0 });
  await ledger.open();
  await ledger.inventory.snapshot({ system: 'odoo', documentId: 'quant-reading-0' }, [
    { sku: 'SKU-0001', locationId: 'WH1', onHand: 10 },
    { sku: 'SKU-0001', locationId: 'STORE-1', onHand: 3 },
    { sku: 'SKU-0002', locationId: 'WH1', onHand: 20 },
    { sku: 'SKU-0003', locationId: 'WH1', onHand: 1200 },
  ]);
  red = await startNodeRed({ via: 'red', flows: flows(), env: { TILLWIRE_LOG_LEVEL: 'warn' } });
  await deployCredentialsAndWait(red, {
    st: { url: POSTGRES_URL },
    ...channelConfigNodes({ shopify, amazon, square, bol }, { marketplaceIds: UK, squareLocations: 'L-LDN' }).credentials,
  });
});

afterAll(async () => {
  await red?.stop();
  await ledger?.close();
  await Promise.all([shopify?.stop(), amazon?.stop(), square?.stop(), bol?.stop()]);
});

it('on deploy every SKU reaches every channel; then a stock change reaches every channel once, and only the SKU whose figure changed', async () => {
  // Recompute on deploy: every SKU the ledger holds, to every channel.
  await until(
    'every SKU at every channel',
    () => everyChannelHas('SKU-0001', expected(10, 3)) && everyChannelHas('SKU-0002', expected(20, 0)) && everyChannelHas('SKU-0003', expected(1200, 0)),
  );
  await until('every push confirmed', async () => (await seen()).sent.length === 12);

  // An ERP reading: SKU-0002 down to 15 at WH1; SKU-0001 read again unchanged.
  await erpStock([
    { sku: 'SKU-0002', locationId: 'WH1', onHand: 15 },
    { sku: 'SKU-0001', locationId: 'WH1', onHand: 10 },
  ]);
  await until('SKU-0002 lowered at every channel', () => everyChannelHas('SKU-0002', expected(15, 0)));
  await until('three pushes confirmed', async () => (await seen()).sent.length === 15);
  // Square sells from STORE-1, where SKU-0002 has none: its 0 did not change, so it is not pushed; nor is SKU-0001.
  expect(
    (await seen()).sent
      .slice(12)
      .map((p) => [p.channel, p.sku, p.available])
      .sort(),
  ).toEqual([
    ['amazon', 'SKU-0002', 7],
    ['bol', 'SKU-0002', 13],
    ['shopify', 'SKU-0002', 15],
  ]);
  // A reading that changes a figure not every channel shows (Amazon: ⌊14 / 2⌋ = ⌊15 / 2⌋) is pushed only where it shows.
  await erpStock([{ sku: 'SKU-0002', locationId: 'WH1', onHand: 14 }]);
  await until('two more pushes', async () => (await seen()).sent.length === 17);
  expect(
    (await seen()).sent
      .slice(15)
      .map((p) => p.channel)
      .sort(),
  ).toEqual(['bol', 'shopify']);
  expect(everyChannelHas('SKU-0002', expected(14, 0))).toBe(true);
  expect((await seen()).failed).toEqual([]);
});

it('a burst of 1,000 till sales of one SKU is pushed as a handful of figures, ending at the right one', async () => {
  const before = (await seen()).sent.length;
  let next = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: 25 }, async () => {
      while (next < 1000) {
        const i = next++;
        await call('/sale', tillSale(`burst-${i}`, 'SKU-0003'));
      }
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  await until('every channel at 1200 − 1000', () => everyChannelHas('SKU-0003', expected(200, 0)), 40_000);
  await until('nothing left in flight', async () => {
    const s = (await seen()).sent.slice(before);
    // Square sells from STORE-1, where SKU-0003 has no stock: its 0 never changed, nothing to push.
    return (['shopify', 'amazon', 'bol'] as Channel[]).every((c) => s.filter((p) => p.channel === c).at(-1)?.available === expected(200, 0)[c]);
  });
  const pushes = (await seen()).sent.slice(before);
  expect(pushes.filter((p) => p.channel === 'square')).toEqual([]);
  for (const c of ['shopify', 'amazon', 'bol'] as Channel[]) {
    const figures = pushes.filter((p) => p.channel === c && p.sku === 'SKU-0003').map((p) => p.available);
    // At one push a second per channel: about one per second of the burst, plus the last.
    expect(figures.length).toBeGreaterThanOrEqual(1);
    expect(figures.length).toBeLessThanOrEqual(Math.ceil(seconds) + 3);
    // Only ever falling: no older figure after a newer one.
    expect([...figures].sort((a, b) => b - a)).toEqual(figures);
  }
  expect(pushes.length).toBeLessThan(80);
});

it('a push bol.com refuses is retried, a newer figure replaces it while it fails, and bol ends at the newest, never going back', async () => {
  const updatesBefore = bol.stockUpdates.length;
  const failedBefore = (await seen()).failed.length;
  bol.setFaults({ errorRate: 1, only: ['offers:stock'] });
  await erpStock([{ sku: 'SKU-0001', locationId: 'WH1', onHand: 8 }]);
  await until('bol refused the push twice (retried)', async () => (await seen()).failed.filter((f) => f.push.channel === 'bol').length >= failedBefore + 2);
  // The other channels are not held up by bol.
  await until('the other channels have the figure', () =>
    (['shopify', 'amazon', 'square'] as Channel[]).every((c) => held[c]('SKU-0001') === expected(8, 3)[c]),
  );
  await erpStock([{ sku: 'SKU-0001', locationId: 'WH1', onHand: 6 }]);
  bol.setFaults({});
  await until('bol has the newest figure', () => held.bol('SKU-0001') === expected(6, 3).bol, 30_000);
  const failed = (await seen()).failed.slice(failedBefore);
  expect(failed.every((f) => f.push.channel === 'bol' && /bol/i.test(f.error))).toBe(true);
  // What bol applied for SKU-0001 since: the newest only (the older figure was never applied), never an older after it.
  const applied = bol.stockUpdates.slice(updatesBefore).filter((u) => u.offerId === BolSimulator.offerIdOf('SKU-0001'));
  expect(applied.map((u) => u.amount).at(-1)).toBe(expected(6, 3).bol);
  expect([...applied.map((u) => u.amount)].sort((a, b) => b - a)).toEqual(applied.map((u) => u.amount));
  // And it stays there: the engine's confirmed figure is the newest.
  await until('confirmed', async () => (await seen()).sent.filter((p) => p.channel === 'bol' && p.sku === 'SKU-0001').at(-1)?.available === expected(6, 3).bol);
});
