/**
 * A Shopify Admin API fake for tests, the demo and users trying a flow before touching a real shop
 * (docs/connectors/shopify.md). One HTTP server on 127.0.0.1:
 *
 * - Auth: every `/admin/api/<version>/…` call needs `X-Shopify-Access-Token` (401 otherwise).
 * - GraphQL `POST /admin/api/<version>/graphql.json`. The simulator interprets the operations
 *   Tillwire sends, not arbitrary GraphQL: `orders(first, after, query: "updated_at:>'…'",
 *   sortKey)` (Relay cursor pagination, `edges{cursor node}` + `pageInfo`), `order(id:)`,
 *   `fulfillmentCreate(fulfillment:)`, `inventorySetQuantities(input:) @idempotent(key:)`,
 *   `inventoryItems(first, after, query: "sku:'…' OR sku:'…'")` (the SKU → inventory item lookup, and with
 *   `inventoryLevel(locationId:) { quantities(names:) }` the quantities at a location, null where
 *   nothing was ever set for the item). `order(id:)`
 *   carries the order's `fulfillments` with their `trackingInfo` (those made through
 *   `fulfillmentCreate`).
 *   Orders come back with a fixed field set whatever the selection set (see `toGraphQLOrder`).
 * - Calculated query cost: `orders` requests `2 + first × orderCost`, costs `2 + returned ×
 *   orderCost`; mutations 10. A leaky bucket per shop (`maximumAvailable`, `restoreRate` points/s,
 *   both configurable) is charged the requested cost, refunded the difference to the actual cost,
 *   and reported on every answer as `extensions.cost.throttleStatus`. When the bucket holds less
 *   than the requested cost the answer is HTTP 200 `errors:[{message:"Throttled",
 *   extensions:{code:"THROTTLED"}}]` and nothing is charged.
 * - Inventory items: one per demo catalogue SKU (`gid://shopify/InventoryItem/<n>` for SKU-000n),
 *   more through `addInventoryItem(sku)`; locations `gid://shopify/Location/1` and `/2` (option
 *   `locations`). `inventorySetQuantities` answers `INVALID_INVENTORY_ITEM` / `INVALID_LOCATION`
 *   for ids it does not know.
 * - `inventorySetQuantities`: name `available|on_hand`, `reason` required. Compare and swap as
 *   the requested version defines it: from 2026-04 every quantity must name `changeFromQuantity`
 *   (null = no check; omitted → `COMPARE_QUANTITY_REQUIRED`; a mismatch →
 *   `CHANGE_FROM_QUANTITY_STALE`) and `compareQuantity`/`ignoreCompareQuantity` are unknown input
 *   fields (a GraphQL error); 2026-01 takes either form (`changeFromQuantity` wins); before 2026-01
 *   `changeFromQuantity` is unknown and `compareQuantity` is checked unless `ignoreCompareQuantity`
 *   (`COMPARE_QUANTITY_STALE`). `@idempotent(key:)` replays the first result for the same input (no
 *   second apply) and answers `IDEMPOTENCY_KEY_PARAMETER_MISMATCH` for the same key with other
 *   input; mandatory from 2026-04. From 2026-10 a key whose first attempt failed answers
 *   `IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED` instead of replaying the failure.
 * - Webhooks to subscribers (`subscribe(url, topics)`): POST of the REST JSON body with
 *   `X-Shopify-Topic`, `X-Shopify-Hmac-Sha256` (base64 HMAC-SHA256 of the raw body with the app
 *   secret), `X-Shopify-Event-Id`, `X-Shopify-Webhook-Id`, `X-Shopify-Shop-Domain`,
 *   `X-Shopify-API-Version`, `X-Shopify-Triggered-At`. Non-2xx (or no answer within 5 s) is
 *   retried up to `maxRetries` times (compressed schedule, `retryDelayMs`) with the same body and
 *   ids. Switches: `duplicates` (each delivery sent N times), `outOfOrder` (deliveries queued in
 *   the same tick are sent in a seeded shuffled order), `dropRate` (never sent), `badSignatureRate`
 *   (signed with a wrong key, on every retry too).
 *
 * Orders are generated deterministically (seeded): currencies USD, GBP, EUR, JPY (0 decimals), KWD
 * and BHD (3 decimals), tax included or added, line discounts (automatic and codes), shipping lines
 * with tax, refunds, cancellations. Every amount is computed in integer minor units and written as
 * decimal text, so Shopify's own totals are exact. REST (legacy): `GET orders.json` with `page_info`
 * cursor paging in the `Link` header, under the request-count leaky bucket (`restBucketSize`,
 * `restLeakRate`; `X-Shopify-Shop-Api-Call-Limit` on every answer, 429 + `Retry-After` when full).
 * - Shopify Payments (simulators/shopify/payouts.ts): `shopifyPaymentsAccount { payouts(first, after,
 *   query: "issued_at:>='…' AND status:paid") }` and `balanceTransactions(first, after, query:
 *   "payments_transfer_id:<payout id>")`, built from the orders served (a charge per paid order,
 *   a refund per refund, a reserve held and released in USD), cursor paging; cost `2 + first × 2`
 *   for payouts (their summary) and `2 + first` for transactions, charged like orders.
 * Not implemented: other REST endpoints.
 *
 * CLI: `node dist/simulators/shopify/simulator.js [--port 18080] [--orders 200] [--restore-rate 100]`.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { catalogItem, DEMO_CATALOG_SIZE } from '../kit/catalog';
import { currencyExponent, fromMinor, toMinor } from '../../nodes/model/money';
import { hmacSha256Base64 } from '../../nodes/runtime/webhook';
import {
  CHANGE_FROM_QUANTITY_INTRODUCED,
  CHANGE_FROM_QUANTITY_SINCE,
  DEFAULT_API_VERSION,
  PREVIOUS_ATTEMPT_FAILED_SINCE,
  REST_BUCKET,
  versionAtLeast,
} from '../../nodes/shopify/contract';
import { seededRandom } from '../kit/random';
import { buildPayouts, carryAfter, NO_PAYOUTS, pageOf, searchPayouts, type PayoutCarry, type SimPayout } from './payouts';
import type { Continuity } from '../kit/continuity';
import { COMMON_FLAGS, helpText, parseFlags, runMain, runSimulatorCli, type Flags } from '../kit/cli';

export interface WebhookSwitches {
  duplicates?: number;
  outOfOrder?: boolean;
  dropRate?: number;
  badSignatureRate?: number;
  maxRetries?: number;
  retryDelayMs?: number;
}

export interface ShopifySimulatorOptions {
  port?: number;
  host?: string;
  shop?: string;
  accessToken?: string;
  appSecret?: string;
  /** Orders generated at start (the backfill). */
  orders?: number;
  seed?: number;
  maximumAvailable?: number;
  restoreRate?: number;
  orderCost?: number;
  /** REST leaky bucket: size (requests) and leak rate (requests/s); Shopify's standard is 40 and 2. */
  restBucketSize?: number;
  restLeakRate?: number;
  webhooks?: WebhookSwitches;
  /** Timestamp of the first generated order (ms); later ones are a minute apart. */
  baseTime?: number;
  /** Location gids inventory may be set at (default Location/1 and Location/2). */
  locations?: string[];
  now?: () => number;
  /** Shopify Payments: transactions are paid out per currency and per period of this length (default a day). */
  payoutPeriodMs?: number;
  /** A payout is PAID this long after it was issued (SCHEDULED before; default a day). */
  payoutTransitMs?: number;
  /** Carry on from an earlier run (the demo): order, refund, fulfillment and payout ids continue, a reserve held is released. */
  continuity?: Continuity<ShopifyContinuity>;
}

/** What the Shopify simulator carries between runs: the next ids, and its payouts' carry. */
export interface ShopifyContinuity {
  nextOrder: number;
  nextRefundId: number;
  nextFulfillment: number;
  payouts: PayoutCarry;
}

export type RestOrder = Record<string, any> & { id: number; updated_at: string };

interface Shape {
  currency: string;
  rate: string;
  taxTitle: string;
  included: boolean;
}
const SHAPES: Shape[] = [
  { currency: 'USD', rate: '0.08875', taxTitle: 'NY State Tax', included: false },
  { currency: 'GBP', rate: '0.2', taxTitle: 'GB VAT', included: true },
  { currency: 'EUR', rate: '0.19', taxTitle: 'DE MwSt', included: true },
  { currency: 'JPY', rate: '0.1', taxTitle: 'JP CT', included: true },
  { currency: 'KWD', rate: '0.05', taxTitle: 'KW Levy', included: false },
  { currency: 'BHD', rate: '0.1', taxTitle: 'BH VAT', included: false },
];

/** Rate text as an exact fraction. */
function fraction(rate: string): [number, number] {
  const [w, f = ''] = rate.split('.');
  const den = 10 ** f.length;
  return [Number(w) * den + Number(f || '0'), den];
}
/** round-half-up(a × n / d) for a ≥ 0, in integers. */
const mulDiv = (a: number, n: number, d: number) => Math.floor((2 * a * n + d) / (2 * d));

function taxOf(amount: number, s: Shape): number {
  const [n, d] = fraction(s.rate);
  return s.included ? mulDiv(amount, n, d + n) : mulDiv(amount, n, d);
}

/** Minor units of a catalogue price in a currency of any exponent. */
function scale(minor2: number, currency: string): number {
  const e = currencyExponent(currency);
  return e === 0 ? minor2 : e === 3 ? minor2 * 10 : minor2;
}

export const stamp = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export class ShopifySimulator {
  readonly shop: string;
  readonly accessToken: string;
  appSecret: string;
  readonly maximumAvailable: number;
  restoreRate: number;
  readonly orderCost: number;
  webhooks: Required<WebhookSwitches>;
  readonly stats = { graphql: 0, throttled: 0, actualCost: 0, requestedCost: 0, unauthorized: 0, rest: 0, restThrottled: 0 };
  /** Every webhook delivery attempt, in the order made. */
  readonly deliveries: Array<{ eventId: string; webhookId: string; topic: string; attempt: number; status: number; orderId?: number }> = [];
  /** Events never sent (dropRate). */
  readonly dropped: Array<{ eventId: string; topic: string }> = [];
  readonly inventory = new Map<string, number>();
  /** SKU → inventory item gid (the demo catalogue; add more with `addInventoryItem`). */
  readonly inventoryItems = new Map<string, string>();
  private itemIds?: Set<string>;
  readonly locations: string[];
  /** Every inventory adjustment group applied (an idempotent replay adds none). */
  readonly adjustmentGroups: Array<{ id: string; reason: string; referenceDocumentUri: string | null; changes: any[] }> = [];
  /** Fulfilments made through fulfillmentCreate, per order id. */
  readonly fulfillments = new Map<
    number,
    Array<{ id: string; status: string; createdAt: string; trackingInfo: Array<{ company: string | null; number: string; url: string | null }> }>
  >();

  private server?: http.Server;
  private port: number;
  private readonly host: string;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly orders = new Map<number, RestOrder>();
  private sorted?: RestOrder[];
  private nextIndex = 0;
  private nextRefundId = 900_000_000;
  private readonly baseTime: number;
  private bucket: { available: number; at: number };
  private readonly restBucketSize: number;
  private readonly restLeakRate: number;
  private restBucket = { used: 0, at: performance.now() };
  private readonly subscriptions: Array<{ url: string; topics?: string[] }> = [];
  private queue: Array<() => Promise<void>> = [];
  private flushScheduled = false;
  /** Retries waiting for their time; stop() cancels them (a stopped shop sends nothing more). */
  private readonly retryWaits = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private stopping = false;
  private readonly inflight = new Set<Promise<void>>();
  private readonly idempotency = new Map<string, { input: string; result: unknown }>();
  private fulfillmentSeq = 1;
  private drainBeforeNext = false;
  private readonly payoutPeriodMs: number;
  private readonly payoutTransitMs: number;
  private readonly continuity?: Continuity<ShopifyContinuity>;
  private readonly payoutsFrom: PayoutCarry;
  private payoutsNow: PayoutCarry;

  constructor(opts: ShopifySimulatorOptions = {}) {
    this.port = opts.port ?? 0;
    this.host = opts.host ?? '127.0.0.1';
    this.shop = opts.shop ?? 'tillwire-demo.myshopify.com';
    this.accessToken = opts.accessToken ?? 'shpat_tillwire_demo';
    this.appSecret = opts.appSecret ?? 'tillwire-demo-app-secret';
    this.maximumAvailable = opts.maximumAvailable ?? 1000;
    this.restoreRate = opts.restoreRate ?? 100;
    this.orderCost = opts.orderCost ?? 3;
    this.now = opts.now ?? Date.now;
    this.random = seededRandom(opts.seed ?? 1);
    this.baseTime = opts.baseTime ?? Date.parse('2025-03-01T00:00:00Z');
    this.restBucketSize = opts.restBucketSize ?? REST_BUCKET.size;
    this.restLeakRate = opts.restLeakRate ?? REST_BUCKET.leakPerSecond;
    this.webhooks = { duplicates: 1, outOfOrder: false, dropRate: 0, badSignatureRate: 0, maxRetries: 8, retryDelayMs: 5, ...opts.webhooks };
    this.bucket = { available: this.maximumAvailable, at: performance.now() };
    this.locations = opts.locations ?? ['gid://shopify/Location/1', 'gid://shopify/Location/2'];
    this.payoutPeriodMs = opts.payoutPeriodMs ?? 86_400_000;
    this.payoutTransitMs = opts.payoutTransitMs ?? 86_400_000;
    this.continuity = opts.continuity;
    const from = opts.continuity?.from;
    if (from) {
      this.nextIndex = from.nextOrder;
      this.nextRefundId = from.nextRefundId;
      this.fulfillmentSeq = from.nextFulfillment;
    }
    this.payoutsNow = this.payoutsFrom = from?.payouts ?? NO_PAYOUTS;
    for (let i = 0; i < DEMO_CATALOG_SIZE; i++) this.inventoryItems.set(catalogItem(i).sku, `gid://shopify/InventoryItem/${i + 1}`);
    for (let i = 0; i < (opts.orders ?? 0); i++) this.add(this.generate(this.nextIndex++, this.baseTime + i * 60_000));
    this.saveCarry();
  }

  /** Records the next ids and the payouts' carry for a next run (continuity). */
  private saveCarry(): void {
    this.continuity?.save({ nextOrder: this.nextIndex, nextRefundId: this.nextRefundId, nextFulfillment: this.fulfillmentSeq, payouts: this.payoutsNow });
  }

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  async start(): Promise<string> {
    this.stopping = false;
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => this.server!.listen(this.port, this.host, resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this.url;
  }

  async stop(): Promise<void> {
    this.queue = [];
    this.stopping = true;
    for (const w of this.retryWaits) {
      clearTimeout(w.timer);
      w.resolve();
    }
    this.retryWaits.clear();
    await this.settle();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  /** The inventory item gids, rebuilt only when items were added (not once per mutation over a large catalogue). */
  private inventoryItemIds(): Set<string> {
    if (this.itemIds?.size !== this.inventoryItems.size) this.itemIds = new Set(this.inventoryItems.values());
    return this.itemIds;
  }

  /** An item's inventory level at a location as `quantities(names:)` shows it, or null (not stocked there). */
  private level(itemId: string, locationId: string, names: string[]) {
    const at = (name: string) => this.inventory.get(`${itemId}|${locationId}|${name}`);
    if (!this.locations.includes(locationId) || (at('available') === undefined && at('on_hand') === undefined)) return null;
    // Shopify: on_hand = available + committed + unavailable (damaged, quality_control, reserved, safety_stock).
    const onHand = ['available', 'committed', 'damaged', 'quality_control', 'reserved', 'safety_stock'].reduce((sum, name) => sum + (at(name) ?? 0), 0);
    const value = (name: string) => (name === 'on_hand' ? (at('on_hand') ?? onHand) : (at(name) ?? 0));
    return { quantities: names.map((name) => ({ name, quantity: value(name) })) };
  }

  /** Sets a quantity as the shop's own admin (or a sale) would, behind the API's back: tests of drift. */
  setQuantity(sku: string, locationId: string, name: string, quantity: number): void {
    const id = this.inventoryItems.get(sku);
    if (!id) throw new Error(`no inventory item for ${sku}`);
    this.inventory.set(`${id}|${locationId}|${name}`, quantity);
  }

  /** Adds an inventory item for a SKU (returns its gid; the existing one if the SKU has one). */
  addInventoryItem(sku: string): string {
    let id = this.inventoryItems.get(sku);
    if (!id) this.inventoryItems.set(sku, (id = `gid://shopify/InventoryItem/${900_000 + this.inventoryItems.size + 1}`));
    return id;
  }

  /**
   * Another app on the shop uses the calculated-cost bucket up just before the next GraphQL call:
   * that call finds it empty (THROTTLED), however long it takes to arrive; it restores as usual after.
   */
  exhaustCostBucket(): void {
    this.drainBeforeNext = true;
  }

  /** Every Shopify Payments payout issued by now, with its balance transactions, from the orders served. */
  payouts(): SimPayout[] {
    const carry = this.payoutsFrom;
    const payouts = buildPayouts(this.list(), { periodMs: this.payoutPeriodMs, transitMs: this.payoutTransitMs, now: this.now(), carry });
    if (this.continuity) {
      this.payoutsNow = carryAfter(carry, payouts);
      this.saveCarry();
    }
    return payouts;
  }

  // ─────────────────────────────────────────── orders ───────────────────────────────────────────

  /** Every order as Shopify's REST JSON (a deep copy). */
  allOrders(): RestOrder[] {
    return this.list().map((o) => structuredClone(o));
  }

  order(id: number): RestOrder | undefined {
    const o = this.orders.get(id);
    return o && structuredClone(o);
  }

  private add(o: RestOrder) {
    this.orders.set(o.id, o);
    this.sorted = undefined;
  }

  private list(): RestOrder[] {
    this.sorted ??= [...this.orders.values()].sort((a, b) => Date.parse(a.updated_at) - Date.parse(b.updated_at) || a.id - b.id);
    return this.sorted;
  }

  /** A deterministic order number `index`, placed at `at` (ms). */
  generate(index: number, at: number, history = true): RestOrder {
    const s = SHAPES[index % SHAPES.length];
    const cur = s.currency;
    const money = (m: number) => fromMinor(m, cur);
    const bag = (m: number) => ({ shop_money: { amount: money(m), currency_code: cur }, presentment_money: { amount: money(m), currency_code: cur } });
    const id = 5_900_000_000 + index;
    const applications: any[] = [];
    if (index % 4 === 0)
      applications.push({
        type: 'automatic',
        title: 'Spring 10%',
        description: 'Spring 10% off',
        value: '10.0',
        value_type: 'percentage',
        allocation_method: 'across',
        target_selection: 'entitled',
        target_type: 'line_item',
      });
    if (index % 5 === 0)
      applications.push({
        type: 'discount_code',
        code: 'WELCOME5',
        value: money(scale(500, cur)),
        value_type: 'fixed_amount',
        allocation_method: 'one',
        target_selection: 'all',
        target_type: 'line_item',
      });
    const count = 1 + (index % 3);
    let lineItemsPrice = 0;
    let discounts = 0;
    let tax = 0;
    const lines = Array.from({ length: count }, (_, k) => {
      const item = catalogItem((index * 7 + k * 13) % 500);
      const quantity = 1 + ((index + k) % 3);
      const unit = scale(item.unitPrice, cur);
      const gross = unit * quantity;
      const allocations: any[] = [];
      let net = gross;
      if (index % 4 === 0 && k === 0) {
        const a = Math.floor(gross / 10);
        allocations.push({ amount: money(a), amount_set: bag(a), discount_application_index: 0 });
        net -= a;
      }
      if (index % 5 === 0 && k === count - 1) {
        const a = Math.min(scale(500, cur), net);
        allocations.push({ amount: money(a), amount_set: bag(a), discount_application_index: applications.length - 1 });
        net -= a;
      }
      const t = taxOf(net, s);
      lineItemsPrice += gross;
      discounts += gross - net;
      tax += t;
      return {
        id: id * 10 + k + 1,
        admin_graphql_api_id: `gid://shopify/LineItem/${id * 10 + k + 1}`,
        variant_id: 44_000_000_000 + ((index * 7 + k * 13) % 500),
        product_id: 8_000_000_000 + ((index * 7 + k * 13) % 500),
        sku: item.sku,
        title: item.name,
        name: item.name,
        quantity,
        current_quantity: quantity,
        fulfillable_quantity: quantity,
        price: money(unit),
        price_set: bag(unit),
        total_discount: money(gross - net),
        total_discount_set: bag(gross - net),
        discount_allocations: allocations,
        tax_lines: [{ title: s.taxTitle, rate: Number(s.rate), price: money(t), price_set: bag(t), channel_liable: false }],
        taxable: true,
        requires_shipping: true,
        gift_card: false,
        grams: 250,
      };
    });
    const ship = index % 6 === 5 ? 0 : cur === 'JPY' ? 500 : scale(495, cur);
    const shipTax = taxOf(ship, s);
    tax += shipTax;
    const subtotal = lineItemsPrice - discounts;
    const total = subtotal + ship + (s.included ? 0 : tax);
    const created = stamp(at);
    const order: RestOrder = {
      id,
      admin_graphql_api_id: `gid://shopify/Order/${id}`,
      name: `#${1001 + index}`,
      order_number: 1001 + index,
      email: `customer${index}@example.com`,
      created_at: created,
      updated_at: created,
      processed_at: created,
      cancelled_at: null,
      cancel_reason: null,
      closed_at: null,
      currency: cur,
      presentment_currency: cur,
      financial_status: index % 9 === 4 ? 'pending' : 'paid',
      fulfillment_status: index % 3 === 2 ? 'fulfilled' : null,
      taxes_included: s.included,
      total_line_items_price: money(lineItemsPrice),
      total_line_items_price_set: bag(lineItemsPrice),
      total_discounts: money(discounts),
      total_discounts_set: bag(discounts),
      subtotal_price: money(subtotal),
      subtotal_price_set: bag(subtotal),
      total_shipping_price_set: bag(ship),
      total_tax: money(tax),
      total_tax_set: bag(tax),
      total_price: money(total),
      total_price_set: bag(total),
      discount_codes: applications.filter((a) => a.type === 'discount_code').map((a) => ({ code: a.code, amount: a.value, type: 'fixed_amount' })),
      discount_applications: applications,
      shipping_lines: [
        {
          id: id * 10,
          title: ship === 0 ? 'Free shipping' : 'Standard',
          code: 'STANDARD',
          price: money(ship),
          price_set: bag(ship),
          discounted_price: money(ship),
          discounted_price_set: bag(ship),
          tax_lines: [{ title: s.taxTitle, rate: Number(s.rate), price: money(shipTax), price_set: bag(shipTax), channel_liable: false }],
        },
      ],
      tax_lines: [{ title: s.taxTitle, rate: Number(s.rate), price: money(tax), price_set: bag(tax) }],
      line_items: lines,
      refunds: [],
      payment_gateway_names: ['shopify_payments'],
      source_name: 'web',
      test: false,
      customer: { id: 7_300_000_000 + index, email: `customer${index}@example.com`, first_name: 'Customer', last_name: String(index) },
      shipping_address: {
        name: `Customer ${index}`,
        address1: `${index} High Street`,
        city: 'Springfield',
        zip: '12345',
        country_code: 'US',
        province_code: 'NY',
      },
    };
    if (history && index % 11 === 5) {
      order.cancelled_at = created;
      order.cancel_reason = 'customer';
    }
    if (history && index % 7 === 3 && order.financial_status === 'paid' && !order.cancelled_at) this.applyRefund(order, at + 3_600_000);
    return order;
  }

  private applyRefund(order: RestOrder, at: number): Record<string, any> {
    const s = SHAPES.find((x) => x.currency === order.currency)!;
    const cur = order.currency;
    const bag = (m: number) => ({
      shop_money: { amount: fromMinor(m, cur), currency_code: cur },
      presentment_money: { amount: fromMinor(m, cur), currency_code: cur },
    });
    const line = order.line_items[0];
    const minor = (t: string) => toMinor(t, cur);
    const net = minor(line.price) * line.quantity - minor(line.total_discount);
    const lineTax = minor(line.tax_lines[0].price);
    const preTax = s.included ? net - lineTax : net;
    const subtotal = Math.floor(preTax / line.quantity);
    const taxShare = Math.floor(lineTax / line.quantity);
    const refundId = this.nextRefundId++;
    this.saveCarry();
    const refund = {
      id: refundId,
      admin_graphql_api_id: `gid://shopify/Refund/${refundId}`,
      order_id: order.id,
      created_at: stamp(at),
      processed_at: stamp(at),
      note: 'Customer return',
      restock: true,
      refund_line_items: [
        {
          id: refundId * 10 + 1,
          line_item_id: line.id,
          location_id: 1,
          quantity: 1,
          restock_type: 'return',
          subtotal: fromMinor(subtotal, cur),
          subtotal_set: bag(subtotal),
          total_tax: fromMinor(taxShare, cur),
          total_tax_set: bag(taxShare),
          line_item: { id: line.id, sku: line.sku, title: line.title, price: line.price },
        },
      ],
      transactions: [
        {
          id: refundId * 10 + 2,
          kind: 'refund',
          status: 'success',
          gateway: 'shopify_payments',
          amount: fromMinor(subtotal + taxShare, cur),
          currency: cur,
          processed_at: stamp(at),
          authorization: `re_${refundId}`,
        },
      ],
      order_adjustments: [],
    };
    order.refunds.push(refund);
    order.financial_status = 'partially_refunded';
    order.updated_at = stamp(at);
    return refund;
  }

  // ────────────────────────────────────── live changes (tests) ────────────────────────────────────

  private touch(order: RestOrder): void {
    const now = Math.floor(this.now() / 1000) * 1000;
    order.updated_at = stamp(Math.max(now, Date.parse(order.updated_at) + 1000));
    this.sorted = undefined;
  }

  /** Places a new order now and sends `orders/create`. */
  createOrder(): RestOrder {
    const index = this.nextIndex++;
    const o = this.generate(index, Math.floor(this.now() / 1000) * 1000, false);
    this.add(o);
    this.saveCarry();
    this.emit('orders/create', o);
    return structuredClone(o);
  }

  /** Marks an order paid (or tags it) and sends `orders/updated`. */
  updateOrder(id: number, change: (o: RestOrder) => void = (o) => (o.financial_status = 'paid')): RestOrder {
    const o = this.must(id);
    change(o);
    this.touch(o);
    this.emit('orders/updated', o);
    return structuredClone(o);
  }

  cancelOrder(id: number): RestOrder {
    const o = this.must(id);
    o.cancelled_at = stamp(this.now());
    o.cancel_reason = 'customer';
    this.touch(o);
    this.emit('orders/cancelled', o);
    return structuredClone(o);
  }

  /** Refunds one unit of the first line: sends `refunds/create` and `orders/updated`. */
  refundOrder(id: number): Record<string, any> {
    const o = this.must(id);
    const refund = this.applyRefund(o, this.now());
    this.touch(o);
    this.emit('refunds/create', refund);
    this.emit('orders/updated', o);
    return structuredClone(refund);
  }

  private must(id: number): RestOrder {
    const o = this.orders.get(id);
    if (!o) throw new Error(`no order ${id}`);
    return o;
  }

  // ─────────────────────────────────────────── webhooks ──────────────────────────────────────────

  subscribe(url: string, topics?: string[]): void {
    this.subscriptions.push({ url, topics });
  }

  /** Sends `topic` with `payload` to every subscriber, following the switches. */
  emit(topic: string, payload: unknown): void {
    const body = JSON.stringify(payload);
    const eventId = randomUUID();
    const triggeredAt = new Date(this.now()).toISOString();
    const orderId = topic.startsWith('orders/') ? (payload as RestOrder).id : (payload as any).order_id;
    for (const sub of this.subscriptions) {
      if (sub.topics && !sub.topics.includes(topic)) continue;
      if (this.random() < this.webhooks.dropRate) {
        this.dropped.push({ eventId, topic });
        continue;
      }
      const webhookId = randomUUID();
      const bad = this.random() < this.webhooks.badSignatureRate;
      const headers = {
        'content-type': 'application/json',
        'x-shopify-topic': topic,
        'x-shopify-hmac-sha256': hmacSha256Base64(bad ? `${this.appSecret}-wrong` : this.appSecret, body),
        'x-shopify-event-id': eventId,
        'x-shopify-webhook-id': webhookId,
        'x-shopify-shop-domain': this.shop,
        'x-shopify-api-version': DEFAULT_API_VERSION,
        'x-shopify-triggered-at': triggeredAt,
      };
      for (let copy = 0; copy < Math.max(1, this.webhooks.duplicates); copy++) {
        this.queue.push(() => this.send(sub.url, headers, body, { eventId, webhookId, topic, orderId }, 1));
      }
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (this.webhooks.outOfOrder) {
      for (let i = batch.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1));
        [batch[i], batch[j]] = [batch[j], batch[i]];
      }
    }
    const run = (async () => {
      for (const job of batch) await job();
    })();
    this.track(run);
  }

  private track(p: Promise<void>) {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private async send(
    url: string,
    headers: Record<string, string>,
    body: string,
    ids: { eventId: string; webhookId: string; topic: string; orderId?: number },
    attempt: number,
  ): Promise<void> {
    let status = 0;
    try {
      const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(5000) });
      status = res.status;
      await res.text();
    } catch {
      status = 0;
    }
    this.deliveries.push({ ...ids, attempt, status });
    if ((status < 200 || status > 299) && attempt <= this.webhooks.maxRetries && !this.stopping) {
      const wait = new Promise<void>((resolve) => {
        const entry = { resolve, timer: setTimeout(() => (this.retryWaits.delete(entry), resolve()), this.webhooks.retryDelayMs * attempt) };
        this.retryWaits.add(entry);
      });
      this.track(wait.then(() => (this.stopping ? undefined : this.send(url, headers, body, ids, attempt + 1))));
    }
  }

  /** Resolves when every queued and retried delivery has finished. */
  async settle(): Promise<void> {
    while (this.inflight.size || this.queue.length || this.flushScheduled) {
      if (!this.inflight.size) await new Promise((r) => setImmediate(r));
      else await Promise.allSettled([...this.inflight]);
    }
  }

  // ─────────────────────────────────────────── HTTP ──────────────────────────────────────────────

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', this.url);
    // Simulator-only inspection for other processes (the demo's tests): the quantities held, by SKU,
    // location gid and quantity name.
    if (url.pathname === '/__simulator/inventory' && req.method === 'GET') {
      const skuOf = new Map([...this.inventoryItems].map(([sku, id]) => [id, sku]));
      return send(
        200,
        [...this.inventory].map(([key, quantity]) => {
          const [item, location, name] = key.split('|');
          return { sku: skuOf.get(item), inventoryItemId: item, location, name, quantity };
        }),
      );
    }
    const rest = /^\/admin\/api\/(\d{4}-\d{2}|unstable)\/(.+)\.json$/.exec(url.pathname);
    if (rest && rest[2] !== 'graphql') {
      if (req.headers['x-shopify-access-token'] !== this.accessToken) {
        this.stats.unauthorized++;
        return send(401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' });
      }
      return this.rest(req.method ?? 'GET', rest[2], url, send);
    }
    const m = /^\/admin\/api\/([^/]+)\/graphql\.json$/.exec(url.pathname);
    if (!m || !/^(\d{4}-\d{2}|unstable)$/.test(m[1])) return send(404, { errors: 'Not Found' });
    if (req.headers['x-shopify-access-token'] !== this.accessToken) {
      this.stats.unauthorized++;
      return send(401, { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' });
    }
    if (req.method !== 'POST') return send(405, { errors: 'Method Not Allowed' });
    let request: { query?: string; variables?: Record<string, any> };
    try {
      request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(400, { errors: 'Bad Request: body is not JSON' });
    }
    const query = String(request.query ?? '');
    const vars = request.variables ?? {};
    this.stats.graphql++;
    try {
      send(200, this.graphql(query, vars, m[1]));
    } catch (err) {
      send(200, { errors: [{ message: (err as Error).message, extensions: { code: 'BAD_REQUEST' } }] });
    }
  }

  /**
   * REST (legacy Admin API): the request-count leaky bucket (`X-Shopify-Shop-Api-Call-Limit:
   * used/size` on every answer; 429 with a fractional `Retry-After` when full, nothing done) and
   * `GET orders.json` with `updated_at_min`, `status` (open|closed|cancelled|any, default open),
   * `limit` ≤ 250 and cursor paging: an opaque `page_info` in the `Link` header (`rel="next"`),
   * which alone (with `limit`) reproduces the query; other filters beside it are a 400.
   */
  private rest(method: string, resource: string, url: URL, send: (status: number, body: unknown, headers?: Record<string, string>) => void): void {
    const now = performance.now();
    this.restBucket.used = Math.max(0, this.restBucket.used - ((now - this.restBucket.at) / 1000) * this.restLeakRate);
    this.restBucket.at = now;
    if (this.restBucket.used + 1 > this.restBucketSize) {
      this.stats.restThrottled++;
      const wait = (this.restBucket.used + 1 - this.restBucketSize) / this.restLeakRate;
      return send(
        429,
        { errors: 'Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.' },
        { 'retry-after': wait.toFixed(1), 'x-shopify-shop-api-call-limit': `${Math.ceil(this.restBucket.used)}/${this.restBucketSize}` },
      );
    }
    this.restBucket.used += 1;
    this.stats.rest++;
    const limitHeader = { 'x-shopify-shop-api-call-limit': `${Math.ceil(this.restBucket.used)}/${this.restBucketSize}` };
    if (method !== 'GET' || resource !== 'orders') return send(404, { errors: 'Not Found' }, limitHeader);
    const q = url.searchParams;
    const limit = Number(q.get('limit') ?? 50);
    if (!Number.isInteger(limit) || limit < 1 || limit > 250) return send(400, { errors: { limit: ['must be between 1 and 250'] } }, limitHeader);
    let filters: { status: string; updatedAtMin?: string; offset: number };
    const pageInfo = q.get('page_info');
    if (pageInfo) {
      const others = [...q.keys()].filter((k) => k !== 'page_info' && k !== 'limit' && k !== 'fields');
      if (others.length) return send(400, { errors: { page_info: [`cannot be combined with ${others.join(', ')}`] } }, limitHeader);
      try {
        filters = JSON.parse(Buffer.from(pageInfo, 'base64url').toString('utf8'));
      } catch {
        return send(400, { errors: { page_info: ['Invalid value.'] } }, limitHeader);
      }
    } else {
      filters = { status: q.get('status') ?? 'open', updatedAtMin: q.get('updated_at_min') ?? undefined, offset: 0 };
    }
    const min = filters.updatedAtMin ? Date.parse(filters.updatedAtMin) : -Infinity;
    const matching = this.list().filter((o) => {
      if (Date.parse(o.updated_at) < min) return false;
      const cancelled = !!o.cancelled_at;
      const closed = !!o.closed_at;
      return filters.status === 'any' || (filters.status === 'cancelled' ? cancelled : filters.status === 'closed' ? closed : !cancelled && !closed);
    });
    const page = matching.slice(filters.offset, filters.offset + limit);
    const links: string[] = [];
    const link = (offset: number, rel: string) => {
      const next = new URL(url.pathname, this.url);
      next.searchParams.set('limit', String(limit));
      next.searchParams.set('page_info', Buffer.from(JSON.stringify({ ...filters, offset })).toString('base64url'));
      links.push(`<${next}>; rel="${rel}"`);
    };
    if (filters.offset > 0) link(Math.max(0, filters.offset - limit), 'previous');
    if (filters.offset + limit < matching.length) link(filters.offset + limit, 'next');
    send(200, { orders: page.map((o) => structuredClone(o)) }, { ...limitHeader, ...(links.length ? { link: links.join(', ') } : {}) });
  }

  private throttleStatus() {
    const now = performance.now();
    this.bucket.available = Math.min(this.maximumAvailable, this.bucket.available + ((now - this.bucket.at) / 1000) * this.restoreRate);
    this.bucket.at = now;
    return { maximumAvailable: this.maximumAvailable, currentlyAvailable: Math.floor(this.bucket.available), restoreRate: this.restoreRate };
  }

  private graphql(query: string, vars: Record<string, any>, version: string): Record<string, any> {
    // Arguments are read from the field call itself (after `field(`), not the variable declarations.
    let scope = query;
    const arg = (name: string): any => {
      const mm = new RegExp(`\\b${name}\\s*:\\s*("((?:[^"\\\\]|\\\\.)*)"|\\$(\\w+)|(\\d+)|(null)|([A-Z_]+))`).exec(scope);
      if (!mm) return undefined;
      if (mm[2] !== undefined) return JSON.parse(`"${mm[2]}"`);
      if (mm[3]) return vars[mm[3]];
      if (mm[4]) return Number(mm[4]);
      if (mm[5]) return null;
      return mm[6];
    };
    let requested: number;
    let run: () => { data: any; actual: number };
    const call = (field: string) => {
      const at = new RegExp(`\\b${field}\\s*\\(`).exec(query);
      if (at) scope = query.slice(at.index);
      return !!at;
    };
    const pageSize = () => {
      const first = Number(arg('first') ?? 50);
      if (!(first >= 1 && first <= 250)) throw new Error('first must be between 1 and 250');
      return first;
    };
    if (call('payouts')) {
      const first = pageSize();
      requested = 2 + first * 2;
      run = () => {
        const page = pageOf(searchPayouts(this.payouts(), String(arg('query') ?? '')), first, arg('after') ?? null);
        const nodes = page.nodes.map(({ transactions: _t, ...p }) => p);
        return { data: { shopifyPaymentsAccount: { payouts: { ...page, nodes } } }, actual: 2 + nodes.length * 2 };
      };
    } else if (call('balanceTransactions')) {
      const first = pageSize();
      requested = 2 + first;
      run = () => {
        const mm = /payments_transfer_id:\s*'?(\d+)'?/.exec(String(arg('query') ?? ''));
        const all = mm ? (this.payouts().find((p) => p.legacyResourceId === mm[1])?.transactions ?? []) : this.payouts().flatMap((p) => p.transactions);
        const page = pageOf(all, first, arg('after') ?? null);
        return { data: { shopifyPaymentsAccount: { balanceTransactions: page } }, actual: 2 + page.nodes.length };
      };
    } else if (call('inventoryItems')) {
      const first = Number(arg('first') ?? 50);
      if (!(first >= 1 && first <= 250)) throw new Error('first must be between 1 and 250');
      requested = 2 + first;
      run = () => {
        const search = String(arg('query') ?? '');
        // `sku:'A' OR sku:'B'`: each term by one map look-up (a catalogue of 100,000 SKUs is looked up once per SKU by the inventory node).
        const terms = [...search.matchAll(/\bsku:\s*(?:'((?:[^'\\]|\\.)*)'|"([^"]*)"|(\S+))/g)].map((m) =>
          m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]),
        );
        const matched: Array<readonly [string, string]> = terms.length
          ? [...new Set(terms)].flatMap((sku) => {
              const id = this.inventoryItems.get(sku);
              return id ? [[sku, id] as const] : [];
            })
          : [...this.inventoryItems.entries()];
        const page = pageOf(matched, first, arg('after') ?? null);
        // inventoryLevel(locationId:) { quantities(names:) }: the item's quantities at that location,
        // null when nothing was ever set for it there (not stocked) or the location is unknown.
        const withLevel = /\binventoryLevel\s*\(/.test(query);
        const locationId = withLevel ? arg('locationId') : undefined;
        const names: string[] = withLevel ? (arg('names') ?? []) : [];
        const nodes = page.nodes.map(([sku, id]) => ({
          id,
          sku,
          tracked: true,
          ...(withLevel ? { inventoryLevel: this.level(id, String(locationId), names) } : {}),
        }));
        return { data: { inventoryItems: { nodes, pageInfo: page.pageInfo } }, actual: 2 + nodes.length };
      };
    } else if (call('inventorySetQuantities')) {
      requested = 10;
      this.checkSetQuantitiesInput(arg('input'), version);
      run = () => ({ data: { inventorySetQuantities: this.setQuantities(arg('input'), this.idempotencyKey(query, vars), version) }, actual: 10 });
    } else if (call('fulfillmentCreate')) {
      requested = 10;
      run = () => ({ data: { fulfillmentCreate: this.fulfillmentCreate(arg('fulfillment')) }, actual: 10 });
    } else if (call('orders')) {
      const first = Number(arg('first') ?? 50);
      if (!(first >= 1 && first <= 250)) throw new Error('first must be between 1 and 250');
      requested = 2 + first * this.orderCost;
      run = () => {
        const page = this.ordersPage(first, arg('after') ?? null, arg('query') ?? '');
        return { data: { orders: page }, actual: 2 + page.edges.length * this.orderCost };
      };
    } else if (call('order')) {
      requested = 1 + this.orderCost;
      run = () => {
        const id = Number(String(arg('id') ?? '').replace(/^gid:\/\/shopify\/Order\//, ''));
        const o = this.orders.get(id);
        return {
          data: { order: o ? { ...toGraphQLOrder(o), fulfillments: structuredClone(this.fulfillments.get(o.id) ?? []) } : null },
          actual: o ? 1 + this.orderCost : 1,
        };
      };
    } else {
      throw new Error('the simulator does not know this operation');
    }
    if (this.drainBeforeNext) {
      this.drainBeforeNext = false;
      this.throttleStatus();
      this.bucket.available = 0;
    }
    const before = this.throttleStatus();
    if (before.currentlyAvailable < requested) {
      this.stats.throttled++;
      return {
        errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' } }],
        extensions: { cost: { requestedQueryCost: requested, actualQueryCost: null, throttleStatus: before } },
      };
    }
    this.bucket.available -= requested;
    const { data, actual } = run();
    this.bucket.available += requested - actual;
    this.stats.requestedCost += requested;
    this.stats.actualCost += actual;
    return { data, extensions: { cost: { requestedQueryCost: requested, actualQueryCost: actual, throttleStatus: this.throttleStatus() } } };
  }

  private ordersPage(first: number, after: string | null, search: string) {
    let since = -Infinity;
    let inclusive = false;
    const mm = /updated_at:(>=?)\s*'?"?([0-9T:.\-+Z]+)/.exec(search);
    if (mm) {
      inclusive = mm[1] === '>=';
      since = Date.parse(mm[2]);
      if (Number.isNaN(since)) throw new Error(`invalid updated_at in query '${search}'`);
    }
    let key: [number, number] | undefined;
    if (after) {
      try {
        key = JSON.parse(Buffer.from(after, 'base64url').toString('utf8'));
      } catch {
        throw new Error('Invalid cursor for current pagination');
      }
    }
    const matches = this.list().filter((o) => {
      const u = Date.parse(o.updated_at);
      if (inclusive ? u < since : u <= since) return false;
      return !key || u > key[0] || (u === key[0] && o.id > key[1]);
    });
    const page = matches.slice(0, first);
    const cursor = (o: RestOrder) => Buffer.from(JSON.stringify([Date.parse(o.updated_at), o.id])).toString('base64url');
    return {
      edges: page.map((o) => ({ cursor: cursor(o), node: toGraphQLOrder(o) })),
      pageInfo: { hasNextPage: matches.length > first, endCursor: page.length ? cursor(page[page.length - 1]) : null },
    };
  }

  private idempotencyKey(query: string, vars: Record<string, any>): string | undefined {
    const mm = /@idempotent\s*\(\s*key\s*:\s*(?:"([^"]*)"|\$(\w+))\s*\)/.exec(query);
    return mm ? (mm[1] ?? vars[mm[2]]) : undefined;
  }

  /**
   * Input fields the requested version's schema does not define fail validation of the whole
   * request: a GraphQL error, nothing charged or applied.
   */
  private checkSetQuantitiesInput(input: any, version: string): void {
    const unknownField = (field: string, type: string) => {
      throw new Error(`Variable $input of type InventorySetQuantitiesInput! was provided invalid value (Field is not defined on ${type}: ${field})`);
    };
    const casRequired = versionAtLeast(version, CHANGE_FROM_QUANTITY_SINCE);
    if (casRequired && input && typeof input === 'object' && 'ignoreCompareQuantity' in input)
      unknownField('ignoreCompareQuantity', 'InventorySetQuantitiesInput');
    for (const q of Array.isArray(input?.quantities) ? input.quantities : []) {
      if (!q || typeof q !== 'object') continue;
      if (casRequired && 'compareQuantity' in q) unknownField('compareQuantity', 'InventoryQuantityInput');
      if (!versionAtLeast(version, CHANGE_FROM_QUANTITY_INTRODUCED) && 'changeFromQuantity' in q) unknownField('changeFromQuantity', 'InventoryQuantityInput');
    }
  }

  private setQuantities(input: any, key: string | undefined, version: string) {
    const userError = (code: string, field: string[], message: string) => ({ inventoryAdjustmentGroup: null, userErrors: [{ code, field, message }] });
    const casRequired = versionAtLeast(version, CHANGE_FROM_QUANTITY_SINCE);
    if (!key && casRequired) return userError('IDEMPOTENCY_KEY_REQUIRED', ['idempotencyKey'], 'An idempotency key is required (@idempotent).');
    const inputText = JSON.stringify(input ?? null);
    if (key) {
      const seen = this.idempotency.get(key);
      if (seen && seen.input !== inputText)
        return userError('IDEMPOTENCY_KEY_PARAMETER_MISMATCH', ['input'], 'The same idempotency key was used with different parameters.');
      const failed = (seen?.result as any)?.userErrors?.length > 0;
      if (seen && failed && versionAtLeast(version, PREVIOUS_ATTEMPT_FAILED_SINCE))
        return userError(
          'IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED',
          ['idempotencyKey'],
          'A previous request with this idempotency key failed. Retry with a new idempotency key.',
        );
      if (seen) return structuredClone(seen.result);
    }
    const result = (() => {
      if (!input || !Array.isArray(input.quantities)) return userError('INVALID', ['input', 'quantities'], 'quantities is required');
      if (input.name !== 'available' && input.name !== 'on_hand') return userError('INVALID_NAME', ['input', 'name'], 'name must be available or on_hand');
      if (!input.reason) return userError('INVALID_REASON', ['input', 'reason'], 'reason is required');
      const knownItems = this.inventoryItemIds();
      for (const [i, q] of input.quantities.entries()) {
        if (!knownItems.has(q.inventoryItemId))
          return userError(
            'INVALID_INVENTORY_ITEM',
            ['input', 'quantities', String(i), 'inventoryItemId'],
            `The specified inventory item could not be found (${q.inventoryItemId}).`,
          );
        if (!this.locations.includes(q.locationId))
          return userError(
            'INVALID_LOCATION',
            ['input', 'quantities', String(i), 'locationId'],
            `The specified location could not be found (${q.locationId}).`,
          );
        if (!Number.isInteger(q.quantity)) return userError('INVALID_QUANTITY', ['input', 'quantities', String(i), 'quantity'], 'quantity must be an integer');
      }
      for (const [i, q] of input.quantities.entries()) {
        const k = `${q.inventoryItemId}|${q.locationId}|${input.name}`;
        const current = this.inventory.get(k) ?? 0;
        const field = ['input', 'quantities', String(i)];
        if ('changeFromQuantity' in q) {
          if (q.changeFromQuantity !== null && q.changeFromQuantity !== current)
            return userError(
              'CHANGE_FROM_QUANTITY_STALE',
              [...field, 'changeFromQuantity'],
              `The changeFromQuantity value does not match the persisted quantity (${current}).`,
            );
        } else if (casRequired) {
          return userError(
            'COMPARE_QUANTITY_REQUIRED',
            [...field, 'changeFromQuantity'],
            'changeFromQuantity must be given for each quantity (null to skip the check).',
          );
        } else if (!input.ignoreCompareQuantity && q.compareQuantity !== undefined && q.compareQuantity !== null && q.compareQuantity !== current) {
          return userError(
            'COMPARE_QUANTITY_STALE',
            [...field, 'compareQuantity'],
            `The compareQuantity argument no longer matches the persisted quantity (${current}).`,
          );
        }
      }
      const changes = input.quantities.map((q: any) => {
        const k = `${q.inventoryItemId}|${q.locationId}|${input.name}`;
        const delta = q.quantity - (this.inventory.get(k) ?? 0);
        this.inventory.set(k, q.quantity);
        return { name: input.name, delta, quantityAfterChange: q.quantity, item: { id: q.inventoryItemId }, location: { id: q.locationId } };
      });
      const group = {
        id: `gid://shopify/InventoryAdjustmentGroup/${this.fulfillmentSeq++}`,
        reason: input.reason,
        referenceDocumentUri: input.referenceDocumentUri ?? null,
        changes,
      };
      this.adjustmentGroups.push(structuredClone(group));
      return { inventoryAdjustmentGroup: group, userErrors: [] };
    })();
    if (key) this.idempotency.set(key, { input: inputText, result: structuredClone(result) });
    return result;
  }

  private fulfillmentCreate(input: any) {
    const userError = (message: string) => ({ fulfillment: null, userErrors: [{ field: ['fulfillment'], message }] });
    const groups = input?.lineItemsByFulfillmentOrder;
    if (!Array.isArray(groups) || !groups.length) return userError('lineItemsByFulfillmentOrder is required');
    const ids = groups.map((g: any) => Number(String(g.fulfillmentOrderId ?? '').replace(/^gid:\/\/shopify\/FulfillmentOrder\//, '')));
    const orders = ids.map((id: number) => this.orders.get(id));
    if (orders.some((o: RestOrder | undefined) => !o)) return userError('Fulfillment order does not exist.');
    if ((orders as RestOrder[]).some((o) => o.fulfillment_status === 'fulfilled' || o.cancelled_at))
      return userError('Fulfillment order is not in an open state and cannot be fulfilled.');
    const fid = this.fulfillmentSeq++;
    this.saveCarry();
    for (const o of orders as RestOrder[]) {
      o.fulfillment_status = 'fulfilled';
      this.touch(o);
      this.emit('orders/updated', o);
    }
    const t = input.trackingInfo ?? {};
    const fulfillment = {
      id: `gid://shopify/Fulfillment/${fid}`,
      status: 'SUCCESS',
      createdAt: stamp(this.now()),
      trackingInfo: t.number ? [{ company: t.company ?? null, number: String(t.number), url: t.url ?? null }] : [],
    };
    for (const o of orders as RestOrder[]) {
      const list = this.fulfillments.get(o.id) ?? [];
      list.push(structuredClone(fulfillment));
      this.fulfillments.set(o.id, list);
    }
    return { fulfillment: { id: fulfillment.id, status: fulfillment.status, trackingInfo: fulfillment.trackingInfo }, userErrors: [] };
  }
}

// ───────────────────────────────────── the GraphQL order shape ─────────────────────────────────────

const moneyBag = (set: any) =>
  set && {
    shopMoney: { amount: set.shop_money.amount, currencyCode: set.shop_money.currency_code },
    presentmentMoney: { amount: set.presentment_money.amount, currencyCode: set.presentment_money.currency_code },
  };
const taxLines = (lines: any[]) => lines.map((t) => ({ title: t.title, rate: t.rate, priceSet: moneyBag(t.price_set) }));

/** The GraphQL Admin API shape of an order (camelCase, MoneyBag, gids) the simulator returns. */
export function toGraphQLOrder(o: RestOrder): Record<string, any> {
  const fulfillmentOpen = o.fulfillment_status !== 'fulfilled' && !o.cancelled_at;
  return {
    id: o.admin_graphql_api_id,
    legacyResourceId: String(o.id),
    name: o.name,
    email: o.email,
    createdAt: o.created_at,
    updatedAt: o.updated_at,
    processedAt: o.processed_at,
    cancelledAt: o.cancelled_at,
    cancelReason: o.cancel_reason ? String(o.cancel_reason).toUpperCase() : null,
    closedAt: o.closed_at,
    currencyCode: o.currency,
    presentmentCurrencyCode: o.presentment_currency,
    taxesIncluded: o.taxes_included,
    displayFinancialStatus: String(o.financial_status).toUpperCase(),
    displayFulfillmentStatus: o.fulfillment_status === 'fulfilled' ? 'FULFILLED' : o.fulfillment_status === 'partial' ? 'PARTIALLY_FULFILLED' : 'UNFULFILLED',
    paymentGatewayNames: o.payment_gateway_names,
    sourceName: o.source_name,
    subtotalLineItemsQuantity: o.line_items.reduce((s: number, l: any) => s + l.quantity, 0),
    subtotalPriceSet: moneyBag(o.subtotal_price_set),
    totalPriceSet: moneyBag(o.total_price_set),
    totalTaxSet: moneyBag(o.total_tax_set),
    totalDiscountsSet: moneyBag(o.total_discounts_set),
    totalShippingPriceSet: moneyBag(o.total_shipping_price_set),
    discountCodes: o.discount_codes.map((d: any) => d.code),
    customer: o.customer && {
      id: `gid://shopify/Customer/${o.customer.id}`,
      email: o.customer.email,
      displayName: `${o.customer.first_name} ${o.customer.last_name}`,
    },
    shippingAddress: o.shipping_address && {
      name: o.shipping_address.name,
      address1: o.shipping_address.address1,
      address2: o.shipping_address.address2 ?? null,
      city: o.shipping_address.city,
      provinceCode: o.shipping_address.province_code,
      zip: o.shipping_address.zip,
      countryCodeV2: o.shipping_address.country_code,
    },
    lineItems: {
      nodes: o.line_items.map((l: any) => ({
        id: l.admin_graphql_api_id,
        sku: l.sku,
        title: l.title,
        quantity: l.quantity,
        variant: { id: `gid://shopify/ProductVariant/${l.variant_id}` },
        originalUnitPriceSet: moneyBag(l.price_set),
        totalDiscountSet: moneyBag(l.total_discount_set),
        discountAllocations: l.discount_allocations.map((a: any) => {
          const app = o.discount_applications[a.discount_application_index];
          return {
            allocatedAmountSet: moneyBag(a.amount_set),
            discountApplication: {
              __typename:
                app.type === 'discount_code' ? 'DiscountCodeApplication' : app.type === 'manual' ? 'ManualDiscountApplication' : 'AutomaticDiscountApplication',
              code: app.code ?? null,
              title: app.title ?? null,
              description: app.description ?? null,
            },
          };
        }),
        taxLines: taxLines(l.tax_lines),
      })),
    },
    shippingLines: {
      nodes: o.shipping_lines.map((s: any) => ({
        title: s.title,
        code: s.code,
        originalPriceSet: moneyBag(s.price_set),
        discountedPriceSet: moneyBag(s.discounted_price_set),
        taxLines: taxLines(s.tax_lines),
      })),
    },
    fulfillmentOrders: { nodes: [{ id: `gid://shopify/FulfillmentOrder/${o.id}`, status: fulfillmentOpen ? 'OPEN' : 'CLOSED' }] },
    refunds: o.refunds.map((r: any) => ({
      id: r.admin_graphql_api_id,
      legacyResourceId: String(r.id),
      createdAt: r.created_at,
      note: r.note,
      refundLineItems: {
        nodes: r.refund_line_items.map((x: any) => ({
          quantity: x.quantity,
          restockType: String(x.restock_type).toUpperCase(),
          lineItem: { id: `gid://shopify/LineItem/${x.line_item_id}`, sku: x.line_item.sku, title: x.line_item.title },
          subtotalSet: moneyBag(x.subtotal_set),
          totalTaxSet: moneyBag(x.total_tax_set),
        })),
      },
      transactions: {
        nodes: r.transactions.map((t: any) => ({
          id: `gid://shopify/OrderTransaction/${t.id}`,
          kind: String(t.kind).toUpperCase(),
          status: String(t.status).toUpperCase(),
          gateway: t.gateway,
          processedAt: t.processed_at,
          authorizationCode: t.authorization,
          amountSet: { shopMoney: { amount: t.amount, currencyCode: t.currency }, presentmentMoney: { amount: t.amount, currencyCode: t.currency } },
        })),
      },
    })),
  };
}

// ─────────────────────────────────────────────── CLI ───────────────────────────────────────────────

export const CLI_FLAGS = {
  ...COMMON_FLAGS,
  orders: { kind: 'number', value: '<n>', help: 'orders generated at start (default 200)' },
  'restore-rate': { kind: 'number', value: '<n>', help: 'GraphQL cost points restored per second (default 100)' },
  shop: { value: '<domain>', help: 'shop domain (default tillwire-demo.myshopify.com)' },
} as const satisfies Flags;

/** The simulator's options from its command line (defaults: port 18080, 200 orders). */
export function parseCliArgs(argv: string[]): ShopifySimulatorOptions | 'help' {
  const v = parseFlags(argv, CLI_FLAGS);
  if (v === 'help') return v;
  return {
    port: v.port ?? 18080,
    orders: v.orders ?? 200,
    ...(v.host ? { host: v.host } : {}),
    ...(v.seed !== undefined ? { seed: v.seed } : {}),
    ...(v['restore-rate'] !== undefined ? { restoreRate: v['restore-rate'] } : {}),
    ...(v.shop ? { shop: v.shop } : {}),
  };
}

export function main(argv: string[]): Promise<void> {
  return runSimulatorCli(argv, {
    help: helpText('Shopify Admin API simulator (Tillwire)', 'node dist/simulators/shopify/simulator.js', CLI_FLAGS),
    parse: parseCliArgs,
    start: async (options) => {
      const sim = new ShopifySimulator(options);
      const url = await sim.start();
      return {
        lines: [
          `Shopify simulator listening on ${url}`,
          `  GraphQL:      POST ${url}/admin/api/${DEFAULT_API_VERSION}/graphql.json`,
          `  shop:         ${sim.shop}`,
          `  access token: ${sim.accessToken}`,
          `  app secret:   ${sim.appSecret}`,
        ],
        stop: () => sim.stop(),
      };
    },
  });
}

if (require.main === module) runMain(() => main(process.argv.slice(2)));
