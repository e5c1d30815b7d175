/**
 * OAuthTokenSource (nodes/runtime/oauth-token.ts) on its own, with a controllable clock and a
 * token endpoint stand-in: caching until `refreshBeforeMs` before expiry, one exchange for many
 * concurrent callers, a refusal surfaced with the provider's words and no secret, and (through the
 * bol.com client against a local HTTP server) a 401 from the API answered by a new token.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OAuthTokenSource, type OAuthTokenOptions } from '../../nodes/runtime/oauth-token';
import { ConnectorError } from '../../nodes/runtime/http';
import { BolClient } from '../../nodes/bol/client';
import { BcTokenSource } from '../../nodes/business-central/client';

const SECRET = 'client-secret-do-not-leak';
const REFRESH = 'Atzr|refresh-token-do-not-leak';

type Answer = { status: number; body: string } | Error;

/** A token endpoint answering from a script, one answer per request (the last one repeats). */
function endpoint(...answers: Answer[]) {
  const calls: number[] = [];
  let gate: Promise<void> | undefined;
  const fetchFn = (async () => {
    calls.push(calls.length);
    if (gate) await gate;
    const a = answers[Math.min(calls.length - 1, answers.length - 1)];
    if (a instanceof Error) throw a;
    return new Response(a.body, { status: a.status, headers: { 'content-type': 'application/json' } });
  }) as unknown as typeof fetch;
  return {
    calls,
    fetchFn,
    /** Holds every answer until the returned function is called. */
    hold(): () => void {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

const token = (value: string, expiresIn?: number) => ({
  status: 200,
  body: JSON.stringify({ access_token: value, token_type: 'bearer', ...(expiresIn !== undefined ? { expires_in: expiresIn } : {}) }),
});

function source(fetchFn: typeof fetch, clock: { t: number }, extra: Partial<OAuthTokenOptions> = {}) {
  return new OAuthTokenSource({
    system: 'test',
    operation: 'token',
    request: () => ({ url: 'https://auth.example/token', init: { method: 'POST', body: `client_secret=${SECRET}&refresh_token=${REFRESH}` } }),
    defaultLifetimeSeconds: 3600,
    refreshBeforeMs: 30_000,
    now: () => clock.t,
    fetch: fetchFn,
    ...extra,
  });
}

describe('OAuthTokenSource', () => {
  it('keeps a token until refreshBeforeMs before it expires, then fetches a new one', async () => {
    const ep = endpoint(token('t1', 299), token('t2', 299));
    const clock = { t: 1_000_000 };
    const tokens = source(ep.fetchFn, clock);
    await expect(tokens.get()).resolves.toBe('t1');
    clock.t += 299_000 - 30_000 - 1; // 1 ms before the refresh point
    await expect(tokens.get()).resolves.toBe('t1');
    expect(ep.calls).toHaveLength(1);
    clock.t += 1; // at the refresh point: 30 s before expiry
    await expect(tokens.get()).resolves.toBe('t2');
    expect(ep.calls).toHaveLength(2);
    expect(tokens.refreshes).toBe(2);
  });

  it('assumes the default lifetime when the answer has no expires_in', async () => {
    const ep = endpoint(token('t1'), token('t2'));
    const clock = { t: 0 };
    const tokens = source(ep.fetchFn, clock, { defaultLifetimeSeconds: 100, refreshBeforeMs: 10_000 });
    await tokens.get();
    clock.t = 89_999;
    await expect(tokens.get()).resolves.toBe('t1');
    clock.t = 90_000;
    await expect(tokens.get()).resolves.toBe('t2');
  });

  it('makes one exchange however many callers ask while it is under way', async () => {
    const ep = endpoint(token('t1', 3600));
    const tokens = source(ep.fetchFn, { t: 0 });
    const release = ep.hold();
    const callers = Array.from({ length: 8 }, () => tokens.get());
    release();
    await expect(Promise.all(callers)).resolves.toEqual(Array(8).fill('t1'));
    expect(ep.calls).toHaveLength(1);
  });

  it('fetches a new token after invalidate() (what the clients do on a 401)', async () => {
    const ep = endpoint(token('t1', 3600), token('t2', 3600));
    const tokens = source(ep.fetchFn, { t: 0 });
    await expect(tokens.get()).resolves.toBe('t1');
    tokens.invalidate();
    await expect(tokens.get()).resolves.toBe('t2');
  });

  it.each([
    [
      'a refused grant (400 invalid_grant) is permanent',
      { status: 400, body: JSON.stringify({ error: 'invalid_grant', error_description: 'The request has an invalid grant parameter : refresh_token' }) },
      400,
      false,
      'invalid_grant',
      'The request has an invalid grant parameter : refresh_token',
    ],
    [
      'bad client credentials (401 invalid_client) are permanent',
      { status: 401, body: JSON.stringify({ error: 'invalid_client', error_description: 'Client authentication failed' }) },
      401,
      false,
      'invalid_client',
      'Client authentication failed',
    ],
    [
      'a throttled exchange (429) may be retried',
      { status: 429, body: JSON.stringify({ error: 'too_many_requests' }) },
      429,
      true,
      'too_many_requests',
      'too_many_requests',
    ],
    ['an endpoint failure (503, not JSON) may be retried', { status: 503, body: 'Service Unavailable' }, 503, true, undefined, 'Service Unavailable'],
  ])('%s, with the provider words and no credential in the error', async (_name, answer, status, retryable, code, message) => {
    const ep = endpoint(answer, token('after', 3600));
    const tokens = source(ep.fetchFn, { t: 0 });
    const err = (await tokens.get().catch((e) => e)) as ConnectorError;
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.status).toBe(status);
    expect(err.retryable).toBe(retryable);
    expect(err.details.providerCode).toBe(code);
    expect(err.details.providerMessage).toBe(message);
    const everything = `${err.message} ${err.stack} ${JSON.stringify(err.details)}`;
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(REFRESH);
    // nothing stays stuck: the next call makes a new exchange
    await expect(tokens.get()).resolves.toBe('after');
  });

  it('reports an unreachable endpoint as retryable, without the request body', async () => {
    const ep = endpoint(new TypeError('fetch failed'), token('after', 3600));
    const tokens = source(ep.fetchFn, { t: 0 });
    const err = (await tokens.get().catch((e) => e)) as ConnectorError;
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.retryable).toBe(true);
    expect(err.status).toBeUndefined();
    expect(`${err.message} ${JSON.stringify(err.details)}`).not.toContain(SECRET);
    await expect(tokens.get()).resolves.toBe('after');
  });

  it('refuses a 200 answer without an access_token rather than caching nothing', async () => {
    const ep = endpoint({ status: 200, body: JSON.stringify({ token_type: 'bearer' }) });
    const tokens = source(ep.fetchFn, { t: 0 });
    const err = (await tokens.get().catch((e) => e)) as ConnectorError;
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.status).toBe(200);
    expect(err.retryable).toBe(false);
  });
});

describe('maxEarlyFraction and expires_in', () => {
  it('refreshes a short-lived token at most that fraction of its life early, instead of on every call', async () => {
    const ep = endpoint(token('t1', 20), token('t2', 20));
    const clock = { t: 0 };
    // 60 s early would be before the token was even issued: capped at a tenth of its 20 s.
    const tokens = source(ep.fetchFn, clock, { refreshBeforeMs: 60_000, maxEarlyFraction: 0.1 });
    await expect(tokens.get()).resolves.toBe('t1');
    clock.t = 17_999;
    await expect(tokens.get()).resolves.toBe('t1');
    expect(ep.calls).toHaveLength(1);
    clock.t = 18_000;
    await expect(tokens.get()).resolves.toBe('t2');
    expect(ep.calls).toHaveLength(2);
  });

  it('without it, a token living less than refreshBeforeMs is fetched anew for every call', async () => {
    const ep = endpoint(token('t1', 20), token('t2', 20));
    const tokens = source(ep.fetchFn, { t: 0 }, { refreshBeforeMs: 60_000 });
    await expect(tokens.get()).resolves.toBe('t1');
    await expect(tokens.get()).resolves.toBe('t2');
  });

  it('keeps refreshBeforeMs when it is the smaller of the two', async () => {
    const ep = endpoint(token('t1', 3600), token('t2', 3600));
    const clock = { t: 0 };
    const tokens = source(ep.fetchFn, clock, { refreshBeforeMs: 60_000, maxEarlyFraction: 0.1 });
    await tokens.get();
    clock.t = 3_540_000 - 1;
    await expect(tokens.get()).resolves.toBe('t1');
    clock.t = 3_540_000;
    await expect(tokens.get()).resolves.toBe('t2');
  });

  it.each([
    ['not a number', 'soon'],
    ['zero', 0],
    ['negative', -30],
  ])('an expires_in that is %s counts as the default lifetime', async (_name, expiresIn) => {
    const ep = endpoint({ status: 200, body: JSON.stringify({ access_token: 't1', expires_in: expiresIn }) }, token('t2', 100));
    const clock = { t: 0 };
    const tokens = source(ep.fetchFn, clock, { defaultLifetimeSeconds: 100, refreshBeforeMs: 10_000 });
    await expect(tokens.get()).resolves.toBe('t1');
    clock.t = 89_999;
    await expect(tokens.get()).resolves.toBe('t1');
    clock.t = 90_000;
    await expect(tokens.get()).resolves.toBe('t2');
  });

  it('reads an expires_in sent as text (some token endpoints send it so)', async () => {
    const ep = endpoint({ status: 200, body: JSON.stringify({ access_token: 't1', expires_in: '100' }) }, token('t2', 100));
    const clock = { t: 0 };
    const tokens = source(ep.fetchFn, clock, { defaultLifetimeSeconds: 3600, refreshBeforeMs: 10_000 });
    await tokens.get();
    clock.t = 90_000;
    await expect(tokens.get()).resolves.toBe('t2');
  });
});

describe('BcTokenSource (Business Central client credentials)', () => {
  function recording(...answers: Answer[]) {
    const ep = endpoint(...answers);
    const requests: Array<{ url: string; init: RequestInit }> = [];
    const fetchFn = ((url: string | URL, init: RequestInit) => {
      requests.push({ url: String(url), init });
      return ep.fetchFn(url, init);
    }) as unknown as typeof fetch;
    return { requests, fetchFn };
  }
  const auth = { mode: 'client-credentials' as const, tokenUrl: 'https://login.example/{tenant}/oauth2/v2.0/token', clientId: 'app-1', clientSecret: SECRET };

  it('asks the tenant’s token endpoint for the client-credentials grant with the default .default scope', async () => {
    const ep = recording(token('t1', 3600));
    const tokens = new BcTokenSource({ auth, tenant: 'contoso.onmicrosoft.com/../x', fetch: ep.fetchFn });
    await expect(tokens.get()).resolves.toBe('t1');
    expect(ep.requests).toHaveLength(1);
    // The tenant is one path segment, whatever it contains.
    expect(ep.requests[0].url).toBe('https://login.example/contoso.onmicrosoft.com%2F..%2Fx/oauth2/v2.0/token');
    expect(ep.requests[0].init.method).toBe('POST');
    expect((ep.requests[0].init.headers as Record<string, string>)['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(String(ep.requests[0].init.body)))).toEqual({
      grant_type: 'client_credentials',
      client_id: 'app-1',
      client_secret: SECRET,
      scope: 'https://api.businesscentral.dynamics.com/.default',
    });
  });

  it('sends a configured scope, and uses the Microsoft endpoint when no token URL is set', async () => {
    const ep = recording(token('t1', 3600));
    const tokens = new BcTokenSource({ auth: { ...auth, tokenUrl: '', scope: 'https://sandbox.example/.default' }, tenant: 'T1', fetch: ep.fetchFn });
    await tokens.get();
    expect(ep.requests[0].url).toBe('https://login.microsoftonline.com/T1/oauth2/v2.0/token');
    expect(new URLSearchParams(String(ep.requests[0].init.body)).get('scope')).toBe('https://sandbox.example/.default');
  });

  it('refreshes a minute early by default, a tenth of the life early for short tokens, one exchange for many callers', async () => {
    const ep = recording(token('t1', 3600), token('t2', 300), token('t3', 300));
    const clock = { t: 0 };
    const tokens = new BcTokenSource({ auth, tenant: 'T1', fetch: ep.fetchFn, now: () => clock.t });
    await expect(Promise.all([tokens.get(), tokens.get(), tokens.get()])).resolves.toEqual(['t1', 't1', 't1']);
    clock.t = 3_540_000 - 1;
    await expect(tokens.get()).resolves.toBe('t1');
    clock.t = 3_540_000;
    await expect(tokens.get()).resolves.toBe('t2');
    clock.t += 270_000 - 1; // 300 s token: 30 s early, not 60
    await expect(tokens.get()).resolves.toBe('t2');
    clock.t += 1;
    await expect(tokens.get()).resolves.toBe('t3');
    expect(ep.requests).toHaveLength(3);
  });

  it('a refused secret is a permanent auth error under "get access token", without the secret', async () => {
    const ep = recording({
      status: 401,
      body: JSON.stringify({ error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' }),
    });
    const tokens = new BcTokenSource({ auth, tenant: 'T1', fetch: ep.fetchFn });
    const err = (await tokens.get().catch((e) => e)) as ConnectorError;
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.cause).toMatchObject({ system: 'business-central', operation: 'get access token', kind: 'auth', status: 401, retryable: false });
    expect(`${err.message} ${JSON.stringify(err.details)}`).not.toContain(SECRET);
  });
});

describe('a 401 from the API is answered with a new token (bol.com client)', () => {
  let server: http.Server;
  let base: string;
  const tokenRequests: string[] = [];
  const apiAuth: string[] = [];
  let issued = 0;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url?.startsWith('/token')) {
        tokenRequests.push(req.headers.authorization ?? '');
        issued++;
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ access_token: `tok-${issued}`, expires_in: 299 }));
      }
      apiAuth.push(req.headers.authorization ?? '');
      // The first token is revoked at the API: as bol does for an expired token.
      if (req.headers.authorization === 'Bearer tok-1') {
        res.statusCode = 401;
        res.setHeader('content-type', 'application/problem+json');
        return res.end(JSON.stringify({ title: 'Unauthorized', status: 401, detail: 'Expired JWT' }));
      }
      res.setHeader('content-type', 'application/vnd.retailer.v10+json');
      res.end(JSON.stringify({ orders: [{ orderId: 'A1', orderPlacedDateTime: '2026-12-01T10:00:00+01:00', orderItems: [] }] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('invalidates the token, fetches another and repeats the call once', async () => {
    const client = new BolClient({
      endpoint: base,
      tokenUrl: `${base}/token`,
      credentials: { clientId: 'id', clientSecret: 'secret' },
      policy: { baseDelayMs: 1, maxDelayMs: 5 },
    });
    const orders = await client.listOrders();
    expect(orders.map((o) => o.orderId)).toEqual(['A1']);
    expect(apiAuth).toEqual(['Bearer tok-1', 'Bearer tok-2']);
    expect(tokenRequests).toHaveLength(2);
    expect(client.tokens.refreshes).toBe(2);
  });
});
