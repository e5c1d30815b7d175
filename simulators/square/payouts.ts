/**
 * The Square simulator's Payouts API (nodes/square/contract.ts, "Payouts API"), built from the
 * payments and refunds the simulator itself served, so a demo's settlements match its orders:
 * - `createPayouts` gathers each location's card payments and completed refunds not yet paid out
 *   into one BATCH payout: a CHARGE entry per payment (Square's processing fee taken), a REFUND
 *   entry per refund (its share of the fee given back), and on request a reserve held or released,
 *   a dispute, an adjustment and a transfer fee beside the entries. Amount = Σ entry nets − fees.
 * - A payout starts SENT; `settlePayout` makes it PAID or FAILED (the bank refused it).
 * - ListPayouts (location_id, status, begin_time ≤ created_at < end_time, sort_order, limit ≤ 100,
 *   cursors bound to their query), GetPayout, ListPayoutEntries (sort_order, limit, cursor), and
 *   GetPayment (the payment's order_id).
 */
import { createHash } from 'node:crypto';
import { PAYOUTS_MAX_PAGE } from '../../nodes/square/contract';
import { percentOf } from '../../nodes/square/pricing';
import type { SqOrder, SqPayment, SqPaymentRefund, SqPayout, SqPayoutEntry } from '../../nodes/square/types';

export interface PayoutExtras {
  /** Only this location (default: every location with something to pay out). */
  locationId?: string;
  /** Square's processing fee on a card payment, percent as decimal text (default "2.5"). */
  feePercent?: string;
  /** Money held back in reserve (minor units, positive = held). */
  reserveHold?: number;
  /** Reserve released back into the payout (minor units, positive). */
  reserveRelease?: number;
  /** A dispute on the first payment paid out (the disputed amount is taken back). */
  dispute?: boolean;
  /** A manual adjustment by Square (signed minor units). */
  adjustment?: number;
  /** A transfer fee on the payout (minor units, positive). */
  transferFee?: number;
  /** State the payout is created in (default SENT). */
  status?: 'SENT' | 'PAID' | 'FAILED';
}

export class SimApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
    readonly field?: string,
  ) {
    super(detail);
  }
}

/** What the payouts book reads from the simulator it belongs to. */
export interface PayoutSource {
  orders: ReadonlyMap<string, SqOrder>;
  refunds: ReadonlyMap<string, SqPaymentRefund>;
  stamp(): string;
  newId(prefix: string): string;
}

export class PayoutBook {
  readonly payouts = new Map<string, SqPayout>();
  readonly entries = new Map<string, SqPayoutEntry[]>();
  /** Payment and refund ids already in a payout. */
  private readonly paidOut = new Set<string>();

  constructor(private readonly sim: PayoutSource) {}

  /** The card payments the simulator took: one per CARD tender of a completed order. */
  payments(): SqPayment[] {
    const out: Array<SqPayment & { amount: number; currency: string; created_at?: string }> = [];
    for (const o of this.sim.orders.values())
      for (const t of o.tenders ?? [])
        if (t.type === 'CARD' && t.payment_id)
          out.push({
            id: t.payment_id,
            order_id: o.id,
            location_id: o.location_id,
            status: 'COMPLETED',
            amount: t.amount_money.amount,
            currency: t.amount_money.currency,
            created_at: t.created_at,
          });
    return out;
  }

  getPayment(id: string): Record<string, unknown> {
    const p = this.payments().find((x) => x.id === id) as any;
    if (!p) throw new SimApiFailure(404, 'NOT_FOUND', `payment ${id} not found`);
    return {
      id: p.id,
      order_id: p.order_id,
      location_id: p.location_id,
      status: p.status,
      amount_money: { amount: p.amount, currency: p.currency },
      created_at: p.created_at,
    };
  }

  /** One payout per location with unpaid card payments or refunds (or the extras asked for); returns them. */
  createPayouts(extras: PayoutExtras = {}): SqPayout[] {
    const created: SqPayout[] = [];
    const payments = this.payments() as Array<SqPayment & { amount: number; currency: string; created_at?: string }>;
    const locations = new Set(payments.map((p) => p.location_id!).filter((l) => !extras.locationId || l === extras.locationId));
    if (extras.locationId) locations.add(extras.locationId);
    for (const location of locations) {
      const at = this.sim.stamp();
      const payoutId = `po_${this.sim.newId('PO').toLowerCase()}`;
      const entries: SqPayoutEntry[] = [];
      const fee = (amount: number) => percentOf(Math.abs(amount), extras.feePercent ?? '2.5') * Math.sign(amount);
      let currency: string | undefined;
      const entry = (type: string, gross: number, feeAmount: number, details?: Record<string, unknown>, effective = at) => {
        const m = (amount: number) => ({ amount, currency: currency! });
        entries.push({
          id: `poe_${this.sim.newId('POE').toLowerCase()}`,
          payout_id: payoutId,
          effective_at: effective,
          type,
          gross_amount_money: m(gross),
          fee_amount_money: m(feeAmount),
          net_amount_money: m(gross - feeAmount),
          ...(details ? { [`type_${type.toLowerCase()}_details`]: details } : {}),
        });
      };
      const mine = payments.filter((p) => p.location_id === location && !this.paidOut.has(p.id));
      for (const p of mine) {
        currency ??= p.currency;
        entry('CHARGE', p.amount, fee(p.amount), { payment_id: p.id }, p.created_at);
        this.paidOut.add(p.id);
      }
      for (const r of this.sim.refunds.values()) {
        if (r.status !== 'COMPLETED' || this.paidOut.has(r.id)) continue;
        const paid = payments.find((p) => p.id === r.payment_id);
        if (!paid || paid.location_id !== location) continue;
        currency ??= r.amount_money.currency;
        // The refund takes the money back; Square gives back its fee on that share.
        entry('REFUND', -r.amount_money.amount, -fee(r.amount_money.amount), { payment_id: r.payment_id, refund_id: r.id }, r.updated_at);
        this.paidOut.add(r.id);
      }
      currency ??= [...this.sim.orders.values()].find((o) => o.location_id === location)?.total_money.currency;
      if (!currency) continue;
      if (extras.reserveHold) entry('RESERVE_HOLD', -extras.reserveHold, 0);
      if (extras.reserveRelease) entry('RESERVE_RELEASE', extras.reserveRelease, 0);
      if (extras.dispute && mine[0]) entry('DISPUTE', -mine[0].amount, 0, { payment_id: mine[0].id, dispute_id: this.sim.newId('DSP') });
      if (extras.adjustment) entry('ADJUSTMENT', extras.adjustment, 0);
      if (!entries.length) continue;
      const net = entries.reduce((s, e) => s + e.net_amount_money!.amount, 0) - (extras.transferFee ?? 0);
      if (net === 0) continue; // Square never pays out zero
      const payout: SqPayout = {
        id: payoutId,
        status: 'SENT',
        location_id: location,
        created_at: at,
        updated_at: at,
        amount_money: { amount: net, currency },
        destination: { type: 'BANK_ACCOUNT', id: `bact:${location}` },
        version: 1,
        type: 'BATCH',
        ...(extras.transferFee ? { payout_fee: [{ amount_money: { amount: extras.transferFee, currency }, effective_at: at, type: 'TRANSFER_FEE' }] } : {}),
        arrival_date: new Date(Date.parse(at) + 86_400_000).toISOString().slice(0, 10),
        end_to_end_id: `L${String(this.payouts.size + 1).padStart(10, '0')}`,
      };
      this.payouts.set(payoutId, payout);
      this.entries.set(payoutId, entries);
      if (extras.status && extras.status !== 'SENT') this.settlePayout(payoutId, extras.status);
      created.push(clone(this.payouts.get(payoutId)!));
    }
    return created;
  }

  /** The bank's answer: PAID, or FAILED (refused; the seller's balance keeps the money). */
  settlePayout(id: string, status: 'PAID' | 'FAILED'): SqPayout {
    const p = this.payouts.get(id);
    if (!p) throw new SimApiFailure(404, 'NOT_FOUND', `payout ${id} not found`);
    p.status = status;
    p.updated_at = this.sim.stamp();
    p.version = (p.version ?? 1) + 1;
    return clone(p);
  }

  getPayout(id: string): { payout: SqPayout } {
    const p = this.payouts.get(id);
    if (!p) throw new SimApiFailure(404, 'NOT_FOUND', `payout ${id} not found`);
    return { payout: clone(p) };
  }

  listPayouts(q: Record<string, string | undefined>, defaultLocation: string): { payouts: SqPayout[]; cursor?: string } {
    const location = q.location_id || defaultLocation;
    const begin = q.begin_time ? time(q.begin_time, 'begin_time') : -Infinity;
    const end = q.end_time ? time(q.end_time, 'end_time') : Infinity;
    if (q.status && !['SENT', 'PAID', 'FAILED'].includes(q.status))
      throw new SimApiFailure(400, 'INVALID_ENUM_VALUE', `status '${q.status}' is not a PayoutStatus`, 'status');
    const all = [...this.payouts.values()].filter(
      (p) => p.location_id === location && (!q.status || p.status === q.status) && Date.parse(p.created_at!) >= begin && Date.parse(p.created_at!) < end,
    );
    const page = this.page(all, q, { location, status: q.status, begin: q.begin_time, end: q.end_time, sort: q.sort_order });
    return { payouts: page.items.map(clone), ...(page.cursor ? { cursor: page.cursor } : {}) };
  }

  listEntries(payoutId: string, q: Record<string, string | undefined>): { payout_entries: SqPayoutEntry[]; cursor?: string } {
    const entries = this.entries.get(payoutId);
    if (!entries) throw new SimApiFailure(404, 'NOT_FOUND', `payout ${payoutId} not found`);
    const page = this.page(entries, q, { payoutId, sort: q.sort_order });
    return { payout_entries: page.items.map(clone), ...(page.cursor ? { cursor: page.cursor } : {}) };
  }

  /** Sorted by creation (ASC or DESC, default DESC), offset cursors bound to the query they were issued for. */
  private page<T extends { created_at?: string; effective_at?: string; id: string }>(items: T[], q: Record<string, string | undefined>, query: object) {
    const limit = q.limit === undefined ? PAYOUTS_MAX_PAGE : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > PAYOUTS_MAX_PAGE)
      throw new SimApiFailure(400, 'INVALID_VALUE', `limit must be 1 to ${PAYOUTS_MAX_PAGE}`, 'limit');
    if (q.sort_order && q.sort_order !== 'ASC' && q.sort_order !== 'DESC')
      throw new SimApiFailure(400, 'INVALID_ENUM_VALUE', `sort_order '${q.sort_order}'`, 'sort_order');
    const when = (x: T) => Date.parse(x.created_at ?? x.effective_at ?? '') || 0;
    const sorted = [...items].sort((a, b) => when(a) - when(b) || (a.id < b.id ? -1 : 1));
    if ((q.sort_order ?? 'DESC') === 'DESC') sorted.reverse();
    const hash = createHash('sha256').update(JSON.stringify(query)).digest('hex').slice(0, 16);
    let start = 0;
    if (q.cursor) {
      try {
        const c = JSON.parse(Buffer.from(q.cursor, 'base64url').toString('utf8'));
        if (c.h !== hash || !Number.isInteger(c.o) || c.o < 0) throw new Error('mismatch');
        start = c.o;
      } catch {
        throw new SimApiFailure(400, 'INVALID_CURSOR', 'the cursor is invalid, or the query differs from the one it was issued for', 'cursor');
      }
    }
    const items2 = sorted.slice(start, start + limit);
    const cursor = start + limit < sorted.length ? Buffer.from(JSON.stringify({ h: hash, o: start + limit })).toString('base64url') : undefined;
    return { items: items2, cursor };
  }
}

function time(text: string, field: string): number {
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new SimApiFailure(400, 'INVALID_TIME', `${field} '${text}' is not an RFC 3339 timestamp`, field);
  return t;
}

function clone<T>(x: T): T {
  return JSON.parse(JSON.stringify(x));
}
