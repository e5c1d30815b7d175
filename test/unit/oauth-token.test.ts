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
