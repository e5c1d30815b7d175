/**
 * The error model in a real Node-RED process started with the product's settings: the Odoo and
 * Business Central nodes fail against their simulators and a plain Node-RED Catch node receives `msg.error` with the
 * structured fields (docs/errors.md): `code` is the kind, `cause` holds system, operation, kind,
 * retryable, attempts and the provider's code. Orders arrive over Node-RED's own HTTP input, and
 * the Catch flow answers with what it received, as a user's flow would pass it on.
 */
import { bcConfigNode } from '../support/config-nodes';
import { startNodeRed, RunningNodeRed, deployCredentialsAndWait } from '../support/node-red-process';
import { OdooSimulator, SEED } from '../../simulators/odoo/simulator';
import { demoSale, saleKey, startSimulator } from '../odoo/support';
import { BusinessCentralSimulator } from '../../simulators/business-central/simulator';
import { fixture as bcFixture, startSimulator as startBc } from '../business-central/helpers';
import { businessKey } from '../../nodes/model/validate';

jest.setTimeout(120_000);

let red: RunningNodeRed;
let sim: OdooSimulator;
let bc: BusinessCentralSimulator;

function flows(odooUrl: string, bcSim: BusinessCentralSimulator) {
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
    bcConfigNode(bcSim),
    { id: 'in-bc', type: 'http in', z: 'tab', url: '/bc/order', method: 'post', wires: [['key']] },
    {
      id: 'key',
      type: 'change',
      z: 'tab',
      rules: [{ t: 'set', p: 'tillwire.idempotencyKey', pt: 'msg', to: 'req.headers.idempotency-key', tot: 'msg' }],
      wires: [['n1']],
    },
    { id: 'n1', type: 'tillwire-business-central', z: 'tab', name: 'to BC', bc: 'bc1', operation: 'order', wires: [['bc-ok']] },
    { id: 'bc-ok', type: 'function', z: 'tab', func: 'msg.payload = { sent: msg.erp.number };\nreturn msg;', outputs: 1, wires: [['res']] },
    { id: 'k2', type: 'catch', z: 'tab', scope: ['n1'], uncaught: false, wires: [['failed']] },
  ];
}

beforeAll(async () => {
  sim = await startSimulator({ version: 19 });
  bc = await startBc();
  red = await startNodeRed({ flows: flows(sim.url, bc), via: 'red' });
  await deployCredentialsAndWait(red, { c1: { apiKey: sim.apiKey }, bc1: { token: bc.token } });
});

afterAll(async () => {
  await red?.stop();
  await sim?.stop();
  await bc?.close();
});

async function postSale(sale: unknown, route = '/odoo/order', headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${red.url}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(sale),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    throw new Error(`${route} answered ${res.status} with no JSON: ${text.slice(0, 200)}`);
  }
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

describe('Business Central', () => {
  const postBc = (doc: Record<string, any>) => postSale(doc, '/bc/order', { 'idempotency-key': businessKey(doc)! });

  it('BC busy through every attempt: the Catch node gets a retryable unavailable with status and attempts', async () => {
    bc.setFaults({ errorRate: 1, errorStatuses: [503] });
    try {
      const { status, body } = await postBc(bcFixture('sale.json'));
      expect(status).toBe(500);
      expect(body.error.source).toMatchObject({ id: 'n1', type: 'tillwire-business-central', name: 'to BC' });
      expect(body.error.code).toBe('unavailable');
      expect(body.error.cause).toMatchObject({ system: 'business-central', kind: 'unavailable', retryable: true, status: 503, attempts: 2 });
    } finally {
      bc.setFaults({});
    }
  });

  it("an unknown SKU: a permanent missing-reference naming BC's item; nothing created", async () => {
    const sale = bcFixture('sale.json');
    sale.lines[0].sku = 'GHOST-1';
    const { status, body } = await postBc(sale);
    expect(status).toBe(500);
    expect(body.error.cause).toEqual({
      system: 'business-central',
      operation: 'create sales order',
      kind: 'missing-reference',
      retryable: false,
      providerCode: 'UnknownSku',
    });
    expect(body.error.message).toContain("unknown SKU 'GHOST-1'");
    expect(bc.state().counts.salesOrders).toBe(0);
  });
});
