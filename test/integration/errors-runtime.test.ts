/**
 * The error model in a real Node-RED process started with the product's settings: an Odoo node
 * fails against the Odoo simulator and a plain Node-RED Catch node receives `msg.error` with the
 * structured fields (docs/errors.md): `code` is the kind, `cause` holds system, operation, kind,
 * retryable, attempts and the provider's code. Orders arrive over Node-RED's own HTTP input, and
 * the Catch flow answers with what it received, as a user's flow would pass it on.
 */
import { startNodeRed, RunningNodeRed } from '../support/node-red-process';
import { deployCredentials } from '../../scripts/start';
import { OdooSimulator, SEED } from '../../nodes/odoo/simulator';
import { demoSale, saleKey, startSimulator } from '../odoo/support';

jest.setTimeout(120_000);

let red: RunningNodeRed;
let sim: OdooSimulator;

function flows(odooUrl: string) {
  return [
    { id: 'tab', type: 'tab', label: 'errors' },
    {
      id: 'c1',
      type: 'tillwire-odoo-config',
      url: odooUrl,
      database: 'tillwire',
      login: 'admin',
      api: 'jsonrpc',
      version: '19',
      defaultPartnerId: String(SEED.walkInPartnerId),
      maxConcurrent: '4',
      ratePerSecond: '0',
      timeout: '0.5',
      attempts: '2',
      retryDelay: '1',
      maxRetryWait: '0.01',
    },
    { id: 'in', type: 'http in', z: 'tab', url: '/odoo/order', method: 'post', wires: [['o1']] },
    { id: 'o1', type: 'tillwire-odoo', z: 'tab', name: 'to Odoo', odoo: 'c1', operation: 'order', wires: [['ok']] },
    { id: 'ok', type: 'function', z: 'tab', func: 'msg.payload = { sent: msg.erp.name };\nreturn msg;', outputs: 1, wires: [['res']] },
    // A plain Catch node, answering with exactly what it received in msg.error (and whether the
    // message still carries the old side channel).
    { id: 'k1', type: 'catch', z: 'tab', scope: ['o1'], uncaught: false, wires: [['failed']] },
    {
      id: 'failed',
      type: 'function',
      z: 'tab',
      func: 'msg.statusCode = 500;\nmsg.payload = { error: msg.error, erpError: msg.erpError === undefined ? null : msg.erpError };\nreturn msg;',
      outputs: 1,
      wires: [['res']],
    },
    { id: 'res', type: 'http response', z: 'tab', statusCode: '', headers: {} },
  ];
}

beforeAll(async () => {
  sim = await startSimulator({ version: 19 });
  red = await startNodeRed({ flows: flows(sim.url), via: 'red' });
  await deployCredentials(red.adminUrl, { c1: { apiKey: sim.apiKey } });
});

afterAll(async () => {
  await red?.stop();
  await sim?.stop();
});

async function postSale(sale: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${red.url}/odoo/order`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(sale),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, body: await res.json() };
}

it('Odoo never answering: the Catch node gets a retryable timeout with the attempts made', async () => {
  sim.setFaults({ timeoutRate: 1 });
  try {
    const { status, body } = await postSale(demoSale(1));
    expect(status).toBe(500);
    expect(body.error.source).toEqual({ id: 'o1', type: 'tillwire-odoo', name: 'to Odoo', count: 1 });
    expect(body.error.code).toBe('timeout');
    expect(body.error.cause).toEqual({ system: 'odoo', operation: expect.any(String), kind: 'timeout', retryable: true, attempts: 2 });
    expect(body.error.message).toMatch(/^odoo \S+: no answer within 500 ms \(gave up after 2 attempts\)$/);
    expect(body.erpError).toBeNull();
  } finally {
    sim.setFaults({});
  }
});

it('an unknown SKU: the Catch node gets a permanent missing-reference naming the provider code; nothing is created', async () => {
  const bad = demoSale(2, { lines: 2 });
  bad.lines[1].sku = 'NO-SUCH-SKU';
  const { status, body } = await postSale(bad);
  expect(status).toBe(500);
  expect(body.error.code).toBe('missing-reference');
  expect(body.error.cause).toEqual({ system: 'odoo', operation: 'sale.order', kind: 'missing-reference', retryable: false, providerCode: 'unknown_sku' });
  expect(body.error.message).toContain('NO-SUCH-SKU');
  expect(sim.counts()['sale.order']).toBe(0);
});

it('a good sale beside them still goes through, once', async () => {
  const sale = demoSale(3);
  const { status, body } = await postSale(sale);
  expect(status).toBe(200);
  expect(body).toEqual({ sent: 'S00001' });
  expect(sim.state().orders[saleKey(sale)]).toHaveLength(1);
});
