/**
 * Summarised posting end to end on real parts: tills publish through the real Mosquitto, a real
 * Node-RED process runs the "Store sales (MQTT) → Odoo" template with the Odoo node set to
 * `posting: "summary"`, `summarySeconds: 5`, and the Odoo simulator is the ERP. Several stores and
 * tills, returns and discounts; a duplicate publish and a sale sent straight into the Odoo node a
 * second time (a replay past the dedupe) count once; a late sale lands in the next summary; a
 * SIGKILL between assignment and posting loses nothing and posts every summary once; a store whose
 * interval has sales in two currencies gets one summary order per currency.
 */
import path from 'node:path';
import mqtt, { MqttClient } from 'mqtt';
import { buildSale } from '../../simulators/pos-mqtt/device-sales';
import { catalogItem } from '../../simulators/kit/catalog';
import { tillTopic } from '../../nodes/pos-mqtt/topic';
import { createStore } from '../../nodes/runtime/create-store';
import type { Store } from '../../nodes/runtime/store';
import type { Sale } from '../../nodes/model/types.generated';
import { bcTemplateFlows, e2eFlows, getJson, startRed, startServices, waitFor, E2E } from './harness';
import { BusinessCentralSimulator } from '../../simulators/business-central/simulator';
import { externalDocumentNumber } from '../../nodes/business-central/map';
import { startMosquitto } from '../support/mosquitto';
import { startNodeRed, deployCredentialsAndWait, type RunningNodeRed } from '../support/node-red-process';

jest.setTimeout(5 * 60_000);

const BRAND = 'sum';
const DATE = new Date().toISOString().slice(0, 10);
const ODOO_NODE = 'ex-so-odoo';

let seq = 0;
type LineSpec = { item: number | { sku: string; name: string; unitPrice: number; taxRate: string }; quantity: number; perUnit?: number };
function sale(storeId: string, terminalId: string, lines: LineSpec[], occurredAt = new Date().toISOString(), currency = 'GBP'): Sale {
  seq++;
  return buildSale({
    saleId: `S${seq}`,
    storeId,
    terminalId,
    sequence: seq,
    occurredAt,
    businessDate: DATE,
    currency,
    lines: lines.map((l) => ({
      item: typeof l.item === 'number' ? catalogItem(l.item) : l.item,
      quantity: l.quantity,
      ...(l.perUnit ? { discount: { kind: 'promotion' as const, perUnit: l.perUnit } } : {}),
    })),
    tenders: (total) => [{ type: total >= 0 ? 'card' : 'cash', amount: { amount: total, currency } }],
  });
}
const keyOf = (s: Sale) => `sale:${s.storeId}:${s.terminalId}:${s.saleId}`;

/** The flows: the template, the Odoo node in summary mode, its posted summaries kept, and a way into the Odoo node that skips the dedupe. */
function flows(summarySeconds = 5): any[] {
  const f = e2eFlows();
  const odoo = f.find((n) => n.id === ODOO_NODE);
  odoo.posting = 'summary';
  odoo.summarySeconds = summarySeconds;
  odoo.wires = [[...odoo.wires[0], 'sum-keep']];
  f.push(
    {
      id: 'sum-keep',
      type: 'function',
      z: 'e2e-tab',
      name: 'keep summaries',
      func: "if (msg.topic === 'summary.posted') { const p = global.get('posted') || []; p.push({ summary: msg.summary, erp: msg.erp }); global.set('posted', p); } return null;",
      outputs: 1,
      wires: [[]],
    },
    { id: 'sum-in', type: 'http in', z: 'e2e-tab', name: '', url: '/e2e-odoo', method: 'post', upload: false, wires: [['sum-msg', 'sum-ok']] },
    {
      id: 'sum-msg',
      type: 'function',
      z: 'e2e-tab',
      name: 'as a sale message',
      func: "return { payload: msg.payload, tillwire: { idempotencyKey: 'sale:' + msg.payload.storeId + ':' + msg.payload.terminalId + ':' + msg.payload.saleId } };",
      outputs: 1,
      wires: [[ODOO_NODE]],
    },
    { id: 'sum-ok', type: 'http response', z: 'e2e-tab', name: '', statusCode: '204', headers: {}, wires: [] },
  );
  return f;
}

/** Summary orders in Odoo: by client_order_ref, with their total in minor units and lines. */
function summaryOrders(e: E2E) {
  return e.odoo
    .orders()
    .filter((o) => String(o.client_order_ref).startsWith('summary:'))
    .map((o) => ({ ref: String(o.client_order_ref), id: o.id, state: o.state, currency: o.currency, total: Math.round(Number(o.amount_total) * 100) }));
}

function odooLines(e: E2E, orderId: number) {
  return e.odoo
    .records('sale.order.line', [['order_id', '=', orderId]], ['product_id', 'product_uom_qty', 'price_unit'])
    .map((l: any) => ({ product: Array.isArray(l.product_id) ? l.product_id[1] : l.product_id, qty: l.product_uom_qty, price: l.price_unit }));
}

describe('summarised posting: store sales over MQTT into Odoo, one summary order per store and interval', () => {
  let e: E2E;
  let till: MqttClient;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
    await till?.endAsync();
    await e?.red?.stop();
    await e?.odoo.stop();
    await e?.broker.stop();
    // The Business Central case starts its own parts: nothing of an earlier case is stopped twice.
    e = undefined as unknown as E2E;
    till = undefined as unknown as MqttClient;
  });

  const publish = async (s: Sale, payload = JSON.stringify(s)) => {
    await till.publishAsync(tillTopic(BRAND, s.storeId, s.terminalId, s.lines.every((l) => l.quantity < 0) ? 'returns' : 'sales'), payload, { qos: 1 });
  };
  const openStore = async () => {
    store ??= createStore({ backend: 'sqlite', file: path.join(e.userDir!, 'tillwire.db') }, undefined, { heartbeatMs: 0 });
    if (!(store as any).opened) {
      await store.open();
      (store as any).opened = true;
    }
    return store;
  };
  /** Every sale assigned (the book has them) and every summary posted once, its Odoo total its sales' sum. */
  async function assertPostedOnce(sales: Sale[]) {
    const s = await openStore();
    await waitFor(
      async () => {
        const assigned = await Promise.all(sales.map((x) => s.summaries.saleAssignment('odoo', keyOf(x))));
        if (assigned.some((a) => !a)) return false;
        const keys = new Set(assigned.map((a) => a!.summaryKey));
        const recs = await Promise.all([...keys].map((k) => s.summaries.get('odoo', k)));
        return recs.every((r) => r?.state === 'posted');
      },
      60_000,
      async () => `summaries: ${JSON.stringify(await s.summaries.list({ storeId: sales[0].storeId, scope: 'odoo' }))}`,
    );
    const orders = summaryOrders(e);
    expect(orders.length).toBe(new Set(orders.map((o) => o.ref)).size); // one Odoo order per summary key
    expect(orders.every((o) => o.state === 'sale')).toBe(true);
    for (const storeId of new Set(sales.map((x) => x.storeId))) {
      const mine = sales.filter((x) => x.storeId === storeId);
      const recs = await s.summaries.list({ storeId, scope: 'odoo', businessDate: DATE });
      // Each sale counted once: the summaries' sales and totals are exactly the store's sales.
      expect(recs.reduce((n, r) => n + r.sales, 0)).toBe(mine.length);
      expect(recs.reduce((n, r) => n + r.amount, 0)).toBe(mine.reduce((n, x) => n + x.totals.grandTotal.amount, 0));
      for (const r of recs) {
        const order = orders.find((o) => o.ref === r.key);
        expect(order).toBeDefined();
        expect(order!.total).toBe(r.amount);
        expect(r.erpRef).toBe(e.odoo.orders().find((o) => o.id === order!.id)!.name);
        const carried = await s.summaries.sales('odoo', r.key);
        expect(carried.reduce((n, c) => n + c.amount, 0)).toBe(r.amount);
      }
    }
  }

  it('several stores and tills, a duplicate, a replay past the dedupe and a late sale: every sale in exactly one summary, each summary posted once', async () => {
    e = await startServices();
    await startRed(e, flows());
    till = await mqtt.connectAsync(e.broker.url, { clientId: `sum-till-${process.pid}`, protocolVersion: 5 });
    const sales: Sale[] = [];
    for (const storeId of ['LDN-1', 'MAN-2', 'BRS-3'])
      for (const terminalId of ['T1', 'T2']) {
        sales.push(
          sale(storeId, terminalId, [
            { item: 0, quantity: 2 },
            { item: 1, quantity: 1, perUnit: 50 },
          ]),
        );
        sales.push(
          sale(storeId, terminalId, [
            { item: 0, quantity: 1 },
            { item: 3, quantity: 3 },
          ]),
        );
        // An exchange: one item back, another sold.
        sales.push(
          sale(storeId, terminalId, [
            { item: 0, quantity: -1 },
            { item: 4, quantity: 1 },
          ]),
        );
      }
    for (const s of sales) await publish(s);
    await publish(sales[0]); // a till's retry: the same sale again
    await assertPostedOnce(sales);
    // The three stores' summaries of an interval close together and go to Odoo together: fewer
    // create calls than summary orders (one at a time, each summary was a create of its own).
    expect(e.odoo.stats.calls['sale.order.create']).toBeLessThan(summaryOrders(e).length);
    // A replay that skips the dedupe: the same sale straight into the Odoo node is not counted again.
    const before = await (await openStore()).summaries.list({ storeId: 'LDN-1', scope: 'odoo' });
    const res = await fetch(`${e.red!.url}/e2e-odoo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(sales[1]) });
    expect(res.status).toBe(204);
    // A late sale: rung up in the first interval, arriving after its summary was posted.
    const first = before.find((r) => r.seq === 1)!;
    const late = sale('LDN-1', 'T1', [{ item: 7, quantity: 2 }], new Date(Date.parse(first.from) + 1000).toISOString());
    await publish(late);
    await assertPostedOnce([...sales, late]);
    const s = await openStore();
    const lateAt = await s.summaries.saleAssignment('odoo', keyOf(late));
    expect(lateAt?.late).toBe(true);
    expect(lateAt?.summaryKey).not.toBe(first.key);
    expect((await s.summaries.get('odoo', first.key))?.sales).toBe(first.sales);
    // Traceable in the register: the sale names the summary and the Odoo order that carried it.
    const entry = await s.registerGet(keyOf(late));
    const lateSummary = await s.summaries.get('odoo', lateAt!.summaryKey);
    expect(entry?.externalRefs).toMatchObject({ odoo: lateSummary!.erpRef, 'odoo.summary': lateAt!.summaryKey });
    // The summary.posted messages: one per summary.
    const posted = await getJson(`${e.red!.url}/e2e/posted`);
    expect(posted.map((p: any) => p.summary.key).sort()).toEqual(
      summaryOrders(e)
        .map((o) => o.ref)
        .sort(),
    );
    // Lines: a store's sales of one interval aggregated per SKU and price; sold and returned apart.
    const one = summaryOrders(e).find((o) => o.ref === first.key)!;
    const lines = odooLines(e, one.id);
    const sold0 = lines.filter((l) => String(l.product).includes('SKU-0001') && l.qty > 0);
    const back0 = lines.filter((l) => String(l.product).includes('SKU-0001') && l.qty < 0);
    expect(sold0.length).toBe(1);
    expect(back0.length).toBe(1);
    const carried = (await s.summaries.sales('odoo', first.key)).map((c) => c.document as Sale);
    const units = (sign: number) =>
      carried
        .flatMap((x) => x.lines)
        .filter((l) => l.sku === 'SKU-0001' && Math.sign(l.quantity) === sign)
        .reduce((n, l) => n + l.quantity, 0);
    expect(sold0[0].qty).toBe(units(1));
    expect(back0[0].qty).toBe(units(-1));
    // Nothing failed.
    expect((await getJson(`${e.red!.url}/tillwire/dead-letters/count`)).count).toBe(0);
  });

  it('a stray EUR sale first, then the GBP sales of the store in the same interval: one summary order per currency, exact totals, nothing refused', async () => {
    e = await startServices();
    const SECONDS = 10;
    await startRed(e, flows(SECONDS));
    till = await mqtt.connectAsync(e.broker.url, { clientId: `sum-till-c-${process.pid}`, protocolVersion: 5 });
    // Start just after an interval begins (intervals are aligned to the clock), so the three sales share one.
    await waitFor(
      () => Date.now() % (SECONDS * 1000) < 1500,
      2 * SECONDS * 1000,
      () => 'the start of an interval',
    );
    const stray = sale('CUR-1', 'T9', [{ item: 2, quantity: 1 }], undefined, 'EUR');
    const own = [
      sale('CUR-1', 'T1', [
        { item: 0, quantity: 2 },
        { item: 1, quantity: 1, perUnit: 50 },
      ]),
      sale('CUR-1', 'T2', [
        { item: 3, quantity: 1 },
        { item: 0, quantity: -1 },
      ]),
    ];
    for (const x of [stray, ...own]) await publish(x);
    await assertPostedOnce([stray, ...own]);
    const s = await openStore();
    const recs = await s.summaries.list({ storeId: 'CUR-1', scope: 'odoo', businessDate: DATE });
    // The three sales in one interval: two summaries, the first sale's (EUR) and the store's own (GBP), each its own key.
    expect(new Set(recs.map((r) => r.from)).size).toBe(1);
    expect(recs.map((r) => [r.key, r.currency, r.sales, r.amount])).toEqual([
      [`summary:CUR-1:${DATE}:1`, 'EUR', 1, stray.totals.grandTotal.amount],
      [`summary:CUR-1:${DATE}:2`, 'GBP', 2, own[0].totals.grandTotal.amount + own[1].totals.grandTotal.amount],
    ]);
    expect((await s.summaries.sales('odoo', recs[1].key)).map((x) => x.key).sort()).toEqual(own.map(keyOf).sort());
    // In Odoo: two confirmed orders, each in its own currency with its summary's exact total.
    const orders = summaryOrders(e).filter((o) => o.ref.startsWith('summary:CUR-1:'));
    expect(orders.map((o) => [o.ref, o.currency, o.total, o.state]).sort()).toEqual(recs.map((r) => [r.key, r.currency, r.amount, 'sale']));
    const posted = (await getJson(`${e.red!.url}/e2e/posted`)).filter((p: any) => p.summary.storeId === 'CUR-1');
    expect(posted.map((p: any) => [p.summary.key, p.summary.grandTotal]).sort()).toEqual(recs.map((r) => [r.key, { amount: r.amount, currency: r.currency }]));
    // Nothing refused: no dead letter.
    expect((await getJson(`${e.red!.url}/tillwire/dead-letters/count`)).count).toBe(0);
  });

  it('SIGKILL of Node-RED after the sales are assigned and while Odoo carries out a summary create: after the restart every summary is posted once, no sale lost', async () => {
    e = await startServices();
    await startRed(e, flows());
    till = await mqtt.connectAsync(e.broker.url, { clientId: `sum-till-k-${process.pid}`, protocolVersion: 5 });
    // Odoo carries each summary's create out only 4 s after receiving it: Node-RED dies before it hears back.
    e.odoo.setFaults({ slowRate: 1, slowDelayMs: 4000, only: ['sale.order.create'] });
    const sales: Sale[] = [];
    for (const storeId of ['KIL-1', 'KIL-2'])
      for (const terminalId of ['T1', 'T2', 'T3']) for (let i = 0; i < 4; i++) sales.push(sale(storeId, terminalId, [{ item: i, quantity: 1 + (i % 2) }]));
    for (const x of sales) await publish(x);
    const s = await openStore();
    const book = async () => [
      ...(await s.summaries.list({ storeId: 'KIL-1', scope: 'odoo' })),
      ...(await s.summaries.list({ storeId: 'KIL-2', scope: 'odoo' })),
    ];
    await waitFor(
      async () => (await Promise.all(sales.map((x) => s.summaries.saleAssignment('odoo', keyOf(x))))).every(Boolean),
      60_000,
      () => 'sales assigned',
    );
    // Every sale is assigned (its inbox entry finished), no summary is posted yet.
    expect((await book()).every((r) => r.state !== 'posted')).toBe(true);
    await waitFor(
      () => e.odoo.stats.faults.slow >= 1,
      60_000,
      () => 'a summary create sent to Odoo',
    );
    await e.red!.kill();
    expect((await book()).every((r) => r.state !== 'posted')).toBe(true);
    // Odoo finishes the create it was given; nobody records it.
    await waitFor(
      () => summaryOrders(e).length >= 1,
      30_000,
      () => 'the create carried out',
    );
    // More sales while Node-RED is down: the broker keeps them for its persistent session.
    const more = [sale('KIL-1', 'T1', [{ item: 9, quantity: 1 }]), sale('KIL-2', 'T3', [{ item: 9, quantity: 2 }])];
    for (const x of more) await publish(x);
    e.odoo.setFaults({});
    await startRed(e);
    await assertPostedOnce([...sales, ...more]);
  });

  it('a summary Odoo rejects goes to Catch → dead letter once, is retried, and its replay posts it once; its sales stay where they are', async () => {
    e = await startServices();
    await startRed(e, flows());
    till = await mqtt.connectAsync(e.broker.url, { clientId: `sum-till-r-${process.pid}`, protocolVersion: 5 });
    const unknown = { sku: 'NEW-0001', name: 'new tote', unitPrice: 1500, taxRate: '0.0000' };
    const sales = [
      sale('REJ-1', 'T1', [
        { item: 0, quantity: 1 },
        { item: unknown, quantity: 2 },
      ]),
      sale('REJ-1', 'T2', [{ item: 1, quantity: 1 }]),
    ];
    for (const x of sales) await publish(x);
    await waitFor(
      async () => (await getJson(`${e.red!.url}/tillwire/dead-letters/count`)).count >= 1,
      60_000,
      () => 'the rejected summary in the dead letters',
    );
    const dl = await getJson(`${e.red!.url}/tillwire/dead-letters?limit=10`);
    expect(dl.total).toBe(1);
    const entry = dl.entries[0];
    expect(entry.topic).toBe('summary.post');
    expect(entry.error.message).toMatch(/NEW-0001/);
    const key = entry.message.summary.key as string;
    expect(key).toMatch(/^summary:REJ-1:/);
    const s = await openStore();
    expect((await s.summaries.get('odoo', key))?.state).toBe('closed');
    expect(summaryOrders(e).filter((o) => o.ref === key)).toEqual([]);
    // Fixed in Odoo, then replayed: posted once, with the same sales.
    e.odoo.addProduct({ sku: 'NEW-0001', listPrice: 15 });
    const replay = await fetch(`${e.red!.url}/tillwire/replay/ex-so-replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: entry.id }),
    });
    expect(replay.status).toBe(200);
    await assertPostedOnce(sales);
    expect(summaryOrders(e).filter((o) => o.ref === key)).toHaveLength(1);
    for (const x of sales) expect((await s.summaries.saleAssignment('odoo', keyOf(x)))?.summaryKey).toBe(key);
    // Replayed again: nothing new in Odoo.
    await fetch(`${e.red!.url}/tillwire/replay/ex-so-replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: entry.id }),
    });
    await waitFor(
      async () => (await getJson(`${e.red!.url}/e2e/posted`)).filter((p: any) => p.summary.key === key).length >= 1,
      30_000,
      () => 'the posted message',
    );
    expect(summaryOrders(e).filter((o) => o.ref === key)).toHaveLength(1);
  });

  it('Business Central: the BC template with summarised posting posts one sales order per store and interval, once', async () => {
    const bc = await new BusinessCentralSimulator({ port: 0 }).start();
    const broker = await startMosquitto();
    let red: RunningNodeRed | undefined;
    let bcStore: Store | undefined;
    try {
      const f: any[] = bcTemplateFlows();
      Object.assign(
        f.find((n) => n.type === 'tillwire-bc-config'),
        { baseUrl: bc.baseUrl, ratePerSecond: 0, retryBaseMs: 1, cooloffMs: 20 },
      );
      Object.assign(
        f.find((n) => n.type === 'tillwire-business-central'),
        { posting: 'summary', summarySeconds: 5 },
      );
      red = await startNodeRed({ flows: f, env: { TILLWIRE_MQTT_URL: broker.url, TILLWIRE_LOG_LEVEL: 'warn', TILLWIRE_DEMO: '0' } });
      await deployCredentialsAndWait(red, { 'ex-sb-bc-cfg': { token: bc.token } });
      till = await mqtt.connectAsync(broker.url, { clientId: `sum-till-bc-${process.pid}`, protocolVersion: 5 });
      const sales: Sale[] = [];
      for (const storeId of ['BC-1', 'BC-2'])
        for (const terminalId of ['T1', 'T2'])
          sales.push(
            sale(storeId, terminalId, [
              { item: 0, quantity: 2 },
              { item: 5, quantity: 1, perUnit: 100 },
            ]),
          );
      for (const x of sales) await publish(x);
      await publish(sales[0]);
      bcStore = createStore({ backend: 'sqlite', file: path.join(red.userDir, 'tillwire.db') }, undefined, { heartbeatMs: 0 });
      await bcStore.open();
      const book = bcStore.summaries;
      await waitFor(
        async () => {
          const all = [
            ...(await book.list({ storeId: 'BC-1', scope: 'business-central' })),
            ...(await book.list({ storeId: 'BC-2', scope: 'business-central' })),
          ];
          return all.reduce((n, r) => n + r.sales, 0) === sales.length && all.every((r) => r.state === 'posted');
        },
        60_000,
        async () => JSON.stringify(await book.list({ storeId: 'BC-1' })),
      );
      for (const storeId of ['BC-1', 'BC-2']) {
        const recs = await book.list({ storeId, scope: 'business-central' });
        const mine = sales.filter((x) => x.storeId === storeId);
        expect(recs.reduce((n, r) => n + r.amount, 0)).toBe(mine.reduce((n, x) => n + x.totals.grandTotal.amount, 0));
        for (const r of recs) {
          const orders = bc.rows('salesOrders').filter((o) => o.externalDocumentNumber === externalDocumentNumber(r.key));
          expect(orders).toHaveLength(1);
          expect(Math.round(Number(orders[0].totalAmountIncludingTax) * 100)).toBe(r.amount);
          expect(r.erpRef).toBe(orders[0].number);
        }
      }
    } finally {
      await bcStore?.close();
      await till?.endAsync();
      await red?.stop();
      await broker.stop();
      await bc.close();
    }
  });
});
