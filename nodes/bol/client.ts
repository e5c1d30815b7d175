/**
 * bol.com Retailer API v10 client (docs/connectors/bol-contract.md): OAuth2 client-credentials
 * tokens (HTTP Basic to the token endpoint, ~299 s lifetime) cached and refreshed before they
 * expire, the v10 media type on every call, one token bucket per endpoint group (shared by every
 * node using the same config node), 429 + Retry-After honoured by the shared HttpClient, and an
 * expired token (401) answered by fetching a new one. No Node-RED import.
 */
import { ConnectorError, HttpClient, HttpResponse, RetryPolicy, TokenBucket, Verdict } from '../runtime/http';
import { Limiter } from '../runtime/limiter';
import { OAuthTokenSource } from '../runtime/oauth-token';
import { MEDIA_TYPE, PROCESS_STATUS_PATH, RATE_LIMITS, TOKEN_LIFETIME_SECONDS, type BolGroup } from './contract';

export const BOL = 'bol';
export const BOL_API_URL = 'https://api.bol.com';
export const BOL_TOKEN_URL = 'https://login.bol.com/token';

export interface BolCredentials {
  clientId: string;
  clientSecret: string;
}

/** bol.com's access token: the client-credentials grant, HTTP Basic with the client id and secret. */
export class BolTokenSource extends OAuthTokenSource {
  constructor(opts: {
    tokenUrl: string;
    credentials: BolCredentials;
    /** Refresh this long before the token expires (default 30 s of its 299). */
    refreshBeforeMs?: number;
    timeoutMs?: number;
    now?: () => number;
    fetch?: typeof fetch;
  }) {
    const { clientId, clientSecret } = opts.credentials;
    super({
      system: BOL,
      operation: 'token',
      defaultLifetimeSeconds: TOKEN_LIFETIME_SECONDS,
      refreshBeforeMs: opts.refreshBeforeMs ?? 30_000,
      timeoutMs: opts.timeoutMs,
      now: opts.now,
      fetch: opts.fetch,
      request: () => {
        const url = new URL(opts.tokenUrl);
        url.searchParams.set('grant_type', 'client_credentials');
        return {
          url,
          init: {
            method: 'POST',
            headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`, accept: 'application/json' },
          },
        };
      },
    });
  }
}

/** Endpoint groups as the client paces them (contract.ts). */
export type { BolGroup };

export interface BolClientOptions {
  /** API base URL (https://api.bol.com, or the simulator). */
  endpoint?: string;
  tokenUrl?: string;
  credentials: BolCredentials;
  policy?: Partial<RetryPolicy>;
  /** Requests per window per group; defaults to contract.ts's RATE_LIMITS. */
  limits?: Partial<Record<string, { limit: number; windowSeconds: number }>>;
  /** Fraction of the rate used (default 0.98) and requests of the limit held back (default 1). */
  rateSafety?: number;
  burstReserve?: number;
  /**
   * Requests on the wire at once per group (default 4). The bucket's size is the limit less the
   * reserve less this: a request that took its token before a pause of ours may reach bol after
   * it, together with the tokens the pause earned, and bol must still have room for both.
   */
  maxInFlight?: number;
  refreshBeforeMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

export interface ListOrdersQuery {
  page?: number;
  fulfilmentMethod?: 'FBR' | 'FBB' | 'ALL';
  status?: 'OPEN' | 'SHIPPED' | 'ALL';
  /** yyyy-MM-dd */
  latestChangeDate?: string;
  changeIntervalMinute?: number;
}

export interface ReducedOrder {
  orderId: string;
  orderPlacedDateTime: string;
  orderItems: Array<{ orderItemId: string; latestChangedDateTime?: string; [k: string]: unknown }>;
}

export interface ShipmentRequest {
  orderItems: Array<{ orderItemId: string; quantity?: number }>;
  shipmentReference?: string;
  shippingLabelId?: string;
  transport?: { transporterCode: string; trackAndTrace: string };
}

export interface ProcessStatus {
  processStatusId: string;
  entityId?: string;
  eventType: string;
  description?: string;
  status: 'PENDING' | 'SUCCESS' | 'FAILURE' | 'TIMEOUT';
  errorMessage?: string;
  createTimestamp?: string;
}

/** A money figure as bol writes it in invoices (a JSON number in major units, read as text by the mapper). */
export interface BolAmount {
  amount: number | string;
  currencyID: string;
}

/** One invoice of GET /retailer/invoices (docs/connectors/bol-contract.md, "Invoices"). */
export interface InvoiceListItem {
  invoiceId: string;
  invoiceType: string;
  /** ISO date-time; older answers wrote epoch numbers, which the mapper reads too. */
  issueDate?: string | number;
  invoicePeriod: { startDate: string | number; endDate: string | number };
  legalMonetaryTotal?: {
    lineExtensionAmount?: BolAmount;
    payableAmount?: BolAmount;
    taxExclusiveAmount?: BolAmount;
    taxInclusiveAmount?: BolAmount;
  };
  invoiceMediaTypes?: { availableMediaTypes?: string[] };
  specificationMediaTypes?: { availableMediaTypes?: string[] };
}

export class BolClient {
  readonly tokens: BolTokenSource;
  readonly buckets = new Map<string, TokenBucket>();
  private readonly wire = new Map<string, Limiter>();
  /** 429 answers seen, per group. */
  readonly throttled: Record<string, number> = {};
  private readonly http = new Map<string, HttpClient>();

  constructor(private readonly opts: BolClientOptions) {
    this.tokens = new BolTokenSource({
      tokenUrl: opts.tokenUrl ?? BOL_TOKEN_URL,
      credentials: opts.credentials,
      refreshBeforeMs: opts.refreshBeforeMs,
      timeoutMs: opts.policy?.timeoutMs,
      now: opts.now,
      fetch: opts.fetch,
    });
  }

  /** The bucket of one endpoint group (shared by every caller of this client). */
  bucket(group: string): TokenBucket {
    let b = this.buckets.get(group);
    if (!b) {
      const l = this.opts.limits?.[group] ?? RATE_LIMITS[group] ?? { limit: 1, windowSeconds: 1 };
      const rate = (l.limit / l.windowSeconds) * (this.opts.rateSafety ?? 0.98);
      const size = l.limit - (this.opts.burstReserve ?? 1) - this.inFlight;
      b = new TokenBucket(rate, Math.max(1, size), () => performance.now());
      this.buckets.set(group, b);
    }
    return b;
  }

  private get inFlight(): number {
    return Math.max(1, this.opts.maxInFlight ?? 4);
  }

  /** Runs one request of a group with at most `maxInFlight` of that group on the wire. */
  private send(group: string, req: Omit<Parameters<HttpClient['request']>[0], 'operation'>) {
    let wire = this.wire.get(group);
    if (!wire) this.wire.set(group, (wire = new Limiter(this.inFlight)));
    return wire.run(() => this.client(group).request({ operation: group, ...req }));
  }

  private client(group: string): HttpClient {
    let c = this.http.get(group);
    if (c) return c;
    c = new HttpClient({
      system: BOL,
      baseUrl: this.opts.endpoint ?? BOL_API_URL,
      policy: this.opts.policy,
      governor: this.bucket(group),
      headers: async () => ({ authorization: `Bearer ${await this.tokens.get()}`, accept: MEDIA_TYPE }),
      classify: (res) => this.classify(group, res),
      fetch: this.opts.fetch,
      describe: (res) => {
        const b = res.body;
        if (!b || typeof b !== 'object') return undefined;
        const violations = Array.isArray(b.violations) ? b.violations.map((v: any) => `${v.name}: ${v.reason}`).join('; ') : '';
        const message = [b.detail ?? b.title, violations].filter(Boolean).join(' — ');
        return { message: message || undefined, code: typeof b.type === 'string' ? b.type : undefined };
      },
    });
    this.http.set(group, c);
    return c;
  }

  private classify(group: string, res: HttpResponse): Verdict | undefined {
    if (res.status === 429) this.throttled[group] = (this.throttled[group] ?? 0) + 1;
    if (res.status === 401) {
      // Expired or revoked token: fetch a new one and try again; bad credentials then fail
      // permanently at the token endpoint.
      this.tokens.invalidate();
      return { ok: false, retryable: true, retryAfterMs: 0, message: res.body?.detail ?? 'Unauthorized' };
    }
    return undefined; // 429 (+ Retry-After), 5xx, timeouts: the shared rules.
  }

  /** One page of the order list (50 a page); an empty page ends the list. */
  async listOrders(q: ListOrdersQuery = {}): Promise<ReducedOrder[]> {
    const res = await this.send('orders:list', {
      method: 'GET',
      url: '/retailer/orders',
      query: {
        page: q.page ?? 1,
        'fulfilment-method': q.fulfilmentMethod,
        status: q.status,
        'latest-change-date': q.latestChangeDate,
        'change-interval-minute': q.changeIntervalMinute,
      },
    });
    return (res.body?.orders ?? []) as ReducedOrder[];
  }

  async getOrder(orderId: string): Promise<Record<string, any>> {
    const res = await this.send('orders:get', { method: 'GET', url: `/retailer/orders/${encodeURIComponent(orderId)}` });
    return res.body;
  }

  /**
   * Ships order items (asynchronous at bol: 202 + a process status). Sent once, never re-sent
   * blindly: a caller that does not know the outcome reads the order again first.
   */
  async createShipment(body: ShipmentRequest): Promise<ProcessStatus> {
    const res = await this.send('shipments:create', {
      method: 'POST',
      url: '/retailer/shipments',
      headers: { 'content-type': MEDIA_TYPE },
      body,
      maxAttempts: 1,
    });
    return res.body;
  }

  /** Invoices whose period falls in [periodStartDate, periodEndDate] (yyyy-MM-dd, at most 31 days apart). */
  async listInvoices(q: { periodStartDate: string; periodEndDate: string }): Promise<InvoiceListItem[]> {
    const res = await this.send('invoices:list', {
      method: 'GET',
      url: '/retailer/invoices',
      query: { 'period-start-date': q.periodStartDate, 'period-end-date': q.periodEndDate },
    });
    return (res.body?.invoiceListItems ?? []) as InvoiceListItem[];
  }

  /** One invoice in its JSON form. */
  async getInvoice(invoiceId: string): Promise<Record<string, any>> {
    const res = await this.send('invoices:get', { method: 'GET', url: `/retailer/invoices/${encodeURIComponent(invoiceId)}` });
    return res.body;
  }

  /** One page (≥ 1) of an invoice's specification in its JSON form; a page past the end has no lines. */
  async getInvoiceSpecification(invoiceId: string, page: number): Promise<Record<string, any>> {
    const res = await this.send('invoices:specification', {
      method: 'GET',
      url: `/retailer/invoices/${encodeURIComponent(invoiceId)}/specification`,
      query: { page },
    });
    return res.body ?? {};
  }

  async getProcessStatus(id: string): Promise<ProcessStatus> {
    const res = await this.send('process-status:get', { method: 'GET', url: `${PROCESS_STATUS_PATH}/${encodeURIComponent(id)}` });
    return res.body;
  }

  /** One offer (GET /retailer/offers/{offer-id}), or undefined when bol does not know the offer id (404). */
  async getOffer(offerId: string): Promise<unknown> {
    try {
      const res = await this.send('offers:get', { method: 'GET', url: `/retailer/offers/${encodeURIComponent(offerId)}` });
      return res.body;
    } catch (err) {
      if (err instanceof ConnectorError && err.status === 404) return undefined;
      throw err;
    }
  }

  /**
   * Sets an offer's stock (asynchronous at bol: 202 + a process status). The amount is absolute, so
   * sending the same request again changes nothing: the HTTP layer may retry it (429, 5xx).
   */
  async updateOfferStock(offerId: string, body: { amount: number; managedByRetailer: boolean }): Promise<ProcessStatus> {
    const res = await this.send('offers:stock', {
      method: 'PUT',
      url: `/retailer/offers/${encodeURIComponent(offerId)}/stock`,
      headers: { 'content-type': MEDIA_TYPE },
      body,
    });
    return res.body;
  }
}
