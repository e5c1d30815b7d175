/**
 * The shared webhook mechanism for inbound connectors (Shopify, Square, …): read the raw body
 * (signatures are over the exact bytes, never a re-serialised JSON), verify it with a constant-time
 * comparison (401 and no processing on mismatch), write it to the durable inbox, and only then
 * answer 200. A store that cannot take the write answers 503, so the
 * provider retries later; a repeat of an event id already in the inbox is answered 200 and not
 * processed again.
 *
 * Every wait and size is bounded: the body is read once, up to the node's limit (413 above it,
 * answered before the connection closes), all bodies being read together share one byte budget
 * (503 with Retry-After when it is spent, byte-budget.ts), and a body someone else already read is answered at once
 * (500) instead of waited for. webhook-route.ts makes sure the bytes reach the route unread.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DurableInbox } from './inbox';
import { readBounded, type RawRead } from './raw-body';
import { CAPTURED, type CapturedRequest } from './webhook-route';
import { LogSummary } from './log-summary';

/** Base64 HMAC-SHA256 of the concatenated parts (Square signs notification URL + body). */
export function hmacSha256Base64(secret: string, ...parts: Array<string | Buffer>): string {
  const mac = createHmac('sha256', secret);
  for (const p of parts) mac.update(p);
  return mac.digest('base64');
}

/** Constant-time comparison of two signature strings (false for different lengths). */
export function safeEqual(a: string | undefined, b: string | undefined): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Default largest body a webhook node takes (1 MiB): a Shopify order with hundreds of lines fits. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
/**
 * The most a freshness window may be: replays are refused by age or recognised by the inbox, so the
 * window must stay below how long the inbox keeps finished entries (7 days, the store's default).
 */
export const MAX_FRESHNESS_HOURS = 6 * 24;

export interface WebhookLimits {
  /** Largest body in bytes. */
  bodyLimit: number;
  /** Oldest signed event time accepted, in ms. */
  maxAgeMs: number;
  /** What was wrong with the configured values (the defaults were used instead). */
  problems: string[];
}

/** Reads a webhook node's `maxBodyKiB` and `maxAgeHours` (empty: the defaults). */
export function webhookLimits(def: { maxBodyKiB?: unknown; maxAgeHours?: unknown }, defaultMaxAgeHours: number): WebhookLimits {
  const problems: string[] = [];
  const num = (v: unknown) => (v === undefined || v === null || String(v).trim() === '' ? undefined : Number(v));
  let kib = num(def.maxBodyKiB);
  if (kib !== undefined && !(Number.isInteger(kib) && kib >= 1 && kib <= 64 * 1024)) {
    problems.push(`body limit '${def.maxBodyKiB}' is not a whole number of KiB from 1 to 65536; using ${DEFAULT_BODY_LIMIT / 1024}`);
    kib = undefined;
  }
  let hours = num(def.maxAgeHours);
  if (hours !== undefined && !(hours > 0 && hours <= MAX_FRESHNESS_HOURS)) {
    problems.push(
      `freshness window '${def.maxAgeHours}' h is not above 0 and at most ${MAX_FRESHNESS_HOURS} h (the inbox keeps finished events 7 days); using ${defaultMaxAgeHours}`,
    );
    hours = undefined;
  }
  return { bodyLimit: kib !== undefined ? kib * 1024 : DEFAULT_BODY_LIMIT, maxAgeMs: (hours ?? defaultMaxAgeHours) * 3600_000, problems };
}

/**
 * How far ahead of this machine's clock a signed event time may be: the providers' clocks and ours
 * drift a little, so a few minutes ahead is normal; more is a forged or mis-set time (an event
 * dated ahead would otherwise stay "fresh", and replayable, for longer than the freshness window).
 */
export const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Why a delivery is too old, or dated in the future, to accept, or undefined. Each stamp is a time
 * the event carries (the signed body's, and the provider's trigger header where there is one);
 * the first one out of bounds decides. Future means more than `CLOCK_SKEW_MS` ahead of `now`.
 */
export function staleness(stamps: Array<[what: string, value: unknown]>, maxAgeMs: number, now: number): string | undefined {
  for (const [what, value] of stamps) {
    if (typeof value !== 'string') continue;
    const t = Date.parse(value);
    if (Number.isNaN(t)) continue;
    if (now - t > maxAgeMs) return `${what} ${value} is older than the ${Math.round(maxAgeMs / 3600_000)} h this webhook accepts: refused as a possible replay`;
    if (t - now > CLOCK_SKEW_MS)
      return `${what} ${value} is in the future (more than the ${CLOCK_SKEW_MS / 60_000} min allowed for clock differences): refused as a forged or mis-dated delivery`;
  }
  return undefined;
}

/** The request body as exact bytes, bounded; never waits for a stream someone else has read. */
export type BodyRead = RawRead | { kind: 'consumed' };

export function readRawBody(req: CapturedRequest & { body?: unknown; rawBody?: Buffer; _body?: boolean }, limit = DEFAULT_BODY_LIMIT): Promise<BodyRead> {
  const captured = req[CAPTURED];
  if (captured) return Promise.resolve(captured);
  const given = Buffer.isBuffer(req.rawBody) ? req.rawBody : Buffer.isBuffer(req.body) ? req.body : undefined;
  if (given)
    return Promise.resolve(given.length > limit ? { kind: 'too-large', limit, received: given.length, drained: true } : { kind: 'bytes', bytes: given });
  // A parser in front of the route (body-parser marks `_body`) already read the stream: its bytes are gone.
  if (req._body || req.readableEnded) return Promise.resolve({ kind: 'consumed' });
  return readBounded(req, limit);
}

export type Verification =
  | { ok: true; eventId: string; topic?: string }
  /** `status`: 400 malformed, 401 not signed by the provider, 403 another account, 422 too old. */
  | { ok: false; status: 400 | 401 | 403 | 422; reason: string };

export interface WebhookOptions {
  /** Checks the signature over the raw bytes and names the provider's event id. */
  verify: (raw: Buffer, headers: IncomingMessage['headers']) => Verification;
  /** The inbox of the node that owns this route (created once the store is open). */
  inbox: () => DurableInbox | undefined;
  /** Largest body accepted, in bytes (413 above it). */
  bodyLimit?: number;
  /** Headers worth keeping with the event (topic, shop, API version…), lower-case names. */
  keepHeaders?: string[];
  onRejected?: (reason: string, status: number) => void;
  /** A delivery that could not be stored (answered 503 with a fixed text; the detail is only logged). */
  onError?: (err: Error) => void;
}

export interface StoredWebhook {
  topic?: string;
  headers: Record<string, string>;
  /** The body as UTF-8 text, exactly as received. */
  body: string;
}

/** The two flood-proof logs of a webhook node: deliveries rejected (warnings) and not stored (errors). */
export function webhookLogs(warn: (line: string) => void, error: (line: string) => void) {
  const rejections = new LogSummary(warn, 'webhook delivery rejected', 'webhook deliveries rejected');
  const failures = new LogSummary(error, 'webhook delivery not stored', 'webhook deliveries not stored');
  return {
    rejections,
    failures,
    /** Writes what is still counted; call on close. */
    close() {
      rejections.close();
      failures.close();
    },
  };
}

/** The fixed answer when a delivery could not be stored: internal details stay in the log. */
export const NOT_STORED = 'not stored: temporarily unavailable, send it again later';

/** The fixed answer to a body refused because the shared body budget is spent (byte-budget.ts). */
export const BUSY = 'busy: too many webhook bodies are being received at once; send it again later';
/** Seconds a refused sender is asked to wait (Retry-After). */
export const BUSY_RETRY_AFTER_S = 5;

/** An HTTP handler (Node-RED's httpNode route or a plain http server) implementing the above. */
export function webhookHandler(opts: WebhookOptions) {
  const limit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  let consumedLogged = false;
  return (req: CapturedRequest & { body?: unknown }, res: ServerResponse) => {
    const answer = (status: number, text: string, close = false) => {
      if (res.headersSent || res.destroyed) return;
      res.statusCode = status;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      if (close) res.setHeader('connection', 'close');
      res.end(text);
    };
    const reject = (status: number, reason: string, close = false) => {
      opts.onRejected?.(reason, status);
      answer(status, reason, close);
    };
    readRawBody(req, limit)
      .then(async (read) => {
        switch (read.kind) {
          case 'aborted':
            return;
          case 'idle':
            return reject(408, `no body bytes for ${read.idleMs / 1000} s`, true);
          case 'busy':
            // The rest of the body was never read: answer, then release the connection.
            opts.onRejected?.(`webhook body budget of ${read.budgetBytes} bytes spent by bodies being read; answered 503`, 503);
            if (!res.headersSent && !res.destroyed) res.setHeader('retry-after', String(BUSY_RETRY_AFTER_S));
            answer(503, BUSY, true);
            res.once('finish', () => req.socket?.destroy());
            return;
          case 'too-large':
            reject(413, `body larger than this webhook's limit of ${read.limit} bytes (raise the node's body limit if such deliveries are genuine)`, true);
            // Far over the limit the rest was never read: close rather than read it.
            if (!read.drained) res.once('finish', () => req.socket?.destroy());
            return;
          case 'consumed': {
            const reason = "the request body was read by another HTTP middleware before this webhook's route, so its signature cannot be checked";
            if (!consumedLogged) {
              consumedLogged = true;
              opts.onError?.(new Error(`${reason}; check httpNodeMiddleware and other nodes' routes on this path`));
            }
            opts.onRejected?.(reason, 500);
            return answer(500, 'webhook body unavailable: see the Node-RED log');
          }
        }
        const raw = read.bytes;
        const verdict = opts.verify(raw, req.headers);
        if (!verdict.ok) return reject(verdict.status, verdict.reason);
        const inbox = opts.inbox();
        if (!inbox) return answer(503, 'not ready: the store is not open yet');
        const headers: Record<string, string> = {};
        for (const h of opts.keepHeaders ?? []) {
          const v = req.headers[h];
          if (typeof v === 'string') headers[h] = v;
        }
        const event: StoredWebhook = { topic: verdict.topic, headers, body: raw.toString('utf8') };
        await inbox.accept(verdict.eventId, event, () => answer(200, 'ok'));
      })
      .catch((err: Error) => {
        opts.onError?.(err);
        // Not stored: the provider must send it again.
        answer(503, NOT_STORED);
      });
  };
}
