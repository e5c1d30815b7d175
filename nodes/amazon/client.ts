/**
 * Amazon Selling Partner API client (api-contracts §1): Login-with-Amazon access tokens cached and
 * refreshed before they expire, one token bucket per operation mirroring Amazon's published rate
 * and burst and adjusted from `x-amzn-RateLimit-Limit`, and 429 handled by waiting for the bucket
 * (Amazon sends no Retry-After) before retrying. Every call goes through the shared HttpClient.
 * No Node-RED import.
 */
import { ConnectorError, Governor, HttpClient, HttpResponse, RetryPolicy, Verdict, delay } from '../runtime/http';
import { USAGE_PLANS } from './simulator';

export const AMAZON = 'amazon';

/** SP-API regional endpoints (api-contracts §1.1: NA host in the model; EU/FE exist). */
export const REGION_ENDPOINTS: Record<string, string> = {
  na: 'https://sellingpartnerapi-na.amazon.com',
  eu: 'https://sellingpartnerapi-eu.amazon.com',
  fe: 'https://sellingpartnerapi-fe.amazon.com',
};
export const LWA_TOKEN_URL = 'https://api.amazon.com/auth/o2/token';

export interface LwaCredentials {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

/** A Login-with-Amazon access token, cached; one refresh at a time, `refreshBeforeMs` before expiry. */
export class LwaTokenSource {
  private token?: { value: string; expiresAt: number };
  private pending?: Promise<string>;
  refreshes = 0;

  constructor(
    private readonly opts: {
      tokenUrl: string;
      credentials: LwaCredentials;
      refreshBeforeMs?: number;
      timeoutMs?: number;
      now?: () => number;
      fetch?: typeof fetch;
    },
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  async get(): Promise<string> {
    const t = this.token;
    if (t && t.expiresAt - (this.opts.refreshBeforeMs ?? 60_000) > this.now()) return t.value;
    this.pending ??= this.refresh().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** Forgets the cached token (Amazon said it is expired or invalid). */
  invalidate(): void {
    this.token = undefined;
  }

  private async refresh(): Promise<string> {
    const { credentials: c } = this.opts;
    const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: c.refreshToken, client_id: c.clientId, client_secret: c.clientSecret });
    let res: Response;
    try {
      res = await (this.opts.fetch ?? fetch)(this.opts.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8', accept: 'application/json' },
        body: body.toString(),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
      });
    } catch (err) {
      throw new ConnectorError(AMAZON, 'lwa-token', `token endpoint unreachable: ${(err as Error).message}`, { retryable: true });
    }
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok || typeof json?.access_token !== 'string') {
      const code = typeof json?.error === 'string' ? json.error : undefined;
      const message = json?.error_description ?? code ?? text.slice(0, 200);
      throw new ConnectorError(AMAZON, 'lwa-token', `HTTP ${res.status}: ${code ? `${code}: ` : ''}${message}`, {
        status: res.status,
        retryable: res.status === 429 || res.status >= 500,
        providerCode: code,
        providerMessage: message,
        body: json ?? text,
      });
    }
    const lifetime = Number(json.expires_in ?? 3600);
    this.token = { value: json.access_token, expiresAt: this.now() + lifetime * 1000 };
    this.refreshes++;
    return json.access_token;
  }
}

/**
 * A token bucket like the runtime's TokenBucket, with two differences Amazon needs:
 * - its rate follows what Amazon reports in `x-amzn-RateLimit-Limit` without refilling the bucket
 *   (the runtime's rate is fixed at creation);
 * - requests sent but not yet answered are held against the burst. Amazon charges its bucket when
 *   a request arrives; after a pause both buckets are full, and requests still on the wire from
 *   before the pause would otherwise meet a fresh full burst from us at Amazon's end (a 429 storm).
 */
export class OperationBucket implements Governor {
  private tokens: number;
  private last: number;
  private blockedUntil = 0;
  private queue: Promise<void> = Promise.resolve();
  /** When each unanswered request was sent (oldest first); entries expire after `inFlightTtlMs`. */
  private inFlight: number[] = [];

  constructor(
    public rate: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = delay,
    private readonly inFlightTtlMs = 30_000,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  take(): Promise<void> {
    const next = this.queue.then(() => this.acquire());
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Tokens earned since the last look, never more than the burst less what is on the wire. */
  private refill(now: number): number {
    while (this.inFlight.length && now - this.inFlight[0] > this.inFlightTtlMs) this.inFlight.shift();
    const cap = this.burst - this.inFlight.length;
    this.tokens = Math.min(cap, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    return cap;
  }

  private async acquire(): Promise<void> {
    for (;;) {
      const now = this.now();
      if (now < this.blockedUntil) {
        await this.sleep(this.blockedUntil - now);
        continue;
      }
      const cap = this.refill(now);
      if (this.tokens >= 1) {
        this.tokens -= 1;
        this.inFlight.push(now);
        return;
      }
      // Short of a token: wait for one; if the wire is full, only until an answer may have come.
      const wait = cap < 1 ? 1 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
      await this.sleep(Math.max(1, wait));
    }
  }

  /** An answer arrived: Amazon has counted that request. */
  settle(): void {
    this.inFlight.shift();
  }

  /** Follows a new rate from now on; tokens already earned are kept. */
  setRate(rate: number): void {
    if (!(rate > 0) || rate === this.rate) return;
    this.refill(this.now());
    this.rate = rate;
  }

  /** A 429: the bucket is empty on Amazon's side; wait for one token at the current rate. */
  penalise(ms?: number): void {
    this.tokens = 0;
    this.last = this.now();
    if (ms) this.blockedUntil = Math.max(this.blockedUntil, this.now() + ms);
  }
}

export interface AmazonClientOptions {
  /** SP-API base URL (a region endpoint, or the simulator). */
  endpoint: string;
  tokenUrl?: string;
  credentials: LwaCredentials;
  policy?: Partial<RetryPolicy>;
  /** Overrides of the published usage plans (rate req/s, burst) per operation. */
  usagePlans?: Partial<Record<string, { rate: number; burst: number }>>;
  /**
   * Fraction of the rate actually used (default 0.98) and tokens of the burst held back
   * (default 1), so network jitter between our clock and Amazon's never empties Amazon's bucket.
   */
  rateSafety?: number;
  burstReserve?: number;
  /** Follow `x-amzn-RateLimit-Limit` (default true). */
  adaptRate?: boolean;
  refreshBeforeMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
  onRetry?: (info: { operation: string; attempt: number; waitMs: number; reason: string }) => void;
}

export interface GetOrdersQuery {
  MarketplaceIds: string[];
  CreatedAfter?: string;
  CreatedBefore?: string;
  LastUpdatedAfter?: string;
  LastUpdatedBefore?: string;
  OrderStatuses?: string[];
  MaxResultsPerPage?: number;
  NextToken?: string;
}

export interface OrdersPage {
  Orders: Record<string, any>[];
  NextToken?: string;
  LastUpdatedBefore?: string;
  CreatedBefore?: string;
}

export interface ShipmentConfirmation {
  marketplaceId: string;
  packageDetail: {
    packageReferenceId: string;
    carrierCode: string;
    carrierName?: string;
    shippingMethod?: string;
    trackingNumber: string;
    shipDate: string;
    orderItems: Array<{ orderItemId: string; quantity: number }>;
  };
}

export class AmazonClient {
  readonly tokens: LwaTokenSource;
  readonly buckets = new Map<string, OperationBucket>();
  private readonly http = new Map<string, HttpClient>();
  /** 429 answers seen, per operation. */
  readonly throttled: Record<string, number> = {};

  constructor(private readonly opts: AmazonClientOptions) {
    this.tokens = new LwaTokenSource({
      tokenUrl: opts.tokenUrl ?? LWA_TOKEN_URL,
      credentials: opts.credentials,
      refreshBeforeMs: opts.refreshBeforeMs,
      timeoutMs: opts.policy?.timeoutMs,
      now: opts.now,
      fetch: opts.fetch,
    });
  }

  /** The bucket of one operation (shared by every caller of this client). */
  bucket(operation: string): OperationBucket {
    let b = this.buckets.get(operation);
    if (!b) {
      const plan = this.opts.usagePlans?.[operation] ?? USAGE_PLANS[operation] ?? { rate: 1, burst: 1 };
      const safety = this.opts.rateSafety ?? 0.98;
      b = new OperationBucket(plan.rate * safety, Math.max(1, plan.burst - (this.opts.burstReserve ?? 1)));
      this.buckets.set(operation, b);
    }
    return b;
  }

  private client(operation: string): HttpClient {
    let c = this.http.get(operation);
    if (c) return c;
    const bucket = this.bucket(operation);
    c = new HttpClient({
      system: AMAZON,
      baseUrl: this.opts.endpoint,
      policy: this.opts.policy,
      governor: bucket,
      headers: async () => ({ 'x-amz-access-token': await this.tokens.get(), 'user-agent': 'Tillwire/0.1 (Language=TypeScript)' }),
      classify: (res) => this.classify(operation, bucket, res),
      describe: (res) => {
        const e = res.body?.errors?.[0];
        return e ? { code: e.code, message: [e.message, e.details].filter(Boolean).join(' — ') } : undefined;
      },
      onRetry: this.opts.onRetry,
    });
    this.http.set(operation, c);
    return c;
  }

  private classify(operation: string, bucket: OperationBucket, res: HttpResponse): Verdict | undefined {
    bucket.settle();
    const limit = Number(res.headers.get('x-amzn-ratelimit-limit'));
    if (this.opts.adaptRate !== false && limit > 0) bucket.setRate(limit * (this.opts.rateSafety ?? 0.98));
    if (res.status === 429) {
      this.throttled[operation] = (this.throttled[operation] ?? 0) + 1;
      // No Retry-After from Amazon: the bucket (emptied by penalise) paces the retry.
      return { ok: false, retryable: true, retryAfterMs: 0, code: res.body?.errors?.[0]?.code };
    }
    if (res.status === 403 && res.body?.errors?.[0]?.code === 'Unauthorized') {
      // Expired or revoked access token: fetch a new one and try again; a bad refresh token then
      // fails permanently at the token endpoint.
      this.tokens.invalidate();
      return { ok: false, retryable: true, retryAfterMs: 0 };
    }
    return undefined;
  }

  private async call(operation: string, req: { method: 'GET' | 'POST' | 'PATCH'; url: string; query?: Record<string, string | number | undefined>; body?: unknown; maxAttempts?: number }) {
    const res = await this.client(operation).request({ operation, ...req });
    return res;
  }

  async getOrders(q: GetOrdersQuery): Promise<OrdersPage> {
    const query: Record<string, string | number | undefined> = q.NextToken
      ? { MarketplaceIds: q.MarketplaceIds.join(','), NextToken: q.NextToken }
      : {
          MarketplaceIds: q.MarketplaceIds.join(','),
          CreatedAfter: q.CreatedAfter,
          CreatedBefore: q.CreatedBefore,
          LastUpdatedAfter: q.LastUpdatedAfter,
          LastUpdatedBefore: q.LastUpdatedBefore,
          OrderStatuses: q.OrderStatuses?.length ? q.OrderStatuses.join(',') : undefined,
          MaxResultsPerPage: q.MaxResultsPerPage,
        };
    const res = await this.call('getOrders', { method: 'GET', url: '/orders/v0/orders', query });
    return res.body.payload as OrdersPage;
  }

  async getOrder(orderId: string): Promise<Record<string, any>> {
    const res = await this.call('getOrder', { method: 'GET', url: `/orders/v0/orders/${encodeURIComponent(orderId)}` });
    return res.body.payload;
  }

  /** Every item of an order, following NextToken. */
  async getOrderItems(orderId: string): Promise<Record<string, any>[]> {
    const items: Record<string, any>[] = [];
    let next: string | undefined;
    do {
      const res = await this.call('getOrderItems', {
        method: 'GET',
        url: `/orders/v0/orders/${encodeURIComponent(orderId)}/orderItems`,
        query: { NextToken: next },
      });
      items.push(...(res.body.payload.OrderItems ?? []));
      next = res.body.payload.NextToken || undefined;
    } while (next);
    return items;
  }

  /** confirmShipment: 204 on success; the same packageReferenceId again is harmless. */
  async confirmShipment(orderId: string, body: ShipmentConfirmation): Promise<void> {
    await this.call('confirmShipment', { method: 'POST', url: `/orders/v0/orders/${encodeURIComponent(orderId)}/shipmentConfirmation`, body });
  }

  /**
   * getListingsItem for one marketplace (`summaries` and `fulfillmentAvailability`), or undefined
   * when the seller has no listing for the SKU (404).
   */
  async getListingsItem(sellerId: string, sku: string, marketplaceId: string): Promise<
    { sku: string; summaries?: Array<{ marketplaceId: string; productType?: string }>; fulfillmentAvailability?: Array<{ fulfillmentChannelCode: string; quantity?: number }> } | undefined
  > {
    try {
      const res = await this.call('getListingsItem', {
        method: 'GET',
        url: `/listings/2021-08-01/items/${encodeURIComponent(sellerId)}/${encodeURIComponent(sku)}`,
        query: { marketplaceIds: marketplaceId, includedData: 'summaries,fulfillmentAvailability' },
      });
      return res.body;
    } catch (err) {
      if (err instanceof ConnectorError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** patchListingsItem setting `fulfillment_availability` (the quantity Amazon may sell). */
  async setQuantity(args: {
    sellerId: string;
    sku: string;
    marketplaceIds: string[];
    quantity: number;
    productType?: string;
    fulfillmentChannelCode?: string;
    validateOnly?: boolean;
  }): Promise<{ sku: string; status: string; submissionId: string; issues: any[] }> {
    const res = await this.call('patchListingsItem', {
      method: 'PATCH',
      url: `/listings/2021-08-01/items/${encodeURIComponent(args.sellerId)}/${encodeURIComponent(args.sku)}`,
      query: { marketplaceIds: args.marketplaceIds.join(','), mode: args.validateOnly ? 'VALIDATION_PREVIEW' : undefined },
      body: {
        productType: args.productType ?? 'PRODUCT',
        patches: [
          {
            op: 'replace',
            path: '/attributes/fulfillment_availability',
            value: [{ fulfillment_channel_code: args.fulfillmentChannelCode ?? 'DEFAULT', quantity: args.quantity }],
          },
        ],
      },
    });
    return res.body;
  }
}
