/**
 * BusinessCentralClient against the simulator: paging, OData quoting, auth (static and client
 * credentials with cached, refreshed tokens), error classification, etag conflicts, throttling.
 */
import { ConnectorError, TokenBucket } from '../../nodes/runtime/http';
import { Limiter } from '../../nodes/runtime/limiter';
import { BusinessCentralClient, classifyBc } from '../../nodes/business-central/client';
import { observeCalls, type CallEvent } from '../../nodes/runtime/call-observer';
import { anyOf, quote } from '../../nodes/business-central/odata';
import { BusinessCentralSimulator } from '../../simulators/business-central/simulator';
import { api, clientFor, startSimulator } from './helpers';

let sim: BusinessCentralSimulator;
afterEach(async () => {
  await sim?.close();
});

describe('BusinessCentralClient', () => {
  it('lists a collection page by page, following @odata.nextLink with Prefer: odata.maxpagesize', async () => {
    sim = await startSimulator();
    const client = clientFor(sim, { pageSize: 50 });
    const items = await client.list('items', { $filter: "startswith(number,'SKU-')", $select: ['number', 'inventory'], $orderby: 'number desc' });
    expect(items).toHaveLength(500);
    expect(items[0].number).toBe('SKU-0500');
    expect(new Set(items.map((i) => i.number)).size).toBe(500);
    expect(sim.state().requests.byStatus['200']).toBe(10);
  });

  it('quotes OData string literals', async () => {
    expect(quote("O'Brien")).toBe("'O''Brien'");
    expect(anyOf('number', ['A', "B'C"])).toBe("number eq 'A' or number eq 'B''C'");
    sim = await startSimulator({ items: [{ number: "QUOTE'S", inventory: 3 }] });
    const found = await clientFor(sim).findItems(["QUOTE'S", 'SKU-0001', 'MISSING']);
    expect([...found.keys()].sort()).toEqual(["QUOTE'S", 'SKU-0001']);
    expect(found.get("QUOTE'S")!.inventory).toBe(3);
  });

  it('caches found items for a while (orders), but not for inventory reads', async () => {
    let t = 1_000_000;
    sim = await startSimulator();
    const client = clientFor(sim, { itemCacheMs: 1000, now: () => t });
    await client.findItems(['SKU-0001', 'SKU-0002']);
    await client.findItems(['SKU-0001', 'SKU-0002']);
    expect(sim.state().requests.total).toBe(1);
    await client.findItems(['SKU-0001'], { fresh: true });
    expect(sim.state().requests.total).toBe(2);
    t += 1001;
    await client.findItems(['SKU-0001']);
    expect(sim.state().requests.total).toBe(3);
  });

  it('client credentials: one token for many calls, fetched once by concurrent callers, refreshed before it expires, refreshed once on 401', async () => {
    sim = await startSimulator({ tokenTtlSeconds: 3600 });
    let tokenCalls = 0;
    let t = Date.now();
    const counting: typeof fetch = (input, init) => {
      if (String(input).includes('/oauth2/')) tokenCalls++;
      return fetch(input, init);
    };
    const client = new BusinessCentralClient({
      baseUrl: sim.baseUrl,
      tenant: sim.tenant,
      environment: sim.environment,
      companyId: sim.companyId,
      auth: {
        mode: 'client-credentials',
        tokenUrl: `${sim.url}/{tenant}/oauth2/v2.0/token`,
        clientId: 'tillwire-demo-client',
        clientSecret: 'tillwire-demo-secret',
      },
      fetch: counting,
      now: () => t,
      policy: { baseDelayMs: 1, maxDelayMs: 5 },
    });
    await Promise.all([1, 2, 3, 4].map((n) => client.findItems([`SKU-000${n}`])));
    expect(tokenCalls).toBe(1);
    t += 3000 * 1000; // 50 minutes: still valid
    await client.findItems(['SKU-0005']);
    expect(tokenCalls).toBe(1);
    t += 590 * 1000; // within a minute of expiry: refreshed first
    await client.findItems(['SKU-0006']);
    expect(tokenCalls).toBe(2);
    sim.reset(); // the simulator forgets issued tokens (a revoked token)
    await client.findItems(['SKU-0007']);
    expect(tokenCalls).toBe(3);
  });

  it('a wrong client secret is a permanent error naming the token endpoint’s reason', async () => {
    sim = await startSimulator();
    const client = new BusinessCentralClient({
      baseUrl: sim.baseUrl,
      tenant: sim.tenant,
      environment: sim.environment,
      companyId: sim.companyId,
      auth: { mode: 'client-credentials', tokenUrl: sim.tokenUrl, clientId: 'tillwire-demo-client', clientSecret: 'wrong' },
      policy: { baseDelayMs: 1, maxDelayMs: 5 },
    });
    const err: ConnectorError = await client.findItems(['SKU-0001']).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.retryable).toBe(false);
    expect(err.cause).toMatchObject({ system: 'business-central', operation: 'get access token', kind: 'auth', status: 401, retryable: false, attempts: 1 });
    expect(err.details.providerMessage).toMatch(/Invalid client secret provided/);
  });

  it('classifies BC statuses: 429/503/408/504/500 retryable (Retry-After honoured, cool-off for a bare 429), 400/401/403/404/409/412 permanent', () => {
    const res = (status: number, headers: Record<string, string> = {}, body: unknown = { error: { code: 'X_Code', message: 'text' } }) => ({
      status,
      headers: new Headers(headers),
      body,
    });
    const c = classifyBc(1500);
    expect(c(res(429))).toMatchObject({ ok: false, retryable: true, retryAfterMs: 1500, code: 'X_Code', message: 'text' });
    expect(c(res(429, { 'retry-after': '3' }))).toMatchObject({ retryable: true, retryAfterMs: 3000 });
    expect(c(res(503, { 'retry-after': '2' }))).toMatchObject({ retryable: true, retryAfterMs: 2000 });
    for (const s of [408, 500, 502, 504]) expect(c(res(s)).retryable).toBe(true);
    for (const s of [400, 401, 403, 404, 405, 409, 412, 413]) expect(c(res(s)).retryable).toBe(false);
    expect(c(res(201))).toEqual({ ok: true });
  });

  it('a permanent BC error carries status, code and message, and is not retried', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const err: ConnectorError = await client.list('items', { $filter: "colour eq 'red'" }).catch((e) => e);
    expect(err.details).toMatchObject({ status: 400, retryable: false, providerCode: 'BadRequest', attempts: 1 });
    expect(err.message).toMatch(/^business-central list items: HTTP 400: Could not find a property named 'colour'/);
    expect(sim.state().requests.total).toBe(1);
    const nf: ConnectorError = await client.get('salesOrders(11111111-2222-3333-4444-555555555555)').catch((e) => e);
    expect(nf.details).toMatchObject({ status: 404, retryable: false });
  });

  it('update: a stale etag (409 Request_EntityChanged) is re-read and the change applied once more with the fresh etag', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const created = await client.createSalesOrder({
      externalDocumentNumber: 'U-1',
      customerNumber: '10000',
      salesOrderLines: [{ lineType: 'Item', lineObjectNumber: 'SKU-0001', quantity: 1, unitPrice: 5 }],
    });
    // someone else changes the order after we read it
    await api(sim, 'PATCH', `salesOrders(${created.id})`, { body: { email: 'other@example.com' }, headers: { 'if-match': created['@odata.etag']! } });
    const retries: CallEvent[] = [];
    const updated = await observeCalls(
      (e) => retries.push(e),
      () => client.update(`salesOrders(${created.id})`, { phoneNumber: '+44 20 7946 0000' }, created['@odata.etag']),
    );
    expect(updated).toMatchObject({ email: 'other@example.com', phoneNumber: '+44 20 7946 0000' });
    expect(retries).toEqual([expect.objectContaining({ type: 'retry', system: 'business-central', kind: 'conflict', status: 409 })]);
    expect(sim.state().requests.byStatus['409']).toBe(1);
  });

  it('throttling: 429s from the sliding window and the concurrency queue are waited out; every call lands', async () => {
    sim = await startSimulator({ latencyMs: 2, throttle: { maxRequests: 30, windowMs: 200, maxConcurrent: 2, maxQueue: 2 } });
    const retries: CallEvent[] = [];
    const client = clientFor(sim, {
      limiter: new Limiter(8),
      governor: new TokenBucket(1000, 50),
      throttleCooloffMs: 40,
      policy: { maxAttempts: 30, baseDelayMs: 5, maxDelayMs: 100, timeoutMs: 5000 },
    });
    const results = await observeCalls(
      (e) => retries.push(e),
      () => Promise.all(Array.from({ length: 90 }, (_, i) => client.findItems([`SKU-${String(i + 1).padStart(4, '0')}`], { fresh: true }))),
    );
    expect(results.every((m) => m.size === 1)).toBe(true);
    const state = sim.state();
    expect(state.requests.throttled).toBeGreaterThan(0);
    expect(retries.length).toBe(state.requests.throttled);
    expect(retries.every((e) => e.type === 'throttle' && e.kind === 'rate-limit' && (e.status === 429 || e.status === 503))).toBe(true);
    expect(state.requests.byStatus['200']).toBe(90);
  });

  it('close() ends backoff waits at once with a retryable error', async () => {
    sim = await startSimulator({ faults: { errorRate: 1, errorStatuses: [503] }, throttle: { retryAfterSeconds: 30 } });
    const client = clientFor(sim, { policy: { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 60_000, timeoutMs: 1000 } });
    const pending = client.findItems(['SKU-0001']).catch((e) => e);
    const started = Date.now();
    while (sim.state().requests.total === 0) await new Promise((r) => setImmediate(r));
    client.close();
    const err: ConnectorError = await pending;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/closed/);
  });

  it('close() ends the calls still waiting for a slot or out of a 429 pause: nothing is sent after it', async () => {
    sim = await startSimulator();
    const governor = new TokenBucket(100, 1, Date.now, (ms) => new Promise((r) => setTimeout(r, ms).unref()));
    const limiter = new Limiter(1);
    const client = clientFor(sim, { governor, limiter });
    governor.penalise(90_000); // BC answered 429 with Retry-After: 90
    const paused = client.findItems(['SKU-0001']).catch((e) => e);
    const queued = client.findItems(['SKU-0002']).catch((e) => e);
    await new Promise((r) => setImmediate(r));
    expect(limiter.pending).toBe(1);
    client.close();
    for (const err of [await paused, await queued]) {
      expect((err as ConnectorError).cause).toMatchObject({ kind: 'stopped' });
      expect((err as Error).message).toMatch(/closed/);
    }
    expect(sim.state().requests.total).toBe(0);
  });
});
