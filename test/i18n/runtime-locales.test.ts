/**
 * Translations in a real Node-RED started with the product's settings and `lang: 'de'`: the editor's
 * catalog request for a Tillwire node set (GET /locales/<module>/<set>?lng=de, and the
 * /nodes/messages bundle the editor loads) answers the German catalog, the sidebar help comes in
 * German for a German browser, and the nodes' badges are German (as the editor receives them): a
 * core node's own counters, a connector's own text (bol ship), the shared write-back body's and the
 * shared webhook body's texts.
 */
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { startNodeRed, RunningNodeRed, ROOT } from '../support/node-red-process';
import { shortText } from '../../nodes/core/node-kit';

jest.setTimeout(120_000);

const MODULE = '@tillwire/node-red-retail';
const catalog = (folder: string, lang: string, name: string) =>
  JSON.parse(fs.readFileSync(path.join(ROOT, 'nodes', folder, 'locales', lang, `${name}.json`), 'utf8'));

const flows = [
  { id: 'tab', type: 'tab', label: 'i18n' },
  { id: 'st', type: 'tillwire-store', name: 'memory', backend: 'memory' },
  { id: 'post-in', type: 'http in', z: 'tab', url: '/in', method: 'post', wires: [['dd']] },
  {
    id: 'dd',
    type: 'tillwire-dedupe',
    z: 'tab',
    store: 'st',
    key: 'payload.id',
    keyType: 'msg',
    confirm: 'pass',
    duplicates: 'output',
    retentionHours: 1,
    outputs: 2,
    wires: [['res'], ['res']],
  },
  { id: 'dd-nostore', type: 'tillwire-dedupe', z: 'tab', store: '', key: 'payload.id', keyType: 'msg', retentionHours: 1, outputs: 1, wires: [[]] },
  { id: 'res', type: 'http response', z: 'tab', statusCode: '', headers: {} },
  // A shop without a webhook secret: every delivery is refused (401) and counted on the badge.
  { id: 'i18n-shop', type: 'tillwire-shopify-config', name: 'demo shop', shop: 'i18n-demo.myshopify.com', apiVersion: '2026-10' },
  { id: 'wh', type: 'tillwire-shopify-webhook', z: 'tab', store: 'st', shopify: 'i18n-shop', path: '/i18n/shopify', wires: [[]] },
  { id: 'ship-noacct', type: 'tillwire-bol-ship', z: 'tab', store: 'st', bol: '', wires: [[]] },
  { id: 'inv-noacct', type: 'tillwire-shopify-inventory', z: 'tab', store: '', shopify: '', wires: [[]] },
  // A poller with no account: the shared poller shows the text from the node's own catalog.
  { id: 'ao', type: 'tillwire-amazon-orders', z: 'tab', amazon: '', store: 'st', interval: 120, wires: [[]] },
];

let red: RunningNodeRed;

beforeAll(async () => {
  red = await startNodeRed({ via: 'red', flows, settings: { lang: 'de' } });
});

afterAll(async () => {
  expect(await red?.stop()).toBe(0);
});

/**
 * The badges as the editor sees them: Node-RED's comms websocket sends each node's last status
 * (`status/<id>`) to a subscriber, then every change. Resolves once `ready` holds for the texts.
 */
function editorBadges(ready: (texts: Record<string, string>) => boolean): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const texts: Record<string, string> = {};
    const ws = new WebSocket(`${red.adminUrl.replace(/^http/, 'ws')}/comms`);
    const timer = setTimeout(() => finish(), 20_000);
    const finish = () => {
      clearTimeout(timer);
      ws.close();
      resolve(texts);
    };
    ws.on('open', () => ws.send(JSON.stringify({ subscribe: 'status/#' })));
    ws.on('error', reject);
    ws.on('message', (data) => {
      for (const m of [JSON.parse(String(data))].flat() as Array<{ topic: string; data: { text?: string } }>) {
        if (m.topic?.startsWith('status/') && m.data?.text !== undefined) texts[m.topic.slice('status/'.length)] = m.data.text;
      }
      if (ready(texts)) finish();
    });
  });
}

describe('Tillwire in German', () => {
  it('GET /locales/<module>/<set>?lng=de answers the German catalog of that node set, and ?lng=en-US the English one', async () => {
    for (const [set, folder, name] of [
      ['tillwire-dedupe', 'core', 'dedupe'],
      ['tillwire-store', 'core', 'store-config'],
      ['tillwire-pos-mqtt-in', 'pos-mqtt', 'pos-mqtt-in'],
    ]) {
      const de = await fetch(`${red.adminUrl}/locales/${MODULE}/${set}?lng=de`);
      expect(de.status).toBe(200);
      expect(await de.json()).toEqual(catalog(folder, 'de', name));
      const en = await fetch(`${red.adminUrl}/locales/${MODULE}/${set}?lng=en-US`);
      expect(await en.json()).toEqual(catalog(folder, 'en-US', name));
    }
    // A German browser sends de-DE: Node-RED falls back to the language without its region.
    const deDE = (await (await fetch(`${red.adminUrl}/locales/${MODULE}/tillwire-dedupe?lng=de-DE`)).json()) as any;
    expect(deDE.label.store).toBe('Datenspeicher');
  });

  it('the catalog bundle the editor loads (GET /nodes/messages?lng=de) has every Tillwire node set in German', async () => {
    const bundle = (await (await fetch(`${red.adminUrl}/nodes/messages?lng=de`, { headers: { accept: 'application/json' } })).json()) as Record<string, any>;
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    for (const [set, js] of Object.entries<string>(pkg['node-red'].nodes)) {
      const expected = catalog(path.basename(path.dirname(js)), 'de', path.basename(js, '.js'));
      expect({ set, catalog: bundle[`${MODULE}/${set}`] }).toEqual({ set, catalog: expected });
    }
    expect(bundle[`${MODULE}/tillwire-ack`].node.palette).toBe('Eingang erledigt');
  });

  it('sends the German help to a browser asking for German, and the English one otherwise', async () => {
    const help = async (lang: string) => (await fetch(`${red.adminUrl}/nodes`, { headers: { accept: 'text/html', 'accept-language': lang } })).text();
    const de = await help('de-DE,de;q=0.9');
    const dedupeDe = de.slice(de.indexOf('data-help-name="tillwire-dedupe"'));
    expect(dedupeDe).toContain('atomar');
    const en = await help('en-US');
    expect(en.slice(en.indexOf('data-help-name="tillwire-dedupe"'))).toContain('claimed atomically');
    // A connector's help too.
    expect(de.slice(de.indexOf('data-help-name="tillwire-shopify-webhook"'))).toMatch(/^[^]*?Empfängt Shopify-Webhooks/);
    expect(en.slice(en.indexOf('data-help-name="tillwire-shopify-webhook"'))).toMatch(/^[^]*?Receives Shopify webhooks/);
  });

  it('shows the nodes\' badges in the runtime language: German counters, and the shared "no store" text', async () => {
    const start = await editorBadges((b) => Boolean(b['dd'] && b['dd-nostore']));
    expect({ dd: start['dd'], noStore: start['dd-nostore'] }).toEqual({ dd: 'durchgelassen 0, Duplikate 0', noStore: 'kein Datenspeicher gewählt' });
    for (const id of ['A-1', 'A-1']) {
      const res = await fetch(`${red.url}/in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id }) });
      expect(res.status).toBe(200);
    }
    const after = await editorBadges((b) => b['dd'] === 'durchgelassen 1, Duplikate 1');
    expect(after['dd']).toBe('durchgelassen 1, Duplikate 1');
  });

  it("shows the connectors' badges in German: their own texts and those of the shared write-back and webhook bodies", async () => {
    const start = await editorBadges((b) => Boolean(b['ship-noacct'] && b['inv-noacct'] && b['wh'] === '0 ein · 0 abgewiesen · 0 fehlgeschl.'));
    expect({ ship: start['ship-noacct'], inventory: start['inv-noacct'], webhook: start['wh'] }).toEqual({
      ship: 'kein bol.com-Konto gewählt',
      inventory: shortText('kein shopify-Konto gewählt: im Node eines wählen'),
      webhook: '0 ein · 0 abgewiesen · 0 fehlgeschl.',
    });
    // An unsigned delivery is refused and counted, in German.
    const res = await fetch(`${red.url}/i18n/shopify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id":1}' });
    expect(res.status).toBe(401);
    const after = await editorBadges((b) => b['wh'] === '0 ein · 1 abgewiesen · 0 fehlgeschl.');
    expect(after['wh']).toBe('0 ein · 1 abgewiesen · 0 fehlgeschl.');
  });

  it("shows an order poller's badge from its own node set's German catalog", async () => {
    const badges = await editorBadges((b) => Boolean(b['ao']));
    expect(badges['ao']).toBe(catalog('amazon', 'de', 'amazon-orders').status.noAccount);
    expect(badges['ao']).toBe('kein Amazon-Konto gewählt');
  });
});
