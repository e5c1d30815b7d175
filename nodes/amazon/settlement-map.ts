/**
 * What each amount of an Amazon settlement report is, in the canonical line's words (type and
 * category of a SettlementLine). Amazon's list of amount types is open-ended: an amount this
 * table does not know is not guessed at but reported as a bad row, so the settlement is held back
 * until the table (or the operator) says where it belongs.
 */
import type { SettlementLine } from '../model/types.generated';
import { SETTLEMENT_RESERVE_HELD, SETTLEMENT_RESERVE_RELEASED } from './contract';

export type LineKind = Pick<SettlementLine, 'type' | 'category'>;

const k = (type: SettlementLine['type'], category?: string): LineKind => (category ? { type, category } : { type });

/** By amount-type, then amount-description ('*': any description of that amount type). */
export const AMOUNT_KINDS: Readonly<Record<string, Readonly<Record<string, LineKind>>>> = {
  ItemPrice: {
    Principal: k('principal'),
    Tax: k('tax'),
    Shipping: k('shipping'),
    ShippingTax: k('tax', 'shipping'),
    GiftWrap: k('other', 'gift-wrap'),
    GiftWrapTax: k('tax', 'gift-wrap'),
    RestockingFee: k('fee', 'restocking'),
    Goodwill: k('adjustment', 'goodwill'),
  },
  ItemFees: {
    Commission: k('fee', 'commission'),
    RefundCommission: k('fee', 'commission'),
    VariableClosingFee: k('fee', 'commission'),
    FixedClosingFee: k('fee', 'commission'),
    DigitalServicesFee: k('fee', 'other'),
    FBAPerUnitFulfillmentFee: k('fee', 'fulfilment'),
    FBAWeightBasedFee: k('fee', 'fulfilment'),
    FBAPerOrderFulfillmentFee: k('fee', 'fulfilment'),
    ShippingChargeback: k('fee', 'shipping-label'),
    ShippingHB: k('fee', 'shipping-label'),
    GiftwrapChargeback: k('fee', 'other'),
  },
  Promotion: { Principal: k('promotion'), Shipping: k('promotion', 'shipping'), '*': k('promotion') },
  // Tax Amazon collects and remits itself (marketplace facilitator tax): withheld from the payout.
  ItemWithheldTax: { '*': k('tax', 'withheld') },
  'other-transaction': {
    [SETTLEMENT_RESERVE_HELD]: k('reserve', 'held'),
    [SETTLEMENT_RESERVE_RELEASED]: k('reserve', 'released'),
    'Storage Fee': k('fee', 'storage'),
    StorageFee: k('fee', 'storage'),
    'Subscription Fee': k('fee', 'subscription'),
    'Inbound Transportation Fee': k('fee', 'fulfilment'),
    REVERSAL_REIMBURSEMENT: k('adjustment', 'reimbursement'),
    WAREHOUSE_DAMAGE: k('adjustment', 'reimbursement'),
    WAREHOUSE_LOST: k('adjustment', 'reimbursement'),
    'Failed disbursement': k('adjustment', 'failed-payout'),
  },
  'FBA Inventory Reimbursement': { '*': k('adjustment', 'reimbursement') },
  'Cost of Advertising': { '*': k('fee', 'advertising') },
};

// The table as Maps: a row's cells are fresh strings, which a Map hashes once where an object's
// keyed lookup would first look each one up among V8's internalized strings (a million rows).
const KINDS = new Map(Object.entries(AMOUNT_KINDS).map(([type, byDescription]) => [type, new Map(Object.entries(byDescription))]));

/** Amounts of these kinds on a refund row are money given back to the buyer: type refund, the kind as category. */
const REFUNDED = new Set<SettlementLine['type']>(['principal', 'tax', 'shipping', 'promotion']);

/**
 * The canonical kind of one amount, or undefined when the table does not know it. On a `Refund`
 * transaction the item price, tax, shipping and promotion amounts are a refund (category: what
 * was refunded); fees on a refund stay fees (Amazon gives back part of its commission), so they
 * reverse the fee account they were booked to.
 */
export function lineKind(transactionType: string, amountType: string, amountDescription: string): LineKind | undefined {
  const byDescription = KINDS.get(amountType);
  const kind = byDescription?.get(amountDescription) ?? byDescription?.get('*');
  if (!kind) return undefined;
  if (transactionType === 'Refund' && REFUNDED.has(kind.type)) return { type: 'refund', category: kind.category ?? kind.type };
  return kind;
}
