/**
 * Square payouts as canonical Settlements, on the Square client (no Node-RED import):
 * - readPayoutSettlement: one payout's entries (every page), the orders its payments paid
 *   (GetPayment, once per payment), mapped by payout-map.ts;
 * - pollPayouts: one poll step over the connection's locations. The cursor (creation time the next
 *   ListPayouts starts from) lives in the store; a payout is handed on once per final state (PAID or
 *   FAILED), decided by a store claim on `<payout id>:<status>`, so two instances sharing a store,
 *   or a restart, do not hand it on twice. A payout still SENT holds the cursor back until it ends.
 */
import { ConnectorError } from '../runtime/errors';
import type { Store } from '../runtime/store';
import type { Settlement } from '../model/types.generated';
import { DEFAULT_BOUNDS } from '../model/validate';
import type { SquareClient } from './client';
import { FINAL_PAYOUT_STATUSES, type PayoutStatus } from './contract';
import { PayoutMappingError, paymentIdOf, payoutToSettlement, type PaymentOrder } from './payout-map';
import type { SqPayout, SqPayoutEntry } from './types';

/** The claim scope of emitted payout states. */
export const PAYOUT_CLAIM_SCOPE = 'square-payout';
/** How long an emitted payout state is remembered (Square serves a year of payouts by default). */
export const PAYOUT_CLAIM_RETENTION_MS = 400 * 86_400_000;

export async function readPayoutSettlement(client: SquareClient, payout: SqPayout, opts: { linkOrders?: boolean } = {}): Promise<Settlement> {
  const entries: SqPayoutEntry[] = [];
  for await (const e of client.listPayoutEntries(payout.id)) {
    if (entries.length >= DEFAULT_BOUNDS.maxStatementLines)
      throw new PayoutMappingError('too-large', payout.id, `more than ${DEFAULT_BOUNDS.maxStatementLines} payout entries`);
    entries.push(e);
  }
  const orders = new Map<string, PaymentOrder | undefined>();
  if (opts.linkOrders !== false) {
    for (const e of entries) {
      const paymentId = paymentIdOf(e);
      if (!paymentId || orders.has(paymentId)) continue;
      orders.set(paymentId, await orderOfPayment(client, paymentId));
    }
  }
  return payoutToSettlement(payout, entries, { orderOf: (p) => orders.get(p) });
}

/** The order a payment paid; undefined when Square knows no such payment or it has no order. */
async function orderOfPayment(client: SquareClient, paymentId: string): Promise<PaymentOrder | undefined> {
  try {
    const p = await client.getPayment(paymentId);
    return p?.order_id ? { orderId: p.order_id, ...(p.location_id ? { locationId: p.location_id } : {}) } : undefined;
  } catch (err) {
    if (err instanceof ConnectorError && err.details.status === 404) return undefined;
    throw err;
  }
}

export interface PayoutPollOptions {
  cursorKey: string;
  locationIds: string[];
  /** First poll: payouts created this far back. */
  lookbackMs: number;
  /** Each poll starts this far before the cursor (a payout listed late); the claims keep them single. */
  overlapMs?: number;
  linkOrders?: boolean;
  now?: () => number;
  signal?: AbortSignal;
}

export interface PayoutPollReport {
  listed: number;
  emitted: number;
  /** Payouts still SENT. */
  inTransit: number;
  refused: number;
  since: string;
}

export interface PayoutSinks {
  /** Hands a settlement on; the payout state counts as emitted once this resolves. */
  settlement(settlement: Settlement, payout: SqPayout): Promise<void> | void;
  /** A payout that cannot be mapped (it is not retried: the problem is in its figures). */
  refused(error: PayoutMappingError, payout: SqPayout): Promise<void> | void;
}

interface Cursor {
  since: string;
}

export async function pollPayouts(client: SquareClient, store: Store, opts: PayoutPollOptions, sinks: PayoutSinks): Promise<PayoutPollReport> {
  const now = opts.now ?? Date.now;
  const stored = (await store.kvGet(opts.cursorKey)) as Cursor | undefined;
  const since = stored?.since ?? new Date(now() - opts.lookbackMs).toISOString();
  const begin = new Date(Date.parse(since) - (stored ? (opts.overlapMs ?? 86_400_000) : 0)).toISOString();
  const report: PayoutPollReport = { listed: 0, emitted: 0, inTransit: 0, refused: 0, since };
  let oldestOpen: number | undefined;
  let newest: number | undefined;
  for (const location_id of opts.locationIds) {
    for await (const payout of client.listPayouts({ location_id, begin_time: begin, sort_order: 'ASC' })) {
      if (opts.signal?.aborted) return report;
      report.listed++;
      const created = Date.parse(payout.created_at ?? '');
      if (!Number.isNaN(created)) newest = Math.max(newest ?? created, created);
      if (!FINAL_PAYOUT_STATUSES.includes(payout.status as PayoutStatus)) {
        report.inTransit++;
        if (!Number.isNaN(created)) oldestOpen = Math.min(oldestOpen ?? created, created);
        continue;
      }
      const key = `${payout.id}:${payout.status}`;
      const claim = await store.claim(PAYOUT_CLAIM_SCOPE, key);
      if (claim.outcome !== 'claimed') continue;
      try {
        const settlement = await readPayoutSettlement(client, payout, { linkOrders: opts.linkOrders });
        // Closed while reading: the claim is given back, so the next start hands the payout on (a
        // settlement sent now could reach a stopped flow and be lost with its claim confirmed).
        if (opts.signal?.aborted) {
          await store.release(PAYOUT_CLAIM_SCOPE, key, claim.token);
          return report;
        }
        await sinks.settlement(settlement, payout);
        report.emitted++;
      } catch (err) {
        if (!(err instanceof PayoutMappingError)) {
          await store.release(PAYOUT_CLAIM_SCOPE, key, claim.token);
          throw err;
        }
        await sinks.refused(err, payout);
        report.refused++;
      }
      await store.confirm(PAYOUT_CLAIM_SCOPE, key, claim.token, PAYOUT_CLAIM_RETENTION_MS);
    }
  }
  // The next poll starts at the oldest payout still on its way, else at the newest one seen.
  const next = oldestOpen ?? newest;
  if (next !== undefined && next !== Date.parse(since)) {
    const value: Cursor = { since: new Date(oldestOpen !== undefined ? next : Math.max(next, Date.parse(since))).toISOString() };
    await store.kvPut(opts.cursorKey, value, stored);
    report.since = value.since;
  }
  return report;
}
