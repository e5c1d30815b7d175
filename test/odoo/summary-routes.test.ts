/**
 * The summarised-posting admin routes (core/summary-routes.ts) in a real Node-RED started with the
 * product's settings and an editor login: an admin, an auditor who may only read and a viewer who
 * may only read flows. Sales reach a `tillwire-odoo` node in summary mode over HTTP; the routes list
 * a store's summaries and say which summary carried a sale. Refused, each naming the problem: no
 * login, the viewer, a missing or repeated store id, a bad date, an unknown ERP, a bad limit, an
 * unknown store node, an unknown sale; a hostile store id reads nothing of another store.
 */
import { adminAuthSettings, adminToken } from '../support/admin-auth';
import { RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { buildSale } from '../../simulators/pos-mqtt/device-sales';
import { catalogItem } from '../../simulators/kit/catalog';
import type { Sale } from '../../nodes/model/types.generated';

jest.setTimeout(60_000);

const PASSWORD = 'summary horse battery';
let red: RunningNodeRed;
let admin: string;
let auditor: string;
let viewer: string;

const DATE = new Date().toISOString().slice(0, 10);
const sale = (storeId: string, n: number): Sale =>
  buildSale({
    saleId: `R${n}`,
    storeId,
    terminalId: 'T1',
    sequence: n,
    occurredAt: new Date().toISOString(),
    businessDate: DATE,
    currency: 'GBP',
    lines: [{ item: catalogItem(n), quantity: 1 }],
    tenders: (total) => [{ type: 'card', amount: { amount: total, currency: 'GBP' } }],
  });

const flows = [
  { id: 'tab', type: 'tab', label: 'summaries' },
  { id: 'st', type: 'tillwire-store', name: 'store', backend: 'sqlite', file: 'tillwire.db' },
  // No Odoo connection chosen: sales are still assigned (posting waits for a usable connection).
  { id: 'odoo', type: 'tillwire-odoo', z: 'tab', odoo: '', operation: 'order', store: 'st', posting: 'summary', summarySeconds: 3600, wires: [[]] },
  { id: 'in', type: 'http in', z: 'tab', url: '/feed', method: 'post', upload: false, wires: [['msg', 'ok']] },
  {
    id: 'msg',
    type: 'function',
    z: 'tab',
    func: "return { payload: msg.payload, tillwire: { idempotencyKey: 'sale:' + msg.payload.storeId + ':' + msg.payload.terminalId + ':' + msg.payload.saleId } };",
    outputs: 1,
    wires: [['odoo']],
  },
  { id: 'ok', type: 'http response', z: 'tab', statusCode: '204', headers: {}, wires: [] },
];

async function get(path: string, token?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${red.adminUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

beforeAll(async () => {
  red = await startNodeRed({
    via: 'red',
    flows,
    settings: adminAuthSettings(PASSWORD, [
      { username: 'admin', permissions: '*' },
      { username: 'auditor', permissions: 'read' },
      { username: 'viewer', permissions: 'flows.read' },
    ]),
  });
  admin = await adminToken(red.adminUrl, 'admin', PASSWORD, '*');
  auditor = await adminToken(red.adminUrl, 'auditor', PASSWORD, 'read');
  viewer = await adminToken(red.adminUrl, 'viewer', PASSWORD, 'flows.read');
  for (const s of [sale('LDN-1', 1), sale('LDN-1', 2), sale('MAN-2', 3)]) {
    const res = await fetch(`${red.url}/feed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(s) });
    expect(res.status).toBe(204);
  }
  const end = Date.now() + 30_000;
  while (((await get(`/tillwire/summaries?storeId=LDN-1`, admin)).body?.summaries?.[0]?.sales ?? 0) < 2) {
    if (Date.now() > end) throw new Error('the sales were not assigned');
    await new Promise((r) => setTimeout(r, 200));
  }
});

afterAll(async () => {
  await red?.stop();
});

describe('summarised-posting admin routes', () => {
  it("lists a store's summaries to a read login, and says which summary carried a sale", async () => {
    const list = await get(`/tillwire/summaries?storeId=LDN-1&businessDate=${DATE}&erp=odoo`, auditor);
    expect(list.status).toBe(200);
    expect(list.body.summaries).toEqual([
      expect.objectContaining({ key: `summary:LDN-1:${DATE}:1`, scope: 'odoo', storeId: 'LDN-1', state: 'open', sales: 2, seq: 1, currency: 'GBP' }),
    ]);
    const one = await get(`/tillwire/summaries/sale?key=${encodeURIComponent('sale:MAN-2:T1:R3')}`, auditor);
    expect(one.status).toBe(200);
    expect(one.body.sale).toMatchObject({ key: 'sale:MAN-2:T1:R3', summaryKey: `summary:MAN-2:${DATE}:1`, erp: 'odoo', late: false });
    expect(one.body.sale.document).toBeUndefined();
    expect(one.body.summary).toMatchObject({ key: `summary:MAN-2:${DATE}:1`, sales: 1 });
  });

  it('refuses no login and a login without the permission (the viewer may read flows, not summaries)', async () => {
    expect((await get('/tillwire/summaries?storeId=LDN-1')).status).toBe(401);
    // Node-RED answers a login without the permission as it answers none.
    expect((await get('/flows', viewer)).status).toBe(200);
    expect((await get('/tillwire/summaries?storeId=LDN-1', viewer)).status).toBe(401);
    expect((await get('/tillwire/summaries/sale?key=x', viewer)).status).toBe(401);
  });

  it.each([
    ['/tillwire/summaries', 400, /storeId is required/],
    ['/tillwire/summaries?storeId=LDN-1&storeId=MAN-2', 400, /storeId must be given once/],
    [`/tillwire/summaries?storeId=${'x'.repeat(201)}`, 400, /longer than 200/],
    ['/tillwire/summaries?storeId=LDN-1&businessDate=yesterday', 400, /businessDate must be a date/],
    ['/tillwire/summaries?storeId=LDN-1&businessDate=2026-02-31', 400, /businessDate must be a date/],
    ['/tillwire/summaries?storeId=LDN-1&erp=quickbooks', 400, /erp must be one of odoo, business-central/],
    ['/tillwire/summaries?storeId=LDN-1&limit=0', 400, /limit must be a whole number/],
    ['/tillwire/summaries?storeId=LDN-1&limit=1e9', 400, /limit must be a whole number/],
    ['/tillwire/summaries?storeId=LDN-1&store=nope', 404, /no Tillwire store with id nope/],
    ['/tillwire/summaries/sale', 400, /key is required/],
    [`/tillwire/summaries/sale?key=${encodeURIComponent('sale:LDN-1:T1:R999')}`, 404, /no summary carries sale:LDN-1:T1:R999/],
  ])('%s → %i naming the problem', async (path, status, message) => {
    const res = await get(path, admin);
    expect(res.status).toBe(status);
    expect(res.body.error).toMatch(message);
  });

  it("a hostile store id reads nothing of another store's summaries", async () => {
    for (const storeId of ["LDN-1' OR '1'='1", 'LDN-%', '%', 'MAN-2 ', ' LDN-1']) {
      const res = await get(`/tillwire/summaries?storeId=${encodeURIComponent(storeId)}`, admin);
      expect(res.status).toBe(200);
      expect(res.body.summaries).toEqual([]);
    }
    const man = await get('/tillwire/summaries?storeId=MAN-2', admin);
    expect(man.body.summaries.map((s: any) => s.storeId)).toEqual(['MAN-2']);
  });
});
