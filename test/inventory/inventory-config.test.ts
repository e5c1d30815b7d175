/**
 * The `tillwire-inventory` config node in a real Node-RED (the product's settings) and its dialog in
 * Debian's Chromium: rules with mistakes are named one by one in the log on deploy, the dialog's
 * "Check rules" button lists the same problems, a rule corrected in the dialog is saved and deployed
 * as typed. A screenshot of the dialog is kept under test-results/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, Browser, Page } from 'playwright-core';
import { startNodeRed, RunningNodeRed, ROOT } from '../support/node-red-process';

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
  red = await startNodeRed({ via: 'red', flows: [{ id: 'tab1', type: 'tab', label: 'Inventory' }, good, bad] });
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
