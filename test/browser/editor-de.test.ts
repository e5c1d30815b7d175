/**
 * The real editor in Debian's Chromium with a German browser (playwright-core, locale de-DE): the
 * Tillwire palette labels, a dedupe node's edit dialog and its help sidebar are German, not catalog
 * keys, and with the runtime's `lang` set to de its badge is German too; a screenshot of the dialog is kept under test-results/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, Browser, Page } from 'playwright-core';
import { startNodeRed, RunningNodeRed, ROOT } from '../support/node-red-process';

const CHROMIUM = process.env.TILLWIRE_CHROMIUM ?? '/usr/bin/chromium';
const RESULTS = path.join(ROOT, 'test-results');

jest.setTimeout(120_000);

const flows = [
  { id: 'tab-de', type: 'tab', label: 'Deutsch' },
  { id: 'store-de', type: 'tillwire-store', name: 'Speicher', backend: 'memory' },
  {
    id: 'dedupe-de',
    type: 'tillwire-dedupe',
    z: 'tab-de',
    name: '',
    store: 'store-de',
    key: 'tillwire.idempotencyKey',
    keyType: 'msg',
    confirm: 'pass',
    duplicates: 'drop',
    waitSeconds: 300,
    retentionHours: 168,
    outputs: 1,
    x: 300,
    y: 120,
    wires: [[]],
  },
];

let red: RunningNodeRed;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  fs.mkdirSync(RESULTS, { recursive: true });
  // The runtime in German too (settings lang), so the badges are German as well.
  red = await startNodeRed({ via: 'red', flows, settings: { lang: 'de' } });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 }, locale: 'de-DE' });
  await page.goto(red.url + '/');
  await page.waitForSelector('#red-ui-palette .red-ui-palette-node', { timeout: 60_000 });
});

afterAll(async () => {
  await browser?.close();
  expect(await red?.stop()).toBe(0);
});

/** The palette label, as one line (the palette wraps long labels). */
const paletteLabel = async (type: string) =>
  (await page.locator(`.red-ui-palette-node[data-palette-type="${type}"] .red-ui-palette-label`).innerText()).replace(/\s+/g, ' ').trim();

describe('the editor in German', () => {
  it('labels Tillwire nodes in the palette in German', async () => {
    expect(await paletteLabel('tillwire-ack')).toBe('Eingang erledigt');
    expect(await paletteLabel('tillwire-pos-mqtt-in')).toBe('Filialkassen (MQTT)');
    expect(await paletteLabel('tillwire-dedupe')).toBe('dedupe');
  });

  it("shows a dedupe node's edit dialog and help in German", async () => {
    await page.waitForFunction(
      () => document.querySelector('#red-ui-workspace-chart [id="dedupe-de"] .red-ui-flow-node-status-label')?.textContent === 'durchgelassen 0, Duplikate 0',
      undefined,
      { timeout: 15_000 },
    );
    await page.locator('#red-ui-workspace-chart g[id="dedupe-de"] rect.red-ui-flow-node').dblclick();
    await page.waitForSelector('#node-input-retentionHours', { state: 'visible' });
    const dialog = page.locator('#dialog-form');
    const labels = await dialog.locator('.form-row label').allInnerTexts();
    expect(labels.map((l) => l.trim())).toEqual([
      'Name',
      'Datenspeicher',
      'Schlüssel',
      'Bereich',
      'Bestätigen',
      'Duplikate',
      'Warten (s)',
      'Schlüssel halten (h)',
    ]);
    expect(await page.locator('#node-input-duplicates option').allInnerTexts()).toEqual(['verwerfen', 'an einen zweiten Ausgang senden']);
    expect(await page.getAttribute('#node-input-scope', 'placeholder')).toBe('dieser Node (leer lassen)');
    expect(await dialog.locator('.form-tips').innerText()).toContain('Catch-Node für die nachfolgenden Nodes');
    // Nothing in the dialog is a bare catalog key.
    expect(await dialog.innerText()).not.toMatch(/\b(label|option|hint|placeholder|tip)\.[A-Za-z]/);
    await page.screenshot({ path: path.join(RESULTS, 'dedupe-edit-dialog-de.png') });
    const help = await page.evaluate(() => (window as any).RED.nodes.getNodeHelp('tillwire-dedupe') as string);
    expect(help).toContain('atomar beansprucht');
    await page.click('#node-dialog-cancel');
  });
});
