/**
 * The drift causes and their sentences (nodes/inventory/drift.ts), the cases the store tests do not
 * reach: both sides moved, the ERP reserving more than the ledger, long document lists, and the
 * tolerance setting.
 */
import { channelCause, listDocuments, onHandCause, reservedCause, toleranceOf, type DriftDocument } from '../../nodes/inventory/drift';

const sale = (n: number): DriftDocument => ({ kind: 'pos-sale', system: 'pos', account: '', documentId: `SALE-${n}`, units: -1 });
const order = (id: string, units: number): DriftDocument => ({ kind: 'order', system: 'amazon', account: 'A1', documentId: id, units });

it('on hand: both the ERP and the ledger moved since the ERP reading', () => {
  const r = onHandCause(12, 9, { onHand: 10, asOf: '2026-12-05T10:00:00Z' }, [sale(1)]);
  expect(r.cause).toBe('changed-in-erp-and-ledger');
  expect(r.message).toBe(
    "ERP on hand 12, ledger on hand 9 (+3): the ledger booked pos-sale pos SALE-1 (-1) since the ERP's reading at 2026-12-05T10:00:00Z, not in the ERP yet; " +
      "and the ERP's figure moved +2 since its reading at 2026-12-05T10:00:00Z with no document Tillwire saw (a count, a receipt or a move booked in the ERP)",
  );
});

it('reserved: the ERP reserves more than the ledger holds', () => {
  const r = reservedCause(5, 2, [order('111-2', 2)], []);
  expect(r).toEqual({
    cause: 'reserved-in-erp-not-in-ledger',
    message:
      'ERP reserved 5, ledger reserved 2 (the ledger holds order amazon/A1 111-2 (2)): 3 unit(s) reserved in the ERP for orders the ledger does not hold (entered in the ERP, or released or shipped in the ledger)',
  });
  // The ledger reserves more but none of its orders is among the recent events: said without names.
  expect(reservedCause(0, 3, [], []).message).toBe(
    'ERP reserved 0, ledger reserved 3: reservations in the ledger; 3 unit(s) the ERP has not reserved (an order not written to the ERP yet, or written without reserving)',
  );
});

it('names five documents and counts the rest', () => {
  expect(listDocuments([1, 2, 3, 4, 5, 6, 7].map(sale))).toBe(
    'pos-sale pos SALE-1 (-1), pos-sale pos SALE-2 (-1), pos-sale pos SALE-3 (-1), pos-sale pos SALE-4 (-1), pos-sale pos SALE-5 (-1) and 2 more',
  );
});

it('channel: never pushed, or changed since the last push', () => {
  expect(channelCause(4, undefined).cause).toBe('never-pushed');
  expect(channelCause(4, { quantity: 6, at: '2026-12-05T10:00:00Z' }).message).toMatch(
    /^channel shows 4, Tillwire last pushed 6 at 2026-12-05T10:00:00Z: changed outside Tillwire/,
  );
});

it('a tolerance is a whole number of units; empty means 0', () => {
  expect([undefined, '', '0', ' 3 ', 7].map((v) => toleranceOf(v, 'the tolerance'))).toEqual([0, 0, 0, 3, 7]);
  for (const bad of ['-1', '1.5', 'two', Number.MAX_SAFE_INTEGER + 2])
    expect(() => toleranceOf(bad, 'the on-hand drift tolerance')).toThrow(/^the on-hand drift tolerance must be a whole number of units/);
});
