/**
 * A bol.com Retailer API v10 fake (docs/connectors/bol-contract.md) on 127.0.0.1, for tests, the
 * demo and users trying a flow before touching production. It speaks:
 *
 * - `POST /token?grant_type=client_credentials` with HTTP Basic `client id:client secret` (the
 *   grant type may also come in a form body) → `{ access_token, token_type: "Bearer", expires_in:
 *   299, scope: "RETAILER" }`; bad credentials → 401 `{ error: "invalid_client", … }`.
 * - Every `/retailer/…` call needs `Authorization: Bearer <token>` (401 problem when missing,
 *   unknown or expired) and `Accept: application/vnd.retailer.v10+json` (406 otherwise); answers
 *   carry that media type, errors `application/vnd.retailer.v10+problem+json`
 *   (`type, title, status, detail, violations[]`).
 * - `GET /retailer/orders` (page ≥ 1, 50 orders a page, `fulfilment-method` FBR (default) | FBB |
 *   ALL, `status` OPEN (default) | SHIPPED | ALL, `latest-change-date` yyyy-MM-dd (UTC day, at most
 *   three months back), `change-interval-minute` ≤ 60). Orders newest placed first; a page past
 *   the end answers `{}`. Without a date: open orders and those handled in the last 48 hours.
 * - `GET /retailer/orders/{order-id}`: the full order; `unitPrice` and `commission` are JSON
 *   numbers in euros.
 * - `GET /retailer/invoices` (`period-start-date`, `period-end-date`, both or neither, at most 31
 *   days; default the past 4 weeks), `GET /retailer/invoices/{id}` and
 *   `GET /retailer/invoices/{id}/specification?page=` (simulators/bol/invoices.ts): half-monthly
 *   ALL_IN_ONE invoices built from the orders served here, so a demo reconciles.
 * - `POST /retailer/shipments` (`orderItems[{orderItemId, quantity}]`, `shipmentReference`,
 *   `transport{transporterCode, trackAndTrace}`) → 202 process status.
 * - `PUT /retailer/offers/{offer-id}/stock` (`{ amount: 0–999, managedByRetailer }`, both required;
 *   400 with violations otherwise) → 202 process status UPDATE_OFFER_STOCK; an offer the simulator
 *   does not hold ends in FAILURE (*assumed*: bol's exact answer for it is not published). One offer
 *   per catalogue item (`BolSimulator.offerIdOf(sku)`, reference = the SKU); `offer(id)` and
 *   `GET /__simulator/offers` show their stock and `stockUpdates` every update applied.
 * - `GET /shared/process-status/{id}` (v10's Shared API): PENDING until `processDelayMs` has passed,
 *   then SUCCESS or FAILURE.
 * - Faults (simulators/kit/faults.ts, option `faults` or `setFaults`): an error is 429 (Retry-After
 *   1), 500 or 503; a timeout is no answer; a lost answer is carried out, then the connection dropped.
 * - Rate limits per endpoint group (RATE_LIMITS × `rateMultiplier`): a bucket of `limit` requests
 *   refilled continuously over `windowSeconds`, per client id. Every limited answer carries
 *   `x-ratelimit-limit`, `x-ratelimit-remaining` and `x-ratelimit-reset` (seconds until full);
 *   an empty bucket answers 429 with `Retry-After` (whole seconds until one request is allowed)
 *   and a problem body.
 *
 * Simulator-only extension: orders in a currency other than EUR (bol sells in euros only) carry a
 * top-level `currency` field so the money path can be tested with 0 and 3 decimal currencies.
 * Absent at bol; the mapper then uses the account's currency (EUR).
 *
 * Inspection: `GET /__simulator/state|orders|limits|totals|invoices`.
 *
 * CLI: `node dist/simulators/bol/simulator.js --port 18444 [--orders 200] [--speed 1] [--seed 7]
 *   [--days 14] [--currencies EUR,JPY,KWD]`.
 */
import http from 'node:http';
import { closeServer, listen } from '../kit/http-server';
import { SimBucket } from '../kit/token-bucket';
import { randomUUID } from 'node:crypto';
import { seededRandom } from '../kit/random';
import type { Continuity } from '../kit/continuity';
import { Routes } from '../kit/routes';
import { COMMON_FLAGS, helpText, parseFlags, runMain, runSimulatorCli, type Flags } from '../kit/cli';
import { catalogItem } from '../kit/catalog';
import { currencyExponent, fromMinor } from '../../nodes/model/money';
import {
  INVOICE_MEDIA_TYPES,
  MEDIA_TYPE,
  OFFER_STOCK_EVENT,
  OFFER_STOCK_MAX,
  PAGE_SIZE,
  PROBLEM_TYPE,
  PROCESS_STATUS_PATH,
  RATE_LIMITS,
  TOKEN_LIFETIME_SECONDS,
  type BolGroup,
} from '../../nodes/bol/contract';
import { createHash } from 'node:crypto';
import { FaultInjector, type FaultRates } from '../kit/faults';
import { InvoiceBook, type InvoiceSource } from './invoices';

/** The provider's facts (media types, page size, token lifetime, limits) are the production contract's. */
export { MEDIA_TYPE, PROBLEM_TYPE, PAGE_SIZE, TOKEN_LIFETIME_SECONDS, RATE_LIMITS } from '../../nodes/bol/contract';

const DAY = 86_400_000;

/** Retailer API endpoints by method and path, named by their rate-limit group. */
const ROUTES = new Routes<BolGroup>()
  .add('GET', '/retailer/orders', 'orders:list')
  .add('GET', '/retailer/orders/:orderId', 'orders:get')
  .add('POST', '/retailer/shipments', 'shipments:create')
  .add('GET', `${PROCESS_STATUS_PATH}/:processStatusId`, 'process-status:get')
  .add('PUT', '/retailer/offers/:offerId/stock', 'offers:stock')
  .add('GET', '/retailer/offers/:offerId', 'offers:get')
  .add('GET', '/retailer/invoices', 'invoices:list')
  .add('GET', '/retailer/invoices/:invoiceId/specification', 'invoices:specification')
  .add('GET', '/retailer/invoices/:invoiceId', 'invoices:get');

export interface BolSimulatorOptions {
  port?: number;
  host?: string;
  orders?: number;
  seed?: number;
  /** Latest change of order 0; later orders follow every `orderSpacingMs`. */
  epoch?: string;
  orderSpacingMs?: number;
  /** Currencies, assigned round-robin (default EUR only, as at bol). */
  currencies?: string[];
  rateMultiplier?: number;
  limits?: Partial<Record<string, { limit: number; windowSeconds: number }>>;
  throttling?: boolean;
  tokenLifetimeSeconds?: number;
  /** Business clock (orders' dates, token expiry, the 48-hour and 3-month rules). */
  now?: () => number;
  clientId?: string;
  clientSecret?: string;
  /** Lines per specification page (default bol's 25,000; small values page a short invoice). */
  specificationPageSize?: number;
  /** Offers held (one per catalogue item, default 50), each starting with `initialStock`. */
  offers?: number;
  initialStock?: number;
  /** How long a process status stays PENDING (default 0: done by the first read). */
  processDelayMs?: number;
  faults?: BolFaults;
  /** Demo schedule: invoice periods of this length instead of half months, issued `issueDelayMs` after (simulators/bol/invoices.ts). */
  invoicePeriodMs?: number;
  invoiceIssueDelayMs?: number;
  /** Carry on from an earlier run (the demo): order numbers and process ids continue; orders start after the last invoice. */
  continuity?: Continuity<BolContinuity>;
}

/** What the bol.com simulator carries between runs. */
export interface BolContinuity {
  /** The first order number not yet used (order and order item ids contain it). */
  nextOrder: number;
  /** The last shipment/process id handed out. */
  seq: number;
  /** When the last invoice served was issued (ms): a next run's orders are placed after it, so no invoice id is reused. */
  invoicedUntil: number;
}

/** The kit's fault rates; `only` names the endpoint groups that draw faults (default all). */
export interface BolFaults extends FaultRates {
  only?: string[];
}

export interface SimOffer {
  offerId: string;
  ean: string;
  reference: string;
  amount: number;
  managedByRetailer: boolean;
  /** When the stock was last set (business clock); open orders placed after it lower correctedStock when managed by the retailer. */
  stockSetAt?: number;
}

interface SimItem {
  orderItemId: string;
  ean: string;
  reference: string;
  title: string;
  offerId: string;
  quantity: number;
  quantityShipped: number;
  quantityCancelled: number;
  cancellationRequest: boolean;
  /** Minor units of the order's currency. */
  unit: number;
  commission: number;
  method: 'FBR' | 'FBB';
  changed: number;
}

interface SimOrder {
  orderId: string;
  placed: number;
  currency: string;
  items: SimItem[];
  shipments: Map<string, string>;
}

class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly violations?: Array<{ name: string; reason: string }>,
  ) {
    super(detail);
  }
}

/** bol's per-group limit, with the rate-limit headers and Retry-After it answers with. */
class Bucket extends SimBucket {
  headers(): Record<string, string> {
    return {
      'x-ratelimit-limit': String(this.capacity),
      'x-ratelimit-remaining': String(Math.floor(this.tokens)),
      'x-ratelimit-reset': String(Math.ceil((this.capacity - this.tokens) / this.perSecond)),
    };
  }
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((1 - this.tokens) / this.perSecond));
  }
}

export interface GroupStats {
  requests: number;
  ok: number;
  throttled: number;
}

export class BolSimulator {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly now: () => number;
  url = '';
  stats: Record<string, GroupStats> = {};
  private server?: http.Server;
  private orders = new Map<string, SimOrder>();
  private tokens = new Map<string, { clientId: string; expiresAt: number }>();
  private buckets = new Map<string, Bucket>();
  private processes = new Map<string, Record<string, unknown>>();
  private seq = 0;
  /** Fault injection: orders whose first unitPrice carries one decimal too many (a broken payload). */
  readonly badPrices = new Set<string>();
  /** The retailer invoices, built from the orders this simulator serves (simulators/bol/invoices.ts). */
  readonly invoices: InvoiceBook;
  private offers = new Map<string, SimOffer>();
  /** Every offer stock update applied, in order. */
  stockUpdates: Array<{ offerId: string; amount: number; managedByRetailer: boolean; processStatusId: string }> = [];
  private readonly injector = new FaultInjector();
  private faults: BolFaults = {};

  /** Where this run carries on from; updated as it goes when a continuity is given. */
  private carry: BolContinuity;

  constructor(private readonly opts: BolSimulatorOptions = {}) {
    this.carry = opts.continuity?.from ?? { nextOrder: 0, seq: 0, invoicedUntil: 0 };
    this.clientId = opts.clientId ?? 'tillwire-bol-client';
    this.clientSecret = opts.clientSecret ?? 'tillwire-bol-secret';
    this.now = opts.now ?? Date.now;
    this.invoices = new InvoiceBook({
      orders: () => this.invoiceSources(),
      now: this.now,
      pageSize: opts.specificationPageSize,
      periodMs: opts.invoicePeriodMs,
      issueDelayMs: opts.invoiceIssueDelayMs,
      issued: (invoices) => {
        const last = invoices[invoices.length - 1];
        if (last && last.issued > this.carry.invoicedUntil) this.saveCarry({ invoicedUntil: last.issued });
      },
    });
    this.reset();
    this.setFaults(opts.faults ?? {});
  }

  /** The offer id the simulator gives a catalogue SKU's offer (a UUID-like text derived from the SKU). */
  static offerIdOf(sku: string): string {
    const hex = createHash('sha1').update(`bol-offer:${sku}`).digest('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  }

  /** An offer as the simulator holds it (a copy), or undefined. */
  offer(offerId: string): SimOffer | undefined {
    const o = this.offers.get(offerId);
    return o && { ...o };
  }

  setFaults(faults: BolFaults): void {
    this.faults = { ...faults };
    this.injector.set(faults);
  }

  /** What the invoices are built from: every placed order with its items' shipped and ordered quantities. */
  private invoiceSources(): InvoiceSource[] {
    return [...this.orders.values()]
      .filter((o) => o.placed <= this.now())
      .map((o) => ({
        orderId: o.orderId,
        placed: o.placed,
        currency: o.currency,
        items: o.items.map((it) => ({
          orderItemId: it.orderItemId,
          ean: it.ean,
          method: it.method,
          quantity: it.quantity,
          shipped: it.quantityShipped,
          unit: it.unit,
        })),
      }));
  }

  reset(): void {
    this.orders.clear();
    this.tokens.clear();
    this.buckets.clear();
    this.processes.clear();
    this.badPrices.clear();
    this.invoices.extra.clear();
    this.stats = {};
    this.seq = this.opts.continuity?.from?.seq ?? 0;
    this.offers.clear();
    this.stockUpdates = [];
    for (let i = 0; i < (this.opts.offers ?? 50); i++) {
      const cat = catalogItem(i);
      const offerId = BolSimulator.offerIdOf(cat.sku);
      this.offers.set(offerId, {
        offerId,
        ean: String(8_710_000_000_000 + i),
        reference: cat.sku,
        amount: this.opts.initialStock ?? 0,
        managedByRetailer: false,
      });
    }
    const count = this.opts.orders ?? 200;
    const first = this.opts.continuity?.from?.nextOrder ?? 0;
    for (let i = first; i < first + count; i++) {
      const o = this.generate(i);
      this.orders.set(o.orderId, o);
    }
    this.saveCarry({ nextOrder: first + count });
  }

  private saveCarry(change: Partial<BolContinuity>): void {
    if (!this.opts.continuity) return;
    this.carry = { ...this.carry, ...change };
    this.opts.continuity.save(this.carry);
  }

  /** The limit the simulator applies to a group (published value × rateMultiplier). */
  limit(group: string): { limit: number; windowSeconds: number; perSecond: number } {
    const base = this.opts.limits?.[group] ?? RATE_LIMITS[group];
    const perSecond = (base.limit / base.windowSeconds) * (this.opts.rateMultiplier ?? 1);
    return { limit: base.limit, windowSeconds: base.windowSeconds / (this.opts.rateMultiplier ?? 1), perSecond };
  }

  private generate(i: number): SimOrder {
    const rnd = seededRandom((this.opts.seed ?? 7) * 1_000_003 + i);
    const currencies = this.opts.currencies ?? ['EUR'];
    const currency = currencies[i % currencies.length];
    const exp = currencyExponent(currency);
    const epoch = Date.parse(this.opts.epoch ?? new Date(this.now() - 7 * DAY).toISOString());
    const changed = epoch + (i - (this.opts.continuity?.from?.nextOrder ?? 0)) * (this.opts.orderSpacingMs ?? 60_000);
    const placed = changed - 10 * 60_000;
    const r = rnd();
    const state = r < 0.05 ? 'cancelled' : r < 0.4 ? 'shipped' : r < 0.45 ? 'partial' : 'open';
    const lines = 1 + Math.floor(rnd() * 3);
    const items: SimItem[] = [];
    for (let l = 0; l < lines; l++) {
      const cat = catalogItem((i * 7 + l * 13) % 500);
      // catalogue prices are in cents; scale to the currency's minor units, odd digits included.
      const unit = exp === 0 ? Math.round(cat.unitPrice / 100) * 100 + 80 : exp === 3 ? cat.unitPrice * 10 + 5 : cat.unitPrice;
      const quantity = 1 + Math.floor(rnd() * 3);
      const shipped = state === 'shipped' ? quantity : state === 'partial' && l === 0 ? Math.max(1, quantity - 1) : 0;
      const cancelled = state === 'cancelled' ? quantity : 0;
      items.push({
        orderItemId: String(2_000_000_000 + i * 10 + l),
        ean: String(8_710_000_000_000 + ((i * 7 + l * 13) % 500)),
        reference: cat.sku,
        title: cat.name,
        offerId: randomLikeUuid(rnd),
        quantity,
        quantityShipped: shipped,
        quantityCancelled: cancelled,
        cancellationRequest: state === 'open' && i % 29 === 0,
        unit,
        commission: Math.round((unit * quantity * 15) / 100),
        method: i % 4 === 0 ? 'FBB' : 'FBR',
        changed,
      });
    }
    // state 'partial' needs more than one unit; with a single unit of one line it is 'shipped' in effect.
    return { orderId: String(1_000_000_000 + i), placed, currency, items, shipments: new Map() };
  }

  // ── views ──

  orderIds(): string[] {
    return [...this.orders.keys()];
  }

  /** An order as GET /retailer/orders/{order-id} shows it (a copy). */
  order(id: string): Record<string, any> | undefined {
    const o = this.orders.get(id);
    return o && this.orderJson(o);
  }

  /** The latest change of an order: the newest of its items' latestChangedDateTime. */
  latestChange(id: string): string | undefined {
    const o = this.orders.get(id);
    return o && iso(Math.max(...o.items.map((it) => it.changed)));
  }

  /** What the customer was charged for an order, in minor units: Σ quantity × unitPrice. */
  total(id: string): { amount: number; currency: string } | undefined {
    const o = this.orders.get(id);
    return o && { amount: o.items.reduce((s, it) => s + it.quantity * it.unit, 0), currency: o.currency };
  }

  /** Cancels an order as bol would (customer cancellation); its items' change time moves to now. */
  cancel(id: string): void {
    const o = this.find(id);
    for (const it of o.items) {
      it.quantityCancelled = it.quantity - it.quantityShipped;
      it.changed = Math.max(this.now(), it.changed + 1000);
    }
  }

  expireTokens(): void {
    for (const t of this.tokens.values()) t.expiresAt = 0;
  }

  shipments(id: string): Record<string, string> {
    return Object.fromEntries(this.orders.get(id)?.shipments ?? []);
  }

  private amount(minor: number, currency: string): number {
    return Number(fromMinor(minor, currency));
  }

  /** The amount with one decimal more than the currency has (built as text, not float arithmetic). */
  private tooPrecise(minor: number, currency: string): number {
    const text = fromMinor(minor, currency);
    return Number(currencyExponent(currency) === 0 ? `${text}.5` : `${text}1`);
  }

  private fulfilmentStatus(it: SimItem): 'OPEN' | 'HANDLED' {
    return it.quantityShipped + it.quantityCancelled >= it.quantity ? 'HANDLED' : 'OPEN';
  }

  private reducedJson(o: SimOrder): Record<string, unknown> {
    const json: Record<string, unknown> = {
      orderId: o.orderId,
      orderPlacedDateTime: iso(o.placed),
      orderItems: o.items.map((it) => ({
        orderItemId: it.orderItemId,
        ean: it.ean,
        fulfilmentMethod: it.method,
        fulfilmentStatus: this.fulfilmentStatus(it),
        quantity: it.quantity,
        quantityShipped: it.quantityShipped,
        quantityCancelled: it.quantityCancelled,
        cancellationRequest: it.cancellationRequest,
        latestChangedDateTime: iso(it.changed),
      })),
    };
    return json;
  }

  private orderJson(o: SimOrder): Record<string, unknown> {
    const json: Record<string, unknown> = {
      orderId: o.orderId,
      pickupPoint: false,
      orderPlacedDateTime: iso(o.placed),
      shipmentDetails: {
        salutation: 'UNKNOWN',
        firstName: 'Sam',
        surname: `Klant ${o.orderId.slice(-4)}`,
        zipCode: '3511 AB',
        city: 'Utrecht',
        countryCode: 'NL',
        email: `${o.orderId}@verkopen.test.bol.com`,
        language: 'nl',
      },
      billingDetails: {
        firstName: 'Sam',
        surname: `Klant ${o.orderId.slice(-4)}`,
        zipCode: '3511 AB',
        city: 'Utrecht',
        countryCode: 'NL',
        email: `${o.orderId}@verkopen.test.bol.com`,
      },
      orderItems: o.items.map((it, i) => ({
        orderItemId: it.orderItemId,
        cancellationRequest: it.cancellationRequest,
        fulfilment: {
          method: it.method,
          distributionParty: it.method === 'FBB' ? 'BOL' : 'RETAILER',
          latestDeliveryDate: iso(o.placed + 2 * DAY).slice(0, 10),
          expiryDate: iso(o.placed + 5 * DAY).slice(0, 10),
          timeFrameType: 'REGULAR',
        },
        offer: { offerId: it.offerId, reference: it.reference },
        product: { ean: it.ean, title: it.title },
        quantity: it.quantity,
        quantityShipped: it.quantityShipped,
        quantityCancelled: it.quantityCancelled,
        unitPrice: i === 0 && this.badPrices.has(o.orderId) ? this.tooPrecise(it.unit, o.currency) : this.amount(it.unit, o.currency),
        commission: this.amount(it.commission, o.currency),
        additionalServices: [],
        latestChangedDateTime: iso(it.changed),
      })),
    };
    if (o.currency !== 'EUR') json.currency = o.currency;
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
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeServer(server);
  }

  /** The token endpoint; at bol `https://login.bol.com/token`. */
  get tokenUrl(): string {
    return `${this.url}/token`;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://sim');
    const send = (status: number, body: unknown, headers: Record<string, string> = {}, type = MEDIA_TYPE) => {
      const text = body === undefined ? '' : JSON.stringify(body);
      res.writeHead(status, { ...(text ? { 'content-type': type } : {}), ...headers });
      res.end(text);
    };
    if (url.pathname === '/token' && req.method === 'POST') return this.token(req, url, raw, send);
    if (url.pathname.startsWith('/__simulator/')) return this.inspect(url.pathname, (s, b) => send(s, b, {}, 'application/json'));

    const route = this.route(req.method ?? 'GET', url.pathname);
    const problem = (e: ProblemError, headers: Record<string, string> = {}) =>
      send(
        e.status,
        { type: 'https://api.bol.com/problems', title: e.title, status: e.status, detail: e.detail, ...(e.violations ? { violations: e.violations } : {}) },
        headers,
        PROBLEM_TYPE,
      );
    if (!route) return problem(new ProblemError(404, 'Not Found', `No endpoint ${req.method} ${url.pathname}`));
    const stats = (this.stats[route.group] ??= { requests: 0, ok: 0, throttled: 0 });
    stats.requests++;
    let limitHeaders: Record<string, string> = {};
    try {
      const auth = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''));
      const known = auth ? this.tokens.get(auth[1]) : undefined;
      if (!known)
        throw new ProblemError(401, 'Unauthorized', 'Full authentication is required to access this resource: the bearer token is missing or unknown.');
      if (known.expiresAt <= this.now()) throw new ProblemError(401, 'Unauthorized', 'The access token has expired.');
      const accept = String(req.headers.accept ?? '');
      const pdf = route.group === 'invoices:get' && accept.includes(INVOICE_MEDIA_TYPES.pdf) && !accept.includes(MEDIA_TYPE);
      if (!accept.includes(MEDIA_TYPE) && !pdf) {
        const also =
          route.group === 'invoices:specification'
            ? ' (the spreadsheet form is not simulated)'
            : route.group === 'invoices:get'
              ? ` or ${INVOICE_MEDIA_TYPES.pdf}`
              : '';
        throw new ProblemError(406, 'Not Acceptable', `Accept must be ${MEDIA_TYPE}${also}.`);
      }
      if (this.opts.throttling !== false) {
        const key = `${known.clientId}/${route.group}`;
        let bucket = this.buckets.get(key);
        if (!bucket) {
          const l = this.limit(route.group);
          this.buckets.set(key, (bucket = new Bucket(l.limit, l.perSecond)));
        }
        if (!bucket.take()) {
          stats.throttled++;
          const wait = bucket.retryAfterSeconds();
          return problem(new ProblemError(429, 'Too Many Requests', `Too many requests, retry in ${wait} seconds.`), {
            ...bucket.headers(),
            'retry-after': String(wait),
          });
        }
        limitHeaders = bucket.headers();
      }
      if (pdf) {
        // The PDF form: a placeholder document naming the invoice (after the same checks as the JSON form).
        const inv = this.invoices.find(route.params[0]);
        stats.ok++;
        res.writeHead(200, { 'content-type': INVOICE_MEDIA_TYPES.pdf, ...limitHeaders });
        res.end(`%PDF-1.4\n% bol.com simulator invoice ${inv.invoiceId} ${inv.start}/${inv.end}\n%%EOF\n`);
        return;
      }
      const only = this.faults.only;
      const fault = this.injector.draw(!only || only.includes(route.group));
      if (fault === 'error') {
        const status = this.injector.pick([429, 500, 503]);
        const title = status === 429 ? 'Too Many Requests' : status === 500 ? 'Internal Server Error' : 'Service Unavailable';
        return problem(new ProblemError(status, title, `Injected fault (${status}).`), status === 500 ? {} : { 'retry-after': '1' });
      }
      if (fault === 'timeout') return; // never answered, nothing done
      const { status, body } = this.dispatch(route.group, route.params, url.searchParams, raw, req);
      stats.ok++;
      if (fault === 'lost') {
        // Carried out; the answer never arrives.
        req.socket.destroy();
        return;
      }
      send(status, body, limitHeaders);
    } catch (err) {
      if (err instanceof ProblemError) return problem(err, limitHeaders);
      const status = (err as { status?: unknown }).status;
      if (typeof status === 'number' && err instanceof Error) {
        const e = err as Error & { violations?: Array<{ name: string; reason: string }> };
        return problem(new ProblemError(status, status === 404 ? 'Not Found' : 'Bad Request', e.message, e.violations), limitHeaders);
      }
      return problem(new ProblemError(500, 'Internal Server Error', String((err as Error).message)), limitHeaders);
    }
  }

  private token(req: http.IncomingMessage, url: URL, raw: string, send: (s: number, b: unknown, h?: Record<string, string>, t?: string) => void): void {
    const json = 'application/json';
    const form = new URLSearchParams(raw);
    const grant = url.searchParams.get('grant_type') ?? form.get('grant_type');
    if (grant !== 'client_credentials')
      return send(400, { error: 'unsupported_grant_type', error_description: `Unsupported grant type: ${grant ?? '(none)'}` }, {}, json);
    const basic = /^Basic (.+)$/.exec(String(req.headers.authorization ?? ''));
    const [id, secret] = basic ? Buffer.from(basic[1], 'base64').toString('utf8').split(':') : [];
    if (id !== this.clientId || secret !== this.clientSecret)
      return send(401, { error: 'invalid_client', error_description: 'Bad client credentials' }, {}, json);
    const lifetime = this.opts.tokenLifetimeSeconds ?? TOKEN_LIFETIME_SECONDS;
    const access = `eyJ.${randomUUID()}`;
    this.tokens.set(access, { clientId: id, expiresAt: this.now() + lifetime * 1000 });
    send(200, { access_token: access, token_type: 'Bearer', expires_in: lifetime, scope: 'RETAILER' }, {}, json);
  }

  private inspect(path: string, send: (s: number, b: unknown) => void): void {
    if (path === '/__simulator/state') return send(200, { orders: this.orders.size, stats: this.stats });
    if (path === '/__simulator/invoices') return send(200, this.invoices.summary());
    if (path === '/__simulator/offers') return send(200, [...this.offers.values()]);
    if (path === '/__simulator/limits') return send(200, Object.fromEntries(Object.keys(RATE_LIMITS).map((g) => [g, this.limit(g)])));
    if (path === '/__simulator/orders')
      return send(
        200,
        this.orderIds().map((id) => ({ orderId: id, latestChangedDateTime: this.latestChange(id), ...this.total(id) })),
      );
    if (path === '/__simulator/totals') {
      const sums: Record<string, number> = {};
      for (const id of this.orderIds()) {
        const t = this.total(id)!;
        sums[t.currency] = (sums[t.currency] ?? 0) + t.amount;
      }
      return send(200, sums);
    }
    send(404, { error: 'unknown inspection path' });
  }

  private route(method: string, path: string): { group: string; params: string[] } | undefined {
    const m = ROUTES.match(method, path);
    return m && { group: m.value, params: m.params };
  }

  private dispatch(group: string, params: string[], q: URLSearchParams, raw: string, req: http.IncomingMessage): { status: number; body: unknown } {
    switch (group) {
      case 'orders:list':
        return { status: 200, body: this.list(q) };
      case 'orders:get':
        return { status: 200, body: this.orderJson(this.find(params[0])) };
      case 'shipments:create':
        if (!String(req.headers['content-type'] ?? '').includes(MEDIA_TYPE))
          throw new ProblemError(415, 'Unsupported Media Type', `Content-Type must be ${MEDIA_TYPE}.`);
        return { status: 202, body: this.ship(raw) };
      case 'invoices:list':
        return { status: 200, body: this.invoices.list(q) };
      case 'invoices:get':
        return { status: 200, body: this.invoices.invoice(params[0]) };
      case 'invoices:specification':
        return { status: 200, body: this.invoices.specification(params[0], q) };
      case 'process-status:get': {
        const p = this.processes.get(params[0]);
        if (!p) throw new ProblemError(404, 'Not Found', `Process status ${params[0]} not found.`);
        const { readyAt, ...status } = p as Record<string, unknown> & { readyAt?: number };
        return { status: 200, body: Date.now() < (readyAt ?? 0) ? { ...status, status: 'PENDING', errorMessage: undefined } : status };
      }
      case 'offers:get':
        return { status: 200, body: this.offerJson(params[0]) };
      case 'offers:stock':
        if (!String(req.headers['content-type'] ?? '').includes(MEDIA_TYPE))
          throw new ProblemError(415, 'Unsupported Media Type', `Content-Type must be ${MEDIA_TYPE}.`);
        return { status: 202, body: this.updateStock(params[0], raw) };
    }
    throw new ProblemError(404, 'Not Found', 'Resource not found');
  }

  private find(id: string): SimOrder {
    const o = this.orders.get(id);
    // An order generated with a time still ahead of the business clock has not been placed yet.
    if (!o || o.placed > this.now()) throw new ProblemError(404, 'Not Found', `Order ${id} not found.`);
    return o;
  }

  private list(q: URLSearchParams): Record<string, unknown> {
    const violations: Array<{ name: string; reason: string }> = [];
    const pageText = q.get('page') ?? '1';
    const page = Number(pageText);
    if (!/^\d+$/.test(pageText) || page < 1) violations.push({ name: 'page', reason: 'Must be greater than or equal to 1.' });
    const method = q.get('fulfilment-method') ?? 'FBR';
    if (!['FBR', 'FBB', 'ALL'].includes(method)) violations.push({ name: 'fulfilment-method', reason: 'Must be one of FBR, FBB, ALL.' });
    const status = q.get('status') ?? 'OPEN';
    if (!['OPEN', 'SHIPPED', 'ALL'].includes(status)) violations.push({ name: 'status', reason: 'Must be one of OPEN, SHIPPED, ALL.' });
    const dateText = q.get('latest-change-date');
    let day: number | undefined;
    if (dateText !== null) {
      day = /^\d{4}-\d{2}-\d{2}$/.test(dateText) ? Date.parse(`${dateText}T00:00:00Z`) : NaN;
      if (Number.isNaN(day)) violations.push({ name: 'latest-change-date', reason: 'Must be a date as yyyy-MM-dd.' });
      else if (day < this.now() - 92 * DAY) violations.push({ name: 'latest-change-date', reason: 'Must not be more than three months in the past.' });
    }
    const intervalText = q.get('change-interval-minute');
    let interval: number | undefined;
    if (intervalText !== null) {
      interval = Number(intervalText);
      if (!Number.isInteger(interval) || interval < 1 || interval > 60)
        violations.push({ name: 'change-interval-minute', reason: 'Must be between 1 and 60.' });
    }
    if (violations.length) throw new ProblemError(400, 'Bad Request', 'Request contains invalid value(s).', violations);
    const now = this.now();
    const matches: SimOrder[] = [];
    for (const o of this.orders.values()) {
      if (o.placed > now) continue; // not placed yet (a demo's orders come due over time)
      const items = o.items.filter((it) => method === 'ALL' || it.method === method);
      if (!items.length) continue;
      const open = items.some((it) => this.fulfilmentStatus(it) === 'OPEN');
      const latest = Math.max(...items.map((it) => it.changed));
      if (status === 'OPEN' && !open) continue;
      if (status === 'SHIPPED' && !items.some((it) => it.quantityShipped > 0)) continue;
      if (day !== undefined) {
        if (!items.some((it) => it.changed >= day! && it.changed < day! + DAY)) continue;
      } else if (!open && latest < now - 2 * DAY) continue;
      if (interval !== undefined && latest < now - interval * 60_000) continue;
      matches.push(o);
    }
    matches.sort((a, b) => b.placed - a.placed || (a.orderId < b.orderId ? 1 : -1));
    const slice = matches.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
    return slice.length ? { orders: slice.map((o) => this.reducedJson(o)) } : {};
  }

  private ship(raw: string): Record<string, unknown> {
    let body: any;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      throw new ProblemError(400, 'Bad Request', 'The request body is not valid JSON.');
    }
    const violations: Array<{ name: string; reason: string }> = [];
    if (!Array.isArray(body?.orderItems) || !body.orderItems.length) violations.push({ name: 'orderItems', reason: 'Must not be empty.' });
    if (body?.shipmentReference !== undefined && (typeof body.shipmentReference !== 'string' || body.shipmentReference.length > 100)) {
      violations.push({ name: 'shipmentReference', reason: 'Must be text of at most 100 characters.' });
    }
    const t = body?.transport;
    if (t !== undefined && (typeof t?.transporterCode !== 'string' || typeof t?.trackAndTrace !== 'string')) {
      violations.push({ name: 'transport', reason: 'Needs transporterCode and trackAndTrace.' });
    }
    if (violations.length) throw new ProblemError(400, 'Bad Request', 'Request contains invalid value(s).', violations);
    const id = String(++this.seq);
    this.saveCarry({ seq: this.seq });
    const createTimestamp = iso(this.now());
    // Asynchronous at bol: the 202 means queued; the process status says what happened.
    let outcome: { status: string; errorMessage?: string; entityId?: string } = { status: 'SUCCESS' };
    const changes: Array<[SimOrder, SimItem, number]> = [];
    for (const line of body.orderItems) {
      const o = [...this.orders.values()].find((x) => x.items.some((it) => it.orderItemId === String(line?.orderItemId)));
      const it = o?.items.find((x) => x.orderItemId === String(line?.orderItemId));
      if (!o || !it) {
        outcome = { status: 'FAILURE', errorMessage: `Order item ${line?.orderItemId} not found.` };
        break;
      }
      const qty = line.quantity === undefined ? it.quantity - it.quantityShipped - it.quantityCancelled : Number(line.quantity);
      if (!Number.isInteger(qty) || qty < 1 || it.quantityShipped + it.quantityCancelled + qty > it.quantity) {
        outcome = { status: 'FAILURE', errorMessage: `Order item ${it.orderItemId} has no ${line.quantity ?? ''} open quantity to ship.`.replace('  ', ' ') };
        break;
      }
      changes.push([o, it, qty]);
    }
    if (outcome.status === 'SUCCESS') {
      for (const [o, it, qty] of changes) {
        it.quantityShipped += qty;
        it.changed = Math.max(this.now(), it.changed + 1000);
        o.shipments.set(id, String(t?.trackAndTrace ?? ''));
      }
    }
    const status = {
      processStatusId: id,
      entityId: String(body.orderItems[0]?.orderItemId ?? ''),
      eventType: 'CREATE_SHIPMENT',
      description: 'Create shipment.',
      status: 'PENDING',
      createTimestamp,
      links: [{ rel: 'self', href: `${this.url}${PROCESS_STATUS_PATH}/${id}`, method: 'GET' }],
    };
    this.processes.set(id, { ...status, status: outcome.status, ...(outcome.errorMessage ? { errorMessage: outcome.errorMessage } : {}) });
    return status;
  }

  /** PUT /retailer/offers/{offer-id}/stock: the body checked as bol's schema says, then queued (202). */
  /**
   * GET /retailer/offers/{offer-id} (v10 RetailerOffer): the offer with `stock { amount,
   * correctedStock, managedByRetailer }`. correctedStock is the amount less the open (unshipped,
   * uncancelled) FBR units of the offer's EAN: all of them when bol manages the stock
   * (managedByRetailer false), those ordered after the last stock update when the retailer does.
   */
  private offerJson(offerId: string): Record<string, unknown> {
    const o = this.offers.get(offerId);
    if (!o) throw new ProblemError(404, 'Not Found', `Offer with id ${offerId} not found.`);
    let open = 0;
    for (const order of this.orders.values()) {
      if (order.placed > this.now() || (o.managedByRetailer && order.placed <= (o.stockSetAt ?? -Infinity))) continue;
      for (const it of order.items) if (it.ean === o.ean && it.method === 'FBR') open += Math.max(0, it.quantity - it.quantityShipped - it.quantityCancelled);
    }
    return {
      offerId: o.offerId,
      ean: o.ean,
      reference: o.reference,
      onHoldByRetailer: false,
      pricing: { bundlePrices: [{ quantity: 1, unitPrice: 9.99 }] },
      stock: { amount: o.amount, correctedStock: Math.max(0, o.amount - open), managedByRetailer: o.managedByRetailer },
      fulfilment: { method: 'FBR', deliveryCode: '1-2d' },
      store: { productTitle: o.reference, visible: [{ countryCode: 'NL' }] },
      condition: { name: 'NEW', category: 'NEW' },
      notPublishableReasons: [],
    };
  }

  /** Sets an offer's stock behind the API (a seller editing it in bol's own portal): tests of drift. */
  setOfferAmount(offerId: string, amount: number): void {
    const o = this.offers.get(offerId);
    if (!o) throw new Error(`no offer ${offerId}`);
    o.amount = amount;
    o.stockSetAt = this.now();
  }

  private updateStock(offerId: string, raw: string): Record<string, unknown> {
    let body: any;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      throw new ProblemError(400, 'Bad Request', 'The request body is not valid JSON.');
    }
    const violations: Array<{ name: string; reason: string }> = [];
    const amount = body?.amount;
    if (!Number.isInteger(amount) || amount < 0 || amount > OFFER_STOCK_MAX)
      violations.push({ name: 'amount', reason: `Must be a whole number from 0 to ${OFFER_STOCK_MAX}.` });
    if (typeof body?.managedByRetailer !== 'boolean') violations.push({ name: 'managedByRetailer', reason: 'Must be true or false.' });
    if (violations.length) throw new ProblemError(400, 'Bad Request', 'Request contains invalid value(s).', violations);
    const id = String(++this.seq);
    this.saveCarry({ seq: this.seq });
    const offer = this.offers.get(offerId);
    if (offer) {
      offer.amount = amount;
      offer.managedByRetailer = body.managedByRetailer;
      offer.stockSetAt = this.now();
      this.stockUpdates.push({ offerId, amount, managedByRetailer: body.managedByRetailer, processStatusId: id });
    }
    const status = {
      processStatusId: id,
      entityId: offerId,
      eventType: OFFER_STOCK_EVENT,
      description: `Update stock for offer with id ${offerId}.`,
      status: 'PENDING',
      createTimestamp: iso(this.now()),
      links: [{ rel: 'self', href: `${this.url}${PROCESS_STATUS_PATH}/${id}`, method: 'GET' }],
    };
    this.processes.set(id, {
      ...status,
      status: offer ? 'SUCCESS' : 'FAILURE',
      ...(offer ? {} : { errorMessage: `Offer with id ${offerId} not found.` }),
      readyAt: Date.now() + (this.opts.processDelayMs ?? 0),
    });
    return status;
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function randomLikeUuid(rnd: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rnd() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// ─────────────────────────────────────────────── CLI ───────────────────────────────────────────────

export const CLI_FLAGS = {
  ...COMMON_FLAGS,
  orders: { kind: 'number', value: '<n>', help: 'orders to generate (default 200)' },
  speed: { kind: 'number', value: '<x>', help: 'multiplies the rate limits (default 1)' },
  days: { kind: 'number', value: '<n>', help: 'the orders are spread over this many days up to now (default 14)' },
  currencies: { kind: 'list', value: '<EUR,JPY,…>', help: 'currencies, round-robin (default EUR; others are a simulator-only extension)' },
  epoch: { value: '<ISO>', help: 'latest change of the first order (default --days ago)' },
} as const satisfies Flags;

/** The simulator's options from its command line (defaults: port 18444, 200 orders over 14 days, seed 7, EUR). */
export function parseCliArgs(argv: string[]): BolSimulatorOptions | 'help' {
  const v = parseFlags(argv, CLI_FLAGS);
  if (v === 'help') return v;
  const orders = v.orders ?? 200;
  const days = v.days ?? 14;
  return {
    port: v.port ?? 18444,
    ...(v.host ? { host: v.host } : {}),
    orders,
    rateMultiplier: v.speed ?? 1,
    seed: v.seed ?? 7,
    currencies: v.currencies?.length ? v.currencies : ['EUR'],
    epoch: v.epoch ?? new Date(Date.now() - days * DAY).toISOString(),
    orderSpacingMs: Math.max(1, Math.floor((days * DAY - 3_600_000) / Math.max(1, orders))),
  };
}

export function main(argv: string[]): Promise<void> {
  return runSimulatorCli(argv, {
    help: helpText('bol.com Retailer API v10 simulator (Tillwire)', 'node dist/simulators/bol/simulator.js', CLI_FLAGS),
    parse: parseCliArgs,
    start: async (options) => {
      const sim = new BolSimulator(options);
      const url = await sim.start();
      return {
        lines: [
          `bol.com Retailer API v10 simulator listening on ${url} (token endpoint ${sim.tokenUrl})`,
          `client id ${sim.clientId}, client secret ${sim.clientSecret}`,
        ],
        stop: () => sim.stop(),
      };
    },
  });
}

if (require.main === module) runMain(() => main(process.argv.slice(2)));
