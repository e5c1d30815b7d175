import { AmazonSimulator, QUOTA_EXCEEDED, MARKETPLACES } from '../../simulators/amazon/simulator';
import { toMinor } from '../../nodes/model/money';
import { ManualClock, startSimulator, token, get } from './support';

const clock = new ManualClock();
let sim: AmazonSimulator;
beforeAll(async () => {
  sim = await startSimulator({ orders: 120, now: clock.now, itemsPageSize: 2 });
});
afterAll(() => sim.stop());
beforeEach(() => sim.reset());

const US = 'ATVPDKIKX0DER';
const ALL = MARKETPLACES.map((m) => m.id).join(',');

describe('LWA token endpoint', () => {
  it('exchanges a refresh token (form or JSON) for a one-hour access token', async () => {
    const form = await fetch(sim.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(sim.refreshToken)}&client_id=${sim.clientId}&client_secret=${sim.clientSecret}`,
    });
    expect(form.status).toBe(200);
    expect(await form.json()).toEqual({
      access_token: expect.stringMatching(/^Atza\|/),
      refresh_token: sim.refreshToken,
      token_type: 'bearer',
      expires_in: 3600,
    });
    const json = await fetch(sim.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: sim.refreshToken, client_id: sim.clientId, client_secret: sim.clientSecret }),
    });
    expect(json.status).toBe(200);
  });

  it.each([
    [{ grant_type: 'refresh_token', refresh_token: 'nope' }, 400, 'invalid_grant'],
    [{ grant_type: 'client_credentials' }, 400, 'unsupported_grant_type'],
    [{ grant_type: 'refresh_token', client_secret: 'wrong' }, 401, 'invalid_client'],
    [{ grant_type: '' }, 400, 'invalid_request'],
  ])('refuses %j with {error, error_description}', async (override, status, error) => {
    const body = new URLSearchParams(
      Object.assign({ grant_type: 'refresh_token', refresh_token: sim.refreshToken, client_id: sim.clientId, client_secret: sim.clientSecret }, override),
    );
    const res = await fetch(sim.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString() });
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ error, error_description: expect.any(String) });
  });
});

describe('SP-API auth', () => {
  it('needs x-amz-access-token; an expired token is 403 Unauthorized', async () => {
    const q = `/orders/v0/orders?MarketplaceIds=${US}&CreatedAfter=2025-01-01T00:00:00Z`;
    const none = await get(sim, q);
    expect(none.status).toBe(403);
    expect(none.body.errors[0]).toMatchObject({ code: 'Unauthorized' });
    expect(none.headers.get('x-amzn-requestid')).toBeTruthy();
    const t = await token(sim);
    expect((await get(sim, q, t)).status).toBe(200);
    clock.advance(3600_000);
    const expired = await get(sim, q, t);
    expect(expired.status).toBe(403);
    expect(expired.body.errors[0].details).toMatch(/expired/);
  });
});

describe('getOrders', () => {
  it('validates its parameters with 400 InvalidInput (and the rate header)', async () => {
    const t = await token(sim);
    const cases = [
      `CreatedAfter=2025-01-01T00:00:00Z`,
      `MarketplaceIds=${US}`,
      `MarketplaceIds=${US}&CreatedAfter=2025-01-01T00:00:00Z&LastUpdatedAfter=2025-01-01T00:00:00Z`,
      `MarketplaceIds=${US}&CreatedAfter=2025-01-01T00:00:00Z&CreatedBefore=${new Date(clock.t - 60_000).toISOString()}`,
      `MarketplaceIds=${US}&CreatedAfter=2025-01-01T00:00:00Z&MaxResultsPerPage=101`,
      `MarketplaceIds=${US}&CreatedAfter=2025-01-01T00:00:00Z&OrderStatuses=Lost`,
    ];
    for (const c of cases) {
      const res = await get(sim, `/orders/v0/orders?${c}`, t);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ errors: [{ code: 'InvalidInput', message: expect.any(String), details: '' }] });
      expect(res.headers.get('x-amzn-ratelimit-limit')).toBe('0.0167');
    }
  });

  it('pages with NextToken alone, in order, every matching order once; money as strings', async () => {
    const t = await token(sim);
    const seen: any[] = [];
    let res = await get(sim, `/orders/v0/orders?MarketplaceIds=${ALL}&CreatedAfter=2025-01-01T00:00:00Z&MaxResultsPerPage=7`, t);
    expect(res.body.payload.CreatedBefore).toBe(new Date(clock.t - 120_000).toISOString().replace('.000', ''));
    for (;;) {
      expect(res.status).toBe(200);
      expect(res.body.payload.Orders.length).toBeLessThanOrEqual(7);
      seen.push(...res.body.payload.Orders);
      const next = res.body.payload.NextToken;
      if (!next) break;
      res = await get(sim, `/orders/v0/orders?NextToken=${encodeURIComponent(next)}`, t);
    }
    expect(seen.map((o) => o.AmazonOrderId)).toEqual(sim.orderIds());
    const priced = seen.find((o) => o.OrderStatus !== 'Pending');
    expect(typeof priced.OrderTotal.Amount).toBe('string');
    const jp = seen.find((o) => o.MarketplaceId === 'A1VC38T7YXB528' && o.OrderTotal);
    expect(jp.OrderTotal.Amount).toMatch(/^\d+$/);
  });

  it('filters by OrderStatuses and LastUpdatedAfter', async () => {
    const t = await token(sim);
    const res = await get(sim, `/orders/v0/orders?MarketplaceIds=${ALL}&LastUpdatedAfter=2025-01-01T00:00:00Z&OrderStatuses=Pending`, t);
    expect(res.body.payload.Orders.length).toBe(6);
    expect(res.body.payload.LastUpdatedBefore).toBeDefined();
    for (const o of res.body.payload.Orders) {
      expect(o.OrderStatus).toBe('Pending');
      expect(o.OrderTotal).toBeUndefined();
    }
    const released = sim.releasePending(res.body.payload.Orders[0].AmazonOrderId);
    clock.advance(180_000);
    const later = await get(sim, `/orders/v0/orders?MarketplaceIds=${ALL}&LastUpdatedAfter=${new Date(clock.t - 300_000).toISOString()}`, t);
    expect(later.body.payload.Orders.map((o: any) => o.AmazonOrderId)).toEqual(released);
    expect(later.body.payload.Orders[0]).toMatchObject({ OrderStatus: 'Unshipped', OrderTotal: expect.any(Object) });
  });
});

describe('getOrderItems', () => {
  it('pages items; ItemPrice is the line total; Pending items have no prices until priced', async () => {
    const t = await token(sim);
    const big = sim.orderIds()[0]; // order 0 has 4+ items
    const first = await get(sim, `/orders/v0/orders/${big}/orderItems`, t);
    expect(first.body.payload.OrderItems).toHaveLength(2);
    const all = [...first.body.payload.OrderItems];
    let next = first.body.payload.NextToken;
    while (next) {
      const page = await get(sim, `/orders/v0/orders/${big}/orderItems?NextToken=${encodeURIComponent(next)}`, t);
      all.push(...page.body.payload.OrderItems);
      next = page.body.payload.NextToken;
    }
    expect(all).toEqual(sim.items(big));
    expect(all.length).toBeGreaterThan(3);
    for (const it of all) {
      const cur = it.ItemPrice.CurrencyCode;
      expect(toMinor(it.ItemPrice.Amount, cur) % it.QuantityOrdered).toBe(0);
    }
    const pending = sim.orderIds()[19];
    expect(sim.order(pending)!.OrderStatus).toBe('Pending');
    const items = (await get(sim, `/orders/v0/orders/${pending}/orderItems`, t)).body.payload.OrderItems;
    for (const it of items) for (const f of ['ItemPrice', 'ItemTax', 'PromotionDiscount', 'ShippingPrice']) expect(it[f]).toBeUndefined();
    sim.releasePending(pending);
    const priced = (await get(sim, `/orders/v0/orders/${pending}/orderItems`, t)).body.payload.OrderItems;
    expect(priced[0].ItemPrice).toEqual({ CurrencyCode: expect.any(String), Amount: expect.any(String) });
    expect((await get(sim, `/orders/v0/orders/999-0000000-0000000/orderItems`, t)).status).toBe(404);
  });
});

describe('throttling', () => {
  it('token bucket per operation: burst, then 429 QuotaExceeded with only x-amzn-RequestId; rate header on successes', async () => {
    const t = await token(sim);
    const q = `/orders/v0/orders?MarketplaceIds=${US}&CreatedAfter=2025-01-01T00:00:00Z&MaxResultsPerPage=1`;
    for (let i = 0; i < 20; i++) {
      const ok = await get(sim, q, t);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-amzn-ratelimit-limit')).toBe('0.0167');
    }
    const throttled = await get(sim, q, t);
    expect(throttled.status).toBe(429);
    expect(throttled.body).toEqual(QUOTA_EXCEEDED);
    expect(throttled.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(throttled.headers.get('x-amzn-ratelimit-limit')).toBeNull();
    expect(throttled.headers.get('retry-after')).toBeNull();
    // another operation has its own bucket
    expect((await get(sim, `/orders/v0/orders/${sim.orderIds()[0]}/orderItems`, t)).status).toBe(200);
    expect(sim.stats.getOrders).toEqual({ requests: 21, ok: 20, throttled: 1 });
  });

  it('refills at the published rate times the multiplier', async () => {
    const fast = await startSimulator({ orders: 5, now: clock.now, rateMultiplier: 100, usagePlans: { getOrder: { rate: 0.5, burst: 2 } } });
    try {
      const t = await token(fast);
      const id = fast.orderIds()[0];
      expect((await get(fast, `/orders/v0/orders/${id}`, t)).headers.get('x-amzn-ratelimit-limit')).toBe('50');
      expect((await get(fast, `/orders/v0/orders/${id}`, t)).status).toBe(200);
      expect((await get(fast, `/orders/v0/orders/${id}`, t)).status).toBe(429);
      const start = performance.now();
      let status = 429;
      while (status === 429) status = (await get(fast, `/orders/v0/orders/${id}`, t)).status;
      expect(performance.now() - start).toBeLessThan(200); // one token at 50/s is 20 ms
    } finally {
      await fast.stop();
    }
  });
});

describe('writes', () => {
  async function send(method: string, path: string, body: unknown) {
    const t = await token(sim);
    const res = await fetch(sim.url + path, { method, headers: { 'x-amz-access-token': t, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  it('confirmShipment ships the items, 204, and the same package again changes nothing', async () => {
    const id = sim.orderIds().find((x) => sim.order(x)!.OrderStatus === 'Unshipped')!;
    const items = sim.items(id);
    const body = {
      marketplaceId: sim.order(id)!.MarketplaceId,
      packageDetail: {
        packageReferenceId: 'PKG-1',
        carrierCode: 'UPS',
        trackingNumber: '1Z999',
        shipDate: '2025-04-01T10:00:00Z',
        orderItems: items.map((it) => ({ orderItemId: it.OrderItemId, quantity: it.QuantityOrdered })),
      },
    };
    expect((await send('POST', `/orders/v0/orders/${id}/shipmentConfirmation`, body)).status).toBe(204);
    expect(sim.order(id)!.OrderStatus).toBe('Shipped');
    const updated = sim.order(id)!.LastUpdateDate;
    expect((await send('POST', `/orders/v0/orders/${id}/shipmentConfirmation`, body)).status).toBe(204);
    expect(sim.order(id)!.LastUpdateDate).toBe(updated);
    expect(sim.packages(id)).toEqual({ 'PKG-1': '1Z999' });
    const again = await send('POST', `/orders/v0/orders/${id}/shipmentConfirmation`, {
      ...body,
      packageDetail: { ...body.packageDetail, packageReferenceId: 'PKG-2' },
    });
    expect(again.status).toBe(400);
    expect(again.body.errors[0].code).toBe('InvalidInput');
  });

  it('patchListingsItem sets fulfillment_availability (idempotent); VALIDATION_PREVIEW changes nothing', async () => {
    const path = `/listings/2021-08-01/items/${sim.sellerId}/SKU-0001?marketplaceIds=${US}`;
    const patch = (quantity: unknown) => ({
      productType: 'PRODUCT',
      patches: [{ op: 'replace', path: '/attributes/fulfillment_availability', value: [{ fulfillment_channel_code: 'DEFAULT', quantity }] }],
    });
    const preview = await send('PATCH', `${path}&mode=VALIDATION_PREVIEW`, patch(4));
    expect(preview.body).toMatchObject({ sku: 'SKU-0001', status: 'VALID', issues: [] });
    expect(sim.listing('SKU-0001', US)).toBeUndefined();
    const invalid = await send('PATCH', `${path}&mode=VALIDATION_PREVIEW`, patch(-1));
    expect(invalid.body).toMatchObject({ status: 'INVALID', issues: [expect.objectContaining({ severity: 'ERROR' })] });
    for (let i = 0; i < 2; i++) {
      const res = await send('PATCH', path, patch(7));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ sku: 'SKU-0001', status: 'ACCEPTED', submissionId: expect.any(String), issues: [] });
    }
    expect(sim.listing('SKU-0001', US)).toBe(7);
    expect((await send('PATCH', path, { patches: [] })).status).toBe(400);
  });
});
