/**
 * Amazon Selling Partner API client (docs/connectors/amazon.md): Login-with-Amazon access tokens cached and
 * refreshed before they expire, one token bucket per operation mirroring Amazon's published rate
 * and burst and adjusted from `x-amzn-RateLimit-Limit`, and 429 handled by waiting for the bucket
 * (Amazon sends no Retry-After) before retrying. Every call goes through the shared HttpClient.
 * No Node-RED import.
 */
import { ConnectorError, HttpClient, HttpResponse, RetryPolicy, Verdict } from '../runtime/http';
import { ORDERS_2026_INCLUDED_DATA, ORDERS_2026_PATH, REPORT_DOCUMENTS_PATH, REPORTS_PATH, USAGE_PLANS, type ReportProcessingStatus } from './contract';
import { OAuthTokenSource } from '../runtime/oauth-token';
import { WireAwareBucket } from '../runtime/wire-aware-bucket';

export const AMAZON = 'amazon';

/** SP-API regional endpoints (Amazon's SP-API endpoints page: North America, Europe, Far East). */
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

/** A Login-with-Amazon access token (refresh_token grant, form-encoded), cached; renewed `refreshBeforeMs` before expiry. */
export class LwaTokenSource extends OAuthTokenSource {
  constructor(opts: { tokenUrl: string; credentials: LwaCredentials; refreshBeforeMs?: number; timeoutMs?: number; now?: () => number; fetch?: typeof fetch }) {
    const c = opts.credentials;
    super({
      system: AMAZON,
      operation: 'lwa-token',
      defaultLifetimeSeconds: 3600,
      refreshBeforeMs: opts.refreshBeforeMs ?? 60_000,
      timeoutMs: opts.timeoutMs,
      now: opts.now,
      fetch: opts.fetch,
      request: () => ({
        url: opts.tokenUrl,
        init: {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8', accept: 'application/json' },
          body: new URLSearchParams({
            grant_type: 'refresh_token',
            refresh_token: c.refreshToken,
            client_id: c.clientId,
            client_secret: c.clientSecret,
          }).toString(),
        },
      }),
    });
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

/** searchOrders (Orders API 2026-01-01) query; `paginationToken` continues a search. */
export interface SearchOrdersQuery {
  marketplaceIds: string[];
  createdAfter?: string;
  createdBefore?: string;
  lastUpdatedAfter?: string;
  lastUpdatedBefore?: string;
  fulfillmentStatuses?: string[];
  maxResultsPerPage?: number;
  paginationToken?: string;
  includedData?: readonly string[];
}

export interface SearchOrdersPage {
  orders: Record<string, any>[];
  pagination?: { nextToken?: string };
  lastUpdatedBefore?: string;
  createdBefore?: string;
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

/** getReports filters (Reports API 2021-06-30); a following page is asked for with `nextToken` alone. */
export interface GetReportsQuery {
  reportTypes?: string[];
  processingStatuses?: ReportProcessingStatus[];
  marketplaceIds?: string[];
  createdSince?: string;
  createdUntil?: string;
  pageSize?: number;
  nextToken?: string;
}

export interface AmazonReport {
  reportId: string;
  reportType: string;
  processingStatus: ReportProcessingStatus;
  createdTime: string;
  dataStartTime?: string;
  dataEndTime?: string;
  processingStartTime?: string;
  processingEndTime?: string;
  reportDocumentId?: string;
  marketplaceIds?: string[];
  reportScheduleId?: string;
}

export interface ReportsPage {
  reports: AmazonReport[];
  nextToken?: string;
}

export interface ReportDocument {
  reportDocumentId: string;
  /** Pre-signed, valid for five minutes. */
  url: string;
  compressionAlgorithm?: string;
}

export class AmazonClient {
  readonly tokens: LwaTokenSource;
  readonly buckets = new Map<string, WireAwareBucket>();
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
  bucket(operation: string): WireAwareBucket {
    let b = this.buckets.get(operation);
    if (!b) {
      const plan = this.opts.usagePlans?.[operation] ?? USAGE_PLANS[operation] ?? { rate: 1, burst: 1 };
      const safety = this.opts.rateSafety ?? 0.98;
      b = new WireAwareBucket(plan.rate * safety, Math.max(1, plan.burst - (this.opts.burstReserve ?? 1)));
      this.buckets.set(operation, b);
    }
    return b;
  }

  /**
   * The client for pre-signed document URLs: a plain GET with no SP-API token and no SP-API
   * governor (the URL is not an SP-API operation), through the shared HTTP layer's retries.
   */
  private get documents(): HttpClient {
    let c = this.http.get('downloadReportDocument');
    if (!c) {
      c = new HttpClient({ system: AMAZON, policy: this.opts.policy, fetch: this.opts.fetch });
      this.http.set('downloadReportDocument', c);
    }
    return c;
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
      fetch: this.opts.fetch,
      describe: (res) => {
        const e = res.body?.errors?.[0];
        return e ? { code: e.code, message: [e.message, e.details].filter(Boolean).join(' — ') } : undefined;
      },
    });
    this.http.set(operation, c);
    return c;
  }

  private classify(operation: string, bucket: WireAwareBucket, res: HttpResponse): Verdict | undefined {
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

  private async call(
    operation: string,
    req: { method: 'GET' | 'POST' | 'PATCH'; url: string; query?: Record<string, string | number | undefined>; body?: unknown; maxAttempts?: number },
  ) {
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

  /**
   * searchOrders (2026-01-01): orders with their items inline and, by default, the data sets the
   * mapping needs (contract.ts ORDERS_2026_INCLUDED_DATA). A page after the first repeats the
   * filters with the token, as Amazon asks.
   */
  async searchOrders(q: SearchOrdersQuery): Promise<SearchOrdersPage> {
    const query: Record<string, string | number | undefined> = {
      marketplaceIds: q.marketplaceIds.join(','),
      createdAfter: q.createdAfter,
      createdBefore: q.createdBefore,
      lastUpdatedAfter: q.lastUpdatedAfter,
      lastUpdatedBefore: q.lastUpdatedBefore,
      fulfillmentStatuses: q.fulfillmentStatuses?.length ? q.fulfillmentStatuses.join(',') : undefined,
      maxResultsPerPage: q.maxResultsPerPage,
      paginationToken: q.paginationToken,
      includedData: (q.includedData ?? ORDERS_2026_INCLUDED_DATA).join(','),
    };
    const res = await this.call('searchOrders', { method: 'GET', url: ORDERS_2026_PATH, query });
    return res.body as SearchOrdersPage;
  }

  /** getOrder (2026-01-01): one order, items inline, with these includedData sets. */
  async getOrderV2026(orderId: string, includedData: readonly string[] = ORDERS_2026_INCLUDED_DATA): Promise<Record<string, any>> {
    const res = await this.call('getOrderV2026', {
      method: 'GET',
      url: `${ORDERS_2026_PATH}/${encodeURIComponent(orderId)}`,
      query: { includedData: includedData.join(',') },
    });
    return res.body.order;
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
  async getListingsItem(
    sellerId: string,
    sku: string,
    marketplaceId: string,
  ): Promise<
    | {
        sku: string;
        summaries?: Array<{ marketplaceId: string; productType?: string }>;
        fulfillmentAvailability?: Array<{ fulfillmentChannelCode: string; quantity?: number }>;
      }
    | undefined
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

  /** getReports: one page of reports matching the filters, or the page `nextToken` names (sent alone, as Amazon requires). */
  async getReports(q: GetReportsQuery): Promise<ReportsPage> {
    const list = (v?: string[]) => (v?.length ? v.join(',') : undefined);
    const query: Record<string, string | number | undefined> = q.nextToken
      ? { nextToken: q.nextToken }
      : {
          reportTypes: list(q.reportTypes),
          processingStatuses: list(q.processingStatuses),
          marketplaceIds: list(q.marketplaceIds),
          createdSince: q.createdSince,
          createdUntil: q.createdUntil,
          pageSize: q.pageSize,
        };
    const res = await this.call('getReports', { method: 'GET', url: REPORTS_PATH, query });
    return { reports: res.body?.reports ?? [], nextToken: res.body?.nextToken || undefined };
  }

  /** Every report matching the filters, page after page. */
  async *listReports(q: Omit<GetReportsQuery, 'nextToken'>): AsyncGenerator<AmazonReport> {
    let page = await this.getReports(q);
    for (;;) {
      yield* page.reports;
      if (!page.nextToken) return;
      page = await this.getReports({ nextToken: page.nextToken });
    }
  }

  /** getReportDocument: where to download a report, and whether it is compressed. */
  async getReportDocument(reportDocumentId: string): Promise<ReportDocument> {
    const res = await this.call('getReportDocument', { method: 'GET', url: `${REPORT_DOCUMENTS_PATH}/${encodeURIComponent(reportDocumentId)}` });
    const body = res.body ?? {};
    if (typeof body.url !== 'string' || !body.url) {
      throw new ConnectorError(AMAZON, 'getReportDocument', `report document ${reportDocumentId} has no url`, { kind: 'value', retryable: false });
    }
    return { reportDocumentId: body.reportDocumentId ?? reportDocumentId, url: body.url, compressionAlgorithm: body.compressionAlgorithm };
  }

  /**
   * The document's bytes as they arrive (still compressed when `compressionAlgorithm` says so):
   * a streamed GET of the pre-signed URL, never held whole. A 403 usually means the five-minute
   * URL expired: ask getReportDocument for a new one.
   */
  async downloadReportDocument(doc: ReportDocument): Promise<ReadableStream<Uint8Array>> {
    const res = await this.documents.request({ operation: 'downloadReportDocument', method: 'GET', url: doc.url, headers: { accept: '*/*' }, stream: true });
    if (!res.body)
      throw new ConnectorError(AMAZON, 'downloadReportDocument', `report document ${doc.reportDocumentId} has no body`, { kind: 'value', retryable: false });
    return res.body as ReadableStream<Uint8Array>;
  }
}
