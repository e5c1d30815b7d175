/**
 * A Square simulator (Orders, Refunds, Webhooks) built from the public contract
 * (docs/connectors/square.md), for tests, the demo and users who want
 * to try a flow before touching production. Loopback only by default.
 *
 * - Bearer auth on every /v2 call; `Square-Version` accepted and echoed.
 * - Orders: CreateOrder (idempotent), RetrieveOrder, BatchRetrieveOrders, UpdateOrder (version
 *   checked), SearchOrders (location_ids ≤ 10, state/date filters, the sort rule, limit 500/1000,
 *   keyset cursors that require the original query, return_entries).
 * - Money is integer minor units; orders are priced here exactly as the mapper expects Square to
 *   price them (line discounts and taxes, additive or inclusive, order-scoped ones spread over lines).
 * - Returns: a return order with `returns`, `return_amounts`, `net_amounts` and its `refunds`;
 *   RefundPayment (POST /v2/refunds, idempotency key required).
 * - Payouts (payouts.ts): payouts and payout entries built from the card payments and refunds served
 *   here (`createPayouts`, `settlePayout` PAID or FAILED), ListPayouts / GetPayout /
 *   ListPayoutEntries with cursor paging, and GetPayment (the order a payment paid).
 * - Catalog: one ITEM_VARIATION per demo catalogue SKU (id `catalogObjectId(sku)`, more through
 *   `addCatalogVariation`), found by SearchCatalogObjects (`POST /v2/catalog/search`,
 *   `object_types` + `exact_query` on `sku` or `name`, `limit`/`cursor`).
 * - Inventory: BatchChangeInventory (`POST /v2/inventory/changes/batch-create`, idempotency key
 *   required, 1–100 changes, PHYSICAL_COUNT and ADJUSTMENT, decimal-string quantities of at most 5
 *   decimals, known catalog object and location, `occurred_at` required; changes are applied in
 *   `occurred_at` order whatever order they arrive in; `ignore_unchanged_counts` (default true)
 *   drops a physical count equal to the current one) answering `{ counts, changes }`;
 *   BatchRetrieveInventoryCounts (`POST /v2/inventory/counts/batch-retrieve`).
 * - 429 `RATE_LIMITED` (no Retry-After) above a configurable token bucket per access token.
 *   `refuseNext(n)` answers the next n requests 429 whatever the bucket holds (tests);
 *   `failRetrieve(orderId, n)` answers the next n RetrieveOrder calls for one order 503 (an outage
 *   that hits one order, while the others are served).
 * - Webhooks signed with base64 HMAC-SHA256(signature key, notification URL + raw body), retried
 *   with the same event_id and `square-retry-number`/`square-retry-reason`; switches for duplicate,
 *   out-of-order and dropped deliveries and for bad signatures or tampered bodies.
 *
 * Run it: `node dist/simulators/square/simulator.js --port 18091 --webhook-url http://127.0.0.1:1880/square/webhook`.
 */
import http from 'node:http';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { catalogItem, DEMO_CATALOG_SIZE } from '../kit/catalog';
import { seededRandom } from '../kit/random';
import { Routes } from '../kit/routes';
import { COMMON_FLAGS, helpText, parseFlags, runMain, runSimulatorCli, type Flags } from '../kit/cli';
import { DEFAULT_SQUARE_VERSION, WEBHOOK_RETRY_SCHEDULE_MS as SQUARE_RETRY_SCHEDULE_MS } from '../../nodes/square/contract';
import type {
  SqDiscount,
  SqError,
  SqLineItem,
  SqMoney,
  SqOrder,
  SqOrderRefund,
  SqOrderState,
  SqPaymentRefund,
  SqReturnLineItem,
  SqSearchOrdersRequest,
  SqTax,
  SqWebhookEvent,
} from '../../nodes/square/types';
import { includedTax, integerQuantity, percentOf, share, times } from '../../nodes/square/pricing';
import { PayoutBook, SimApiFailure, type PayoutExtras } from './payouts';

export interface SimLocation {
  id: string;
  name?: string;
  currency: string;
  timezone?: string;
  /** The tax the random sale generator applies here. */
  tax?: { name: string; percentage: string; type: 'ADDITIVE' | 'INCLUSIVE' };
}

export interface WebhookSwitches {
  /** Deliveries per event (3 = every event arrives three times). */
  duplicates?: number;
  /** Deliver a flushed batch in a shuffled order. */
  outOfOrder?: boolean;
  /** Fraction of events never delivered at all (0..1). */
  dropRate?: number;
  /** Fraction of events signed with a wrong key (every attempt of such an event). */
  badSignatureRate?: number;
  /** Fraction of events whose body is altered after signing. */
  tamperRate?: number;
}

export interface SquareSimulatorOptions {
  port?: number;
  host?: string;
  accessToken?: string;
  merchantId?: string;
  environment?: 'Sandbox' | 'Production';
  locations?: SimLocation[];
  /** Requests per second and burst per access token; absent = no limit. */
  rateLimit?: { ratePerSecond: number; burst: number };
  webhook?: WebhookSwitches & {
    /** Subscriber (notification) URL; the signature covers exactly this string. */
    url?: string;
    signatureKey?: string;
    /** Deliver each event as soon as it happens (otherwise queue until `flushWebhooks()`). */
    autoDeliver?: boolean;
    /** Waits before retry 1, 2, …; default Square's 1, 2, 4, 8, 16, 32 min then hourly to 72 h. */
    retryDelaysMs?: number[];
    /** The 10 s acknowledgement window. */
    ackTimeoutMs?: number;
    /** Deliveries in flight at once. */
    concurrency?: number;
  };
  seed?: number;
  /** Clock (ms); default Date.now. */
  now?: () => number;
}

export const DEFAULT_LOCATIONS: SimLocation[] = [
  { id: 'L-LDN', name: 'London Covent Garden', currency: 'GBP', timezone: 'Europe/London', tax: { name: 'VAT 20%', percentage: '20', type: 'INCLUSIVE' } },
  { id: 'L-NYC', name: 'New York SoHo', currency: 'USD', timezone: 'America/New_York', tax: { name: 'NY Sales Tax', percentage: '8.875', type: 'ADDITIVE' } },
  { id: 'L-TYO', name: 'Tokyo Shibuya', currency: 'JPY', timezone: 'Asia/Tokyo', tax: { name: '消費税 10%', percentage: '10', type: 'INCLUSIVE' } },
];

export class SquareApiError extends Error {
  constructor(
    readonly status: number,
    readonly errors: SqError[],
  ) {
    super(errors.map((e) => `${e.code}: ${e.detail ?? ''}`).join('; '));
  }
}

const err = (status: number, category: string, code: string, detail: string, field?: string) =>
  new SquareApiError(status, [{ category, code, detail, ...(field ? { field } : {}) }]);
const invalid = (code: string, detail: string, field?: string) => err(400, 'INVALID_REQUEST_ERROR', code, detail, field);

export interface CreateOrderInput {
  location_id: string;
  reference_id?: string;
  source?: { name?: string };
  customer_id?: string;
  state?: SqOrderState;
  line_items: Array<
    Pick<SqLineItem, 'name' | 'quantity' | 'catalog_object_id' | 'variation_name' | 'item_type' | 'base_price_money' | 'note' | 'metadata'> & {
      uid?: string;
      applied_taxes?: Array<{ tax_uid: string }>;
      applied_discounts?: Array<{ discount_uid: string }>;
    }
  >;
  taxes?: Array<Omit<SqTax, 'applied_money'>>;
  discounts?: Array<Omit<SqDiscount, 'applied_money'>>;
  fulfillments?: SqOrder['fulfillments'];
  metadata?: Record<string, string>;
}

export interface TenderInput {
  type?: string;
  /** Defaults to what is still due. */
  amount?: number;
  tip?: number;
  last4?: string;
}

interface Delivery {
  eventId: string;
  attempt: number;
  status: number | string;
  at: number;
}

export class SquareSimulator {
  readonly accessToken: string;
  readonly merchantId: string;
  readonly locations: SimLocation[];
  readonly orders = new Map<string, SqOrder>();
  readonly refunds = new Map<string, SqPaymentRefund>();
  readonly events: SqWebhookEvent[] = [];
  readonly deliveries: Delivery[] = [];
  /** Event ids the drop switch swallowed (never delivered). */
  readonly dropped = new Set<string>();
  readonly stats = { requests: 0, rateLimited: 0, searches: 0, retrieves: 0, webhookAttempts: 0, webhookAcked: 0 };
  webhook: NonNullable<SquareSimulatorOptions['webhook']>;
  private readonly idempotency = new Map<string, { hash: string; status: number; body: unknown }>();
  /** SKU → ITEM_VARIATION catalog object. */
  readonly catalog = new Map<string, { id: string; item_id: string; name: string; sku: string; price: number }>();
  /** Every inventory change recorded by BatchChangeInventory, in arrival order. */
  readonly inventoryChanges: Array<Record<string, any>> = [];
  /**
   * The same changes by catalog object and location (their places in `inventoryChanges`), and the
   * catalog's variation ids: a count or a check looks at its own, not at every change or variation
   * (a benchmark's catalogue has 100,000 of them).
   */
  private readonly changesAt = new Map<string, number[]>();
  private readonly variationIds = new Set<string>();
  private readonly buckets = new Map<string, { tokens: number; last: number }>();
  private readonly pending: SqWebhookEvent[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly random: () => number;
  private readonly now: () => number;
  private lastStamp = 0;
  private refusals = 0;
  /** Order id → RetrieveOrder calls still to answer 503. */
  private readonly retrieveFaults = new Map<string, number>();
  /** Order id → RetrieveOrder calls answered 503 by `failRetrieve`. */
  readonly failedRetrieves = new Map<string, number>();
  private counter = 0;
  /** Payouts and their entries, built from the payments and refunds above. */
  readonly payoutBook = new PayoutBook({
    orders: this.orders,
    refunds: this.refunds,
    stamp: () => this.stamp(),
    newId: (prefix) => this.newId(prefix),
  });
  private server?: http.Server;
  private stopped = false;

  constructor(private readonly opts: SquareSimulatorOptions = {}) {
    this.accessToken = opts.accessToken ?? 'sq-sim-access-token';
    this.merchantId = opts.merchantId ?? 'MLSIMULATOR01';
    this.locations = opts.locations ?? DEFAULT_LOCATIONS;
    this.webhook = { signatureKey: 'sq-sim-signature-key', ...opts.webhook };
    this.random = seededRandom(opts.seed ?? 7);
    this.now = opts.now ?? Date.now;
    for (let i = 0; i < DEMO_CATALOG_SIZE; i++) this.addCatalogVariation(catalogItem(i).sku, catalogItem(i).name, catalogItem(i).unitPrice);
  }

  /** Adds an ITEM_VARIATION for a SKU (the existing one if the SKU has one); returns its id. */
  addCatalogVariation(sku: string, name = sku, price = 0): string {
    const existing = this.catalog.get(sku);
    if (existing) return existing.id;
    const id = SquareSimulator.catalogObjectId(sku);
    this.catalog.set(sku, { id, item_id: `ITEM${id.slice(3)}`, name, sku, price });
    this.variationIds.add(id);
    return id;
  }

  // ─────────────────────────────────────────── server ───────────────────────────────────────────

  async start(): Promise<string> {
    if (this.server) return this.url;
    const server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    this.server = server;
    return this.url;
  }

  get url(): string {
    const addr = this.server?.address();
    if (!addr || typeof addr === 'string') throw new Error('simulator not started');
    return `http://${this.opts.host ?? '127.0.0.1'}:${addr.port}`;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.inFlight]);
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const version = (req.headers['square-version'] as string | undefined) ?? DEFAULT_SQUARE_VERSION;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'square-version': version });
      res.end(JSON.stringify(body));
    };
    try {
      const url = new URL(req.url ?? '/', 'http://sim');
      if (url.pathname === '/__simulator/state' && req.method === 'GET') return send(200, this.stateView());
      if (url.pathname === '/__simulator/sales' && req.method === 'POST') {
        const n = Math.min(1000, Number(JSON.parse(raw || '{}').count ?? 1));
        const ids = Array.from({ length: n }, () => this.randomSale().id);
        await this.flushWebhooks();
        return send(200, { order_ids: ids });
      }
      if (url.pathname === '/__simulator/payouts' && req.method === 'POST') return send(200, { payouts: this.createPayouts(JSON.parse(raw || '{}')) });
      if (!url.pathname.startsWith('/v2/')) throw err(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND', `no route ${url.pathname}`);
      this.stats.requests++;
      const auth = req.headers.authorization ?? '';
      const token = /^Bearer (.+)$/.exec(auth)?.[1];
      if (token !== this.accessToken)
        throw err(
          401,
          'AUTHENTICATION_ERROR',
          'UNAUTHORIZED',
          'The `Authorization` http header of your request was incorrect or missing a valid Bearer token.',
        );
      if (!/^\d{4}-\d{2}-\d{2}$/.test(version)) throw invalid('API_VERSION_INCOMPATIBLE', `Square-Version '${version}' is not a valid version`);
      if (this.refusals > 0 || !this.allow(token)) {
        if (this.refusals > 0) this.refusals--;
        this.stats.rateLimited++;
        throw err(429, 'RATE_LIMIT_ERROR', 'RATE_LIMITED', 'Rate limited; back off and retry.');
      }
      // A GET's query parameters reach its handler as the body.
      let body: any = req.method === 'GET' ? Object.fromEntries(url.searchParams) : {};
      if (raw) {
        try {
          body = JSON.parse(raw);
        } catch {
          throw invalid('INVALID_CONTENT_TYPE', 'request body is not valid JSON');
        }
      }
      const p = url.pathname;
      const route = this.routes.match(req.method ?? 'GET', p);
      if (route) return send(200, route.value(body, route.params));
      throw err(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND', `no route ${req.method} ${p}`);
    } catch (e) {
      if (e instanceof SquareApiError) return send(e.status, { errors: e.errors });
      if (e instanceof SimApiFailure)
        return send(e.status, { errors: [{ category: 'INVALID_REQUEST_ERROR', code: e.code, detail: e.message, ...(e.field ? { field: e.field } : {}) }] });
      return send(500, { errors: [{ category: 'API_ERROR', code: 'INTERNAL_SERVER_ERROR', detail: String((e as Error).message) }] });
    }
  }

  /** Square's endpoints by method and path: each answers 200 with what its handler returns. */
  private readonly routes = new Routes<(body: any, params: string[]) => unknown>()
    .add('POST', '/v2/orders/search', (body) => this.searchOrders(body))
    .add('POST', '/v2/orders/batch-retrieve', (body) => this.batchRetrieve(body))
    .add('POST', '/v2/orders', (body) => this.idempotent('orders', body.idempotency_key, false, body, () => ({ order: this.createOrder(body.order) })))
    .add('GET', '/v2/orders/:orderId', (_body, [id]) => {
      this.stats.retrieves++;
      const faults = this.retrieveFaults.get(id) ?? 0;
      if (faults > 0) {
        this.retrieveFaults.set(id, faults - 1);
        this.failedRetrieves.set(id, (this.failedRetrieves.get(id) ?? 0) + 1);
        throw err(503, 'API_ERROR', 'SERVICE_UNAVAILABLE', `order ${id} is temporarily unavailable`);
      }
      return { order: this.retrieve(id) };
    })
    .add('PUT', '/v2/orders/:orderId', (body, [id]) =>
      this.idempotent(`update:${id}`, body.idempotency_key, false, body, () => ({ order: this.updateOrder(id, body.order ?? {}) })),
    )
    .add('POST', '/v2/catalog/search', (body) => this.searchCatalog(body))
    .add('POST', '/v2/inventory/changes/batch-create', (body) =>
      this.idempotent('inventory', body.idempotency_key, true, body, () => this.batchChangeInventory(body)),
    )
    .add('POST', '/v2/inventory/counts/batch-retrieve', (body) => this.batchRetrieveCounts(body))
    .add('POST', '/v2/refunds', (body) => this.idempotent('refunds', body.idempotency_key, true, body, () => ({ refund: this.refundPayment(body) })))
    .add('GET', '/v2/refunds/:refundId', (_body, [id]) => {
      const r = this.refunds.get(id);
      if (!r) throw err(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND', `refund ${id} not found`);
      return { refund: r };
    })
    .add('GET', '/v2/payouts', (q) => this.payoutBook.listPayouts(q, this.locations[0].id))
    .add('GET', '/v2/payouts/:payoutId', (_q, [id]) => this.payoutBook.getPayout(id))
    .add('GET', '/v2/payouts/:payoutId/payout-entries', (q, [id]) => this.payoutBook.listEntries(id, q))
    .add('GET', '/v2/payments/:paymentId', (_q, [id]) => ({ payment: this.payoutBook.getPayment(id) }));

  /** Pays out what the card payments and refunds so far owe each location (payouts.ts); the new payouts. */
  createPayouts(extras: PayoutExtras = {}) {
    return this.payoutBook.createPayouts(extras);
  }

  /** A payout's bank answer: PAID or FAILED. */
  settlePayout(id: string, status: 'PAID' | 'FAILED') {
    return this.payoutBook.settlePayout(id, status);
  }

  private allow(token: string): boolean {
    const limit = this.opts.rateLimit;
    if (!limit) return true;
    const now = this.now();
    const b = this.buckets.get(token) ?? { tokens: limit.burst, last: now };
    b.tokens = Math.min(limit.burst, b.tokens + ((now - b.last) / 1000) * limit.ratePerSecond);
    b.last = now;
    this.buckets.set(token, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /**
   * The next `n` API requests are refused 429 `RATE_LIMITED` whatever the bucket holds (another
   * client on the account was just over the limit when they arrived); later ones are served.
   */
  refuseNext(n = 1): void {
    this.refusals += n;
  }

  /** The next `n` RetrieveOrder calls for `orderId` are answered 503 (Infinity: until told otherwise). */
  failRetrieve(orderId: string, n = 1): void {
    if (n > 0) this.retrieveFaults.set(orderId, n);
    else this.retrieveFaults.delete(orderId);
  }

  /**
   * Empties an access token's rate bucket now, with `debtMs` of refill owed on top (another client
   * on the account has just been over the limit): requests are refused until it is paid back.
   */
  exhaustRateLimit(debtMs = 0, token = this.accessToken): void {
    const rate = this.opts.rateLimit?.ratePerSecond ?? 0;
    this.buckets.set(token, { tokens: -(rate * debtMs) / 1000, last: this.now() });
  }

  /** Same key + same body ⇒ the stored response; same key + another body ⇒ IDEMPOTENCY_KEY_REUSED. */
  private idempotent(scope: string, key: unknown, required: boolean, body: unknown, run: () => unknown): unknown {
    if (key === undefined || key === null || key === '') {
      if (required) throw invalid('MISSING_REQUIRED_PARAMETER', 'idempotency_key is required', 'idempotency_key');
      return run();
    }
    if (typeof key !== 'string' || key.length > 192)
      throw invalid('INVALID_VALUE', 'idempotency_key must be a string of at most 192 characters', 'idempotency_key');
    const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    const seen = this.idempotency.get(`${scope}:${key}`);
    if (seen) {
      if (seen.hash !== hash) throw invalid('IDEMPOTENCY_KEY_REUSED', `idempotency key '${key}' was already used with a different request`, 'idempotency_key');
      return JSON.parse(JSON.stringify(seen.body));
    }
    const result = run();
    this.idempotency.set(`${scope}:${key}`, { hash, status: 200, body: JSON.parse(JSON.stringify(result)) });
    return result;
  }

  // ─────────────────────────────────────── catalog, inventory ─────────────────────────────────────

  private variationJson(v: { id: string; item_id: string; name: string; sku: string; price: number }, currency = 'USD') {
    return {
      type: 'ITEM_VARIATION',
      id: v.id,
      updated_at: '2025-01-01T00:00:00Z',
      version: 1,
      is_deleted: false,
      present_at_all_locations: true,
      item_variation_data: {
        item_id: v.item_id,
        name: v.name,
        sku: v.sku,
        pricing_type: 'FIXED_PRICING',
        price_money: { amount: v.price, currency },
        track_inventory: true,
      },
    };
  }

  /** SearchCatalogObjects, for ITEM_VARIATION objects: exact_query on sku or name, or every one. */
  private searchCatalog(body: any) {
    const types: unknown = body.object_types;
    if (types !== undefined && (!Array.isArray(types) || types.some((t) => typeof t !== 'string')))
      throw invalid('INVALID_VALUE', 'object_types must be a list of object types', 'object_types');
    const limit = body.limit === undefined ? 100 : Number(body.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw invalid('INVALID_VALUE', 'limit must be between 1 and 1000', 'limit');
    if (Array.isArray(types) && !types.includes('ITEM_VARIATION')) return { objects: [] };
    const exact = body.query?.exact_query;
    if (body.query && !exact) throw invalid('BAD_REQUEST', 'the simulator supports only exact_query', 'query');
    if (exact && (typeof exact.attribute_name !== 'string' || typeof exact.attribute_value !== 'string'))
      throw invalid('MISSING_REQUIRED_PARAMETER', 'exact_query needs attribute_name and attribute_value', 'query.exact_query');
    const all = [...this.catalog.values()].filter(
      (v) =>
        !exact ||
        (exact.attribute_name === 'sku' ? v.sku === exact.attribute_value : exact.attribute_name === 'name' ? v.name === exact.attribute_value : false),
    );
    const start = body.cursor ? Number(Buffer.from(String(body.cursor), 'base64url').toString('utf8')) : 0;
    if (!Number.isInteger(start) || start < 0) throw invalid('INVALID_CURSOR', 'the cursor is not valid', 'cursor');
    const page = all.slice(start, start + limit);
    const out: Record<string, unknown> = { objects: page.map((v) => this.variationJson(v)) };
    if (start + limit < all.length) out.cursor = Buffer.from(String(start + limit)).toString('base64url');
    return out;
  }

  /** The current count of a catalog object at a location in a state, as Square computes it (by occurred_at). */
  inventoryCount(catalogObjectId: string, locationId: string, state = 'IN_STOCK'): string | undefined {
    const relevant = (this.changesAt.get(`${catalogObjectId}|${locationId}`) ?? [])
      .map((i) => this.inventoryChanges[i])
      .filter((c) => {
        if (c.type === 'PHYSICAL_COUNT')
          return c.physical_count.catalog_object_id === catalogObjectId && c.physical_count.location_id === locationId && c.physical_count.state === state;
        const a = c.adjustment;
        return a.catalog_object_id === catalogObjectId && a.location_id === locationId && (a.from_state === state || a.to_state === state);
      })
      .map((c, i) => ({ c, i, at: Date.parse((c.physical_count ?? c.adjustment).occurred_at) }))
      .sort((x, y) => x.at - y.at || x.i - y.i);
    if (!relevant.length) return undefined;
    let q = 0;
    for (const { c } of relevant) {
      if (c.type === 'PHYSICAL_COUNT') q = Number(c.physical_count.quantity);
      else q += (c.adjustment.to_state === state ? 1 : -1) * Number(c.adjustment.quantity);
    }
    return String(Math.round(q * 1e5) / 1e5);
  }

  private countJson(catalogObjectId: string, locationId: string, state: string) {
    return {
      catalog_object_id: catalogObjectId,
      catalog_object_type: 'ITEM_VARIATION',
      state,
      location_id: locationId,
      quantity: this.inventoryCount(catalogObjectId, locationId, state) ?? '0',
      calculated_at: new Date(this.now()).toISOString(),
    };
  }

  /** BatchChangeInventory (the idempotency wrapper is around it). */
  private batchChangeInventory(body: any) {
    const changes: unknown = body.changes;
    if (!Array.isArray(changes) || changes.length < 1 || changes.length > 100)
      throw invalid('INVALID_ARRAY_LENGTH', 'changes must hold 1 to 100 changes', 'changes');
    const ignoreUnchanged = body.ignore_unchanged_counts !== false;
    const variationIds = this.variationIds;
    const QTY = /^-?\d+(\.\d{1,5})?$/;
    const STATES = [
      'IN_STOCK',
      'SOLD',
      'RETURNED_BY_CUSTOMER',
      'RESERVED_FOR_SALE',
      'SOLD_ONLINE',
      'ORDERED_FROM_VENDOR',
      'RECEIVED_FROM_VENDOR',
      'IN_TRANSIT_TO',
      'NONE',
      'WASTE',
      'UNLINKED_RETURN',
      'COMPOSED',
      'DECOMPOSED',
      'SUPPORTED_BY_NEWER_VERSION',
      'IN_TRANSIT',
    ];
    const checked = changes.map((c: any, i: number) => {
      const at = `changes[${i}]`;
      const detail = c?.type === 'PHYSICAL_COUNT' ? c.physical_count : c?.type === 'ADJUSTMENT' ? c.adjustment : undefined;
      if (c?.type === 'TRANSFER') throw invalid('UNSUPPORTED_ENTITY', 'the simulator does not model TRANSFER changes', `${at}.type`);
      if (!detail) throw invalid('INVALID_ENUM_VALUE', 'type must be PHYSICAL_COUNT or ADJUSTMENT with its matching object', `${at}.type`);
      const path = `${at}.${c.type === 'PHYSICAL_COUNT' ? 'physical_count' : 'adjustment'}`;
      if (typeof detail.catalog_object_id !== 'string' || !detail.catalog_object_id)
        throw invalid('MISSING_REQUIRED_PARAMETER', 'catalog_object_id is required', `${path}.catalog_object_id`);
      if (!variationIds.has(detail.catalog_object_id))
        throw err(400, 'INVALID_REQUEST_ERROR', 'NOT_FOUND', `catalog object ${detail.catalog_object_id} not found`, `${path}.catalog_object_id`);
      if (typeof detail.location_id !== 'string' || !this.locations.some((l) => l.id === detail.location_id))
        throw err(400, 'INVALID_REQUEST_ERROR', 'NOT_FOUND', `location ${detail.location_id} not found`, `${path}.location_id`);
      if (typeof detail.quantity !== 'string' || !QTY.test(detail.quantity))
        throw invalid('INVALID_VALUE', 'quantity must be a decimal string with at most 5 decimals', `${path}.quantity`);
      if (typeof detail.occurred_at !== 'string' || Number.isNaN(Date.parse(detail.occurred_at)))
        throw invalid('MISSING_REQUIRED_PARAMETER', 'occurred_at is required (RFC 3339)', `${path}.occurred_at`);
      if (c.type === 'PHYSICAL_COUNT') {
        if (!STATES.includes(detail.state)) throw invalid('INVALID_ENUM_VALUE', `state '${detail.state}' is not an inventory state`, `${path}.state`);
        if (Number(detail.quantity) < 0) throw invalid('INVALID_VALUE', 'a physical count cannot be negative', `${path}.quantity`);
      } else {
        if (!STATES.includes(detail.from_state) || !STATES.includes(detail.to_state))
          throw invalid('INVALID_ENUM_VALUE', 'from_state and to_state must be inventory states', path);
        if (!(Number(detail.quantity) > 0)) throw invalid('INVALID_VALUE', 'an adjustment quantity must be positive', `${path}.quantity`);
      }
      return { c, detail };
    });
    const recorded: Array<Record<string, any>> = [];
    const touched = new Map<string, [string, string, string]>();
    for (const { c, detail } of checked) {
      if (
        c.type === 'PHYSICAL_COUNT' &&
        ignoreUnchanged &&
        this.inventoryCount(detail.catalog_object_id, detail.location_id, detail.state) === String(Number(detail.quantity))
      )
        continue;
      const change = {
        type: c.type,
        [c.type === 'PHYSICAL_COUNT' ? 'physical_count' : 'adjustment']: {
          id: this.newId('IC'),
          ...clone(detail),
          created_at: new Date(this.now()).toISOString(),
        },
      };
      const key = `${detail.catalog_object_id}|${detail.location_id}`;
      let places = this.changesAt.get(key);
      if (!places) this.changesAt.set(key, (places = []));
      places.push(this.inventoryChanges.push(change) - 1);
      recorded.push(clone(change));
      for (const state of c.type === 'PHYSICAL_COUNT' ? [detail.state] : [detail.from_state, detail.to_state])
        touched.set(`${detail.catalog_object_id}|${detail.location_id}|${state}`, [detail.catalog_object_id, detail.location_id, state]);
    }
    for (const { detail } of checked) {
      const state = detail.state ?? detail.to_state;
      touched.set(`${detail.catalog_object_id}|${detail.location_id}|${state}`, [detail.catalog_object_id, detail.location_id, state]);
    }
    return { counts: [...touched.values()].map(([id, loc, state]) => this.countJson(id, loc, state)), changes: recorded };
  }

  /**
   * BatchRetrieveInventoryCounts: the counts of the objects at the locations in the states, `limit`
   * (1–1000, default 1000) a page with a `cursor` to the next (sent back with the same query).
   */
  private batchRetrieveCounts(body: any) {
    const ids: string[] = Array.isArray(body.catalog_object_ids) ? body.catalog_object_ids : [];
    const locs: string[] = Array.isArray(body.location_ids) && body.location_ids.length ? body.location_ids : this.locations.map((l) => l.id);
    const states: string[] = Array.isArray(body.states) && body.states.length ? body.states : ['IN_STOCK'];
    const limit = body.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw invalid('INVALID_VALUE', 'limit must be between 1 and 1000', 'limit');
    const start = body.cursor === undefined ? 0 : Number(Buffer.from(String(body.cursor), 'base64url').toString('utf8'));
    if (!Number.isInteger(start) || start < 0) throw invalid('INVALID_CURSOR', 'the cursor is not valid', 'cursor');
    const counts = [];
    for (const id of ids)
      for (const loc of locs) for (const state of states) if (this.inventoryCount(id, loc, state) !== undefined) counts.push(this.countJson(id, loc, state));
    const page = counts.slice(start, start + limit);
    // Square leaves empty lists out of its answers.
    return {
      ...(page.length ? { counts: page } : {}),
      ...(start + limit < counts.length ? { cursor: Buffer.from(String(start + limit)).toString('base64url') } : {}),
    };
  }

  // ─────────────────────────────────────────── orders ───────────────────────────────────────────

  private stamp(): string {
    // Distinct, increasing instants so `updated_at` orders events like Square's clock does.
    const t = Math.max(this.now(), this.lastStamp + 1);
    this.lastStamp = t;
    return new Date(t).toISOString();
  }

  private newId(prefix: string): string {
    this.counter++;
    return `${prefix}${this.counter.toString(36).toUpperCase().padStart(6, '0')}${randomBytes(6).toString('hex').toUpperCase()}`;
  }

  location(id: string): SimLocation {
    const loc = this.locations.find((l) => l.id === id);
    if (!loc) throw err(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND', `location ${id} not found`, 'location_id');
    return loc;
  }

  retrieve(id: string): SqOrder {
    const o = this.orders.get(id);
    if (!o) throw err(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND', `Order ${id} not found`);
    return clone(o);
  }

  private batchRetrieve(body: any) {
    const ids: unknown = body.order_ids;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 100) throw invalid('INVALID_ARRAY_LENGTH', 'order_ids must hold 1 to 100 ids', 'order_ids');
    this.stats.retrieves++;
    const orders = ids.map((id) => this.orders.get(String(id))).filter((o): o is SqOrder => !!o && (!body.location_id || o.location_id === body.location_id));
    return { orders: orders.map(clone) };
  }

  /** CreateOrder: prices the order the way Square does and stores it at version 1. */
  createOrder(input: CreateOrderInput): SqOrder {
    if (!input || typeof input !== 'object') throw invalid('MISSING_REQUIRED_PARAMETER', 'order is required', 'order');
    const loc = this.location(input.location_id);
    const currency = loc.currency;
    if (!Array.isArray(input.line_items) || input.line_items.length === 0)
      throw invalid('MISSING_REQUIRED_PARAMETER', 'order.line_items must not be empty', 'order.line_items');
    const taxes: SqTax[] = (input.taxes ?? []).map((t, i) => ({ scope: 'LINE_ITEM', type: 'ADDITIVE', ...t, uid: t.uid ?? `tax-${i + 1}` }));
    const discounts: SqDiscount[] = (input.discounts ?? []).map((d, i) => ({ scope: 'LINE_ITEM', ...d, uid: d.uid ?? `disc-${i + 1}` }));
    const lines: SqLineItem[] = input.line_items.map((li, i) => {
      const base = li.base_price_money;
      if (!base || !Number.isSafeInteger(base.amount) || base.amount < 0)
        throw invalid('INVALID_VALUE', 'base_price_money.amount must be a non-negative integer of minor units', `order.line_items[${i}].base_price_money`);
      if (base.currency !== currency)
        throw invalid(
          'INVALID_CURRENCY',
          `line currency ${base.currency} differs from the location's ${currency}`,
          `order.line_items[${i}].base_price_money.currency`,
        );
      if (typeof li.quantity !== 'string' || !/^\d+(\.\d{1,5})?$/.test(li.quantity))
        throw invalid('INVALID_VALUE', 'quantity must be decimal text', `order.line_items[${i}].quantity`);
      const gross = times(base.amount, li.quantity);
      return {
        uid: li.uid ?? `line-${i + 1}`,
        name: li.name,
        quantity: li.quantity,
        catalog_object_id: li.catalog_object_id,
        variation_name: li.variation_name,
        item_type: li.item_type ?? 'ITEM',
        base_price_money: { ...base },
        variation_total_price_money: { amount: gross, currency },
        gross_sales_money: { amount: gross, currency },
        applied_taxes: (li.applied_taxes ?? []).map((t) => ({ tax_uid: t.tax_uid })),
        applied_discounts: (li.applied_discounts ?? []).map((d) => ({ discount_uid: d.discount_uid })),
        ...(li.note ? { note: li.note } : {}),
        ...(li.metadata ? { metadata: li.metadata } : {}),
      };
    });
    this.price(lines, taxes, discounts, currency);
    const at = this.stamp();
    const order: SqOrder = {
      id: this.newId('SQO'),
      location_id: loc.id,
      ...(input.reference_id ? { reference_id: input.reference_id } : {}),
      source: input.source ?? { name: 'Square Point of Sale' },
      ...(input.customer_id ? { customer_id: input.customer_id } : {}),
      line_items: lines,
      taxes,
      discounts,
      ...(input.fulfillments ? { fulfillments: input.fulfillments } : {}),
      ...(input.metadata ? { metadata: input.metadata } : {}),
      tenders: [],
      refunds: [],
      created_at: at,
      updated_at: at,
      state: input.state ?? 'OPEN',
      version: 1,
      total_money: { amount: 0, currency },
    };
    this.totals(order);
    this.orders.set(order.id, order);
    this.emit('order.created', 'order_created', order.id, { order_created: this.summary(order) });
    return clone(order);
  }

  private price(lines: SqLineItem[], taxes: SqTax[], discounts: SqDiscount[], currency: string): void {
    const money = (amount: number): SqMoney => ({ amount, currency });
    const disc = lines.map(() => 0);
    const applied = lines.map(() => new Map<string, number>());
    for (const d of discounts) {
      const targets = lines.map((l, i) => (d.scope === 'ORDER' || l.applied_discounts!.some((a) => a.discount_uid === d.uid) ? i : -1)).filter((i) => i >= 0);
      if (d.type === 'FIXED_AMOUNT' || (!d.percentage && d.amount_money)) {
        // A fixed amount is spread over its lines in proportion to their gross sales (remainder to the last).
        const total = Math.min(
          d.amount_money?.amount ?? 0,
          targets.reduce((s, i) => s + lines[i].gross_sales_money!.amount - disc[i], 0),
        );
        const whole = targets.reduce((s, i) => s + lines[i].gross_sales_money!.amount, 0);
        let left = total;
        targets.forEach((i, k) => {
          const part = k === targets.length - 1 ? left : share(total, lines[i].gross_sales_money!.amount, whole);
          left -= part;
          disc[i] += part;
          applied[i].set(d.uid, part);
        });
      } else {
        for (const i of targets) {
          const part = percentOf(lines[i].gross_sales_money!.amount, d.percentage ?? '0');
          disc[i] += part;
          applied[i].set(d.uid, part);
        }
      }
      d.applied_money = money(targets.reduce((s, i) => s + (applied[i].get(d.uid) ?? 0), 0));
    }
    const taxAmt = lines.map(() => 0);
    const taxApplied = lines.map(() => new Map<string, number>());
    let additive = lines.map(() => 0);
    for (const t of taxes) {
      let sum = 0;
      lines.forEach((l, i) => {
        if (t.scope !== 'ORDER' && !l.applied_taxes!.some((a) => a.tax_uid === t.uid)) return;
        const taxable = l.gross_sales_money!.amount - disc[i];
        const amount = t.type === 'INCLUSIVE' ? includedTax(taxable, t.percentage ?? '0') : percentOf(taxable, t.percentage ?? '0');
        taxAmt[i] += amount;
        if (t.type !== 'INCLUSIVE') additive[i] += amount;
        taxApplied[i].set(t.uid, amount);
        sum += amount;
      });
      t.applied_money = money(sum);
    }
    lines.forEach((l, i) => {
      l.applied_discounts = [...applied[i]].map(([discount_uid, amount]) => ({ uid: `${l.uid}-${discount_uid}`, discount_uid, applied_money: money(amount) }));
      l.applied_taxes = [...taxApplied[i]].map(([tax_uid, amount]) => ({ uid: `${l.uid}-${tax_uid}`, tax_uid, applied_money: money(amount) }));
      l.total_discount_money = money(disc[i]);
      l.total_tax_money = money(taxAmt[i]);
      l.total_money = money(l.gross_sales_money!.amount - disc[i] + additive[i]);
    });
    additive = [];
  }

  private totals(o: SqOrder): void {
    const c = o.total_money.currency;
    const sum = (xs: Array<SqMoney | undefined>) => xs.reduce((s, m) => s + (m?.amount ?? 0), 0);
    const lines = o.line_items ?? [];
    const rl = (o.returns ?? []).flatMap((r) => r.return_line_items ?? []);
    o.total_money = { amount: sum(lines.map((l) => l.total_money)) + sum(o.tenders!.map((t) => t.tip_money)), currency: c };
    o.total_tax_money = { amount: sum(lines.map((l) => l.total_tax_money)), currency: c };
    o.total_discount_money = { amount: sum(lines.map((l) => l.total_discount_money)), currency: c };
    o.total_tip_money = { amount: sum(o.tenders!.map((t) => t.tip_money)), currency: c };
    o.total_service_charge_money = { amount: 0, currency: c };
    if (o.returns?.length) {
      o.return_amounts = {
        total_money: { amount: sum(rl.map((l) => l.total_money)), currency: c },
        tax_money: { amount: sum(rl.map((l) => l.total_tax_money)), currency: c },
        discount_money: { amount: sum(rl.map((l) => l.total_discount_money)), currency: c },
      };
    }
    o.net_amounts = {
      total_money: { amount: o.total_money.amount - (o.return_amounts?.total_money?.amount ?? 0), currency: c },
      tax_money: { amount: o.total_tax_money.amount - (o.return_amounts?.tax_money?.amount ?? 0), currency: c },
      discount_money: { amount: o.total_discount_money.amount - (o.return_amounts?.discount_money?.amount ?? 0), currency: c },
      tip_money: { ...o.total_tip_money },
    };
    const paid = sum(o.tenders!.map((t) => t.amount_money));
    o.net_amount_due_money = { amount: Math.max(0, o.total_money.amount - paid), currency: c };
  }

  private summary(o: SqOrder) {
    return { order_id: o.id, version: o.version, location_id: o.location_id, state: o.state, created_at: o.created_at, updated_at: o.updated_at };
  }

  private touch(o: SqOrder): void {
    o.version++;
    o.updated_at = this.stamp();
    this.emit('order.updated', 'order_updated', o.id, { order_updated: this.summary(o) });
  }

  /** Takes payment (one CARD tender for the amount due by default) and completes the order. */
  payOrder(id: string, tenders: TenderInput[] = [{}]): SqOrder {
    const o = this.orders.get(id);
    if (!o) throw err(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND', `Order ${id} not found`);
    if (o.state !== 'OPEN') throw invalid('BAD_REQUEST', `order ${id} is ${o.state}, not OPEN`);
    const c = o.total_money.currency;
    const at = this.stamp();
    let due = o.total_money.amount;
    for (const t of tenders) {
      const tip = t.tip ?? 0;
      const base = t.amount ?? due;
      due -= base;
      const tid = this.newId('TND');
      o.tenders!.push({
        id: tid,
        type: t.type ?? 'CARD',
        amount_money: { amount: base + tip, currency: c },
        ...(tip ? { tip_money: { amount: tip, currency: c } } : {}),
        payment_id: tid,
        created_at: at,
        ...(t.type === 'CASH'
          ? { cash_details: { buyer_tendered_money: { amount: base + tip, currency: c }, change_back_money: { amount: 0, currency: c } } }
          : { card_details: { status: 'CAPTURED', card: { last_4: t.last4 ?? '4242', card_brand: 'VISA' } } }),
      });
    }
    if (due !== 0) throw invalid('INVALID_VALUE', `tenders leave ${due} minor units unpaid or overpaid`);
    this.totals(o);
    o.state = 'COMPLETED';
    o.closed_at = at;
    this.touch(o);
    return clone(o);
  }

  private updateOrder(id: string, patch: Partial<SqOrder>): SqOrder {
    const o = this.orders.get(id);
    if (!o) throw err(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND', `Order ${id} not found`);
    if (patch.version !== undefined && patch.version !== o.version)
      throw invalid('VERSION_MISMATCH', `order ${id} is at version ${o.version}, not ${patch.version}`, 'order.version');
    if (patch.state === 'CANCELED') return this.cancelOrder(id);
    if (patch.metadata) o.metadata = { ...o.metadata, ...patch.metadata };
    if (patch.reference_id) o.reference_id = patch.reference_id;
    this.touch(o);
    return clone(o);
  }

  cancelOrder(id: string): SqOrder {
    const o = this.orders.get(id);
    if (!o) throw err(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND', `Order ${id} not found`);
    if (o.state !== 'OPEN' && o.state !== 'DRAFT') throw invalid('BAD_REQUEST', `order ${id} is ${o.state} and cannot be canceled`);
    o.state = 'CANCELED';
    o.closed_at = this.stamp();
    this.touch(o);
    return clone(o);
  }

  /**
   * An itemized return at the till: a new return order (state COMPLETED) whose `returns` name the
   * source order and lines, refunded to the source order's first tender. Emits order.created for the
   * return order and refund.created for the refund.
   */
  returnItems(
    sourceOrderId: string,
    items: Array<{ lineUid: string; quantity: string }>,
    opts: { refundStatus?: 'COMPLETED' | 'PENDING'; reason?: string } = {},
  ): { order: SqOrder; refund: SqPaymentRefund } {
    const src = this.orders.get(sourceOrderId);
    if (!src) throw err(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND', `Order ${sourceOrderId} not found`);
    if (src.state !== 'COMPLETED') throw invalid('BAD_REQUEST', `order ${sourceOrderId} is ${src.state}: only completed orders can be returned`);
    const c = src.total_money.currency;
    const money = (amount: number): SqMoney => ({ amount, currency: c });
    const returnLines: SqReturnLineItem[] = items.map((it, i) => {
      const li = src.line_items!.find((l) => l.uid === it.lineUid);
      if (!li) throw invalid('NOT_FOUND', `line ${it.lineUid} is not on order ${sourceOrderId}`);
      const q = integerQuantity(it.quantity)!;
      const whole = integerQuantity(li.quantity)!;
      const gross = times(li.base_price_money!.amount, it.quantity);
      const prop = (m?: SqMoney) => share(m?.amount ?? 0, q, whole);
      const appliedTaxes = (li.applied_taxes ?? []).map((t) => ({ tax_uid: t.tax_uid, applied_money: money(prop(t.applied_money)) }));
      const appliedDiscounts = (li.applied_discounts ?? []).map((d) => ({ discount_uid: d.discount_uid, applied_money: money(prop(d.applied_money)) }));
      const discount = appliedDiscounts.reduce((s, d) => s + d.applied_money.amount, 0);
      const tax = appliedTaxes.reduce((s, t) => s + t.applied_money.amount, 0);
      const additive = (li.applied_taxes ?? []).reduce(
        (s, t, k) => s + ((src.taxes ?? []).find((x) => x.uid === t.tax_uid)?.type === 'INCLUSIVE' ? 0 : appliedTaxes[k].applied_money.amount),
        0,
      );
      return {
        uid: `ret-${i + 1}`,
        source_line_item_uid: li.uid,
        name: li.name,
        quantity: it.quantity,
        catalog_object_id: li.catalog_object_id,
        base_price_money: { ...li.base_price_money! },
        gross_return_money: money(gross),
        total_discount_money: money(discount),
        total_tax_money: money(tax),
        total_money: money(gross - discount + additive),
        applied_taxes: appliedTaxes,
        applied_discounts: appliedDiscounts,
      };
    });
    const at = this.stamp();
    const ret: SqOrder = {
      id: this.newId('SQR'),
      location_id: src.location_id,
      source: src.source,
      line_items: [],
      returns: [
        {
          uid: 'return-1',
          source_order_id: src.id,
          return_line_items: returnLines,
          return_taxes: clone(src.taxes ?? []),
          return_discounts: clone(src.discounts ?? []),
        },
      ],
      tenders: [],
      refunds: [],
      created_at: at,
      updated_at: at,
      closed_at: at,
      state: 'COMPLETED',
      version: 1,
      total_money: money(0),
    };
    this.totals(ret);
    const amount = ret.return_amounts!.total_money!.amount;
    const tender = src.tenders![0];
    const refundId = this.newId('RFD');
    const status = opts.refundStatus ?? 'COMPLETED';
    const orderRefund: SqOrderRefund = {
      id: refundId,
      location_id: src.location_id,
      tender_id: tender?.id,
      transaction_id: src.id,
      reason: opts.reason ?? 'Returned goods',
      amount_money: money(amount),
      status: status === 'COMPLETED' ? 'COMPLETED' : 'PENDING',
      created_at: at,
    };
    ret.refunds!.push(orderRefund);
    this.orders.set(ret.id, ret);
    const refund: SqPaymentRefund = {
      id: refundId,
      status,
      amount_money: money(amount),
      payment_id: tender?.payment_id ?? tender?.id ?? '',
      order_id: ret.id,
      location_id: src.location_id,
      reason: orderRefund.reason,
      created_at: at,
      updated_at: at,
    };
    this.refunds.set(refundId, refund);
    this.emit('order.created', 'order_created', ret.id, { order_created: this.summary(ret) });
    this.emit('refund.created', 'refund', refundId, { refund: clone(refund) });
    return { order: clone(ret), refund: clone(refund) };
  }

  /** A pending refund goes through: the refund and its return order change (refund.updated, order.updated). */
  completeRefund(refundId: string): SqPaymentRefund {
    const r = this.refunds.get(refundId);
    if (!r) throw err(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND', `refund ${refundId} not found`);
    r.status = 'COMPLETED';
    r.updated_at = this.stamp();
    const o = r.order_id ? this.orders.get(r.order_id) : undefined;
    const onOrder = o?.refunds?.find((x) => x.id === refundId);
    if (onOrder) onOrder.status = 'COMPLETED';
    this.emit('refund.updated', 'refund', refundId, { refund: clone(r) });
    if (o) this.touch(o);
    return clone(r);
  }

  /** RefundPayment: an unitemized refund of a payment (idempotency key required). */
  private refundPayment(body: any): SqPaymentRefund {
    const amount = body.amount_money as SqMoney | undefined;
    if (!amount || !Number.isSafeInteger(amount.amount) || amount.amount <= 0)
      throw invalid('INVALID_VALUE', 'amount_money must be a positive integer of minor units', 'amount_money');
    if (!body.payment_id) throw invalid('MISSING_REQUIRED_PARAMETER', 'payment_id is required', 'payment_id');
    const order = [...this.orders.values()].find((o) => o.tenders?.some((t) => t.payment_id === body.payment_id || t.id === body.payment_id));
    if (!order) throw err(404, 'INVALID_REQUEST_ERROR', 'NOT_FOUND', `payment ${body.payment_id} not found`);
    if (amount.currency !== order.total_money.currency) throw invalid('INVALID_CURRENCY', 'refund currency differs from the payment', 'amount_money.currency');
    const at = this.stamp();
    const refund: SqPaymentRefund = {
      id: this.newId('RFD'),
      status: 'PENDING',
      amount_money: { ...amount },
      payment_id: String(body.payment_id),
      order_id: order.id,
      location_id: order.location_id,
      reason: body.reason,
      created_at: at,
      updated_at: at,
    };
    this.refunds.set(refund.id, refund);
    this.emit('refund.created', 'refund', refund.id, { refund: clone(refund) });
    return clone(refund);
  }

  // ──────────────────────────────────────── SearchOrders ────────────────────────────────────────

  searchOrders(body: SqSearchOrdersRequest): {
    orders?: SqOrder[];
    order_entries?: Array<{ order_id: string; version: number; location_id: string }>;
    cursor?: string;
  } {
    this.stats.searches++;
    const locs = body.location_ids;
    if (!Array.isArray(locs) || locs.length === 0) throw invalid('MISSING_REQUIRED_PARAMETER', 'location_ids is required', 'location_ids');
    if (locs.length > 10) throw invalid('INVALID_ARRAY_LENGTH', 'location_ids holds at most 10 locations', 'location_ids');
    for (const l of locs) this.location(l);
    const limit = body.limit ?? 500;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw invalid('INVALID_VALUE', 'limit must be 1 to 1000', 'limit');
    const filter = body.query?.filter ?? {};
    const sortField = body.query?.sort?.sort_field ?? 'CREATED_AT';
    const asc = (body.query?.sort?.sort_order ?? 'DESC') === 'ASC';
    const dtf = filter.date_time_filter ?? {};
    const dtKeys = Object.keys(dtf).filter((k) => (dtf as any)[k]);
    if (dtKeys.length > 1)
      throw invalid('INVALID_REQUEST_ERROR', 'only one of created_at, updated_at and closed_at may be filtered', 'query.filter.date_time_filter');
    if (dtKeys.length === 1 && dtKeys[0].toUpperCase() !== sortField) {
      throw invalid('INVALID_VALUE', `a date_time_filter on ${dtKeys[0]} requires sort_field ${dtKeys[0].toUpperCase()}`, 'query.sort.sort_field');
    }
    const field = sortField.toLowerCase() as 'created_at' | 'updated_at' | 'closed_at';
    const queryHash = createHash('sha256')
      .update(JSON.stringify({ l: locs, q: body.query ?? null }))
      .digest('hex')
      .slice(0, 16);
    let after: [string, string] | undefined;
    if (body.cursor) {
      try {
        const c = JSON.parse(Buffer.from(body.cursor, 'base64url').toString('utf8'));
        if (c.h !== queryHash) throw new Error('query');
        after = c.a;
      } catch {
        throw invalid('INVALID_CURSOR', 'the cursor is invalid, or the query differs from the one it was issued for', 'cursor');
      }
    }
    const states = filter.state_filter?.states;
    const range = dtKeys.length ? (dtf as any)[dtKeys[0]] : undefined;
    const start = range?.start_at ? Date.parse(range.start_at) : undefined;
    const end = range?.end_at ? Date.parse(range.end_at) : undefined;
    const sources = filter.source_filter?.source_names;
    const customers = filter.customer_filter?.customer_ids;
    const key = (o: SqOrder): [string, string] => [o[field] ?? '', o.id];
    const cmp = (a: [string, string], b: [string, string]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);
    let list = [...this.orders.values()].filter((o) => {
      if (!locs.includes(o.location_id)) return false;
      if (states && !states.includes(o.state)) return false;
      if (sources && !sources.includes(o.source?.name ?? '')) return false;
      if (customers && !customers.includes(o.customer_id ?? '')) return false;
      if (field === 'closed_at' && !o.closed_at) return false;
      if (range) {
        const t = Date.parse(o[field] ?? '');
        if (Number.isNaN(t) || (start !== undefined && t < start) || (end !== undefined && t >= end)) return false;
      }
      return true;
    });
    list.sort((a, b) => (asc ? cmp(key(a), key(b)) : cmp(key(b), key(a))));
    if (after) list = list.filter((o) => (asc ? cmp(key(o), after!) > 0 : cmp(key(o), after!) < 0));
    const page = list.slice(0, limit);
    const more = list.length > limit;
    const cursor = more ? Buffer.from(JSON.stringify({ h: queryHash, a: key(page[page.length - 1]) })).toString('base64url') : undefined;
    const out: ReturnType<SquareSimulator['searchOrders']> = body.return_entries
      ? { order_entries: page.map((o) => ({ order_id: o.id, version: o.version, location_id: o.location_id })) }
      : { orders: page.map(clone) };
    if (cursor) out.cursor = cursor;
    return out;
  }

  // ───────────────────────────────────────── demo data ──────────────────────────────────────────

  /** The catalog object id the simulator gives a demo SKU (opaque, as Square's are). */
  static catalogObjectId(sku: string): string {
    return `VAR${createHash('sha1').update(sku).digest('hex').slice(0, 21).toUpperCase()}`;
  }

  /** catalog object id → SKU for the demo catalogue (what a SKU map in the config node holds). */
  static demoSkuMap(size = 50): Record<string, string> {
    const map: Record<string, string> = {};
    for (let i = 0; i < size; i++) map[SquareSimulator.catalogObjectId(catalogItem(i).sku)] = catalogItem(i).sku;
    return map;
  }

  /** A random completed till sale at a location (1–3 lines, sometimes a discount, card or cash). */
  randomSale(locationId?: string, opts: { catalogSize?: number; tip?: boolean } = {}): SqOrder {
    const loc = locationId ? this.location(locationId) : this.locations[Math.floor(this.random() * this.locations.length)];
    const n = 1 + Math.floor(this.random() * 3);
    const size = opts.catalogSize ?? 50;
    const taxes = loc.tax ? [{ uid: 'tax-1', name: loc.tax.name, percentage: loc.tax.percentage, type: loc.tax.type, scope: 'ORDER' as const }] : [];
    const discounts =
      this.random() < 0.3 ? [{ uid: 'disc-1', name: 'Staff 10%', type: 'FIXED_PERCENTAGE' as const, percentage: '10', scope: 'ORDER' as const }] : [];
    const line_items = Array.from({ length: n }, (_, i) => {
      const item = catalogItem(Math.floor(this.random() * size));
      return {
        uid: `line-${i + 1}`,
        name: item.name,
        quantity: String(1 + Math.floor(this.random() * 3)),
        catalog_object_id: SquareSimulator.catalogObjectId(item.sku),
        base_price_money: { amount: item.unitPrice, currency: loc.currency },
      };
    });
    const terminal = `Terminal ${1 + Math.floor(this.random() * 3)}`;
    const order = this.createOrder({ location_id: loc.id, source: { name: terminal }, line_items, taxes, discounts });
    const cash = this.random() < 0.3;
    return this.payOrder(order.id, [{ type: cash ? 'CASH' : 'CARD', tip: opts.tip && !cash ? percentOf(order.total_money.amount, '10') : 0 }]);
  }

  // ─────────────────────────────────────────── webhooks ─────────────────────────────────────────

  private emit(type: string, dataType: string, id: string, object: Record<string, any>): void {
    const event: SqWebhookEvent = {
      merchant_id: this.merchantId,
      type,
      event_id: cryptoUuid(),
      created_at: new Date(this.now()).toISOString(),
      data: { type: dataType, id, object: clone(object) },
    };
    this.events.push(event);
    if (!this.webhook.url) return;
    this.pending.push(event);
    if (this.webhook.autoDeliver) void this.flushWebhooks();
  }

  /** Signs `body` the way Square does: base64 HMAC-SHA256 over notification URL + body. */
  sign(body: string, url = this.webhook.url ?? '', key = this.webhook.signatureKey ?? ''): string {
    return createHmac('sha256', key)
      .update(url + body)
      .digest('base64');
  }

  /**
   * Delivers every queued event (applying the drop, duplicate, out-of-order and signature switches)
   * and resolves once each delivery has been acknowledged or has used up its retries.
   */
  async flushWebhooks(): Promise<void> {
    const batch = this.pending.splice(0);
    const jobs: Array<{ event: SqWebhookEvent; bad: boolean; tamper: boolean }> = [];
    for (const event of batch) {
      if (this.random() < (this.webhook.dropRate ?? 0)) {
        this.dropped.add(event.event_id);
        continue;
      }
      const bad = this.random() < (this.webhook.badSignatureRate ?? 0);
      const tamper = this.random() < (this.webhook.tamperRate ?? 0);
      for (let i = 0; i < Math.max(1, this.webhook.duplicates ?? 1); i++) jobs.push({ event, bad, tamper });
    }
    if (this.webhook.outOfOrder) {
      for (let i = jobs.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1));
        [jobs[i], jobs[j]] = [jobs[j], jobs[i]];
      }
    }
    const concurrency = Math.max(1, this.webhook.concurrency ?? 4);
    let next = 0;
    const worker = async () => {
      while (next < jobs.length && !this.stopped) {
        const job = jobs[next++];
        await this.deliver(job.event, job.bad, job.tamper);
      }
    };
    const run = Promise.all(Array.from({ length: concurrency }, worker)).then(() => undefined);
    this.inFlight.add(run);
    try {
      await run;
    } finally {
      this.inFlight.delete(run);
    }
    // Events raised while this batch was delivered (none normally) go out too.
    if (this.pending.length && !this.stopped) await this.flushWebhooks();
  }

  private async deliver(event: SqWebhookEvent, bad: boolean, tamper: boolean): Promise<void> {
    const url = this.webhook.url!;
    const body = JSON.stringify(event);
    const schedule = this.webhook.retryDelaysMs ?? SQUARE_RETRY_SCHEDULE_MS;
    const first = new Date(this.now()).toISOString();
    let reason: string | undefined;
    for (let attempt = 0; attempt <= schedule.length && !this.stopped; attempt++) {
      if (attempt > 0) await this.wait(schedule[attempt - 1]);
      if (this.stopped) return;
      const signature = this.sign(body, url, bad ? `${this.webhook.signatureKey}-wrong` : this.webhook.signatureKey);
      const sent = tamper ? body.replace(this.merchantId, `${this.merchantId}X`) : body;
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'Square Connect v2 (simulator)',
        'x-square-hmacsha256-signature': signature,
        'square-environment': this.opts.environment ?? 'Sandbox',
        'square-initial-delivery-timestamp': first,
      };
      if (attempt > 0) {
        headers['square-retry-number'] = String(attempt);
        headers['square-retry-reason'] = reason ?? 'http_error';
      }
      this.stats.webhookAttempts++;
      let status: number | string;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers,
          body: sent,
          signal: AbortSignal.timeout(this.webhook.ackTimeoutMs ?? 10_000),
          redirect: 'manual',
        });
        await res.text();
        status = res.status;
        reason = 'http_error';
      } catch (e) {
        const name = (e as Error).name;
        status = name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'unreachable';
        reason = status === 'timeout' ? 'http_timeout' : 'http_error';
      }
      this.deliveries.push({ eventId: event.event_id, attempt, status, at: this.now() });
      // 2xx only: a 3xx counts as a failure.
      if (typeof status === 'number' && status >= 200 && status < 300) {
        this.stats.webhookAcked++;
        return;
      }
    }
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  // ─────────────────────────────────────────── inspection ───────────────────────────────────────

  stateView() {
    return {
      merchant_id: this.merchantId,
      locations: this.locations,
      orders: [...this.orders.values()].map((o) => ({ id: o.id, location_id: o.location_id, state: o.state, version: o.version, total_money: o.total_money })),
      refunds: [...this.refunds.values()],
      payouts: [...this.payoutBook.payouts.values()].map((p) => ({ id: p.id, location_id: p.location_id, status: p.status, amount_money: p.amount_money })),
      events: this.events.length,
      pendingWebhooks: this.pending.length,
      dropped: [...this.dropped],
      stats: { ...this.stats },
    };
  }
}

function clone<T>(x: T): T {
  return JSON.parse(JSON.stringify(x));
}

function cryptoUuid(): string {
  const b = randomBytes(16);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ─────────────────────────────────────────────── CLI ─────────────────────────────────────────────

export const CLI_FLAGS = {
  ...COMMON_FLAGS,
  token: { value: '<text>', help: 'access token accepted (default sq-sim-access-token)' },
  'webhook-url': { value: '<url>', help: 'notification URL: webhooks are delivered there as sales happen' },
  'signature-key': { value: '<text>', help: 'webhook signature key (default sq-sim-signature-key)' },
  duplicates: { kind: 'number', value: '<n>', help: 'each webhook delivered this many times' },
  'out-of-order': { kind: 'switch', help: 'deliver webhooks shuffled' },
  'drop-rate': { kind: 'number', value: '<0..1>', help: 'fraction of webhooks never delivered' },
  'bad-signature-rate': { kind: 'number', value: '<0..1>', help: 'fraction of webhooks with a wrong signature' },
  rate: { kind: 'number', value: '<n>', help: 'requests per second before 429' },
  'sales-every': { kind: 'number', value: '<ms>', help: 'ring up a random sale this often' },
  'payouts-every': { kind: 'number', value: '<ms>', help: 'pay out card sales this often (the previous payouts become PAID)' },
} as const satisfies Flags;

export type SquareCliOptions = SquareSimulatorOptions & { salesEvery?: number; payoutsEvery?: number };

/** The simulator's options from its command line (default port 18091). */
export function parseCliArgs(argv: string[]): SquareCliOptions | 'help' {
  const v = parseFlags(argv, CLI_FLAGS);
  if (v === 'help') return v;
  const webhook: NonNullable<SquareSimulatorOptions['webhook']> = {};
  if (v['webhook-url']) Object.assign(webhook, { url: v['webhook-url'], autoDeliver: true });
  if (v['signature-key']) webhook.signatureKey = v['signature-key'];
  if (v.duplicates !== undefined) webhook.duplicates = v.duplicates;
  if (v['out-of-order']) webhook.outOfOrder = true;
  if (v['drop-rate'] !== undefined) webhook.dropRate = v['drop-rate'];
  if (v['bad-signature-rate'] !== undefined) webhook.badSignatureRate = v['bad-signature-rate'];
  return {
    port: v.port ?? 18091,
    webhook,
    ...(v.host ? { host: v.host } : {}),
    ...(v.token ? { accessToken: v.token } : {}),
    ...(v.rate !== undefined ? { rateLimit: { ratePerSecond: v.rate, burst: Math.max(1, Math.ceil(v.rate)) } } : {}),
    ...(v['sales-every'] !== undefined ? { salesEvery: v['sales-every'] } : {}),
    ...(v['payouts-every'] !== undefined ? { payoutsEvery: v['payouts-every'] } : {}),
    ...(v.seed !== undefined ? { seed: v.seed } : {}),
  };
}

export function main(argv: string[]): Promise<void> {
  return runSimulatorCli(argv, {
    help: helpText('Square API simulator (Tillwire)', 'node dist/simulators/square/simulator.js', CLI_FLAGS),
    parse: parseCliArgs,
    start: async (opts) => {
      const sim = new SquareSimulator(opts);
      const url = await sim.start();
      const timer = opts.salesEvery ? setInterval(() => sim.randomSale(), opts.salesEvery) : undefined;
      const payouts = opts.payoutsEvery
        ? setInterval(() => {
            for (const p of sim.payoutBook.payouts.values()) if (p.status === 'SENT') sim.settlePayout(p.id, 'PAID');
            sim.createPayouts();
          }, opts.payoutsEvery)
        : undefined;
      return {
        lines: [
          `Square simulator listening on ${url}`,
          `  access token:   ${sim.accessToken}`,
          `  locations:      ${sim.locations.map((l) => `${l.id} (${l.currency})`).join(', ')}`,
          `  webhooks:       ${sim.webhook.url ?? '(none: pass --webhook-url)'}; signature key ${sim.webhook.signatureKey}`,
          `  state:          GET ${url}/__simulator/state; new sales: POST ${url}/__simulator/sales {"count":5}`,
          `  payouts:        POST ${url}/__simulator/payouts {"status":"PAID"} (or "FAILED"; reserveHold, dispute, transferFee)`,
        ],
        stop: async () => {
          if (timer) clearInterval(timer);
          if (payouts) clearInterval(payouts);
          await sim.stop();
        },
      };
    },
  });
}

if (require.main === module) runMain(() => main(process.argv.slice(2)));
