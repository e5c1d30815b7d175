/**
 * Square payouts as canonical Settlements, against hand-built payouts and entries whose figures
 * were worked out by hand: charges and their fees, refunds with the fee given back, reserves held
 * and released, a dispute, a failed payout, a transfer fee beside the entries, JPY; and the payouts
 * that must be refused, each with its named problem.
 */
import { payoutToSettlement, PayoutMappingError } from '../../nodes/square/payout-map';
import { validateDocument } from '../../nodes/model/validate';
import type { SqPayout, SqPayoutEntry } from '../../nodes/square/types';

const gbp = (amount: number) => ({ amount, currency: 'GBP' });

function payout(over: Partial<SqPayout> = {}): SqPayout {
  return {
    id: 'po_1',
    status: 'PAID',
    location_id: 'L-LDN',
    created_at: '2026-03-02T01:00:00Z',
    updated_at: '2026-03-03T09:00:00Z',
    amount_money: gbp(0),
    type: 'BATCH',
    arrival_date: '2026-03-03',
    end_to_end_id: 'L2100000005',
    destination: { type: 'BANK_ACCOUNT', id: 'bact:1' },
    ...over,
  };
}

function entry(id: string, type: string, gross: number, fee: number, extra: Partial<SqPayoutEntry> = {}, currency = 'GBP'): SqPayoutEntry {
  const m = (amount: number) => ({ amount, currency });
  return {
    id,
    payout_id: 'po_1',
    effective_at: '2026-03-01T10:00:00Z',
    type,
    gross_amount_money: m(gross),
    fee_amount_money: m(fee),
    net_amount_money: m(gross - fee),
    ...extra,
  };
}

const orders: Record<string, { orderId: string }> = { pay_A: { orderId: 'ORD-A' }, pay_B: { orderId: 'ORD-B' } };
const orderOf = (p: string) => orders[p];
const sum = (s: { lines: Array<{ amount: { amount: number } }> }) => s.lines.reduce((t, l) => t + l.amount.amount, 0);

describe('Square payout → Settlement', () => {
  it('charges, a refund with its fee given back, reserves held and released: lines add up to the payout', () => {
    // 150.00 − 4.65 + 30.00 − 0.93 − 50.00 + 1.55 − 20.00 + 5.00 = 110.97
    const entries = [
      entry('poe_1', 'CHARGE', 15000, 465, { type_charge_details: { payment_id: 'pay_A' } }),
      entry('poe_2', 'CHARGE', 3000, 93, { type_charge_details: { payment_id: 'pay_B' }, effective_at: '2026-03-01T18:30:00Z' }),
      entry('poe_3', 'REFUND', -5000, -155, { type_refund_details: { payment_id: 'pay_A', refund_id: 'rf_1' } }),
      entry('poe_4', 'RESERVE_HOLD', -2000, 0),
      entry('poe_5', 'RESERVE_RELEASE', 500, 0),
    ];
    const s = payoutToSettlement(payout({ amount_money: gbp(11097) }), entries, { orderOf });
    expect(validateDocument('settlement', s)).toEqual({ valid: true, errors: [] });
    expect(sum(s)).toBe(11097);
    expect(s.netTotal).toEqual(gbp(11097));
    expect(s.statedTotal).toEqual(gbp(11097));
    expect(s).toMatchObject({
      settlementId: 'po_1',
      channel: { system: 'square', account: 'L-LDN', id: 'po_1' },
      status: 'paid',
      depositDate: '2026-03-03',
      periodStart: '2026-03-01T10:00:00.000Z',
      periodEnd: '2026-03-02T01:00:00.000Z',
      issuedAt: '2026-03-03T09:00:00.000Z',
      attributes: { payoutType: 'BATCH', endToEndId: 'L2100000005' },
    });
    const brief = s.lines.map((l) => [l.lineId, l.type, l.category ?? '', l.amount.amount, l.orderRef?.channel?.id ?? '']);
    expect(brief).toEqual([
      ['poe_1', 'principal', '', 15000, 'ORD-A'],
      ['poe_1:fee', 'fee', 'payment', -465, 'ORD-A'],
      ['poe_2', 'principal', '', 3000, 'ORD-B'],
      ['poe_2:fee', 'fee', 'payment', -93, 'ORD-B'],
      ['poe_3', 'refund', '', -5000, 'ORD-A'],
      ['poe_3:fee', 'fee', 'payment', 155, 'ORD-A'],
      ['poe_4', 'reserve', 'held', -2000, ''],
      ['poe_5', 'reserve', 'released', 500, ''],
    ]);
    expect(s.lines[0].orderRef).toEqual({ id: 'square:ORD-A', channel: { system: 'square', account: 'L-LDN', id: 'ORD-A' } });
    expect(s.lines[0].source).toEqual({ system: 'square', type: 'payout-entry', id: 'poe_1' });
  });

  it('a dispute and a manual adjustment are adjustments; an unknown type is `other` named by its type; a hold adjustment holds or releases by its sign', () => {
    const entries = [
      entry('poe_1', 'CHARGE', 4000, 100, { type_charge_details: { payment_id: 'pay_A' } }),
      entry('poe_2', 'DISPUTE', -4000, 0, { type_dispute_details: { payment_id: 'pay_A', dispute_id: 'dp_1' } }),
      entry('poe_3', 'ADJUSTMENT', 250, 0),
      entry('poe_4', 'SQUARE_CAPITAL_PAYMENT', -700, 0),
      entry('poe_5', 'HOLD_ADJUSTMENT', -300, 0),
      entry('poe_6', 'HOLD_ADJUSTMENT', 120, 0),
    ];
    // 40.00 − 1.00 − 40.00 + 2.50 − 7.00 − 3.00 + 1.20 = −7.30: the seller owes Square (a withdrawal).
    const s = payoutToSettlement(payout({ amount_money: gbp(-730) }), entries, { orderOf });
    expect(sum(s)).toBe(-730);
    expect(s.statedTotal).toEqual(gbp(-730));
    const kinds = s.lines.map((l) => [l.lineId, l.type, l.category ?? '', l.description]);
    expect(kinds).toEqual([
      ['poe_1', 'principal', '', 'CHARGE'],
      ['poe_1:fee', 'fee', 'payment', 'CHARGE fee'],
      ['poe_2', 'adjustment', 'chargeback', 'DISPUTE'],
      ['poe_3', 'adjustment', '', 'ADJUSTMENT'],
      ['poe_4', 'other', '', 'SQUARE_CAPITAL_PAYMENT'],
      ['poe_5', 'reserve', 'held', 'HOLD_ADJUSTMENT'],
      ['poe_6', 'reserve', 'released', 'HOLD_ADJUSTMENT'],
    ]);
    expect(s.lines[2].orderRef?.channel?.id).toBe('ORD-A');
  });

  it('a failed payout keeps its lines and reads failed', () => {
    const s = payoutToSettlement(payout({ status: 'FAILED', amount_money: gbp(1940) }), [entry('poe_1', 'CHARGE', 2000, 60)]);
    expect(s.status).toBe('failed');
    expect(sum(s)).toBe(1940);
    expect(s.attributes?.squareStatus).toBe('FAILED');
  });

  it('a transfer fee beside the entries is a payment fee line; one Square already counted among the entries is not added twice', () => {
    const beside = payoutToSettlement(
      payout({ amount_money: gbp(9650), payout_fee: [{ amount_money: gbp(50), type: 'TRANSFER_FEE', effective_at: '2026-03-02T01:00:00Z' }] }),
      [entry('poe_1', 'CHARGE', 10000, 300)],
    );
    expect(beside.lines.at(-1)).toMatchObject({ lineId: 'po_1:payout-fee:1', type: 'fee', category: 'payment', description: 'TRANSFER_FEE', amount: gbp(-50) });
    expect(sum(beside)).toBe(9650);

    const among = payoutToSettlement(payout({ amount_money: gbp(9650), payout_fee: [{ amount_money: gbp(50), type: 'TRANSFER_FEE' }] }), [
      entry('poe_1', 'CHARGE', 10000, 300),
      entry('poe_2', 'DEPOSIT_FEE', -50, 0),
    ]);
    expect(among.lines.map((l) => l.lineId)).toEqual(['poe_1', 'poe_1:fee', 'poe_2']);
    expect(among.lines[2]).toMatchObject({ type: 'fee', category: 'payment', amount: gbp(-50) });
    expect(sum(among)).toBe(9650);
    expect(among.attributes?.payoutFeeAmongEntries).toBe('50');
  });

  it('JPY (no decimals): yen are the minor unit, Money.currency or the guides’ currency_code', () => {
    const yen = (amount: number) => ({ amount, currency_code: 'JPY' });
    const s = payoutToSettlement(
      payout({ location_id: 'L-TYO', amount_money: { amount: 10670, currency: 'JPY' } }),
      [
        {
          id: 'poe_1',
          payout_id: 'po_1',
          effective_at: '2026-03-01T03:00:00Z',
          type: 'CHARGE',
          gross_amount_money: yen(11000),
          fee_amount_money: yen(330),
          net_amount_money: yen(10670),
        },
      ],
      {},
    );
    expect(s.currency).toBe('JPY');
    expect(s.lines.map((l) => l.amount)).toEqual([
      { amount: 11000, currency: 'JPY' },
      { amount: -330, currency: 'JPY' },
    ]);
    expect(s.netTotal).toEqual({ amount: 10670, currency: 'JPY' });
  });

  it('entries that do not add up to the payout still map exactly; the difference stays visible as netTotal ≠ statedTotal', () => {
    const s = payoutToSettlement(payout({ amount_money: gbp(1000) }), [entry('poe_1', 'CHARGE', 1000, 30)]);
    expect(s.netTotal).toEqual(gbp(970));
    expect(s.statedTotal).toEqual(gbp(1000));
  });

  describe('refused payouts, each with its problem named', () => {
    const refused = (p: SqPayout, entries: SqPayoutEntry[]) => {
      try {
        payoutToSettlement(p, entries);
      } catch (err) {
        expect(err).toBeInstanceOf(PayoutMappingError);
        return { code: (err as PayoutMappingError).code, message: (err as Error).message };
      }
      throw new Error('the payout was accepted');
    };

    it('malformed: no id, no amount, an entry without amounts, a fractional amount, a repeated entry, an entry of another payout', () => {
      expect(refused({ ...payout(), id: '' }, [])).toMatchObject({ code: 'malformed', message: expect.stringMatching(/no id/) });
      expect(refused(payout({ amount_money: undefined }), [])).toMatchObject({ code: 'malformed', message: /no amount_money/ });
      expect(refused(payout({ amount_money: gbp(5) }), [{ id: 'poe_1', payout_id: 'po_1', type: 'CHARGE' }])).toMatchObject({
        code: 'malformed',
        message: /neither a gross nor a net/,
      });
      expect(refused(payout({ amount_money: gbp(5) }), [entry('poe_1', 'CHARGE', 10.5, 0)])).toMatchObject({
        code: 'malformed',
        message: /10.5 is not an integer/,
      });
      expect(refused(payout({ amount_money: gbp(5) }), [entry('poe_1', 'CHARGE', 5, 0), entry('poe_1', 'CHARGE', 5, 0)])).toMatchObject({
        code: 'malformed',
        message: /appears twice/,
      });
      expect(refused(payout({ amount_money: gbp(5) }), [{ ...entry('poe_1', 'CHARGE', 5, 0), payout_id: 'po_other' }])).toMatchObject({
        code: 'malformed',
        message: /belongs to payout po_other/,
      });
    });

    it('wrong figures: net is not gross − fee', () => {
      expect(refused(payout({ amount_money: gbp(970) }), [{ ...entry('poe_1', 'CHARGE', 1000, 30), net_amount_money: gbp(980) }])).toMatchObject({
        code: 'figures',
        message: 'Square payout po_1: entry poe_1: net 980 is not gross 1000 − fee 30',
      });
    });

    it('a second currency, an unknown currency, an unknown status', () => {
      expect(refused(payout({ amount_money: gbp(100) }), [entry('poe_1', 'CHARGE', 100, 0, {}, 'EUR')])).toMatchObject({
        code: 'currency',
        message: /in EUR, the payout in GBP/,
      });
      expect(refused(payout({ amount_money: { amount: 100, currency: 'XXY' } }), [])).toMatchObject({ code: 'currency' });
      expect(refused(payout({ status: 'LOST', amount_money: gbp(100) }), [])).toMatchObject({ code: 'status', message: /unknown status 'LOST'/ });
    });

    it('too large: an amount beyond the exact integer range, or lines adding up beyond it', () => {
      expect(refused(payout({ amount_money: gbp(2 ** 60) }), [])).toMatchObject({ code: 'too-large' });
      const big = Number.MAX_SAFE_INTEGER - 1;
      expect(refused(payout({ amount_money: gbp(5) }), [entry('poe_1', 'CHARGE', big, 0), entry('poe_2', 'CHARGE', big, 0)])).toMatchObject({
        code: 'too-large',
      });
    });

    it('hostile text is cut short in the message, never evaluated', () => {
      const r = refused(payout({ status: '<script>'.repeat(50), amount_money: gbp(1) }), []);
      expect(r.code).toBe('status');
      expect(r.message.length).toBeLessThan(120);
    });
  });
});
