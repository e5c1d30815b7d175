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
 */
import type { Store } from '../runtime/store';
import { TaskGroup } from '../runtime/limiter';
import type { AmazonClient } from './client';
import { isUnpriced } from './map';
import { PollStopped } from '../runtime/poll-stopped';

export interface PolledOrder {
  order: Record<string, any>;
  items: Record<string, any>[];
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
