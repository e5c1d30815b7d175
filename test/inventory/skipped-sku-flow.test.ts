/**
 * A SKU the push engine cannot push, in a real Node-RED (red.js with the product's settings): a change
 * naming a SKU with no position at the rules' locations, not a bundle, that no channel was ever given
 * (a typo in msg.skus) is skipped, not pushed as 0 to every channel. What the user sees: the node's
 * badge counts it (read through a Status node, as a dashboard would), the log names it, and the SKU
 * beside it in the same message still reaches the channel.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createStore } from '../../nodes/runtime/create-store';
import { deployCredentialsAndWait, RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { ShopifySimulator } from '../../simulators/shopify/simulator';

jest.setTimeout(60_000);

let red: RunningNodeRed;
let shopify: ShopifySimulator;
let dir: string;

const held = (sku: string) => shopify.inventory.get(`${shopify.inventoryItems.get(sku)}|gid://shopify/Location/1|available`);

function flows(file: string) {
  const z = 'tab';
  return [
    { id: z, type: 'tab', label: 'skipped SKUs' },
    { id: 'st', type: 'tillwire-store', name: 'ledger', backend: 'sqlite', file },
    { id: 'rules', type: 'tillwire-inventory', name: 'web shop', locations: 'WH1', channels: [{ system: 'shopify', locations: 'WH1' }], bundles: [] },
    { id: 'shc', type: 'tillwire-shopify-config', shop: shopify.shop, apiVersion: '2026-04', baseUrl: shopify.url, timeout: '5' },
    // The changed SKUs as a flow of the user's might name them (msg.skus).
    { id: 'changed', type: 'http in', z, url: '/changed', method: 'post', wires: [['asSkus']] },
    { id: 'asSkus', type: 'function', z, func: 'msg.skus = msg.payload;\nreturn msg;', outputs: 1, wires: [['ats', 'ok']] },
    { id: 'ok', type: 'function', z, func: 'msg.payload = { ok: true };\nreturn msg;', outputs: 1, wires: [['res']] },
    { id: 'res', type: 'http response', z, statusCode: '', headers: {} },
    {
      id: 'ats',
      type: 'tillwire-available-to-sell',
      z,
      store: 'st',
      rules: 'rules',
      rate: 10,
      inFlight: 4,
      confirm: 30,
      recomputeOnStart: false,
      wires: [['inv']],
    },
    { id: 'inv', type: 'tillwire-shopify-inventory', z, shopify: 'shc', store: 'st', location: '1', wires: [['ats']] },
    { id: 'kc', type: 'catch', z, scope: ['inv'], uncaught: false, wires: [['ats']] },
    // The engine's badge, as a Status node reports it.
    { id: 'badge', type: 'status', z, scope: ['ats'], wires: [['keep']] },
    { id: 'keep', type: 'function', z, func: "flow.set('badge', msg.status.text);\nreturn null;", outputs: 1, wires: [[]] },
    { id: 'seen', type: 'http in', z, url: '/badge', method: 'get', wires: [['show']] },
    { id: 'show', type: 'function', z, func: "msg.payload = { badge: flow.get('badge') || '' };\nreturn msg;", outputs: 1, wires: [['res']] },
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

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what}: not reached; badge ${JSON.stringify(await call('/badge'))}\n${red.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  shopify = new ShopifySimulator({ orders: 0 });
  await shopify.start();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-skipped-sku-'));
  const file = path.join(dir, 'ledger.db');
  const ledger = createStore({ backend: 'sqlite', file }, dir, { heartbeatMs: 0 });
  await ledger.open();
  await ledger.inventory.snapshot({ system: 'odoo', documentId: 'quant-reading-0' }, [{ sku: 'SKU-0001', locationId: 'WH1', onHand: 7 }]);
  await ledger.close();
  red = await startNodeRed({ via: 'red', flows: flows(file), env: { TILLWIRE_LOG_LEVEL: 'warn' } });
  await deployCredentialsAndWait(red, { st: {}, shc: { accessToken: shopify.accessToken } });
});

afterAll(async () => {
  await red?.stop();
  await shopify?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

it('a SKU the engine cannot push is counted on its badge and named in the log; the SKU beside it is pushed', async () => {
  await call('/changed', ['SKU-0001', 'SKU-TYPO-42']);
  await until('SKU-0001 at Shopify', () => held('SKU-0001') === 7);
  await until('the badge counts the skipped SKU', async () => /1 unknown SKUs skipped/.test((await call('/badge')).badge));
  // One push (SKU-0001) confirmed, none waiting or failed: nothing was pushed for the unknown SKU
  // (Shopify would have refused it: an unknown SKU fails the write).
  expect((await call('/badge')).badge).toBe('confirmed 1, pending 0, failed 0, 1 unknown SKUs skipped');
  await until('the log names it', () => /not pushed to any channel.*SKU-TYPO-42/.test(red.output()));
  expect(red.output()).toMatch(
    /\[warn\] \[tillwire-available-to-sell:ats\] available to sell: not pushed to any channel, no position at the rules' locations and never sent before: SKU-TYPO-42\n/,
  );
});
