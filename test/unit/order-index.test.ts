/**
 * The order index's writer and matcher on the memory store: what counts as a channel order, writes
 * that fail without failing the order, and the matcher's answer for ids seen, accepted, both or neither.
 */
import { createStore } from '../../nodes/runtime/create-store';
import { channelOrderOf, orderMatcherFor, OrderIndexWriter, orderSeenOf } from '../../nodes/runtime/order-index';
import type { Store } from '../../nodes/runtime/store';

const order = (id: string, amount = 11900, channel: Record<string, unknown> = { system: 'amazon', account: 'A1PA6795UKMFR9', id }) => ({
  kind: 'order',
  id: `amazon:${id}`,
  channel,
  currency: 'EUR',
  totals: { grandTotal: { amount, currency: 'EUR' } },
});

let store: Store;
beforeEach(async () => {
  store = createStore({ backend: 'memory' }, undefined, { heartbeatMs: 0 });
  await store.open();
});
afterEach(() => store.close());

it('only a canonical order with a channel system and id is a channel order', () => {
  expect(channelOrderOf(order('402-1'))).toEqual({ system: 'amazon', account: 'A1PA6795UKMFR9', orderId: '402-1' });
  expect(channelOrderOf(order('B1', 1, { system: 'bol', id: 'B1' }))).toEqual({ system: 'bol', account: '', orderId: 'B1' });
  expect(orderSeenOf(order('402-1', 4250))).toEqual({ system: 'amazon', account: 'A1PA6795UKMFR9', orderId: '402-1', gross: 4250, currency: 'EUR' });
  for (const notOne of [
    { ...order('r'), kind: 'return' },
    { ...order('s'), kind: 'sale' },
    order('x', 1, { system: 'amazon' }),
    order('x', 1, { system: '', id: 'x' }),
    null,
    'order',
  ]) {
    expect(channelOrderOf(notOne)).toBeUndefined();
  }
  // A gross that is not an exact integer of minor units is not recorded as one.
  expect(orderSeenOf(order('f', 119.5))).toBeUndefined();
  expect(orderSeenOf(order('big', Number.MAX_SAFE_INTEGER + 2))).toBeUndefined();
});

it('a sale a channel settles (a Square in-store sale) is a channel order under the id its payouts name; a till sale is not', () => {
  const sale = (tenders: Array<{ type: string; amount: number }>, extra: Record<string, unknown> = {}) => ({
    kind: 'sale',
    saleId: 'SQ-ORDER-1',
    storeId: 'LOC-1',
    terminalId: 'Terminal-1',
    sequence: 1,
    occurredAt: '2026-12-04T10:15:00Z',
    businessDate: '2026-12-04',
    currency: 'USD',
    channel: { system: 'square', account: 'LOC-1', id: 'SQ-ORDER-1' },
    tenders: tenders.map((t) => ({ type: t.type, amount: { amount: t.amount, currency: 'USD' } })),
    totals: { grandTotal: { amount: tenders.reduce((n, t) => n + t.amount, 0), currency: 'USD' } },
    ...extra,
  });
  expect(orderSeenOf(sale([{ type: 'card', amount: 2599 }]))).toEqual({
    system: 'square',
    account: 'LOC-1',
    orderId: 'SQ-ORDER-1',
    gross: 2599,
    currency: 'USD',
    placedAt: '2026-12-04T10:15:00Z',
    status: 'completed',
  });
  // Part paid in cash, part by card: Square pays out the card part, the sale is recorded whole.
  expect(
    orderSeenOf(
      sale([
        { type: 'cash', amount: 1000 },
        { type: 'card', amount: 1599 },
      ]),
    )?.gross,
  ).toBe(2599);
  const { channel: _none, ...tillSale } = sale([{ type: 'card', amount: 2599 }]);
  for (const notOne of [
    tillSale, // over MQTT: no channel settles it
    sale([{ type: 'cash', amount: 2599 }]), // all cash: no payout names it
    sale([{ type: 'card', amount: -2599 }], { returnOf: { saleId: 'SQ-ORDER-0' } }), // a refund settles against the original order
    sale([{ type: 'card', amount: 0 }]),
  ]) {
    expect(channelOrderOf(notOne)).toBeUndefined();
    expect(orderSeenOf(notOne)).toBeUndefined();
  }
});

it('the writer records a channel-settled sale taken in and its ERP acceptance under the Square order id', async () => {
  const sale = {
    kind: 'sale',
    saleId: 'SQ-2',
    occurredAt: '2026-12-04T11:00:00Z',
    channel: { system: 'square', account: 'LOC-1', id: 'SQ-2' },
    tenders: [{ type: 'card', amount: { amount: 1250, currency: 'USD' } }],
    totals: { grandTotal: { amount: 1250, currency: 'USD' } },
  };
  const writer = new OrderIndexWriter(store, () => undefined);
  await writer.seen(sale);
  await writer.accepted(sale, 'odoo', 'S00042');
  await writer.seen({ ...sale, channel: undefined, saleId: 'T-1' }); // a till sale: nothing
  expect(await orderMatcherFor(store, { system: 'square', account: 'LOC-1' }).match(['SQ-2', 'T-1'])).toEqual({
    tillwire: [{ orderId: 'SQ-2', gross: { amount: 1250, currency: 'USD' } }],
    erp: ['SQ-2'],
  });
});

it('a write that fails is counted and reported, never thrown; the next one goes through', async () => {
  const reports: string[] = [];
  let down = true;
  const flaky = new Proxy(store, {
    get: (target, p) =>
      down && (p === 'orderSeen' || p === 'orderAccepted') ? async () => Promise.reject(new Error('database is locked')) : Reflect.get(target, p),
  });
  const writer = new OrderIndexWriter(flaky, (m) => reports.push(m));
  await expect(writer.seen(order('402-1'))).resolves.toBeUndefined();
  await expect(writer.accepted(order('402-1'), 'odoo', 'S00001')).resolves.toBeUndefined();
  expect(writer.failures).toBe(2);
  expect(reports[1]).toBe(
    'order index: amazon order 402-1 not recorded (database is locked); the order went on, 2 index write(s) failed so far: reconciliation will name it as unmatched',
  );
  down = false;
  await writer.seen(order('402-2'));
  expect(writer.failures).toBe(2);
  expect((await store.orderLookup(['402-1', '402-2'])).map((r) => r.orderId)).toEqual(['402-2']);

  // No store to be had (none chosen, or it cannot open) is a failed write too.
  const none = new OrderIndexWriter(
    () => Promise.reject(new Error('no store configured')),
    (m) => reports.push(m),
  );
  await none.seen(order('402-3'));
  expect(none.failures).toBe(1);
  expect(reports[2]).toMatch(/^order index: amazon order 402-3 not recorded \(no store configured\)/);
});

it('a return, or an ERP answer without a ref, writes nothing', async () => {
  const writer = new OrderIndexWriter(store, () => undefined);
  await writer.seen({ ...order('r1'), kind: 'return' });
  await writer.accepted(order('o1'), 'odoo', undefined);
  expect(await store.orderLookup(['r1', 'o1'])).toEqual([]);
});

it('the matcher: taken in with gross, accepted by the ERP, both, or neither', async () => {
  const writer = new OrderIndexWriter(store, () => undefined);
  await writer.seen(order('both', 11900));
  await writer.accepted(order('both'), 'odoo', 'S00001');
  await writer.seen(order('tillwire-only', 500));
  await writer.accepted(order('erp-only'), 'odoo', 'S00002');
  // The same id at another channel: without a scope it still counts once.
  await writer.seen(order('both', 1, { system: 'shopify', account: 'shop', id: 'both' }));

  const answer = await orderMatcherFor(store, { system: 'amazon' }).match(['both', 'tillwire-only', 'erp-only', 'nobody']);
  expect(answer.tillwire).toEqual(
    expect.arrayContaining([
      { orderId: 'both', gross: { amount: 11900, currency: 'EUR' } },
      { orderId: 'tillwire-only', gross: { amount: 500, currency: 'EUR' } },
    ]),
  );
  expect(answer.tillwire).toHaveLength(2);
  expect([...answer.erp].sort()).toEqual(['both', 'erp-only']);

  const any = await orderMatcherFor(store).match(['both']);
  expect(any.tillwire).toHaveLength(1);
  expect(any.erp).toEqual(['both']);
});
