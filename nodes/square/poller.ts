/**
 * The SearchOrders safety net, without Node-RED: every order updated since the stored cursor minus
 * an overlap window, page by page (cursor paging, oldest change first), each order written to the
 * durable inbox as `order:<id>:<version>` before the cursor moves past it. The cursor is advanced
 * with a compare-and-set (`kvPut` with the value read), so two instances never move it backwards.
 */
import type { Store } from '../runtime/store';
import { PollStopped } from '../runtime/poll-stopped';
import type { SquareClient } from './client';
import { pollEventId, PolledOrder } from './ingest';

export interface PollOptions {
  cursorKey: string;
  locationIds: string[];
  overlapMs: number;
  /** Where a first poll starts (no cursor yet). */
  initialLookbackMs: number;
  pageSize: number;
  /** Start here instead of the cursor (a backfill); the cursor still only moves forward. */
  since?: string;
  now?: () => number;
  /** Aborted when the node closes: no further page is requested (PollStopped). */
  signal?: AbortSignal;
}

/** Where the poll stores each order (a DurableInbox, or the shared poller's accept). */
export interface Acceptor {
  accept(eventId: string, payload: unknown): Promise<{ duplicate: boolean }>;
}

export interface PollReport {
  since: string;
  cursor?: string;
  pages: number;
  orders: number;
  accepted: number;
  duplicates: number;
}

interface Cursor {
  updatedAt: string;
}

export async function pollOnce(client: SquareClient, store: Store, inbox: Acceptor, o: PollOptions): Promise<PollReport> {
  const now = (o.now ?? Date.now)();
  let current = (await store.kvGet(o.cursorKey)) as Cursor | undefined;
  const since = o.since ?? (current ? new Date(Date.parse(current.updatedAt) - o.overlapMs).toISOString() : new Date(now - o.initialLookbackMs).toISOString());
  const report: PollReport = { since, cursor: current?.updatedAt, pages: 0, orders: 0, accepted: 0, duplicates: 0 };
  for await (const page of client.ordersUpdatedSince(o.locationIds, since, o.pageSize)) {
    report.pages++;
    let newest: string | undefined;
    for (const order of page.orders) {
      const payload: PolledOrder = { via: 'poll', order };
      const r = await inbox.accept(pollEventId(order), payload);
      report.orders++;
      if (r.duplicate) report.duplicates++;
      else report.accepted++;
      if (!newest || Date.parse(order.updated_at) > Date.parse(newest)) newest = order.updated_at;
    }
    // The page is stored: move the cursor forward (never back) with a compare-and-set.
    for (let i = 0; newest && i < 10; i++) {
      if (current && Date.parse(current.updatedAt) >= Date.parse(newest)) break;
      if (await store.kvPut(o.cursorKey, { updatedAt: newest }, current)) {
        current = { updatedAt: newest };
        break;
      }
      current = (await store.kvGet(o.cursorKey)) as Cursor | undefined;
    }
    report.cursor = current?.updatedAt;
    if (page.cursor && o.signal?.aborted) throw new PollStopped();
  }
  return report;
}
