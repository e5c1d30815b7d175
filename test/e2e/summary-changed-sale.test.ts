/**
 * Summarised posting, a sale key re-sent with another document after its summary posted, through a
 * real Node-RED process running the "Store sales (MQTT) → Odoo" template in summary mode. The
 * template's till node refuses such a change itself; here it reaches the Odoo node past it (a
 * replay, another flow into the node), as the e2e suite's replay does. A byte-for-byte repeat is
 * passed on uncounted; a changed document under the same key is a dead letter naming the key and
 * the summary, and the summary, its Odoo order and the sales beside it stay as they were.
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
let seq = 0;
function sale(storeId: string, item: number, quantity: number): Sale {
  seq++;
  return buildSale({
    saleId: `C${seq}`,
    storeId,
    terminalId: 'T1',
    sequence: seq,
    occurredAt: new Date().toISOString(),
    businessDate: DATE,
    currency: 'GBP',
    lines: [{ item: catalogItem(item), quantity }],
    tenders: (total) => [{ type: 'card', amount: { amount: total, currency: 'GBP' } }],
  });
}
const keyOf = (s: Sale) => `sale:${s.storeId}:${s.terminalId}:${s.saleId}`;

/** The template with the Odoo node in summary mode, and a way into the Odoo node that skips the till node and the dedupe. */
function flows(): any[] {
  const f = e2eFlows();
  const odoo = f.find((n) => n.id === 'ex-so-odoo');
  odoo.posting = 'summary';
  odoo.summarySeconds = 5;
  f.push(
    { id: 'chg-in', type: 'http in', z: 'e2e-tab', name: '', url: '/e2e-odoo', method: 'post', upload: false, wires: [['chg-msg', 'chg-ok']] },
    {
      id: 'chg-msg',
      type: 'function',
      z: 'e2e-tab',
      name: 'as a sale message',
      func: "return { payload: msg.payload, tillwire: { idempotencyKey: 'sale:' + msg.payload.storeId + ':' + msg.payload.terminalId + ':' + msg.payload.saleId } };",
      outputs: 1,
      wires: [['ex-so-odoo']],
    },
    { id: 'chg-ok', type: 'http response', z: 'e2e-tab', name: '', statusCode: '204', headers: {}, wires: [] },
  );
  return f;
}

describe('summarised posting: a sale key re-sent with another document', () => {
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

  it('is a dead letter naming the key and its summary; the summary, its Odoo order and the good sales beside it are untouched', async () => {
    e = await startServices();
    await startRed(e, flows());
    const red = e.red!;
    till = await mqtt.connectAsync(e.broker.url, { clientId: `chg-till-${process.pid}`, protocolVersion: 5 });
    store = createStore({ backend: 'sqlite', file: path.join(e.userDir!, 'tillwire.db') }, undefined, { heartbeatMs: 0 });
    await store.open();
    const book = store.summaries;
    const publish = (s: Sale) => till!.publishAsync(tillTopic('chg', s.storeId, s.terminalId, 'sales'), JSON.stringify(s), { qos: 1 });
    const direct = (s: unknown) => fetch(`${red.url}/e2e-odoo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(s) });
    const postedSummaryOf = async (s: Sale) => {
      const a = await book.saleAssignment('odoo', keyOf(s));
      const rec = a && (await book.get('odoo', a.summaryKey));
      return rec?.state === 'posted' ? rec : undefined;
    };

    const first = sale('CHG-1', 0, 1);
    await publish(first);
    await waitFor(
      async () => !!(await postedSummaryOf(first)),
      60_000,
      async () => JSON.stringify(await book.list({ storeId: 'CHG-1', scope: 'odoo' })),
    );
    const summary = (await postedSummaryOf(first))!;
    const odooTotal = () => e!.odoo.orders().find((o) => o.client_order_ref === summary.key)?.amount_total;
    const totalBefore = odooTotal();

    // The same document again (a replay): passed on, not counted, no dead letter.
    expect((await direct(first)).status).toBe(204);
    // The same key with five units instead of one.
    const amount = first.totals.grandTotal.amount * 5;
    const money = (a: number) => ({ amount: a, currency: 'GBP' });
    const changed: Sale = {
      ...first,
      lines: [{ ...first.lines[0], quantity: 5, lineTotal: money(first.lines[0].lineTotal.amount * 5), taxes: [] }],
      tenders: [{ type: 'card', amount: money(amount) }],
      totals: { subtotal: money(amount), discountTotal: money(0), taxTotal: money(0), grandTotal: money(amount) },
    };
    expect((await direct(changed)).status).toBe(204);
    // A good sale beside it still flows.
    const next = sale('CHG-1', 1, 2);
    await publish(next);

    await waitFor(
      async () => (await getJson(`${red.url}/tillwire/dead-letters/count`)).count >= 1 && !!(await postedSummaryOf(next)),
      60_000,
      async () => JSON.stringify(await getJson(`${red.url}/tillwire/dead-letters?limit=10`)),
    );
    const dl = await getJson(`${red.url}/tillwire/dead-letters?limit=10`);
    expect(dl.total).toBe(1);
    expect(dl.entries[0].error.message).toContain(keyOf(first));
    expect(dl.entries[0].error.message).toContain(summary.key);
    expect(dl.entries[0].error.message).toMatch(/different document/);

    // The first summary carries the sale as first assigned: its count, total and Odoo order unchanged.
    const after = (await book.get('odoo', summary.key))!;
    expect({ sales: after.sales, amount: after.amount }).toEqual({ sales: 1, amount: first.totals.grandTotal.amount });
    const carried = await book.sales('odoo', summary.key);
    expect(carried.map((c) => (c.document as Sale).totals.grandTotal.amount)).toEqual([first.totals.grandTotal.amount]);
    expect(odooTotal()).toBe(totalBefore);
    expect(e.odoo.orders().filter((o) => o.client_order_ref === summary.key)).toHaveLength(1);
    expect((await postedSummaryOf(next))!.amount).toBe(next.totals.grandTotal.amount);
  });
});
