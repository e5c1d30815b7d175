/**
 * What `npm start` runs beside Node-RED so the demo flows have something to talk to, all on
 * loopback: an embedded MQTT broker (aedes, demo only: tests use the real Mosquitto) unless
 * TILLWIRE_MQTT_URL names a broker, the Odoo and Business Central simulators, a few store tills
 * selling slowly, and the channel simulators (Shopify, Amazon, Square, bol.com) with orders arriving,
 * being paid, cancelled and refunded while the demo runs. Each address reaches the flows as an
 * environment variable (the flows use ${TILLWIRE_MQTT_URL}, ${TILLWIRE_ODOO_URL},
 * ${TILLWIRE_BC_URL}, ${TILLWIRE_SHOPIFY_URL}, ${TILLWIRE_AMAZON_URL}, ${TILLWIRE_SQUARE_URL}, ${TILLWIRE_BOL_URL}),
 * and so does the Odoo tax map for the taxes the demo sells with (${TILLWIRE_ODOO_TAX_MAP}). The
 * ledgers the settlements post to are simulators too (startLedgers): two Xero organisations and a
 * QuickBooks Online company.
 *
 * Given the Node-RED user directory, the channel simulators carry on from the last run
 * (scripts/demo-continuity.ts): the demo store keeps what Tillwire recorded, so a restarted channel
 * must not hand out the same order, payout or settlement ids again, and its first settlement
 * releases the reserve the last one held, as a real channel's would.
 */
import net from 'node:net';
import { DEMO_STATE_DIR, fileContinuity } from './demo-continuity';
import { OdooSimulator, type OdooContinuity } from '../simulators/odoo/simulator';
import { BusinessCentralSimulator } from '../simulators/business-central/simulator';
import { runSimulation } from '../simulators/pos-mqtt/device-simulator';
import { ShopifySimulator, type ShopifyContinuity } from '../simulators/shopify/simulator';
import { AmazonSimulator, type AmazonContinuity } from '../simulators/amazon/simulator';
import { SquareSimulator } from '../simulators/square/simulator';
import { BolSimulator, type BolContinuity } from '../simulators/bol/simulator';
import { XeroSimulator } from '../simulators/xero/simulator';
import { QboSimulator } from '../simulators/quickbooks/simulator';
import { demoCatalog } from '../simulators/kit/catalog';
import { createStore } from '../nodes/runtime/create-store';

export interface DemoServices {
  env: Record<string, string>;
  stop(): Promise<void>;
}

function listenBroker(port: number): Promise<{ close: () => Promise<void> }> {
  // aedes is a dev dependency: the demo runs from a checkout, never from the installed package.
  const aedes = require('aedes')();
  const server = net.createServer(aedes.handle);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () =>
      resolve({
        close: () => new Promise<void>((done) => aedes.close(() => server.close(() => done()))),
      }),
    );
  });
}

export async function startDemoServices(userDir?: string, log: (line: string) => void = console.log): Promise<DemoServices> {
  const stops: Array<() => Promise<void>> = [];
  try {
    return await startAll(stops, log, userDir);
  } catch (err) {
    // Stop what did start, so a failed start leaves no port taken behind it.
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw err;
  }
}

async function startAll(stops: Array<() => Promise<void>>, log: (line: string) => void, userDir?: string): Promise<DemoServices> {
  const env: Record<string, string> = {};
  let mqttUrl = process.env.TILLWIRE_MQTT_URL;
  let embeddedUrl: string | undefined;
  if (!mqttUrl) {
    const port = Number(process.env.TILLWIRE_DEMO_MQTT_PORT ?? 18830);
    const broker = await listenBroker(port);
    stops.push(broker.close);
    mqttUrl = embeddedUrl = `mqtt://127.0.0.1:${port}`;
    log(`[tillwire] demo MQTT broker (embedded): ${mqttUrl}`);
  }
  env.TILLWIRE_MQTT_URL = mqttUrl;

  // Product prices with 3 decimals, as an Odoo selling in KWD and BHD (3-decimal currencies, which
  // the Shopify demo sells in) must be set up: with Odoo's default of 2, a unit price such as
  // 14.323 KWD is cut to 14.32 and the order's total comes out short.
  // Its record ids and order numbers carry on from the last run: the demo store keeps the ERP refs it recorded.
  const odoo = new OdooSimulator({
    port: Number(process.env.TILLWIRE_DEMO_ODOO_PORT ?? 18069),
    priceDigits: 3,
    continuity: userDir ? fileContinuity<OdooContinuity>(userDir, 'odoo') : undefined,
  });
  env.TILLWIRE_ODOO_URL = await odoo.start();
  stops.push(() => odoo.stop());
  env.TILLWIRE_ODOO_TAX_MAP = JSON.stringify(demoTaxMap(odoo));
  log(`[tillwire] Odoo simulator: ${env.TILLWIRE_ODOO_URL} (database tillwire, login admin, API key tillwire-demo-key)`);

  const bc = new BusinessCentralSimulator({
    port: Number(process.env.TILLWIRE_DEMO_BC_PORT ?? 18070),
    log: () => undefined,
  });
  await bc.start();
  env.TILLWIRE_BC_URL = bc.url;
  stops.push(() => bc.close());
  log(`[tillwire] Business Central simulator: ${bc.url} (token tillwire-demo-token)`);

  // Best effort: a channel simulator that cannot start (its port taken, say) leaves that channel's
  // demo nodes red, not the whole demo down.
  await startChannels(env, stops, log, userDir).catch((err: Error) =>
    log(`[tillwire] channel simulators did not all start (${err.message}); the Channel orders tab will show errors`),
  );
  await startLedgers(env, stops, log).catch((err: Error) =>
    log(`[tillwire] ledger simulators did not all start (${err.message}); the Settlements → ledger tab will show errors`),
  );

  // Two brands' tills (Northwind's go to Odoo, Southwind's to Business Central in the demo flows),
  // each selling about one sale every two seconds, with the odd duplicate and bad message. Both
  // brands record into one store, where a sale is known by store, till and saleId: so each brand
  // has stores of its own, and a till's day is the same on every start (seeded by brand and date),
  // as a real till re-sending its day would be, never other documents under recorded saleIds.
  let running = true;
  const brand = async (name: string, storeIds: string[]) => {
    for (let day = 0; running; day++) {
      const businessDate = new Date(Date.now() + day * 86_400_000).toISOString().slice(0, 10);
      await runSimulation({
        brokerUrl: mqttUrl,
        brand: name,
        storeIds,
        tills: 2,
        count: 120,
        rate: 0.5,
        duplicateRate: 0.05,
        malformedRate: 0.02,
        seed: `${name}-${businessDate}`,
        businessDate,
        startSequence: 1 + day * 200,
        keepPayloads: false,
        clientIdPrefix: `tillwire-demo-${name}-`,
        // aedes, the embedded demo broker, speaks MQTT 3.1.1 only
        protocolVersion: mqttUrl === embeddedUrl ? 4 : 5,
      }).catch((err: Error) => log(`[tillwire] demo tills (${name}): ${err.message}`));
      if (running) await new Promise((r) => setTimeout(r, 2000));
    }
  };
  const tills = Promise.all([brand('northwind', ['LDN-001', 'MAN-002']), brand('southwind', ['BHM-001', 'GLA-002'])]);
  stops.push(async () => {
    running = false;
    await Promise.race([tills, new Promise((r) => setTimeout(r, 1000))]);
  });

  return {
    env,
    async stop() {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
    },
  };
}

/**
 * The taxes the demo's tills and channels put on their lines, by tax code, and the Odoo tax each
 * one is. Without a tax map Odoo applies each product's own tax (the demo catalogue's UK VAT,
 * included in the price), so every order taxed on top (US sales tax, Kuwait, Bahrain) came out
 * short in Odoo and was reported as a difference in totals.
 */
const DEMO_TAXES: Array<{ name: string; amount: number; included: boolean; codes: string[] }> = [
  // store tills (simulators/pos-mqtt/device-sales.ts taxCode); Square's London tax, whose code is its uid
  { name: '20% VAT (included)', amount: 20, included: true, codes: ['VAT-STD', 'GB VAT', 'AMAZON-GB', 'tax-1'] },
  { name: '5% VAT (included)', amount: 5, included: true, codes: ['VAT-RED'] },
  { name: '0% VAT', amount: 0, included: true, codes: ['VAT-ZERO'] },
  // Shopify (tax titles) and Amazon (AMAZON-<country>)
  { name: '10% Consumption Tax (included)', amount: 10, included: true, codes: ['JP CT', 'AMAZON-JP'] },
  { name: '19% MwSt (included)', amount: 19, included: true, codes: ['DE MwSt', 'AMAZON-DE'] },
  { name: '8.875% NY Sales Tax', amount: 8.875, included: false, codes: ['NY State Tax', 'AMAZON-US'] },
  { name: '5% KW Levy', amount: 5, included: false, codes: ['KW Levy'] },
  { name: '10% BH VAT', amount: 10, included: false, codes: ['BH VAT'] },
];

/** Finds (or adds, as an Odoo admin would) each demo tax in the simulator; returns tax code → account.tax id. */
export function demoTaxMap(odoo: OdooSimulator): Record<string, number> {
  const existing = odoo.records('account.tax', [], ['amount', 'price_include']) as Array<{ id: number; amount: number; price_include: boolean }>;
  const map: Record<string, number> = {};
  for (const tax of DEMO_TAXES) {
    const found = existing.find((t) => t.amount === tax.amount && t.price_include === tax.included);
    const id =
      found?.id ?? (odoo.call('account.tax', 'create', { vals_list: [{ name: tax.name, amount: tax.amount, price_include: tax.included }] }) as number[])[0];
    for (const code of tax.codes) map[code] = id;
  }
  return map;
}

/**
 * TILLWIRE_DEMO_SETTLEMENT_MINUTES=<n> (whole minutes, for tests): Amazon settlements, bol.com
 * invoices and Shopify payouts every n minutes, each published a fifth of that after its period,
 * with Amazon's and bol.com's orders from two periods back on (not ten minutes and two hours).
 */
function demoSchedule(): { periodMs: number; delayMs: number } | undefined {
  const text = process.env.TILLWIRE_DEMO_SETTLEMENT_MINUTES;
  if (!text) return undefined;
  const minutes = Number(text);
  if (!Number.isInteger(minutes) || minutes < 1) throw new Error(`TILLWIRE_DEMO_SETTLEMENT_MINUTES must be a whole number of minutes, not '${text}'`);
  return { periodMs: minutes * 60_000, delayMs: minutes * 12_000 };
}

const portOf = (name: string, fallback: number) => Number(process.env[`TILLWIRE_DEMO_${name}_PORT`] ?? fallback);

/**
 * The channel simulators, each on its own port, and a slow stream of channel activity: a Shopify
 * order every few seconds (some then paid, cancelled or refunded, each sent as a signed webhook to
 * the demo flow and also found by its poller), Amazon orders that come due over the next hours
 * (the poller picks them up as Amazon's two-minute window passes them), and Square sales with the
 * odd return, sent as signed webhooks.
 */
async function startChannels(env: Record<string, string>, stops: Array<() => Promise<void>>, log: (line: string) => void, userDir?: string): Promise<void> {
  const red = `http://127.0.0.1:${process.env.TILLWIRE_PORT ?? 1880}`;
  const now = Date.now();
  const schedule = demoSchedule();
  const continuity = <T>(name: string) => (userDir ? fileContinuity<T>(userDir, name) : undefined);
  const shopifyCarry = continuity<ShopifyContinuity>('shopify');
  const amazonCarry = continuity<AmazonContinuity>('amazon');
  const bolCarry = continuity<BolContinuity>('bol');
  if (shopifyCarry?.from || amazonCarry?.from || bolCarry?.from) log(`[tillwire] channel simulators carry on from the last run (${userDir}/${DEMO_STATE_DIR})`);

  const shopifyStart = Math.max(now - 3 * 3_600_000, shopifyCarry?.from?.payouts.paidUntil ?? 0);
  const shopify = new ShopifySimulator({
    port: portOf('SHOPIFY', 18080),
    // A backlog of 20 orders a minute apart, or fewer: none before the last run's last payout (a payout period is paid once).
    orders: Math.min(20, Math.floor((now - shopifyStart) / 60_000)),
    baseTime: shopifyStart,
    webhooks: { retryDelayMs: 2000, maxRetries: 8 },
    // Shopify Payments pays the demo's orders out hourly, paid at once, so payouts arrive while it runs.
    payoutPeriodMs: schedule?.periodMs ?? 3_600_000,
    payoutTransitMs: 0,
    continuity: shopifyCarry,
  });
  env.TILLWIRE_SHOPIFY_URL = await shopify.start();
  shopify.subscribe(`${red}/shopify/webhooks`);
  stops.push(() => shopify.stop());
  log(`[tillwire] Shopify simulator: ${env.TILLWIRE_SHOPIFY_URL} (shop ${shopify.shop}, token shpat_tillwire_demo)`);

  // Ten minutes of past orders, then one every 20 s: Orders API 2026-01-01 returns a whole window
  // (items included) in one call, so a longer past would arrive at the demo's Odoo as one backlog.
  // The UK, German and Japanese marketplaces (prices include tax). Amazon US adds tax to each part
  // of an order (item, promotion, shipping) and rounds each, while Odoo taxes each line's net
  // amount, so a US order can differ from Odoo's total by a cent, which the Odoo node reports.
  const amazon = new AmazonSimulator({
    port: portOf('AMAZON', 18443),
    marketplaceIds: ['A1F83G8C2ARO7P', 'A1PA6795UKMFR9', 'A1VC38T7YXB528'],
    orders: 2000,
    // Orders (and settlement periods) start after the last run's last settlement period.
    epoch: new Date(Math.max(now - (schedule ? 2 * schedule.periodMs : 10 * 60_000), amazonCarry?.from?.settledUntil ?? 0)).toISOString(),
    orderSpacingMs: 20_000,
    throttling: true,
    // A settlement per marketplace every five minutes, its report a minute after the period ends
    // (Amazon: about every 14 days), so the Settlements tab has the first ones at once and more as it runs.
    // A period with nothing in it (no order shipped in it) has no settlement, as at Amazon.
    settlements: schedule
      ? { periodDays: schedule.periodMs / 86_400_000, publishDelayMs: schedule.delayMs, omitEmpty: true }
      : { periodDays: 5 / 1440, publishDelayMs: 60_000, omitEmpty: true },
    continuity: amazonCarry,
  });
  env.TILLWIRE_AMAZON_URL = await amazon.start();
  // Node-RED substitutes ${VAR} only for a whole property value, so the token URL is its own variable.
  env.TILLWIRE_AMAZON_TOKEN_URL = `${env.TILLWIRE_AMAZON_URL}/auth/o2/token`;
  stops.push(() => amazon.stop());
  log(`[tillwire] Amazon SP-API simulator: ${env.TILLWIRE_AMAZON_URL} (seller ${amazon.sellerId})`);

  const square = new SquareSimulator({
    port: portOf('SQUARE', 18091),
    webhook: { url: `${red}/square/webhook`, autoDeliver: true, retryDelaysMs: [2000, 5000, 10_000, 30_000] },
  });
  env.TILLWIRE_SQUARE_URL = await square.start();
  stops.push(() => square.stop());
  log(`[tillwire] Square simulator: ${env.TILLWIRE_SQUARE_URL} (token sq-sim-access-token)`);

  // Orders placed every half minute from two hours ago on: the poller finds the past ones at
  // once and the rest as they come due.
  // An invoice every quarter of an hour, issued a minute after its period (bol: half-monthly).
  const bol = new BolSimulator({
    port: portOf('BOL', 18444),
    orders: 1000,
    // An offer for every catalogue SKU, so the Stock → every channel tab can set each one's stock.
    offers: 500,
    // Orders are placed ten minutes before their epoch time: after the last run's last invoice, so an invoice period is invoiced once.
    epoch: new Date(Math.max(now - (schedule ? 2 * schedule.periodMs : 2 * 3_600_000), (bolCarry?.from?.invoicedUntil ?? 0) + 10 * 60_000)).toISOString(),
    orderSpacingMs: 30_000,
    invoicePeriodMs: schedule?.periodMs ?? 15 * 60_000,
    invoiceIssueDelayMs: schedule?.delayMs ?? 60_000,
    continuity: bolCarry,
  });
  env.TILLWIRE_BOL_URL = await bol.start();
  env.TILLWIRE_BOL_TOKEN_URL = bol.tokenUrl;
  stops.push(() => bol.stop());
  log(`[tillwire] bol.com simulator: ${env.TILLWIRE_BOL_URL} (client tillwire-bol-client)`);

  let tick = 0;
  const placed: number[] = [];
  const squareSales: Array<{ id: string; lineUid: string }> = [];
  const timer = setInterval(() => {
    tick++;
    try {
      const o = shopify.createOrder();
      placed.push(o.id);
      const earlier = placed[placed.length - 2];
      if (earlier !== undefined) {
        if (tick % 7 === 0) shopify.cancelOrder(earlier);
        else if (tick % 5 === 0) shopify.refundOrder(earlier);
        else shopify.updateOrder(earlier);
      }
      if (tick % 2 === 0) {
        // London only: Square names an order's tax by a uid local to the order ('tax-1' at every
        // location), and the demo's tax map can give one code one tax.
        const sale = square.randomSale('L-LDN');
        squareSales.push({ id: sale.id, lineUid: sale.line_items![0].uid! });
        if (tick % 6 === 0 && squareSales.length > 1) {
          const back = squareSales[squareSales.length - 2];
          square.returnItems(back.id, [{ lineUid: back.lineUid, quantity: '1' }]);
        }
      }
      // Square pays out what its card sales and refunds owe, every two minutes; the bank confirms the previous payout.
      if (tick % 20 === 0) {
        for (const p of square.payoutBook.payouts.values()) if (p.status === 'SENT') square.settlePayout(p.id, 'PAID');
        square.createPayouts({ locationId: 'L-LDN' });
      }
    } catch (err) {
      log(`[tillwire] demo channel activity: ${(err as Error).message}`);
    }
  }, 6000);
  stops.push(async () => clearInterval(timer));
}

/**
 * The ledgers the Settlements → ledger tab posts to, with the simulators' default charts (the
 * demo's account mappings use their codes): a Xero organisation in GBP (Amazon UK's
 * settlements), one in EUR (Amazon DE's and bol.com's: Xero takes manual journals in an
 * organisation's base currency only) and a QuickBooks Online company in GBP (Shopify's GBP payouts).
 * They accept any refresh token (`anyRefreshToken`), since they start afresh on every `npm start`
 * while the Node-RED store keeps the token the last run rotated to.
 */
async function startLedgers(env: Record<string, string>, stops: Array<() => Promise<void>>, log: (line: string) => void): Promise<void> {
  const xero = async (name: string, port: number, baseCurrency: string, tenantId: string) => {
    const sim = new XeroSimulator({ port, baseCurrency, tenantId, anyRefreshToken: true });
    env[`TILLWIRE_${name}_URL`] = await sim.start();
    env[`TILLWIRE_${name}_API_URL`] = sim.apiUrl;
    env[`TILLWIRE_${name}_TOKEN_URL`] = sim.tokenUrl;
    env[`TILLWIRE_${name}_TENANT_ID`] = sim.tenantId;
    stops.push(() => sim.stop());
    log(
      `[tillwire] Xero simulator (${baseCurrency} organisation): ${sim.url} (tenant ${sim.tenantId}, client ${sim.clientId}, secret ${sim.clientSecret}, refresh token tillwire-xero-refresh-0)`,
    );
  };
  await xero('XERO', portOf('XERO', 18092), 'GBP', '8f3a2b9c-1d4e-4f60-9a7b-0c1d2e3f4a5b');
  await xero('XERO_EU', portOf('XERO_EU', 18093), 'EUR', '3c9d7e21-5b4a-4c8f-8e1d-2f6a0b9c7d35');

  const qbo = new QboSimulator({ port: portOf('QBO', 18445), homeCurrency: 'GBP', anyRefreshToken: true });
  env.TILLWIRE_QBO_URL = await qbo.start();
  env.TILLWIRE_QBO_TOKEN_URL = qbo.tokenUrl;
  env.TILLWIRE_QBO_REALM_ID = qbo.realmId;
  stops.push(() => qbo.stop());
  log(
    `[tillwire] QuickBooks Online simulator: ${qbo.url} (realm ${qbo.realmId}, client ${qbo.clientId}, secret ${qbo.clientSecret}, refresh token ${qbo.currentRefreshToken})`,
  );
}

/** The demo's stock locations: the central warehouse and the two Northwind stores whose tills sell. */
export const DEMO_STOCK = { 'WH-MAIN': 30, 'LDN-001': 5, 'MAN-002': 5 } as const;

/**
 * The demo's opening stock count in the demo store's inventory ledger (the flows' `tillwire.db` in
 * the user directory), one ERP reading per location for every catalogue SKU, written before Node-RED
 * starts: the stand-in for an ERP stock reading on the "Stock → every channel" tab. Each reading is
 * one document, so a restart applies it once (a duplicate changes nothing, sales since stay booked).
 */
export async function seedDemoStock(userDir: string): Promise<void> {
  const store = createStore({ backend: 'sqlite', file: 'tillwire.db' }, userDir, { heartbeatMs: 0 });
  await store.open();
  try {
    for (const [locationId, onHand] of Object.entries(DEMO_STOCK)) {
      const lines = demoCatalog().map((item) => ({ sku: item.sku, locationId, onHand }));
      await store.inventory.snapshot({ system: 'odoo', documentId: `demo-opening-stock:${locationId}` }, lines);
    }
  } finally {
    await store.close();
  }
}
