/**
 * Shopify Payments payout → canonical Settlement, from hand-built GraphQL answers: a payout's lines
 * add up to its net to the minor unit; charges, refunds, disputes, reserves and a failed payout land
 * on the line types finance maps; JPY has no decimals; bad answers end in a named rejection.
 */
import { payoutToSettlement, PayoutMappingError, type ShopifyBalanceTransaction, type ShopifyPayout } from '../../nodes/shopify/payouts';
import { validateDocument } from '../../nodes/model/validate';

const SHOP = 'demo.myshopify.com';
const m = (amount: string, currencyCode = 'USD') => ({ amount, currencyCode });
let seq = 0;
function tx(type: string, amount: string, fee: string, net: string, extra: Partial<ShopifyBalanceTransaction> = {}, cur = 'USD'): ShopifyBalanceTransaction {
  seq++;
  return {
    id: `gid://shopify/ShopifyPaymentsBalanceTransaction/${1000 + seq}`,
    type,
    test: false,
    transactionDate: `2026-11-0${1 + (seq % 5)}T10:00:00Z`,
    amount: m(amount, cur),
    fee: m(fee, cur),
    net: m(net, cur),
    associatedOrder: null,
    associatedPayout: { id: 'gid://shopify/ShopifyPaymentsPayout/77', status: 'PAID' },
    ...extra,
  };
}
function payout(net: string, extra: Partial<ShopifyPayout> = {}, cur = 'USD'): ShopifyPayout {
  return {
    id: 'gid://shopify/ShopifyPaymentsPayout/77',
    legacyResourceId: '77',
    issuedAt: '2026-11-07T06:00:00Z',
    status: 'PAID',
    transactionType: 'DEPOSIT',
    net: m(net, cur),
    summary: { chargesGross: m('100.00', cur), chargesFee: m('3.20', cur) },
    ...extra,
  };
}
const sum = (lines: Array<{ amount: { amount: number } }>) => lines.reduce((s, l) => s + l.amount.amount, 0);
const byId = (s: ReturnType<typeof payoutToSettlement>, id: string) => s.lines.find((l) => l.lineId === id)!;

describe('payoutToSettlement', () => {
  it('a charge is the order gross as principal plus a payment fee line; the lines add up to the payout net', () => {
    const charge = tx('CHARGE', '100.00', '3.20', '96.80', { associatedOrder: { id: 'gid://shopify/Order/5900000001', name: '#1002' } });
    const s = payoutToSettlement(payout('96.80'), [charge], { shop: SHOP });
    expect(validateDocument('settlement', s)).toEqual({ valid: true, errors: [] });
    expect(s).toMatchObject({
      settlementId: '77',
      channel: { system: 'shopify', account: SHOP, id: '77' },
      currency: 'USD',
      depositDate: '2026-11-07',
      status: 'paid',
      issuedAt: '2026-11-07T06:00:00Z',
      periodEnd: '2026-11-07T06:00:00Z',
      statedTotal: { amount: 9680, currency: 'USD' },
      netTotal: { amount: 9680, currency: 'USD' },
    });
    const tail = charge.id.split('/').pop()!;
    expect(byId(s, tail)).toMatchObject({
      type: 'principal',
      amount: { amount: 10000, currency: 'USD' },
      orderRef: { id: `shopify:${SHOP}:5900000001`, channel: { system: 'shopify', account: SHOP, id: '5900000001' } },
    });
    expect(byId(s, `${tail}-fee`)).toMatchObject({ type: 'fee', category: 'payment', amount: { amount: -320 } });
    expect(s.attributes).toMatchObject({ 'summary.chargesGross': '10000', 'summary.chargesFee': '320' });
  });

  it('a refund with its fee given back, a chargeback with its fee, a reserve held and released, a failed payout carried in', () => {
    const txs = [
      tx('CHARGE', '250.00', '7.55', '242.45'),
      tx('REFUND', '-40.00', '-1.16', '-38.84'),
      tx('DISPUTE_WITHDRAWAL', '-60.00', '15.00', '-75.00'),
      tx('DISPUTE_REVERSAL', '60.00', '0.00', '60.00'),
      tx('RESERVED_FUNDS_WITHDRAWAL', '-25.00', '0.00', '-25.00'),
      tx('RESERVED_FUNDS_REVERSAL', '10.00', '0.00', '10.00'),
      tx('TRANSFER_FAILURE', '120.00', '0.00', '120.00'),
      tx('ADJUSTMENT', '4.99', '0.00', '4.99', { adjustmentReason: 'shipping_label_credit' }),
      tx('TRANSFER', '-298.60', '0.00', '-298.60'),
    ];
    const s = payoutToSettlement(payout('298.60'), txs, { shop: SHOP });
    expect(validateDocument('settlement', s).valid).toBe(true);
    expect(sum(s.lines)).toBe(29860);
    expect(s.netTotal.amount).toBe(s.statedTotal!.amount);
    const kinds = (type: string) => txs.filter((t) => t.type === type).map((t) => t.id.split('/').pop()!);
    const [refund] = kinds('REFUND');
    expect(byId(s, refund)).toMatchObject({ type: 'refund', amount: { amount: -4000 } });
    expect(byId(s, `${refund}-fee`)).toMatchObject({ type: 'fee', category: 'payment', amount: { amount: 116 }, description: 'REFUND fee refund' });
    const [lost, won] = [...kinds('DISPUTE_WITHDRAWAL'), ...kinds('DISPUTE_REVERSAL')];
    expect(byId(s, lost)).toMatchObject({ type: 'adjustment', category: 'chargeback', amount: { amount: -6000 } });
    expect(byId(s, `${lost}-fee`)).toMatchObject({ type: 'fee', amount: { amount: -1500 } });
    expect(byId(s, won)).toMatchObject({ type: 'adjustment', category: 'chargeback', amount: { amount: 6000 } });
    expect(s.lines.find((l) => l.lineId === `${won}-fee`)).toBeUndefined();
    expect(byId(s, kinds('RESERVED_FUNDS_WITHDRAWAL')[0])).toMatchObject({ type: 'reserve', category: 'held', amount: { amount: -2500 } });
    expect(byId(s, kinds('RESERVED_FUNDS_REVERSAL')[0])).toMatchObject({ type: 'reserve', category: 'released', amount: { amount: 1000 } });
    expect(byId(s, kinds('TRANSFER_FAILURE')[0])).toMatchObject({ type: 'adjustment', category: 'failed-payout', amount: { amount: 12000 } });
    expect(byId(s, kinds('ADJUSTMENT')[0])).toMatchObject({ type: 'adjustment', category: 'reimbursement', description: 'shipping_label_credit' });
    // The payout's own transfer is not a statement line.
    expect(s.lines.find((l) => l.lineId === kinds('TRANSFER')[0])).toBeUndefined();
  });

  it('a failed payout keeps its status; a withdrawal is money taken from the bank', () => {
    const failed = payoutToSettlement(payout('10.00', { status: 'FAILED' }), [tx('CHARGE', '10.30', '0.30', '10.00')], { shop: SHOP });
    expect(failed.status).toBe('failed');
    const withdrawal = payoutToSettlement(payout('30.00', { transactionType: 'WITHDRAWAL' }), [tx('REFUND', '-30.00', '0.00', '-30.00')], { shop: SHOP });
    expect(withdrawal.statedTotal).toEqual({ amount: -3000, currency: 'USD' });
    expect(withdrawal.netTotal).toEqual({ amount: -3000, currency: 'USD' });
  });

  it('JPY has no minor digits: amounts are whole yen, and a fractional yen is refused', () => {
    const yen = payout('9680', { summary: { chargesGross: m('10000', 'JPY'), chargesFee: m('320', 'JPY') } }, 'JPY');
    const s = payoutToSettlement(yen, [tx('CHARGE', '10000', '320', '9680', {}, 'JPY')], { shop: SHOP });
    expect(s.statedTotal).toEqual({ amount: 9680, currency: 'JPY' });
    expect(sum(s.lines)).toBe(9680);
    expect(s.attributes?.['summary.chargesFee']).toBe('320');
    expect(() => payoutToSettlement(yen, [tx('CHARGE', '10000.5', '320.5', '9680', {}, 'JPY')], { shop: SHOP })).toThrow(
      /transaction \d+ \(CHARGE\) amount: 10000.5 has 1 decimals but JPY allows 0/,
    );
  });

  it('a payout whose transactions do not add up to its net maps, with the variance left for reconciliation', () => {
    const s = payoutToSettlement(payout('100.00'), [tx('CHARGE', '100.00', '3.20', '96.80')], { shop: SHOP });
    expect(s.netTotal.amount).toBe(9680);
    expect(s.statedTotal!.amount).toBe(10000);
  });

  const rejected = (p: ShopifyPayout, txs: ShopifyBalanceTransaction[]) => {
    try {
      payoutToSettlement(p, txs, { shop: SHOP });
    } catch (err) {
      expect(err).toBeInstanceOf(PayoutMappingError);
      return err as PayoutMappingError;
    }
    throw new Error('not rejected');
  };

  it('bad answers end in a named rejection: unknown type, wrong figures, other currency, malformed, hostile amount', () => {
    expect(rejected(payout('1.00'), [tx('SOMETHING_NEW', '1.00', '0.00', '1.00')])).toMatchObject({
      code: 'unknown-type',
      message: expect.stringMatching(/SOMETHING_NEW is not one Tillwire maps/),
    });
    expect(rejected(payout('1.00'), [tx('constructor', '1.00', '0.00', '1.00')])).toMatchObject({ code: 'unknown-type' });
    expect(rejected(payout('1.00'), [null as unknown as ShopifyBalanceTransaction])).toMatchObject({ code: 'malformed' });
    expect(rejected(payout('1.00'), [tx('CHARGE', '1.30', '0.30', '1.10')])).toMatchObject({ code: 'figures' });
    expect(rejected(payout('1.00'), [tx('CHARGE', '1.30', '0.30', '1.00', {}, 'EUR')])).toMatchObject({ code: 'currency' });
    expect(rejected({ ...payout('1.00'), issuedAt: 'yesterday' }, [])).toMatchObject({ code: 'malformed' });
    expect(rejected(payout('1.00'), [tx('CHARGE', '1e400', '0.30', '1.00')])).toMatchObject({ code: 'amount' });
    expect(rejected(payout('1.00'), [tx('CHARGE', '99999999999999999999.00', '0.00', '99999999999999999999.00')])).toMatchObject({
      code: 'amount',
      message: expect.stringMatching(/too large/),
    });
  });
});
