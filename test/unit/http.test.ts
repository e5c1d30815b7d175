import http from 'node:http';
import { AddressInfo } from 'node:net';
import { backoffMs, ConnectorError, HttpClient, parseRetryAfter, TokenBucket, DEFAULT_POLICY } from '../../nodes/runtime/http';
import { observeCalls, type CallEvent } from '../../nodes/runtime/call-observer';

/** A loopback server answering from a script of responses, one per request. */
async function scripted(script: Array<{ status: number; headers?: Record<string, string>; body?: unknown; hang?: boolean }>) {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const step = script.shift() ?? { status: 200, body: { ok: true } };
    if (step.hang) return; // never answers: the client's timeout must fire
    res.writeHead(step.status, { 'content-type': 'application/json', ...step.headers });
    res.end(step.body === undefined ? '' : JSON.stringify(step.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('http resilience layer', () => {
  const waits: number[] = [];
  const sleep = async (ms: number) => {
    waits.push(ms);
  };
  beforeEach(() => (waits.length = 0));

  it('retries 429 and 5xx, honouring Retry-After, then succeeds', async () => {
    const s = await scripted([
      { status: 503, headers: { 'retry-after': '2' }, body: { error: { message: 'busy' } } },
      { status: 429, body: { error: { message: 'slow down' } } },
      { status: 201, body: { id: 7 } },
    ]);
    const client = new HttpClient({ system: 'erp', baseUrl: s.url, sleep, random: () => 0.5 });
    const res = await client.request({ operation: 'create order', method: 'POST', url: '/orders', body: { a: 1 } });
    expect(res).toMatchObject({ status: 201, body: { id: 7 } });
    expect(s.seen).toEqual(['POST /orders', 'POST /orders', 'POST /orders']);
    expect(waits).toEqual([2000, backoffMs(2, DEFAULT_POLICY, () => 0.5)]);
    await s.close();
  });

  it('does not retry a permanent error, and says system, operation, status and the provider message', async () => {
    const s = await scripted([{ status: 400, body: { error: { code: 'BadRequest', message: 'Item TEE-XL does not exist' } } }]);
    const client = new HttpClient({ system: 'business-central', baseUrl: s.url, sleep });
    const err: ConnectorError = await client.request({ operation: 'create salesOrder', method: 'POST', url: '/x', body: {} }).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.cause).toEqual({
      system: 'business-central',
      operation: 'create salesOrder',
      kind: 'value',
      retryable: false,
      status: 400,
      attempts: 1,
      providerCode: 'BadRequest',
      providerMessage: 'Item TEE-XL does not exist',
    });
    // The short human message still names system, operation and what the provider said.
    expect(err.message).toBe('business-central create salesOrder: HTTP 400: Item TEE-XL does not exist');
    expect(s.seen).toHaveLength(1);
    await s.close();
  });

  it('times out a request that never answers, retries it, and gives up after the attempts allowed', async () => {
    const s = await scripted([
      { status: 0, hang: true },
      { status: 0, hang: true },
    ]);
    const client = new HttpClient({ system: 'odoo', baseUrl: s.url, sleep, policy: { maxAttempts: 2, timeoutMs: 200 } });
    const err: ConnectorError = await client.request({ operation: 'search', method: 'GET', url: '/' }).catch((e) => e);
    expect(err.cause).toEqual({ system: 'odoo', operation: 'search', kind: 'timeout', retryable: true, attempts: 2 });
    expect(s.seen).toHaveLength(2);
    await s.close();
  });

  it('a provider classifier can fail an HTTP 200 (Odoo-style error envelope)', async () => {
    const s = await scripted([{ status: 200, body: { error: { data: { name: 'odoo.exceptions.UserError', message: 'bad' } } } }]);
    const client = new HttpClient({
      system: 'odoo',
      baseUrl: s.url,
      sleep,
      classify: (res) => (res.body?.error ? { ok: false, retryable: false, message: res.body.error.data.message, code: res.body.error.data.name } : undefined),
    });
    const err: ConnectorError = await client.request({ operation: 'create', method: 'POST', url: '/jsonrpc', body: {} }).catch((e) => e);
    expect(err.cause).toMatchObject({ status: 200, kind: 'value', retryable: false, providerCode: 'odoo.exceptions.UserError', providerMessage: 'bad' });
    await s.close();
  });

  it('Retry-After in seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-01T10:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Sun, 01 Nov 2026 10:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('backoff grows exponentially, is capped, and is jittered below the bound', () => {
    const p = { ...DEFAULT_POLICY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5].map((a) => backoffMs(a, p, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffMs(3, p, () => 0.25)).toBe(100);
  });

  it('token bucket: a burst, then the sustained rate; a 429 blocks the bucket', async () => {
    let clock = 0;
    const slept: number[] = [];
    const bucket = new TokenBucket(
      2,
      3,
      () => clock,
      async (ms) => {
        slept.push(ms);
        clock += ms;
      },
    );
    for (let i = 0; i < 5; i++) await bucket.take();
    expect(slept).toEqual([500, 500]); // 3 at once, then one every 1/2 s
    bucket.penalise(4000);
    await bucket.take();
    expect(clock).toBeGreaterThanOrEqual(1000 + 4000);
  });

  it('per request: a write sent once only; retries reported to the observer of the work in progress', async () => {
    const s = await scripted([{ status: 503, body: { error: { message: 'busy' } } }, { status: 503 }, { status: 200, body: { ok: 1 } }]);
    const client = new HttpClient({ system: 'erp', baseUrl: s.url, sleep });
    const once: ConnectorError = await client.request({ operation: 'create', method: 'POST', url: '/x', body: {}, maxAttempts: 1 }).catch((e) => e);
    expect(once.cause).toMatchObject({ kind: 'unavailable', status: 503, retryable: true, attempts: 1 });
    expect(s.seen).toHaveLength(1);
    const retries: CallEvent[] = [];
    const ok = await observeCalls(
      (e) => retries.push(e),
      () => client.request({ operation: 'read', method: 'GET', url: '/y' }),
    );
    expect(ok.status).toBe(200);
    expect(retries).toEqual([{ type: 'retry', system: 'erp', operation: 'read', attempt: 1, waitMs: expect.any(Number), kind: 'unavailable', status: 503 }]);
    // Outside any observed work nothing is told (and nothing fails).
    const other = await client.request({ operation: 'read', method: 'GET', url: '/z' });
    expect(other.status).toBe(200);
    expect(retries).toHaveLength(1);
    await s.close();
  });

  it('two nodes sharing one client each hear only about their own retries', async () => {
    // A 503 for every request to /a, success for /b after one 429: one client, two callers at once.
    const hits = { b: 0 };
    const server = http.createServer((req, res) => {
      const fail = req.url === '/a' ? 503 : hits.b++ === 0 ? 429 : 0;
      res.writeHead(fail || 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(fail ? { error: { message: 'no' } } : { ok: true }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = new HttpClient({ system: 'erp', baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sleep, policy: { maxAttempts: 3 } });
    const seenA: CallEvent[] = [];
    const seenB: CallEvent[] = [];
    const [a, b] = await Promise.all([
      observeCalls(
        (e) => seenA.push(e),
        () => client.request({ operation: 'read a', method: 'GET', url: '/a' }).catch((e) => e),
      ),
      observeCalls(
        (e) => seenB.push(e),
        () => client.request({ operation: 'read b', method: 'GET', url: '/b' }),
      ),
    ]);
    expect(a.cause).toMatchObject({ operation: 'read a', kind: 'unavailable', retryable: true, attempts: 3 });
    expect(b.status).toBe(200);
    expect(seenA.map((e) => [e.type, e.operation, e.attempt, e.status])).toEqual([
      ['retry', 'read a', 1, 503],
      ['retry', 'read a', 2, 503],
    ]);
    expect(seenB.map((e) => [e.type, e.operation, e.attempt, e.status])).toEqual([['throttle', 'read b', 1, 429]]);
    await new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  });
});

describe('streamed downloads (stream: true)', () => {
  /** Answers 503 once, then 200 with a body that trickles in over `trickleMs`; /missing is 404. */
  async function trickling(trickleMs: number) {
    let calls = 0;
    const server = http.createServer((req, res) => {
      calls++;
      if (req.url === '/missing') {
        res.writeHead(404, { 'content-type': 'application/xml' });
        return res.end('<Error><Code>NoSuchKey</Code></Error>');
      }
      if (calls === 1) {
        res.writeHead(503);
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first;');
      setTimeout(() => res.end('last'), trickleMs);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      calls: () => calls,
      close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
    };
  }

  it('retries before a success, then hands over the body unread; the timeout covers the headers, not a long body', async () => {
    const s = await trickling(400);
    try {
      const client = new HttpClient({ system: 'test', baseUrl: s.url, policy: { maxAttempts: 3, baseDelayMs: 1, timeoutMs: 150 } });
      const res = await client.request({ operation: 'download', method: 'GET', url: '/doc', stream: true });
      expect(res.status).toBe(200);
      expect(res.body).toBeInstanceOf(ReadableStream);
      expect(await new Response(res.body).text()).toBe('first;last');
      expect(s.calls()).toBe(2);
    } finally {
      await s.close();
    }
  });

  it('reads a failure body as usual and names it in the error', async () => {
    const s = await trickling(0);
    try {
      const client = new HttpClient({ system: 'test', baseUrl: s.url, policy: { maxAttempts: 3, baseDelayMs: 1, timeoutMs: 1000 } });
      const err = await client.request({ operation: 'download', method: 'GET', url: '/missing', stream: true }).catch((e) => e);
      expect(err).toBeInstanceOf(ConnectorError);
      expect(err).toMatchObject({ status: 404, attempts: 1 });
      expect(err.message).toContain('NoSuchKey');
    } finally {
      await s.close();
    }
  });
});
