/**
 * The real editor in Debian's Chromium (playwright-core): every Tillwire node is in the palette with
 * its icon and help; a dedupe node is dragged onto the canvas, configured in its edit dialog and
 * deployed; a screenshot is kept under test-results/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, Browser, Page } from 'playwright-core';
import { startNodeRed, RunningNodeRed, ROOT, freePort } from '../support/node-red-process';

const CHROMIUM = process.env.TILLWIRE_CHROMIUM ?? '/usr/bin/chromium';
const RESULTS = path.join(ROOT, 'test-results');
const PALETTE_TYPES = [
  'tillwire-canonical',
  'tillwire-dedupe',
  'tillwire-dead-letter',
  'tillwire-replay',
  'tillwire-ack',
  'tillwire-pos-mqtt-in',
  'tillwire-odoo',
  'tillwire-business-central',
  'tillwire-journal',
  'tillwire-journal-file',
  'tillwire-reconcile',
  'tillwire-square-webhook',
  'tillwire-square-orders',
  'tillwire-shopify-webhook',
  'tillwire-shopify-orders',
  'tillwire-amazon-orders',
  'tillwire-bol-orders',
  'tillwire-bol-ship',
  'tillwire-bol-invoices',
  'tillwire-bol-inventory',
  'tillwire-shopify-fulfil',
  'tillwire-shopify-inventory',
  'tillwire-amazon-ship',
  'tillwire-amazon-inventory',
  'tillwire-amazon-settlements',
  'tillwire-shopify-payouts',
  'tillwire-square-inventory',
  'tillwire-square-payouts',
  'tillwire-quickbooks',
  'tillwire-inventory-reserve',
  'tillwire-available-to-sell',
];
const CONFIG_TYPES = [
  'tillwire-store',
  'tillwire-mqtt-broker',
  'tillwire-odoo-config',
  'tillwire-bc-config',
  'tillwire-square-config',
  'tillwire-shopify-config',
  'tillwire-amazon-config',
  'tillwire-bol-config',
  'tillwire-quickbooks-config',
  'tillwire-settlement-accounts',
];

// The channel template imported from the menu; it is then pointed at the Amazon and Odoo simulators
// npm start runs (on ports of this test's choosing) and given their credentials.
const TEMPLATE = 'Amazon orders → ERP';

jest.setTimeout(120_000);

let red: RunningNodeRed;
/** Where npm start runs the Amazon and Odoo simulators in this test. */
let amazonPort: number;
let odooPort: number;
let browser: Browser;
let page: Page;
const failedRequests: string[] = [];

beforeAll(async () => {
  fs.mkdirSync(RESULTS, { recursive: true });
  [amazonPort, odooPort] = [await freePort(), await freePort()];
  red = await startNodeRed({ env: { TILLWIRE_DEMO_AMAZON_PORT: String(amazonPort), TILLWIRE_DEMO_ODOO_PORT: String(odooPort) } });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('response', (res) => {
    if (res.status() >= 400) failedRequests.push(`${res.status()} ${res.url()}`);
  });
  await page.goto(red.url + '/');
  await page.waitForSelector('#red-ui-palette .red-ui-palette-node', { timeout: 60_000 });
});

afterAll(async () => {
  fs.writeFileSync(path.join(RESULTS, 'node-red.log'), red?.output() ?? '');
  await browser?.close();
  const code = await red?.stop();
  expect(code).toBe(0); // Ctrl-C stops Node-RED cleanly
});

/** Sets properties and credentials of deployed nodes and redeploys (admin API v2, full deploy). */
async function configure(base: string, changes: Record<string, { props: Record<string, unknown>; credentials: Record<string, string> }>): Promise<void> {
  const headers = { 'content-type': 'application/json', 'Node-RED-API-Version': 'v2' };
  const current = (await (await fetch(`${base}/flows`, { headers })).json()) as { rev: string; flows: any[] };
  const flows = current.flows.map((n) => (changes[n.id] ? { ...n, ...changes[n.id].props, credentials: changes[n.id].credentials } : n));
  const res = await fetch(`${base}/flows`, {
    method: 'POST',
    headers: { ...headers, 'Node-RED-Deployment-Type': 'full' },
    body: JSON.stringify({ rev: current.rev, flows }),
  });
  expect(res.status).toBe(200);
}

describe('the Node-RED editor with Tillwire', () => {
  it('shows every Tillwire node in the palette, in its Tillwire category, with its own icon', async () => {
    for (const type of PALETTE_TYPES) {
      const entry = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
      await expect(entry.count()).resolves.toBe(1);
      const icon = await entry.locator('.red-ui-palette-icon').evaluate((el) => getComputedStyle(el).backgroundImage);
      expect(icon).toMatch(/tillwire-[a-z-]+\.svg/);
    }
    const category = await page
      .locator('.red-ui-palette-category')
      .filter({ has: page.locator('[data-palette-type="tillwire-dedupe"]') })
      .getAttribute('id');
    expect(category).toMatch(/tillwire/i);
    // every icon file was served
    expect(failedRequests.filter((r) => r.includes('icons'))).toEqual([]);
  });

  it('has help text for every node, config node included', async () => {
    for (const type of [...PALETTE_TYPES, ...CONFIG_TYPES]) {
      const help = await page.evaluate((t) => (window as any).RED.nodes.getNodeHelp(t) as string, type);
      expect(help).toMatch(/<p>.{20,}/);
    }
    const dedupeHelp = await page.evaluate(() => (window as any).RED.nodes.getNodeHelp('tillwire-dedupe') as string);
    expect(dedupeHelp).toContain('claimed atomically');
  });

  it('shows every node of the demo flows as valid (no red triangle), settings added since they were written included', async () => {
    const invalid = await page.evaluate(() => {
      const RED = (window as any).RED;
      const out: string[] = [];
      const check = (n: any) => {
        RED.editor.validateNode(n);
        if (n.valid === false) out.push(`${n.type} '${n.name ?? n.id}': ${JSON.stringify(n.validationErrors ?? [])}`);
      };
      RED.nodes.eachNode(check);
      RED.nodes.eachConfig(check);
      return out;
    });
    expect(invalid).toEqual([]);
  });

  it('marks a bol.com stock node with an offer map that is not JSON of SKU → offer id, or a wait of 0, as invalid before Deploy', async () => {
    const verdicts = await page.evaluate(() => {
      const RED = (window as any).RED;
      const probe = (offers: string, wait: string) => {
        // A node as the editor holds one, checked as Deploy checks it, never added to the workspace.
        const n: any = { id: RED.nodes.id(), type: 'tillwire-bol-inventory', _def: RED.nodes.getType('tillwire-bol-inventory'), bol: '', offers, wait };
        RED.editor.validateNode(n);
        // The node has no account chosen here (bol is required): only the offer map and the wait are looked at.
        const verdict = (n.validationErrors ?? []).filter((e: string) => e !== 'bol');
        return verdict;
      };
      return {
        good: probe('{"SKU-1": "4c40ea56-8315-3a6b-de38-3e090af84d74"}', '60'),
        garbage: probe('{"SKU-1": ', '60'),
        notText: probe('{"SKU-1": 42}', '60'),
        empty: probe('{}', '60'),
        noWait: probe('{"SKU-1": "x"}', '0'),
      };
    });
    expect(verdicts).toEqual({ good: [], garbage: ['offers'], notText: ['offers'], empty: ['offers'], noWait: ['wait'] });
  });

  it('drags a dedupe node onto the canvas, configures it, deploys, and the runtime has it', async () => {
    const dedupeIds = () => page.evaluate(() => ((window as any).RED.nodes.filterNodes({ type: 'tillwire-dedupe' }) as any[]).map((n) => n.id as string));
    const before = await dedupeIds();
    // type as a person does: the palette filter reacts to key presses
    await page.locator('#red-ui-palette-search input').pressSequentially('dedupe');
    const entry = page.locator('.red-ui-palette-node[data-palette-type="tillwire-dedupe"]');
    await page.locator('.red-ui-palette-node[data-palette-type="inject"]').waitFor({ state: 'hidden' });
    await entry.waitFor({ state: 'visible' });
    await entry.dragTo(page.locator('#red-ui-workspace-chart'), { targetPosition: { x: 300, y: 480 }, steps: 15 } as any);

    const after = await dedupeIds();
    const added = after.filter((id) => !before.includes(id));
    expect(added).toHaveLength(1);
    const newId = added[0];
    await page.locator(`#red-ui-workspace-chart g[id="${newId}"] rect.red-ui-flow-node`).dblclick();
    await page.waitForSelector('#node-input-name', { state: 'visible' });
    await page.fill('#node-input-name', 'dedupe till sales');
    await page.selectOption('#node-input-duplicates', 'output');
    await page.fill('#node-input-retentionHours', '72');
    // the store select offers the demo store that the flow already has
    const storeOptions = await page.locator('#node-input-store option').allTextContents();
    expect(storeOptions.join('|')).toContain('demo store (SQLite)');
    await page.selectOption('#node-input-store', 'tillwire-demo-store');
    await page.screenshot({ path: path.join(RESULTS, 'dedupe-edit-dialog.png') });
    await page.click('#node-dialog-ok');

    await page.click('#red-ui-header-button-deploy');
    await page.waitForSelector('.red-ui-notification', { timeout: 15_000 });

    const res = await fetch(red.url + '/flows', { headers: { 'Node-RED-API-Version': 'v2' } });
    const { flows } = (await res.json()) as { flows: any[] };
    const deployed = flows.find((n) => n.id === newId);
    expect(deployed).toMatchObject({
      type: 'tillwire-dedupe',
      name: 'dedupe till sales',
      store: 'tillwire-demo-store',
      duplicates: 'output',
      outputs: 2,
      retentionHours: '72',
    });

    // the deployed node is running: its badge shows its counters
    await page.waitForFunction(
      (id) => document.querySelector(`#red-ui-workspace-chart [id="${id}"] .red-ui-flow-node-status-label`)?.textContent?.includes('passed 0'),
      deployed.id,
      { timeout: 15_000 },
    );
    // the palette filtered to Tillwire's nodes, once the deploy notice has gone
    const search = page.locator('#red-ui-palette-search input');
    await search.selectText();
    await page.keyboard.press('Backspace');
    await search.pressSequentially('tillwire');
    await page.locator('.red-ui-palette-node[data-palette-type="inject"]').waitFor({ state: 'hidden' });
    await page.locator('.red-ui-notification').first().waitFor({ state: 'hidden', timeout: 15_000 });
    await page.screenshot({ path: path.join(RESULTS, 'editor.png') });
    await search.selectText();
    await page.keyboard.press('Backspace');
  });

  it(`imports the "${TEMPLATE}" template from Import > Examples, deploys it, and it runs against the simulators`, async () => {
    const deployedIds = async () =>
      new Set(
        ((await (await fetch(red.url + '/flows', { headers: { 'Node-RED-API-Version': 'v2' } })).json()) as { flows: any[] }).flows.map((n) => n.id as string),
      );
    const before = await deployedIds();
    // The menu, as a person opens it: ☰ → Import → Examples → the package → the template.
    await page.click('#red-ui-header-button-sidemenu');
    await page.click('#menu-item-import');
    await page.waitForSelector('#red-ui-clipboard-dialog', { state: 'visible' });
    await page.locator('#red-ui-clipboard-dialog-import-tabs .red-ui-tab-label', { hasText: 'Examples' }).click();
    const library = page.locator('#red-ui-clipboard-dialog-import-tab-examples');
    await library.locator('.red-ui-treeList-label', { hasText: '@tillwire/node-red-retail' }).click();
    await library.locator('.red-ui-treeList-label', { hasText: TEMPLATE }).click();
    await page.click('#red-ui-clipboard-dialog-import-opt-new');
    await page.screenshot({ path: path.join(RESULTS, 'import-examples.png') });
    await page.click('#red-ui-clipboard-dialog-ok');
    // Import closes the dialog at once but fetches the template (GET library/…) before it adds any
    // node, and the added nodes then hang on the pointer until a click places them; until they are
    // placed the flows are not dirty and Deploy does nothing. So wait for the nodes themselves: on
    // the pointer (the editor's import-dragging state), then placed (the flows dirty).
    await page.waitForFunction(
      () => {
        const RED = (window as any).RED;
        return RED.view.state() === RED.state.IMPORT_DRAGGING;
      },
      undefined,
      { timeout: 15_000 },
    );
    await page.mouse.move(500, 400);
    await page.mouse.click(500, 400);
    await page.waitForFunction(
      () => {
        const RED = (window as any).RED;
        return RED.view.state() !== RED.state.IMPORT_DRAGGING && RED.nodes.dirty() === true;
      },
      undefined,
      { timeout: 15_000 },
    );
    await page.locator('#red-ui-header-button-deploy:not(.disabled)').click();
    // A full deploy first stops every running node, which can take seconds while the demo's Odoo
    // connection drains its work (the "Imported" notice is already up, so a notice proves nothing):
    // the editor marks the flows clean when the runtime has answered the deploy.
    await page.waitForFunction(() => (window as any).RED.nodes.dirty() === false, undefined, { timeout: 60_000 });
    const template: any[] = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', `${TEMPLATE}.json`), 'utf8'));
    const poller = template.find((n) => n.type === 'tillwire-amazon-orders');
    const erp = template.find((n) => n.type === 'tillwire-odoo');
    const flows = ((await (await fetch(red.url + '/flows', { headers: { 'Node-RED-API-Version': 'v2' } })).json()) as { flows: any[] }).flows;
    // The template's nodes are deployed: every one of them, under new ids (the demo flows have
    // nodes of the same types and names, so the imported ones are those that were not there before).
    const imported = flows.filter((n) => !before.has(n.id));
    expect(imported.map((n) => n.type).sort()).toEqual([...template.filter((n) => n.type !== 'tab').map((n) => n.type), 'tab'].sort());
    const deployedPoller = imported.find((n) => n.type === 'tillwire-amazon-orders' && n.name === poller.name);
    const deployedErp = imported.find((n) => n.type === 'tillwire-odoo' && n.name === erp.name && n.z === deployedPoller?.z);
    expect(deployedPoller).toBeDefined();
    expect(deployedErp).toBeDefined();
    // Credentials never travel in a template: enter the simulators' (and their addresses here), as
    // the template's note says, through the admin API the editor itself uses.
    const account = flows.find((n) => n.id === deployedPoller.amazon);
    const odoo = flows.find((n) => n.id === deployedErp.odoo);
    const amazonUrl = `http://127.0.0.1:${amazonPort}`;
    await configure(red.url, {
      [account.id]: {
        props: { endpoint: amazonUrl, tokenUrl: `${amazonUrl}/auth/o2/token` },
        credentials: {
          clientId: 'amzn1.application-oa2-client.tillwire',
          clientSecret: 'tillwire-demo-secret',
          refreshToken: 'Atzr|tillwire-demo-refresh-token',
        },
      },
      [odoo.id]: { props: { url: `http://127.0.0.1:${odooPort}` }, credentials: { apiKey: 'tillwire-demo-key' } },
    });
    await page.locator(`.red-ui-tab[id="red-ui-tab-${deployedPoller.z}"]`).click();
    // It runs: the poller fetches the simulator's orders and Odoo confirms them.
    await page
      .waitForFunction(
        (id) => /sent [1-9]/.test(document.querySelector(`#red-ui-workspace-chart [id="${id}"] .red-ui-flow-node-status-label`)?.textContent ?? ''),
        deployedErp.id,
        { timeout: 60_000 },
      )
      .catch(async (err) => {
        const labels = await page.evaluate(() =>
          Array.from(document.querySelectorAll('#red-ui-workspace-chart .red-ui-flow-node-status-label'), (e) => e.textContent),
        );
        throw new Error(`${(err as Error).message}; the tab's badges: ${JSON.stringify(labels)}`);
      });
    await page.screenshot({ path: path.join(RESULTS, 'template-deployed.png') });
  });
});
