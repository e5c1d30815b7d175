/**
 * The order index (docs/architecture.md, "The store"): which channel orders Tillwire took in (and
 * sales a channel settles, e.g. Square in-store sales), with their gross, and which an ERP
 * accepted, with the ERP's ref. The order pollers and webhook deliveries record the first side,
 * the ERP node the second; settlement reconciliation reads both through `orderMatcherFor`
 * (docs/settlements.md, "Reconciliation").
 */
import type { OrderMatchBatch, OrderMatcher } from '../model/order-match';
import type { ChannelOrderRef, OrderIndexScope, OrderSeen, SettledOrder, Store } from './store';

/**
 * The channel order a canonical document is, or undefined: an order (kind "order", its channel
 * system and id), or a sale a channel took and settles (kind "sale" with a channel, e.g. a Square
 * in-store sale: its payouts name the Square order id). A till sale over MQTT carries no channel
 * and is no channel order; nor is a sale no payout names: one paid only in cash, or one that
 * takes no money in (a return's refund settles against the original order, which is indexed).
 */
export function channelOrderOf(doc: unknown): ChannelOrderRef | undefined {
  const d = doc as { kind?: unknown; channel?: { system?: unknown; account?: unknown; id?: unknown } } | null;
  if (!d || typeof d !== 'object' || (d.kind !== 'order' && !(d.kind === 'sale' && channelSettles(doc)))) return undefined;
  const { system, account, id } = d.channel ?? {};
  if (typeof system !== 'string' || typeof id !== 'string' || !system || !id) return undefined;
  return { system, account: typeof account === 'string' ? account : '', orderId: id };
}

/** Whether the channel took some of a sale's money: a positive total and a tender other than cash. */
function channelSettles(doc: unknown): boolean {
  const { totals, tenders } = doc as { totals?: { grandTotal?: { amount?: unknown } }; tenders?: unknown };
  const total = totals?.grandTotal?.amount;
  return typeof total === 'number' && total > 0 && Array.isArray(tenders) && tenders.some((t) => (t as { type?: unknown } | null)?.type !== 'cash');
}

/**
 * A canonical channel order as an index row of what Tillwire saw (its grandTotal as the gross,
 * placed at an order's createdAt or a sale's occurredAt; a sale's status is "completed"), or undefined.
 */
export function orderSeenOf(doc: unknown): OrderSeen | undefined {
  const ref = channelOrderOf(doc);
  const gross = (doc as { totals?: { grandTotal?: { amount?: unknown; currency?: unknown } } }).totals?.grandTotal;
  if (!ref || !gross || !Number.isSafeInteger(gross.amount) || typeof gross.currency !== 'string') return undefined;
  const sale = (doc as { kind: string }).kind === 'sale';
  const { createdAt, occurredAt, status } = doc as { createdAt?: unknown; occurredAt?: unknown; status?: unknown };
  const placedAt = sale ? occurredAt : createdAt;
  const state = sale ? 'completed' : status;
  return {
    ...ref,
    gross: gross.amount as number,
    currency: gross.currency,
    ...(typeof placedAt === 'string' && !Number.isNaN(Date.parse(placedAt)) ? { placedAt } : {}),
    ...(typeof state === 'string' && state ? { status: state } : {}),
  };
}

/**
 * Writes to the order index that never fail the order they describe: a failed write is caught,
 * counted and reported (`report`, e.g. node.warn), and the order goes on as if it had succeeded.
 *
 * Why: the index is evidence for reconciling settlements days later, not part of delivering the
 * order. Holding or dead-lettering an order because its index row could not be written would trade
 * a customer's order for a bookkeeping convenience; a missing row instead shows up later as a named
 * "not known to Tillwire / not in the ERP" variance that someone can look at.
 */
export class OrderIndexWriter {
  /** Writes that failed since this writer was made. */
  failures = 0;

  /** `store`: the store, or how to get it (a node's store binding); failing to get it counts as a failed write. */
  constructor(
    private readonly store: Store | (() => Promise<Store>),
    private readonly report: (message: string) => void,
  ) {}

  /** Records a canonical channel order (or channel-settled sale) Tillwire took in (anything else is ignored). */
  async seen(doc: unknown): Promise<void> {
    const row = orderSeenOf(doc);
    if (row) await this.guard(row, undefined, async (store) => store.orderSeen([row]));
  }

  /** Records the ref `erpSystem` gave the channel order `doc` (anything but a channel order is ignored). */
  async accepted(doc: unknown, erpSystem: string, erpRef: string | undefined): Promise<void> {
    const ref = channelOrderOf(doc);
    if (ref && erpRef) await this.guard(ref, undefined, async (store) => store.orderAccepted(ref, erpSystem, erpRef));
  }

  /**
   * Records the orders a settlement settled, replacing what an earlier version of it recorded, in
   * batches of SETTLED_BATCH rows (a settlement may name hundreds of thousands of orders). A failure
   * part-way leaves the rows written so far; sending the settlement again writes them all anew.
   */
  async settled(settlement: { system: string; account: string; settlementId: string }, rows: Iterable<SettledOrder>): Promise<void> {
    const what = `${settlement.system} settlement ${settlement.settlementId}: its settled orders were not recorded`;
    const after = 'the settlement went on; control totals will show its orders as not settled until it is sent again';
    await this.guard(what, after, async (store) => {
      let batch: SettledOrder[] = [];
      let first = true;
      const flush = async () => {
        if (first) await store.settledOrdersReplace(settlement, batch);
        else await store.settledOrdersAdd(batch);
        first = false;
        batch = [];
      };
      for (const row of rows) {
        batch.push(row);
        if (batch.length >= SETTLED_BATCH) await flush();
      }
      if (first || batch.length) await flush();
    });
  }

  private async guard(what: ChannelOrderRef | string, after: string | undefined, write: (store: Store) => Promise<void>): Promise<void> {
    try {
      await write(typeof this.store === 'function' ? await this.store() : this.store);
    } catch (err) {
      this.failures++;
      const subject = typeof what === 'string' ? what : `order index: ${what.system} order ${what.orderId} not recorded`;
      this.report(
        `${subject} (${(err as Error).message}); ${after ?? 'the order went on'}, ${this.failures} index write(s) failed so far` +
          (after ? '' : ': reconciliation will name it as unmatched'),
      );
    }
  }
}

/** Settled-order rows per store call. */
export const SETTLED_BATCH = 1000;

/**
 * The OrderMatcher settlement reconciliation asks, answered from the order index: one store query
 * per batch of ids. `scope` narrows it to one channel system (and account), e.g. the settlement's;
 * without it an id matches in any system.
 */
export function orderMatcherFor(store: Store, scope: OrderIndexScope = {}): OrderMatcher {
  return {
    async match(orderIds: readonly string[]): Promise<OrderMatchBatch> {
      const rows = await store.orderMatch(orderIds, scope);
      const tillwire: Array<{ orderId: string; gross?: { amount: number; currency: string } }> = [];
      const erp: string[] = [];
      // Without a scope one id may be a row in several systems: each side names it once.
      const once = scope.system === undefined || scope.account === undefined ? { seen: new Set<string>(), erp: new Set<string>() } : undefined;
      for (const r of rows) {
        if (r.seen && !once?.seen.has(r.orderId)) {
          once?.seen.add(r.orderId);
          const gross = r.gross !== null && r.currency !== null ? { amount: r.gross, currency: r.currency } : undefined;
          tillwire.push(gross ? { orderId: r.orderId, gross } : { orderId: r.orderId });
        }
        if (r.accepted && !once?.erp.has(r.orderId)) {
          once?.erp.add(r.orderId);
          erp.push(r.orderId);
        }
      }
      return { tillwire, erp };
    },
  };
}
