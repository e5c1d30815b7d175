import http from 'node:http';
import { AddressInfo } from 'node:net';
import { createStore } from '../../nodes/runtime/create-store';
import { DurableInbox } from '../../nodes/runtime/inbox';
import type { InboxEntry, Store } from '../../nodes/runtime/store';
import { CLOCK_SKEW_MS, hmacSha256Base64, safeEqual, staleness, webhookHandler } from '../../nodes/runtime/webhook';

const SECRET = 'whsec-test';

describe('webhook mechanism', () => {
  let store: Store;
  let server: http.Server;
  let url: string;
  const delivered: InboxEntry[] = [];
  const rejected: string[] = [];
  let storedWhenAnswered: boolean[] = [];

  beforeAll(async () => {
    store = createStore({ backend: 'memory' });
    await store.open();
    const inbox = new DurableInbox(store, 'test-webhooks', (e) => delivered.push(e));
    const handler = webhookHandler({
      verify: (raw, headers) => {
        const sig = headers['x-signature'] as string | undefined;
        if (!safeEqual(sig, hmacSha256Base64(SECRET, raw))) return { ok: false, status: 401, reason: 'signature does not match' };
        return { ok: true, eventId: String(headers['x-event-id']), topic: String(headers['x-topic']) };
      },
      inbox: () => inbox,
      keepHeaders: ['x-topic'],
      onRejected: (reason) => rejected.push(reason),
    });
    server = http.createServer((req, res) => {
      // record whether the event was already durable when the 200 went out
      const end = res.end.bind(res);
      (res as any).end = (...args: any[]) => {
        void store.inboxPending('test-webhooks').then((p) => storedWhenAnswered.push(p.some((e) => e.eventId === req.headers['x-event-id'])));
        return end(...args);
      };
      handler(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await store.close();
  });
  beforeEach(() => {
    delivered.length = 0;
    rejected.length = 0;
    storedWhenAnswered = [];
  });

  const post = (body: string, headers: Record<string, string>) => fetch(url, { method: 'POST', body, headers });

  it('stores a signed event before answering 200, delivers it once, and answers a repeat 200 without delivering it again', async () => {
    const body = '{"id":1,"total_price":"12.30"}';
    const headers = { 'x-signature': hmacSha256Base64(SECRET, body), 'x-event-id': 'evt-1', 'x-topic': 'orders/create' };
    expect((await post(body, headers)).status).toBe(200);
    expect((await post(body, headers)).status).toBe(200);
    expect(delivered.map((e) => [e.eventId, (e.payload as any).topic, (e.payload as any).body])).toEqual([['evt-1', 'orders/create', body]]);
    expect((delivered[0].payload as any).headers).toEqual({ 'x-topic': 'orders/create' });
    await new Promise((r) => setImmediate(r));
    expect(storedWhenAnswered[0]).toBe(true);
  });

  it('a bad signature, and a valid signature over a tampered body, get 401 and are never stored', async () => {
    const body = '{"id":2}';
    const good = hmacSha256Base64(SECRET, body);
    expect((await post(body, { 'x-signature': 'AAAA', 'x-event-id': 'evt-2' })).status).toBe(401);
    expect((await post('{"id":2,"x":1}', { 'x-signature': good, 'x-event-id': 'evt-2' })).status).toBe(401);
    expect(delivered).toEqual([]);
    expect(rejected).toEqual(['signature does not match', 'signature does not match']);
    expect((await store.inboxPending('test-webhooks')).some((e) => e.eventId === 'evt-2')).toBe(false);
  });

  it('signatures are compared on the exact bytes: re-serialised JSON does not verify', () => {
    const raw = '{"a": 1.10}';
    expect(safeEqual(hmacSha256Base64(SECRET, JSON.stringify(JSON.parse(raw))), hmacSha256Base64(SECRET, raw))).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual(undefined, 'abc')).toBe(false);
  });
});

describe('signed times (staleness)', () => {
  const now = Date.parse('2026-06-01T12:00:00Z');
  const at = (ms: number) => new Date(now + ms).toISOString();
  const day = 24 * 3600_000;

  it('a time inside the window, or ahead by at most the 5 min clock allowance, is accepted', () => {
    expect(CLOCK_SKEW_MS).toBe(5 * 60_000);
    expect(staleness([['the event', at(-day + 1000)]], day, now)).toBeUndefined();
    expect(staleness([['the event', at(CLOCK_SKEW_MS)]], day, now)).toBeUndefined();
  });

  it('older than the window, or more than 5 min ahead, is refused naming the stamp and its value', () => {
    expect(staleness([['the event', at(-day - 1000)]], day, now)).toMatch(/^the event 2026-05-31T11:59:59.000Z is older than the 24 h/);
    const ahead = at(CLOCK_SKEW_MS + 1000);
    expect(
      staleness(
        [
          ['the body', at(0)],
          ['the header', ahead],
        ],
        day,
        now,
      ),
    ).toBe(`the header ${ahead} is in the future (more than the 5 min allowed for clock differences): refused as a forged or mis-dated delivery`);
  });
});
