/**
 * A Square payout and its payout entries as the canonical Settlement (pure; contract.ts, "Payouts
 * API", has the shapes). One settlement per payout; each entry becomes its lines:
 * - the entry's gross amount as a line of the kind its type names (ENTRY_KINDS; an unknown type is
 *   an `other` line with Square's type as its description), and Square's fee on it as a `fee` line
 *   of category `payment` (−fee: a charge's fee is taken, a refund's fee given back);
 * - entries that are themselves fees (FEE, DEPOSIT_FEE, …) are one line of their net amount.
 * The payout's own transfer fees (payout_fee) become `fee`/`payment` lines unless the entries
 * already add up to the payout amount (then Square counted them among the entries). netTotal is the
 * exact sum of the lines, statedTotal Square's amount_money; a difference is left for the
 * reconcile node to name as a variance. Figures that do not hold together (net ≠ gross − fee, a
 * second currency, an amount that is not a safe integer) are refused with a PayoutMappingError.
 */
import { isKnownCurrency } from '../model/currencies';
import { validateDocument } from '../model/validate';
import type { Settlement, SettlementLine } from '../model/types.generated';
import type { SqPayout, SqPayoutEntry, SqPayoutMoney } from './types';

export type PayoutProblem = 'malformed' | 'currency' | 'figures' | 'too-large' | 'status' | 'invalid';

/** A payout Tillwire refuses to turn into a settlement, with the kind of problem as `code`. */
export class PayoutMappingError extends Error {
  override readonly name = 'PayoutMappingError';
  constructor(
    readonly code: PayoutProblem,
    readonly payoutId: string,
    message: string,
  ) {
    super(`Square payout ${payoutId}: ${message}`);
  }
}

type LineKind = Pick<SettlementLine, 'type' | 'category'>;
const k = (type: SettlementLine['type'], category?: string): LineKind => (category ? { type, category } : { type });

/** PayoutEntry type → canonical line kind of its gross amount. */
export const ENTRY_KINDS: Readonly<Record<string, LineKind>> = {
  CHARGE: k('principal'),
  REFUND: k('refund'),
  RESERVE_HOLD: k('reserve', 'held'),
  RESERVE_RELEASE: k('reserve', 'released'),
  DISPUTE: k('adjustment', 'chargeback'),
  OPEN_DISPUTE: k('adjustment', 'chargeback'),
  RELEASE_ADJUSTMENT: k('adjustment', 'chargeback'),
  ADJUSTMENT: k('adjustment'),
  FEE: k('fee', 'payment'),
  DEPOSIT_FEE: k('fee', 'payment'),
  DEPOSIT_FEE_REVERSED: k('fee', 'payment'),
  FREE_PROCESSING: k('fee', 'payment'),
  SUBSCRIPTION_FEE: k('fee', 'subscription'),
  SUBSCRIPTION_FEE_REFUND: k('fee', 'subscription'),
  PAID_SERVICE_FEE: k('fee', 'subscription'),
  PAID_SERVICE_FEE_REFUND: k('fee', 'subscription'),
  THIRD_PARTY_FEE: k('fee', 'other'),
  THIRD_PARTY_FEE_REFUND: k('fee', 'other'),
  TAX_ON_FEE: k('tax', 'fee'),
};

/** The payout states as the canonical status. */
export const PAYOUT_STATUS: Readonly<Record<string, NonNullable<Settlement['status']>>> = { SENT: 'in-transit', PAID: 'paid', FAILED: 'failed' };

/** The order a payment paid, as GetPayment names it (location: the order's location). */
export interface PaymentOrder {
  orderId: string;
  locationId?: string;
}

export interface PayoutMapOptions {
  /** The order behind a payment id, when known (payouts.ts looks it up with GetPayment). */
  orderOf?: (paymentId: string) => PaymentOrder | undefined;
}

/** The payment an entry names in its type_<type>_details, if any. */
export function paymentIdOf(entry: SqPayoutEntry): string | undefined {
  for (const [key, value] of Object.entries(entry)) {
    if (/^type_.+_details$/.test(key) && value && typeof value === 'object' && typeof (value as any).payment_id === 'string' && (value as any).payment_id)
      return (value as any).payment_id;
  }
  return undefined;
}

export function payoutToSettlement(payout: SqPayout, entries: readonly SqPayoutEntry[], opts: PayoutMapOptions = {}): Settlement {
  const id = typeof payout?.id === 'string' && payout.id ? payout.id : '?';
  const fail = (code: PayoutProblem, message: string): never => {
    throw new PayoutMappingError(code, id, message);
  };
  if (id === '?') fail('malformed', 'the payout has no id');
  if (typeof payout.location_id !== 'string' || !payout.location_id) fail('malformed', 'no location_id');
  const status = PAYOUT_STATUS[payout.status ?? ''];
  if (!status) fail('status', `unknown status '${String(payout.status).slice(0, 40)}'`);
  if (!payout.amount_money) fail('malformed', 'no amount_money');
  const currency = currencyOf(payout.amount_money!);
  if (!currency || !isKnownCurrency(currency)) fail('currency', `amount_money has no known ISO 4217 currency ('${String(currency).slice(0, 10)}')`);

  /** One amount in minor units, in the payout's currency and inside the safe-integer range. */
  const minor = (m: SqPayoutMoney | undefined, what: string): bigint | undefined => {
    if (m === undefined || m === null) return undefined;
    if (typeof m !== 'object') return fail('malformed', `${what} is not a Money object`);
    if (currencyOf(m) !== currency) return fail('currency', `${what} is in ${String(currencyOf(m)).slice(0, 10)}, the payout in ${currency}`);
    if (typeof m.amount !== 'number' || !Number.isInteger(m.amount))
      return fail('malformed', `${what} amount ${String(m.amount).slice(0, 30)} is not an integer of minor units`);
    if (!Number.isSafeInteger(m.amount)) return fail('too-large', `${what} amount ${m.amount} is outside the exact integer range`);
    return BigInt(m.amount);
  };

  const lines: SettlementLine[] = [];
  let first: number | undefined;
  let last: number | undefined;
  const seen = new Set<string>();
  let entriesNet = 0n;
  for (const [i, e] of entries.entries()) {
    const what = `entry ${i + 1}`;
    if (!e || typeof e !== 'object' || typeof e.id !== 'string' || !e.id) fail('malformed', `${what} has no id`);
    if (seen.has(e.id)) fail('malformed', `entry ${e.id} appears twice`);
    seen.add(e.id);
    if (e.payout_id !== undefined && e.payout_id !== id) fail('malformed', `entry ${e.id} belongs to payout ${String(e.payout_id).slice(0, 60)}`);
    const type = typeof e.type === 'string' && e.type ? e.type : 'OTHER';
    let gross = minor(e.gross_amount_money, `entry ${e.id} gross_amount_money`);
    const fee = minor(e.fee_amount_money, `entry ${e.id} fee_amount_money`) ?? 0n;
    let net = minor(e.net_amount_money, `entry ${e.id} net_amount_money`);
    if (gross === undefined && net === undefined) fail('malformed', `entry ${e.id} has neither a gross nor a net amount`);
    gross ??= net! + fee;
    net ??= gross - fee;
    if (gross - fee !== net) fail('figures', `entry ${e.id}: net ${net} is not gross ${gross} − fee ${fee}`);
    entriesNet += net;

    const at = e.effective_at ? Date.parse(e.effective_at) : NaN;
    if (e.effective_at !== undefined && Number.isNaN(at))
      fail('malformed', `entry ${e.id} effective_at '${String(e.effective_at).slice(0, 40)}' is not a timestamp`);
    if (!Number.isNaN(at)) {
      first = first === undefined ? at : Math.min(first, at);
      last = last === undefined ? at : Math.max(last, at);
    }
    const paymentId = paymentIdOf(e);
    const order = paymentId ? opts.orderOf?.(paymentId) : undefined;
    const common: Partial<SettlementLine> = {
      ...(e.effective_at ? { postedAt: e.effective_at } : {}),
      ...(order
        ? { orderRef: { id: `square:${order.orderId}`, channel: { system: 'square', account: order.locationId ?? payout.location_id, id: order.orderId } } }
        : {}),
      source: { system: 'square', type: 'payout-entry', id: e.id },
      ...(paymentId ? { attributes: { paymentId } } : {}),
    };
    let kind = ENTRY_KINDS[type];
    // A hold adjustment holds money back (negative) or lets it go (positive).
    if (type === 'HOLD_ADJUSTMENT') kind = net < 0n ? k('reserve', 'held') : k('reserve', 'released');
    if (kind?.type === 'fee' || kind?.type === 'tax') {
      lines.push({ lineId: e.id, ...kind, description: type, amount: money(net, currency!), ...common } as SettlementLine);
      continue;
    }
    lines.push({ lineId: e.id, ...(kind ?? { type: 'other' }), description: type, amount: money(gross, currency!), ...common } as SettlementLine);
    if (fee !== 0n)
      lines.push({
        lineId: `${e.id}:fee`,
        type: 'fee',
        category: 'payment',
        description: `${type} fee`,
        amount: money(-fee, currency!),
        ...common,
      } as SettlementLine);
  }

  const stated = minor(payout.amount_money, 'amount_money')!;
  const payoutFees = (Array.isArray(payout.payout_fee) ? payout.payout_fee : []).map((f, i) => {
    const amount = minor(f?.amount_money, `payout_fee ${i + 1}`) ?? 0n;
    // A transfer fee is taken from the payout; its refund gives it back.
    return { amount: f?.type === 'TRANSFER_FEE_REFUND' ? amount : -amount, type: f?.type ?? 'TRANSFER_FEE', at: f?.effective_at };
  });
  const feesTotal = payoutFees.reduce((s, f) => s + f.amount, 0n);
  // Square counts the transfer fee among the entries or beside them; the figures say which.
  const feesBeside = feesTotal !== 0n && !(entries.length && entriesNet === stated);
  if (feesBeside) {
    payoutFees.forEach((f, i) =>
      lines.push({
        lineId: `${id}:payout-fee:${i + 1}`,
        type: 'fee',
        category: 'payment',
        description: f.type,
        amount: money(f.amount, currency!),
        ...(f.at && !Number.isNaN(Date.parse(f.at)) ? { postedAt: f.at } : {}),
        source: { system: 'square', type: 'payout-fee', id, line: i + 1 },
      }),
    );
  }

  const created = Date.parse(payout.created_at ?? payout.updated_at ?? '');
  if (Number.isNaN(created)) fail('malformed', 'no created_at timestamp');
  const start = first ?? created;
  let end = Math.max(created, (last ?? created) + 1);
  if (end <= start) end = start + 1;
  const netTotal = lines.reduce((s, l) => s + BigInt(l.amount.amount), 0n);
  if (netTotal > BigInt(Number.MAX_SAFE_INTEGER) || netTotal < -BigInt(Number.MAX_SAFE_INTEGER))
    fail('too-large', 'the lines add up beyond the exact integer range');

  const attributes: Record<string, string> = { squareStatus: String(payout.status) };
  if (payout.type) attributes.payoutType = String(payout.type);
  if (payout.end_to_end_id) attributes.endToEndId = String(payout.end_to_end_id);
  if (payout.destination?.type) attributes.destinationType = String(payout.destination.type);
  if (payout.version !== undefined) attributes.version = String(payout.version);
  if (feesTotal !== 0n && !feesBeside) attributes.payoutFeeAmongEntries = String(-feesTotal);

  const settlement: Settlement = {
    kind: 'settlement',
    settlementId: id,
    channel: { system: 'square', account: payout.location_id, id },
    periodStart: new Date(start).toISOString(),
    periodEnd: new Date(end).toISOString(),
    ...(payout.arrival_date ? { depositDate: payout.arrival_date } : {}),
    currency: currency!,
    netTotal: money(netTotal, currency!),
    statedTotal: money(stated, currency!),
    status,
    issuedAt: new Date(Date.parse(payout.updated_at ?? '') || created).toISOString(),
    lines,
    attributes,
  };
  const check = validateDocument('settlement', settlement);
  if (!check.valid) fail('invalid', `the settlement is not valid: ${check.errors.slice(0, 5).join('; ')}`);
  return settlement;
}

function currencyOf(m: SqPayoutMoney): string | undefined {
  return m.currency ?? m.currency_code;
}

function money(amount: bigint, currency: string) {
  return { amount: Number(amount), currency };
}
