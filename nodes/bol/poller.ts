/**
 * One poll of bol.com orders (no Node-RED import). bol filters the order list by the DAY an order
 * item last changed (`latest-change-date`, yyyy-MM-dd), not by an instant, so a poll:
 *
 * 1. takes the window [cursor − overlap, now] (the first poll: [startAt, now]; never more than
 *    three months back, bol's limit), and lists every day it touches, plus the day before (bol's
 *    day may be Amsterdam's, which starts before UTC's), `status=ALL`, page by page until a page
 *    comes back empty;
 * 2. skips orders whose newest item change is before the window (already delivered) and orders it
 *    has already seen in this poll (an order changed on two days is listed twice);
 * 3. for each remaining order, `GET /retailer/orders/{id}` within that group's bucket (a few in
 *    flight), and writes the order state to the durable inbox under the event id
 *    `order:<orderId>:<newest latestChangedDateTime>`: the overlap and re-polls never deliver a
 *    state twice;
 * 4. only when the whole window is stored, advances the cursor to the window's upper bound,
 *    compare-and-set. A failed poll leaves the cursor where it was; the next poll repeats it.
 */
import type { Store } from '../runtime/store';
import { TaskGroup } from '../runtime/limiter';
import type { BolClient } from './client';
import { latestChange } from './map';
import { PollStopped } from '../runtime/poll-stopped';

export interface Cursor {
  /** Every order change up to this instant has been stored. */
  lastPolledAt: string;
}

export interface PollOptions {
  client: BolClient;
  store: Store;
  cursorKey: string;
  accept: (eventId: string, order: Record<string, any>) => Promise<{ duplicate: boolean }>;
  /** Re-read this much before the cursor (bol's clock and ours, late indexing). */
  overlapMs?: number;
  /** Where the very first poll starts (ISO instant). */
  startAt: () => string;
  fulfilmentMethod?: 'FBR' | 'FBB' | 'ALL';
  /** Order detail requests in flight at once (their bucket still paces them). */
  concurrency?: number;
  now?: () => number;
  /** Event ids recently stored by this poller: their details are not fetched again. */
  recent?: Set<string>;
  /** Aborted when the node closes: no new request starts, the cursor stays where it was. */
  signal?: AbortSignal;
}

export interface PollResult {
  days: string[];
  pages: number;
  listed: number;
  fetched: number;
  accepted: number;
  duplicates: number;
  from: string;
  cursor: string;
  /** False when another instance advanced the cursor first (nothing is lost: the inbox dedupes). */
  advanced: boolean;
}

const DAY = 86_400_000;
/** bol keeps order changes for three months; older days are refused. */
export const MAX_LOOKBACK_MS = 90 * DAY;

export function eventIdFor(order: Record<string, any>): string {
  return `order:${order.orderId}:${latestChange(order)}`;
}

/** The UTC days (yyyy-MM-dd) from the day before `from` to the day of `to`. */
export function daysBetween(fromMs: number, toMs: number): string[] {
  const days: string[] = [];
  const start = Math.floor(fromMs / DAY) - 1;
  const end = Math.floor(toMs / DAY);
  for (let d = start; d <= end; d++) days.push(new Date(d * DAY).toISOString().slice(0, 10));
  return days;
}

export async function pollOnce(o: PollOptions): Promise<PollResult> {
  const now = (o.now ?? Date.now)();
  const previous = (await o.store.kvGet(o.cursorKey)) as Cursor | undefined;
  const base = previous ? Date.parse(previous.lastPolledAt) - (o.overlapMs ?? 0) : Date.parse(o.startAt());
  const from = Math.max(base, now - MAX_LOOKBACK_MS + DAY);
  const upper = new Date(now).toISOString();
  const result: PollResult = {
    days: daysBetween(from, now),
    pages: 0,
    listed: 0,
    fetched: 0,
    accepted: 0,
    duplicates: 0,
    from: new Date(from).toISOString(),
    cursor: upper,
    advanced: false,
  };
  const seen = new Set<string>();
  const details = new TaskGroup(o.concurrency ?? 4, () => !!o.signal?.aborted);
  try {
    for (const day of result.days) {
      for (let page = 1; !details.failed && !o.signal?.aborted; page++) {
        const orders = await o.client.listOrders({ page, status: 'ALL', fulfilmentMethod: o.fulfilmentMethod ?? 'ALL', latestChangeDate: day });
        result.pages++;
        if (!orders.length) break;
        for (const reduced of orders) {
          result.listed++;
          if (seen.has(reduced.orderId)) continue;
          seen.add(reduced.orderId);
          const changed = Date.parse(latestChange(reduced));
          if (changed < from) continue;
          if (o.recent?.has(eventIdFor(reduced))) continue;
          details.add(async () => {
            const order = await o.client.getOrder(reduced.orderId);
            result.fetched++;
            const eventId = eventIdFor(order);
            const { duplicate } = await o.accept(eventId, order);
            o.recent?.add(eventId);
            if (duplicate) result.duplicates++;
            else result.accepted++;
          });
        }
      }
      if (details.failed) break;
    }
  } catch (err) {
    // A list page failed: the detail requests already begun finish (or fail) first.
    await details.fail(err);
  }
  await details.settle();
  // Stopped part-way: what was stored stays stored; the next poll repeats the window.
  if (o.signal?.aborted) throw new PollStopped();
  const value: Cursor = { lastPolledAt: upper };
  result.advanced = await o.store.kvPut(o.cursorKey, value, previous);
  return result;
}
