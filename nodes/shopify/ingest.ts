/**
 * What the Shopify webhook node and orders poller share, with no Node-RED import: one inbox per shop
 * (source `shopify:<shop>`), event ids that make a webhook and a poll of the same order state the
 * same inbox event, webhook verification, the interpretation of a stored event as a canonical
 * message, and the poll loop with its compare-and-set cursor.
 */
import type { IncomingMessage } from 'node:http';
import { hmacSha256Base64, safeEqual, type StoredWebhook, type Verification } from '../runtime/webhook';
import type { Store } from '../runtime/store';
import { validateDocument, businessKey } from '../model/validate';
import { mapOrder, mapRefund, orderEventId, orderTopic, refundEventId, restFromGraphQL } from './map';
import type { ShopifyClient } from './client';

export const inboxSource = (shop: string) => `shopify:${shop}`;

export const WEBHOOK_TOPICS = ['orders/create', 'orders/updated', 'orders/cancelled', 'refunds/create'];
export const KEEP_HEADERS = ['x-shopify-topic', 'x-shopify-event-id', 'x-shopify-webhook-id', 'x-shopify-shop-domain', 'x-shopify-api-version', 'x-shopify-triggered-at'];

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

/**
 * Verifies `X-Shopify-Hmac-Sha256` over the raw bytes against each secret (current first; the
 * previous one during a rotation) in constant time, then names the inbox event: the order state
 * (`order:<id>:<updated_at>`) for order topics, `refund:<id>` for refunds, else the
 * `X-Shopify-Event-Id`. Repeats of one Shopify event have identical bodies, so they get one id.
 */
export function verifyWebhook(secrets: string[], topics: string[], raw: Buffer, headers: IncomingMessage['headers']): Verification {
  const given = header(headers, 'x-shopify-hmac-sha256');
  if (!given) return { ok: false, status: 401, reason: 'X-Shopify-Hmac-Sha256 header missing' };
  const usable = secrets.filter(Boolean);
  if (!usable.length) return { ok: false, status: 401, reason: 'no webhook secret configured' };
  let match = false;
  for (const s of usable) if (safeEqual(given, hmacSha256Base64(s, raw))) match = true;
  if (!match) return { ok: false, status: 401, reason: 'signature does not match' };
  const topic = header(headers, 'x-shopify-topic') ?? '';
  const eventId = header(headers, 'x-shopify-event-id') ?? header(headers, 'x-shopify-webhook-id');
  if (topics.length && !topics.includes(topic)) return { ok: false, status: 400, reason: `topic '${topic}' is not served here` };
  let body: any;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    body = undefined;
  }
  if (topic.startsWith('orders/') && body?.id !== undefined && typeof body.updated_at === 'string' && !Number.isNaN(Date.parse(body.updated_at))) {
    return { ok: true, eventId: orderEventId(body), topic };
  }
  if (topic === 'refunds/create' && body?.id !== undefined) return { ok: true, eventId: refundEventId(body), topic };
  if (!eventId) return { ok: false, status: 400, reason: 'X-Shopify-Event-Id header missing' };
  return { ok: true, eventId: `event:${eventId}`, topic };
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
  return { ok: true, doc, topic, key: businessKey(doc)!, occurredAt: kind === 'order' ? doc.updatedAt : doc.createdAt, sourceEventId, channel: body.source_name ?? undefined };
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
    after = page.endCursor;
  }
  return result;
}
