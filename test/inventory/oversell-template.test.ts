/**
 * The template "Oversell guard on order intake", as shipped in examples/, in a real Node-RED started
 * with the product's settings, its config nodes pointed at the Shopify and Odoo simulators. Odoo
 * holds exactly the units of one SKU that one order takes; its stock is read into the ledger by the
 * template's own stock path (its inject pressed through the admin API, as the editor's button does).
 * Then two Shopify orders for those units arrive by webhook at the same moment (signed as Shopify
 * signs). One becomes an Odoo sales order; the other leaves on "oversell risk" naming its channel,
 * order and SKU, and never reaches Odoo. The loser sent again is still not accepted, also after the
 * winner is cancelled (a short order keeps its answer); a new order takes the released units.
 * A receipt booked in Odoo afterwards reaches the ledger through the template's read of what
 * changed, and the next order takes the received units. An order short on arrival waits in the
 * dead-letter store; after a receipt the operator's replay decides it again and it reaches Odoo.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { deployCredentialsAndWait, RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { flowCalls } from '../support/flow-calls';
import { readTemplate } from '../support/template';
import { OdooSimulator } from '../../simulators/odoo/simulator';
import { countStock } from '../odoo/support';
import { ShopifySimulator } from '../../simulators/shopify/simulator';

jest.setTimeout(90_000);

const SKU = 'TW-LAST-UNITS';
let red: RunningNodeRed;
let odoo: OdooSimulator;
let shopify: ShopifySimulator;
const { call, until } = flowCalls(() => red);

function flows() {
  const template = readTemplate('Oversell guard on order intake');
  const keep = (id: string, what: string) => `const list = flow.get('${id}') || []; list.push(${what}); flow.set('${id}', list); return null;`;
  const at: Record<string, Record<string, unknown>> = {
    'ovg-shopify-cfg': { shop: shopify.shop, baseUrl: shopify.url },
    'ovg-odoo-cfg': { url: odoo.url, database: odoo.database, login: odoo.login, version: odoo.version },
  };
  return [
    { id: 'tab', type: 'tab', label: 'template' },
    ...template
      .filter((n) => n.type !== 'comment')
      .map((n) => {
        if (at[n.id]) return { ...n, ...at[n.id] };
        if (n.type.endsWith('-config') || n.type === 'tillwire-store') return n;
        if (n.id === 'ovg-risk') return { id: n.id, type: 'function', z: 'tab', func: keep(n.id, 'msg.oversell'), outputs: 1, wires: [] };
        if (n.type === 'debug') return { id: n.id, type: 'function', z: 'tab', func: keep(n.id, 'msg.payload'), outputs: 1, wires: [] };
        // The stock read is pressed by the test; the poller finds nothing (the orders come by webhook only).
        if (n.id === 'ovg-stock-tick' || n.id === 'ovg-stock-changes') return { ...n, z: 'tab', repeat: '', once: false };
        return { ...n, z: 'tab' };
      }),
    { id: 'all-errors', type: 'catch', z: 'tab', uncaught: false, wires: [['errors']] },
    // Each stock read finished (the Odoo stock node's done).
    { id: 'stock-done', type: 'complete', z: 'tab', scope: ['ovg-stock'], uncaught: false, wires: [['reads']] },
    { id: 'reads', type: 'function', z: 'tab', func: keep('reads', 'msg._msgid'), outputs: 1, wires: [] },
    { id: 'errors', type: 'function', z: 'tab', func: keep('errors', 'msg.error.message'), outputs: 1, wires: [] },
    { id: 'seen', type: 'http in', z: 'tab', url: '/seen', method: 'get', wires: [['show']] },
    {
      id: 'show',
      type: 'function',
      z: 'tab',
      func: `msg.payload = Object.fromEntries(['ovg-risk', 'ovg-debug', 'ovg-drift', 'errors', 'reads'].map((k) => [k, flow.get(k) || []]));\nreturn msg;`,
      outputs: 1,
      wires: [['res']],
    },
    { id: 'res', type: 'http response', z: 'tab', statusCode: '', headers: {} },
  ];
}

/** A Shopify order of the simulator's shapes with one line, its SKU ours; `copy` makes another order of the same lines. */
function orderFor(copy = 0): Record<string, any> {
  for (let index = 1; ; index++) {
    const o = shopify.generate(index, Date.now() - 60_000, false) as Record<string, any>;
    if (o.line_items.length !== 1) continue;
    o.line_items[0].sku = SKU;
    if (copy) {
      o.id += copy;
      o.order_number += copy;
      o.name = `${o.name}-${copy}`;
      o.admin_graphql_api_id = `gid://shopify/Order/${o.id}`;
    }
    return o;
  }
}

const orderRef = (o: Record<string, any>) => `order:shopify:${shopify.shop}:${o.id}`;
const odooOrders = () => odoo.records('sale.order', [['client_order_ref', 'like', `order:shopify:${shopify.shop}:`]], ['client_order_ref', 'state']);
const position = async () => {
  const res = await fetch(`${red.adminUrl}/tillwire/inventory/explain?sku=${SKU}&location=${encodeURIComponent('WH/Stock')}`);
  // 404 until the SKU has a position.
  return res.ok ? ((await res.json()) as any).positions[0] : undefined;
};

beforeAll(async () => {
  odoo = new OdooSimulator({ catalogSize: 100 });
  shopify = new ShopifySimulator({ orders: 0 });
  await Promise.all([odoo.start(), shopify.start()]);
  const units = orderFor().line_items[0].quantity;
  odoo.addProduct({ sku: SKU, listPrice: 10, stock: units });
  red = await startNodeRed({ via: 'red', flows: flows(), env: { TILLWIRE_LOG_LEVEL: 'warn', TILLWIRE_DEMO: '0' } });
  await deployCredentialsAndWait(red, {
    'ovg-shopify-cfg': { accessToken: shopify.accessToken, webhookSecret: shopify.appSecret },
    'ovg-odoo-cfg': { apiKey: odoo.apiKey },
  });
});

afterAll(async () => {
  await red?.stop();
  await Promise.all([odoo?.stop(), shopify?.stop()]);
});

it('two webhook orders for the last units at once: one Odoo sales order, one oversell risk naming channel, order and SKU; a cancel releases the units to a new order', async () => {
  const units = orderFor().line_items[0].quantity;
  const res = await fetch(`${red.adminUrl}/inject/ovg-stock-tick`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  expect(res.status).toBe(200);
  await until('the Odoo stock in the ledger', async () => (await position())?.onHand === units);

  shopify.subscribe(`${red.url}/shopify/webhooks`);
  const [a, b] = [orderFor(), orderFor(7)];
  shopify.emit('orders/create', a);
  shopify.emit('orders/create', b);
  await shopify.settle();
  await until('one order in Odoo and one oversell risk', async () => odooOrders().length === 1 && (await call('/seen'))['ovg-risk'].length === 1);

  const [inOdoo] = odooOrders();
  const [winner, loser] = inOdoo.client_order_ref === orderRef(a) ? [a, b] : [b, a];
  expect(inOdoo.client_order_ref).toBe(orderRef(winner));
  const seen = await call('/seen');
  expect(seen['ovg-risk'][0]).toMatchObject({
    channel: { system: 'shopify', account: shopify.shop },
    orderId: String(loser.id),
    skus: [{ sku: SKU, requested: units, available: 0 }],
  });
  expect(seen.errors).toEqual([]);
  expect(await position()).toMatchObject({ onHand: units, reserved: units });

  // The loser sent again (Shopify retries, or the order is updated): still short, still not in Odoo.
  shopify.emit('orders/updated', { ...loser, updated_at: new Date().toISOString() });
  await shopify.settle();
  await until('the repeat flagged again', async () => (await call('/seen'))['ovg-risk'].length === 2);
  expect(odooOrders()).toHaveLength(1);

  // The winner is cancelled: its units are released. The loser sent again keeps its first answer
  // (docs/inventory.md: a short order stays short; a new decision needs a new order id), and a new
  // order takes the units.
  shopify.emit('orders/cancelled', { ...winner, cancelled_at: new Date().toISOString(), cancel_reason: 'customer', updated_at: new Date().toISOString() });
  await shopify.settle();
  await until('the cancel released the units', async () => (await position())?.reserved === 0);
  shopify.emit('orders/updated', { ...loser, updated_at: new Date(Date.now() + 1000).toISOString() });
  const next = orderFor(11);
  shopify.emit('orders/create', next);
  await shopify.settle();
  await until('the new order in Odoo', () => odooOrders().some((o) => o.client_order_ref === orderRef(next)));
  await until('the loser flagged a third time', async () => (await call('/seen'))['ovg-risk'].length === 3);
  expect(
    odooOrders()
      .map((o) => o.client_order_ref)
      .sort(),
  ).toEqual([orderRef(winner), orderRef(next)].sort());
  expect(await position()).toMatchObject({ onHand: units, reserved: units });
  expect((await call('/seen')).errors).toEqual([]);
});

it("a receipt booked in Odoo reaches the ledger through the template's read of what changed, and a new order takes it", async () => {
  const press = async (id: string) =>
    expect((await fetch(`${red.adminUrl}/inject/${id}`, { method: 'POST', signal: AbortSignal.timeout(10_000) })).status).toBe(200);
  const before = await position();
  const reads = (await call('/seen')).reads.length;
  // The first read of changes reads every SKU and leaves its place in the store.
  await press('ovg-stock-changes');
  await until('the first read of changes done', async () => (await call('/seen')).reads.length === reads + 1);
  // Ten minutes later 6 units are received into WH/Stock (a count in Odoo's API, as the warehouse books it).
  odoo.advanceClock(600);
  await countStock(odoo, SKU, before.onHand + 6);
  await press('ovg-stock-changes');
  await until('the second read of changes done', async () => (await call('/seen')).reads.length === reads + 2);
  await until('the receipt in the ledger', async () => (await position())?.onHand === before.onHand + 6);

  const order = orderFor(23);
  shopify.emit('orders/create', order);
  await shopify.settle();
  await until('the order on the received units in Odoo', () => odooOrders().some((o) => o.client_order_ref === orderRef(order)));
  expect(await position()).toMatchObject({ onHand: before.onHand + 6, reserved: before.reserved + order.line_items[0].quantity });
  expect((await call('/seen')).errors).toEqual([]);
});

it("a short order waits in the dead-letter store; after a receipt the operator's replay reserves it and it reaches Odoo", async () => {
  const press = async (id: string) =>
    expect((await fetch(`${red.adminUrl}/inject/${id}`, { method: 'POST', signal: AbortSignal.timeout(10_000) })).status).toBe(200);
  /** Odoo's stock of the SKU counted to `quantity` ten minutes on, then read by the template's read of what changed. */
  const countInOdoo = async (quantity: number) => {
    odoo.advanceClock(600);
    await countStock(odoo, SKU, quantity);
    await press('ovg-stock-changes');
    await until(`${quantity} on hand in the ledger`, async () => (await position())?.onHand === quantity);
  };
  // Nothing free: every unit on hand is reserved.
  const { reserved } = await position();
  await countInOdoo(reserved);

  // An order now is short: flagged, and held for a retry with its reason.
  const order = orderFor(31);
  const units = order.line_items[0].quantity;
  const risks = (await call('/seen'))['ovg-risk'].length;
  shopify.emit('orders/create', order);
  await shopify.settle();
  await until('the order flagged', async () => (await call('/seen'))['ovg-risk'].length === risks + 1);
  const held = async () =>
    ((await (await fetch(`${red.adminUrl}/tillwire/dead-letters?status=pending`)).json()) as any).entries.filter(
      (e: any) => e.message?.payload?.channel?.id === String(order.id),
    );
  await until('held for a retry', async () => (await held()).length === 1);
  const [entry] = await held();
  expect(entry.error.message).toContain('oversell risk: not enough stock when the order arrived');
  expect(odooOrders().some((o) => o.client_order_ref === orderRef(order))).toBe(false);

  // Odoo receives the units; the operator replays the entry: decided again, reserved, written to Odoo.
  await countInOdoo(reserved + units);
  const res = await fetch(`${red.adminUrl}/tillwire/replay/ovg-replay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ids: [entry.id] }),
    signal: AbortSignal.timeout(10_000),
  });
  expect(((await res.json()) as any).replayed).toBe(1);
  await until('the order in Odoo', () => odooOrders().some((o) => o.client_order_ref === orderRef(order)));
  expect(await position()).toMatchObject({ onHand: reserved + units, reserved: reserved + units });
  expect(await held()).toEqual([]);
  expect((await call('/seen')).errors).toEqual([]);
  // Every message of the webhook inbox was acknowledged: held, re-sent, replayed, reserved alike.
  await until('no inbox entry pending', () => pendingInbox() === 0, 10_000);
});

/** Webhook inbox entries still pending in the template's store. */
function pendingInbox(): number {
  const db = new Database(path.join(red.userDir, 'tillwire.db'), { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%inbox'`).all() as Array<{ name: string }>;
    expect(tables.length).toBeGreaterThan(0);
    return tables.reduce((n, t) => n + Number((db.prepare(`SELECT COUNT(*) AS n FROM "${t.name}" WHERE state = 'pending'`).get() as { n: number }).n), 0);
  } finally {
    db.close();
  }
}
