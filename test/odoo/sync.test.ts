import { ConnectorError } from '../../nodes/runtime/http';
import { Limiter } from '../../nodes/runtime/limiter';
import { OdooClient } from '../../nodes/odoo/client';
import { OdooSync } from '../../nodes/odoo/sync';
import { OrderResult } from '../../nodes/odoo/orders';
import { minorFromOdoo } from '../../nodes/odoo/map';
import { OdooSimulator, SEED } from '../../simulators/odoo/simulator';
import { seededRandom } from '../../simulators/kit/random';
import { clientFor, demoSale, fixture, saleKey, startSimulator, FAST, TAX_MAP } from './support';
import { odooDatetime } from '../../nodes/odoo/map';

/** Runs `work` over `items` with at most `width` at once. */
async function pool<T, R>(items: T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]);
      }
    }),
  );
  return out;
}

function syncFor(client: OdooClient): OdooSync {
  return new OdooSync(client, { version: client.version, defaultPartnerId: SEED.walkInPartnerId, policy: { baseDelayMs: 1, maxDelayMs: 5 } });
}

/** Every key has exactly one sale.order, confirmed, with the sale's lines, total and time. */
function expectExactlyOnce(sim: OdooSimulator, sales: ReturnType<typeof demoSale>[]) {
  const state = sim.state();
  expect(state.duplicateRefs).toEqual([]);
  expect(state.counts['sale.order']).toBe(sales.length);
  for (const sale of sales) {
    const [order, ...more] = state.orders[saleKey(sale)] ?? [];
    expect(more).toEqual([]);
    expect(order).toMatchObject({
      state: 'sale',
      lines: sale.lines.length,
      amount_total: sale.totals.grandTotal.amount / 100,
      date_order: odooDatetime(sale.occurredAt),
    });
  }
}

describe.each(['jsonrpc', 'json2'] as const)('OdooSync over %s', (api) => {
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
    sync = syncFor(client);
  });
  afterEach(() => client.close());

  it('the same sale sent three times makes one confirmed sale.order; the copies find it', async () => {
    const sale = demoSale(1);
    const results = [];
    for (let i = 0; i < 3; i++) results.push((await sync.pushOrder(sale, saleKey(sale))) as OrderResult);
    expect(results.map((r) => r.created)).toEqual([true, false, false]);
    expect(new Set(results.map((r) => r.name))).toEqual(new Set(['S00001']));
    expect(results[0]).toMatchObject({
      system: 'odoo',
      model: 'sale.order',
      state: 'sale',
      key: saleKey(sale),
      amountTotal: { amount: sale.totals.grandTotal.amount, currency: 'GBP' },
    });
    expectExactlyOnce(sim, [sale]);
    expect(sim.stats.calls['sale.order.create']).toBe(1);
    expect(sim.stats.calls['sale.order.action_confirm']).toBe(1);
  });

  it('three copies at once: one creates, two wait and find it', async () => {
    const sale = demoSale(2);
    const results = (await Promise.all([0, 1, 2].map(() => sync.pushOrder(sale, saleKey(sale))))) as OrderResult[];
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expectExactlyOnce(sim, [sale]);
  });

  it('a quotation left behind (crash between create and confirm) is confirmed, not duplicated', async () => {
    const sale = demoSale(3);
    await client.create('sale.order', { partner_id: SEED.walkInPartnerId, client_order_ref: saleKey(sale), order_line: [[0, 0, { product_id: 1 }]] });
    const result = (await sync.pushOrder(sale, saleKey(sale))) as OrderResult;
    expect(result).toMatchObject({ created: false, state: 'sale', name: 'S00001' });
    expect(sim.counts()['sale.order']).toBe(1);
  });

  it('a stray quotation with the same key (a create Odoo finished after we gave up on it) is cancelled; a confirmed twin is only reported', async () => {
    const sale = demoSale(6);
    const first = (await sync.pushOrder(sale, saleKey(sale))) as OrderResult;
    await client.create('sale.order', { partner_id: SEED.walkInPartnerId, client_order_ref: saleKey(sale), order_line: [[0, 0, { product_id: 1 }]] });
    const again = (await sync.pushOrder(sale, saleKey(sale))) as OrderResult;
    expect(again).toMatchObject({ name: first.name, created: false, cancelledQuotations: ['S00002'] });
    expect(sim.orders().map((o) => [o.name, o.state])).toEqual([
      ['S00001', 'sale'],
      ['S00002', 'cancel'],
    ]);
    const [twin] = await client.create('sale.order', {
      partner_id: SEED.walkInPartnerId,
      client_order_ref: saleKey(sale),
      order_line: [[0, 0, { product_id: 1 }]],
    });
    await client.call('sale.order', 'action_confirm', { ids: [twin] });
    const third = (await sync.pushOrder(sale, saleKey(sale))) as OrderResult;
    expect(third).toMatchObject({ name: 'S00001', duplicates: ['S00003'] });
    expect(sim.orders().map((o) => o.state)).toEqual(['sale', 'cancel', 'sale']);
  });

  it('an order cancelled in Odoo is not created again: permanent error', async () => {
    const sale = demoSale(4);
    const first = (await sync.pushOrder(sale, saleKey(sale))) as OrderResult;
    await client.call('sale.order', 'action_cancel', { ids: [first.id] }, { context: { disable_cancel_warning: true } });
    const err: ConnectorError = await sync.pushOrder(sale, saleKey(sale)).catch((e) => e);
    expect(err.cause).toEqual({ system: 'odoo', operation: 'sale.order', kind: 'conflict', retryable: false, providerCode: 'cancelled' });
    expect(err.description).toBe(
      `S00001 for ${saleKey(sale)} was cancelled in Odoo; not creating it again (reset it to quotation in Odoo, or delete it, then replay)`,
    );
  });

  it('a cancelled canonical order cancels the Odoo order (past Odoo’s confirmation wizard); again, nothing to do', async () => {
    const order = fixture('order-jpy.json');
    const key = 'order:rakuten:tillwire-tea:384726-20250315-0012345678';
    const created = (await sync.pushOrder(order, key)) as OrderResult;
    expect(created).toMatchObject({ action: 'create', channelStatus: 'accepted', created: true, state: 'sale' });
    const cancelled = { ...order, status: 'cancelled' };
    expect(await sync.pushOrder(cancelled, key)).toEqual({
      system: 'odoo',
      model: 'sale.order',
      id: created.id,
      name: created.name,
      state: 'cancel',
      created: false,
      key,
      action: 'cancel',
      channelStatus: 'cancelled',
      amountTotal: { amount: order.totals.grandTotal.amount, currency: 'JPY' },
    });
    expect(await sync.pushOrder(cancelled, key)).toMatchObject({ id: created.id, state: 'cancel', created: false, action: 'already-cancelled', stale: false });
    expect(sim.stats.calls['sale.order.action_cancel']).toBe(1);
  });

  it('an unknown SKU fails permanently, naming every unknown SKU, and creates nothing at all', async () => {
    const sale = demoSale(5, { lines: 3 });
    sale.lines[0].sku = 'GHOST-1';
    sale.lines[2].sku = 'GHOST-2';
    const err: ConnectorError = await sync.pushOrder(sale, saleKey(sale)).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.cause).toMatchObject({ kind: 'missing-reference', retryable: false, providerCode: 'unknown_sku' });
    expect(err.message).toContain('unknown SKUs in Odoo (no active product with that Internal Reference): GHOST-1, GHOST-2');
    expect(sim.counts()['sale.order']).toBe(0);
    expect(sim.counts()['sale.order.line']).toBe(0);
    expect(sim.stats.calls['sale.order.create']).toBeUndefined();
  });

  it('archived products count as unknown', async () => {
    await client.write('product.product', [1], { active: false });
    const sale = demoSale(0, { lines: 1 }); // SKU-0001
    expect(sale.lines[0].sku).toBe('SKU-0001');
    await expect(sync.pushOrder(sale, saleKey(sale))).rejects.toThrow('unknown SKU in Odoo (no active product with that Internal Reference): SKU-0001');
  });

  it('not a sale or order: permanent error, no request made', async () => {
    const before = sim.stats.requests;
    for (const bad of [{ kind: 'return' }, { ...demoSale(1), lines: [] }]) {
      const err: ConnectorError = await sync.pushOrder(bad, 'k').catch((e) => e);
      expect(err.cause).toEqual({ system: 'odoo', operation: 'sale.order', kind: 'value', retryable: false });
    }
    expect(sim.stats.requests).toBe(before);
  });

  it('stock: positions per SKU and location, zero for a stocked-out SKU, unknown SKUs reported', async () => {
    const [ghostless] = await client.create('product.product', {
      name: 'New line',
      default_code: 'NEW-1',
      ...(client.version >= 18 ? { is_storable: true } : { type: 'product' }),
    });
    const [quant] = await client.create(
      'stock.quant',
      { product_id: 1, location_id: SEED.stockLocationId, inventory_quantity: 7 },
      { context: { inventory_mode: true } },
    );
    await client.call('stock.quant', 'action_apply_inventory', { ids: [quant] });
    const result = await sync.readStock(['SKU-0001', 'NEW-1', 'NOPE'], new Date('2025-03-14T18:00:00.123Z'));
    expect(result.unknown).toEqual(['NOPE']);
    expect(result.positions).toEqual([
      {
        kind: 'inventory.position',
        sku: 'NEW-1',
        locationId: 'WH/Stock',
        onHand: 0,
        reserved: 0,
        inTransit: 0,
        safetyStock: 0,
        asOf: '2025-03-14T18:00:00Z',
        attributes: { odooProductId: String(ghostless), odooLocationId: String(SEED.stockLocationId) },
      },
      expect.objectContaining({ sku: 'SKU-0001', onHand: 7, locationId: 'WH/Stock' }),
    ]);
    const all = await sync.readStock();
    expect(all.positions.length).toBe(50 + 10 + 1); // demo catalogue, fixture SKUs, NEW-1; not the service products
    expect(all.positions.find((p) => p.sku === 'SHIPPING')).toBeUndefined();
  });
});

describe('exactly once under faults', () => {
  let sim: OdooSimulator;
  afterEach(() => sim.stop());

  it('10% 5xx/429 and 1% timeouts over 300 sales, 16 at a time: every sale exactly once', async () => {
    sim = await startSimulator({ faults: { errorRate: 0.1, timeoutRate: 0.01, seed: 42 } });
    // The timeout must stay well above the slowest real answer: a request the server carries out
    // after the client gave up on it is the one case Odoo's lack of idempotency keys leaves open.
    const client = clientFor(sim, 'jsonrpc', { policy: { maxAttempts: 10, baseDelayMs: 1, maxDelayMs: 10, timeoutMs: 3000 }, limiter: new Limiter(16) });
    const sync = syncFor(client);
    const sales = Array.from({ length: 300 }, (_, i) => demoSale(i));
    const results = (await pool(sales, 16, (s) => sync.pushOrder(s, saleKey(s)))) as OrderResult[];
    expect(results.every((r) => r.state === 'sale')).toBe(true);
    expect(sim.stats.faults.error).toBeGreaterThan(100);
    expect(sim.stats.faults.timeout).toBeGreaterThan(5);
    expectExactlyOnce(sim, sales);
    await client.close();
  });

  it.each(['jsonrpc', 'json2'] as const)('%s: answers lost after the commit (25%%), every sale sent twice: still exactly once', async (api) => {
    sim = await startSimulator({ version: 19, faults: { lostResponseRate: 0.25, errorRate: 0.05, seed: 9 } });
    const client = clientFor(sim, api, { policy: { maxAttempts: 12, baseDelayMs: 1, maxDelayMs: 5, timeoutMs: 2000 } });
    const sync = syncFor(client);
    const sales = Array.from({ length: 60 }, (_, i) => demoSale(i));
    const twice = [...sales, ...sales];
    const results = (await pool(twice, 8, (s) => sync.pushOrder(s, saleKey(s)))) as OrderResult[];
    expect(sim.stats.faults.lost).toBeGreaterThan(50);
    expectExactlyOnce(sim, sales);
    // One of the two deliveries of each sale created it (even when its own answer was lost).
    for (const sale of sales) {
      const mine = results.filter((r) => r.key === saleKey(sale));
      expect(mine.filter((r) => r.created)).toHaveLength(1);
    }
    await client.close();
  });
});

describe('a create Odoo carries out after the connector gave up on it', () => {
  let sim: OdooSimulator;
  afterEach(() => sim.stop());

  async function until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > end) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  it('leaves a stray quotation at worst (never a second confirmed sale); the next delivery cancels it', async () => {
    // A seed whose first create is slow and second is not.
    const seed = Array.from({ length: 200 }, (_, i) => i).find((s) => {
      const r = seededRandom(s);
      return r() < 0.5 && r() >= 0.5;
    })!;
    sim = await startSimulator({ faults: { slowRate: 0.5, slowDelayMs: 400, only: ['sale.order.create'], seed } });
    const client = clientFor(sim, 'jsonrpc', { policy: { ...FAST, timeoutMs: 150 } });
    const sync = syncFor(client);
    const sale = demoSale(1);
    const first = (await sync.pushOrder(sale, saleKey(sale))) as OrderResult;
    expect(first).toMatchObject({ name: 'S00001', created: true, state: 'sale' });
    // the abandoned create lands afterwards
    await until(() => sim.counts()['sale.order'] === 2);
    expect(sim.orders().map((o) => [o.name, o.state])).toEqual([
      ['S00001', 'sale'],
      ['S00002', 'draft'],
    ]);
    const second = (await sync.pushOrder(sale, saleKey(sale))) as OrderResult;
    expect(second).toMatchObject({ name: 'S00001', created: false, cancelledQuotations: ['S00002'] });
    expect(sim.orders().map((o) => o.state)).toEqual(['sale', 'cancel']);
    await client.close();
  });
});

describe('helpers', () => {
  it("minorFromOdoo: Odoo's floats read by their digits, rounded half away from zero like Odoo (never toFixed's binary rounding)", () => {
    expect(minorFromOdoo(19.99, 'USD')).toBe(1999);
    expect(minorFromOdoo(10.000000000000002, 'USD')).toBe(1000); // float noise from Odoo's own sums
    expect(minorFromOdoo(2.675, 'USD')).toBe(268); // (2.675).toFixed(2) is "2.67"
    expect(minorFromOdoo(-2.675, 'USD')).toBe(-268);
    expect(minorFromOdoo(1e-7, 'USD')).toBe(0);
    expect(minorFromOdoo(10410, 'JPY')).toBe(10410);
  });
});

it('FAST policy is small (the suite must stay quick)', () => {
  expect(FAST.maxDelayMs).toBeLessThan(50);
  expect(TAX_MAP['VAT-STD']).toBe(SEED.taxes.vat20Included);
});

it('a create that never gets an answer: retryable error after every attempt, saying how many', async () => {
  const sim = await startSimulator({ faults: { errorRate: 1, only: ['sale.order.create'] } });
  const client = clientFor(sim, 'jsonrpc', { policy: { ...FAST, maxAttempts: 3 } });
  try {
    const sync = syncFor(client);
    const sale = demoSale(1);
    const err: ConnectorError = await sync.pushOrder(sale, saleKey(sale)).catch((e) => e);
    expect(err.cause).toMatchObject({
      system: 'odoo',
      operation: 'sale.order.create',
      retryable: true,
      attempts: 3,
      kind: expect.stringMatching(/^(rate-limit|unavailable|conflict)$/),
    });
    expect(err.message).toMatch(/\(gave up after 3 attempts\)$/);
    expect(sim.stats.calls['sale.order.search_read']).toBeGreaterThanOrEqual(3); // looked up before every attempt
    expect(sim.counts()['sale.order']).toBe(0);
  } finally {
    await client.close();
    await sim.stop();
  }
});
