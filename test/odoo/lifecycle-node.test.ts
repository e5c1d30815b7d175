/**
 * The Odoo node in a flow as a user wires it: Catch → dead letter, replay → the Odoo node. An order
 * with an unknown SKU creates nothing, lands in the dead-letter store naming the SKU, and replays
 * into exactly one confirmed order once the product exists; stale events and returns go through.
 */
import storeNode from '../../nodes/core/store-config';
import deadLetterNode from '../../nodes/core/dead-letter';
import replayNode from '../../nodes/core/replay';
import odooConfigNode from '../../nodes/odoo/odoo-config';
import odooNode from '../../nodes/odoo/odoo';
import { OdooSimulator, SEED } from '../../simulators/odoo/simulator';
import type { Order, Return } from '../../nodes/model/types.generated';
import { helper, startServer, stopAll, collect, until } from '../support/node-red';
import { fixture, startSimulator, TAX_MAP } from './support';

const nodes = [storeNode, deadLetterNode, replayNode, odooConfigNode, odooNode];
const KEY = 'order:rakuten:tillwire-tea:384726-20250315-0012345678';

let sim: OdooSimulator;
beforeAll(async () => {
  sim = await startSimulator({ version: 19 });
});
afterAll(() => sim.stop());
beforeEach(async () => {
  sim.reset();
  await startServer();
});
afterEach(stopAll);

function flow() {
  return [
    { id: 'f1', type: 'tab', label: 'orders to odoo' },
    { id: 's1', type: 'tillwire-store', backend: 'memory' },
    {
      id: 'c1',
      type: 'tillwire-odoo-config',
      url: sim.url,
      database: 'tillwire',
      login: 'admin',
      api: 'jsonrpc',
      version: '19',
      defaultPartnerId: String(SEED.walkInPartnerId),
      taxMap: JSON.stringify(TAX_MAP),
      maxConcurrent: '4',
      ratePerSecond: '0',
      timeout: '2',
      attempts: '4',
      retryDelay: '1',
      maxRetryWait: '0.01',
    },
    { id: 'o1', type: 'tillwire-odoo', z: 'f1', name: 'to Odoo', odoo: 'c1', operation: 'order', store: 's1', wires: [['out']] },
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'k1', type: 'catch', z: 'f1', scope: ['o1'], wires: [['dl']] },
    { id: 'dl', type: 'tillwire-dead-letter', z: 'f1', store: 's1', wires: [['stored']] },
    { id: 'stored', type: 'helper', z: 'f1' },
    { id: 'rp', type: 'tillwire-replay', z: 'f1', store: 's1', wires: [['o1']] },
  ];
}

const credentials = { c1: { apiKey: 'tillwire-demo-key' } };

function order(status: Order['status'], sku?: string): Order {
  const o = { ...fixture<Order>('order-jpy.json'), status };
  if (sku) o.lines = o.lines.map((l, i) => (i === 1 ? { ...l, sku } : l));
  return o;
}

async function storeOf() {
  return (helper.getNode('s1') as any).manager.acquire();
}

function statusTexts(node: any): string[] {
  return node.status.getCalls().map((c: any) => c.args[0]?.text);
}

describe('tillwire-odoo in a flow with dead letter and replay', () => {
  it('an unknown SKU: nothing in Odoo, a dead letter naming the SKU; after the product is added a replay makes exactly one confirmed order, its number in the register', async () => {
    await helper.load(nodes, flow(), credentials);
    const store = await storeOf();
    const doc = order('paid', 'MATCHA-TIN-40G');
    await store.registerPut({
      key: KEY,
      kind: 'order',
      storeId: null,
      terminalId: null,
      businessDate: null,
      sequence: null,
      amount: doc.totals.grandTotal.amount,
      currency: 'JPY',
      document: doc,
    });
    const stored = collect(helper.getNode('stored'), 1);
    helper.getNode('o1').receive({ payload: doc, topic: 'payment.captured', tillwire: { idempotencyKey: KEY, attempts: 0 } });
    const [dead] = await stored;
    const entry = await store.getDeadLetter(dead.deadLetter.id);
    expect(entry).toMatchObject({ status: 'pending', attempts: 1, flowId: 'f1', nodeId: 'o1', topic: 'payment.captured', message: { payload: doc } });
    expect(entry.error.message).toContain('unknown SKU in Odoo (no active product with that Internal Reference): MATCHA-TIN-40G');
    // The dead-letter entry keeps the failure's kind and fields from the Catch node's msg.error.
    expect(entry.error).toMatchObject({
      code: 'missing-reference',
      cause: { system: 'odoo', kind: 'missing-reference', retryable: false, providerCode: 'unknown_sku' },
    });
    expect(sim.counts()['sale.order']).toBe(0);
    expect(sim.counts()['sale.order.line']).toBe(0);

    // The SKU is set up in Odoo; the entry is replayed from the store.
    sim.addProduct({ sku: 'MATCHA-TIN-40G', name: 'Matcha tin 40g', listPrice: 10, stock: 3 });
    const out = collect(helper.getNode('out'), 1);
    helper.getNode('rp').receive({ payload: entry.id });
    const [done] = await out;
    expect(done.erp).toMatchObject({
      system: 'odoo',
      model: 'sale.order',
      name: 'S00001',
      state: 'sale',
      created: true,
      action: 'create',
      channelStatus: 'paid',
      key: KEY,
      amountTotal: { amount: 10410, currency: 'JPY' },
    });
    expect(sim.orders()).toEqual([expect.objectContaining({ client_order_ref: KEY, state: 'sale', lines: 3 })]);
    expect((await store.getDeadLetter(entry.id)).status).toBe('replayed');
    expect((await store.registerGet(KEY)).externalRefs).toEqual({ odoo: 'S00001' });

    // A second replay finds nothing pending; the original create arriving late changes nothing.
    helper.getNode('rp').receive({ payload: 'anything' });
    await until(() => statusTexts(helper.getNode('rp')).some((t) => t?.startsWith('replayed 0')));
    const again = collect(helper.getNode('out'), 1);
    helper.getNode('o1').receive({ payload: order('accepted', 'MATCHA-TIN-40G'), tillwire: { idempotencyKey: KEY } });
    expect((await again)[0].erp).toMatchObject({ name: 'S00001', created: false, action: 'exists' });
    expect(sim.counts()['sale.order']).toBe(1);
  });

  it('cancel before create, then the stale create: one cancelled order, the stale event acknowledged (no Catch), counted on the badge', async () => {
    await helper.load(nodes, flow(), credentials);
    const o1 = helper.getNode('o1');
    const out = collect(helper.getNode('out'), 2);
    o1.receive({ payload: order('cancelled'), tillwire: { idempotencyKey: KEY } });
    o1.receive({ payload: order('accepted'), tillwire: { idempotencyKey: KEY } });
    const [cancel, late] = await out;
    expect(cancel.erp).toMatchObject({ action: 'create-cancelled', state: 'cancel', created: true });
    expect(late.erp).toMatchObject({ action: 'already-cancelled', stale: true, state: 'cancel', name: cancel.erp.name });
    expect(sim.orders().map((o) => o.state)).toEqual(['cancel']);
    await until(() => statusTexts(o1).includes('sent 1, 1 stale'));
    expect(await (await storeOf()).countDeadLetters()).toBe(0);
  });

  it('a return before its order: dead letter naming the original; replayed after the order arrives, one posted credit note', async () => {
    await helper.load(nodes, flow(), credentials);
    const ret: Return = {
      kind: 'return',
      returnId: 'R-1',
      channel: { system: 'rakuten', account: 'tillwire-tea', id: 'R-1' },
      originalOrder: { id: 'ord_x', channel: { system: 'rakuten', account: 'tillwire-tea', id: '384726-20250315-0012345678' } },
      status: 'refunded',
      createdAt: '2025-03-20T10:00:00+09:00',
      currency: 'JPY',
      lines: [{ sku: 'SENCHA-100G', quantity: 1, reason: 'damaged', restock: false, refundAmount: { amount: 1620, currency: 'JPY' } }],
      totals: { refundTotal: { amount: 1620, currency: 'JPY' } },
    };
    const stored = collect(helper.getNode('stored'), 1);
    helper.getNode('o1').receive({ payload: ret, topic: 'refund.issued' });
    const [dead] = await stored;
    const store = await storeOf();
    const entry = await store.getDeadLetter(dead.deadLetter.id);
    expect(entry.error.message).toContain(`original order ${KEY} is not in Odoo yet`);
    expect(sim.counts()['account.move']).toBe(0);

    const placed = collect(helper.getNode('out'), 1);
    helper.getNode('o1').receive({ payload: order('paid'), tillwire: { idempotencyKey: KEY } });
    await placed;
    const replayed = collect(helper.getNode('out'), 1);
    helper.getNode('rp').receive({ payload: entry.id });
    const [credit] = await replayed;
    expect(credit.erp).toMatchObject({
      model: 'account.move',
      moveType: 'out_refund',
      state: 'posted',
      name: 'RINV/2025/00001',
      created: true,
      key: 'return:rakuten:R-1',
      originalOrder: { name: 'S00001', key: KEY },
      amountTotal: { amount: 1620, currency: 'JPY' },
    });
    const again = collect(helper.getNode('out'), 1);
    helper.getNode('o1').receive({ payload: ret });
    expect((await again)[0].erp).toMatchObject({ name: 'RINV/2025/00001', created: false });
    expect(sim.counts()['account.move']).toBe(1);
  });

  it('shipments: one canonical shipment per done delivery, the cursor kept in the store; a second read sends nothing new', async () => {
    const f = flow();
    f.push({ id: 'sh', type: 'tillwire-odoo', z: 'f1', odoo: 'c1', operation: 'shipments', store: 's1', wires: [['ships']] } as any);
    f.push({ id: 'ships', type: 'helper', z: 'f1' } as any);
    await helper.load(nodes, f, credentials);
    const placed = collect(helper.getNode('out'), 1);
    helper.getNode('o1').receive({ payload: order('paid'), tillwire: { idempotencyKey: KEY } });
    await placed;
    sim.ship({ order: KEY, carrier: 'DHL Express', trackingRef: 'JD014600006281234567', doneAt: '2025-03-16 08:00:00' });
    const all: any[] = [];
    helper.getNode('ships').on('input', (m: any) => all.push(m));
    const got = collect(helper.getNode('ships'), 1);
    helper.getNode('sh').receive({ payload: Date.now() });
    const [msg] = await got;
    expect(msg.topic).toBe('shipment.created');
    expect(msg.payload).toMatchObject({
      kind: 'shipment',
      shipmentId: 'WH/OUT/00001',
      order: { id: KEY },
      carrier: 'DHL Express',
      trackingNumber: 'JD014600006281234567',
    });
    expect(msg.tillwire).toMatchObject({ idempotencyKey: 'shipment:odoo:WH/OUT/00001' });
    expect(msg.erp).toEqual({ system: 'odoo', model: 'stock.picking', id: 1, name: 'WH/OUT/00001' });
    const store = await storeOf();
    expect(await store.kvGet('odoo-shipments:sh:cursor')).toEqual({ doneAt: '2025-03-16 08:00:00', id: 1 });
    const sh = helper.getNode('sh');
    helper.getNode('sh').receive({ payload: Date.now() });
    await until(() => statusTexts(sh).filter((t) => t === 'sent 1').length >= 2);
    expect(all).toHaveLength(1);
  });

  it('a done transfer that cannot be sent is dead-lettered on its own, naming it; fixed in Odoo, its replay sends it', async () => {
    const f = flow();
    f.push({ id: 'sh', type: 'tillwire-odoo', z: 'f1', odoo: 'c1', operation: 'shipments', store: 's1', wires: [['ships']] } as any);
    f.push({ id: 'ships', type: 'helper', z: 'f1' } as any);
    (f.find((n) => n.id === 'k1') as any).scope = ['o1', 'sh'];
    (f.find((n) => n.id === 'rp') as any).wires = [['sh']];
    await helper.load(nodes, f, credentials);
    const placed = collect(helper.getNode('out'), 1);
    helper.getNode('o1').receive({ payload: order('paid'), tillwire: { idempotencyKey: KEY } });
    const [o] = await placed;
    // Someone clears the order's Customer Reference in Odoo: the delivery no longer names its order.
    sim.call('sale.order', 'write', { ids: [o.erp.id], vals: { client_order_ref: false } });
    sim.ship({ order: o.erp.name, carrier: 'DHL Express', trackingRef: 'JD0146' });
    const shipped: any[] = [];
    helper.getNode('ships').on('input', (m: any) => shipped.push(m));
    const parked = collect(helper.getNode('stored'), 1);
    helper.getNode('sh').receive({ payload: 'read' });
    const [dead] = await parked;
    expect(dead.error.message).toMatch(/WH\/OUT\/00001 not sent as a shipment: .*Customer Reference/);
    expect(dead.error.cause).toMatchObject({ operation: 'stock.picking', kind: 'value', retryable: false, providerCode: 'mapping' });
    expect(dead.payload).toEqual({ pickings: ['WH/OUT/00001'] });
    expect(shipped).toHaveLength(0);
    // Fixed in Odoo, then replayed from the dead-letter store: the transfer is read again and sent.
    sim.call('sale.order', 'write', { ids: [o.erp.id], vals: { client_order_ref: KEY } });
    const store = await storeOf();
    const [entry] = await store.listDeadLetters({});
    const sent = collect(helper.getNode('ships'), 1);
    helper.getNode('rp').receive({ payload: entry.id });
    const [msg] = await sent;
    expect(msg.payload).toMatchObject({ kind: 'shipment', shipmentId: 'WH/OUT/00001', order: { id: KEY }, trackingNumber: 'JD0146' });
  });

  it('shipments without a store: a permanent error saying so', async () => {
    const f = flow();
    f.push({ id: 'sh', type: 'tillwire-odoo', z: 'f1', odoo: 'c1', operation: 'shipments', wires: [[]] } as any);
    (f.find((n) => n.id === 'k1') as any).scope = ['o1', 'sh'];
    await helper.load(nodes, f, credentials);
    const caught = collect(helper.getNode('stored'), 1);
    helper.getNode('sh').receive({ payload: 1 });
    const [err] = await caught;
    expect(err.error.message).toMatch(/select a Tillwire store in the node: the shipments cursor is kept there/);
    expect(err.error.cause).toMatchObject({ operation: 'stock.picking', kind: 'value', retryable: false });
  });
});
