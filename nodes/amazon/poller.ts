/**
 * One poll of Amazon orders (no Node-RED import): getOrders on LastUpdatedAfter = cursor − overlap,
 * NextToken paging, getOrderItems for every priced order (paced by that operation's bucket, a few
 * in flight to hide latency), each order state written to the durable inbox under the event id
 * `order:<AmazonOrderId>:<LastUpdateDate>` (so the overlap and re-polls never deliver a state
 * twice), and only then the cursor advanced, compare-and-set, to the window's upper bound that
 * Amazon reported (`LastUpdatedBefore`).
 *
 * Pending orders are held: Amazon sends them without prices, so they are not stored or emitted.
 * When Amazon prices one (Pending → Unshipped) its LastUpdateDate moves forward, so a later poll
 * sees it again; holding needs no state of its own.
 *
 * With the Orders API 2026-01-01 (the default) the same step runs on searchOrders
 * (`lastUpdatedAfter`, `paginationToken`, includedData for money, status, buyer and payment):
 * items come inline, so there is no per-order request; the event id is
 * `order:<orderId>:<lastUpdatedTime>`, the same as v0's for the same order state, so switching
 * versions does not deliver a state twice.
 */
import type { Store } from '../runtime/store';
import { TaskGroup } from '../runtime/limiter';
import type { AmazonClient } from './client';
import { isUnpriced } from './map';
import { isUnpricedV2026 } from './map-v2026';
import type { OrdersApiVersion } from './contract';
import { PollStopped } from '../runtime/poll-stopped';
import { createHash } from 'node:crypto';

/** One polled order state: v0's order and items, or (apiVersion '2026-01-01') the order alone. */
export interface PolledOrder {
  order: Record<string, any>;
  items: Record<string, any>[];
  apiVersion?: '2026-01-01';
}

/** The order id, marketplace and last update of a polled order, whichever version fetched it. */
export function factsOf(polled: PolledOrder): { id: string; marketplaceId: string; lastUpdate: string } {
  const o = polled.order;
  return polled.apiVersion === '2026-01-01'
    ? { id: o.orderId, marketplaceId: String(o.salesChannel?.marketplaceId), lastUpdate: o.lastUpdatedTime }
    : { id: o.AmazonOrderId, marketplaceId: String(o.MarketplaceId), lastUpdate: o.LastUpdateDate };
}

export interface Cursor {
  /** Orders updated up to this instant (inclusive) have been stored. */
  lastUpdatedBefore: string;
}

export interface PollOptions {
  client: AmazonClient;
  store: Store;
  cursorKey: string;
  marketplaceIds: string[];
  /** Writes one order state to the durable inbox; resolves once it is stored. */
  accept: (eventId: string, polled: PolledOrder) => Promise<{ duplicate: boolean }>;
  /** Re-read this much before the cursor (Amazon's index may lag). */
  overlapMs?: number;
  /** Where the very first poll starts. */
  startAt: () => string;
  pageSize?: number;
  /** getOrderItems requests in flight at once (their bucket still paces them). */
  concurrency?: number;
  onPage?: (info: { orders: number; page: number }) => void;
  /** Aborted when the node closes: no new request starts, the cursor stays where it was. */
  signal?: AbortSignal;
  /** Orders API version (default '2026-01-01'). */
  apiVersion?: OrdersApiVersion;
}

export interface PollResult {
  pages: number;
  orders: number;
  accepted: number;
  duplicates: number;
  held: string[];
  from: string;
  cursor: string;
  /** False when another instance advanced the cursor first (nothing is lost: the inbox dedupes). */
  advanced: boolean;
}

/**
 * The inbox event id of a 2026-01-01 order state. An order without an id or update time gets one
 * from its content, so two malformed orders are not taken for one: each reaches the mapping and
 * the dead-letter store with its own payload.
 */
export function eventIdForV2026(order: Record<string, any>): string {
  if (typeof order.orderId === 'string' && order.orderId && typeof order.lastUpdatedTime === 'string') return `order:${order.orderId}:${order.lastUpdatedTime}`;
  return `malformed:${createHash('sha256').update(JSON.stringify(order)).digest('hex')}`;
}

export function eventIdFor(order: Record<string, any>): string {
  return `order:${order.AmazonOrderId}:${order.LastUpdateDate}`;
}

export async function pollOnce(o: PollOptions): Promise<PollResult> {
  const previous = (await o.store.kvGet(o.cursorKey)) as Cursor | undefined;
  const base = previous?.lastUpdatedBefore ?? o.startAt();
  const from = new Date(Date.parse(base) - (previous ? (o.overlapMs ?? 0) : 0)).toISOString();
  const items = new TaskGroup(o.concurrency ?? 8, () => !!o.signal?.aborted);
  const result: PollResult = { pages: 0, orders: 0, accepted: 0, duplicates: 0, held: [], from, cursor: base, advanced: false };
  let upper: string | undefined;
  let latest: string | undefined;
  let next: string | undefined;
  if ((o.apiVersion ?? '2026-01-01') === '2026-01-01') {
    try {
      do {
        const page = await o.client.searchOrders({
          marketplaceIds: o.marketplaceIds,
          lastUpdatedAfter: from,
          maxResultsPerPage: o.pageSize ?? 100,
          paginationToken: next,
        });
        result.pages++;
        upper ??= page.lastUpdatedBefore;
        o.onPage?.({ orders: page.orders.length, page: result.pages });
        for (const order of page.orders) {
          result.orders++;
          if (!latest || order.lastUpdatedTime > latest) latest = order.lastUpdatedTime;
          if (isUnpricedV2026(order)) {
            result.held.push(order.orderId);
            continue;
          }
          const { duplicate } = await o.accept(eventIdForV2026(order), { order, items: [], apiVersion: '2026-01-01' });
          if (duplicate) result.duplicates++;
          else result.accepted++;
        }
        next = page.pagination?.nextToken || undefined;
      } while (next && !o.signal?.aborted);
    } catch (err) {
      await items.fail(err);
    }
  } else
    try {
      do {
        const page = await o.client.getOrders(
          next
            ? { MarketplaceIds: o.marketplaceIds, NextToken: next }
            : { MarketplaceIds: o.marketplaceIds, LastUpdatedAfter: from, MaxResultsPerPage: o.pageSize ?? 100 },
        );
        result.pages++;
        upper ??= page.LastUpdatedBefore;
        o.onPage?.({ orders: page.Orders.length, page: result.pages });
        for (const order of page.Orders) {
          result.orders++;
          if (!latest || order.LastUpdateDate > latest) latest = order.LastUpdateDate;
          if (isUnpriced(order)) {
            result.held.push(order.AmazonOrderId);
            continue;
          }
          items.add(async () => {
            const orderItems = await o.client.getOrderItems(order.AmazonOrderId);
            const { duplicate } = await o.accept(eventIdFor(order), { order, items: orderItems });
            if (duplicate) result.duplicates++;
            else result.accepted++;
          });
        }
        next = page.NextToken || undefined;
      } while (next && !items.failed && !o.signal?.aborted);
    } catch (err) {
      // A page failed: the item requests already begun finish (or fail) first.
      await items.fail(err);
    }
  await items.settle();
  // Stopped part-way: what was stored stays stored; the next poll repeats the window.
  if (o.signal?.aborted) throw new PollStopped();
  // Advance to the window's upper bound Amazon reported; without one, to the newest order seen.
  const cursor = upper ?? latest ?? base;
  result.cursor = cursor;
  const value: Cursor = { lastUpdatedBefore: cursor };
  result.advanced = cursor === base ? true : await o.store.kvPut(o.cursorKey, value, previous);
  return result;
}
