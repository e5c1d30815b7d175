/**
 * Shopify Admin GraphQL client on the shared HttpClient (timeouts, retries of 429/5xx/transport
 * failures), with cost-aware pacing: every answer's `extensions.cost.throttleStatus` is kept by a
 * `CostGovernor` shared by all nodes of one shop, and a query waits until the bucket is estimated to
 * hold its requested cost (learnt from the last answer to the same operation). A `THROTTLED`
 * answer is retried after the restore-rate wait it implies, never blindly.
 */
import { CHANGE_FROM_QUANTITY_INTRODUCED, REST_BUCKET, versionAtLeast } from './contract';
import { ConnectorError, HttpClient, type RetryPolicy } from '../runtime/http';
import { CostGovernor, type ThrottleStatus } from './cost-governor';
import { kindForCode } from '../runtime/errors';
import { CallLimitBucket } from '../runtime/call-limit-bucket';
import { reportCall } from '../runtime/call-observer';

export interface ShopifyClientOptions {
  shop: string;
  apiVersion: string;
  accessToken: string;
  /** Default `https://<shop>`; the simulator's address for tests and the demo. */
  baseUrl?: string;
  policy?: Partial<RetryPolicy>;
  governor?: CostGovernor;
  /** The shop's REST request bucket (size 40, leak 2/s on a standard plan; Plus: 20/s). */
  restBucket?: CallLimitBucket;
  /** THROTTLED answers retried before giving up. */
  maxThrottleRetries?: number;
  fetch?: typeof fetch;
}

export interface GraphQLResult<T = any> {
  data: T;
  cost?: { requestedQueryCost: number; actualQueryCost: number | null; throttleStatus: ThrottleStatus };
}

export const ORDER_FIELDS = `
  id legacyResourceId name email createdAt updatedAt processedAt cancelledAt cancelReason closedAt
  currencyCode presentmentCurrencyCode taxesIncluded displayFinancialStatus displayFulfillmentStatus
  paymentGatewayNames sourceName
  subtotalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
  totalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
  totalTaxSet { shopMoney { amount currencyCode } }
  totalDiscountsSet { shopMoney { amount currencyCode } }
  totalShippingPriceSet { shopMoney { amount currencyCode } }
  customer { id email displayName }
  shippingAddress { name address1 address2 city provinceCode zip countryCodeV2 }
  lineItems(first: 100) { nodes {
    id sku title quantity variant { id }
    originalUnitPriceSet { shopMoney { amount currencyCode } }
    discountAllocations { allocatedAmountSet { shopMoney { amount currencyCode } }
      discountApplication { __typename ... on DiscountCodeApplication { code } ... on AutomaticDiscountApplication { title } ... on ManualDiscountApplication { title description } } }
    taxLines { title rate priceSet { shopMoney { amount currencyCode } } } } }
  shippingLines(first: 10) { nodes { title code originalPriceSet { shopMoney { amount currencyCode } }
    discountedPriceSet { shopMoney { amount currencyCode } } taxLines { title rate priceSet { shopMoney { amount currencyCode } } } } }
  fulfillmentOrders(first: 10) { nodes { id status } }
  refunds(first: 20) { id legacyResourceId createdAt note
    refundLineItems(first: 100) { nodes { quantity restockType lineItem { id sku title }
      subtotalSet { shopMoney { amount currencyCode } } totalTaxSet { shopMoney { amount currencyCode } } } }
    transactions(first: 10) { nodes { id kind status gateway processedAt authorizationCode amountSet { shopMoney { amount currencyCode } } } } }`;

export const ORDERS_QUERY = `query TillwireOrders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    edges { cursor node { ${ORDER_FIELDS} } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const ORDER_FULFILMENT_QUERY = `query TillwireFulfillmentOrders($id: ID!) {
  order(id: $id) { id fulfillmentOrders(first: 10) { nodes { id status } } }
}`;

export const FULFILLMENT_CREATE = `mutation TillwireFulfil($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) { fulfillment { id status trackingInfo { company number url } } userErrors { field message } }
}`;

export const ORDER_SHIPPING_STATE_QUERY = `query TillwireOrderShipping($id: ID!) {
  order(id: $id) { id cancelledAt fulfillmentOrders(first: 10) { nodes { id status } }
    fulfillments(first: 50) { id status trackingInfo { company number url } } }
}`;

export const INVENTORY_ITEM_BY_SKU = `query TillwireInventoryItem($query: String!) {
  inventoryItems(first: 2, query: $query) { nodes { id sku } }
}`;

/** The quantities of inventory items (by a SKU search) at one location (contract.ts, INVENTORY_READ). */
export const INVENTORY_LEVELS = `query TillwireInventoryLevels($first: Int!, $after: String, $query: String!, $locationId: ID!, $names: [String!]!) {
  inventoryItems(first: $first, after: $after, query: $query) {
    nodes { id sku inventoryLevel(locationId: $locationId) { quantities(names: $names) { name quantity } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const INVENTORY_SET = `mutation TillwireInventorySet($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup { id reason referenceDocumentUri changes { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}`;

export class ShopifyClient {
  readonly http: HttpClient;
  readonly governor: CostGovernor;
  readonly restBucket: CallLimitBucket;
  /** REST calls (legacy Admin API) go through their own client, paced by the request bucket. */
  private readonly rest: HttpClient;
  private readonly lastCost = new Map<string, number>();
  /** THROTTLED answers received (tests and status). */
  throttled = 0;
  private answeredAt?: number;

  constructor(readonly opts: ShopifyClientOptions) {
    this.governor = opts.governor ?? new CostGovernor();
    this.restBucket = opts.restBucket ?? new CallLimitBucket(REST_BUCKET.size, REST_BUCKET.leakPerSecond);
    this.rest = new HttpClient({
      system: 'shopify',
      baseUrl: opts.baseUrl ?? `https://${opts.shop}`,
      policy: opts.policy,
      governor: this.restBucket,
      fetch: opts.fetch,
      headers: () => ({ 'x-shopify-access-token': opts.accessToken }),
      // Every answer says how full the shop's bucket is; the default rules then handle 429 + Retry-After.
      classify: (res) => {
        this.restBucket.observe(res.headers.get('x-shopify-shop-api-call-limit'));
        return undefined;
      },
      describe: (res) =>
        typeof res.body?.errors === 'string' ? { message: res.body.errors } : res.body?.errors ? { message: JSON.stringify(res.body.errors) } : undefined,
    });
    this.http = new HttpClient({
      system: 'shopify',
      baseUrl: opts.baseUrl ?? `https://${opts.shop}`,
      policy: opts.policy,
      // Notes when each answer's headers arrive: the bucket reading is that old, not as old as the
      // moment the whole body has been read and parsed (which would waste restore time per page).
      fetch: (async (input: any, init?: any) => {
        const res = await (opts.fetch ?? fetch)(input, init);
        this.answeredAt = this.governor.time();
        return res;
      }) as typeof fetch,
      headers: () => ({ 'x-shopify-access-token': opts.accessToken }),
      describe: (res) => {
        const e = res.body?.errors;
        if (typeof e === 'string') return { message: e };
        if (Array.isArray(e)) return { message: e.map((x: any) => x.message).join('; '), code: e[0]?.extensions?.code };
        return undefined;
      },
    });
  }

  /**
   * One page of REST `orders.json` (legacy Admin API; GraphQL `ordersPage` is what the poller
   * uses): `updated_at_min` on the first page, then the `page_info` from the previous page's
   * `Link: <…>; rel="next"`. Paced by the shop's request bucket, which every answer's
   * `X-Shopify-Shop-Api-Call-Limit` keeps in step; a 429 waits out its Retry-After.
   */
  async restOrdersPage(opts: {
    updatedAtMin?: string;
    pageInfo?: string;
    limit?: number;
    status?: string;
  }): Promise<{ orders: Array<Record<string, any>>; nextPageInfo?: string }> {
    const query: Record<string, string | number | undefined> = opts.pageInfo
      ? { limit: opts.limit ?? 250, page_info: opts.pageInfo }
      : { limit: opts.limit ?? 250, status: opts.status ?? 'any', updated_at_min: opts.updatedAtMin };
    const res = await this.rest.request({ operation: 'orders.json', method: 'GET', url: `/admin/api/${this.opts.apiVersion}/orders.json`, query });
    const next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '');
    return { orders: res.body?.orders ?? [], nextPageInfo: next ? (new URL(next[1]).searchParams.get('page_info') ?? undefined) : undefined };
  }

  /**
   * Runs one GraphQL operation with cost pacing; rejects with a ConnectorError on GraphQL errors.
   * Waits for the cost bucket are reported as throttling to the caller's observer (its badge).
   */
  async graphql<T = any>(
    operation: string,
    query: string,
    variables: Record<string, unknown> = {},
    options: { maxAttempts?: number } = {},
  ): Promise<GraphQLResult<T>> {
    const throttled = (waitMs: number) => reportCall({ type: 'throttle', system: 'shopify', operation, waitMs });
    const maxThrottle = this.opts.maxThrottleRetries ?? 10;
    for (let throttles = 0; ; throttles++) {
      const cost = this.lastCost.get(operation);
      if (cost !== undefined) await this.governor.reserve(cost, throttled);
      const res = await this.http.request({
        operation,
        method: 'POST',
        url: `/admin/api/${this.opts.apiVersion}/graphql.json`,
        body: { query, variables },
        maxAttempts: options.maxAttempts,
      });
      const body = res.body ?? {};
      const c = body.extensions?.cost;
      if (c) {
        this.governor.observe(c.throttleStatus, this.answeredAt);
        if (typeof c.requestedQueryCost === 'number') this.lastCost.set(operation, c.requestedQueryCost);
      }
      const errors: any[] = Array.isArray(body.errors) ? body.errors : [];
      if (errors.some((e) => e?.extensions?.code === 'THROTTLED')) {
        this.throttled++;
        if (throttles >= maxThrottle) {
          throw new ConnectorError('shopify', operation, 'THROTTLED', {
            status: res.status,
            kind: 'rate-limit',
            retryable: true,
            attempts: throttles + 1,
            providerCode: 'THROTTLED',
            providerMessage: errors[0]?.message,
          });
        }
        // The next loop reserves the requested cost, waiting for the bucket to restore.
        if (c?.throttleStatus) throttled(Math.max(0, ((c.requestedQueryCost - c.throttleStatus.currentlyAvailable) / c.throttleStatus.restoreRate) * 1000));
        continue;
      }
      if (errors.length || body.data === undefined) {
        const message = errors.map((e) => e?.message).join('; ') || 'no data in the answer';
        throw new ConnectorError('shopify', operation, message, {
          status: res.status,
          kind: kindForCode(errors[0]?.extensions?.code) ?? 'value',
          retryable: false,
          providerMessage: message,
          providerCode: errors[0]?.extensions?.code,
          body,
        });
      }
      return { data: body.data, cost: c };
    }
  }

  /** One page of orders updated after `updatedAfter` (ISO), oldest change first. */
  async ordersPage(args: { updatedAfter?: string; after?: string | null; first?: number }) {
    const query = args.updatedAfter ? `updated_at:>'${args.updatedAfter}'` : undefined;
    const { data } = await this.graphql('orders', ORDERS_QUERY, { first: args.first ?? 100, after: args.after ?? null, query });
    const conn = data.orders;
    return {
      orders: (conn.edges ?? []).map((e: any) => e.node) as Record<string, any>[],
      hasNextPage: !!conn.pageInfo?.hasNextPage,
      endCursor: conn.pageInfo?.endCursor ?? null,
    };
  }

  /**
   * Fulfils every open fulfilment order of a Shopify order (id or gid) with optional tracking.
   * Idempotent by state: an order with no open fulfilment order is reported `alreadyFulfilled`.
   */
  async fulfil(orderId: string, tracking: { company?: string; number?: string; url?: string } = {}, notifyCustomer = false) {
    const gid = orderId.startsWith('gid://') ? orderId : `gid://shopify/Order/${orderId}`;
    const { data } = await this.graphql('order.fulfillmentOrders', ORDER_FULFILMENT_QUERY, { id: gid });
    if (!data.order)
      throw new ConnectorError('shopify', 'fulfillmentCreate', `order ${orderId} not found`, { retryable: false, status: 404, providerCode: 'NotFound' });
    const open = (data.order.fulfillmentOrders?.nodes ?? []).filter((f: any) => f.status === 'OPEN' || f.status === 'IN_PROGRESS');
    if (!open.length) return { alreadyFulfilled: true as const, fulfillment: null };
    const fulfillment: Record<string, unknown> = { lineItemsByFulfillmentOrder: open.map((f: any) => ({ fulfillmentOrderId: f.id })), notifyCustomer };
    if (tracking.number) fulfillment.trackingInfo = tracking;
    // One attempt: a lost answer is resolved by looking the state up again, not by re-sending.
    const { data: out } = await this.graphql('fulfillmentCreate', FULFILLMENT_CREATE, { fulfillment }, { maxAttempts: 1 });
    const r = out.fulfillmentCreate;
    if (r.userErrors?.length) throw userErrorsFailure('fulfillmentCreate', r.userErrors);
    return { alreadyFulfilled: false as const, fulfillment: r.fulfillment };
  }

  /**
   * Sends one shipment as a fulfilment of every open fulfilment order of a Shopify order, once:
   * a fulfilment already carrying the tracking number means it was sent before (`already-sent`),
   * an order with nothing open left is `already-fulfilled`. The create is sent once (a lost answer
   * is resolved by looking the order up again, which finds the tracking number).
   */
  async fulfilShipment(orderId: string, tracking: { company?: string; number?: string; url?: string }, notifyCustomer = false) {
    const gid = orderId.startsWith('gid://') ? orderId : `gid://shopify/Order/${orderId}`;
    const { data } = await this.graphql('order.fulfillmentOrders', ORDER_SHIPPING_STATE_QUERY, { id: gid });
    const order = data.order;
    if (!order)
      throw new ConnectorError('shopify', 'fulfillmentCreate', `order ${orderId} not found in the shop`, {
        retryable: false,
        status: 404,
        providerCode: 'NotFound',
      });
    const fulfillments: any[] = order.fulfillments ?? [];
    if (tracking.number) {
      const same = fulfillments.find((f) => (f.trackingInfo ?? []).some((t: any) => t?.number === tracking.number));
      if (same) return { outcome: 'already-sent' as const, fulfillment: same, orderId: gid };
    }
    if (order.cancelledAt)
      throw new ConnectorError('shopify', 'fulfillmentCreate', `order ${orderId} is cancelled and cannot be fulfilled`, {
        retryable: false,
        status: 422,
        providerCode: 'OrderCancelled',
      });
    const open = (order.fulfillmentOrders?.nodes ?? []).filter((f: any) => f.status === 'OPEN' || f.status === 'IN_PROGRESS');
    if (!open.length) return { outcome: 'already-fulfilled' as const, fulfillment: null, orderId: gid };
    const fulfillment: Record<string, unknown> = { lineItemsByFulfillmentOrder: open.map((f: any) => ({ fulfillmentOrderId: f.id })), notifyCustomer };
    if (tracking.number) fulfillment.trackingInfo = Object.fromEntries(Object.entries(tracking).filter(([, v]) => v));
    const { data: out } = await this.graphql('fulfillmentCreate', FULFILLMENT_CREATE, { fulfillment }, { maxAttempts: 1 });
    const r = out.fulfillmentCreate;
    if (r.userErrors?.length) throw userErrorsFailure('fulfillmentCreate', r.userErrors);
    return { outcome: 'sent' as const, fulfillment: r.fulfillment, orderId: gid };
  }

  /** The inventory item of a SKU (exact match), or undefined when the shop has none. */
  async inventoryItemBySku(sku: string): Promise<string | undefined> {
    const { data } = await this.graphql('inventoryItems', INVENTORY_ITEM_BY_SKU, { query: `sku:'${sku.replace(/'/g, "\\'")}'` });
    const hit = (data.inventoryItems?.nodes ?? []).find((n: any) => n?.sku === sku);
    return hit?.id;
  }

  /**
   * One page of inventory items whose SKU is one of `skus` (a `sku:'…' OR …` search), each with its
   * quantities of `names` at the location (`inventoryLevel` null: the item is not stocked there).
   */
  async inventoryLevelsPage(args: { skus: string[]; locationId: string; names: string[]; first: number; after?: string | null }) {
    const query = args.skus.map((sku) => `sku:'${sku.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(' OR ');
    const { data } = await this.graphql('inventoryItems', INVENTORY_LEVELS, {
      first: args.first,
      after: args.after ?? null,
      query,
      locationId: args.locationId,
      names: args.names,
    });
    return data.inventoryItems as unknown;
  }

  /**
   * `inventorySetQuantities` with an idempotency key: a retry with the same key never applies twice.
   * Each quantity names `changeFromQuantity`: the figure expected before the change (compare and
   * swap), or null to set it whatever it is. Mandatory from API 2026-04; for a shop still configured
   * on a version before 2026-01 (which knows only `compareQuantity`/`ignoreCompareQuantity`) the
   * same intent is sent in that older form.
   */
  async setInventory(
    input: {
      name: 'available' | 'on_hand';
      reason: string;
      referenceDocumentUri?: string;
      quantities: Array<{ inventoryItemId: string; locationId: string; quantity: number; changeFromQuantity: number | null }>;
    },
    idempotencyKey: string,
  ) {
    if (!versionAtLeast(this.opts.apiVersion, CHANGE_FROM_QUANTITY_INTRODUCED)) input = legacyCompareInput(input) as typeof input;
    // A key whose earlier attempt failed (nothing applied) is refused from 2026-10: the next key of a
    // fixed chain is used, so a later repeat of the same document walks the same chain to the key that
    // succeeded and gets its replay, never a second apply.
    for (let attempt = 1; ; attempt++) {
      const key = attempt === 1 ? idempotencyKey : `${idempotencyKey}~${attempt}`;
      const { data } = await this.graphql('inventorySetQuantities', INVENTORY_SET, { input, idempotencyKey: key });
      const r = data.inventorySetQuantities;
      const errors: Array<{ code?: string; field?: string[]; message: string }> = r.userErrors ?? [];
      if (attempt < MAX_IDEMPOTENCY_KEYS && errors.length && errors.every((e) => e.code === 'IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED')) continue;
      if (errors.length) throw userErrorsFailure('inventorySetQuantities', errors);
      return r.inventoryAdjustmentGroup;
    }
  }
}

/** Keys of the chain tried for one set before its failure is reported. */
const MAX_IDEMPOTENCY_KEYS = 3;

/** The pre-2026-01 form of a set: `compareQuantity` per quantity, or `ignoreCompareQuantity` when none is compared. */
function legacyCompareInput(input: { quantities: Array<{ changeFromQuantity: number | null } & Record<string, unknown>> } & Record<string, unknown>) {
  const compare = input.quantities.some((q) => q.changeFromQuantity !== null);
  const quantities = input.quantities.map(({ changeFromQuantity, ...q }) => (compare ? { ...q, compareQuantity: changeFromQuantity } : q));
  return compare ? { ...input, quantities } : { ...input, quantities, ignoreCompareQuantity: true };
}

/**
 * A mutation's `userErrors` as one failure: Shopify refused the input (kind `value`, or what the
 * first error's code names). Only a concurrent request with the same idempotency key is worth
 * sending again.
 */
export function userErrorsFailure(operation: string, userErrors: Array<{ code?: string; field?: string[]; message: string }>): ConnectorError {
  const code = userErrors[0]?.code;
  const text = userErrors.map((e) => (e.code ? `${e.code}: ${e.message}` : e.message)).join('; ');
  return new ConnectorError('shopify', operation, text, {
    status: 422,
    kind: kindForCode(code) ?? 'value',
    retryable: code === 'IDEMPOTENCY_CONCURRENT_REQUEST',
    providerCode: code,
    providerMessage: userErrors[0]?.message,
    body: userErrors,
  });
}
