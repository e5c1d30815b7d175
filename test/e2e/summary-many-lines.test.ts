/**
 * Summarised posting with more distinct lines in one interval than one ERP document holds (1,000),
 * through a real Node-RED process running the "Store sales (MQTT) → Odoo" template in summary mode:
 * the summary is split before posting, every sale reaches Odoo once in a summary of at most 1,000
 * lines, the totals are exact and nothing is left closed or dead-lettered.
 */
import path from 'node:path';
import mqtt, { MqttClient } from 'mqtt';
import { buildSale } from '../../simulators/pos-mqtt/device-sales';
import { catalogItem } from '../../simulators/kit/catalog';
import { tillTopic } from '../../nodes/pos-mqtt/topic';
import { createStore } from '../../nodes/runtime/create-store';
import type { Store } from '../../nodes/runtime/store';
import type { Sale } from '../../nodes/model/types.generated';
import { e2eFlows, getJson, startRed, startServices, waitFor, E2E } from './harness';

jest.setTimeout(5 * 60_000);

const DATE = new Date().toISOString().slice(0, 10);
const keyOf = (s: Sale) => `sale:${s.storeId}:${s.terminalId}:${s.saleId}`;

/** A sale of 400 catalogue SKUs, each at its list price plus `k` pence: every sale's lines are new combinations. */
function wideSale(k: number): Sale {
  return buildSale({
    saleId: `W${k}`,
    storeId: 'WIDE-1',
    terminalId: 'T1',
    sequence: k,
    occurredAt: new Date().toISOString(),
    businessDate: DATE,
    currency: 'GBP',
    lines: Array.from({ length: 400 }, (_, i) => {
      const item = catalogItem(i);
      return { item: { ...item, unitPrice: item.unitPrice + k }, quantity: 1 };
    }),
    tenders: (total) => [{ type: 'card', amount: { amount: total, currency: 'GBP' } }],
  });
}

describe('summarised posting: more lines in an interval than one ERP document holds', () => {
  let e: E2E | undefined;
  let till: MqttClient | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    await till?.endAsync();
    await e?.red?.stop();
    await e?.odoo.stop();
    await e?.broker.stop();
  });

  it('1,200 distinct lines: split into summaries of at most 1,000 lines, each posted once, every sale and cent in Odoo once', async () => {
    e = await startServices();
    const f = e2eFlows();
    Object.assign(
      f.find((n) => n.id === 'ex-so-odoo'),
      { posting: 'summary', summarySeconds: 5 },
    );
    await startRed(e, f);
    const red = e.red!;
    till = await mqtt.connectAsync(e.broker.url, { clientId: `wide-till-${process.pid}`, protocolVersion: 5 });
    store = createStore({ backend: 'sqlite', file: path.join(e.userDir!, 'tillwire.db') }, undefined, { heartbeatMs: 0 });
    await store.open();
    const book = store.summaries;
    const sales = [1, 2, 3].map(wideSale);
    for (const s of sales) await till.publishAsync(tillTopic('wide', s.storeId, s.terminalId, 'sales'), JSON.stringify(s), { qos: 1 });

    await waitFor(
      async () => {
        const assigned = await Promise.all(sales.map((s) => book.saleAssignment('odoo', keyOf(s))));
        if (assigned.some((a) => !a)) return false;
        return (await book.list({ storeId: 'WIDE-1', scope: 'odoo' })).every((r) => r.state === 'posted');
      },
      120_000,
      async () => JSON.stringify(await book.list({ storeId: 'WIDE-1', scope: 'odoo' })),
    );
    const recs = await book.list({ storeId: 'WIDE-1', scope: 'odoo' });
    expect(recs.length).toBeGreaterThanOrEqual(2);
    // Every sale once, every cent once.
    expect(recs.reduce((n, r) => n + r.sales, 0)).toBe(sales.length);
    expect(recs.reduce((n, r) => n + r.amount, 0)).toBe(sales.reduce((n, s) => n + s.totals.grandTotal.amount, 0));
    const orders = e.odoo.orders().filter((o) => String(o.client_order_ref).startsWith('summary:WIDE-1:'));
    expect(orders.map((o) => o.client_order_ref).sort()).toEqual(recs.map((r) => r.key).sort());
    for (const r of recs) {
      const order = orders.find((o) => o.client_order_ref === r.key)!;
      expect(Math.round(Number(order.amount_total) * 100)).toBe(r.amount);
      const lines = e.odoo.records('sale.order.line', [['order_id', '=', order.id]], ['id']);
      expect(lines.length).toBeLessThanOrEqual(1000);
      const carried = await book.sales('odoo', r.key);
      expect(carried.reduce((n, c) => n + c.amount, 0)).toBe(r.amount);
    }
    expect((await getJson(`${red.url}/tillwire/dead-letters/count`)).count).toBe(0);
  });
});
