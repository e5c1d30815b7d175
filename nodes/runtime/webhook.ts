/**
 * The shared webhook mechanism for inbound connectors (Shopify, Square, …): read the raw body
 * (signatures are over the exact bytes, never a re-serialised JSON), verify it with a constant-time
 * comparison (401 and no processing on mismatch), write it to the durable inbox, and only then
 * answer 200 (DESIGN.md principle 3). A store that cannot take the write answers 503, so the
 * provider retries later; a repeat of an event id already in the inbox is answered 200 and not
 * processed again.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DurableInbox } from './inbox';

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

export class BodyTooLargeError extends Error {}

/** The request's exact bytes (or an already-captured raw Buffer), up to `limit` bytes. */
export function readRawBody(req: IncomingMessage & { body?: unknown; rawBody?: Buffer }, limit = 5 * 1024 * 1024): Promise<Buffer> {
  if (Buffer.isBuffer(req.rawBody)) return Promise.resolve(req.rawBody);
  if (Buffer.isBuffer(req.body)) return Promise.resolve(req.body);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new BodyTooLargeError(`body over ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export type Verification =
  | { ok: true; eventId: string; topic?: string }
  | { ok: false; status: 400 | 401; reason: string };

export interface WebhookOptions {
  /** Checks the signature over the raw bytes and names the provider's event id. */
  verify: (raw: Buffer, headers: IncomingMessage['headers']) => Verification;
  /** The inbox of the node that owns this route (created once the store is open). */
  inbox: () => DurableInbox | undefined;
  /** Headers worth keeping with the event (topic, shop, API version…), lower-case names. */
  keepHeaders?: string[];
  onRejected?: (reason: string, status: number) => void;
  onError?: (err: Error) => void;
}

export interface StoredWebhook {
  topic?: string;
  headers: Record<string, string>;
  /** The body as UTF-8 text, exactly as received. */
  body: string;
}

/** An HTTP handler (Node-RED's httpNode route or a plain http server) implementing the above. */
export function webhookHandler(opts: WebhookOptions) {
  return (req: IncomingMessage & { body?: unknown }, res: ServerResponse) => {
    const answer = (status: number, text: string) => {
      if (res.headersSent) return;
      res.statusCode = status;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(text);
    };
    readRawBody(req)
      .then(async (raw) => {
        const verdict = opts.verify(raw, req.headers);
        if (!verdict.ok) {
          opts.onRejected?.(verdict.reason, verdict.status);
          return answer(verdict.status, verdict.reason);
        }
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
        if (err instanceof BodyTooLargeError) return answer(413, err.message);
        opts.onError?.(err);
        // Not stored: the provider must send it again.
        answer(503, `not stored: ${err.message}`);
      });
  };
}
