/**
 * Till sales written to Odoo in batches (nodes/odoo/sale-batch.ts), against the simulator: each
 * sale exactly once whatever is lost, a bad sale failing alone, totals still checked.
 */
import { ConnectorError } from '../../nodes/runtime/http';
import { OdooClient } from '../../nodes/odoo/client';
import { OdooSync, OdooSyncOptions } from '../../nodes/odoo/sync';
import { OrderResult } from '../../nodes/odoo/orders';
import { odooDatetime } from '../../nodes/odoo/map';
import { OdooSimulator, SEED } from '../../simulators/odoo/simulator';
import { seededRandom } from '../../simulators/kit/random';
import type { Sale } from '../../nodes/model/types.generated';
import { clientFor, demoSale, fixture, saleKey, startSimulator } from './support';

const items = (sales: Sale[]) => sales.map((s) => ({ payload: s, key: saleKey(s) }));

/** A seed whose first draw falls under `rate` and whose next `after` draws do not. */
function seedFirstOnly(rate: number, after = 6): number {
  return Array.from({ length: 2000 }, (_, i) => i).find((s) => {
    const r = seededRandom(s);
    if (r() >= rate) return false;
    for (let i = 0; i < after; i++) if (r() < rate) return false;
    return true;
  })!;
}

/** Every sale has exactly one confirmed order with its lines, total and time; nothing else exists. */
function expectExactlyOnce(sim: OdooSimulator, sales: Sale[]): void {
  const state = sim.state();
  expect(state.duplicateRefs).toEqual([]);
  expect(state.counts['sale.order']).toBe(sales.length);
  for (const sale of sales) {
    expect(state.orders[saleKey(sale)]).toEqual([
      expect.objectContaining({
        state: 'sale',
        lines: sale.lines.length,
        amount_total: sale.totals.grandTotal.amount / 100,
        date_order: odooDatetime(sale.occurredAt),
      }),
    ]);
  }
}

describe('till sales in one batch', () => {
  let sim: OdooSimulator;
  let client: OdooClient;
  const syncFor = (extra: Partial<OdooSyncOptions> = {}) =>
    new OdooSync(client, { version: sim.version, defaultPartnerId: SEED.walkInPartnerId, policy: { baseDelayMs: 1, maxDelayMs: 5 }, ...extra });

  beforeAll(async () => {
    sim = await startSimulator({ version: 17 });
  });
  afterAll(() => sim.stop());
  beforeEach(() => {
    sim.reset();
    client = clientFor(sim);
  });
  afterEach(() => client.close());

  it('a batch of sales: one lookup, one create, one confirm, one read at the end; every sale confirmed once with its own time', async () => {
    const sales = Array.from({ length: 12 }, (_, i) => demoSale(i));
    const results = (await syncFor().pushSales(items(sales))) as OrderResult[];
    expect(results.map((r) => [r.key, r.created, r.state])).toEqual(sales.map((s) => [saleKey(s), true, 'sale']));
    expect(results.every((r, i) => r.amountTotal!.amount === sales[i].totals.grandTotal.amount && !r.variance)).toBe(true);
    expectExactlyOnce(sim, sales);
    const calls = sim.stats.calls;
    expect(calls['sale.order.create']).toBe(1);
    expect(calls['sale.order.action_confirm']).toBe(1);
    expect(calls['sale.order.search_read']).toBe(2); // the lookup and the end-of-batch read
    expect(calls['product.product.search_read']).toBe(1);
    // 12 distinct sale times, all written back in one load (no write per time)
    expect(new Set(sales.map((s) => s.occurredAt)).size).toBe(12);
    expect(calls['sale.order.load']).toBe(1);
    expect(calls['sale.order.write']).toBeUndefined();
  });

  it('a backlog of 200 sales, each at its own second: one date_order call, every order at its sale’s time', async () => {
    const sales = Array.from({ length: 200 }, (_, i) => ({ ...demoSale(i), occurredAt: new Date(Date.UTC(2025, 2, 14, 8, 0, i)).toISOString() }));
    const results = await syncFor().pushSales(items(sales));
    expect(results.every((r) => !(r instanceof Error))).toBe(true);
    expectExactlyOnce(sim, sales);
    expect(sim.stats.calls['sale.order.load']).toBe(1);
    expect(sim.stats.calls['sale.order.write']).toBeUndefined();
  });

  it('a user whose Odoo time zone is Europe/Berlin: the times still land as the sale’s UTC time', async () => {
    await client.write('res.users', [SEED.adminUserId], { tz: 'Europe/Berlin' });
    const sales = [demoSale(1), demoSale(2)];
    await syncFor().pushSales(items(sales));
    expectExactlyOnce(sim, sales);
  });

  it('a load that reports errors (an Odoo whose imports are refused): each order gets a write per distinct time instead', async () => {
    const load = jest
      .spyOn(client, 'load')
      .mockResolvedValue({ ids: false, messages: [{ type: 'error', message: 'You are not allowed to import sales orders.' }] });
    const sales = [demoSale(1), demoSale(2), { ...demoSale(3), occurredAt: demoSale(1).occurredAt }];
    const results = await syncFor().pushSales(items(sales));
    expect(results.every((r) => !(r instanceof Error))).toBe(true);
    expect(load).toHaveBeenCalledTimes(1);
    expectExactlyOnce(sim, sales);
    expect(sim.stats.calls['sale.order.write']).toBe(2); // two distinct times among three sales
  });

  it('a load that wrote only some rows: only the others get a write', async () => {
    const real = client.load.bind(client);
    jest.spyOn(client, 'load').mockImplementation(async (model, fields, data, opts) => real(model, fields, data.slice(1), opts));
    const sales = [demoSale(1), demoSale(2), demoSale(3)];
    await syncFor().pushSales(items(sales));
    expectExactlyOnce(sim, sales);
    expect(sim.stats.calls['sale.order.write']).toBe(1);
  });

  it('sent again: found by the lookup, nothing created; the same key twice in one batch is one order', async () => {
    const sales = [demoSale(1), demoSale(2)];
    const sync = syncFor();
    await sync.pushSales(items([sales[0]]));
    const results = (await sync.pushSales(items([sales[0], sales[1], sales[1], sales[0]]))) as OrderResult[];
    expect(results.map((r) => [r.key, r.created])).toEqual([
      [saleKey(sales[0]), false],
      [saleKey(sales[1]), true],
      [saleKey(sales[1]), false],
      [saleKey(sales[0]), false],
    ]);
    expect(results[1].id).toBe(results[2].id);
    expectExactlyOnce(sim, sales);
  });

  it('an unknown SKU fails its own sale only (naming the SKU), before anything is created for it', async () => {
    const sales = Array.from({ length: 5 }, (_, i) => demoSale(i));
    const bad = demoSale(9);
    bad.lines[0].sku = 'NO-SUCH-SKU';
    const results = await syncFor().pushSales(items([sales[0], sales[1], bad, ...sales.slice(2)]));
    const err = results[2] as ConnectorError;
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.message).toMatch(/unknown SKU in Odoo .*NO-SUCH-SKU/);
    expect(err.retryable).toBe(false);
    expect(results.filter((r) => !(r instanceof Error))).toHaveLength(5);
    expectExactlyOnce(sim, sales);
    expect(sim.stats.calls['sale.order.create']).toBe(1);
  });

  it('a sale Odoo refuses: the create is split until the refusal is its own; the others are created once, it fails with Odoo’s message', async () => {
    const sales = Array.from({ length: 7 }, (_, i) => demoSale(i));
    const bad = demoSale(20);
    // A tax code mapped to a tax Odoo does not have: only Odoo can refuse it.
    bad.lines[0].taxes = [{ code: 'GONE', rate: '0.20', name: 'VAT 20%', amount: { amount: 0, currency: 'GBP' } }];
    const results = await syncFor({ taxMap: { GONE: 99999 } }).pushSales(items([...sales.slice(0, 3), bad, ...sales.slice(3)]));
    const err = results[3] as ConnectorError;
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.retryable).toBe(false);
    expect(err.cause).toMatchObject({ system: 'odoo', operation: 'sale.order.create' });
    expect(err.message).toMatch(/99999|does not exist|account\.tax/);
    expect(results.filter((r) => !(r instanceof Error))).toHaveLength(7);
    expectExactlyOnce(sim, sales);
  });

  it('a create whose answer is lost after Odoo committed it: every key is looked up, found, and not sent again', async () => {
    sim.setFaults({ lostResponseRate: 0.5, only: ['sale.order.create'], seed: seedFirstOnly(0.5) });
    const sales = Array.from({ length: 10 }, (_, i) => demoSale(i));
    const results = (await syncFor().pushSales(items(sales))) as OrderResult[];
    expect(sim.stats.faults.lost).toBe(1);
    expect(sim.stats.calls['sale.order.create']).toBe(1);
    // This batch's create made them, even though its answer never came.
    expect(results.every((r) => r.created && r.state === 'sale')).toBe(true);
    expectExactlyOnce(sim, sales);
  });

  it('a create that was never carried out (504 from the proxy): looked up, none found, created again once', async () => {
    sim.setFaults({ timeoutRate: 0.5, timeoutDelayMs: 0, only: ['sale.order.create'], seed: seedFirstOnly(0.5) });
    const sales = Array.from({ length: 10 }, (_, i) => demoSale(i));
    const results = (await syncFor().pushSales(items(sales))) as OrderResult[];
    // Sent twice, carried out once (the simulator counts the calls it carried out), with a lookup in between.
    expect(sim.stats.faults.timeout).toBe(1);
    expect(sim.stats.calls['sale.order.create']).toBe(1);
    expect(sim.stats.calls['sale.order.search_read']).toBe(3);
    expect(results.every((r) => r.created)).toBe(true);
    expectExactlyOnce(sim, sales);
  });

  it('answers lost at random over 150 sales in batches, each batch sent twice: still exactly once', async () => {
    sim.setFaults({ lostResponseRate: 0.3, errorRate: 0.05, seed: 5 });
    const c = clientFor(sim, 'jsonrpc', { policy: { maxAttempts: 12, baseDelayMs: 1, maxDelayMs: 5, timeoutMs: 2000 } });
    const sync = new OdooSync(c, { version: 17, defaultPartnerId: SEED.walkInPartnerId, policy: { maxAttempts: 12, baseDelayMs: 1, maxDelayMs: 5 } });
    const sales = Array.from({ length: 150 }, (_, i) => demoSale(i));
    const batches = Array.from({ length: 6 }, (_, b) => sales.slice(b * 25, b * 25 + 25));
    const results = (await Promise.all([...batches, ...batches].map((batch) => sync.pushSales(items(batch))))).flat();
    expect(results.filter((r) => r instanceof Error)).toEqual([]);
    expect(sim.stats.faults.lost).toBeGreaterThan(5);
    expectExactlyOnce(sim, sales);
    // Of each sale's two deliveries, one created it.
    for (const sale of sales) expect(results.filter((r) => (r as OrderResult).key === saleKey(sale) && (r as OrderResult).created)).toHaveLength(1);
    await c.close();
  });

  it('a lost action_confirm answer: the states are read, nothing is confirmed twice', async () => {
    sim.setFaults({ lostResponseRate: 1, only: ['sale.order.action_confirm'] });
    const sales = Array.from({ length: 6 }, (_, i) => demoSale(i));
    const results = (await syncFor().pushSales(items(sales))) as OrderResult[];
    expect(sim.stats.faults.lost).toBe(1);
    expect(sim.stats.calls['sale.order.action_confirm']).toBe(1);
    expect(results.every((r) => r.state === 'sale')).toBe(true);
    expectExactlyOnce(sim, sales);
  });

  it('a quotation left behind (a crash between create and confirm) is confirmed with the batch', async () => {
    const sales = [demoSale(1), demoSale(2)];
    await client.create('sale.order', [{ partner_id: SEED.walkInPartnerId, client_order_ref: saleKey(sales[0]), order_line: [] }]);
    const results = (await syncFor().pushSales(items(sales))) as OrderResult[];
    expect(results.map((r) => [r.created, r.state])).toEqual([
      [false, 'sale'],
      [true, 'sale'],
    ]);
    expect(sim.orders().map((o) => [o.client_order_ref, o.state])).toEqual([
      [saleKey(sales[0]), 'sale'],
      [saleKey(sales[1]), 'sale'],
    ]);
  });

  it('a sale cancelled in Odoo is not created again; the rest of the batch goes on', async () => {
    const sales = [demoSale(1), demoSale(2)];
    const sync = syncFor();
    const [first] = (await sync.pushSales(items([sales[0]]))) as OrderResult[];
    await client.call('sale.order', 'action_cancel', { ids: [first.id] }, { context: { disable_cancel_warning: true } });
    const results = await sync.pushSales(items(sales));
    expect((results[0] as ConnectorError).message).toMatch(/was cancelled in Odoo; not creating it again/);
    expect((results[1] as OrderResult).created).toBe(true);
    expect(sim.orders().map((o) => o.state)).toEqual(['cancel', 'sale']);
  });

  it('totals are still checked: a sale whose Odoo total differs carries its variance, the others none', async () => {
    // The fixture's VAT is included; mapped to Odoo's excluded 20% VAT, Odoo adds it on top.
    const sale = fixture<Sale>('sale.json');
    const others = [demoSale(1), demoSale(2)];
    const results = (await syncFor({ taxMap: { 'VAT-STD': SEED.taxes.vat20, 'VAT-ZERO': SEED.taxes.vat0 } }).pushSales(
      items([others[0], sale, others[1]]),
    )) as OrderResult[];
    expect(results[1].variance).toEqual({ amount: results[1].amountTotal!.amount - sale.totals.grandTotal.amount, currency: 'GBP' });
    expect(results[1].variance!.amount).toBeGreaterThan(0);
    expect(results[0].variance).toBeUndefined();
    expect(results[2].variance).toBeUndefined();
  });

  it('till returns (negative lines) in a batch with sales: written with their negative lines, totals exact', async () => {
    const kwd = await startSimulator({ version: 19, priceDigits: 3 });
    const c = clientFor(kwd);
    try {
      const sync = new OdooSync(c, { version: 19, defaultPartnerId: SEED.walkInPartnerId });
      const exchange = fixture<Sale>('sale-kwd.json');
      const refund = demoSale(3, { lines: 1 });
      for (const l of refund.lines) {
        l.quantity = -l.quantity;
        l.lineTotal = { ...l.lineTotal, amount: -l.lineTotal.amount };
      }
      const total = refund.lines.reduce((s, l) => s + l.lineTotal.amount, 0);
      refund.totals = { ...refund.totals, subtotal: { amount: total, currency: 'GBP' }, grandTotal: { amount: total, currency: 'GBP' } };
      refund.tenders = [{ type: 'card', amount: { amount: total, currency: 'GBP' } }];
      refund.returnOf = { saleId: demoSale(1).saleId };
      const sales = [demoSale(1), exchange, refund];
      const results = (await sync.pushSales(items(sales))) as OrderResult[];
      expect(results.map((r) => [r.state, r.amountTotal, r.variance])).toEqual([
        ['sale', { amount: sales[0].totals.grandTotal.amount, currency: 'GBP' }, undefined],
        ['sale', { amount: 11250, currency: 'KWD' }, undefined],
        ['sale', { amount: total, currency: 'GBP' }, undefined],
      ]);
      expect(total).toBeLessThan(0);
      const lines = kwd.records('sale.order.line', [['order_id', '=', results[2].id]], ['product_uom_qty']);
      expect(lines.every((l) => (l.product_uom_qty as number) < 0)).toBe(true);
    } finally {
      await c.close();
      await kwd.stop();
    }
  });

  it('a payload that is not a till sale, or has no key, fails alone', async () => {
    const good = demoSale(1);
    const results = await syncFor().pushSales([
      { payload: { kind: 'sale', saleId: 'x' }, key: 'sale:x' },
      { payload: good, key: saleKey(good) },
      { payload: fixture('order.json'), key: 'order:x' },
      { payload: demoSale(2), key: '' },
    ]);
    expect((results[0] as Error).message).toMatch(/invalid sale/);
    expect((results[1] as OrderResult).created).toBe(true);
    expect((results[2] as Error).message).toMatch(/only till sales/);
    expect((results[3] as Error).message).toMatch(/no idempotency key/);
    expectExactlyOnce(sim, [good]);
  });
});
