/**
 * Control totals across the chain in a real Node-RED started with the product's settings: the
 * Shopify (simulator) orders of 20 days ago come in through tillwire-shopify-orders (the poller's
 * backfill: a webhook that old is refused as a replay), a cancellation through
 * tillwire-shopify-webhook; the orders go to the Odoo simulator through tillwire-odoo (one is
 * refused: its products are archived), a settlement posted
 * over HTTP is reconciled and posted to the QuickBooks simulator (the poster's answer wired back to
 * the journal node), another is held; then tillwire-channel-totals, triggered over HTTP, must give:
 *  1. the day's report with exact counts and values at the channel, in the ERP, settled and posted,
 *     the order not in the ERP, the orders not settled, the order settled but never seen; the
 *     cancelled order counted apart;
 *  2. the held settlement as unposted;
 *  3. the old unsettled orders, the cancelled one not among them.
 * A settlement written as a journal file (the file node's answer wired back to its journal node)
 * then counts as written for import, neither posted nor unposted.
 * Bad triggers (an impossible day, a channel Tillwire knows nothing of) and a node configured with a
 * time zone that does not exist are rejected naming the problem; a good trigger beside them reports.
 */
import fs from 'node:fs';
import path from 'node:path';
import { deployCredentialsAndWait, RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { DEFAULT_ACCOUNTS, QboSimulator } from '../../simulators/quickbooks/simulator';
import { ShopifySimulator, type RestOrder } from '../../simulators/shopify/simulator';
import { OdooSimulator } from '../../simulators/odoo/simulator';
import { startSimulator as startQbo } from '../quickbooks/support';
import { qboConfigNode, odooConfigNode } from '../support/config-nodes';
import { flowCalls } from '../support/flow-calls';

jest.setTimeout(120_000);

const SHOP = 'tillwire-totals.myshopify.com';
const SECRET = 'whsec-channel-totals';
const DAY_MS = 86_400_000;
const NOW = Date.now();
/** The reported day: 20 days ago (UTC), so its unsettled orders are past the 14 days. */
const DAY = new Date(NOW - 20 * DAY_MS).toISOString().slice(0, 10);
const at = (time: string) => Date.parse(`${DAY}T${time}Z`);

let red: RunningNodeRed;
let qbo: QboSimulator;
let shopify: ShopifySimulator;
let odoo: OdooSimulator;
let clock = NOW;

function flows() {
  const record = (name: string) => `const list = flow.get('${name}') || []; list.push(msg.payload); flow.set('${name}', list); return null;`;
  const sink = (id: string) => ({ id, type: 'function', z: 'tab', func: record(id), outputs: 1, wires: [] });
  return [
    { id: 'tab', type: 'tab', label: 'control totals' },
    { id: 'st1', type: 'tillwire-store', backend: 'sqlite', file: 'tillwire.db', schema: 'tillwire', synchronous: 'normal' },
    { id: 'shop', type: 'tillwire-shopify-config', shop: SHOP, apiVersion: '2026-10', baseUrl: shopify.url, timeout: 5 },
    odooConfigNode(odoo),
    qboConfigNode(qbo),
    {
      id: 'acc',
      type: 'tillwire-settlement-accounts',
      bankAccount: '1000',
      clearingAccount: '1200',
      reserveAccount: '1210',
      accounts: [
        { key: 'principal', account: '4000' },
        { key: 'fee', account: '6000' },
      ],
    },
    // Orders: the Shopify poller and webhooks → Odoo; failures dead-lettered; every inbox entry acknowledged.
    {
      id: 'poll',
      type: 'tillwire-shopify-orders',
      z: 'tab',
      shopify: 'shop',
      store: 'st1',
      interval: 600,
      overlap: 300,
      lookback: 30 * 24,
      pageSize: 100,
      wires: [['erp']],
    },
    {
      id: 'hook',
      type: 'tillwire-shopify-webhook',
      z: 'tab',
      shopify: 'shop',
      store: 'st1',
      path: '/shopify/webhooks',
      topics: 'orders/create,orders/cancelled',
      wires: [['erp']],
    },
    { id: 'erp', type: 'tillwire-odoo', z: 'tab', odoo: 'oc', operation: 'order', store: 'st1', output: 'each', wires: [['ack']] },
    { id: 'ack', type: 'tillwire-ack', z: 'tab', store: 'st1', wires: [[]] },
    { id: 'k0', type: 'catch', z: 'tab', scope: ['hook', 'poll', 'erp'], uncaught: false, wires: [['dl']] },
    { id: 'dl', type: 'tillwire-dead-letter', z: 'tab', store: 'st1', wires: [['ack']] },
    // Settlements: POST /settle with a canonical settlement → reconcile → journal → QuickBooks → journal (ledger ids).
    { id: 'sin', type: 'http in', z: 'tab', url: '/settle', method: 'post', wires: [['rec', 'ok']] },
    { id: 'rec', type: 'tillwire-reconcile', z: 'tab', store: 'st1', mode: 'settlement', wires: [['jr', 'ready'], ['held']] },
    { id: 'jr', type: 'tillwire-journal', z: 'tab', store: 'st1', mode: 'settlement', accounts: 'acc', wires: [['qb']] },
    { id: 'qb', type: 'tillwire-quickbooks', z: 'tab', quickbooks: 'q1', wires: [['jr', 'posted']] },
    // POST /settle-file: the same, written as journal files for import, the file node's answer wired back to its journal node.
    { id: 'sinF', type: 'http in', z: 'tab', url: '/settle-file', method: 'post', wires: [['recF', 'ok']] },
    { id: 'recF', type: 'tillwire-reconcile', z: 'tab', store: 'st1', mode: 'settlement', wires: [['jrF'], ['held']] },
    { id: 'jrF', type: 'tillwire-journal', z: 'tab', store: 'st1', mode: 'settlement', accounts: 'acc', wires: [['jf']] },
    { id: 'jf', type: 'tillwire-journal-file', z: 'tab', directory: 'import', layout: 'neutral', wires: [['jrF', 'filed']] },
    // Control totals: POST /totals { day, channel, node } triggers the node named.
    { id: 'tin', type: 'http in', z: 'tab', url: '/totals', method: 'post', wires: [['trig', 'ok']] },
    {
      id: 'trig',
      type: 'function',
      z: 'tab',
      func: 'const b = msg.payload; const m = {}; if (b.day !== undefined) m.day = b.day; if (b.channel !== undefined) m.channel = b.channel;\nreturn b.node === "bad" ? [null, m] : [m, null];',
      outputs: 2,
      wires: [['ct'], ['ctBad']],
    },
    {
      id: 'ct',
      type: 'tillwire-channel-totals',
      z: 'tab',
      store: 'st1',
      timeZone: 'UTC',
      unsettledDays: 14,
      unpostedHours: 0,
      listCap: 10,
      wires: [['report'], ['unposted'], ['unsettled']],
    },
    { id: 'ctBad', type: 'tillwire-channel-totals', z: 'tab', store: 'st1', timeZone: 'Mars/Olympus_Mons', wires: [['report'], ['unposted'], ['unsettled']] },
    { id: 'ok', type: 'function', z: 'tab', func: 'msg.payload = { accepted: true };\nreturn msg;', outputs: 1, wires: [['res']] },
    { id: 'res', type: 'http response', z: 'tab', statusCode: '', headers: {} },
    ...['ready', 'held', 'posted', 'filed', 'report', 'unposted', 'unsettled', 'caught'].map(sink),
    { id: 'k1', type: 'catch', z: 'tab', scope: ['rec', 'jr', 'qb', 'ct', 'ctBad', 'recF', 'jrF', 'jf'], uncaught: false, wires: [['caughtMsg']] },
    { id: 'caughtMsg', type: 'function', z: 'tab', func: 'msg.payload = msg.error.message;\nreturn msg;', outputs: 1, wires: [['caught']] },
    { id: 'seen', type: 'http in', z: 'tab', url: '/seen', method: 'get', wires: [['show']] },
    {
      id: 'show',
      type: 'function',
      z: 'tab',
      func:
        "msg.payload = Object.fromEntries(['ready', 'held', 'posted', 'filed', 'report', 'unposted', 'unsettled', 'caught'].map((k) => [k, flow.get(k) || []]));\n" +
        "if (msg.req.query.reset) for (const k of ['report', 'unposted', 'unsettled', 'caught']) flow.set(k, []);\nreturn msg;",
      outputs: 1,
      wires: [['res']],
    },
  ];
}

const { call, until } = flowCalls(() => red, { callTimeoutMs: 30_000, untilTimeoutMs: 30_000 });

/** Runs the control totals and returns what its three outputs sent (the recorded lists emptied first). */
async function totals(body: Record<string, unknown>, expectCaught = 0): Promise<{ report: any[]; unposted: any[]; unsettled: any[]; caught: string[] }> {
  await call('/seen?reset=1');
  await call('/totals', body);
  // Output 1 always sends for a day with orders; a rejection reaches the catch node.
  await until('control totals answered', async () => {
    const s = await call('/seen');
    return expectCaught ? s.caught.length === expectCaught : s.report.length > 0;
  });
  const s = await call('/seen');
  return { report: s.report, unposted: s.unposted, unsettled: s.unsettled, caught: s.caught };
}

const cents = (text: string) => Math.round(Number(text) * 100);
const settlementLine = (lineId: string, type: string, amount: number, orderId?: string) => ({
  lineId,
  type,
  amount: { amount, currency: 'USD' },
  postedAt: `${DAY}T12:00:00Z`,
  ...(orderId ? { orderRef: { id: `shopify:${SHOP}:${orderId}`, channel: { system: 'shopify', account: SHOP, id: orderId } } } : {}),
});
function settlement(id: string, lines: Array<ReturnType<typeof settlementLine>>, statedOffBy = 0) {
  const net = lines.reduce((s, l) => s + l.amount.amount, 0);
  return {
    kind: 'settlement',
    settlementId: id,
    channel: { system: 'shopify', account: SHOP, id },
    periodStart: `${DAY}T00:00:00Z`,
    periodEnd: `${DAY}T23:59:59Z`,
    depositDate: DAY,
    currency: 'USD',
    netTotal: { amount: net, currency: 'USD' },
    statedTotal: { amount: net + statedOffBy, currency: 'USD' },
    lines,
  };
}

let usd: RestOrder[];
const created: RestOrder[] = [];

beforeAll(async () => {
  shopify = new ShopifySimulator({ shop: SHOP, appSecret: SECRET, now: () => clock, webhooks: { retryDelayMs: 5 } });
  await shopify.start();
  odoo = new OdooSimulator({ catalogSize: 500 });
  await odoo.start();
  // 19 orders: the simulator cycles through six currencies, so orders 0, 6, 12 and 18 are in USD and
  // placed on the reported day; the others are placed an hour ago (another day, not yet overdue).
  for (let i = 0; i < 19; i++) {
    clock = i % 6 === 0 ? at(`${String(8 + i / 6).padStart(2, '0')}:00:00`) : NOW - 3_600_000;
    created.push(shopify.createOrder());
  }
  usd = created.filter((o) => o.currency === 'USD');
  // Odoo refuses the third USD order: its products are archived (no other order uses them).
  const c = usd[2];
  const skus = (o: RestOrder): string[] => o.line_items.map((l: any) => l.sku);
  if (!skus(c).every((sku) => created.every((o) => o === c || !skus(o).includes(sku)))) throw new Error('the refused order shares a product');
  for (const sku of skus(c)) {
    const [product] = odoo.records('product.product', [['default_code', '=', sku]], ['id']);
    odoo.call('product.product', 'write', { ids: [product.id], vals: { active: false } });
  }
  qbo = await startQbo({ accounts: DEFAULT_ACCOUNTS });
  red = await startNodeRed({ flows: flows(), via: 'red', env: { TILLWIRE_DEMO: '0' } });
  await deployCredentialsAndWait(red, {
    shop: { webhookSecret: SECRET, accessToken: shopify.accessToken },
    oc: { apiKey: 'tillwire-demo-key' },
    q1: { clientId: qbo.clientId, clientSecret: qbo.clientSecret, refreshToken: qbo.currentRefreshToken },
  });
  shopify.subscribe(`${red.url}/shopify/webhooks`);
});

afterAll(async () => {
  await red?.stop();
  await shopify?.stop();
  await odoo?.stop();
  await qbo?.stop();
});

it('reports the day across channel, ERP, settlement and ledger; alerts on the held settlement and the old unsettled orders', async () => {
  expect(usd).toHaveLength(4);
  const [a, b, c, d] = usd;
  // Every order but c reaches Odoo (through the poller); then d is cancelled (through a webhook).
  await until('Odoo has every order but c', () => odoo.records('sale.order').length === created.length - 1);
  clock = NOW;
  shopify.cancelOrder(d.id);
  await shopify.settle();
  const inOdoo = (o: RestOrder) => odoo.records('sale.order', [['client_order_ref', 'like', String(o.id)]], ['state']);
  await until('d cancelled in Odoo', () => inOdoo(d)[0]?.state === 'cancel');
  expect(inOdoo(c)).toEqual([]);

  // S-OK settles a (charged its total, less a fee) and an order Tillwire never saw; S-HELD (b) is off by 0.01 and held.
  const ghost = '5999999999';
  await call(
    '/settle',
    settlement('S-OK', [
      settlementLine('1', 'principal', cents(a.total_price), String(a.id)),
      settlementLine('2', 'fee', -300, String(a.id)),
      settlementLine('3', 'principal', 700, ghost),
    ]),
  );
  await call('/settle', settlement('S-HELD', [settlementLine('1', 'principal', cents(b.total_price), String(b.id))], 1));
  await until('S-OK posted and its ledger id recorded, S-HELD held', async () => {
    const s = await call('/seen');
    return s.posted.length === 1 && s.held.length === 1;
  });
  expect(qbo.journalEntries()).toHaveLength(1);

  const gross = (o: RestOrder) => cents(o.total_price);
  const channel = { system: 'shopify', account: SHOP };
  // The ERP refs are written after the Odoo node sends on, the ledger id after the poster answers: poll.
  let run = await totals({ day: DAY, channel });
  await until('the ERP and ledger sides recorded', async () => {
    run = await totals({ day: DAY, channel });
    return run.report[0]?.erp.count === 2 && run.report[0]?.posted.count === 1;
  });
  expect(run.caught).toEqual([]);
  expect(run.report).toHaveLength(1);
  const [report] = run.report;
  expect(report).toMatchObject({
    system: 'shopify',
    account: SHOP,
    currency: 'USD',
    day: DAY,
    timeZone: 'UTC',
    from: `${DAY}T00:00:00.000Z`,
    channel: { count: 3, value: gross(a) + gross(b) + gross(c) },
    erp: { count: 2, value: gross(a) + gross(b) },
    settled: { count: 1, value: gross(a) },
    posted: { count: 1, value: gross(a) },
    cancelled: { count: 1, value: gross(d) },
    balanced: false,
  });
  const diff = report.differences;
  expect(diff.notInErp).toEqual({ count: 1, value: gross(c), more: 0, orders: [expect.objectContaining({ orderId: String(c.id), gross: gross(c) })] });
  expect(diff.notSettled).toMatchObject({ count: 2, value: gross(b) + gross(c), more: 0 });
  expect(diff.notSettled.orders.map((o: any) => o.orderId)).toEqual([String(b.id), String(c.id)]);
  expect(diff.settledNotPosted).toEqual({ count: 0, value: 0, more: 0, orders: [] });
  expect(diff.settledNotSeen).toMatchObject({
    count: 1,
    value: 700,
    orders: [{ orderId: ghost, settlements: [{ settlementId: 'S-OK', charged: 700, posted: true }] }],
  });
  expect(diff.inErpNotSeen.count).toBe(0);

  expect(run.unposted).toHaveLength(1);
  expect(run.unposted[0]).toMatchObject({ count: 1, hours: 0, channel });
  expect(run.unposted[0].settlements).toEqual([
    expect.objectContaining({
      settlementId: 'S-HELD',
      reason: 'held',
      state: 'held',
      journalsWithoutLedgerId: [],
      variances: [expect.objectContaining({ kind: 'total' })],
    }),
  ]);

  expect(run.unsettled).toHaveLength(1);
  expect(run.unsettled[0]).toMatchObject({ count: 2, days: 14, more: 0, channel });
  expect(run.unsettled[0].orders.map((o: any) => [o.orderId, o.gross, o.placedAt])).toEqual([
    [String(b.id), gross(b), new Date(Date.parse(b.created_at)).toISOString()],
    [String(c.id), gross(c), new Date(Date.parse(c.created_at)).toISOString()],
  ]);
});

it('rejects an impossible day, a channel it knows nothing of and a time zone that does not exist; a good trigger beside them reports', async () => {
  const bad = await totals({ day: '2026-02-30' }, 1);
  expect(bad.caught).toEqual(["ChainTotalsInputError: msg.day '2026-02-30' is not a calendar date"]);
  // The last day of year 9999 has no next day with a four-digit year; year 0001 is no 1901.
  const far = await totals({ day: '9999-12-31' }, 1);
  expect(far.caught).toEqual(["ChainTotalsInputError: msg.day '9999-12-31' is out of range: the year must be 1970 to 9998"]);
  const early = await totals({ day: '0001-01-01' }, 1);
  expect(early.caught).toEqual(["ChainTotalsInputError: msg.day '0001-01-01' is out of range: the year must be 1970 to 9998"]);
  const nobody = await totals({ day: DAY, channel: { system: 'shopify', account: 'nobody.myshopify.com' } }, 1);
  expect(nobody.caught).toEqual([
    "ChainTotalsInputError: msg.channel names no channel Tillwire knows: no order or settlement of shopify account 'nobody.myshopify.com'",
  ]);
  const zone = await totals({ node: 'bad' }, 1);
  expect(zone.caught).toEqual(["Error: channel totals: unknown time zone 'Mars/Olympus_Mons' (expected an IANA name such as Europe/Berlin or UTC)"]);
  expect([...bad.report, ...far.report, ...early.report, ...nobody.report, ...zone.report]).toEqual([]);
  const good = await totals({ day: DAY });
  expect(good.caught).toEqual([]);
  expect(good.report.map((r) => [r.system, r.currency, r.channel.count])).toEqual([['shopify', 'USD', 3]]);
});

it('a settlement written as a journal file, its answer wired back, counts as written for import: not posted, not unposted', async () => {
  const [, , c] = usd;
  await call('/settle-file', settlement('S-FILE', [settlementLine('1', 'principal', cents(c.total_price), String(c.id))]));
  await until('S-FILE written', async () => (await call('/seen')).filed.length === 1);
  const channel = { system: 'shopify', account: SHOP };
  let run = await totals({ day: DAY, channel });
  await until('the file recorded as written for import', async () => {
    run = await totals({ day: DAY, channel });
    return run.report[0]?.written.count === 1;
  });
  const gross = cents(c.total_price);
  expect(run.caught).toEqual([]);
  expect(run.report[0]).toMatchObject({ written: { count: 1, value: gross }, posted: { count: 1 }, settled: { count: 2 } });
  expect(run.report[0].differences.settledNotPosted.count).toBe(0);
  expect(run.report[0].differences.notSettled.orders.map((o: any) => o.orderId)).toEqual([String(usd[1].id)]);
  expect(run.unposted[0].settlements.map((x: any) => x.settlementId)).toEqual(['S-HELD']);
  // Written once, in the directory the node names.
  const [file] = fs.readdirSync(path.join(red.userDir, 'import')).filter((f) => f.endsWith('.csv'));
  expect(file).toContain('S-FILE');
});
