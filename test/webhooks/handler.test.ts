/**
 * The bounded read under the webhook handler, on a plain express app (the same express Node-RED
 * runs): a body another middleware already parsed is answered at once instead of waited for; an
 * oversize body is answered 413 whether it declares its length or streams it; the route's claim
 * captures the raw bytes ahead of a JSON parser mounted before it, and is released on unmount.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import bodyParser from 'body-parser';
import { createStore } from '../../nodes/runtime/create-store';
import { DurableInbox } from '../../nodes/runtime/inbox';
import type { Store } from '../../nodes/runtime/store';
import { hmacSha256Base64, safeEqual, webhookHandler } from '../../nodes/runtime/webhook';
import { mountWebhook } from '../../nodes/runtime/webhook-route';

const SECRET = 'k';
const verify = (raw: Buffer, headers: http.IncomingHttpHeaders) =>
  safeEqual(headers['x-sig'] as string, hmacSha256Base64(SECRET, raw))
    ? ({ ok: true, eventId: hmacSha256Base64('id', raw) } as const)
    : ({ ok: false, status: 401, reason: 'signature does not match' } as const);

let store: Store;
let server: http.Server;
let base: string;
let app: express.Express;
let nodeApp: express.Express;
const delivered: string[] = [];
const errors: string[] = [];

beforeAll(async () => {
  store = createStore({ backend: 'memory' });
  await store.open();
  const inbox = new DurableInbox(store, 'h', (e) => delivered.push((e.payload as any).body));
  // Like Node-RED: an admin app with JSON parsing and the node app, both mounted at `/`.
  app = express();
  const admin = express();
  admin.use(bodyParser.json());
  nodeApp = express();
  app.use('/', admin);
  app.use('/', nodeApp);
  const handler = () => webhookHandler({ verify, inbox: () => inbox, bodyLimit: 1024, onError: (e) => errors.push(e.message) });
  // Unclaimed: the admin parser reads the body first.
  nodeApp.post('/unclaimed', handler());
  mountWebhook(nodeApp as any, '/claimed', 1024, handler());
  server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await store.close();
});

const send = (path: string, body: string | Blob, headers: Record<string, string> = {}) =>
  fetch(base + path, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, signal: AbortSignal.timeout(5000) });

it('a body already parsed by another middleware is answered 500 at once, logged once, never waited for', async () => {
  const body = '{"a":1}';
  const a = await send('/unclaimed', body, { 'x-sig': hmacSha256Base64(SECRET, body) });
  const b = await send('/unclaimed', body, { 'x-sig': hmacSha256Base64(SECRET, body) });
  expect([a.status, b.status]).toEqual([500, 500]);
  expect(await a.text()).toMatch(/body unavailable/);
  expect(errors.filter((e) => /read by another HTTP middleware/.test(e))).toHaveLength(1);
});

it('a claimed route gets the exact bytes ahead of the parser: signed 200, tampered 401', async () => {
  const body = '{"b": 1.10}';
  expect((await send('/claimed', body, { 'x-sig': hmacSha256Base64(SECRET, body) })).status).toBe(200);
  expect((await send('/claimed', '{"b":1.1}', { 'x-sig': hmacSha256Base64(SECRET, body) })).status).toBe(401);
  expect(delivered).toContain(body);
});

it('oversize: declared or streamed, a modest excess or far beyond the drain bound, always a 413 the client reads', async () => {
  const big = 'x'.repeat(5000);
  const declared = await send('/claimed', big, { 'x-sig': 'x' });
  expect(declared.status).toBe(413);
  expect(declared.headers.get('connection')).toBe('close');
  expect(await declared.text()).toMatch(/larger than this webhook's limit of 1024 bytes/);
  // Streamed without a length (chunked), in pieces.
  const stream = new ReadableStream({
    start(c) {
      for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode('y'.repeat(1000)));
      c.close();
    },
  });
  const chunked = await fetch(base + '/claimed', {
    method: 'POST',
    body: stream,
    duplex: 'half',
    headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(5000),
  } as RequestInit);
  expect(chunked.status).toBe(413);
  // Far beyond the drain bound (32 MiB): answered without reading it, then the connection closes.
  const huge = await send('/claimed', new Blob([new Uint8Array(40 * 1024 * 1024)]), { 'x-sig': 'x' }).then(
    (r) => r.status,
    (e) => `error ${e.cause?.code ?? e.message}`,
  );
  expect(huge).toBe(413);
  // The server still answers.
  const ok = '{"c":1}';
  expect((await send('/claimed', ok, { 'x-sig': hmacSha256Base64(SECRET, ok) })).status).toBe(200);
});

it('unmounting removes the route and its claim', async () => {
  const m = mountWebhook(nodeApp as any, '/temporary', 1024, (_req, res) => res.end('here'));
  expect((await send('/temporary', '{}')).status).toBe(200);
  m.unmount();
  expect((await send('/temporary', '{}')).status).toBe(404);
});
