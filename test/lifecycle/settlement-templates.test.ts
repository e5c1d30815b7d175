/**
 * The templates "Shopify payouts → reconcile → QuickBooks" and "bol.com invoice → reconcile → Xero",
 * as shipped in examples/, each on a tab of its own in one real Node-RED (red.js with the product's
 * settings). Their connections are left as shipped: they read the simulators' addresses, tenant and
 * realm from the environment variables `npm start` sets (here pointed at this test's simulators),
 * and the credentials are entered as a user enters them. Payouts and invoices are polled,
 * reconciled and posted once; a later poll posts only what is new; a settlement that does not add
 * up is held (second output, dead letter), and a release whose settlement differs from the held
 * version is refused.
 */
import { deployCredentialsAndWait, RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { readTemplate, type FlowNode } from '../support/template';
import { ShopifySimulator } from '../../simulators/shopify/simulator';
import { BolSimulator } from '../../simulators/bol/simulator';
import { QboSimulator } from '../../simulators/quickbooks/simulator';
import { XeroSimulator } from '../../simulators/xero/simulator';

jest.setTimeout(120_000);

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SHOPIFY = 'Shopify payouts → reconcile → QuickBooks';
const BOL = 'bol.com invoice → reconcile → Xero';
const shopifyTemplate = readTemplate(SHOPIFY);
const bolTemplate = readTemplate(BOL);
const idOf = (template: FlowNode[], type: string, name?: string) => template.find((n) => n.type === type && (name === undefined || n.name === name))!.id;

// Shopify: orders a minute apart from six hours ago (on the hour), paid out hourly and PAID at once.
const T0 = Math.floor((Date.now() - 6 * HOUR) / HOUR) * HOUR;
let shopifyClock = T0 + 2 * HOUR + 1000;
// bol.com: an order every 12 hours from 40 days ago; half-monthly invoices. The clock starts a day
// after the orders' epoch + 33 days, so the invoices of the first two periods are issued.
const BOL_EPOCH = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() - 2, 1);
let bolClock = BOL_EPOCH + 33 * DAY;

let red: RunningNodeRed;
let shopify: ShopifySimulator;
let qbo: QboSimulator;
let bol: BolSimulator;
let xero: XeroSimulator;

/** A test-only route into the bol reconcile node: POST {release, settlement} as msg.release and msg.payload. */
const releaseRoute = (reconcile: string): FlowNode[] => [
  { id: 't-release-in', type: 'http in', z: 'bol', url: '/test-release', method: 'post', wires: [['t-release-set', 't-release-ok']] },
  {
    id: 't-release-set',
    type: 'change',
    z: 'bol',
    rules: [
      { t: 'set', p: 'release', pt: 'msg', to: 'payload.release', tot: 'msg' },
      { t: 'set', p: 'payload', pt: 'msg', to: 'payload.settlement', tot: 'msg' },
    ],
    wires: [[reconcile]],
  },
  { id: 't-release-ok', type: 'http response', z: 'bol', statusCode: '202', wires: [] },
];

function imported(): FlowNode[] {
  const place = (template: FlowNode[], tab: string) =>
    template.map((n) => (n.type.endsWith('-config') || n.type === 'tillwire-store' || n.type === 'tillwire-settlement-accounts' ? n : { ...n, z: tab }));
  return [
    { id: 'shopify', type: 'tab', label: SHOPIFY },
    { id: 'bol', type: 'tab', label: BOL },
    ...place(shopifyTemplate, 'shopify'),
    ...place(bolTemplate, 'bol'),
    ...releaseRoute(idOf(bolTemplate, 'tillwire-reconcile')),
  ];
}

async function deadLetters(template: FlowNode[]): Promise<any[]> {
  const res = await fetch(`${red.adminUrl}/tillwire/dead-letters?store=${idOf(template, 'tillwire-store')}`);
  if (!res.ok) throw new Error(`dead letters: HTTP ${res.status}`);
  return ((await res.json()) as { entries: any[] }).entries;
}

async function until(what: string, ok: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`${what} did not happen within ${ms} ms\n${red.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Presses an inject node of the deployed flow, as its button in the editor does. */
async function press(id: string): Promise<void> {
  const res = await fetch(`${red.adminUrl}/inject/${id}`, { method: 'POST' });
  expect(res.status).toBe(200);
}

const qboSettlements = () => qbo.journalEntries().map((e) => /^tillwire:settlement:shopify:(\d+):/.exec(String(e.PrivateNote))?.[1]);
const xeroSettlements = () => xero.allJournals().map((j) => /\[tw:settlement:bol:([^:]+):/.exec(String(j.Narration))?.[1]);

beforeAll(async () => {
  shopify = new ShopifySimulator({ orders: 360, baseTime: T0, payoutPeriodMs: HOUR, payoutTransitMs: 0, now: () => shopifyClock });
  qbo = new QboSimulator({ homeCurrency: 'GBP' });
  bol = new BolSimulator({ orders: 80, epoch: new Date(BOL_EPOCH).toISOString(), orderSpacingMs: 12 * HOUR, throttling: false, now: () => bolClock });
  xero = new XeroSimulator({ baseCurrency: 'EUR', tenantId: '3c9d7e21-5b4a-4c8f-8e1d-2f6a0b9c7d35' });
  await Promise.all([shopify.start(), qbo.start(), bol.start(), xero.start()]);
  // The first bol invoice gets a line of a type Tillwire does not know: it does not add up without it.
  const first = bol.invoices.all()[0];
  bol.invoices.extra.set(first.invoiceId, [{ type: 'SPACE_RENTAL', amount: 250, vat: 0, quantity: 1, date: first.start }]);
  red = await startNodeRed({
    via: 'red',
    flows: imported(),
    env: {
      TILLWIRE_SHOPIFY_URL: shopify.url,
      TILLWIRE_QBO_URL: qbo.url,
      TILLWIRE_QBO_TOKEN_URL: qbo.tokenUrl,
      TILLWIRE_QBO_REALM_ID: qbo.realmId,
      TILLWIRE_BOL_URL: bol.url,
      TILLWIRE_BOL_TOKEN_URL: bol.tokenUrl,
      TILLWIRE_XERO_EU_API_URL: xero.apiUrl,
      TILLWIRE_XERO_EU_TOKEN_URL: xero.tokenUrl,
      TILLWIRE_XERO_EU_TENANT_ID: xero.tenantId,
    },
  });
  await deployCredentialsAndWait(red, {
    [idOf(shopifyTemplate, 'tillwire-shopify-config')]: { accessToken: shopify.accessToken },
    [idOf(shopifyTemplate, 'tillwire-quickbooks-config')]: { clientId: qbo.clientId, clientSecret: qbo.clientSecret, refreshToken: qbo.currentRefreshToken },
    [idOf(bolTemplate, 'tillwire-bol-config')]: { clientId: bol.clientId, clientSecret: bol.clientSecret },
    [idOf(bolTemplate, 'tillwire-xero-config')]: { clientSecret: xero.clientSecret, refreshToken: xero.validRefreshTokens()[0] },
  });
});

afterAll(async () => {
  await red?.stop();
  await Promise.all([shopify?.stop(), qbo?.stop(), bol?.stop(), xero?.stop()]);
});

describe(SHOPIFY, () => {
  it('posts each GBP payout to QuickBooks once, balanced; one in another currency is refused by the GBP company and dead-lettered', async () => {
    const paid = shopify.payouts().filter((p) => p.status === 'PAID');
    const gbp = paid.filter((p) => p.net.currencyCode === 'GBP').map((p) => p.legacyResourceId);
    const others = paid.filter((p) => p.net.currencyCode !== 'GBP').map((p) => p.legacyResourceId);
    expect(gbp.length).toBe(2);
    const failed = async () =>
      (await deadLetters(shopifyTemplate)).filter((d) => d.flowId === 'shopify' && d.nodeId === idOf(shopifyTemplate, 'tillwire-quickbooks'));
    await until('every payout posted or refused', async () => qboSettlements().length === gbp.length && (await failed()).length === others.length);
    expect(qboSettlements().sort()).toEqual([...gbp].sort());
    for (const e of qbo.journalEntries()) {
      const side = (t: string) =>
        e.Line.filter((l: any) => l.JournalEntryLineDetail.PostingType === t).reduce((s: number, l: any) => s + Math.round(l.Amount * 100), 0);
      expect(side('Debit')).toBe(side('Credit'));
    }
    for (const d of await failed()) expect(d.error.message).toMatch(/currency|exchange ?rate/i);
    // Nothing held: the reserve the first USD payout held is released by the next one.
    expect((await deadLetters(shopifyTemplate)).filter((d) => d.flowId === 'shopify' && d.error?.code === 'settlement-held')).toEqual([]);
  });

  it('a later poll posts only the payout that is new', async () => {
    const before = qbo.journalEntries().length;
    shopifyClock += HOUR;
    const next = shopify.payouts().find((p) => p.status === 'PAID' && p.net.currencyCode === 'GBP' && !qboSettlements().includes(p.legacyResourceId))!;
    await press(idOf(shopifyTemplate, 'inject', 'poll now'));
    await until('the new payout posted', () => qboSettlements().includes(next.legacyResourceId));
    expect(qbo.journalEntries().length).toBe(before + 1);
    expect(new Set(qboSettlements()).size).toBe(qboSettlements().length);
  });
});

describe(BOL, () => {
  const heldId = () => bol.invoices.all()[0].invoiceId;
  const held = async () => (await deadLetters(bolTemplate)).filter((d) => d.flowId === 'bol' && d.error?.code === 'settlement-held');

  it('posts each invoice to Xero once; the one that does not add up is held with its variance, its unknown line dead-lettered', async () => {
    const issued = bol.invoices.all().map((i) => i.invoiceId);
    expect(issued.length).toBeGreaterThanOrEqual(2);
    await until('every invoice posted or held', async () => xeroSettlements().length === issued.length - 1 && (await held()).length === 1);
    expect(xeroSettlements().sort()).toEqual(issued.filter((id) => id !== heldId()).sort());
    expect(xero.stats.creates).toBe(issued.length - 1);
    const [entry] = await held();
    expect(entry.nodeId).toBe(idOf(bolTemplate, 'tillwire-reconcile'));
    expect(entry.error.cause).toMatchObject({ settlementId: heldId(), variance: '250' }); // minor units
    const unreadable = (await deadLetters(bolTemplate)).filter((d) => d.flowId === 'bol' && d.error?.name === 'InvoiceLineProblem');
    expect(unreadable.map((d) => [d.nodeId, d.error.code, d.message.payload.invoiceId])).toEqual([
      [idOf(bolTemplate, 'tillwire-bol-invoices'), 'unknown-type', heldId()],
    ]);
    for (const j of xero.allJournals()) expect(j.JournalLines.reduce((s: number, l: any) => s + Math.round(Number(l.LineAmount) * 100), 0)).toBe(0);
  });

  it('a later poll posts only the invoice that is new', async () => {
    const before = xero.stats.creates;
    bolClock += 16 * DAY;
    const next = bol.invoices.all().find((i) => i.invoiceId !== heldId() && !xeroSettlements().includes(i.invoiceId))!;
    expect(next).toBeDefined();
    await press(idOf(bolTemplate, 'inject', 'poll now'));
    await until('the new invoice posted', () => xeroSettlements().includes(next.invoiceId));
    expect(xero.stats.creates).toBe(before + 1);
    expect(new Set(xeroSettlements()).size).toBe(xeroSettlements().length);
  });

  it('refuses a release whose settlement differs from the version that was held, and posts nothing for it', async () => {
    const [entry] = await held();
    const settlement = structuredClone(entry.message.payload);
    // Other lines under the held settlement's id, still adding up to the same total.
    settlement.lines[0].amount.amount += 100;
    settlement.lines[1].amount.amount -= 100;
    const failures = async () =>
      (await deadLetters(bolTemplate)).filter((d) => d.nodeId === idOf(bolTemplate, 'tillwire-reconcile') && d.error?.code !== 'settlement-held');
    const res = await fetch(`${red.url}/test-release`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ release: { settlementId: heldId(), system: 'bol', account: '1234567', accept: 'suspense' }, settlement }),
    });
    expect(res.status).toBe(202);
    await until('the refusal dead-lettered', async () => (await failures()).length === 1);
    expect((await failures())[0].error.message).toMatch(/not the version that was held/);
    expect(xeroSettlements()).not.toContain(heldId());
    expect((await held()).map((d) => d.status)).toEqual(['pending']);
  });
});
