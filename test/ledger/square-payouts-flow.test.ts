/**
 * Square in-store sales through to a reconciled, posted payout in a real Node-RED started with the
 * product's settings: the Square simulator's till sales (card and cash) come in through
 * tillwire-square-webhook as canonical Sales and go to the Odoo simulator through tillwire-odoo;
 * Square pays the card sales out (simulator payout, PAID), tillwire-square-payouts (triggered over
 * HTTP) reads it, tillwire-reconcile checks it against the order index and the journal posts it to
 * the QuickBooks simulator. Then:
 *  1. the reconciliation names no order as "not known to Tillwire" or "not in the ERP": the index
 *     holds each card sale under the Square order id the payout names, with the ERP's acceptance;
 *  2. tillwire-channel-totals counts the card sales at the channel, in the ERP, settled and posted,
 *     with nothing settled but never seen; a cash sale (no payout names it) is not counted.
 */
import { deployCredentialsAndWait, RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { DEFAULT_ACCOUNTS, QboSimulator } from '../../simulators/quickbooks/simulator';
import { SquareSimulator } from '../../simulators/square/simulator';
import { OdooSimulator } from '../../simulators/odoo/simulator';
import type { SqOrder } from '../../nodes/square/types';
import { startSimulator as startQbo } from '../quickbooks/support';
import { qboConfigNode, odooConfigNode } from '../support/config-nodes';
import { flowCalls } from '../support/flow-calls';

jest.setTimeout(120_000);

const LOCATION = 'L-NYC';
const HOOK = '/square/hooks';

let red: RunningNodeRed;
let qbo: QboSimulator;
let square: SquareSimulator;
let odoo: OdooSimulator;

function flows() {
  // Reports carry bigints: recorded as JSON (bigints as strings) so /seen can answer with them.
  const record = (name: string) =>
    `const list = flow.get('${name}') || []; list.push(JSON.parse(JSON.stringify(msg.payload, (k, v) => typeof v === 'bigint' ? String(v) : v)));` +
    ` flow.set('${name}', list); return null;`;
  const sink = (id: string) => ({ id, type: 'function', z: 'tab', func: record(id), outputs: 1, wires: [] });
  return [
    { id: 'tab', type: 'tab', label: 'square payouts' },
    { id: 'st1', type: 'tillwire-store', backend: 'sqlite', file: 'tillwire.db', schema: 'tillwire', synchronous: 'normal' },
    {
      id: 'sq',
      type: 'tillwire-square-config',
      environment: 'custom',
      baseUrl: square.url,
      locationIds: LOCATION,
      mode: 'sale',
      skuMap: JSON.stringify(SquareSimulator.demoSkuMap(50)),
      ratePerSecond: 0,
    },
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
    // Sales: Square webhooks → Odoo; failures dead-lettered; every inbox entry acknowledged.
    { id: 'hook', type: 'tillwire-square-webhook', z: 'tab', square: 'sq', store: 'st1', path: HOOK, wires: [['erp']] },
    { id: 'erp', type: 'tillwire-odoo', z: 'tab', odoo: 'oc', operation: 'order', store: 'st1', output: 'each', wires: [['ack']] },
    { id: 'ack', type: 'tillwire-ack', z: 'tab', store: 'st1', wires: [[]] },
    { id: 'k0', type: 'catch', z: 'tab', scope: ['hook', 'erp'], uncaught: false, wires: [['dl']] },
    { id: 'dl', type: 'tillwire-dead-letter', z: 'tab', store: 'st1', wires: [['ack']] },
    // Payouts: POST /payouts polls Square → reconcile → journal → QuickBooks → journal (ledger ids).
    { id: 'pin', type: 'http in', z: 'tab', url: '/payouts', method: 'post', wires: [['pay', 'ok']] },
    {
      id: 'pay',
      type: 'tillwire-square-payouts',
      z: 'tab',
      square: 'sq',
      store: 'st1',
      interval: 0,
      lookback: 30,
      linkOrders: true,
      wires: [['rec'], ['refused']],
    },
    { id: 'rec', type: 'tillwire-reconcile', z: 'tab', store: 'st1', mode: 'settlement', wires: [['jr', 'ready'], ['held']] },
    { id: 'jr', type: 'tillwire-journal', z: 'tab', store: 'st1', mode: 'settlement', accounts: 'acc', wires: [['qb']] },
    { id: 'qb', type: 'tillwire-quickbooks', z: 'tab', quickbooks: 'q1', wires: [['jr', 'posted']] },
    // Control totals: POST /totals { day, channel }.
    { id: 'tin', type: 'http in', z: 'tab', url: '/totals', method: 'post', wires: [['trig', 'ok']] },
    { id: 'trig', type: 'function', z: 'tab', func: 'return { day: msg.payload.day, channel: msg.payload.channel };', outputs: 1, wires: [['ct']] },
    {
      id: 'ct',
      type: 'tillwire-channel-totals',
      z: 'tab',
      store: 'st1',
      timeZone: 'UTC',
      unsettledDays: 14,
      unpostedHours: 0,
      listCap: 50,
      wires: [['report'], [], []],
    },
    { id: 'ok', type: 'function', z: 'tab', func: 'msg.payload = { accepted: true };\nreturn msg;', outputs: 1, wires: [['res']] },
    { id: 'res', type: 'http response', z: 'tab', statusCode: '', headers: {} },
    ...['ready', 'held', 'refused', 'posted', 'report', 'caught'].map(sink),
    { id: 'k1', type: 'catch', z: 'tab', scope: ['pay', 'rec', 'jr', 'qb', 'ct'], uncaught: false, wires: [['caughtMsg']] },
    { id: 'caughtMsg', type: 'function', z: 'tab', func: 'msg.payload = msg.error.message;\nreturn msg;', outputs: 1, wires: [['caught']] },
    { id: 'seen', type: 'http in', z: 'tab', url: '/seen', method: 'get', wires: [['show']] },
    {
      id: 'show',
      type: 'function',
      z: 'tab',
      func:
        "msg.payload = Object.fromEntries(['ready', 'held', 'refused', 'posted', 'report', 'caught'].map((k) => [k, flow.get(k) || []]));\n" +
        "if (msg.req.query.reset) flow.set('report', []);\nreturn msg;",
      outputs: 1,
      wires: [['res']],
    },
  ];
}

const { call, until } = flowCalls(() => red, { callTimeoutMs: 30_000, untilTimeoutMs: 30_000 });

beforeAll(async () => {
  square = new SquareSimulator({ seed: 23, webhook: { retryDelaysMs: [] } });
  await square.start();
  odoo = new OdooSimulator({ catalogSize: 500 });
  await odoo.start();
  qbo = await startQbo({ accounts: DEFAULT_ACCOUNTS });
  red = await startNodeRed({ flows: flows(), via: 'red', env: { TILLWIRE_DEMO: '0' } });
  const hookUrl = `${red.url}${HOOK}`;
  square.webhook.url = hookUrl;
  await deployCredentialsAndWait(red, {
    sq: { accessToken: square.accessToken, signatureKey: square.webhook.signatureKey ?? '', notificationUrl: hookUrl },
    oc: { apiKey: 'tillwire-demo-key' },
    q1: { clientId: qbo.clientId, clientSecret: qbo.clientSecret, refreshToken: qbo.currentRefreshToken },
  });
});

afterAll(async () => {
  await red?.stop();
  await square?.stop();
  await odoo?.stop();
  await qbo?.stop();
});

it('a Square payout of till sales Tillwire took in and Odoo accepted reconciles without unmatched orders; channel totals count them', async () => {
  // Till sales until there are card and cash ones; each is delivered to the webhook as it completes.
  const sales: SqOrder[] = [];
  const byCard = () => sales.filter((o) => o.tenders!.some((t) => t.type === 'CARD'));
  while (sales.length < 8 || byCard().length < 3 || byCard().length === sales.length) sales.push(square.randomSale(LOCATION));
  await square.flushWebhooks();
  await until('Odoo has every sale', () => odoo.records('sale.order').length === sales.length);
  const card = byCard();

  // Square pays the card sales out; the payouts node reads the paid payout.
  const payouts = square.createPayouts();
  expect(payouts).toHaveLength(1);
  square.settlePayout(payouts[0].id, 'PAID');
  await call('/payouts', {});
  await until('the payout reconciled and posted', async () => {
    const s = await call('/seen');
    return s.posted.length === 1 || s.held.length > 0 || s.refused.length > 0 || s.caught.length > 0;
  });
  const seen = await call('/seen');
  expect(seen.held).toEqual([]);
  expect(seen.refused).toEqual([]);
  expect(seen.caught).toEqual([]);
  expect(seen.ready).toHaveLength(1);
  const [reconciliation] = seen.ready;
  expect(reconciliation.orders).toEqual({ checked: card.length, notInTillwire: [], notInErp: [], grossDifferences: [] });
  expect(reconciliation.variances.filter((v: any) => v.kind.startsWith('order-'))).toEqual([]);
  expect(qbo.journalEntries()).toHaveLength(1);

  // Channel totals for the day (or days, should the sales straddle midnight UTC) of the card sales.
  const gross = (o: SqOrder) => o.total_money!.amount;
  const days = new Map<string, SqOrder[]>();
  for (const o of card) {
    const day = new Date(o.closed_at!).toISOString().slice(0, 10);
    days.set(day, [...(days.get(day) ?? []), o]);
  }
  const channel = { system: 'square', account: LOCATION };
  for (const [day, orders] of days) {
    const value = orders.reduce((n, o) => n + gross(o), 0);
    const figures = { count: orders.length, value };
    let report: any;
    // The ledger id is recorded after the poster answers: poll until the posted side shows it.
    await until(`channel totals of ${day}`, async () => {
      await call('/seen?reset=1');
      await call('/totals', { day, channel });
      await until('control totals answered', async () => (await call('/seen')).report.length > 0);
      [report] = (await call('/seen')).report;
      return report.posted.count === orders.length;
    });
    expect(report).toMatchObject({
      system: 'square',
      account: LOCATION,
      currency: 'USD',
      day,
      channel: figures,
      erp: figures,
      settled: figures,
      posted: figures,
    });
    const diff = report.differences;
    for (const none of ['notInErp', 'notSettled', 'settledNotSeen', 'settledNotPosted', 'inErpNotSeen']) expect([none, diff[none].count]).toEqual([none, 0]);
  }
});
