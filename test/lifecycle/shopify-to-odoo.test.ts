/**
 * The delivery test, end to end through the real nodes: Shopify (simulator) sends every
 * webhook three times, shuffled, and never sends 5% of them; the orders poller is the safety net;
 * the Odoo node writes each order state. Afterwards Odoo must hold exactly one sale.order per
 * Shopify order, in the order's final state (cancelled ones cancelled), and one credit note per
 * refund. Nothing is sent twice, nothing is left in the inbox.
 */
import storeNode from '../../nodes/core/store-config';
import deadLetterNode from '../../nodes/core/dead-letter';
import replayNode from '../../nodes/core/replay';
import ackNode from '../../nodes/core/ack';
import shopifyConfigNode from '../../nodes/shopify/shopify-config';
import webhookNode from '../../nodes/shopify/shopify-webhook';
import ordersNode from '../../nodes/shopify/shopify-orders';
import odooConfigNode from '../../nodes/odoo/odoo-config';
import odooNode from '../../nodes/odoo/odoo';
import { ShopifySimulator, type RestOrder } from '../../nodes/shopify/simulator';
import { OdooSimulator, SEED } from '../../nodes/odoo/simulator';
import { helper, httpNodeProbe, serveHttpNode, startServer, stopAll, until } from '../support/node-red';

jest.setTimeout(120_000);
const PATH = '/shopify/webhooks';
const SECRET = 'whsec-lifecycle';
const nodes = [httpNodeProbe, storeNode, deadLetterNode, replayNode, ackNode, shopifyConfigNode, webhookNode, ordersNode, odooConfigNode, odooNode];

let shopify: ShopifySimulator;
let odoo: OdooSimulator;
beforeAll(async () => {
  odoo = new OdooSimulator({ catalogSize: 500 });
  await odoo.start();
});
afterAll(() => odoo.stop());
beforeEach(async () => {
  odoo.reset();
  shopify = new ShopifySimulator({ appSecret: SECRET, seed: 11 });
  await shopify.start();
  await startServer();
  serveHttpNode();
});
afterEach(async () => {
  await shopify.stop();
  await stopAll();
});

function flow() {
  return [
    { id: 'f1', type: 'tab', label: 'shopify → odoo' },
    { id: 's1', type: 'tillwire-store', backend: 'memory' },
    { id: 'sc', type: 'tillwire-shopify-config', shop: shopify.shop, apiVersion: '2025-01', baseUrl: shopify.url, timeout: '5' },
    { id: 'oc', type: 'tillwire-odoo-config', url: odoo.url, database: 'tillwire', login: 'admin', api: 'jsonrpc', version: String(odoo.version), defaultPartnerId: String(SEED.walkInPartnerId), maxConcurrent: '4', ratePerSecond: '0', timeout: '5', attempts: '4', retryDelay: '1', maxRetryWait: '0.01' },
    { id: 'hook', type: 'tillwire-shopify-webhook', z: 'f1', shopify: 'sc', store: 's1', path: PATH, wires: [['erp']] },
    { id: 'poll', type: 'tillwire-shopify-orders', z: 'f1', shopify: 'sc', store: 's1', interval: '0', overlap: '300', lookback: '1', pageSize: '50', wires: [['erp']] },
    { id: 'erp', type: 'tillwire-odoo', z: 'f1', odoo: 'oc', operation: 'order', store: 's1', wires: [['ack']] },
    { id: 'ack', type: 'tillwire-ack', z: 'f1', store: 's1', wires: [['done']] },
    { id: 'done', type: 'helper', z: 'f1' },
    { id: 'k1', type: 'catch', z: 'f1', scope: ['hook', 'poll', 'erp'], wires: [['dl']] },
    { id: 'dl', type: 'tillwire-dead-letter', z: 'f1', store: 's1', wires: [['ack', 'failed']] },
    { id: 'failed', type: 'helper', z: 'f1' },
    { id: 'replay', type: 'tillwire-replay', z: 'f1', store: 's1', wires: [['erp']] },
  ];
}
const credentials = { sc: { accessToken: 'shpat_tillwire_demo', webhookSecret: SECRET }, oc: { apiKey: 'tillwire-demo-key' } };

/** Odoo's view of one Shopify order: its sale.orders and credit notes, by the canonical keys. */
function inOdoo(o: RestOrder) {
  const key = `order:shopify:${shopify.shop}:${o.id}`;
  const orders = odoo.records('sale.order', [['client_order_ref', '=', key]], ['name', 'state']);
  return { key, orders };
}

describe('Shopify → Odoo order lifecycle', () => {
  it('webhooks 3×, out of order, 5% never sent: Odoo ends with exactly one order per Shopify order in its final state, one credit note per refund', async () => {
    await helper.load(nodes, flow(), credentials);
    const done: any[] = [];
    const failed: any[] = [];
    helper.getNode('done').on('input', (m: any) => done.push(m));
    helper.getNode('failed').on('input', (m: any) => failed.push(m));
    const store = await helper.getNode('s1').manager.acquire();
    await until(async () => (await fetch(`${helper.url()}${PATH}`, { method: 'POST', body: '{}', headers: { 'x-shopify-hmac-sha256': 'x' } })).status === 401);

    shopify.webhooks = { ...shopify.webhooks, duplicates: 3, outOfOrder: true, dropRate: 0.05, maxRetries: 2, retryDelayMs: 1 };
    shopify.subscribe(`${helper.url()}${PATH}`);

    // Phase 1, one burst: orders placed, most of them then paid or tagged, some cancelled; the
    // shuffle delivers many `updated`/`cancelled` before their `create`.
    const placed = Array.from({ length: 60 }, () => shopify.createOrder());
    for (const o of placed.slice(0, 40)) shopify.updateOrder(o.id, (x) => (x.tags = 'checked'));
    const cancelled = placed.slice(40, 50);
    for (const o of cancelled) shopify.cancelOrder(o.id);
    await shopify.settle();
    // Phase 2: refunds of some live orders (their order may itself have been dropped).
    const refunded = placed.slice(0, 8);
    const refunds = refunded.map((o) => shopify.refundOrder(o.id));
    await shopify.settle();
    expect(shopify.dropped.length).toBeGreaterThan(0);

    // The safety net: one poll picks up what the webhooks never delivered.
    helper.getNode('poll').receive({});
    const source = `shopify:${shopify.shop}`;
    await until(async () => (await store.inboxPending(source, 10_000)).length === 0, 60_000);

    // A refund that overtook its order's first delivery was dead-lettered naming the order;
    // replaying the dead letters (what an operator does from the admin API) finishes them.
    for (const m of failed) expect(m.error.message).toMatch(/credit|original|order/i);
    if (failed.length) {
      const before = done.length;
      helper.getNode('replay').receive({ payload: { all: true } });
      await until(() => done.length >= before + failed.length, 30_000);
    }

    for (const o of placed) {
      const { key, orders } = inOdoo(o);
      expect({ key, count: orders.length }).toEqual({ key, count: 1 });
      const isCancelled = cancelled.some((c) => c.id === o.id);
      expect({ key, state: orders[0].state }).toEqual({ key, state: isCancelled ? 'cancel' : 'sale' });
    }
    expect(odoo.records('sale.order').length).toBe(placed.length);

    const notes = odoo.records('account.move', [['move_type', '=', 'out_refund']], ['ref', 'state', 'invoice_origin']);
    expect(notes).toHaveLength(refunds.length);
    for (const [i, r] of refunds.entries()) {
      const mine = notes.filter((n) => String(n.ref).includes(String(r.id)));
      expect(mine).toHaveLength(1);
      expect(mine[0].state).toBe('posted');
      expect(mine[0].invoice_origin).toBe(inOdoo(refunded[i]).orders[0].name);
    }
    expect((await store.inboxPending(source, 10_000)).length).toBe(0);
  });
});
