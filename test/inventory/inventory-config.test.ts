/**
 * The `tillwire-inventory` config node in a real Node-RED (the product's settings) and its dialog in
 * Debian's Chromium: rules with mistakes are named one by one in the log on deploy, the dialog's
 * "Check rules" button lists the same problems, a rule corrected in the dialog is saved and deployed
 * as typed. The explanation of a channel's figure is read over the admin API from the positions the
 * store's inventory ledger holds. A screenshot of the dialog is kept under test-results/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, Browser, Page } from 'playwright-core';
import { startNodeRed, RunningNodeRed, ROOT } from '../support/node-red-process';
import { createStore } from '../../nodes/runtime/create-store';

const CHROMIUM = process.env.TILLWIRE_CHROMIUM ?? '/usr/bin/chromium';
const RESULTS = path.join(ROOT, 'test-results');

jest.setTimeout(60_000);

const good = {
  id: 'inv-good',
  type: 'tillwire-inventory',
  name: 'Shop rules',
  locations: 'wh-main, store-berlin',
  channels: [
    {
      system: 'shopify',
      account: 'demo.myshopify.com',
      locations: 'wh-main, store-berlin',
      allocationPercent: 100,
      buffer: 0,
      maxListed: '',
      zeroBelow: 0,
      unsellableStates: 'damaged',
    },
    {
      system: 'amazon',
      account: 'A1B2C3',
      locations: 'wh-main',
      allocationPercent: 60,
      buffer: 2,
      maxListed: 50,
      zeroBelow: 3,
      unsellableStates: 'damaged, quality_control',
      countInTransit: false,
    },
  ],
  bundles: [{ sku: 'GIFTSET', components: 'MUG*2, SAUCER' }],
};
const bad = {
  id: 'inv-bad',
  type: 'tillwire-inventory',
  name: 'Typo rules',
  locations: 'wh-main',
  channels: [{ system: 'bol', locations: 'wh-mian', allocationPercent: 150, buffer: -2 }],
  bundles: [
    { sku: 'A', components: 'B' },
    { sku: 'B', components: 'A*2' },
  ],
};
const BAD_PROBLEMS = [
  'channel 1 (bol): unknown location "wh-mian" (not in "All locations")',
  'channel 1 (bol): allocation 150% is outside 0–100%',
  'channel 1 (bol): buffer must not be negative (got -2)',
  'bundles form a cycle: A → B → A',
];

let red: RunningNodeRed;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  fs.mkdirSync(RESULTS, { recursive: true });
  red = await startNodeRed({
    via: 'red',
    flows: [
      { id: 'tab1', type: 'tab', label: 'Inventory' },
      { id: 'st', type: 'tillwire-store', name: 'store', backend: 'sqlite', file: 'tillwire.db' },
      good,
      bad,
    ],
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(red.url + '/');
  await page.waitForFunction(() => (window as any).RED?.nodes?.getType?.('tillwire-inventory'), undefined, { timeout: 30_000 });
  await page.waitForSelector('#red-ui-palette .red-ui-palette-node', { timeout: 30_000 });
});

afterAll(async () => {
  fs.writeFileSync(path.join(RESULTS, 'inventory-node-red.log'), red?.output() ?? '');
  await browser?.close();
  await red?.stop();
});

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function checkRules(body: unknown): Promise<{ status: number; problems: string[] }> {
  const res = await fetch(`${red.adminUrl}/tillwire/inventory/check-rules`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, problems: ((await res.json()) as { problems: string[] }).problems };
}

describe('the tillwire-inventory config node', () => {
  it('names each problem of rules with mistakes in the log on deploy, and none for good rules', () => {
    const log = red.output();
    expect(log).toContain('inventory rules "Typo rules" are not used: 4 problems');
    for (const p of BAD_PROBLEMS) expect(log).toContain(`inventory rules "Typo rules": ${p}`);
    expect(log).not.toContain('"Shop rules"');
  });

  it("answers the dialog's check with the same problems (admin API)", async () => {
    const { id: _a, type: _b, name: _c, ...badRules } = bad;
    await expect(checkRules(badRules)).resolves.toEqual({ status: 200, problems: BAD_PROBLEMS });
    const { id: _d, type: _e, name: _f, ...goodRules } = good;
    await expect(checkRules(goodRules)).resolves.toEqual({ status: 200, problems: [] });
    await expect(checkRules({ channels: 'everything' })).resolves.toEqual({ status: 200, problems: ['channels must be a list'] });
  });

  it('has its help, with the formula, in the editor', async () => {
    const help = await page.evaluate(() => (window as any).RED.nodes.getNodeHelp('tillwire-inventory') as string);
    expect(help).toContain('<h3>The formula</h3>');
    expect(help).toContain('<b>Allocation</b>: sellable × allocation % / 100, rounded down');
  });

  it("explains a channel's figure over the admin API from the ledger's positions, and follows a till sale", async () => {
    // the stock, written to the same SQLite store by another process, as an ERP read would
    const ledger = createStore({ backend: 'sqlite', file: path.join(red.userDir, 'tillwire.db') }, red.userDir, { heartbeatMs: 0 });
    await ledger.open();
    try {
      await ledger.inventory.snapshot({ system: 'odoo', documentId: 'quant-7' }, [
        { sku: 'MUG', locationId: 'wh-main', onHand: 20 },
        { sku: 'MUG', locationId: 'store-berlin', onHand: 9 },
        { sku: 'SAUCER', locationId: 'wh-main', onHand: 5 },
      ]);
      await ledger.inventory.setLevels({ system: 'odoo', documentId: 'levels-7' }, [
        { sku: 'MUG', locationId: 'wh-main', safetyStock: 1, states: { damaged: 2 } },
      ]);
      const explain = async (query: string) => {
        const res = await fetch(`${red.adminUrl}/tillwire/inventory/explain?${query}`);
        return { status: res.status, body: (await res.json()) as any };
      };

      // amazon sells from wh-main: 20 − 1 safety − 2 damaged = 17; 60 % → 10; − buffer 2 → 8 (≤ 50, ≥ 3)
      const amazon = await explain('rules=inv-good&channel=amazon/A1B2C3&sku=MUG');
      expect(amazon.status).toBe(200);
      expect(amazon.body.document).toMatchObject({ kind: 'inventory.ats', sku: 'MUG', channel: { system: 'amazon', account: 'A1B2C3' }, available: 8 });
      expect(amazon.body.document.basis).toEqual({ onHand: 20, reserved: 0, inTransit: 0, safetyStock: 1 });
      expect(amazon.body.lines).toEqual([
        'wh-main: on hand 20 − reserved 0 − safety stock 1 − damaged 2 = 17',
        "sellable over the channel's locations (never below 0): 17",
        '× 60 % allocation, rounded down: 10',
        '− buffer 2: 8',
        'at most 50: 8',
        'below 3 is sent as 0: 8',
        'amazon/A1B2C3 is offered 8 of MUG',
      ]);
      // shopify sells from both: MUG 17 + 9 = 26, SAUCER 5; GIFTSET = min(⌊26/2⌋, 5) = 5
      const giftset = await explain('rules=inv-good&channel=shopify/demo.myshopify.com&sku=GIFTSET');
      expect(giftset.body.document.available).toBe(5);
      expect(giftset.body.lines).toContain('component MUG: 26 available ÷ 2 per bundle, rounded down: 13');

      // a till sale of 15 mugs at wh-main: 5 − 1 − 2 = 2; 60 % → 1; − 2 → 0
      await ledger.inventory.posSale({ system: 'pos', documentId: 'sale-1' }, 'wh-main', [{ sku: 'MUG', qty: 15 }]);
      expect((await explain('rules=inv-good&channel=amazon/A1B2C3&sku=MUG')).body.document.available).toBe(0);

      // what it refuses, each named
      expect(await explain('rules=inv-bad&channel=bol&sku=MUG')).toEqual({
        status: 409,
        body: { error: `these rules are not used until their problems are fixed: ${BAD_PROBLEMS.join('; ')}` },
      });
      expect(await explain('rules=inv-good&channel=bol&sku=MUG')).toEqual({
        status: 404,
        body: { error: 'no channel bol in these rules (they have: shopify/demo.myshopify.com, amazon/A1B2C3)' },
      });
      expect(await explain('rules=st&channel=bol&sku=MUG')).toEqual({ status: 404, body: { error: 'no tillwire-inventory node with id st' } });
      expect((await explain('rules=inv-good&channel=amazon/A1B2C3')).status).toBe(400);
      // odd parameters are refused by name, as on the ledger's question, never echoed as a SKU
      expect(await explain('rules=inv-good&channel=amazon/A1B2C3&sku=MUG&sku=CUP')).toEqual({
        status: 400,
        body: { error: 'sku must be given once, as text' },
      });
      expect(await explain('rules=inv-good&channel=amazon/A1B2C3&sku[length]=3')).toEqual({ status: 400, body: { error: 'sku must be given once, as text' } });
      expect(await explain('rules=inv-good&rules=inv-bad&channel=amazon/A1B2C3&sku=MUG')).toEqual({
        status: 400,
        body: { error: 'rules must be given once, as text' },
      });
      expect(await explain('rules=inv-good&channel=amazon/A1B2C3&sku=MUG&store[x]=1')).toEqual({
        status: 400,
        body: { error: 'store must be given once, as text' },
      });
      expect(await explain('rules=inv-good&channel=amazon/A1B2C3&sku=M%01UG')).toEqual({ status: 400, body: { error: 'sku holds control characters' } });
      expect(await explain('rules=inv-good&channel=amazon/A1B2C3&sku=MUG&location=wh-main')).toEqual({
        status: 400,
        body: { error: 'unknown parameter location: use rules, channel, sku, store' },
      });
    } finally {
      await ledger.close();
    }
  });

  it('shows the rules in the dialog, lists the problems on "Check rules", and saves a corrected rule as typed', async () => {
    await page.evaluate(() => (window as any).RED.editor.editConfig('', 'tillwire-inventory', 'inv-bad'));
    const dialog = page.locator('.red-ui-tray').last();
    await dialog.locator('#node-config-input-channels-list .tw-percent').waitFor();
    await expect(dialog.locator('#node-config-input-channels-list .tw-percent').inputValue()).resolves.toBe('150');
    await expect(dialog.locator('#node-config-input-bundles-list .tw-components').first().inputValue()).resolves.toBe('B');

    await dialog.locator('#node-config-inventory-check').click({ trial: true }); // waits for the tray to stop sliding
    await page.screenshot({ path: path.join(RESULTS, 'inventory-dialog-open.png') });
    await dialog.locator('#node-config-inventory-check').click();
    await dialog.locator('#node-config-inventory-problems li').first().waitFor();
    await expect(dialog.locator('#node-config-inventory-problems li').allTextContents()).resolves.toEqual(BAD_PROBLEMS);
    await page.screenshot({ path: path.join(RESULTS, 'inventory-dialog.png') });

    // correct every mistake in the dialog, as a person would
    await dialog.locator('#node-config-input-locations').fill('wh-main, wh-mian');
    await dialog.locator('#node-config-input-channels-list .tw-percent').fill('50');
    await dialog.locator('#node-config-input-channels-list .tw-buffer').fill('2');
    await dialog.locator('#node-config-input-bundles-list .tw-components').nth(1).fill('MUG*2');
    await dialog.locator('#node-config-inventory-check').click();
    await dialog.locator('#node-config-inventory-problems span').waitFor();
    await expect(dialog.locator('#node-config-inventory-problems').textContent()).resolves.toBe('No problems: these rules can be deployed.');

    await page.locator('#node-config-dialog-ok').click();
    const starts = async () => ((await (await fetch(`${red.adminUrl}/tillwire/runtime`)).json()) as { flowsStarted: number }).flowsStarted;
    const startsBefore = await starts();
    const logBefore = red.output().length;
    await page.locator('#red-ui-header-button-deploy').click();
    const deployed = async () => {
      const flows = (await (await fetch(`${red.adminUrl}/flows`)).json()) as any[];
      return flows.find((n) => n.id === 'inv-bad');
    };
    await until(async () => (await deployed())?.channels?.[0]?.allocationPercent === 50, 'the corrected rules to be deployed');
    expect((await deployed()).channels[0]).toEqual({
      system: 'bol',
      account: '',
      locations: 'wh-mian',
      allocationPercent: 50,
      buffer: 2,
      maxListed: '',
      zeroBelow: 0,
      unsellableStates: '',
      countInTransit: false,
    });
    await until(async () => (await starts()) > startsBefore, 'the flows to restart');
    expect(red.output().slice(logBefore)).not.toContain('inventory rules "Typo rules"');
  });
});
