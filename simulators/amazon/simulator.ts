/**
 * A faithful Amazon Selling Partner API fake (docs/connectors/amazon.md) on 127.0.0.1, for
 * tests, the demo and users trying a flow before touching production. It speaks:
 *
 * - LWA `POST /auth/o2/token` (form or JSON): `grant_type=refresh_token` with `refresh_token`,
 *   `client_id`, `client_secret` → `{ access_token, refresh_token, token_type, expires_in: 3600 }`;
 *   failures as `{ error, error_description }` (`unsupported_grant_type`, `invalid_request`,
 *   `invalid_client` 401, `invalid_grant`).
 * - Every SP-API call needs `x-amz-access-token`; a missing, unknown or expired one is 403
 *   `{ errors: [{ code: "Unauthorized", … }] }`.
 * - Orders API v0: `GET /orders/v0/orders` (getOrders: MarketplaceIds; exactly one of CreatedAfter /
 *   LastUpdatedAfter with optional matching Before, at least two minutes before now; OrderStatuses;
 *   MaxResultsPerPage 1–100; NextToken, which alone reproduces the filters), `GET
 *   /orders/v0/orders/{id}` (getOrder), `GET /orders/v0/orders/{id}/orderItems` (getOrderItems, with
 *   NextToken), `POST /orders/v0/orders/{id}/shipmentConfirmation` (confirmShipment, 204;
 *   idempotent per packageReferenceId). `Pending` orders carry no OrderTotal and their items no
 *   price, tax, shipping or promotion fields until they become `Unshipped`. `ItemPrice` is the
 *   line total (unit × QuantityOrdered). Money amounts are decimal strings.
 * - Listings Items 2021-08-01: `PATCH /listings/2021-08-01/items/{sellerId}/{sku}` (patchListingsItem)
 *   for `/attributes/fulfillment_availability`: `ACCEPTED` and applied after `listingDelayMs`;
 *   `mode=VALIDATION_PREVIEW` answers `VALID`/`INVALID` with issues and changes nothing. The seller
 *   lists the demo catalogue's SKUs (plus `listingSkus`, or `addListing(sku)`); a patch of a SKU it
 *   does not list is `INVALID` with an ERROR issue (code `NOT_FOUND`, inferred: the contract notes
 *   do not say). `GET` of the same path (getListingsItem, `includedData` `summaries`,
 *   `fulfillmentAvailability`) answers `{ sku, summaries: [{ marketplaceId, productType, … }],
 *   fulfillmentAvailability: [{ fulfillmentChannelCode, quantity }] }`, or 404 `NOT_FOUND`.
 * - confirmShipment of an order already fully shipped under another packageReferenceId is 400
 *   `InvalidInput` "… has already been shipped" (the same package again stays a harmless 204).
 * - Per-operation token buckets with Amazon's published rate and burst (rates multiplied by
 *   `rateMultiplier` so tests run fast; bursts unchanged), per application (client id). An empty
 *   bucket answers 429 with the observed `QuotaExceeded` body and only `x-amzn-RequestId`, no
 *   Retry-After. Successes and 400/404 carry `x-amzn-RateLimit-Limit` (the applied rate).
 *
 * The business clock (`now`) is injectable so tests move time without sleeping; token buckets
 * always run on real time, because they govern real throughput.
 *
 * - Orders API 2026-01-01 from the same orders: `GET /orders/2026-01-01/orders` (searchOrders:
 *   camel-case filters as getOrders, `fulfillmentStatuses`, `maxResultsPerPage`, `paginationToken`
 *   from `pagination.nextToken`, `includedData`) and `GET /orders/2026-01-01/orders/{id}`
 *   (getOrder, operation key `getOrderV2026`). Items are always inline; `proceeds` (with
 *   PROCEEDS), `fulfillment` (FULFILLMENT), `payment` (PAYMENT), `promotion` (PROMOTION) only when
 *   asked for. A Pending order has no proceeds. Its own buckets (contract.ts USAGE_PLANS).
 *
 * - Reports API 2021-06-30 for settlements (simulators/amazon/settlements.ts builds them from the
 *   orders): `GET /reports/2021-06-30/reports` (getReports: `reportTypes` or `nextToken` required,
 *   `nextToken` only alone; `processingStatuses`, `marketplaceIds`, `createdSince` (default 90
 *   days ago, nothing older is kept), `createdUntil`, `pageSize` 1–100, default 10; newest first),
 *   `GET /reports/2021-06-30/documents/{id}` (getReportDocument: a URL valid five minutes on the
 *   business clock, `compressionAlgorithm: GZIP` with `settlements.gzip`), the download of that URL
 *   (no SP-API token; an expired URL is 403 with an S3-style XML body), streamed as it is built.
 *   createReport of the settlement type is 400: Amazon creates settlement reports itself.
 *
 * Not implemented: Feeds, other report types, RDTs, buyer info/address, 2026-01-01 packages/recipient.
 *
 * Other processes inspect it through `GET /__simulator/state|orders|plans` and `POST /__simulator/release`.
 *
 * CLI: `node dist/simulators/amazon/simulator.js --port 18443 [--orders 200] [--speed 1] [--seed 7] [--epoch ISO]` (--help).
 */
import { seededRandom } from '../kit/random';
import { Routes } from '../kit/routes';
import { COMMON_FLAGS, helpText, parseFlags, runMain, runSimulatorCli, type Flags } from '../kit/cli';
import http from 'node:http';
import { closeServer, listen } from '../kit/http-server';
import { SimBucket } from '../kit/token-bucket';
import { createGzip } from 'node:zlib';
import { pipeline, Readable } from 'node:stream';
import { hasContent, reserveHeld, settlementFile, settlementsUpTo, type SettlementFormat, type SimSettlement } from './settlements';
import type { Continuity } from '../kit/continuity';
import { randomUUID } from 'node:crypto';
import { catalogItem, DEMO_CATALOG_SIZE } from '../kit/catalog';
import { currencyExponent, fromMinor, toMinor } from '../../nodes/model/money';
import {
  FULFILLMENT_STATUS_TO_V0,
  findMarketplace,
  marketplaceById,
  GET_REPORTS_PAGE_SIZE,
  ORDERS_2026_PATH,
  QUOTA_EXCEEDED,
  REPORT_DOCUMENT_URL_LIFETIME_MS,
  REPORT_DOCUMENTS_PATH,
  REPORT_PROCESSING_STATUSES,
  REPORT_RETENTION_DAYS,
  REPORTS_PATH,
  SETTLEMENT_REPORT_TYPE,
  USAGE_PLANS,
  type Marketplace as ContractMarketplace,
} from '../../nodes/amazon/contract';

const V0_TO_FULFILLMENT_STATUS = Object.fromEntries(Object.entries(FULFILLMENT_STATUS_TO_V0).map(([k, v]) => [v, k]));
const INCLUDED_DATA = [
  'BUYER',
  'RECIPIENT',
  'PROCEEDS',
  'EXPENSE',
  'PROMOTION',
  'CANCELLATION',
  'FULFILLMENT',
  'PACKAGES',
  'TAX',
  'PAYMENT',
  'FULFILLMENT_ORDERS',
];

// ─────────────────────────────────────────── contract data ───────────────────────────────────────

/** The provider's facts (usage plans, 429 body, marketplace table) are the production contract's. */
export { USAGE_PLANS, QUOTA_EXCEEDED } from '../../nodes/amazon/contract';

/** A marketplace the simulator sells in: the contract's entry plus demo data. */
export interface Marketplace extends ContractMarketplace {
  /** Tax rate as numerator/denominator, for generating ItemTax with integer arithmetic (demo data). */
  taxRate: [number, number];
  /** The order's SalesChannel. */
  salesChannel: string;
}

function selling(id: string, taxRate: [number, number], salesChannel: string): Marketplace {
  return { ...marketplaceById(id), taxRate, salesChannel };
}

/**
 * The marketplaces the simulator sells in (it accepts any id of the contract's table). No Amazon
 * marketplace sells in a 3-decimal currency (KWD, BHD, …), so none is simulated; the mapping is
 * tested with such a currency on its own.
 */
export const MARKETPLACES: Marketplace[] = [
  selling('ATVPDKIKX0DER', [8875, 100000], 'Amazon.com'),
  selling('A1F83G8C2ARO7P', [20, 100], 'Amazon.co.uk'),
  selling('A1PA6795UKMFR9', [19, 100], 'Amazon.de'),
  selling('A1VC38T7YXB528', [10, 100], 'Amazon.co.jp'),
];

/** SP-API operations by method and path. */
const ROUTES = new Routes<string>()
  .add('GET', ORDERS_2026_PATH, 'searchOrders')
  .add('GET', `${ORDERS_2026_PATH}/:orderId`, 'getOrderV2026')
  .add('GET', '/orders/v0/orders', 'getOrders')
  .add('GET', '/orders/v0/orders/:orderId', 'getOrder')
  .add('GET', '/orders/v0/orders/:orderId/orderItems', 'getOrderItems')
  .add('POST', '/orders/v0/orders/:orderId/shipmentConfirmation', 'confirmShipment')
  .add('GET', '/listings/2021-08-01/items/:sellerId/:sku', 'getListingsItem')
  .add('PATCH', '/listings/2021-08-01/items/:sellerId/:sku', 'patchListingsItem')
  .add('GET', REPORTS_PATH, 'getReports')
  .add('POST', REPORTS_PATH, 'createReport')
  .add('GET', `${REPORT_DOCUMENTS_PATH}/:documentId`, 'getReportDocument');

/** Where the simulator serves report documents (standing in for Amazon's pre-signed S3 URLs). */
const DOCUMENT_DOWNLOAD_PATH = '/__documents/';

const ORDER_STATUSES = ['PendingAvailability', 'Pending', 'Unshipped', 'PartiallyShipped', 'Shipped', 'InvoiceUnconfirmed', 'Canceled', 'Unfulfillable'];
const TWO_MINUTES = 120_000;

// ─────────────────────────────────────────────── types ───────────────────────────────────────────

export interface AmazonMoney {
  CurrencyCode: string;
  Amount: string;
}

/** An item as the simulator holds it: prices in minor units, always present. */
interface SimItem {
  ASIN: string;
  OrderItemId: string;
  SellerSKU: string;
  Title: string;
  QuantityOrdered: number;
  QuantityShipped: number;
  unit: number;
  ItemPrice: number;
  ItemTax: number;
  PromotionDiscount: number;
  PromotionDiscountTax: number;
  ShippingPrice: number;
  ShippingTax: number;
  ShippingDiscount: number;
  ShippingDiscountTax: number;
  PromotionIds: string[];
}

interface SimOrder {
  AmazonOrderId: string;
  PurchaseDate: number;
  LastUpdateDate: number;
  OrderStatus: string;
  FulfillmentChannel: 'MFN' | 'AFN';
  marketplace: Marketplace;
  items: SimItem[];
  packages: Map<string, string>;
}

export interface AmazonSimulatorOptions {
  port?: number;
  host?: string;
  /** Orders generated at start. */
  orders?: number;
  seed?: number;
  /** PurchaseDate of order 0; later orders follow every `orderSpacingMs`. */
  epoch?: string;
  orderSpacingMs?: number;
  /** Every n-th order (n > 0) starts `Pending`; 0 for none. */
  pendingEvery?: number;
  marketplaceIds?: string[];
  /** Multiplies every published rate (not bursts); 1 = Amazon's own plans. */
  rateMultiplier?: number;
  /** Per-operation overrides of the (unmultiplied) usage plans. */
  usagePlans?: Partial<Record<string, { rate: number; burst: number }>>;
  /** Turns throttling off entirely (demo). */
  throttling?: boolean;
  /** getOrderItems page size (Amazon does not publish it; 30 by default). */
  itemsPageSize?: number;
  /** Business clock in ms (orders' dates, token expiry, the two-minute rule). */
  now?: () => number;
  tokenLifetimeSeconds?: number;
  listingDelayMs?: number;
  /** SKUs the seller lists besides the demo catalogue (patchListingsItem refuses others). */
  listingSkus?: string[];
  sellerId?: string;
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
  /** Settlement reports: period, gzip, EU number and date forms, reserve (simulators/amazon/settlements.ts). */
  settlements?: SettlementFormat;
  /** Carry on from an earlier run (the demo): order numbers, settlement periods and reserves continue. */
  continuity?: Continuity<AmazonContinuity>;
}

/** What the Amazon simulator carries between runs. */
export interface AmazonContinuity {
  /** The first order number not yet used (order ids contain it). */
  nextOrder: number;
  /** The first settlement period number not yet published (settlement ids contain it). */
  nextPeriod: number;
  /** When the last published settlement period ended (ms): a next run's orders start no earlier. */
  settledUntil: number;
  /** Per marketplace, the reserve its last settlement served held (minor units) and that settlement's period number. */
  reserves: Record<string, { held: number; period: number }>;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details = '',
  ) {
    super(message);
  }
}

/** Integer division rounding half up, for non-negative operands. */
function divRound(n: number, d: number): number {
  return Math.floor((2 * n + d) / (2 * d));
}

export interface OperationStats {
  requests: number;
  ok: number;
  throttled: number;
}

// ──────────────────────────────────────────── simulator ──────────────────────────────────────────

export class AmazonSimulator {
  readonly sellerId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly refreshToken: string;
  readonly now: () => number;
  private server?: http.Server;
  private orders = new Map<string, SimOrder>();
  private tokens = new Map<string, { clientId: string; expiresAt: number }>();
  private buckets = new Map<string, SimBucket>();
  private listings = new Map<string, { quantity: number; updatedAt: number }>();
  /** SKUs the seller has listings for. */
  private readonly listed = new Set<string>();
  private readonly drainBeforeNext = new Set<string>();
  private timers = new Set<NodeJS.Timeout>();
  private seq = 0;
  /** Where this run carries on from (continuity), else the start: order numbers and settlement periods begin here. */
  private readonly carry: AmazonContinuity;
  stats: Record<string, OperationStats> = {};
  /** Fault injection: orders whose OrderTotal is off by one minor unit (a broken payload). */
  readonly wrongTotals = new Set<string>();
  /** Every SP-API request in arrival order: operation, status, real time (ms). */
  log: Array<{ operation: string; status: number; at: number }> = [];
  url = '';

  constructor(private readonly opts: AmazonSimulatorOptions = {}) {
    this.sellerId = opts.sellerId ?? 'A2TILLWIRESELLER';
    this.clientId = opts.clientId ?? 'amzn1.application-oa2-client.tillwire';
    this.clientSecret = opts.clientSecret ?? 'tillwire-demo-secret';
    this.refreshToken = opts.refreshToken ?? 'Atzr|tillwire-demo-refresh-token';
    this.now = opts.now ?? Date.now;
    this.carry = opts.continuity?.from ?? { nextOrder: 0, nextPeriod: 0, settledUntil: 0, reserves: {} };
    for (let i = 0; i < DEMO_CATALOG_SIZE; i++) this.listed.add(catalogItem(i).sku);
    for (const sku of opts.listingSkus ?? []) this.listed.add(sku);
    this.reset();
  }

  // ── state ──

  /** Regenerates the orders and clears tokens, buckets, listings and statistics. */
  reset(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.orders.clear();
    this.tokens.clear();
    this.buckets.clear();
    this.listings.clear();
    this.wrongTotals.clear();
    this.stats = {};
    this.log = [];
    this.seq = 0;
    const count = this.opts.orders ?? 200;
    const first = this.carry.nextOrder;
    for (let i = first; i < first + count; i++) this.addOrder(this.generate(i));
    this.saveCarry({ nextOrder: first + count });
  }

  /** Records what a next run carries on from (continuity), once it is past what this run started from. */
  private saveCarry(change: Partial<AmazonContinuity>): void {
    const c = this.opts.continuity;
    if (!c) return;
    this.latest = { ...(this.latest ?? this.carry), ...change };
    c.save(this.latest);
  }
  private latest?: AmazonContinuity;

  private get marketplaces(): Marketplace[] {
    const ids = this.opts.marketplaceIds;
    return ids ? MARKETPLACES.filter((m) => ids.includes(m.id)) : MARKETPLACES;
  }

  /** Order number `i`, the same for the same seed and options. */
  private generate(i: number): SimOrder {
    const rnd = seededRandom((this.opts.seed ?? 7) * 1_000_003 + i);
    const mp = this.marketplaces[i % this.marketplaces.length];
    const epoch = Date.parse(this.opts.epoch ?? '2025-03-01T00:00:00Z');
    const purchase = epoch + (i - this.carry.nextOrder) * (this.opts.orderSpacingMs ?? 60_000);
    const pendingEvery = this.opts.pendingEvery ?? 20;
    const r = rnd();
    const status = pendingEvery > 0 && i % pendingEvery === pendingEvery - 1 ? 'Pending' : r < 0.05 ? 'Canceled' : r < 0.35 ? 'Shipped' : 'Unshipped';
    const jpy = currencyExponent(mp.currency) === 0;
    const id = `${String(111 + (i % 900)).padStart(3, '0')}-${String(i).padStart(7, '0')}-${String(Math.floor(rnd() * 1e7)).padStart(7, '0')}`;
    const lines = 1 + Math.floor(rnd() * 3) + (i % 17 === 0 ? 3 : 0);
    const items: SimItem[] = [];
    const freeShipping = i % 5 === 0;
    for (let l = 0; l < lines; l++) {
      const cat = catalogItem((i * 7 + l * 13) % 500);
      const unit = jpy ? Math.round(cat.unitPrice / 100) * 100 + 80 : cat.unitPrice;
      const qty = 1 + Math.floor(rnd() * 3);
      const price = unit * qty;
      const promo = (i + l) % 4 === 0 ? divRound(price, 10) : 0;
      const ship = l === 0 ? (jpy ? 450 : 399) : 0;
      const shipDiscount = freeShipping ? ship : 0;
      const [rn, rd] = mp.taxRate;
      // Tax on an amount: added on top (US) or the share contained in a tax-inclusive amount.
      const tax = (amount: number) => (mp.taxesIncluded ? divRound(amount * rn, rd + rn) : divRound(amount * rn, rd));
      items.push({
        ASIN: `B0${String((i * 7 + l * 13) % 500).padStart(8, '0')}`,
        OrderItemId: String(10_000_000_000_000 + i * 10 + l),
        SellerSKU: cat.sku,
        Title: cat.name,
        QuantityOrdered: qty,
        QuantityShipped: status === 'Shipped' ? qty : 0,
        unit,
        ItemPrice: price,
        ItemTax: tax(price),
        PromotionDiscount: promo,
        PromotionDiscountTax: tax(promo),
        ShippingPrice: ship,
        ShippingTax: tax(ship),
        ShippingDiscount: shipDiscount,
        ShippingDiscountTax: tax(shipDiscount),
        PromotionIds: promo ? [`PROMO-${(i + l) % 7}`] : [],
      });
    }
    return {
      AmazonOrderId: id,
      PurchaseDate: purchase,
      LastUpdateDate: purchase + 5 * 60_000,
      OrderStatus: status,
      FulfillmentChannel: i % 3 === 0 ? 'AFN' : 'MFN',
      marketplace: mp,
      items,
      packages: new Map(),
    };
  }

  private addOrder(o: SimOrder): void {
    this.orders.set(o.AmazonOrderId, o);
  }

  /** Business time strictly after every LastUpdateDate so far (Amazon's clock never goes back). */
  private touch(o: SimOrder): void {
    o.LastUpdateDate = Math.max(this.now(), o.LastUpdateDate + 1);
  }

  /** Ids of all orders, in generation order. */
  orderIds(): string[] {
    return [...this.orders.keys()];
  }

  /** An order as getOrders shows it (a copy). */
  order(id: string): Record<string, any> | undefined {
    const o = this.orders.get(id);
    return o && this.orderJson(o);
  }

  /** All items of an order as getOrderItems shows them. */
  items(id: string): Record<string, any>[] {
    const o = this.orders.get(id);
    return o ? o.items.map((it) => this.itemJson(o, it)) : [];
  }

  /** A Pending order becomes Unshipped: priced, and its LastUpdateDate moves to now. */
  releasePending(id?: string): string[] {
    const released: string[] = [];
    for (const o of this.orders.values()) {
      if (o.OrderStatus !== 'Pending' || (id && o.AmazonOrderId !== id)) continue;
      o.OrderStatus = 'Unshipped';
      this.touch(o);
      released.push(o.AmazonOrderId);
    }
    return released;
  }

  /** Changes an order's status as Amazon would (e.g. a cancellation); LastUpdateDate moves to now. */
  setStatus(id: string, status: string): void {
    const o = this.orders.get(id);
    if (!o) throw new Error(`no order ${id}`);
    o.OrderStatus = status;
    this.touch(o);
  }

  /** Lists a SKU for the seller (patchListingsItem then accepts it). */
  addListing(sku: string): void {
    this.listed.add(sku);
  }

  /**
   * Other calls of the application use an operation's bucket up just before its next request:
   * that request finds it empty (429), however long it takes to arrive; it refills as usual after.
   */
  exhaust(operation: string, clientId = this.clientId): void {
    this.drainBeforeNext.add(`${clientId}/${operation}`);
  }

  /** Quantity set for a SKU in a marketplace through patchListingsItem, once applied. */
  listing(sku: string, marketplaceId: string): number | undefined {
    return this.listings.get(`${marketplaceId}/${sku}`)?.quantity;
  }

  /** Sets a listing's quantity as Seller Central (or a sale) would, behind the API's back: tests of drift. */
  setListingQuantity(sku: string, marketplaceId: string, quantity: number): void {
    this.listings.set(`${marketplaceId}/${sku}`, { quantity, updatedAt: this.now() });
  }

  /** Shipments confirmed for an order: packageReferenceId → tracking number. */
  packages(id: string): Record<string, string> {
    return Object.fromEntries(this.orders.get(id)?.packages ?? []);
  }

  /** Makes every access token issued so far expire (as an hour passing would). */
  expireTokens(): void {
    for (const t of this.tokens.values()) t.expiresAt = 0;
  }

  /** The rate (req/s) and burst the simulator applies to an operation. */
  plan(operation: string): { rate: number; burst: number } {
    const base = this.opts.usagePlans?.[operation] ?? USAGE_PLANS[operation];
    return { rate: base.rate * (this.opts.rateMultiplier ?? 1), burst: base.burst };
  }

  // ── JSON views ──

  private money(amount: number, currency: string): AmazonMoney {
    return { CurrencyCode: currency, Amount: fromMinor(amount, currency) };
  }

  private orderJson(o: SimOrder): Record<string, any> {
    const cur = o.marketplace.currency;
    const shipped = o.items.reduce((s, it) => s + it.QuantityShipped, 0);
    const ordered = o.items.reduce((s, it) => s + it.QuantityOrdered, 0);
    const json: Record<string, any> = {
      AmazonOrderId: o.AmazonOrderId,
      PurchaseDate: iso(o.PurchaseDate),
      LastUpdateDate: iso(o.LastUpdateDate),
      OrderStatus: o.OrderStatus,
      FulfillmentChannel: o.FulfillmentChannel,
      SalesChannel: o.marketplace.salesChannel,
      NumberOfItemsShipped: shipped,
      NumberOfItemsUnshipped: ordered - shipped,
      PaymentMethod: 'Other',
      PaymentMethodDetails: ['Standard'],
      MarketplaceId: o.marketplace.id,
      OrderType: 'StandardOrder',
      IsBusinessOrder: false,
      IsPrime: o.FulfillmentChannel === 'AFN',
      IsReplacementOrder: 'false',
    };
    if (o.OrderStatus !== 'Pending') {
      const total = o.items.reduce(
        (s, it) =>
          s +
          it.ItemPrice -
          it.PromotionDiscount +
          it.ShippingPrice -
          it.ShippingDiscount +
          (o.marketplace.taxesIncluded ? 0 : it.ItemTax - it.PromotionDiscountTax + it.ShippingTax - it.ShippingDiscountTax),
        0,
      );
      json.OrderTotal = this.money(total + (this.wrongTotals.has(o.AmazonOrderId) ? 1 : 0), cur);
    }
    return json;
  }

  private itemJson(o: SimOrder, it: SimItem): Record<string, any> {
    const cur = o.marketplace.currency;
    const json: Record<string, any> = {
      ASIN: it.ASIN,
      SellerSKU: it.SellerSKU,
      OrderItemId: it.OrderItemId,
      Title: it.Title,
      QuantityOrdered: it.QuantityOrdered,
      QuantityShipped: it.QuantityShipped,
      IsGift: 'false',
      ConditionId: 'New',
    };
    if (o.OrderStatus === 'Pending') return json; // no pricing while Pending (contract §1.2)
    json.ItemPrice = this.money(it.ItemPrice, cur);
    json.ItemTax = this.money(it.ItemTax, cur);
    json.PromotionDiscount = this.money(it.PromotionDiscount, cur);
    json.PromotionDiscountTax = this.money(it.PromotionDiscountTax, cur);
    json.PromotionIds = it.PromotionIds;
    if (it.ShippingPrice || it.ShippingDiscount) {
      json.ShippingPrice = this.money(it.ShippingPrice, cur);
      json.ShippingTax = this.money(it.ShippingTax, cur);
      json.ShippingDiscount = this.money(it.ShippingDiscount, cur);
      json.ShippingDiscountTax = this.money(it.ShippingDiscountTax, cur);
    }
    return json;
  }

  // ── HTTP ──

  async start(): Promise<string> {
    const { server, url } = await listen((req, res) => void this.handle(req, res), this.opts.port, this.opts.host);
    this.server = server;
    this.url = url;
    return url;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeServer(server);
  }

  /** LWA token endpoint; in production `https://api.amazon.com/auth/o2/token`. */
  get tokenUrl(): string {
    return `${this.url}/auth/o2/token`;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://sim');
    const requestId = randomUUID();
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = body === undefined ? '' : JSON.stringify(body);
      res.writeHead(status, { 'x-amzn-RequestId': requestId, ...(text ? { 'content-type': 'application/json' } : {}), ...headers });
      res.end(text);
    };
    if (url.pathname === '/auth/o2/token' && req.method === 'POST') return this.lwa(req, raw, send);
    if (url.pathname.startsWith(DOCUMENT_DOWNLOAD_PATH) && req.method === 'GET') return this.download(url, res, requestId);
    if (url.pathname === '/__simulator/state') return send(200, this.snapshot());
    if (url.pathname === '/__simulator/release' && req.method === 'POST') return send(200, { released: this.releasePending() });
    if (url.pathname === '/__simulator/orders') {
      return send(
        200,
        [...this.orders.values()].map((o) => ({ AmazonOrderId: o.AmazonOrderId, OrderStatus: o.OrderStatus, LastUpdateDate: iso(o.LastUpdateDate) })),
      );
    }
    if (url.pathname === '/__simulator/plans') {
      return send(200, Object.fromEntries(Object.keys(USAGE_PLANS).map((op) => [op, this.plan(op)])));
    }

    const route = this.route(req.method ?? 'GET', url.pathname);
    if (!route) return send(404, { errors: [{ code: 'NotFound', message: 'Resource not found', details: '' }] });
    const { operation } = route;
    const stats = (this.stats[operation] ??= { requests: 0, ok: 0, throttled: 0 });
    stats.requests++;
    const record = (status: number) => this.log.push({ operation, status, at: performance.now() });
    const plan = this.plan(operation);
    const limitHeader = { 'x-amzn-RateLimit-Limit': formatRate(plan.rate) };
    try {
      const token = req.headers['x-amz-access-token'];
      const known = typeof token === 'string' ? this.tokens.get(token) : undefined;
      if (!known) throw new ApiError(403, 'Unauthorized', 'Access to requested resource is denied.', 'The access token is missing or invalid.');
      if (known.expiresAt <= this.now())
        throw new ApiError(403, 'Unauthorized', 'Access to requested resource is denied.', 'The access token you provided has expired.');
      if (this.opts.throttling !== false) {
        const key = `${known.clientId}/${operation}`;
        let bucket = this.buckets.get(key);
        if (!bucket) this.buckets.set(key, (bucket = new SimBucket(plan.burst, plan.rate)));
        if (this.drainBeforeNext.delete(key)) {
          bucket.take();
          bucket.tokens = 0;
        }
        if (!bucket.take()) {
          stats.throttled++;
          record(429);
          return send(429, QUOTA_EXCEEDED);
        }
      }
      const { status, body } = this.dispatch(operation, route.params, url.searchParams, raw);
      stats.ok++;
      record(status);
      send(status, body, limitHeader);
    } catch (err) {
      if (!(err instanceof ApiError)) {
        record(500);
        return send(500, { errors: [{ code: 'InternalFailure', message: String((err as Error).message), details: '' }] });
      }
      record(err.status);
      const headers = err.status === 400 || err.status === 404 ? limitHeader : {};
      send(err.status, { errors: [{ code: err.code, message: err.message, details: err.details }] }, headers);
    }
  }

  private lwa(req: http.IncomingMessage, raw: string, send: (s: number, b: unknown) => void): void {
    let p: Record<string, string> = {};
    if ((req.headers['content-type'] ?? '').includes('json')) {
      try {
        p = JSON.parse(raw);
      } catch {
        return send(400, { error: 'invalid_request', error_description: 'Malformed request body' });
      }
    } else p = Object.fromEntries(new URLSearchParams(raw));
    if (!p.grant_type) return send(400, { error: 'invalid_request', error_description: 'The request is missing a required parameter : grant_type' });
    if (p.grant_type !== 'refresh_token') return send(400, { error: 'unsupported_grant_type', error_description: `Unsupported grant type: ${p.grant_type}` });
    if (p.client_id !== this.clientId || p.client_secret !== this.clientSecret) {
      return send(401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    }
    if (p.refresh_token !== this.refreshToken)
      return send(400, { error: 'invalid_grant', error_description: 'The request has an invalid grant parameter : refresh_token' });
    const lifetime = this.opts.tokenLifetimeSeconds ?? 3600;
    const access = `Atza|${randomUUID()}`;
    this.tokens.set(access, { clientId: p.client_id, expiresAt: this.now() + lifetime * 1000 });
    send(200, { access_token: access, refresh_token: this.refreshToken, token_type: 'bearer', expires_in: lifetime });
  }

  private route(method: string, path: string): { operation: string; params: string[] } | undefined {
    const m = ROUTES.match(method, path);
    return m && { operation: m.value, params: m.params };
  }

  private dispatch(operation: string, params: string[], q: URLSearchParams, raw: string): { status: number; body: unknown } {
    switch (operation) {
      case 'getOrders':
        return { status: 200, body: { payload: this.getOrders(q) } };
      case 'getOrder': {
        const o = this.find(params[0]);
        return { status: 200, body: { payload: this.orderJson(o) } };
      }
      case 'getOrderItems':
        return { status: 200, body: { payload: this.getOrderItems(params[0], q) } };
      case 'searchOrders':
        return { status: 200, body: this.searchOrders(q) };
      case 'getOrderV2026':
        return { status: 200, body: { order: this.order2026Json(this.find(params[0]), includedData(q)) } };
      case 'confirmShipment':
        this.confirmShipment(params[0], parseBody(raw));
        return { status: 204, body: undefined };
      case 'patchListingsItem':
        return { status: 200, body: this.patchListingsItem(params[0], params[1], q, parseBody(raw)) };
      case 'getListingsItem':
        return { status: 200, body: this.getListingsItem(params[0], params[1], q) };
      case 'getReports':
        return { status: 200, body: this.getReports(q) };
      case 'getReportDocument':
        return { status: 200, body: this.getReportDocument(params[0]) };
      case 'createReport': {
        const body = parseBody(raw);
        if (body?.reportType === SETTLEMENT_REPORT_TYPE)
          throw new ApiError(400, 'InvalidInput', `Report type ${SETTLEMENT_REPORT_TYPE} cannot be requested: Amazon creates settlement reports itself`);
        throw new ApiError(400, 'InvalidInput', `Report type ${String(body?.reportType)} is not simulated`);
      }
    }
    throw new ApiError(404, 'NotFound', 'Resource not found');
  }

  private find(id: string): SimOrder {
    const o = this.orders.get(id);
    if (!o) throw new ApiError(404, 'NotFound', `Order ${id} not found`);
    return o;
  }

  private getOrders(q: URLSearchParams): Record<string, any> {
    let f: Filters;
    const nextToken = q.get('NextToken');
    if (nextToken) {
      try {
        f = JSON.parse(Buffer.from(nextToken, 'base64url').toString('utf8'));
      } catch {
        throw new ApiError(400, 'InvalidInput', 'Invalid NextToken');
      }
      if (!f || typeof f.field !== 'string') throw new ApiError(400, 'InvalidInput', 'Invalid NextToken');
    } else f = this.filters(q);
    const matches: SimOrder[] = [];
    for (const o of this.orders.values()) {
      const t = f.field === 'LastUpdateDate' ? o.LastUpdateDate : o.PurchaseDate;
      if (t < f.after || t > f.before) continue;
      if (!f.marketplaceIds.includes(o.marketplace.id)) continue;
      if (f.statuses.length && !f.statuses.includes(o.OrderStatus)) continue;
      if (f.cursor && (t < f.cursor[0] || (t === f.cursor[0] && o.AmazonOrderId <= f.cursor[1]))) continue;
      matches.push(o);
    }
    const key = (o: SimOrder) => (f.field === 'LastUpdateDate' ? o.LastUpdateDate : o.PurchaseDate);
    matches.sort((a, b) => key(a) - key(b) || (a.AmazonOrderId < b.AmazonOrderId ? -1 : 1));
    const page = matches.slice(0, f.max);
    const payload: Record<string, any> = { Orders: page.map((o) => this.orderJson(o)) };
    if (matches.length > f.max) {
      const last = page[page.length - 1];
      const next: Filters = { ...f, cursor: [key(last), last.AmazonOrderId] };
      payload.NextToken = Buffer.from(JSON.stringify(next)).toString('base64url');
    }
    payload[f.field === 'LastUpdateDate' ? 'LastUpdatedBefore' : 'CreatedBefore'] = iso(f.before);
    return payload;
  }

  private filters(q: URLSearchParams): Filters {
    const list = (name: string) =>
      q
        .getAll(name)
        .flatMap((v) => v.split(','))
        .map((v) => v.trim())
        .filter(Boolean);
    const marketplaceIds = list('MarketplaceIds');
    if (!marketplaceIds.length) throw new ApiError(400, 'InvalidInput', 'Missing required parameter MarketplaceIds');
    for (const id of marketplaceIds) if (!findMarketplace(id)) throw new ApiError(400, 'InvalidInput', `Invalid MarketplaceId: ${id}`);
    const created = q.has('CreatedAfter') || q.has('CreatedBefore');
    const updated = q.has('LastUpdatedAfter') || q.has('LastUpdatedBefore');
    if (created && updated) throw new ApiError(400, 'InvalidInput', 'CreatedAfter/CreatedBefore cannot be combined with LastUpdatedAfter/LastUpdatedBefore');
    const field = updated ? 'LastUpdateDate' : 'PurchaseDate';
    const afterName = updated ? 'LastUpdatedAfter' : 'CreatedAfter';
    const beforeName = updated ? 'LastUpdatedBefore' : 'CreatedBefore';
    const afterText = q.get(afterName);
    if (!afterText) throw new ApiError(400, 'InvalidInput', 'Either CreatedAfter or LastUpdatedAfter must be specified');
    const after = parseDate(afterText, afterName);
    const limit = this.now() - TWO_MINUTES;
    let before = limit;
    const beforeText = q.get(beforeName);
    if (beforeText) {
      before = parseDate(beforeText, beforeName);
      if (before < after) throw new ApiError(400, 'InvalidInput', `${beforeName} must be on or after ${afterName}`);
      if (before > limit) throw new ApiError(400, 'InvalidInput', `${beforeName} must be at least two minutes before the time of the request`);
    }
    if (after > limit) throw new ApiError(400, 'InvalidInput', `${afterName} must be at least two minutes before the time of the request`);
    const statuses = list('OrderStatuses');
    for (const s of statuses) if (!ORDER_STATUSES.includes(s)) throw new ApiError(400, 'InvalidInput', `Invalid OrderStatuses value: ${s}`);
    const maxText = q.get('MaxResultsPerPage');
    const max = maxText === null ? 100 : Number(maxText);
    if (!Number.isInteger(max) || max < 1 || max > 100) throw new ApiError(400, 'InvalidInput', 'MaxResultsPerPage must be between 1 and 100');
    return { field, after, before, marketplaceIds, statuses, max };
  }

  private getOrderItems(id: string, q: URLSearchParams): Record<string, any> {
    const o = this.find(id);
    const size = this.opts.itemsPageSize ?? 30;
    let start = 0;
    const token = q.get('NextToken');
    if (token) {
      const m = /^items:(.+):(\d+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
      if (!m || m[1] !== id) throw new ApiError(400, 'InvalidInput', 'Invalid NextToken');
      start = Number(m[2]);
    }
    const page = o.items.slice(start, start + size).map((it) => this.itemJson(o, it));
    const payload: Record<string, any> = { AmazonOrderId: id, OrderItems: page };
    if (start + size < o.items.length) payload.NextToken = Buffer.from(`items:${id}:${start + size}`).toString('base64url');
    return payload;
  }

  private confirmShipment(id: string, body: any): void {
    const o = this.find(id);
    const pkg = body?.packageDetail;
    if (!body || typeof body.marketplaceId !== 'string') throw new ApiError(400, 'InvalidInput', 'marketplaceId is required');
    if (body.marketplaceId !== o.marketplace.id) throw new ApiError(400, 'InvalidInput', `Order ${id} is not in marketplace ${body.marketplaceId}`);
    if (!pkg || typeof pkg.packageReferenceId !== 'string' || !pkg.carrierCode || !pkg.trackingNumber || !pkg.shipDate || !Array.isArray(pkg.orderItems)) {
      throw new ApiError(400, 'InvalidInput', 'packageDetail needs packageReferenceId, carrierCode, trackingNumber, shipDate and orderItems');
    }
    if (o.packages.has(pkg.packageReferenceId)) return; // the same package again: already confirmed
    if (o.OrderStatus === 'Shipped') throw new ApiError(400, 'InvalidInput', `Order ${id} has already been shipped`);
    if (o.OrderStatus === 'Pending' || o.OrderStatus === 'Canceled')
      throw new ApiError(400, 'InvalidInput', `Order ${id} is ${o.OrderStatus} and cannot be shipped`);
    const changes: Array<[SimItem, number]> = [];
    for (const line of pkg.orderItems) {
      const it = o.items.find((x) => x.OrderItemId === line?.orderItemId);
      if (!it) throw new ApiError(400, 'InvalidInput', `Unknown orderItemId ${line?.orderItemId}`);
      const qty = Number(line.quantity);
      if (!Number.isInteger(qty) || qty < 1 || it.QuantityShipped + qty > it.QuantityOrdered) {
        throw new ApiError(400, 'InvalidInput', `Invalid quantity ${line.quantity} for orderItemId ${it.OrderItemId}`);
      }
      changes.push([it, qty]);
    }
    for (const [it, qty] of changes) it.QuantityShipped += qty;
    o.packages.set(pkg.packageReferenceId, String(pkg.trackingNumber));
    o.OrderStatus = o.items.every((it) => it.QuantityShipped === it.QuantityOrdered) ? 'Shipped' : 'PartiallyShipped';
    this.touch(o);
  }

  private patchListingsItem(sellerId: string, sku: string, q: URLSearchParams, body: any): Record<string, any> {
    if (sellerId !== this.sellerId) throw new ApiError(403, 'Unauthorized', 'Access to requested resource is denied.', `Seller ${sellerId} is not authorised`);
    const marketplaceIds = (q.get('marketplaceIds') ?? '').split(',').filter(Boolean);
    if (!marketplaceIds.length) throw new ApiError(400, 'InvalidInput', 'Missing required parameter marketplaceIds');
    for (const id of marketplaceIds) if (!findMarketplace(id)) throw new ApiError(400, 'InvalidInput', `Invalid marketplaceIds value: ${id}`);
    const issues: Array<Record<string, unknown>> = [];
    const issue = (message: string, attributeNames: string[] = []) =>
      issues.push({ code: '90220', message, severity: 'ERROR', attributeNames, categories: ['INVALID_ATTRIBUTE'] });
    if (!body || typeof body.productType !== 'string' || !body.productType) throw new ApiError(400, 'InvalidInput', 'productType is required');
    if (!Array.isArray(body.patches) || !body.patches.length) throw new ApiError(400, 'InvalidInput', 'patches is required');
    let quantity: number | undefined;
    for (const p of body.patches) {
      if (!['add', 'replace', 'merge', 'delete'].includes(p?.op)) throw new ApiError(400, 'InvalidInput', `Invalid patch op: ${p?.op}`);
      if (typeof p.path !== 'string' || !p.path.startsWith('/attributes/')) throw new ApiError(400, 'InvalidInput', `Invalid patch path: ${p?.path}`);
      if (p.path !== '/attributes/fulfillment_availability') continue;
      const v = Array.isArray(p.value) ? p.value[0] : undefined;
      if (!v || typeof v.fulfillment_channel_code !== 'string') issue("'fulfillment_channel_code' is required", ['fulfillment_availability']);
      else if (!Number.isInteger(v.quantity) || v.quantity < 0) issue("'quantity' must be a whole number of 0 or more", ['fulfillment_availability']);
      else quantity = v.quantity;
    }
    if (!this.listed.has(sku)) {
      issues.push({
        code: 'NOT_FOUND',
        message: `The SKU '${sku}' is not listed by seller ${sellerId}; a patch needs an existing listing.`,
        severity: 'ERROR',
        attributeNames: [],
        categories: [],
      });
    }
    const submissionId = randomUUID().replace(/-/g, '');
    if (q.get('mode') === 'VALIDATION_PREVIEW') return { sku, status: issues.length ? 'INVALID' : 'VALID', submissionId, issues };
    if (issues.length) return { sku, status: 'INVALID', submissionId, issues };
    if (quantity !== undefined) {
      const apply = () => {
        for (const mp of marketplaceIds) this.listings.set(`${mp}/${sku}`, { quantity: quantity!, updatedAt: this.now() });
      };
      const delay = this.opts.listingDelayMs ?? 0;
      if (delay <= 0) apply();
      else {
        const t = setTimeout(() => {
          this.timers.delete(t);
          apply();
        }, delay);
        this.timers.add(t);
      }
    }
    return { sku, status: 'ACCEPTED', submissionId, issues: [] };
  }

  private getListingsItem(sellerId: string, sku: string, q: URLSearchParams): Record<string, any> {
    if (sellerId !== this.sellerId) throw new ApiError(403, 'Unauthorized', 'Access to requested resource is denied.', `Seller ${sellerId} is not authorised`);
    const marketplaceIds = (q.get('marketplaceIds') ?? '').split(',').filter(Boolean);
    if (marketplaceIds.length !== 1) throw new ApiError(400, 'InvalidInput', 'marketplaceIds must hold exactly one marketplace id');
    const mp = marketplaceIds[0];
    if (!findMarketplace(mp)) throw new ApiError(400, 'InvalidInput', `Invalid marketplaceIds value: ${mp}`);
    if (!this.listed.has(sku)) throw new ApiError(404, 'NOT_FOUND', `Requested item '${sku}' not found for seller ${sellerId}`);
    const included = (q.get('includedData') ?? 'summaries').split(',').filter(Boolean);
    const out: Record<string, any> = { sku };
    if (included.includes('summaries')) {
      const index = Number(/^SKU-(\d+)$/.exec(sku)?.[1] ?? 0) - 1;
      out.summaries = [
        {
          marketplaceId: mp,
          asin: `B0${String(Math.max(0, index)).padStart(8, '0')}`,
          productType: 'PRODUCT',
          conditionType: 'new_new',
          status: ['BUYABLE'],
          itemName: index >= 0 ? catalogItem(index).name : sku,
        },
      ];
    }
    if (included.includes('fulfillmentAvailability')) {
      const l = this.listings.get(`${mp}/${sku}`);
      out.fulfillmentAvailability = l ? [{ fulfillmentChannelCode: 'DEFAULT', quantity: l.quantity }] : [];
    }
    return out;
  }

  /** An order as the 2026-01-01 API shows it with these includedData sets (a copy). */
  order2026(id: string, included: string[] = ['PROCEEDS', 'FULFILLMENT', 'BUYER', 'PAYMENT', 'PROMOTION']): Record<string, any> | undefined {
    const o = this.orders.get(id);
    return o && this.order2026Json(o, included);
  }

  /** searchOrders: getOrders' filtering and paging under 2026-01-01's names and shapes. */
  private searchOrders(q: URLSearchParams): Record<string, any> {
    const v0 = new URLSearchParams();
    const token = q.get('paginationToken');
    if (token) v0.set('NextToken', token);
    else {
      const names: Record<string, string> = {
        createdAfter: 'CreatedAfter',
        createdBefore: 'CreatedBefore',
        lastUpdatedAfter: 'LastUpdatedAfter',
        lastUpdatedBefore: 'LastUpdatedBefore',
        maxResultsPerPage: 'MaxResultsPerPage',
      };
      for (const [from, to] of Object.entries(names)) for (const v of q.getAll(from)) v0.append(to, v);
      const list = (name: string) =>
        q
          .getAll(name)
          .flatMap((v) => v.split(','))
          .map((v) => v.trim())
          .filter(Boolean);
      // marketplaceIds is optional here: without it, every marketplace the seller sells in.
      const ids = list('marketplaceIds');
      v0.set('MarketplaceIds', (ids.length ? ids : this.marketplaces.map((m) => m.id)).join(','));
      const statuses = list('fulfillmentStatuses').map((s) => {
        const v = FULFILLMENT_STATUS_TO_V0[s];
        if (!v) throw new ApiError(400, 'InvalidInput', `Invalid fulfillmentStatuses value: ${s}`);
        return v;
      });
      if (statuses.length) v0.set('OrderStatuses', statuses.join(','));
      if (!q.has('createdAfter') && !q.has('lastUpdatedAfter'))
        throw new ApiError(400, 'InvalidInput', 'Exactly one of createdAfter and lastUpdatedAfter must be provided');
    }
    const included = includedData(q);
    let page: Record<string, any>;
    try {
      page = this.getOrders(v0);
    } catch (err) {
      // v0's messages name v0's parameters; the same problem under this version's names.
      if (err instanceof ApiError && /NextToken/.test(err.message)) throw new ApiError(400, 'InvalidInput', 'Invalid paginationToken');
      throw err;
    }
    const body: Record<string, any> = { orders: page.Orders.map((o: Record<string, any>) => this.order2026Json(this.orders.get(o.AmazonOrderId)!, included)) };
    if (page.NextToken) body.pagination = { nextToken: page.NextToken };
    if (page.LastUpdatedBefore) body.lastUpdatedBefore = page.LastUpdatedBefore;
    if (page.CreatedBefore) body.createdBefore = page.CreatedBefore;
    return body;
  }

  /**
   * The 2026-01-01 view of an order, from the same figures as the v0 view: breakdowns carry v0's
   * amounts (ITEM = ItemPrice, SHIPPING = ShippingPrice, DISCOUNT as reductions with ITEM /
   * SHIPPING detail, TAX with ITEM / SHIPPING detail net of the discounts' tax), so the canonical
   * order is the same whichever version fetched it (docs/connectors/amazon.md says what is inferred).
   */
  private order2026Json(o: SimOrder, included: string[]): Record<string, any> {
    const cur = o.marketplace.currency;
    const money = (n: number) => ({ amount: fromMinor(n, cur), currencyCode: cur });
    const priced = o.OrderStatus !== 'Pending';
    const json: Record<string, any> = {
      orderId: o.AmazonOrderId,
      createdTime: iso(o.PurchaseDate),
      lastUpdatedTime: iso(o.LastUpdateDate),
      salesChannel: { channelName: 'AMAZON', marketplaceId: o.marketplace.id, marketplaceName: o.marketplace.salesChannel },
      orderItems: o.items.map((it) => {
        const item: Record<string, any> = {
          orderItemId: it.OrderItemId,
          quantityOrdered: it.QuantityOrdered,
          product: { asin: it.ASIN, title: it.Title, sellerSku: it.SellerSKU, condition: { conditionType: 'NEW', conditionSubtype: 'NEW' } },
        };
        if (priced) item.product.price = { unitPrice: money(it.unit) };
        if (priced && included.includes('PROCEEDS')) {
          const breakdowns: Array<Record<string, any>> = [{ type: 'ITEM', subtotal: money(it.ItemPrice) }];
          const ship = it.ShippingPrice || it.ShippingDiscount;
          if (ship) breakdowns.push({ type: 'SHIPPING', subtotal: money(it.ShippingPrice) });
          if (it.PromotionDiscount || it.ShippingDiscount) {
            breakdowns.push({
              type: 'DISCOUNT',
              subtotal: money(-(it.PromotionDiscount + it.ShippingDiscount)),
              detailedBreakdowns: [
                { subtype: 'ITEM', value: money(-it.PromotionDiscount) },
                ...(it.ShippingDiscount ? [{ subtype: 'SHIPPING', value: money(-it.ShippingDiscount) }] : []),
              ],
            });
          }
          const itemTax = it.ItemTax - it.PromotionDiscountTax;
          const shipTax = ship ? it.ShippingTax - it.ShippingDiscountTax : 0;
          breakdowns.push({
            type: 'TAX',
            subtotal: money(itemTax + shipTax),
            detailedBreakdowns: [{ subtype: 'ITEM', value: money(itemTax) }, ...(ship ? [{ subtype: 'SHIPPING', value: money(shipTax) }] : [])],
          });
          const total = breakdowns.reduce((s, b) => s + (o.marketplace.taxesIncluded && b.type === 'TAX' ? 0 : toMinorOf(b.subtotal)), 0);
          item.proceeds = { proceedsTotal: money(total), breakdowns };
        }
        if (included.includes('PROMOTION') && it.PromotionIds.length) item.promotion = { breakdowns: it.PromotionIds.map((promotionId) => ({ promotionId })) };
        if (included.includes('FULFILLMENT'))
          item.fulfillment = { quantityFulfilled: it.QuantityShipped, quantityUnfulfilled: it.QuantityOrdered - it.QuantityShipped };
        return item;
      }),
    };
    if (priced && included.includes('PROCEEDS')) {
      const v0Total = this.orderJson(o).OrderTotal as AmazonMoney;
      json.proceeds = { grandTotal: { amount: v0Total.Amount, currencyCode: v0Total.CurrencyCode } };
    }
    if (included.includes('FULFILLMENT')) {
      json.fulfillment = {
        fulfillmentStatus: V0_TO_FULFILLMENT_STATUS[o.OrderStatus] ?? o.OrderStatus,
        fulfilledBy: o.FulfillmentChannel === 'AFN' ? 'AMAZON' : 'MERCHANT',
      };
    }
    if (priced && included.includes('PAYMENT')) {
      const v0Total = this.orderJson(o).OrderTotal as AmazonMoney;
      json.payment = { paymentExecutions: [{ paymentMethod: 'Other', paymentAmount: { amount: v0Total.Amount, currencyCode: v0Total.CurrencyCode } }] };
    }
    return json;
  }

  // ── settlements (Reports API) ──

  /** Settlement reports that exist now (business clock), oldest first. */
  settlements(): SimSettlement[] {
    const epoch = Date.parse(this.opts.epoch ?? '2025-03-01T00:00:00Z');
    const format = this.opts.settlements ?? {};
    const published = settlementsUpTo(this.now(), epoch, this.marketplaces, format, this.carry.nextPeriod);
    const last = published[published.length - 1];
    if (last) this.saveCarry({ nextPeriod: this.periodOf(last) + 1, settledUntil: last.end });
    if (!format.omitEmpty) return published;
    // Each kept settlement releases what the marketplace's previous kept one held (the first: the carried reserve).
    const held = new Map<string, number>();
    return published.filter((s) => {
      const releases = held.has(s.marketplaceId) ? held.get(s.marketplaceId)! : (this.carry.reserves[s.marketplaceId]?.held ?? 0);
      if (!hasContent(s, this.orders.values(), releases)) return false;
      held.set(s.marketplaceId, reserveHeld(s, this.orders.values(), format));
      return true;
    });
  }

  /** A settlement's period number, counted over every run. */
  private periodOf(s: SimSettlement): number {
    return Math.floor((Number(s.settlementId) - 20_000_000_000) / 100);
  }

  /** A settlement report's file as text (tests; the download streams the same lines). */
  settlementText(reportId: string): string {
    return [...this.settlementLines(reportId)].join('');
  }

  private settlementLines(reportIdOrDocument: string): Generator<string> {
    const all = this.settlements();
    const i = all.findIndex((s) => s.reportId === reportIdOrDocument || s.reportDocumentId === reportIdOrDocument);
    if (i < 0) throw new ApiError(404, 'NotFound', `Report ${reportIdOrDocument} not found`);
    const s = all[i];
    const previous = all
      .slice(0, i)
      .reverse()
      .find((p) => p.marketplaceId === s.marketplaceId);
    // A real seller's account carries its reserve over: a next run's first settlement releases what the last one served held.
    const format = this.opts.settlements ?? {};
    const known = (this.latest ?? this.carry).reserves[s.marketplaceId];
    if (this.opts.continuity && (!known || known.period <= this.periodOf(s))) {
      const held = reserveHeld(s, this.orders.values(), format);
      this.saveCarry({ reserves: { ...(this.latest ?? this.carry).reserves, [s.marketplaceId]: { held, period: this.periodOf(s) } } });
    }
    return settlementFile(s, previous, () => this.orders.values(), format, previous ? 0 : (this.carry.reserves[s.marketplaceId]?.held ?? 0));
  }

  private reportJson(s: SimSettlement): Record<string, unknown> {
    return {
      reportId: s.reportId,
      reportType: SETTLEMENT_REPORT_TYPE,
      dataStartTime: iso(s.start),
      dataEndTime: iso(s.end),
      createdTime: iso(s.createdTime),
      processingStatus: 'DONE',
      processingStartTime: iso(s.createdTime),
      processingEndTime: iso(s.createdTime),
      reportDocumentId: s.reportDocumentId,
      marketplaceIds: [s.marketplaceId],
    };
  }

  private getReports(q: URLSearchParams): Record<string, unknown> {
    interface ReportFilters {
      types: string[];
      statuses: string[];
      marketplaceIds: string[];
      since: number;
      until: number;
      pageSize: number;
      offset: number;
    }
    let f: ReportFilters;
    const token = q.get('nextToken');
    if (token) {
      if ([...q.keys()].some((k) => k !== 'nextToken')) throw new ApiError(400, 'InvalidInput', 'nextToken must be the only parameter when it is given');
      try {
        f = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
      } catch {
        throw new ApiError(400, 'InvalidInput', 'Invalid nextToken');
      }
    } else {
      const list = (name: string) =>
        q
          .getAll(name)
          .flatMap((v) => v.split(','))
          .map((v) => v.trim())
          .filter(Boolean);
      const types = list('reportTypes');
      if (!types.length) throw new ApiError(400, 'InvalidInput', 'Either reportTypes or nextToken is required');
      const statuses = list('processingStatuses');
      for (const st of statuses)
        if (!(REPORT_PROCESSING_STATUSES as readonly string[]).includes(st)) throw new ApiError(400, 'InvalidInput', `Invalid processingStatuses value: ${st}`);
      const pageSize = q.has('pageSize') ? Number(q.get('pageSize')) : GET_REPORTS_PAGE_SIZE.default;
      if (!Number.isInteger(pageSize) || pageSize < GET_REPORTS_PAGE_SIZE.min || pageSize > GET_REPORTS_PAGE_SIZE.max)
        throw new ApiError(400, 'InvalidInput', `pageSize must be from ${GET_REPORTS_PAGE_SIZE.min} to ${GET_REPORTS_PAGE_SIZE.max}`);
      const since = q.has('createdSince') ? parseDate(q.get('createdSince')!, 'createdSince') : this.now() - REPORT_RETENTION_DAYS * 86_400_000;
      const until = q.has('createdUntil') ? parseDate(q.get('createdUntil')!, 'createdUntil') : this.now();
      f = { types, statuses, marketplaceIds: list('marketplaceIds'), since, until, pageSize, offset: 0 };
    }
    const retained = this.now() - REPORT_RETENTION_DAYS * 86_400_000;
    const matching = this.settlements()
      .filter(() => f.types.includes(SETTLEMENT_REPORT_TYPE) && (!f.statuses.length || f.statuses.includes('DONE')))
      .filter((s) => !f.marketplaceIds.length || f.marketplaceIds.includes(s.marketplaceId))
      .filter((s) => s.createdTime >= Math.max(f.since, retained) && s.createdTime <= f.until)
      .reverse();
    const page = matching.slice(f.offset, f.offset + f.pageSize);
    const body: Record<string, unknown> = { reports: page.map((s) => this.reportJson(s)) };
    if (f.offset + f.pageSize < matching.length) body.nextToken = Buffer.from(JSON.stringify({ ...f, offset: f.offset + f.pageSize })).toString('base64url');
    return body;
  }

  private getReportDocument(documentId: string): Record<string, unknown> {
    if (!this.settlements().some((s) => s.reportDocumentId === documentId)) throw new ApiError(404, 'NotFound', `Report document ${documentId} not found`);
    const expires = this.now() + REPORT_DOCUMENT_URL_LIFETIME_MS;
    const body: Record<string, unknown> = {
      reportDocumentId: documentId,
      url: `${this.url}${DOCUMENT_DOWNLOAD_PATH}${encodeURIComponent(documentId)}?X-Amz-Expires-At=${expires}`,
    };
    if (this.opts.settlements?.gzip) body.compressionAlgorithm = 'GZIP';
    return body;
  }

  /** The pre-signed download: no SP-API token, valid until its expiry; the file is streamed as it is built. */
  private download(url: URL, res: http.ServerResponse, requestId: string): void {
    const xml = (status: number, code: string, message: string) => {
      res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': requestId });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
    };
    const expires = Number(url.searchParams.get('X-Amz-Expires-At'));
    if (!expires || this.now() > expires) return xml(403, 'AccessDenied', 'Request has expired');
    let lines: Generator<string>;
    try {
      lines = this.settlementLines(decodeURIComponent(url.pathname.slice(DOCUMENT_DOWNLOAD_PATH.length)));
    } catch {
      return xml(404, 'NoSuchKey', 'The specified key does not exist.');
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'x-amz-request-id': requestId });
    const body = Readable.from(lines);
    const done = () => undefined;
    if (this.opts.settlements?.gzip) pipeline(body, createGzip(), res, done);
    else pipeline(body, res, done);
  }

  snapshot(): Record<string, unknown> {
    const byStatus: Record<string, number> = {};
    for (const o of this.orders.values()) byStatus[o.OrderStatus] = (byStatus[o.OrderStatus] ?? 0) + 1;
    return { orders: this.orders.size, byStatus, stats: this.stats, listings: Object.fromEntries(this.listings) };
  }
}

interface Filters {
  field: 'LastUpdateDate' | 'PurchaseDate';
  after: number;
  before: number;
  marketplaceIds: string[];
  statuses: string[];
  max: number;
  cursor?: [number, string];
}

/** The includedData sets of a request; an unknown one is 400, as Amazon validates its enum. */
function includedData(q: URLSearchParams): string[] {
  const sets = q
    .getAll('includedData')
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  for (const s of sets) if (!INCLUDED_DATA.includes(s)) throw new ApiError(400, 'InvalidInput', `Invalid includedData value: ${s}`);
  return sets;
}

function toMinorOf(m: { amount: string; currencyCode: string }): number {
  return toMinor(m.amount, m.currencyCode);
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function parseDate(text: string, name: string): number {
  const t = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(t)) throw new ApiError(400, 'InvalidInput', `${name} is not a valid ISO 8601 date-time`);
  return t;
}

function parseBody(raw: string): any {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw new ApiError(400, 'InvalidInput', 'The request body is not valid JSON');
  }
}

/** A rate as decimal text without float noise ("0.0167", "16.7"). */
export function formatRate(rate: number): string {
  return String(Number(rate.toPrecision(6)));
}

// ─────────────────────────────────────────────── CLI ───────────────────────────────────────────────

export const CLI_FLAGS = {
  ...COMMON_FLAGS,
  orders: { kind: 'number', value: '<n>', help: 'orders to generate (default 200)' },
  speed: { kind: 'number', value: '<x>', help: 'multiplies the published rates (default 1)' },
  epoch: { value: '<ISO>', help: 'when the first order was placed (default a week ago)' },
  'settlement-days': { kind: 'number', value: '<n>', help: 'days per settlement period (default 1, so the week-old demo orders are settled; Amazon: 14)' },
  'settlement-gzip': { kind: 'switch', help: 'serve settlement report documents gzip-compressed' },
  'decimal-comma': { kind: 'switch', help: 'write settlement amounts with a decimal comma (EU marketplaces)' },
  'eu-dates': { kind: 'switch', help: 'write settlement dates day first, 03.11.2026 08:00:00 UTC (EU marketplaces)' },
} as const satisfies Flags;

/** The simulator's options from its command line (defaults: port 18443, 200 orders, seed 7). */
export function parseCliArgs(argv: string[]): AmazonSimulatorOptions | 'help' {
  const v = parseFlags(argv, CLI_FLAGS);
  if (v === 'help') return v;
  return {
    port: v.port ?? 18443,
    ...(v.host ? { host: v.host } : {}),
    orders: v.orders ?? 200,
    rateMultiplier: v.speed ?? 1,
    seed: v.seed ?? 7,
    epoch: v.epoch ?? new Date(Date.now() - 7 * 86_400_000).toISOString(),
    settlements: { periodDays: v['settlement-days'] ?? 1, gzip: !!v['settlement-gzip'], decimalComma: !!v['decimal-comma'], dayFirstDates: !!v['eu-dates'] },
  };
}

export function main(argv: string[]): Promise<void> {
  return runSimulatorCli(argv, {
    help: helpText('Amazon SP-API simulator (Tillwire)', 'node dist/simulators/amazon/simulator.js', CLI_FLAGS),
    parse: parseCliArgs,
    start: async (options) => {
      const sim = new AmazonSimulator(options);
      const url = await sim.start();
      return {
        lines: [
          `Amazon SP-API simulator listening on ${url} (LWA token endpoint ${sim.tokenUrl})`,
          `seller ${sim.sellerId}, client id ${sim.clientId}, client secret ${sim.clientSecret}, refresh token ${sim.refreshToken}`,
        ],
        stop: () => sim.stop(),
      };
    },
  });
}

if (require.main === module) runMain(() => main(process.argv.slice(2)));
