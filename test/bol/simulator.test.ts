/**
 * The simulator follows the contract in docs/connectors/bol-contract.md, and the client keeps to
 * it: client-credentials tokens, the v10 media type, paging until an empty page, problem bodies,
 * per-group limits with x-ratelimit-* headers and 429 + Retry-After.
 */
import { BolSimulator, MEDIA_TYPE, PROBLEM_TYPE, PAGE_SIZE } from '../../simulators/bol/simulator';
import { observeCalls, type CallEvent } from '../../nodes/runtime/call-observer';
import { ConnectorError } from '../../nodes/runtime/http';
import { ManualClock, clientFor, get, startSimulator, token } from './support';

const clock = new ManualClock(Date.parse('2026-11-27T00:00:00Z'));
let sim: BolSimulator;
beforeAll(async () => {
  sim = await startSimulator({
    orders: 130,
    now: clock.now,
    epoch: '2026-11-20T00:00:00Z',
    orderSpacingMs: 1000,
    limits: { 'orders:get': { limit: 3, windowSeconds: 1 } },
  });
});
afterAll(() => sim.stop());
beforeEach(() => sim.reset());

describe('bol simulator: auth', () => {
  it('issues a Bearer token for HTTP Basic client credentials, 299 s, scope RETAILER', async () => {
    const basic = Buffer.from(`${sim.clientId}:${sim.clientSecret}`).toString('base64');
    const ok = await fetch(`${sim.tokenUrl}?grant_type=client_credentials`, { method: 'POST', headers: { authorization: `Basic ${basic}` } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 299, scope: 'RETAILER' });
    const bad = await fetch(`${sim.tokenUrl}?grant_type=client_credentials`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${sim.clientId}:nope`).toString('base64')}` },
    });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ error: 'invalid_client' });
    const grant = await fetch(`${sim.tokenUrl}?grant_type=password`, { method: 'POST', headers: { authorization: `Basic ${basic}` } });
    expect(grant.status).toBe(400);
  });

  it('401 problem without, with an unknown or an expired token; 406 without the v10 media type', async () => {
    const none = await get(sim, '/retailer/orders');
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toBe(PROBLEM_TYPE);
    expect(none.body).toMatchObject({ title: 'Unauthorized', status: 401, detail: expect.any(String) });
    expect((await get(sim, '/retailer/orders', 'made-up')).status).toBe(401);
    const t = await token(sim);
    expect((await get(sim, '/retailer/orders', t, 'application/json')).status).toBe(406);
    const ok = await get(sim, '/retailer/orders?status=ALL&fulfilment-method=ALL', t);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe(MEDIA_TYPE);
    clock.advance(300_000);
    const expired = await get(sim, '/retailer/orders', t);
    expect(expired.status).toBe(401);
    expect(expired.body.detail).toMatch(/expired/);
  });
});

describe('bol simulator: orders', () => {
  it('pages 50 orders per page, newest placed first, until an empty page ({}); filters by latest-change-date', async () => {
    const t = await token(sim);
    const ids: string[] = [];
    let pages = 0;
    for (let page = 1; ; page++) {
      const res = await get(sim, `/retailer/orders?page=${page}&status=ALL&fulfilment-method=ALL&latest-change-date=2026-11-20`, t);
      expect(res.status).toBe(200);
      pages++;
      if (!res.body.orders) {
        expect(res.body).toEqual({});
        break;
      }
      expect(res.body.orders.length).toBeLessThanOrEqual(PAGE_SIZE);
      ids.push(...res.body.orders.map((o: any) => o.orderId));
    }
    expect(pages).toBe(Math.ceil(130 / PAGE_SIZE) + 1);
    expect(new Set(ids).size).toBe(130);
    expect(ids).toEqual([...ids].sort().reverse());
    const other = await get(sim, '/retailer/orders?status=ALL&fulfilment-method=ALL&latest-change-date=2026-11-21', t);
    expect(other.body).toEqual({});
    const reduced = (await get(sim, '/retailer/orders?status=ALL&fulfilment-method=ALL&latest-change-date=2026-11-20', t)).body.orders[0];
    expect(reduced).toEqual({ orderId: expect.any(String), orderPlacedDateTime: expect.any(String), orderItems: expect.any(Array) });
    expect(reduced.orderItems[0]).toMatchObject({
      orderItemId: expect.any(String),
      ean: expect.any(String),
      fulfilmentMethod: expect.stringMatching(/^FB[RB]$/),
      quantity: expect.any(Number),
      latestChangedDateTime: expect.any(String),
    });
  });

  it('default filters are FBR and OPEN; bad parameters are a 400 problem with violations', async () => {
    const t = await token(sim);
    const open = await get(sim, '/retailer/orders?latest-change-date=2026-11-20', t);
    for (const o of open.body.orders) {
      expect(o.orderItems.every((it: any) => it.fulfilmentMethod === 'FBR')).toBe(true);
      expect(o.orderItems.some((it: any) => it.fulfilmentStatus === 'OPEN')).toBe(true);
    }
    const bad = await get(sim, '/retailer/orders?page=0&status=DONE&latest-change-date=20-11-2026&change-interval-minute=90', t);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe(PROBLEM_TYPE);
    expect(bad.body.violations.map((v: any) => v.name).sort()).toEqual(['change-interval-minute', 'latest-change-date', 'page', 'status']);
    const old = await get(sim, '/retailer/orders?latest-change-date=2026-01-01', t);
    expect(old.body.violations[0].reason).toMatch(/three months/);
  });

  it('GET /retailer/orders/{id}: items with unitPrice as a JSON number, offer, product, fulfilment; 404 problem', async () => {
    const t = await token(sim);
    const id = sim.orderIds()[3];
    const res = await get(sim, `/retailer/orders/${id}`, t);
    expect(res.status).toBe(200);
    expect(res.body.orderId).toBe(id);
    const it = res.body.orderItems[0];
    expect(typeof it.unitPrice).toBe('number');
    expect(it).toMatchObject({
      offer: { offerId: expect.any(String), reference: expect.stringMatching(/^SKU-/) },
      product: { ean: expect.any(String) },
      fulfilment: { method: expect.any(String) },
    });
    expect(res.body.currency).toBeUndefined();
    const missing = await get(sim, '/retailer/orders/999', t);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ status: 404, title: 'Not Found' });
  });
});

describe('bol simulator: rate limits', () => {
  it('x-ratelimit-* headers on every limited answer; an empty bucket is 429 with Retry-After and a problem', async () => {
    const t = await token(sim);
    const id = sim.orderIds()[0];
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await get(sim, `/retailer/orders/${id}`, t));
    expect(answers.slice(0, 3).map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers[0].headers.get('x-ratelimit-limit')).toBe('3');
    expect(answers[2].headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(answers[2].headers.get('x-ratelimit-reset'))).toBeGreaterThanOrEqual(1);
    const throttled = answers[3];
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('1');
    expect(throttled.headers.get('content-type')).toBe(PROBLEM_TYPE);
    expect(throttled.body).toMatchObject({ status: 429, title: 'Too Many Requests' });
    // Other groups have their own bucket.
    expect((await get(sim, '/retailer/orders?status=ALL&fulfilment-method=ALL', t)).status).toBe(200);
    expect(sim.stats['orders:get']).toEqual({ requests: 4, ok: 3, throttled: 1 });
  });
});

describe('bol client against the simulator', () => {
  it('refreshes the token before it expires, and again after a 401 (expired token)', async () => {
    const client = clientFor(sim, { limits: { 'orders:get': { limit: 3, windowSeconds: 1 } } });
    const id = sim.orderIds()[0];
    await client.getOrder(id);
    expect(client.tokens.refreshes).toBe(1);
    clock.advance(268_000);
    await client.listOrders({ status: 'ALL', fulfilmentMethod: 'ALL' });
    expect(client.tokens.refreshes).toBe(1);
    clock.advance(2_000); // 30 s before expiry: a new token before the old one is refused
    await client.listOrders({ status: 'ALL', fulfilmentMethod: 'ALL' });
    expect(client.tokens.refreshes).toBe(2);
    sim.expireTokens();
    await client.listOrders({ status: 'ALL', fulfilmentMethod: 'ALL' });
    expect(client.tokens.refreshes).toBe(3);
  });

  it('bad client credentials are a permanent error naming invalid_client', async () => {
    const client = clientFor(sim, { credentials: { clientId: sim.clientId, clientSecret: 'wrong' } });
    const err: ConnectorError = await client.listOrders().catch((e) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.message).toMatch(/bol token: HTTP 401: invalid_client/);
    expect(err.retryable).toBe(false);
  });

  it('a 429 is waited out for exactly Retry-After, then the call succeeds', async () => {
    // The client believes in a higher limit than the simulator applies: it meets one 429.
    const client = clientFor(sim, { limits: { 'orders:get': { limit: 10, windowSeconds: 1 } } });
    const id = sim.orderIds()[0];
    const retries: CallEvent[] = [];
    const client2 = clientFor(sim, { limits: { 'orders:get': { limit: 10, windowSeconds: 1 } } });
    await observeCalls(
      (e) => retries.push(e),
      async () => {
        for (let i = 0; i < 4; i++) expect((await client2.getOrder(id)).orderId).toBe(id);
      },
    );
    expect(client2.throttled['orders:get']).toBe(1);
    expect(sim.stats['orders:get']).toEqual({ requests: 5, ok: 4, throttled: 1 });
    // The wait is the simulator's Retry-After (1 s), not a guess.
    expect(retries).toEqual([{ type: 'throttle', system: 'bol', operation: 'orders:get', attempt: 1, waitMs: 1000, kind: 'rate-limit', status: 429 }]);
    expect(client.throttled['orders:get']).toBeUndefined();
  });

  it('a 400 problem is a permanent error with the violations in its message', async () => {
    const client = clientFor(sim);
    const err: ConnectorError = await client.listOrders({ latestChangeDate: 'yesterday' }).catch((e) => e);
    expect(err.retryable).toBe(false);
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/latest-change-date: Must be a date/);
  });

  it('ships order items: 202 with a process status, then SUCCESS; over-shipping is a FAILURE', async () => {
    const client = clientFor(sim);
    const id = sim.orderIds().find((x) => sim.order(x)!.orderItems.every((it: any) => it.quantityShipped === 0 && it.quantityCancelled === 0))!;
    const item = sim.order(id)!.orderItems[0];
    const queued = await client.createShipment({
      orderItems: [{ orderItemId: item.orderItemId, quantity: item.quantity }],
      shipmentReference: 'WH/OUT/1',
      transport: { transporterCode: 'TNT', trackAndTrace: '3SABC' },
    });
    expect(queued).toMatchObject({ eventType: 'CREATE_SHIPMENT', status: 'PENDING' });
    expect(await client.getProcessStatus(queued.processStatusId)).toMatchObject({ status: 'SUCCESS' });
    expect(sim.order(id)!.orderItems[0].quantityShipped).toBe(item.quantity);
    const again = await client.createShipment({ orderItems: [{ orderItemId: item.orderItemId, quantity: 1 }] });
    expect(await client.getProcessStatus(again.processStatusId)).toMatchObject({ status: 'FAILURE', errorMessage: expect.any(String) });
  });
});
