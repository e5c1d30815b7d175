/**
 * The Square Orders API client, on the shared resilience layer (runtime/http.ts): Bearer token and
 * `Square-Version` on every call, Square's error body read into ConnectorError, and
 * 429 `RATE_LIMITED` treated as retryable (Square sends no Retry-After, so the backoff and the
 * shared TokenBucket's penalty decide the wait).
 */
import { Governor, HttpClient, HttpResponse, RETRYABLE_STATUS, RetryPolicy, Verdict } from '../runtime/http';
import { DEFAULT_SQUARE_VERSION, PAYOUTS_MAX_PAGE } from './contract';
import type {
  SqError,
  SqListPayoutsQuery,
  SqOrder,
  SqPayment,
  SqPayout,
  SqPayoutEntry,
  SqSearchOrdersQuery,
  SqSearchOrdersRequest,
  SqSearchOrdersResponse,
} from './types';

export const SQUARE_PRODUCTION = 'https://connect.squareup.com';
export const SQUARE_SANDBOX = 'https://connect.squareupsandbox.com';

export interface SquareClientOptions {
  baseUrl: string;
  accessToken: string;
  version?: string;
  governor?: Governor;
  policy?: Partial<RetryPolicy>;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

function errorsOf(res: HttpResponse): SqError[] {
  const b = res.body as { errors?: SqError[] } | undefined;
  return Array.isArray(b?.errors) ? b!.errors : [];
}

/** Square's own verdict on a response: RATE_LIMITED and the shared retryable statuses retry; the rest do not. */
export function classifySquare(res: HttpResponse): Verdict | undefined {
  if (res.status >= 200 && res.status < 300) return { ok: true };
  const first = errorsOf(res)[0];
  const message = first ? `${first.code}${first.detail ? `: ${first.detail}` : ''}` : undefined;
  if (res.status === 429 || first?.code === 'RATE_LIMITED') return { ok: false, retryable: true, kind: 'rate-limit', code: 'RATE_LIMITED', message };
  return { ok: false, retryable: RETRYABLE_STATUS.has(res.status), code: first?.code, message };
}

export class SquareClient {
  readonly http: HttpClient;
  readonly version: string;

  constructor(readonly opts: SquareClientOptions) {
    this.version = opts.version || DEFAULT_SQUARE_VERSION;
    this.http = new HttpClient({
      system: 'square',
      baseUrl: opts.baseUrl,
      governor: opts.governor,
      policy: opts.policy,
      classify: classifySquare,
      headers: () => ({ authorization: `Bearer ${opts.accessToken}`, 'square-version': this.version }),
      fetch: opts.fetch,
      sleep: opts.sleep,
    });
  }

  async retrieveOrder(orderId: string): Promise<SqOrder> {
    const res = await this.http.request({ operation: 'RetrieveOrder', method: 'GET', url: `/v2/orders/${encodeURIComponent(orderId)}` });
    return (res.body as { order: SqOrder }).order;
  }

  async batchRetrieveOrders(orderIds: string[], locationId?: string): Promise<SqOrder[]> {
    const out: SqOrder[] = [];
    for (let i = 0; i < orderIds.length; i += 100) {
      const res = await this.http.request({
        operation: 'BatchRetrieveOrders',
        method: 'POST',
        url: '/v2/orders/batch-retrieve',
        body: { order_ids: orderIds.slice(i, i + 100), ...(locationId ? { location_id: locationId } : {}) },
      });
      out.push(...((res.body as { orders?: SqOrder[] }).orders ?? []));
    }
    return out;
  }

  async searchOrders(req: SqSearchOrdersRequest): Promise<SqSearchOrdersResponse> {
    const res = await this.http.request({ operation: 'SearchOrders', method: 'POST', url: '/v2/orders/search', body: req });
    return res.body as SqSearchOrdersResponse;
  }

  /** The ITEM_VARIATION catalog objects whose SKU is exactly `sku` (SearchCatalogObjects). */
  async findVariationsBySku(sku: string): Promise<Array<{ id: string; item_variation_data?: { sku?: string; item_id?: string; name?: string } }>> {
    const res = await this.http.request({
      operation: 'SearchCatalogObjects',
      method: 'POST',
      url: '/v2/catalog/search',
      body: { object_types: ['ITEM_VARIATION'], query: { exact_query: { attribute_name: 'sku', attribute_value: sku } }, limit: 10 },
    });
    return ((res.body as { objects?: any[] })?.objects ?? []).filter(
      (o) => o?.type === 'ITEM_VARIATION' && !o.is_deleted && o.item_variation_data?.sku === sku,
    );
  }

  /**
   * BatchChangeInventory. Safe to retry: the idempotency key makes Square answer a repeat with the
   * first answer and apply nothing again.
   */
  async batchChangeInventory(body: {
    idempotency_key: string;
    changes: Array<Record<string, unknown>>;
    ignore_unchanged_counts?: boolean;
  }): Promise<{ counts?: Array<Record<string, any>>; changes?: Array<Record<string, any>> }> {
    const res = await this.http.request({ operation: 'BatchChangeInventory', method: 'POST', url: '/v2/inventory/changes/batch-create', body });
    return res.body ?? {};
  }

  /**
   * BatchRetrieveInventoryCounts (`POST /v2/inventory/counts/batch-retrieve`): one page of counts;
   * `cursor` in the answer when there are more (contract.ts, INVENTORY_COUNTS_READ).
   */
  async batchRetrieveInventoryCounts(body: {
    catalog_object_ids: string[];
    location_ids: string[];
    states: string[];
    limit?: number;
    cursor?: string;
  }): Promise<unknown> {
    const res = await this.http.request({ operation: 'BatchRetrieveInventoryCounts', method: 'POST', url: '/v2/inventory/counts/batch-retrieve', body });
    return res.body;
  }

  /**
   * Every order updated at or after `since` in the locations, oldest change first, page by page
   * (the same query is re-sent with each cursor, as Square requires).
   */
  async *ordersUpdatedSince(locationIds: string[], since: string, pageSize = 500): AsyncGenerator<{ orders: SqOrder[]; cursor?: string }> {
    const query: SqSearchOrdersQuery = {
      filter: { date_time_filter: { updated_at: { start_at: since } } },
      sort: { sort_field: 'UPDATED_AT', sort_order: 'ASC' },
    };
    let cursor: string | undefined;
    do {
      const page = await this.searchOrders({ location_ids: locationIds, query, limit: pageSize, ...(cursor ? { cursor } : {}) });
      cursor = page.cursor;
      yield { orders: page.orders ?? [], cursor };
    } while (cursor);
  }

  // ── Payouts (contract.ts, "Payouts API") ──

  /** ListPayouts, every page (the same query re-sent with each cursor). */
  async *listPayouts(q: Omit<SqListPayoutsQuery, 'cursor'> = {}): AsyncGenerator<SqPayout> {
    let cursor: string | undefined;
    do {
      const res = await this.http.request({
        operation: 'ListPayouts',
        method: 'GET',
        url: '/v2/payouts',
        query: { ...q, limit: q.limit ?? PAYOUTS_MAX_PAGE, cursor },
      });
      const body = (res.body ?? {}) as { payouts?: SqPayout[]; cursor?: string };
      yield* body.payouts ?? [];
      cursor = body.cursor || undefined;
    } while (cursor);
  }

  async getPayout(payoutId: string): Promise<SqPayout> {
    const res = await this.http.request({ operation: 'GetPayout', method: 'GET', url: `/v2/payouts/${encodeURIComponent(payoutId)}` });
    return (res.body as { payout: SqPayout }).payout;
  }

  /** ListPayoutEntries of one payout, oldest first, every page. */
  async *listPayoutEntries(payoutId: string, limit = PAYOUTS_MAX_PAGE): AsyncGenerator<SqPayoutEntry> {
    let cursor: string | undefined;
    do {
      const res = await this.http.request({
        operation: 'ListPayoutEntries',
        method: 'GET',
        url: `/v2/payouts/${encodeURIComponent(payoutId)}/payout-entries`,
        query: { sort_order: 'ASC', limit, cursor },
      });
      const body = (res.body ?? {}) as { payout_entries?: SqPayoutEntry[]; cursor?: string };
      yield* body.payout_entries ?? [];
      cursor = body.cursor || undefined;
    } while (cursor);
  }

  /** GetPayment: here for the order a payment paid (payment.order_id). */
  async getPayment(paymentId: string): Promise<SqPayment> {
    const res = await this.http.request({ operation: 'GetPayment', method: 'GET', url: `/v2/payments/${encodeURIComponent(paymentId)}` });
    return (res.body as { payment: SqPayment }).payment;
  }
}
