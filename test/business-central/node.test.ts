/**
 * The Business Central nodes through node-red-node-test-helper against the simulator: success,
 * redelivery, the sales register, unknown SKUs and bad credentials into Catch (not retryable, with
 * their kind), BC staying busy (retryable), the throttled badge, inventory, client credentials, close.
 */
import fs from 'node:fs';
import path from 'node:path';
import storeNode from '../../nodes/core/store-config';
import bcConfigNode from '../../nodes/business-central/bc-config';
import bcNode from '../../nodes/business-central/business-central';
import canonicalNode from '../../nodes/core/canonical';
import dedupeNode from '../../nodes/core/dedupe';
import deadLetterNode from '../../nodes/core/dead-letter';
import replayNode from '../../nodes/core/replay';
import { externalDocumentNumber } from '../../nodes/business-central/map';
import { businessKey, validateDocument } from '../../nodes/model/validate';
import { BusinessCentralSimulator } from '../../simulators/business-central/simulator';
import { helper, startServer, stopAll, collect, until } from '../support/node-red';
import { api, fixture, FIXTURE_ITEMS, startSimulator } from './helpers';

const nodes = [storeNode, bcConfigNode, bcNode];
let sim: BusinessCentralSimulator;

beforeEach(startServer);
afterEach(async () => {
  await stopAll();
  await sim?.close();
});

function flow(config: Record<string, unknown> = {}, node: Record<string, unknown> = {}) {
  return [
    { id: 'f1', type: 'tab', label: 'bc' },
    { id: 's1', type: 'tillwire-store', backend: 'memory' },
    {
      id: 'bc1',
      type: 'tillwire-bc-config',
      baseUrl: sim.baseUrl,
      tenant: sim.tenant,
      environment: sim.environment,
      companyId: sim.companyId,
      authMode: 'token',
      defaultCustomer: '10000',
      customerRules: 'shopify = 20000\n# comment\nstore:KWI-AVENUES = 20000',
      shippingAccount: '4400',
      maxConcurrent: 4,
      ratePerSecond: 0,
      timeoutSeconds: 5,
      maxAttempts: 4,
      retryBaseMs: 1,
      cooloffMs: 20,
      ...config,
    },
    { id: 'n1', type: 'tillwire-business-central', z: 'f1', bc: 'bc1', operation: 'order', store: 's1', wires: [['out']], ...node },
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'c1', type: 'catch', z: 'f1', scope: ['n1'], wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
  ];
}

const credentials = () => ({ bc1: { token: sim.token } });

function statuses(node: any): any[] {
  const seen: any[] = [];
  node.on('call:status', (call: any) => seen.push(call.args[0]));
  return seen;
}

function saleMsg(doc: any) {
  return {
    topic: 'sale.completed',
    payload: doc,
    tillwire: { schemaVersion: 1, eventId: 'e1', idempotencyKey: businessKey(doc), source: { system: 'pos' }, attempts: 0 },
  };
}

describe('tillwire-business-central: create sales order', () => {
  it('creates the order once, reports it in msg.erp, records the BC number in the sales register, and counts on the badge', async () => {
    sim = await startSimulator();
    await helper.load(nodes, flow(), credentials());
    const n1 = helper.getNode('n1');
    const seen = statuses(n1);
    const sale = fixture('sale.json');
    const key = businessKey(sale)!;
    const store = await (helper.getNode('s1') as any).manager.acquire();
    await store.registerPut({
      key,
      kind: 'sale',
      storeId: sale.storeId,
      terminalId: sale.terminalId,
      businessDate: sale.businessDate,
      sequence: sale.sequence,
      amount: 6997,
      currency: 'GBP',
      document: sale,
    });

    const out = collect(helper.getNode('out'), 2);
    n1.receive(saleMsg(sale));
    await until(() => seen.some((s) => s.text === 'sent 1'));
    n1.receive(saleMsg(sale));
    const [first, second] = await out;
    expect(first.erp).toMatchObject({
      system: 'business-central',
      document: 'salesOrder',
      number: 'S-ORD101001',
      created: true,
      recorded: true,
      externalDocumentNumber: 'SALE:LDN-042:T03:042-03-000512',
      totals: { matches: true, expected: '69.97', actual: '69.97' },
    });
    expect(first.erp.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.erp).toMatchObject({ number: 'S-ORD101001', created: false });
    expect(first.payload).toEqual(sale);
    expect((await store.registerGet(key)).externalRefs).toEqual({ 'business-central': 'S-ORD101001' });
    await until(() => seen.some((s) => s.text === 'sent 2' && s.fill === 'green' && s.shape === 'dot'));
    expect(Object.keys(sim.state().orders)).toEqual(['SALE:LDN-042:T03:042-03-000512']);
  });

  it('an unknown SKU goes to Catch as a permanent error naming it; nothing is created; the badge turns red', async () => {
    sim = await startSimulator();
    await helper.load(nodes, flow(), credentials());
    const n1 = helper.getNode('n1');
    const seen = statuses(n1);
    const sale = fixture('sale.json');
    sale.lines[0].sku = 'GHOST-1';
    const caught = collect(helper.getNode('caught'), 1);
    n1.receive(saleMsg(sale));
    const [msg] = await caught;
    expect(msg.error.message).toMatch(/^business-central create sales order: unknown SKU 'GHOST-1': no such item in Business Central; nothing was created/);
    expect(msg.error.code).toBe('missing-reference');
    expect(msg.error.cause).toEqual({
      system: 'business-central',
      operation: 'create sales order',
      kind: 'missing-reference',
      retryable: false,
      providerCode: 'UnknownSku',
    });
    expect(msg.error.source.id).toBe('n1');
    expect(msg.payload).toEqual(sale);
    expect(sim.state().counts.salesOrders).toBe(0);
    expect(seen[seen.length - 1]).toMatchObject({ fill: 'red', shape: 'ring' });
  });

  it('bad credentials are permanent; BC staying busy through every retry is retryable', async () => {
    sim = await startSimulator({ throttle: { retryAfterSeconds: 0 } });
    await helper.load(nodes, flow(), { bc1: { token: 'wrong' } });
    const caught = collect(helper.getNode('caught'), 1);
    helper.getNode('n1').receive(saleMsg(fixture('sale.json')));
    const [denied] = await caught;
    expect(denied.error.code).toBe('auth');
    expect(denied.error.cause).toMatchObject({ system: 'business-central', kind: 'auth', status: 401, retryable: false });
    await helper.unload();

    sim.setFaults({ errorRate: 1, errorStatuses: [503] });
    await helper.load(nodes, flow({ maxAttempts: 2 }), credentials());
    const n1 = helper.getNode('n1');
    const seen = statuses(n1);
    const busy = collect(helper.getNode('caught'), 1);
    n1.receive(saleMsg(fixture('sale.json')));
    const [msg] = await busy;
    expect(msg.error.cause).toMatchObject({ system: 'business-central', kind: 'unavailable', status: 503, retryable: true, attempts: 2 });
    expect(msg.error.cause.providerMessage).toMatch(/The service is temporarily unavailable/);
    expect(seen.some((s) => s.fill === 'yellow' && s.text === 'retrying: HTTP 503')).toBe(true);
    expect(sim.state().counts.salesOrders).toBe(0);
  });

  it('throttled by BC (429): the badge shows "throttled: <operation>", then the order lands', async () => {
    sim = await startSimulator({ throttle: { maxRequests: 2, windowMs: 300 } });
    await helper.load(nodes, flow({ maxAttempts: 50, cooloffMs: 40 }), credentials());
    const n1 = helper.getNode('n1');
    const seen = statuses(n1);
    const out = collect(helper.getNode('out'), 1);
    n1.receive(saleMsg(fixture('sale.json')));
    const [msg] = await out;
    expect(msg.erp.created).toBe(true);
    expect(seen.some((s) => s.fill === 'yellow' && s.shape === 'ring' && /^throttled: /.test(s.text))).toBe(true);
    await until(() => seen[seen.length - 1]?.text === 'sent 1');
    expect(sim.state().requests.throttled).toBeGreaterThan(0);
  });

  it('signs in with OAuth2 client credentials from the token endpoint', async () => {
    sim = await startSimulator();
    await helper.load(nodes, flow({ authMode: 'client-credentials', tokenUrl: `${sim.url}/{tenant}/oauth2/v2.0/token`, clientId: 'tillwire-demo-client' }), {
      bc1: { clientSecret: 'tillwire-demo-secret' },
    });
    const out = collect(helper.getNode('out'), 1);
    helper.getNode('n1').receive(saleMsg(fixture('sale-kwd.json')));
    const [msg] = await out;
    expect(msg.erp).toMatchObject({ created: true, customerNumber: '20000', totals: { matches: true, currency: 'KWD', expected: '11.250' } });
  });

  it('an unusable connection (no token) shows on the badge and sends every message to Catch', async () => {
    sim = await startSimulator();
    await helper.load(nodes, flow(), {});
    const n1 = helper.getNode('n1');
    const caught = collect(helper.getNode('caught'), 1);
    n1.receive(saleMsg(fixture('sale.json')));
    const [msg] = await caught;
    expect(msg.error.message).toMatch(/the Business Central connection is not usable: authentication is "bearer token" but no token is set$/);
    expect(msg.error.cause).toEqual({ system: 'business-central', operation: 'create sales order', kind: 'value', retryable: false });
  });

  it('a config node of another type in its place counts as none: no Business Central call is made', async () => {
    sim = await startSimulator();
    // The store's id where the Business Central connection belongs (a hand-edited or imported flow).
    await helper.load(nodes, flow({}, { bc: 's1' }), credentials());
    const before = sim.state().requests.total;
    const caught = collect(helper.getNode('caught'), 1);
    helper.getNode('n1').receive(saleMsg(fixture('sale.json')));
    const [msg] = await caught;
    expect(msg.error.message).toMatch(/no Business Central connection configured: choose one in the node$/);
    expect(msg.error.cause).toMatchObject({ system: 'business-central', kind: 'value', retryable: false });
    expect(sim.state().requests.total).toBe(before);
  });

  it('closing the config node closes its client', async () => {
    sim = await startSimulator();
    await helper.load(nodes, flow(), credentials());
    const cfg: any = helper.getNode('bc1');
    const client = cfg.connection.client;
    expect(client.isClosed).toBe(false);
    await cfg.close(false);
    expect(client.isClosed).toBe(true);
    expect(cfg.connection).toBeUndefined();
  });
});

describe('tillwire-business-central: read item inventory', () => {
  it('emits one canonical inventory.position per SKU found, then reports unknown SKUs to Catch', async () => {
    sim = await startSimulator();
    await helper.load(nodes, flow({}, { operation: 'inventory', store: '', locationId: 'WH-MAIN' }), credentials());
    const out = collect(helper.getNode('out'), 2);
    const caught = collect(helper.getNode('caught'), 1);
    helper.getNode('n1').receive({ payload: ['SKU-0001', 'TEE-BLK-M', 'NOPE-9'], tillwire: { correlationId: 'corr-1' } });
    const positions = await out;
    expect(positions.map((m) => [m.topic, m.payload.sku, m.payload.onHand, m.payload.locationId])).toEqual([
      ['inventory.adjusted', 'SKU-0001', 20, 'WH-MAIN'],
      ['inventory.adjusted', 'TEE-BLK-M', 148, 'WH-MAIN'],
    ]);
    for (const m of positions) {
      expect(validateDocument('inventory-position', m.payload)).toEqual({ valid: true, errors: [] });
      expect(m.tillwire).toMatchObject({ schemaVersion: 1, correlationId: 'corr-1', source: { system: 'business-central' } });
      expect(m.tillwire.idempotencyKey).toBe(`inventory.position:${m.payload.sku}:WH-MAIN:${m.payload.asOf}`);
      expect(m.erp).toMatchObject({ system: 'business-central', number: m.payload.sku });
    }
    const [err] = await caught;
    expect(err.error.message).toMatch(/unknown SKU 'NOPE-9': no such item in Business Central$/);
    expect(err.error.cause).toEqual({
      system: 'business-central',
      operation: 'read inventory',
      kind: 'missing-reference',
      retryable: false,
      providerCode: 'UnknownSku',
    });
  });
});

describe('tillwire-business-central: read every item (the same SKU rule as the Odoo node)', () => {
  it('"*" and an inject timestamp each read every Inventory item; a payload that names no SKU goes to Catch saying what was sent', async () => {
    sim = await startSimulator();
    const items = sim.rows('items').filter((r) => r.type === 'Inventory');
    const expected = items.map((r) => [r.number, r.inventory]).sort();
    expect(expected.length).toBeGreaterThan(FIXTURE_ITEMS.length); // the demo catalogue and the fixture items
    await helper.load(nodes, flow({}, { operation: 'inventory', store: '', locationId: 'WH-MAIN' }), credentials());
    const out = collect(helper.getNode('out'), 2 * items.length);
    const caught = collect(helper.getNode('caught'), 2);
    const n1 = helper.getNode('n1');
    n1.receive({ payload: '*' });
    n1.receive({ payload: 1764806400000 }); // what an inject node sends by default
    n1.receive({ payload: true });
    n1.receive({ payload: ['SKU-0001', 7] });
    const positions = await out;
    const firstRead = positions
      .slice(0, items.length)
      .map((m) => [m.payload.sku, m.payload.onHand])
      .sort();
    const secondRead = positions
      .slice(items.length)
      .map((m) => [m.payload.sku, m.payload.onHand])
      .sort();
    expect(firstRead).toEqual(expected);
    expect(secondRead).toEqual(expected);
    expect(positions.every((m) => m.topic === 'inventory.adjusted' && m.payload.locationId === 'WH-MAIN')).toBe(true);
    const errors = (await caught).map((m) => m.error);
    expect(errors[0].message).toMatch(/^business-central read inventory: msg\.payload must be "\*" .*; got boolean true$/);
    expect(errors[1].message).toMatch(/the list holds number 7, which is not a SKU$/);
    for (const e of errors) expect(e.cause).toMatchObject({ system: 'business-central', operation: 'read inventory', retryable: false });
  });
});

describe('example flow', () => {
  it('the proposed example flow (inject → canonical → dedupe → BC) deploys against the simulator and creates the order once', async () => {
    sim = await startSimulator();
    const example = JSON.parse(fs.readFileSync(path.join(__dirname, '../../examples/Business Central - sales to orders.json'), 'utf8'));
    const byType = (t: string) => example.filter((n: any) => n.type === t);
    Object.assign(byType('tillwire-bc-config')[0], { baseUrl: sim.baseUrl, tenant: sim.tenant, environment: sim.environment, companyId: sim.companyId });
    Object.assign(byType('tillwire-store')[0], { backend: 'memory' });
    const order = example.find((n: any) => n.id === 'ex-bc-order');
    order.wires = [[...order.wires[0], 'probe']];
    const inventory = example.find((n: any) => n.id === 'ex-bc-inventory');
    inventory.wires = [[...inventory.wires[0], 'probe-inv']];
    // The test helper has no inject or debug nodes: stand-ins keep their ids and wires, and the
    // inject's own payload is sent where the inject is wired.
    const injects = Object.fromEntries(byType('inject').map((n: any) => [n.id, n]));
    // Imported examples land on the current tab: put them on one.
    const configTypes = ['tillwire-bc-config', 'tillwire-store'];
    const flowNodes = [
      { id: 'ex-tab', type: 'tab', label: 'example' },
      ...example
        .filter((n: any) => n.type !== 'comment')
        .map((n: any) => (n.type === 'inject' || n.type === 'debug' ? { id: n.id, type: 'helper', wires: n.wires ?? [] } : n))
        .map((n: any) => (configTypes.includes(n.type) ? n : { ...n, z: 'ex-tab' })),
    ];
    const fire = (id: string) => {
      const inj = injects[id];
      helper.getNode(inj.wires[0][0]).receive({ payload: JSON.parse(inj.payload), topic: inj.topic || undefined });
    };
    const all = [...nodes, canonicalNode, dedupeNode, deadLetterNode];
    await helper.load(all, [...flowNodes, { id: 'probe', type: 'helper', z: 'ex-tab' }, { id: 'probe-inv', type: 'helper', z: 'ex-tab' }], {
      'ex-bc-connection': { token: sim.token },
    });
    const got = collect(helper.getNode('probe'), 1);
    fire('ex-bc-inj-sale');
    const [msg] = await got;
    expect(msg.erp).toMatchObject({ created: true, externalDocumentNumber: 'SALE:LDN-042:T03:042-03-000777', totals: { matches: true, expected: '49.97' } });
    const dedupe = helper.getNode('ex-bc-dedupe');
    const dropped = new Promise<void>((resolve) => dedupe.on('call:status', (c: any) => c.args[0]?.text === 'passed 1, duplicates 1' && resolve()));
    fire('ex-bc-inj-sale'); // the same sale again: dedupe drops it
    await dropped;
    const stock = collect(helper.getNode('probe-inv'), 2);
    fire('ex-bc-inj-skus');
    expect((await stock).map((m) => m.payload.sku)).toEqual(['SKU-0001', 'SKU-0002']);
    expect(sim.state().counts.salesOrders).toBe(1);
  });
});

describe('tillwire-business-central: order lifecycle, returns and the dead-letter store', () => {
  /** The flow a user wires: BC node, Catch → dead letter, replay → BC node. */
  function dlFlow() {
    return [
      ...flow().map((n: any) => (n.id === 'c1' ? { ...n, wires: [['caught', 'dl']] } : n)),
      { id: 'dl', type: 'tillwire-dead-letter', z: 'f1', store: 's1', wires: [['stored']] },
      { id: 'stored', type: 'helper', z: 'f1' },
      { id: 'rp', type: 'tillwire-replay', z: 'f1', store: 's1', wires: [['n1']] },
    ];
  }
  const orderMsg = (doc: any) => ({
    topic: `order.${doc.status}`,
    payload: doc,
    tillwire: { schemaVersion: 1, eventId: `e-${doc.status}`, idempotencyKey: businessKey(doc), source: { system: 'shopify' }, attempts: 0 },
  });

  it('an order with an unknown SKU creates nothing, lands in the dead-letter store naming the SKU, and after the item is added a replay creates exactly one order', async () => {
    sim = await startSimulator();
    await helper.load([...nodes, deadLetterNode, replayNode], dlFlow(), credentials());
    const n1 = helper.getNode('n1');
    const order = fixture('order.json');
    order.lines[1].sku = 'MUG-BLU-12OZ';
    const stored = collect(helper.getNode('stored'), 1);
    n1.receive(orderMsg(order));
    const [dead] = await stored;
    const store = await (helper.getNode('s1') as any).manager.acquire();
    const entry = await store.getDeadLetter(dead.deadLetter.id);
    expect(entry).toMatchObject({
      status: 'pending',
      attempts: 1,
      nodeId: 'n1',
      message: { payload: order, tillwire: { idempotencyKey: businessKey(order) } },
    });
    expect(entry.error.message).toMatch(/unknown SKU 'MUG-BLU-12OZ': no such item in Business Central; nothing was created/);
    expect(entry.error).toMatchObject({ code: 'missing-reference', cause: { kind: 'missing-reference', retryable: false } });
    expect(sim.state().counts).toMatchObject({ salesOrders: 0, salesOrderLines: 0 });

    sim.upsertItems([{ number: 'MUG-BLU-12OZ', displayName: 'Blue mug', unitPrice: 18, taxPercent: 8.875 }]);
    const out = collect(helper.getNode('out'), 1);
    helper.getNode('rp').receive({ payload: entry.id });
    const [done] = await out;
    expect(done.erp).toMatchObject({ created: true, action: 'create', channelStatus: 'paid', document: 'salesOrder' });
    expect((await store.getDeadLetter(entry.id)).status).toBe('replayed');
    // a second replay finds nothing pending; the order is there exactly once
    helper.getNode('rp').receive({ payload: entry.id });
    await until(() => (helper.getNode('rp') as any).status.lastCall?.args[0]?.text?.startsWith('replayed 0'));
    expect(sim.state().orders[externalDocumentNumber(businessKey(order)!)]).toHaveLength(1);
    expect(sim.state().counts.salesOrders).toBe(1);
  });

  it('cancel before create: the tombstone lives in the node’s store, so the stale create that follows (×3) creates nothing', async () => {
    sim = await startSimulator();
    await helper.load(nodes, flow(), credentials());
    const n1 = helper.getNode('n1');
    const order = fixture('order.json');
    const out = collect(helper.getNode('out'), 4);
    n1.receive(orderMsg({ ...order, status: 'cancelled' }));
    for (let i = 0; i < 3; i++) n1.receive(orderMsg({ ...order, status: 'accepted' }));
    const [cancel, ...stale] = await out;
    expect(cancel.erp).toMatchObject({ cancelled: true, skipped: 'cancelled', tombstone: true, action: 'create-cancelled' });
    expect(cancel.erp.recorded).toBeUndefined();
    for (const m of stale) expect(m.erp).toMatchObject({ stale: true, action: 'already-cancelled', created: false });
    const store = await (helper.getNode('s1') as any).manager.acquire();
    expect(await store.kvGet(`bc:cancelled:${externalDocumentNumber(businessKey(order)!)}`)).toMatchObject({ key: businessKey(order) });
    expect(sim.state().counts.salesOrders).toBe(0);
  });

  it('without a store, a cancel still deletes the open order, and the node warns that out-of-order cancels need a store', async () => {
    sim = await startSimulator();
    await helper.load(nodes, flow({}, { store: '' }), credentials());
    const n1 = helper.getNode('n1');
    const warnings: string[] = [];
    n1.on('call:warn', (call: any) => warnings.push(String(call.args[0])));
    const order = fixture('order.json');
    const out = collect(helper.getNode('out'), 2);
    n1.receive(orderMsg(order));
    await until(() => sim.state().counts.salesOrders === 1);
    n1.receive(orderMsg({ ...order, status: 'cancelled' }));
    const [, cancelled] = await out;
    expect(cancelled.erp).toMatchObject({ cancelled: true, action: 'cancel', tombstone: false });
    expect(sim.state().counts.salesOrders).toBe(0);
    expect(warnings.some((w) => /no Tillwire store is configured on this node, so no tombstone was kept/.test(w))).toBe(true);
  });

  it('a return arriving before its order goes to the dead-letter store; once the order is in BC, the replay makes one credit memo, and redeliveries (×3) add none', async () => {
    sim = await startSimulator();
    await helper.load([...nodes, deadLetterNode, replayNode], dlFlow(), credentials());
    const n1 = helper.getNode('n1');
    const ret = fixture('return.json');
    const retMsg = () => ({
      topic: 'return.refunded',
      payload: ret,
      tillwire: { schemaVersion: 1, eventId: 'r1', idempotencyKey: businessKey(ret), source: { system: 'shopify' }, attempts: 0 },
    });
    const stored = collect(helper.getNode('stored'), 1);
    n1.receive(retMsg());
    const [dead] = await stored;
    expect(dead.error.message).toMatch(/the original order ord_01JPB8Q3W6X1S4T9Z2R5C7V0MK .* is not in Business Central: nothing was created/);

    const first = collect(helper.getNode('out'), 1);
    n1.receive(orderMsg(fixture('order.json')));
    await first;
    const credited = collect(helper.getNode('out'), 4);
    helper.getNode('rp').receive({ payload: dead.deadLetter.id });
    await until(() => sim.state().counts.salesCreditMemos === 1);
    for (let i = 0; i < 3; i++) n1.receive(retMsg());
    const msgs = await credited;
    expect(msgs.map((m) => m.erp.created)).toEqual([true, false, false, false]);
    expect(msgs[0].erp).toMatchObject({ document: 'salesCreditMemo', action: 'credit', customerNumber: '20000', original: { document: 'salesOrder' } });
    expect(sim.state().counts.salesCreditMemos).toBe(1);
  });
});

describe('tillwire-business-central: business dates in the company time zone', () => {
  const late = (doc: any, createdAt: string) => ({ ...doc, createdAt, ...(doc.updatedAt ? { updatedAt: createdAt } : {}) });
  const send = (n1: any, doc: any, topic: string) =>
    n1.receive({
      topic,
      payload: doc,
      tillwire: { schemaVersion: 1, eventId: topic, idempotencyKey: businessKey(doc), source: { system: 'shopify' }, attempts: 0 },
    });

  it.each([
    ['America/New_York', '2025-01-14', '2025-01-20'],
    ['', '2025-01-15', '2025-01-21'], // empty = UTC
    ['Asia/Tokyo', '2025-01-15', '2025-01-21'],
  ])('time zone %j: an order placed at 23:30 New York time and its return at 22:15 are dated %s and %s in BC', async (timeZone, orderDay, creditDay) => {
    sim = await startSimulator();
    await helper.load(nodes, flow({ timeZone }), credentials());
    const n1 = helper.getNode('n1');
    const out = collect(helper.getNode('out'), 2);
    send(n1, late(fixture('order.json'), '2025-01-14T23:30:00-05:00'), 'order.paid');
    await until(() => sim.state().counts.salesOrders === 1);
    send(n1, late(fixture('return.json'), '2025-01-20T22:15:00-05:00'), 'return.refunded');
    const [order, credit] = await out;
    expect(order.erp).toMatchObject({ created: true, document: 'salesOrder' });
    expect(credit.erp).toMatchObject({ created: true, document: 'salesCreditMemo' });
    expect(sim.rows('salesOrders').map((r) => r.orderDate)).toEqual([orderDay]);
    expect(sim.rows('salesCreditMemos').map((r) => r.creditMemoDate)).toEqual([creditDay]);
  });

  it('an unknown time zone makes the connection unusable, saying which zone, and sends nothing to BC', async () => {
    sim = await startSimulator();
    await helper.load(nodes, flow({ timeZone: 'Europe/Londres' }), credentials());
    const caught = collect(helper.getNode('caught'), 1);
    send(helper.getNode('n1'), fixture('order.json'), 'order.paid');
    const [err] = await caught;
    expect(err.error.message).toMatch(/not usable: unknown time zone 'Europe\/Londres'/);
    expect(sim.state().requests.total).toBe(0);
  });
});

describe('tillwire-business-central: read posted shipments', () => {
  it('emits one validated canonical shipment per new posted shipment of a channel order, using the key the order operation recorded; a second read emits nothing', async () => {
    sim = await startSimulator();
    await helper.load(
      nodes,
      [
        ...flow(),
        { id: 'n2', type: 'tillwire-business-central', z: 'f1', bc: 'bc1', operation: 'shipments', store: 's1', wires: [['ships']] },
        { id: 'ships', type: 'helper', z: 'f1' },
      ],
      credentials(),
    );
    const order = fixture('order.json');
    const created = collect(helper.getNode('out'), 1);
    helper.getNode('n1').receive({
      topic: 'order.paid',
      payload: order,
      tillwire: { schemaVersion: 1, eventId: 'o1', idempotencyKey: businessKey(order), source: { system: 'shopify' }, attempts: 0 },
    });
    const [o] = await created;
    const store = await (helper.getNode('s1') as any).manager.acquire();
    expect(await store.kvGet(`bc:key:${o.erp.externalDocumentNumber}`)).toBe(businessKey(order));
    sim.postShipment({ number: o.erp.number });
    expect((await api(sim, 'POST', `salesOrders(${o.erp.id})/Microsoft.NAV.shipAndInvoice`)).status).toBe(204);
    // the order is invoiced and gone from salesOrders (no comment lines to read): the recorded key maps the shipment back
    const ships = collect(helper.getNode('ships'), 1);
    helper.getNode('n2').receive({ payload: 'tick', tillwire: { correlationId: 'tick-1' } });
    const [m] = await ships;
    expect(m.topic).toBe('shipment.created');
    expect(m.payload).toMatchObject({
      kind: 'shipment',
      shipmentId: 'S-SHPT102001',
      order: { id: businessKey(order), channel: order.channel },
      lines: [
        { sku: 'TEE-BLK-M', quantity: 2 },
        { sku: 'MUG-WHT-12OZ', quantity: 1 },
      ],
    });
    expect(validateDocument('shipment', m.payload)).toEqual({ valid: true, errors: [] });
    expect(m.tillwire).toMatchObject({
      idempotencyKey: 'shipment:business-central:S-SHPT102001',
      correlationId: 'tick-1',
      source: { system: 'business-central' },
    });
    expect(m.erp).toMatchObject({ system: 'business-central', document: 'salesShipment', number: 'S-SHPT102001', orderNumber: o.erp.number });
    const n2 = helper.getNode('n2');
    const seen = statuses(n2);
    n2.receive({ payload: 'tick' });
    // The badge counts shipments sent on: the second read found nothing new.
    await until(() => seen.some((st) => st.fill === 'green'));
    expect(seen.find((st) => st.fill === 'green')).toEqual({ fill: 'green', shape: 'dot', text: 'sent 1' });
    expect(await store.kvGet(`bc:shipments:cursor:${sim.companyId}`)).toMatchObject({ seen: ['S-SHPT102001'] });
  });
});
