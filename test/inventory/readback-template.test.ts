/**
 * The template "ERP stock → available-to-sell → every channel", as shipped in examples/, in a real
 * Node-RED started with the product's settings, its config nodes pointed at the channel simulators:
 * figures pushed through its channel inventory nodes, then one channel's quantity changed behind
 * Tillwire's back, then its "read back every channel" inject pressed (through the admin API, as the
 * editor's button does). Its drift debug node (stood in for by a function node that keeps what
 * reaches it) gets the drift of that channel only. The ERP stock read is not exercised here (its
 * inject is stood in for by a node that never fires): channel-push-flow.test.ts covers that path.
 */
import { deployCredentialsAndWait, RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { flowCalls } from '../support/flow-calls';
import { readTemplate } from '../support/template';
import { ShopifySimulator } from '../../simulators/shopify/simulator';
import { AmazonSimulator } from '../../simulators/amazon/simulator';
import { SquareSimulator } from '../../simulators/square/simulator';
import { BolSimulator } from '../../simulators/bol/simulator';

jest.setTimeout(60_000);

const SKU = 'SKU-0002';
let red: RunningNodeRed;
let shopify: ShopifySimulator;
let amazon: AmazonSimulator;
let square: SquareSimulator;
let bol: BolSimulator;
const { call, until } = flowCalls(() => red);

function flows() {
  const template = readTemplate('ERP stock → available-to-sell → every channel');
  const keep = (id: string) => `const list = flow.get('${id}') || []; list.push(msg.payload); flow.set('${id}', list); return null;`;
  const debugs = template.filter((n) => n.type === 'debug').map((n) => n.id);
  const at: Record<string, Record<string, unknown>> = {
    'ats-shopify-cfg': { baseUrl: shopify.url },
    'ats-amazon-cfg': { endpoint: amazon.url, tokenUrl: amazon.tokenUrl },
    'ats-square-cfg': { baseUrl: square.url },
    'ats-bol-cfg': { endpoint: bol.url, tokenUrl: bol.tokenUrl },
  };
  return [
    { id: 'tab', type: 'tab', label: 'template' },
    ...template
      .filter((n) => n.type !== 'comment')
      .map((n) => {
        if (at[n.id]) return { ...n, ...at[n.id] };
        // Observed: what the compare node took in (its first output, unwired in the template).
        if (n.id === 'ats-compare') return { ...n, z: 'tab', wires: [['compared'], ...n.wires.slice(1)] };
        if (n.type.endsWith('-config') || n.type === 'tillwire-store') return n;
        if (n.type === 'debug') return { id: n.id, type: 'function', z: 'tab', func: keep(n.id), outputs: 1, wires: [] };
        // The read-back inject is pressed by the test; the others never fire here.
        if (n.type === 'inject' && n.id === 'ats-readback-every') return { ...n, z: 'tab', repeat: '', once: false };
        if (n.type === 'inject') return { id: n.id, type: 'function', z: 'tab', func: 'return msg;', outputs: 1, wires: [] };
        return { ...n, z: 'tab' };
      }),
    { id: 'compared', type: 'function', z: 'tab', func: keep('compared'), outputs: 1, wires: [] },
    // Every error of the tab, so a failure names itself.
    { id: 'all-errors', type: 'catch', z: 'tab', uncaught: false, wires: [['errors']] },
    { id: 'errors', type: 'function', z: 'tab', func: keep('errors').replace('msg.payload', 'msg.error.message'), outputs: 1, wires: [] },
    // Figures as available to sell sends them: routed by msg.channel to the template's inventory nodes.
    { id: 'push', type: 'http in', z: 'tab', url: '/push', method: 'post', wires: [['asAts', 'ack']] },
    { id: 'asAts', type: 'function', z: 'tab', func: 'msg.channel = msg.payload.channel.system;\nreturn msg;', outputs: 1, wires: [['ats-route']] },
    { id: 'ack', type: 'function', z: 'tab', func: 'msg.payload = { ok: true };\nreturn msg;', outputs: 1, wires: [['res']] },
    { id: 'res', type: 'http response', z: 'tab', statusCode: '', headers: {} },
    { id: 'seen', type: 'http in', z: 'tab', url: '/seen', method: 'get', wires: [['show']] },
    {
      id: 'show',
      type: 'function',
      z: 'tab',
      func: `msg.payload = Object.fromEntries(${JSON.stringify([...debugs, 'compared', 'errors'])}.map((k) => [k, flow.get(k) || []]));\nreturn msg;`,
      outputs: 1,
      wires: [['res']],
    },
  ];
}

beforeAll(async () => {
  shopify = new ShopifySimulator({ orders: 0 });
  amazon = new AmazonSimulator({ orders: 0 });
  square = new SquareSimulator({});
  bol = new BolSimulator({ orders: 0 });
  await Promise.all([shopify.start(), amazon.start(), square.start(), bol.start()]);
  red = await startNodeRed({ via: 'red', flows: flows(), env: { TILLWIRE_LOG_LEVEL: 'warn', TILLWIRE_DEMO: '0' } });
  await deployCredentialsAndWait(red, {
    'ats-shopify-cfg': { accessToken: shopify.accessToken },
    'ats-amazon-cfg': { clientId: amazon.clientId, clientSecret: amazon.clientSecret, refreshToken: amazon.refreshToken },
    'ats-square-cfg': { accessToken: square.accessToken },
    'ats-bol-cfg': { clientId: bol.clientId, clientSecret: bol.clientSecret },
    'ats-odoo-cfg': { password: 'unused' },
  });
});

afterAll(async () => {
  await red?.stop();
  await Promise.all([shopify?.stop(), amazon?.stop(), square?.stop(), bol?.stop()]);
});

it("the scheduled read-back reports the channel whose quantity changed behind Tillwire's back, and only it", async () => {
  const computedAt = new Date(Date.now() - 1000).toISOString();
  for (const system of ['shopify', 'amazon', 'square', 'bol'])
    await call('/push', { kind: 'inventory.ats', sku: SKU, channel: { system }, available: 12, computedAt });
  // Each inventory node's answer (after its store record is written) reaches the template's "channel told" debug.
  await until('every channel told', async () => (await call('/seen'))['ats-sent'].length === 4);
  // A sale on Shopify that has not reached Tillwire yet.
  shopify.setQuantity(SKU, 'gid://shopify/Location/1', 'available', 11);

  const res = await fetch(`${red.adminUrl}/inject/ats-readback-every`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  expect(res.status).toBe(200);
  // Shopify, Square and bol at the node's location, Amazon in each of the account's four marketplaces.
  await until('every read-back compared', async () => (await call('/seen')).compared.length === 7);
  const { compared, 'ats-drift': drift, errors } = await call('/seen');
  expect(compared.map((c: any) => `${c.channel.system} ${c.locationIds?.[0] ?? '-'} ${c.available}`).sort()).toEqual([
    'amazon A1F83G8C2ARO7P 12',
    'amazon A1PA6795UKMFR9 12',
    'amazon A1VC38T7YXB528 12',
    'amazon ATVPDKIKX0DER 12',
    'bol - 12',
    'shopify gid://shopify/Location/1 11',
    'square L-LDN 12',
  ]);
  // The only errors: available to sell refusing the answers to pushes it did not make (this test's, not its own).
  expect(errors.filter((e: string) => !e.includes('available to sell: takes'))).toEqual([]);
  expect(drift).toEqual([
    expect.objectContaining({
      kind: 'channel',
      sku: SKU,
      locationId: 'gid://shopify/Location/1',
      reportedBy: { system: 'shopify', account: shopify.shop },
      theirs: 11,
      ours: 12,
      size: -1,
      cause: 'changed-outside-tillwire',
    }),
  ]);
});
