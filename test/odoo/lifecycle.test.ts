/**
 * The order lifecycle and returns in the Odoo connector (docs/connectors/order-lifecycle.md):
 * out-of-order events, tombstones, stale events, credit notes linked to the original order,
 * idempotent across deliveries, money exact in 0-, 2- and 3-decimal currencies.
 */
import { ConnectorError } from '../../nodes/runtime/http';
import { toMinor } from '../../nodes/model/money';
import { OdooClient } from '../../nodes/odoo/client';
import { OdooSync } from '../../nodes/odoo/sync';
import { OrderResult } from '../../nodes/odoo/orders';
import { CreditNoteResult, splitExact, originalRefs } from '../../nodes/odoo/returns';
import { validateDocument, channelOfOrderKey } from '../../nodes/model/validate';
import { OdooSimulator, SEED } from '../../simulators/odoo/simulator';
import type { Order, Return, Sale } from '../../nodes/model/types.generated';
import { clientFor, fixture, startSimulator, TAX_MAP } from './support';

const JPY_KEY = 'order:rakuten:tillwire-tea:384726-20250315-0012345678';
const USD_KEY = 'order:shopify:tillwire-demo.myshopify.com:5902184710234';

function jpyOrder(status: Order['status'] = 'accepted'): Order {
  return { ...fixture<Order>('order-jpy.json'), status };
}

/** One Odoo order per key, in `state`, created once. */
function expectOne(sim: OdooSimulator, key: string, state: string) {
  const s = sim.state();
  expect(s.duplicateRefs).toEqual([]);
  expect(s.orders[key]).toHaveLength(1);
  expect(s.orders[key][0].state).toBe(state);
  expect(s.counts['sale.order']).toBe(1);
  expect(sim.stats.calls['sale.order.create']).toBe(1);
}

function jpyReturn(over: Partial<Return> = {}): Return {
  return {
    kind: 'return',
    returnId: 'R-384726-1',
    channel: { system: 'rakuten', account: 'tillwire-tea', id: 'R-384726-1' },
    originalOrder: { id: 'ord_01JPBC1F7K2M9N4Q6R8S0T3V5W', channel: { system: 'rakuten', account: 'tillwire-tea', id: '384726-20250315-0012345678' } },
    status: 'refunded',
    createdAt: '2025-03-20T10:00:00+09:00',
    currency: 'JPY',
    lines: [
      { lineId: '1', originalLineId: '1', sku: 'SENCHA-100G', quantity: 2, reason: 'damaged', restock: false, refundAmount: { amount: 3240, currency: 'JPY' } },
    ],
    refunds: [{ refundId: 'RF-1', amount: { amount: 3240, currency: 'JPY' }, issuedAt: '2025-03-21T09:00:00+09:00' }],
    totals: { refundTotal: { amount: 3240, currency: 'JPY' } },
    ...over,
  };
}

describe.each(['jsonrpc', 'json2'] as const)('order lifecycle over %s', (api) => {
  let sim: OdooSimulator;
  let client: OdooClient;
  let sync: OdooSync;
  beforeAll(async () => {
    sim = await startSimulator({ version: 19 });
  });
  afterAll(() => sim.stop());
  beforeEach(() => {
    sim.reset();
    client = clientFor(sim, api);
    sync = new OdooSync(client, { version: 19, defaultPartnerId: SEED.walkInPartnerId, taxMap: TAX_MAP, policy: { baseDelayMs: 1, maxDelayMs: 5 } });
  });
  afterEach(() => client.close());

  it('paid before create: the paid event creates the order; create, fulfilled and duplicates find it', async () => {
    const results: OrderResult[] = [];
    for (const status of ['paid', 'accepted', 'paid', 'fulfilled', 'accepted'] as const) results.push(await sync.pushOrder(jpyOrder(status), JPY_KEY));
    expect(results.map((r) => [r.action, r.channelStatus, r.created, r.state])).toEqual([
      ['create', 'paid', true, 'sale'],
      ['exists', 'accepted', false, 'sale'],
      ['exists', 'paid', false, 'sale'],
      ['exists', 'fulfilled', false, 'sale'],
      ['exists', 'accepted', false, 'sale'],
    ]);
    expect(new Set(results.map((r) => r.name))).toEqual(new Set(['S00001']));
    // Money exact in a 0-decimal currency.
    expect(results.every((r) => r.amountTotal!.amount === 10410 && r.amountTotal!.currency === 'JPY' && !r.variance)).toBe(true);
    expectOne(sim, JPY_KEY, 'sale');
    expect(sim.stats.calls['sale.order.action_confirm']).toBe(1);
  });

  it('cancel before create: a tombstone (created, confirmed, cancelled); the late stale create and paid change nothing', async () => {
    const first = await sync.pushOrder(jpyOrder('cancelled'), JPY_KEY);
    expect(first).toMatchObject({
      action: 'create-cancelled',
      channelStatus: 'cancelled',
      created: true,
      state: 'cancel',
      name: 'S00001',
      amountTotal: { amount: 10410, currency: 'JPY' },
    });
    const late = await sync.pushOrder(jpyOrder('accepted'), JPY_KEY);
    expect(late).toMatchObject({ action: 'already-cancelled', stale: true, created: false, state: 'cancel', name: 'S00001', id: first.id });
    expect(await sync.pushOrder(jpyOrder('paid'), JPY_KEY)).toMatchObject({ action: 'already-cancelled', stale: true });
    expect(await sync.pushOrder(jpyOrder('cancelled'), JPY_KEY)).toMatchObject({ action: 'already-cancelled', stale: false, state: 'cancel' });
    expectOne(sim, JPY_KEY, 'cancel');
    expect(sim.stats.calls['sale.order.action_cancel']).toBe(1);
  });

  it('create, paid, cancel, create, paid delivered all at once (and twice): exactly one Odoo order, cancelled', async () => {
    const statuses = ['accepted', 'paid', 'cancelled', 'accepted', 'paid'] as const;
    const results = await Promise.all([...statuses, ...statuses].map((s) => sync.pushOrder(jpyOrder(s), JPY_KEY)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expectOne(sim, JPY_KEY, 'cancel');
  });

  it('a tombstone interrupted between create and cancel: the cancel’s redelivery finishes it, still one order', async () => {
    sim.setFaults({ errorRate: 1, only: ['sale.order.action_cancel'] });
    const err: ConnectorError = await sync.pushOrder(jpyOrder('cancelled'), JPY_KEY).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.retryable).toBe(true);
    expect(sim.orders().map((o) => o.state)).toEqual(['sale']);
    sim.setFaults({});
    // A stale create in between finds the open order and leaves it.
    expect(await sync.pushOrder(jpyOrder('accepted'), JPY_KEY)).toMatchObject({ action: 'exists', created: false, state: 'sale' });
    expect(await sync.pushOrder(jpyOrder('cancelled'), JPY_KEY)).toMatchObject({ action: 'cancel', created: false, state: 'cancel' });
    expectOne(sim, JPY_KEY, 'cancel');
  });

  it('an order cancelled by someone in Odoo: later channel events are stale, not errors', async () => {
    const made = await sync.pushOrder(jpyOrder('paid'), JPY_KEY);
    await client.call('sale.order', 'action_cancel', { ids: [made.id] }, { context: { disable_cancel_warning: true } });
    expect(await sync.pushOrder(jpyOrder('fulfilled'), JPY_KEY)).toMatchObject({ action: 'already-cancelled', stale: true, state: 'cancel' });
    expectOne(sim, JPY_KEY, 'cancel');
  });

  it('an unknown SKU never creates a half order, whatever the event (a cancel included)', async () => {
    for (const status of ['paid', 'cancelled'] as const) {
      const order = jpyOrder(status);
      order.lines[1].sku = 'NO-SUCH-TEAPOT';
      const err: ConnectorError = await sync.pushOrder(order, JPY_KEY).catch((e) => e);
      expect(err.retryable).toBe(false);
      expect(err.details.providerCode).toBe('unknown_sku');
      expect(err.message).toContain('NO-SUCH-TEAPOT');
    }
    expect(sim.counts()['sale.order']).toBe(0);
    expect(sim.counts()['sale.order.line']).toBe(0);
  });
});

describe.each(['jsonrpc', 'json2'] as const)('returns as credit notes over %s', (api) => {
  let sim: OdooSimulator;
  let client: OdooClient;
  let sync: OdooSync;
  beforeAll(async () => {
    sim = await startSimulator({ version: 19 });
  });
  afterAll(() => sim.stop());
  beforeEach(() => {
    sim.reset();
    client = clientFor(sim, api);
    sync = new OdooSync(client, { version: 19, defaultPartnerId: SEED.walkInPartnerId, taxMap: TAX_MAP, policy: { baseDelayMs: 1, maxDelayMs: 5 } });
  });
  afterEach(() => client.close());

  const retKey = 'return:rakuten:R-384726-1';

  it('a refunded return: one posted out_refund linked to the original, idempotent across 3 deliveries; JPY exact', async () => {
    const order = await sync.pushOrder(jpyOrder('paid'), JPY_KEY);
    const results: CreditNoteResult[] = [];
    for (let i = 0; i < 3; i++) results.push(await sync.pushReturn(jpyReturn(), retKey));
    expect(results.map((r) => r.created)).toEqual([true, false, false]);
    expect(results[0]).toEqual({
      system: 'odoo',
      model: 'account.move',
      moveType: 'out_refund',
      action: 'credit',
      returnStatus: 'refunded',
      key: retKey,
      id: 1,
      name: 'RINV/2025/00001',
      state: 'posted',
      created: true,
      originalOrder: { id: order.id, name: 'S00001', key: JPY_KEY },
      amountTotal: { amount: 3240, currency: 'JPY' },
    });
    expect(results[2]).toMatchObject({ id: 1, name: 'RINV/2025/00001', state: 'posted', originalOrder: { name: 'S00001' } });
    const moves = sim.records(
      'account.move',
      [['move_type', '=', 'out_refund']],
      ['name', 'state', 'ref', 'invoice_origin', 'partner_id', 'currency_id', 'amount_total', 'invoice_date', 'invoice_line_ids'],
    );
    expect(moves).toHaveLength(1);
    const [so] = sim.records('sale.order', [], ['partner_id']);
    expect(moves[0]).toMatchObject({
      state: 'posted',
      ref: retKey,
      invoice_origin: 'S00001',
      partner_id: so.partner_id,
      currency_id: [expect.any(Number), 'JPY'],
      amount_total: 3240,
      invoice_date: '2025-03-21',
    });
    const lines = sim.records('account.move.line', [['move_id', '=', moves[0].id]], ['product_id', 'quantity', 'price_unit', 'tax_ids', 'price_total']);
    expect(lines).toEqual([expect.objectContaining({ quantity: 2, price_unit: 1620, tax_ids: [SEED.taxes.jpCt8Included], price_total: 3240 })]);
    expect((lines[0].product_id as [number, string])[1]).toContain('SENCHA-100G');
    expect(sim.stats.calls['account.move.create']).toBe(1);
    expect(sim.stats.calls['account.move.action_post']).toBe(1);
  });

  it.each([
    ['Asia/Tokyo', '2025-03-21'],
    [undefined, '2025-03-20'], // UTC
  ])('the credit note is dated on the business day of the refund in the configured time zone (%s → %s)', async (timeZone, day) => {
    sync = new OdooSync(client, { version: 19, defaultPartnerId: SEED.walkInPartnerId, taxMap: TAX_MAP, policy: { baseDelayMs: 1, maxDelayMs: 5 }, timeZone });
    await sync.pushOrder(jpyOrder('paid'), JPY_KEY);
    // 08:30 in Tokyo is 23:30 UTC the day before.
    await sync.pushReturn(
      jpyReturn({ refunds: [{ refundId: 'RF-1', amount: { amount: 3240, currency: 'JPY' }, issuedAt: '2025-03-21T08:30:00+09:00' }] }),
      retKey,
    );
    const moves = sim.records('account.move', [['move_type', '=', 'out_refund']], ['invoice_date']);
    expect(moves.map((m) => m.invoice_date)).toEqual([day]);
  });

  it('taxes added on top in the original order (USD): the tax-included refund is taken back to the net price', async () => {
    await client.create('res.partner', { name: 'Jordan Lee', email: 'jordan.lee@example.com' });
    await sync.pushOrder(fixture('order.json'), USD_KEY);
    const ret = fixture<Return>('return.json');
    const r = await sync.pushReturn(ret, 'return:shopify:1001-R1');
    expect(r).toMatchObject({ state: 'posted', amountTotal: { amount: 2256, currency: 'USD' }, originalOrder: { key: USD_KEY } });
    expect(r.variance).toBeUndefined();
    const lines = sim.records('account.move.line', [['move_id', '=', r.id]], ['price_unit', 'tax_ids', 'price_subtotal']);
    expect(lines).toEqual([expect.objectContaining({ price_unit: 18.8, tax_ids: [SEED.taxes.vat20], price_subtotal: 18.8 })]);
  });

  it('requested and authorized wait, rejected writes nothing: skipped with the reason', async () => {
    await sync.pushOrder(jpyOrder('paid'), JPY_KEY);
    for (const status of ['requested', 'authorized'] as const) {
      expect(await sync.pushReturn(jpyReturn({ status }), retKey)).toMatchObject({
        action: 'wait',
        skipped: true,
        id: null,
        created: false,
        reason: expect.stringContaining(status),
      });
    }
    expect(await sync.pushReturn(jpyReturn({ status: 'rejected' }), retKey)).toMatchObject({
      action: 'none',
      skipped: true,
      id: null,
      reason: expect.stringContaining('rejected'),
    });
    expect(sim.counts()['account.move']).toBe(0);
    expect(await sync.pushReturn(jpyReturn({ status: 'received' }), retKey)).toMatchObject({ action: 'credit', state: 'posted', created: true });
    expect(await sync.pushReturn(jpyReturn({ status: 'closed' }), retKey)).toMatchObject({ action: 'credit', state: 'posted', created: false });
    expect(sim.counts()['account.move']).toBe(1);
  });

  it('original order not in Odoo yet: a permanent error naming it, nothing written; once the order exists the same return goes through', async () => {
    const err: ConnectorError = await sync.pushReturn(jpyReturn(), retKey).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.retryable).toBe(false);
    expect(err.details.providerCode).toBe('original_missing');
    expect(err.message).toContain(`original order ${JPY_KEY} is not in Odoo yet`);
    expect(sim.counts()['account.move']).toBe(0);
    await sync.pushOrder(jpyOrder('paid'), JPY_KEY);
    expect(await sync.pushReturn(jpyReturn(), retKey)).toMatchObject({ created: true, state: 'posted', originalOrder: { name: 'S00001' } });
  });

  it('an unknown SKU in a return: permanent error naming it, nothing written', async () => {
    await sync.pushOrder(jpyOrder('paid'), JPY_KEY);
    const ret = jpyReturn();
    ret.lines[0].sku = 'NO-SUCH-TEA';
    const err: ConnectorError = await sync.pushReturn(ret, retKey).catch((e) => e);
    expect(err.details.providerCode).toBe('unknown_sku');
    expect(err.message).toContain('unknown SKU in Odoo (no active product with that Internal Reference): NO-SUCH-TEA');
    expect(sim.counts()['account.move']).toBe(0);
  });

  it('answers lost after the commit (create, then post): still one posted credit note, created by this call', async () => {
    await sync.pushOrder(jpyOrder('paid'), JPY_KEY);
    sim.setFaults({ lostResponseRate: 1, only: ['account.move.create', 'account.move.action_post'] });
    const r = await sync.pushReturn(jpyReturn(), retKey);
    sim.setFaults({});
    expect(r).toMatchObject({ created: true, state: 'posted', name: 'RINV/2025/00001' });
    expect(sim.stats.faults.lost).toBe(2);
    expect(sim.records('account.move', [], ['state']).map((m) => m.state)).toEqual(['posted']);
  });

  it('a draft credit note left behind (crash before posting) is posted, not duplicated', async () => {
    await sync.pushOrder(jpyOrder('paid'), JPY_KEY);
    sim.setFaults({ errorRate: 1, only: ['account.move.action_post'] });
    await expect(sync.pushReturn(jpyReturn(), retKey)).rejects.toThrow(/action_post/);
    expect(sim.records('account.move', [], ['state']).map((m) => m.state)).toEqual(['draft']);
    sim.setFaults({});
    expect(await sync.pushReturn(jpyReturn(), retKey)).toMatchObject({ created: false, state: 'posted' });
    expect(sim.counts()['account.move']).toBe(1);
  });
});

describe('a till sale whose lines are all returns', () => {
  let sim: OdooSimulator;
  afterEach(() => sim.stop());

  it('is not refused: a confirmed sale.order of negative-quantity lines, its negative total exact (invoicing it makes the credit note)', async () => {
    sim = await startSimulator({ version: 19 });
    const client = clientFor(sim);
    const sync = new OdooSync(client, { version: 19, defaultPartnerId: SEED.walkInPartnerId, taxMap: TAX_MAP });
    const sale = fixture<Sale>('sale-kwd.json');
    const line = { ...sale.lines[1] }; // ABAYA-BLK-52, quantity -1, -24.500 KWD
    const refund: Sale = {
      ...sale,
      saleId: 'AVN-07-004419',
      lines: [line],
      tenders: [{ type: 'cash', amount: { amount: -24500, currency: 'KWD' } }],
      totals: {
        subtotal: { amount: -24500, currency: 'KWD' },
        discountTotal: { amount: 0, currency: 'KWD' },
        taxTotal: { amount: 0, currency: 'KWD' },
        grandTotal: { amount: -24500, currency: 'KWD' },
      },
    };
    const r = await sync.pushOrder(refund, 'sale:KWI-AVENUES:07:AVN-07-004419');
    expect(r).toMatchObject({ state: 'sale', created: true, amountTotal: { amount: -24500, currency: 'KWD' } });
    expect(r.variance).toBeUndefined();
    expect(sim.records('sale.order.line', [], ['product_uom_qty', 'price_unit'])).toEqual([expect.objectContaining({ product_uom_qty: -1, price_unit: 24.5 })]);
    await client.close();
  });
});

describe('returns in KWD (3 decimals)', () => {
  let sim: OdooSimulator;
  afterEach(() => sim.stop());

  const kwdReturn = (): Return => ({
    kind: 'return',
    returnId: 'KWI-R-1',
    channel: { system: 'pos', id: 'KWI-R-1' },
    originalSale: { saleId: 'AVN-07-004418', storeId: 'KWI-AVENUES' },
    status: 'received',
    createdAt: '2025-04-01T10:00:00+03:00',
    currency: 'KWD',
    lines: [{ sku: 'SHAYLA-SILK-GRY', quantity: 2, reason: 'no_longer_needed', restock: true, refundAmount: { amount: 11251, currency: 'KWD' } }],
    totals: { refundTotal: { amount: 11251, currency: 'KWD' } },
  });

  async function run(priceDigits: number) {
    sim = await startSimulator({ version: 19, priceDigits });
    const client = clientFor(sim);
    const sync = new OdooSync(client, { version: 19, defaultPartnerId: SEED.walkInPartnerId, taxMap: TAX_MAP });
    await sync.pushOrder(fixture<Sale>('sale-kwd.json'), 'sale:KWI-AVENUES:07:AVN-07-004418');
    const r = await sync.pushReturn(kwdReturn(), 'return:pos:KWI-R-1');
    await client.close();
    return r;
  }

  it('a till sale returned (original found by store and sale id, any terminal): fils exact, an uneven refund split over two lines', async () => {
    const r = await run(3); // Odoo's "Product Price" precision set to 3 decimals, as KWD companies do
    expect(r).toMatchObject({
      state: 'posted',
      created: true,
      amountTotal: { amount: 11251, currency: 'KWD' },
      originalOrder: { key: 'sale:KWI-AVENUES:07:AVN-07-004418' },
    });
    expect(r.variance).toBeUndefined();
    const [move] = sim.records('account.move', [['ref', '=', 'return:pos:KWI-R-1']], ['amount_total', 'partner_id']);
    expect(toMinor(move.amount_total as number, 'KWD')).toBe(11251);
    expect(move.partner_id).toEqual([SEED.walkInPartnerId, 'Walk-in Customer']);
    const lines = sim.records('account.move.line', [['move_id', '=', move.id]], ['quantity', 'price_unit']);
    expect(lines.map((l) => [l.quantity, l.price_unit])).toEqual([
      [1, 5.625],
      [1, 5.626],
    ]);
  });

  it('with Odoo prices at 2 decimals the fils cannot be expressed: the variance is reported, not hidden', async () => {
    const r = await run(2);
    expect(r.variance).toEqual({ amount: r.amountTotal!.amount - 11251, currency: 'KWD' });
    expect(r.variance!.amount).not.toBe(0);
  });
});

describe('shipments out of Odoo', () => {
  let sim: OdooSimulator;
  let client: OdooClient;
  let sync: OdooSync;
  beforeAll(async () => {
    sim = await startSimulator({ version: 17 });
  });
  afterAll(() => sim.stop());
  beforeEach(() => {
    sim.reset();
    client = clientFor(sim);
    sync = new OdooSync(client, { version: 17, defaultPartnerId: SEED.walkInPartnerId, taxMap: TAX_MAP });
  });
  afterEach(() => client.close());

  it('confirming an order creates its delivery; once done it is read as a valid canonical shipment, then the cursor moves past it', async () => {
    await sync.pushOrder(jpyOrder('paid'), JPY_KEY);
    expect(sim.records('stock.picking', [], ['name', 'state', 'picking_type_code', 'origin'])).toEqual([
      expect.objectContaining({ name: 'WH/OUT/00001', state: 'assigned', picking_type_code: 'outgoing', origin: 'S00001' }),
    ]);
    expect((await sync.readShipments()).shipments).toEqual([]);
    sim.ship({ order: JPY_KEY, carrier: 'UPS', trackingRef: '1Z999AA10123456784', doneAt: '2025-03-16T08:00:00Z' });
    const first = await sync.readShipments();
    expect(first.invalid).toEqual([]);
    expect(first.shipments).toEqual([
      {
        kind: 'shipment',
        shipmentId: 'WH/OUT/00001',
        order: { id: JPY_KEY, channel: { system: 'rakuten', account: 'tillwire-tea', id: '384726-20250315-0012345678' } },
        shippedAt: '2025-03-16T08:00:00Z',
        carrier: 'UPS',
        trackingNumber: '1Z999AA10123456784',
        // the shipping charge is a service: nothing to ship
        lines: [
          { sku: 'SENCHA-100G', quantity: 3 },
          { sku: 'KYUSU-TEAPOT-350', quantity: 1 },
        ],
        source: { system: 'odoo', type: 'stock.picking', id: 'WH/OUT/00001' },
        attributes: { odooPickingId: '1', odooSaleOrder: 'S00001' },
      },
    ]);
    expect(validateDocument('shipment', first.shipments[0]).valid).toBe(true);
    expect(first.cursor).toEqual({ doneAt: '2025-03-16 08:00:00', id: 1 });
    const again = await sync.readShipments(first.cursor);
    expect(again).toEqual({ shipments: [], invalid: [], cursor: first.cursor, more: false });
  });

  it('transfers done in the same second are neither lost nor read twice across pages; cancelled orders never ship', async () => {
    const keys = ['A', 'B', 'C'].map((id) => `order:rakuten:tillwire-tea:${id}`);
    for (const [i, key] of keys.entries()) {
      const o = jpyOrder('paid');
      await sync.pushOrder({ ...o, channel: { ...o.channel, id: ['A', 'B', 'C'][i] } }, key);
    }
    await sync.pushOrder({ ...jpyOrder('paid'), channel: { system: 'rakuten', account: 'tillwire-tea', id: 'D' } }, 'order:rakuten:tillwire-tea:D');
    await sync.pushOrder({ ...jpyOrder('cancelled'), channel: { system: 'rakuten', account: 'tillwire-tea', id: 'D' } }, 'order:rakuten:tillwire-tea:D');
    expect(sim.records('stock.picking', [['origin', '=', 'S00004']], ['state'])).toEqual([expect.objectContaining({ state: 'cancel' })]);
    for (const key of keys) sim.ship({ order: key, doneAt: '2025-03-16 08:00:00' });
    const seen: string[] = [];
    let cursor;
    for (;;) {
      const page = await sync.readShipments(cursor, 2);
      seen.push(...page.shipments.map((s) => s.order.id));
      cursor = page.cursor;
      if (!page.more) break;
    }
    expect(seen).toEqual(keys);
    expect(() => sim.ship({ order: 'order:rakuten:tillwire-tea:D' })).toThrow(/No open delivery/);
  });

  it('channelOfOrderKey: system, account (none for "-"), id with colons kept', () => {
    expect(channelOfOrderKey('order:amazon:-:114-1:2')).toEqual({ system: 'amazon', id: '114-1:2' });
    expect(channelOfOrderKey('sale:LDN:T1:1')).toBeUndefined();
  });
});

describe('helpers', () => {
  it('splitExact: one line when the total divides, else two lines summing exactly', () => {
    expect(splitExact(2, 3240)).toEqual([{ qty: 2, unit: 1620 }]);
    expect(splitExact(3, 1000)).toEqual([
      { qty: 2, unit: 333 },
      { qty: 1, unit: 334 },
    ]);
  });

  it('originalRefs: the order business key from the channel ref; a sale by store/terminal/id, or any terminal', () => {
    expect(originalRefs(jpyReturn()).label).toBe(JPY_KEY);
    const sale = { ...jpyReturn(), originalOrder: undefined, originalSale: { saleId: 'S_1', storeId: 'LDN%42' } } as Return;
    expect(originalRefs(sale)).toEqual({ label: 'sale:LDN%42:*:S_1', domain: [['client_order_ref', '=like', 'sale:LDN\\%42:%:S\\_1']] });
  });
});
