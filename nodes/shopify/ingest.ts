/**
 * What the Shopify webhook node and orders poller share, with no Node-RED import: one inbox per shop
 * (source `shopify:<shop>`), event ids that make a webhook and a poll of the same order state the
 * same inbox event, webhook verification, the interpretation of a stored event as a canonical
 * message, and the poll loop with its compare-and-set cursor.
 */
import type { IncomingMessage } from 'node:http';
import { createHash } from 'node:crypto';
import { hmacSha256Base64, safeEqual, staleness, type StoredWebhook, type Verification } from '../runtime/webhook';
import { normaliseShop } from './connection';
import type { Store } from '../runtime/store';
import { validateDocument, businessKey } from '../model/validate';
import { mapOrder, mapRefund, orderEventId, orderTopic, refundEventId, restFromGraphQL } from './map';
import type { ShopifyClient } from './client';
import { PollStopped } from '../runtime/poll-stopped';

export const inboxSource = (shop: string) => `shopify:${shop}`;

export const WEBHOOK_TOPICS = ['orders/create', 'orders/updated', 'orders/cancelled', 'refunds/create'];
/**
 * Shopify retries a failed delivery 8 times over 4 hours, each time with the original payload: a
 * day covers that span with room for queue delays and clock skew, and stays far below the inbox's
 * 7-day memory of finished events, so a replay is either recognised or refused.
 */
export const SHOPIFY_MAX_AGE_HOURS = 24;
export const KEEP_HEADERS = [
  'x-shopify-topic',
  'x-shopify-event-id',
  'x-shopify-webhook-id',
  'x-shopify-shop-domain',
  'x-shopify-api-version',
  'x-shopify-triggered-at',
];

/** An order or refund found by the poller, as stored in the inbox. */
export interface PolledEvent {
  via: 'poll';
  node: string;
  kind: 'order' | 'refund';
  body: Record<string, any>;
}

export type StoredEvent = StoredWebhook | PolledEvent;

const header = (h: IncomingMessage['headers'], name: string) => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** How a Shopify webhook node checks a delivery. */
export interface ShopifyVerifyOptions {
  /** Webhook secrets to accept: the current one, and the previous one during a rotation. */
  secrets: string[];
  /** Topics this node serves (empty: every topic it can map). */
  topics: string[];
  /** The configured shop (normalised `name.myshopify.com`). */
  shop: string;
  /** Oldest signed event time accepted (ms). */
  maxAgeMs: number;
  now?: () => number;
}

/** The body shape each topic family carries: a topic header can never re-label a body. */
function shapeProblem(topic: string, body: any): string | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'the body is not a JSON object';
  const isRefund = body.order_id !== undefined && Array.isArray(body.refund_line_items);
  const isOrder = Array.isArray(body.line_items) && !isRefund;
  if (topic.startsWith('orders/') && !isOrder)
    return `topic ${topic} needs an order body (with line_items), and this body is ${isRefund ? 'a refund' : 'not an order'}`;
  if (topic === 'refunds/create' && !isRefund)
    return `topic ${topic} needs a refund body (with order_id and refund_line_items), and this body is ${isOrder ? 'an order' : 'not a refund'}`;
  return undefined;
}

/**
 * Checks a Shopify delivery, in this order: `X-Shopify-Hmac-Sha256` over the raw bytes against each
 * secret in constant time (401); `X-Shopify-Shop-Domain` is the configured shop (403); the topic is
 * served and the signed body is JSON of the shape the topic names (400); the signed body's time
 * (`updated_at` of an order, `created_at` of a refund) and `X-Shopify-Triggered-At` are within the
 * freshness window and not in the future beyond the clock-skew allowance (422). The inbox event id comes from the signed body only: the order state
 * (`order:<id>:<updated_at>`), `refund:<id>`, else a hash of the body, so a replay with a new
 * `X-Shopify-Event-Id` is still the same event.
 */
export function verifyWebhook(o: ShopifyVerifyOptions, raw: Buffer, headers: IncomingMessage['headers']): Verification {
  const given = header(headers, 'x-shopify-hmac-sha256');
  if (!given) return { ok: false, status: 401, reason: 'X-Shopify-Hmac-Sha256 header missing' };
  const usable = o.secrets.filter(Boolean);
  if (!usable.length) return { ok: false, status: 401, reason: 'no webhook secret configured' };
  let match = false;
  for (const s of usable) if (safeEqual(given, hmacSha256Base64(s, raw))) match = true;
  if (!match) return { ok: false, status: 401, reason: 'signature does not match' };
  const from = normaliseShop(header(headers, 'x-shopify-shop-domain'));
  if (!from) return { ok: false, status: 403, reason: 'X-Shopify-Shop-Domain header missing: cannot tell which shop sent it' };
  if (from !== o.shop) return { ok: false, status: 403, reason: `delivery is from shop ${from.slice(0, 100)}, this webhook serves ${o.shop}` };
  const topic = header(headers, 'x-shopify-topic') ?? '';
  const served = o.topics.length ? o.topics : WEBHOOK_TOPICS;
  if (!served.includes(topic)) return { ok: false, status: 400, reason: `topic '${topic.slice(0, 100)}' is not served here` };
  let body: any;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return { ok: false, status: 400, reason: 'body is not JSON' };
  }
  const shape = shapeProblem(topic, body);
  if (shape) return { ok: false, status: 400, reason: shape };
  const refund = topic === 'refunds/create';
  const signedAt = refund ? body.created_at : body.updated_at;
  const field = refund ? 'created_at' : 'updated_at';
  if (typeof signedAt !== 'string' || Number.isNaN(Date.parse(signedAt))) {
    return { ok: false, status: 400, reason: `the ${refund ? 'refund' : 'order'} has no valid ${field}: its age cannot be checked` };
  }
  const stale = staleness(
    [
      [`the ${refund ? 'refund' : 'order'}'s ${field}`, signedAt],
      ['X-Shopify-Triggered-At', header(headers, 'x-shopify-triggered-at')],
    ],
    o.maxAgeMs,
    (o.now ?? Date.now)(),
  );
  if (stale) return { ok: false, status: 422, reason: stale };
  if (body.id !== undefined && body.id !== null) return { ok: true, eventId: refund ? refundEventId(body) : orderEventId(body), topic };
  return { ok: true, eventId: `body:${createHash('sha256').update(raw).digest('hex')}`, topic };
}

export type Interpretation =
  | { ok: true; doc: Record<string, any>; topic: string; key: string; occurredAt?: string; sourceEventId?: string; channel?: string }
  | { ok: false; reason: string; raw: string | Record<string, any>; topic?: string };

/** A stored inbox event as a validated canonical document, or the reason it cannot be one. */
export function interpret(event: StoredEvent, shop: string): Interpretation {
  let kind: 'order' | 'refund';
  let body: any;
  let sourceEventId: string | undefined;
  if ('via' in event && event.via === 'poll') {
    kind = event.kind;
    body = event.body;
  } else {
    const w = event as StoredWebhook;
    sourceEventId = w.headers['x-shopify-event-id'] ?? w.headers['x-shopify-webhook-id'];
    const topic = w.topic ?? '';
    try {
      body = JSON.parse(w.body);
    } catch (err) {
      return { ok: false, reason: `webhook body is not JSON: ${(err as Error).message}`, raw: w.body, topic };
    }
    if (topic.startsWith('orders/')) kind = 'order';
    else if (topic === 'refunds/create') kind = 'refund';
    else return { ok: false, reason: `topic '${topic}' is not mapped`, raw: w.body, topic };
  }
  const raw = 'via' in event ? event.body : (event as StoredWebhook).body;
  let doc: Record<string, any>;
  try {
    doc = kind === 'order' ? mapOrder(body, shop) : mapRefund(body, shop);
  } catch (err) {
    return { ok: false, reason: (err as Error).message, raw };
  }
  const check = validateDocument(kind === 'order' ? 'order' : 'return', doc);
  if (!check.valid) return { ok: false, reason: `not a valid canonical ${kind === 'order' ? 'order' : 'return'}: ${check.errors.join('; ')}`, raw };
  const topic = kind === 'order' ? orderTopic(body) : doc.refunds?.length ? 'refund.issued' : 'return.authorized';
  return {
    ok: true,
    doc,
    topic,
    key: businessKey(doc)!,
    occurredAt: kind === 'order' ? doc.updatedAt : doc.createdAt,
    sourceEventId,
    channel: body.source_name ?? undefined,
  };
}

/** Accepts an event into the inbox (stores, then delivers if new). */
export type Accept = (eventId: string, event: PolledEvent) => Promise<{ duplicate: boolean }>;

export interface PollOptions {
  client: ShopifyClient;
  store: Store;
  accept: Accept;
  cursorKey: string;
  nodeId: string;
  /** Re-read this much before the cursor, for changes committed late (ms). */
  overlapMs: number;
  /** Where a first poll starts (ISO). */
  initialSince: string;
  pageSize?: number;
  onPage?: (info: { orders: number; accepted: number }) => void;
  /** Aborted when the node closes: no further page is requested (PollStopped). */
  signal?: AbortSignal;
}

export interface PollResult {
  pages: number;
  orders: number;
  accepted: number;
  duplicates: number;
  cursor?: string;
}

interface Cursor {
  updatedAt: string;
}

/**
 * One poll: orders updated after (cursor − overlap), page by page, each order state and each refund
 * written to the inbox before the cursor moves past it; the cursor advances with compare-and-set
 * after each page, so two instances cannot move it backwards or past unstored work.
 */
export async function pollOrders(o: PollOptions): Promise<PollResult> {
  let saved = (await o.store.kvGet(o.cursorKey)) as Cursor | undefined;
  const since = saved ? new Date(Date.parse(saved.updatedAt) - o.overlapMs).toISOString().replace(/\.\d{3}Z$/, 'Z') : o.initialSince;
  const result: PollResult = { pages: 0, orders: 0, accepted: 0, duplicates: 0, cursor: saved?.updatedAt };
  let after: string | null = null;
  let max = saved ? Date.parse(saved.updatedAt) : -Infinity;
  for (;;) {
    const page = await o.client.ordersPage({ updatedAfter: since, after, first: o.pageSize ?? 100 });
    result.pages++;
    let accepted = 0;
    for (const node of page.orders) {
      const rest = restFromGraphQL(node) as { id: string; updated_at: string; refunds?: any[] } & Record<string, any>;
      const r = await o.accept(orderEventId(rest), { via: 'poll', node: o.nodeId, kind: 'order', body: rest });
      if (r.duplicate) result.duplicates++;
      else accepted++;
      for (const refund of rest.refunds ?? []) {
        const rr = await o.accept(refundEventId(refund), { via: 'poll', node: o.nodeId, kind: 'refund', body: refund });
        if (rr.duplicate) result.duplicates++;
        else accepted++;
      }
      max = Math.max(max, Date.parse(rest.updated_at));
    }
    result.orders += page.orders.length;
    result.accepted += accepted;
    o.onPage?.({ orders: page.orders.length, accepted });
    if (Number.isFinite(max) && (!saved || max > Date.parse(saved.updatedAt))) {
      const next: Cursor = { updatedAt: new Date(max).toISOString().replace(/\.\d{3}Z$/, 'Z') };
      const wrote = await o.store.kvPut(o.cursorKey, next, saved);
      if (wrote) saved = next;
      else saved = (await o.store.kvGet(o.cursorKey)) as Cursor | undefined; // another instance moved it
      result.cursor = saved?.updatedAt;
    }
    if (!page.hasNextPage || !page.endCursor) break;
    if (o.signal?.aborted) throw new PollStopped();
    after = page.endCursor;
  }
  return result;
}
