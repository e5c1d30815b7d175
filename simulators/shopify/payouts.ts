/**
 * The simulator's Shopify Payments payouts, built from the orders it served so a demo reconciles:
 * every paid, uncancelled order paid through Shopify Payments is a CHARGE of its total (fee 2.9 % +
 * 30 minor units, 300 for 3-decimal currencies), every refund a REFUND of what was refunded (no fee
 * back). Transactions are paid out per currency and per period (`periodMs`, default a day): the
 * payout is issued when the period ends, PAID once `transitMs` has passed (SCHEDULED before), and
 * carries its own transfer (type and source type TRANSFER, source id the payout, as in Shopify's
 * example answer at https://shopify.dev/docs/api/admin-graphql/latest/queries/shopifyPaymentsAccount;
 * not a statement line). The first payout in USD holds 10 % of its charges in reserve; the next USD
 * payout releases it (reconciliation checks that each settlement releases what the previous one
 * held). Amounts are exact minor units,
 * written as decimal text as Shopify does.
 */
import { currencyExponent, fromMinor, toMinor } from '../../nodes/model/money';
import type { RestOrder } from './simulator';

export interface SimBalanceTransaction {
  id: string;
  type: string;
  test: boolean;
  transactionDate: string;
  sourceType: string | null;
  sourceId: string | null;
  adjustmentReason: string | null;
  amount: { amount: string; currencyCode: string };
  fee: { amount: string; currencyCode: string };
  net: { amount: string; currencyCode: string };
  associatedOrder: { id: string; name: string } | null;
  associatedPayout: { id: string | null; status: string };
}

export interface SimPayout {
  id: string;
  legacyResourceId: string;
  issuedAt: string;
  status: 'PAID' | 'SCHEDULED';
  transactionType: 'DEPOSIT' | 'WITHDRAWAL';
  net: { amount: string; currencyCode: string };
  summary: Record<string, { amount: string; currencyCode: string }>;
  transactions: SimBalanceTransaction[];
}

export interface PayoutOptions {
  periodMs: number;
  transitMs: number;
  now: number;
  /** Where an earlier run's payouts left the account (the demo's continuity); none: a new account. */
  carry?: PayoutCarry;
}

/** What the payouts carry from one run to the next: id counters, the reserve still held, the last period paid. */
export interface PayoutCarry {
  /** Payouts and balance transactions issued so far (ids continue after them). */
  payouts: number;
  transactions: number;
  /** USD payouts so far: the first holds a reserve, the second releases it. */
  usdPayouts: number;
  /** Reserve held and not yet released (minor units, USD). */
  reserve: number;
  /** When the last payout's period ended (ms). */
  paidUntil: number;
}

export const NO_PAYOUTS: PayoutCarry = { payouts: 0, transactions: 0, usdPayouts: 0, reserve: 0, paidUntil: 0 };

/** The carry after `payouts` (built from `carry`). */
export function carryAfter(carry: PayoutCarry, payouts: readonly SimPayout[]): PayoutCarry {
  const txs = payouts.flatMap((p) => p.transactions);
  const reserved = txs.filter((t) => t.type.startsWith('RESERVED_FUNDS')).reduce((s, t) => s + toMinor(t.amount.amount, t.amount.currencyCode), 0);
  return {
    payouts: carry.payouts + payouts.length,
    transactions: carry.transactions + txs.length,
    usdPayouts: carry.usdPayouts + payouts.filter((p) => p.net.currencyCode === 'USD').length,
    reserve: carry.reserve - reserved,
    paidUntil: payouts.length ? Date.parse(payouts[payouts.length - 1].issuedAt) : carry.paidUntil,
  };
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const fixedFee = (cur: string) => (currencyExponent(cur) === 3 ? 300 : 30);
/** 2.9 % rounded half up, plus the fixed part, in minor units. */
export const chargeFee = (amount: number, cur: string) => Math.floor((2 * amount * 29 + 1000) / 2000) + fixedFee(cur);

interface Raw {
  type: string;
  at: number;
  cur: string;
  amount: number;
  fee: number;
  order?: RestOrder;
  sourceId: string;
}

/** Every payout issued by `now`, oldest first (by issuedAt, then currency). */
export function buildPayouts(orders: readonly RestOrder[], opts: PayoutOptions): SimPayout[] {
  const raw: Raw[] = [];
  for (const o of orders) {
    if (o.cancelled_at || o.financial_status === 'pending' || !(o.payment_gateway_names ?? []).includes('shopify_payments')) continue;
    const cur = o.currency;
    const total = toMinor(o.total_price, cur);
    raw.push({
      type: 'CHARGE',
      at: Date.parse(o.processed_at ?? o.created_at),
      cur,
      amount: total,
      fee: chargeFee(total, cur),
      order: o,
      sourceId: String(o.id),
    });
    for (const r of o.refunds ?? []) {
      const refunded = (r.transactions ?? []).filter((t: any) => t.kind === 'refund').reduce((s: number, t: any) => s + toMinor(t.amount, cur), 0);
      raw.push({ type: 'REFUND', at: Date.parse(r.processed_at ?? r.created_at), cur, amount: -refunded, fee: 0, order: o, sourceId: String(r.id) });
    }
  }
  raw.sort((a, b) => a.at - b.at || a.sourceId.localeCompare(b.sourceId));

  // Group per currency and period; a period is paid out when it has ended.
  const groups = new Map<string, { cur: string; end: number; items: Raw[] }>();
  for (const t of raw) {
    const end = (Math.floor(t.at / opts.periodMs) + 1) * opts.periodMs;
    if (end > opts.now) continue;
    const key = `${end}|${t.cur}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { cur: t.cur, end, items: [] }));
    g.items.push(t);
  }
  const ordered = [...groups.values()].sort((a, b) => a.end - b.end || a.cur.localeCompare(b.cur));

  const payouts: SimPayout[] = [];
  const carry = opts.carry ?? NO_PAYOUTS;
  let txSeq = 1 + carry.transactions;
  let usd = carry.usdPayouts;
  let reserve = carry.reserve;
  ordered.forEach((g, index) => {
    const legacy = String(70_000_001 + carry.payouts + index);
    const gid = `gid://shopify/ShopifyPaymentsPayout/${legacy}`;
    const status = g.end + opts.transitMs <= opts.now ? 'PAID' : 'SCHEDULED';
    const items = [...g.items];
    if (g.cur === 'USD') {
      usd++;
      const charges = items.filter((t) => t.type === 'CHARGE').reduce((s, t) => s + t.amount, 0);
      if (usd === 1 && charges > 0) {
        reserve = Math.floor(charges / 10);
        items.push({ type: 'RESERVED_FUNDS_WITHDRAWAL', at: g.end - 1000, cur: g.cur, amount: -reserve, fee: 0, sourceId: `reserve-${legacy}` });
      } else if (usd === 2 && reserve > 0) {
        items.push({ type: 'RESERVED_FUNDS_REVERSAL', at: g.end - 1000, cur: g.cur, amount: reserve, fee: 0, sourceId: `release-${legacy}` });
      }
    }
    const m = (minor: number) => ({ amount: fromMinor(minor, g.cur), currencyCode: g.cur });
    const sum = (type: string, f: (t: Raw) => number) => items.filter((t) => t.type.startsWith(type)).reduce((s, t) => s + f(t), 0);
    const net = items.reduce((s, t) => s + t.amount - t.fee, 0);
    const tx = (t: Raw): SimBalanceTransaction => ({
      id: `gid://shopify/ShopifyPaymentsBalanceTransaction/${80_000_000 + txSeq++}`,
      type: t.type,
      test: false,
      transactionDate: iso(t.at),
      sourceType: t.type === 'CHARGE' || t.type === 'REFUND' || t.type === 'TRANSFER' ? t.type : null,
      sourceId: t.type === 'CHARGE' || t.type === 'REFUND' || t.type === 'TRANSFER' ? t.sourceId : null,
      adjustmentReason: null,
      amount: m(t.amount),
      fee: m(t.fee),
      net: m(t.amount - t.fee),
      associatedOrder: t.order ? { id: t.order.admin_graphql_api_id, name: t.order.name } : null,
      associatedPayout: { id: gid, status },
    });
    const transactions = items.map(tx);
    transactions.push(tx({ type: 'TRANSFER', at: g.end, cur: g.cur, amount: -net, fee: 0, sourceId: legacy }));
    payouts.push({
      id: gid,
      legacyResourceId: legacy,
      issuedAt: iso(g.end),
      status,
      transactionType: net < 0 ? 'WITHDRAWAL' : 'DEPOSIT',
      net: m(Math.abs(net)),
      summary: {
        chargesGross: m(sum('CHARGE', (t) => t.amount)),
        chargesFee: m(sum('CHARGE', (t) => t.fee)),
        refundsFeeGross: m(sum('REFUND', (t) => t.amount)),
        refundsFee: m(sum('REFUND', (t) => t.fee)),
        adjustmentsGross: m(0),
        adjustmentsFee: m(0),
        reservedFundsGross: m(sum('RESERVED_FUNDS', (t) => t.amount)),
        reservedFundsFee: m(0),
        retriedPayoutsGross: m(0),
        retriedPayoutsFee: m(0),
      },
      transactions,
    });
  });
  return payouts;
}

/** A page of `items` after `after` (an opaque cursor: the offset), Relay style. */
export function pageOf<T>(
  items: readonly T[],
  first: number,
  after: string | null,
): { nodes: T[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } {
  let start = 0;
  if (after) {
    start = Number(
      Buffer.from(after, 'base64url')
        .toString('utf8')
        .replace(/^offset:/, ''),
    );
    if (!Number.isInteger(start) || start < 0) throw new Error('Invalid cursor for current pagination');
  }
  const nodes = items.slice(start, start + first);
  const end = start + nodes.length;
  return { nodes, pageInfo: { hasNextPage: end < items.length, endCursor: nodes.length ? Buffer.from(`offset:${end}`).toString('base64url') : null } };
}

/** The payouts a `payouts(query:)` search selects: `issued_at:>='…'` and `status:<status>`. */
export function searchPayouts(all: readonly SimPayout[], search: string): SimPayout[] {
  const since = /issued_at:\s*>=?\s*'?([0-9T:.\-+Z]+)'?/.exec(search);
  const status = /status:\s*'?(\w+)'?/.exec(search);
  const t = since ? Date.parse(since[1]) : -Infinity;
  if (Number.isNaN(t)) throw new Error(`invalid issued_at in query '${search}'`);
  return all.filter((p) => Date.parse(p.issuedAt) >= t && (!status || p.status === status[1].toUpperCase()));
}
