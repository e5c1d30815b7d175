/**
 * Shopify Payments payouts as canonical Settlements: the payouts of a shop (GraphQL
 * `shopifyPaymentsAccount.payouts`, paged by cursor), each payout's balance transactions
 * (`balanceTransactions` searched by the payout's id), and the mapping of one payout with its
 * transactions to a Settlement with exact lines. Calls go through the shop's ShopifyClient, so
 * they are paced by its cost governor like every other query. No Node-RED import.
 *
 * Lines per balance transaction (amount positive = money to the merchant):
 * - the transaction's `amount` as the line of its kind (a charge is principal: the order's gross);
 * - its `fee` as a separate fee line (category payment), negated: a fee charged is money to
 *   Shopify, a fee given back on a refund is money to the merchant;
 * so the two lines of a transaction add up to its `net`, which is checked. The payout's `net` is the
 * settlement's statedTotal; reconciliation compares it with the sum of the lines.
 */
import type { ShopifyClient } from './client';
import { canonicalOrderId } from './map';
import { PAYOUT_STATUSES, PAYOUT_SUMMARY_FIELDS, payoutTransactionsSearch } from './contract';
import { MoneyError, toMinor } from '../model/money';
import type { Settlement, SettlementLine } from '../model/types.generated';

const SYSTEM = 'shopify';

const MONEY = 'amount currencyCode';

export const PAYOUTS_QUERY = `query TillwirePayouts($first: Int!, $after: String, $query: String) {
  shopifyPaymentsAccount {
    payouts(first: $first, after: $after, query: $query, sortKey: ISSUED_AT) {
      nodes { id legacyResourceId issuedAt status transactionType net { ${MONEY} }
        summary { ${PAYOUT_SUMMARY_FIELDS.map((f) => `${f} { ${MONEY} }`).join(' ')} } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

export const BALANCE_TRANSACTIONS_QUERY = `query TillwirePayoutTransactions($first: Int!, $after: String, $query: String) {
  shopifyPaymentsAccount {
    balanceTransactions(first: $first, after: $after, query: $query, sortKey: PROCESSED_AT) {
      nodes { id type test transactionDate sourceType sourceId adjustmentReason
        amount { ${MONEY} } fee { ${MONEY} } net { ${MONEY} }
        associatedOrder { id name } associatedPayout { id status } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

export interface MoneyV2 {
  amount: string;
  currencyCode: string;
}

export interface ShopifyPayout {
  id: string;
  legacyResourceId: string;
  issuedAt: string;
  status: string;
  transactionType?: string;
  net: MoneyV2;
  summary?: Partial<Record<(typeof PAYOUT_SUMMARY_FIELDS)[number], MoneyV2>>;
}

export interface ShopifyBalanceTransaction {
  id: string;
  type: string;
  test?: boolean;
  transactionDate: string;
  sourceType?: string | null;
  sourceId?: string | number | null;
  adjustmentReason?: string | null;
  amount: MoneyV2;
  fee: MoneyV2;
  net: MoneyV2;
  associatedOrder?: { id: string; name?: string } | null;
  associatedPayout?: { id?: string | null; status?: string | null } | null;
}

/** Payouts issued at or after `issuedSince` (ISO), oldest first, every page; `status` narrows them (e.g. 'paid'). */
export async function* payouts(client: ShopifyClient, q: { issuedSince?: string; status?: string; pageSize?: number } = {}): AsyncGenerator<ShopifyPayout> {
  const terms = [q.issuedSince ? `issued_at:>='${q.issuedSince}'` : '', q.status ? `status:${q.status}` : ''].filter(Boolean);
  let after: string | null = null;
  do {
    const { data }: { data: any } = await client.graphql('shopifyPaymentsAccount.payouts', PAYOUTS_QUERY, {
      first: q.pageSize ?? 50,
      after,
      query: terms.join(' AND ') || null,
    });
    const conn: any = data.shopifyPaymentsAccount?.payouts;
    if (!conn) return; // the shop has no Shopify Payments account
    for (const p of conn.nodes ?? []) yield p as ShopifyPayout;
    after = conn.pageInfo?.hasNextPage ? conn.pageInfo.endCursor : null;
  } while (after);
}

/** Every balance transaction of one payout (by its legacy id), every page. */
export async function payoutTransactions(client: ShopifyClient, legacyPayoutId: string, pageSize = 100): Promise<ShopifyBalanceTransaction[]> {
  const out: ShopifyBalanceTransaction[] = [];
  let after: string | null = null;
  do {
    const { data }: { data: any } = await client.graphql('shopifyPaymentsAccount.balanceTransactions', BALANCE_TRANSACTIONS_QUERY, {
      first: pageSize,
      after,
      query: payoutTransactionsSearch(legacyPayoutId),
    });
    const conn: any = data.shopifyPaymentsAccount?.balanceTransactions;
    for (const t of conn?.nodes ?? []) out.push(t as ShopifyBalanceTransaction);
    after = conn?.pageInfo?.hasNextPage ? conn.pageInfo.endCursor : null;
  } while (after);
  return out;
}

/** A payout that cannot become a settlement as it stands: held back with the reason, never guessed at. */
export class PayoutMappingError extends Error {
  override name = 'PayoutMappingError';
  constructor(
    readonly payoutId: string,
    readonly code: 'unknown-type' | 'amount' | 'figures' | 'currency' | 'malformed',
    message: string,
  ) {
    super(`payout ${payoutId}: ${message}`);
  }
}

type Kind = Pick<SettlementLine, 'type' | 'category'> | 'skip' | 'reserve' | 'adjustment';
const k = (type: SettlementLine['type'], category?: string): Kind => (category ? { type, category } : { type });

/**
 * What each balance transaction type is in the canonical line's words. `reserve` is held or
 * released by its sign; `adjustment` is a reimbursement when it pays the merchant, else other.
 * The payout's own transfer (type TRANSFER) is skipped. A type not listed is not guessed at: the
 * payout is held. Every key is a value of ShopifyPaymentsTransactionType
 * (https://shopify.dev/docs/api/admin-graphql/latest/enums/ShopifyPaymentsTransactionType): a payout's
 * transfer and its failure or cancellation are TRANSFER, TRANSFER_FAILURE and TRANSFER_CANCEL there
 * (REST's `payout`, `payout_failure`, `payout_cancellation`); ADJUSTMENT_REVERSAL is a source type,
 * not a transaction type.
 */
export const TRANSACTION_KINDS: Readonly<Record<string, Kind>> = {
  CHARGE: k('principal'),
  CHARGE_ADJUSTMENT: k('principal'),
  REFUND: k('refund'),
  REFUND_FAILURE: k('refund'),
  REFUND_ADJUSTMENT: k('refund'),
  DISPUTE_WITHDRAWAL: k('adjustment', 'chargeback'),
  DISPUTE_REVERSAL: k('adjustment', 'chargeback'),
  CHARGEBACK_HOLD: k('adjustment', 'chargeback'),
  CHARGEBACK_HOLD_RELEASE: k('adjustment', 'chargeback'),
  CHARGEBACK_FEE: k('fee', 'payment'),
  CHARGEBACK_FEE_REFUND: k('fee', 'payment'),
  RESERVED_FUNDS: 'reserve',
  RESERVED_FUNDS_WITHDRAWAL: 'reserve',
  RESERVED_FUNDS_REVERSAL: 'reserve',
  TRANSFER_FAILURE: k('adjustment', 'failed-payout'),
  TRANSFER_CANCEL: k('adjustment', 'failed-payout'),
  ADJUSTMENT: 'adjustment',
  SHIPPING_LABEL: k('fee', 'shipping-label'),
  BILLING_DEBIT: k('fee', 'subscription'),
  BILLING_DEBIT_REVERSAL: k('fee', 'subscription'),
  TRANSFER: 'skip',
};

const FEE_LINE = { type: 'fee', category: 'payment' } as const;

export interface PayoutMappingOptions {
  /** The shop domain: the settlement's channel account and the orders' account. */
  shop: string;
}

/** The id after the last '/' of a gid (`gid://shopify/Order/123` → `123`). */
const gidTail = (gid: string) => gid.slice(gid.lastIndexOf('/') + 1);

/**
 * One payout with its balance transactions as a canonical Settlement. netTotal is the sum of the
 * lines (exact, minor units); statedTotal is the payout's net (negative for a withdrawal). Throws a
 * PayoutMappingError for an unknown transaction type, an amount that is not exact money, figures
 * that do not add up within a transaction, or a currency other than the payout's.
 */
export function payoutToSettlement(payout: ShopifyPayout, transactions: readonly ShopifyBalanceTransaction[], opts: PayoutMappingOptions): Settlement {
  const payoutId = String(payout?.legacyResourceId ?? '');
  if (!payoutId || typeof payout.issuedAt !== 'string' || !payout.net || Number.isNaN(Date.parse(payout.issuedAt)))
    throw new PayoutMappingError(payoutId || '?', 'malformed', 'a payout needs legacyResourceId, issuedAt and net');
  const currency = payout.net.currencyCode;
  const minor = (m: MoneyV2 | undefined, what: string): number => {
    if (!m || typeof m.amount !== 'string') throw new PayoutMappingError(payoutId, 'malformed', `${what} has no amount`);
    if (m.currencyCode !== currency) throw new PayoutMappingError(payoutId, 'currency', `${what} is in ${m.currencyCode}, the payout in ${currency}`);
    try {
      return toMinor(m.amount, currency);
    } catch (err) {
      throw new PayoutMappingError(payoutId, 'amount', `${what}: ${(err as MoneyError).message}`);
    }
  };
  let stated = minor(payout.net, 'the payout net');
  if (payout.transactionType === 'WITHDRAWAL' && stated > 0) stated = -stated;

  if (!Array.isArray(transactions) || transactions.some((t) => !t || typeof t !== 'object' || typeof t.type !== 'string' || typeof t.id !== 'string'))
    throw new PayoutMappingError(payoutId, 'malformed', 'every balance transaction needs an id and a type');
  const unknown = [...new Set(transactions.filter((t) => !Object.hasOwn(TRANSACTION_KINDS, t.type)).map((t) => t.type))];
  if (unknown.length)
    throw new PayoutMappingError(payoutId, 'unknown-type', `balance transaction type ${unknown.join(', ')} is not one Tillwire maps (the payout is held back)`);

  const lines: SettlementLine[] = [];
  let earliest = Date.parse(payout.issuedAt);
  let total = 0;
  for (const t of transactions) {
    const kind = TRANSACTION_KINDS[t.type];
    if (kind === 'skip') continue;
    const tail = gidTail(String(t.id));
    const what = `transaction ${tail} (${t.type})`;
    const amount = minor(t.amount, `${what} amount`);
    const fee = minor(t.fee, `${what} fee`);
    const net = minor(t.net, `${what} net`);
    if (amount - fee !== net)
      throw new PayoutMappingError(payoutId, 'figures', `${what}: amount ${t.amount.amount} − fee ${t.fee.amount} ≠ net ${t.net.amount}`);
    const at = Date.parse(t.transactionDate);
    if (Number.isNaN(at)) throw new PayoutMappingError(payoutId, 'malformed', `${what} has no transaction date`);
    earliest = Math.min(earliest, at);
    const shared: Partial<SettlementLine> = { postedAt: t.transactionDate, source: { system: SYSTEM, type: 'balance-transaction', id: String(t.id) } };
    if (t.associatedOrder?.id) {
      const orderId = gidTail(t.associatedOrder.id);
      shared.orderRef = { id: canonicalOrderId(opts.shop, orderId), channel: { system: SYSTEM, account: opts.shop, id: orderId } };
    }
    const attributes: Record<string, string> = { transactionType: t.type };
    if (t.test) attributes.test = 'true';
    if (t.adjustmentReason) attributes.adjustmentReason = t.adjustmentReason;
    const main: Pick<SettlementLine, 'type' | 'category'> =
      kind === 'reserve'
        ? { type: 'reserve', category: net < 0 ? 'held' : 'released' }
        : kind === 'adjustment'
          ? { type: 'adjustment', category: amount > 0 ? 'reimbursement' : 'other' }
          : kind;
    lines.push({
      lineId: tail,
      ...main,
      description: t.adjustmentReason || t.type,
      amount: { amount, currency },
      ...shared,
      attributes: { ...attributes },
    } as SettlementLine);
    if (fee !== 0) {
      lines.push({
        lineId: `${tail}-fee`,
        ...FEE_LINE,
        description: fee < 0 ? `${t.type} fee refund` : `${t.type} fee`,
        amount: { amount: -fee, currency },
        ...shared,
        attributes: { ...attributes },
      } as SettlementLine);
    }
    total += net;
  }

  const summary: Record<string, string> = {};
  for (const f of PAYOUT_SUMMARY_FIELDS) {
    const m = payout.summary?.[f];
    if (m) summary[`summary.${f}`] = String(minor(m, `summary ${f}`));
  }
  const issuedAt = payout.issuedAt;
  const periodStart = earliest < Date.parse(issuedAt) ? new Date(earliest).toISOString() : new Date(Date.parse(issuedAt) - 86_400_000).toISOString();
  // A status this version does not know is left out (the settlement is still a statement of what was paid out).
  const status = Object.hasOwn(PAYOUT_STATUSES, payout.status) ? PAYOUT_STATUSES[payout.status as keyof typeof PAYOUT_STATUSES] : undefined;
  return {
    kind: 'settlement',
    settlementId: payoutId,
    channel: { system: SYSTEM, account: opts.shop, id: payoutId },
    periodStart,
    periodEnd: issuedAt,
    depositDate: issuedAt.slice(0, 10),
    currency,
    netTotal: { amount: total, currency },
    statedTotal: { amount: stated, currency },
    ...(status ? { status } : {}),
    issuedAt,
    lines,
    attributes: { payoutId: String(payout.id), transactionType: payout.transactionType ?? 'DEPOSIT', payoutStatus: String(payout.status), ...summary },
  };
}
