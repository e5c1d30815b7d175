/**
 * The idempotent create (operations.sendOrder) and the mapping against the simulator: exactly
 * once under repeats, concurrency, lost responses, 5xx/429/timeouts and throttling; unknown SKUs
 * before anything is created; money exact in JPY, GBP, USD and KWD.
 */
import fc from 'fast-check';
import { ConnectorError, TokenBucket } from '../../nodes/runtime/http';
import { Limiter } from '../../nodes/runtime/limiter';
import { businessKey } from '../../nodes/model/validate';
import { toMinor } from '../../nodes/model/money';
import { BusinessCentralSimulator } from '../../nodes/business-central/simulator';
import { BusinessCentralClient } from '../../nodes/business-central/client';
import { KeyedLock, OrderSettings, readInventory, sendOrder, skusFrom } from '../../nodes/business-central/operations';
import { bcAmount, externalDocumentNumber, fromBcAmount, keyFromComments, toSalesOrder } from '../../nodes/business-central/map';
import { api, clientFor, fixture, startSimulator } from './helpers';

let sim: BusinessCentralSimulator;
afterEach(async () => {
  await sim?.close();
});

const settings: OrderSettings = {
  routing: { defaultCustomer: '10000', rules: new Map([['shopify', '20000']]) },
  shippingAccount: '4400',
};

/** A demo-catalogue sale (the SKUs every simulator seeds). */
function demoSale(n: number, lines = 2): any {
  const items = Array.from({ length: lines }, (_, i) => {
    const sku = `SKU-${String(((n * 7 + i * 13) % 500) + 1).padStart(4, '0')}`;
    const unit = 499 + ((n + i) % 50) * 100;
    const qty = 1 + ((n + i) % 3);
    return { lineId: String(i + 1), sku, quantity: qty, unitPrice: { amount: unit, currency: 'GBP' }, lineTotal: { amount: unit * qty, currency: 'GBP' } };
  });
  const total = items.reduce((a, l) => a + l.lineTotal.amount, 0);
  return {
    kind: 'sale',
    saleId: `S-${String(n).padStart(6, '0')}`,
    storeId: 'LDN-042',
    terminalId: 'T03',
    sequence: n,
    occurredAt: '2025-03-14T17:42:10Z',
    businessDate: '2025-03-14',
    currency: 'GBP',
    lines: items,
    tenders: [{ type: 'card', amount: { amount: total, currency: 'GBP' } }],
    totals: { subtotal: { amount: total, currency: 'GBP' }, discountTotal: { amount: 0, currency: 'GBP' }, taxTotal: { amount: 0, currency: 'GBP' }, grandTotal: { amount: total, currency: 'GBP' } },
    taxesIncluded: true,
  };
}

const keyOf = (doc: any) => businessKey(doc)!;

function exactlyOnce(keys: string[]): void {
  const orders = sim.state().orders;
  for (const key of keys) {
    const found = orders[externalDocumentNumber(key)] ?? [];
    if (found.length !== 1) throw new Error(`${key}: ${found.length} sales documents`);
  }
  expect(Object.values(orders).reduce((a, list) => a + list.length, 0)).toBe(new Set(keys).size);
}

describe('idempotent sales order create', () => {
  it('the same sale three times (one after another, then three at once) is one sales order', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const sale = fixture('sale.json');
    const key = keyOf(sale);
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await sendOrder(client, sale, key, settings));
    expect(results.map((r) => r.created)).toEqual([true, false, false]);
    expect(new Set(results.map((r) => r.number)).size).toBe(1);
    expect(results[0]).toMatchObject({ system: 'business-central', document: 'salesOrder', externalDocumentNumber: 'SALE:LDN-042:T03:042-03-000512', number: 'S-ORD101001', customerNumber: '10000' });

    const other = demoSale(1);
    const locks = new KeyedLock();
    const together = await Promise.all([1, 2, 3].map(() => sendOrder(client, other, keyOf(other), settings, locks)));
    expect(together.filter((r) => r.created)).toHaveLength(1);
    expect(locks.size).toBe(0);
    exactlyOnce([key, keyOf(other)]);
  });

  it('a lost response (the order committed, the answer dropped) is found by its externalDocumentNumber and not created twice', async () => {
    sim = await startSimulator();
    // Lose exactly the answer to the first POST: the nastiest realistic case.
    let lost = false;
    const fetchLosingFirstPost: typeof fetch = async (input, init) => {
      if (init?.method === 'POST' && !lost) {
        lost = true;
        sim.setFaults({ lostResponseRate: 1 });
        try {
          return await fetch(input, init);
        } finally {
          sim.setFaults({});
        }
      }
      return fetch(input, init);
    };
    const client = clientFor(sim, { fetch: fetchLosingFirstPost });
    const sale = demoSale(2);
    const retries: string[] = [];
    const result = await client.observe({ onRetry: (i) => retries.push(i.operation) }, () => sendOrder(client, sale, keyOf(sale), settings));
    expect(result).toMatchObject({ created: true, recovered: true });
    expect(retries).toEqual(['create sales order']);
    expect(sim.state().requests.faults.lostResponses).toBe(1);
    exactlyOnce([keyOf(sale)]);
  });

  it('with 30% of answers lost at random, 60 sales sent twice each land exactly once', async () => {
    sim = await startSimulator({ faults: { lostResponseRate: 0.3, seed: 11 } });
    const client = clientFor(sim, { limiter: new Limiter(6), policy: { maxAttempts: 12, baseDelayMs: 1, maxDelayMs: 10, timeoutMs: 5000 } });
    const sales = Array.from({ length: 60 }, (_, i) => demoSale(100 + i));
    const locks = new KeyedLock();
    const results = await Promise.all([...sales, ...sales].map((s) => sendOrder(client, s, keyOf(s), settings, locks)));
    expect(results.filter((r) => r.created)).toHaveLength(60);
    expect(results.some((r) => r.recovered)).toBe(true);
    expect(sim.state().requests.faults.lostResponses).toBeGreaterThan(10);
    exactlyOnce(sales.map(keyOf));
  });

  it('~300 sales through 10% 500/503/429 and 1% unanswered requests: every one lands exactly once', async () => {
    sim = await startSimulator({ faults: { errorRate: 0.1, timeoutRate: 0.01, seed: 2024 }, throttle: { retryAfterSeconds: 0 } });
    const client = clientFor(sim, {
      limiter: new Limiter(16),
      governor: new TokenBucket(5000, 100),
      policy: { maxAttempts: 10, baseDelayMs: 2, maxDelayMs: 20, timeoutMs: 250 },
    });
    const sales = Array.from({ length: 300 }, (_, i) => demoSale(1000 + i, 1 + (i % 3)));
    const resend = sales.filter((_, i) => i % 10 === 0); // 30 redeliveries on top
    const locks = new KeyedLock();
    const results = await Promise.all([...sales, ...resend].map((s) => sendOrder(client, s, keyOf(s), settings, locks)));
    expect(results.filter((r) => r.created)).toHaveLength(300);
    expect(results.every((r) => r.totals?.matches)).toBe(true);
    const faults = sim.state().requests.faults;
    expect(faults.errors).toBeGreaterThan(50);
    expect(faults.timeouts).toBeGreaterThan(3);
    exactlyOnce(sales.map(keyOf));
  }, 60_000);

  it('throttled by the per-user window (429): waits and retries until everything lands', async () => {
    sim = await startSimulator({ throttle: { maxRequests: 40, windowMs: 250 } });
    const client = clientFor(sim, { limiter: new Limiter(8), throttleCooloffMs: 60, policy: { maxAttempts: 40, baseDelayMs: 5, maxDelayMs: 100, timeoutMs: 5000 } });
    const sales = Array.from({ length: 40 }, (_, i) => demoSale(5000 + i));
    const results = await Promise.all(sales.map((s) => sendOrder(client, s, keyOf(s), settings)));
    expect(results.every((r) => r.created)).toBe(true);
    expect(sim.state().requests.throttled).toBeGreaterThan(0);
    exactlyOnce(sales.map(keyOf));
  });

  it('unknown SKUs: a permanent error naming each one, before anything is created', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const sale = fixture('sale.json');
    sale.lines[1].sku = 'SOCK-5PK-RED';
    sale.lines[2].sku = 'GHOST-ITEM';
    const err: ConnectorError = await sendOrder(client, sale, keyOf(sale), settings).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/unknown SKUs 'SOCK-5PK-RED', 'GHOST-ITEM': no such item in Business Central; nothing was created/);
    expect(sim.state().counts).toMatchObject({ salesOrders: 0, salesOrderLines: 0 });
    expect(sim.state().requests.byStatus['201']).toBeUndefined();

    sale.lines[0].sku = 'JEANS-SLIM-32-32-INDIGO-LONG'; // 28 characters: can never be a BC item number
    const tooLong: ConnectorError = await sendOrder(client, sale, keyOf(sale), settings).catch((e) => e);
    expect(tooLong.message).toMatch(/unknown SKUs 'JEANS-SLIM-32-32-INDIGO-LONG', 'SOCK-5PK-RED', 'GHOST-ITEM': no such item in Business Central \('JEANS-SLIM-32-32-INDIGO-LONG' is longer than 20 characters/);
    sale.lines[0].sku = 'JEANS-SLIM-32-32';

    sim.upsertItems([{ number: 'SOCK-5PK-RED' }, { number: 'GHOST-ITEM', blocked: true }]);
    const blocked: ConnectorError = await sendOrder(client, sale, keyOf(sale), settings).catch((e) => e);
    expect(blocked.message).toMatch(/item 'GHOST-ITEM' is blocked in Business Central; nothing was created/);
    expect(sim.state().counts.salesOrders).toBe(0);
  });

  it('a cancelled order is not created; one already in BC is reported for someone to cancel there', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const order = fixture('order.json');
    const cancelled = { ...order, status: 'cancelled' };
    expect(await sendOrder(client, cancelled, keyOf(order), settings)).toMatchObject({ created: false, skipped: 'cancelled' });
    expect(sim.state().counts.salesOrders).toBe(0);
    const created = await sendOrder(client, order, keyOf(order), settings);
    const err: ConnectorError = await sendOrder(client, cancelled, keyOf(order), settings).catch((e) => e);
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(new RegExp(`cancelled in the channel, but Business Central sales order ${created.number} exists for it: cancel it in BC`));
  });

  it('a posted order (shipAndInvoice) is still found: a replay does not create it again', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const sale = demoSale(3);
    const first = await sendOrder(client, sale, keyOf(sale), settings);
    await client.shipAndInvoice(first.id!);
    const again = await sendOrder(client, sale, keyOf(sale), settings);
    expect(again).toMatchObject({ created: false, document: 'salesInvoice', externalDocumentNumber: first.externalDocumentNumber });
    expect(sim.state().counts).toMatchObject({ salesOrders: 0, salesInvoices: 1 });
  });

  it('a key too long (or lower case) for the 35-character Code field is hashed; the full key rides in comment lines', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const order = fixture('order.json');
    const key = keyOf(order);
    expect(key).toBe('order:shopify:tillwire-demo.myshopify.com:5902184710234');
    const edn = externalDocumentNumber(key);
    expect(edn).toMatch(/^TW-[0-9A-F]{32}$/);
    expect(edn).toHaveLength(35);
    expect(externalDocumentNumber(key)).toBe(edn); // stable
    expect(externalDocumentNumber('sale:ldn-042:t3:1')).toMatch(/^TW-/); // would collide with SALE:LDN-042:T3:1 once upper-cased
    expect(externalDocumentNumber('sale:LDN-042:T3:1')).toBe('SALE:LDN-042:T3:1');

    const r1 = await sendOrder(client, order, key, settings);
    const r2 = await sendOrder(client, order, key, settings);
    expect([r1.created, r2.created]).toEqual([true, false]);
    const stored = (await api(sim, 'GET', `salesOrders(${r1.id})?$expand=salesOrderLines`)).body;
    expect(stored.externalDocumentNumber).toBe(edn);
    expect(keyFromComments(stored.salesOrderLines)).toBe(key);

    const veryLong = `order:amazon:A1B2C3:${'x'.repeat(200)}`;
    const mapped = toSalesOrder(order, veryLong, { customerNumber: '20000', localCurrency: 'GBP', shippingAccount: '4400' });
    const comments = (mapped.body.salesOrderLines as any[]).filter((l) => l.lineType === 'Comment');
    expect(comments.length).toBe(3);
    expect(comments.every((l) => l.description.length <= 100)).toBe(true);
    expect(keyFromComments(comments)).toBe(veryLong);
  });

  it('refuses what BC cannot take: a net return, shipping without a shipping account, no customer', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const ret = demoSale(9, 1);
    ret.lines[0].quantity = -1;
    ret.lines[0].lineTotal.amount = -ret.lines[0].unitPrice.amount;
    for (const k of ['subtotal', 'grandTotal']) ret.totals[k].amount = -ret.lines[0].unitPrice.amount;
    ret.tenders[0].amount.amount = ret.lines[0].unitPrice.amount;
    await expect(sendOrder(client, ret, keyOf(ret), settings)).rejects.toThrow(/a net return/);
    const order = fixture('order.json');
    await expect(sendOrder(client, order, keyOf(order), { ...settings, shippingAccount: undefined })).rejects.toThrow(/no shipping G\/L account is configured/);
    await expect(sendOrder(client, order, keyOf(order), { routing: { rules: new Map() } })).rejects.toThrow(/no Business Central customer for channel shopify:tillwire-demo.myshopify.com/);
    await expect(sendOrder(client, { kind: 'return' }, 'k', settings)).rejects.toThrow(/must be a canonical sale or order/);
    await expect(sendOrder(client, { ...order, lines: [] }, keyOf(order), settings)).rejects.toThrow(/invalid order: lines must have at least 1 item/);
    expect(sim.state().counts.salesOrders).toBe(0);
  });
});

describe('money is exact', () => {
  const cases: Array<[string, string, Record<string, string>]> = [
    ['sale.json', 'GBP', {}],
    ['order.json', 'USD', {}],
    ['order-jpy.json', 'JPY', {}],
    ['sale-kwd.json', 'KWD', {}],
  ];

  it.each(cases)('%s: every line amount and the document total reach BC to the minor unit', async (file, currency) => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const doc = fixture(file);
    // the Kuwait store's sale is quoted without tax: its BC customer adds tax on top
    const routing = { defaultCustomer: '10000', rules: new Map([['shopify', '20000'], ['store:KWI-AVENUES', '20000']]) };
    const result = await sendOrder(client, doc, keyOf(doc), { routing, shippingAccount: '4400' });
    expect(result.created).toBe(true);
    expect(result.totals).toMatchObject({ matches: true, currency });
    const stored = (await api(sim, 'GET', `salesOrders(${result.id})?$expand=salesOrderLines`)).body;
    expect(stored.currencyCode).toBe(currency === 'GBP' ? '' : currency); // GBP is the company's local currency
    const itemLines = stored.salesOrderLines.filter((l: any) => l.lineType === 'Item');
    expect(itemLines).toHaveLength(doc.lines.length);
    doc.lines.forEach((line: any, i: number) => {
      const bc = itemLines[i];
      expect(bc.lineObjectNumber).toBe(line.sku);
      expect(bc.quantity).toBe(line.quantity);
      expect(toMinor(bc.unitPrice, currency)).toBe(line.unitPrice.amount);
      // BC's line amount (before the invoice discount) is the canonical lineTotal
      const lineAmount = stored.pricesIncludeTax ? bc.amountIncludingTax : bc.amountExcludingTax;
      expect(toMinor(lineAmount, currency)).toBe(line.lineTotal.amount);
    });
    const expected = doc.taxesIncluded ? doc.totals.grandTotal.amount : doc.totals.grandTotal.amount - doc.totals.taxTotal.amount;
    const field = doc.taxesIncluded ? 'totalAmountIncludingTax' : 'totalAmountExcludingTax';
    expect(toMinor(stored[field], currency)).toBe(expected);
  });

  it('JPY has no decimals and KWD three: unit prices are sent as the exact decimal numbers', () => {
    const jpy = toSalesOrder(fixture('order-jpy.json'), 'order:rakuten:tillwire-tea:384726-20250315-0012345678', { customerNumber: '10000', localCurrency: 'GBP', shippingAccount: '4400' });
    const lines = jpy.body.salesOrderLines as any[];
    expect(lines.map((l) => [l.lineType, l.lineObjectNumber, l.quantity, l.unitPrice, l.discountAmount])).toEqual([
      ['Item', 'SENCHA-100G', 3, 1620, undefined],
      ['Item', 'KYUSU-TEAPOT-350', 1, 5500, 500],
      ['Account', '4400', 1, 550, undefined],
      ['Comment', undefined, undefined, undefined, undefined],
    ]);
    expect(jpy.body).toMatchObject({ currencyCode: 'JPY', orderDate: '2025-03-15' });
    const kwd = toSalesOrder(fixture('sale-kwd.json'), 'sale:KWI-AVENUES:07:AVN-07-004418', { customerNumber: '10000', localCurrency: 'GBP' });
    expect(JSON.stringify(kwd.body.salesOrderLines)).toBe(
      JSON.stringify([
        { lineType: 'Item', lineObjectNumber: 'ABAYA-BLK-54', quantity: 1, unitPrice: 24.5, description: 'Classic Abaya Black 54' },
        { lineType: 'Item', lineObjectNumber: 'ABAYA-BLK-52', quantity: -1, unitPrice: 24.5, description: 'Classic Abaya Black 52 (exchanged)' },
        { lineType: 'Item', lineObjectNumber: 'SHAYLA-SILK-GRY', quantity: 2, unitPrice: 6.25, description: 'Silk Shayla Grey', discountAmount: 1.25 },
      ]),
    );
    expect(kwd.body).toMatchObject({ externalDocumentNumber: 'SALE:KWI-AVENUES:07:AVN-07-004418', currencyCode: 'KWD', orderDate: '2025-03-16' });
  });

  it('property: any minor amount in any currency survives the trip to a BC number and back', () => {
    fc.assert(
      fc.property(fc.constantFrom('JPY', 'GBP', 'KWD', 'USD', 'CLF'), fc.integer({ min: -1e12, max: 1e12 }), (currency, amount) => {
        expect(fromBcAmount(bcAmount(amount, currency), currency)).toBe(amount);
        expect(fromBcAmount(JSON.parse(JSON.stringify(bcAmount(amount, currency))), currency)).toBe(amount);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: random sales in JPY, GBP and KWD total exactly in BC', async () => {
    sim = await startSimulator({ catalog: true });
    const client = clientFor(sim);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('JPY', 'GBP', 'KWD'),
        fc.array(fc.record({ qty: fc.integer({ min: -3, max: 9 }).filter((q) => q !== 0), unit: fc.integer({ min: 0, max: 2_000_000 }), disc: fc.nat(50) }), { minLength: 1, maxLength: 6 }),
        async (currency, raw) => {
          const lines = raw.map((l, i) => {
            const gross = l.qty * l.unit;
            const discount = Math.trunc((gross * l.disc) / 100);
            return {
              lineId: String(i + 1),
              sku: `SKU-${String(i + 1).padStart(4, '0')}`,
              quantity: l.qty,
              unitPrice: { amount: l.unit, currency },
              lineTotal: { amount: gross - discount, currency },
              ...(discount ? { discounts: [{ kind: 'promotion', amount: { amount: discount, currency } }] } : {}),
            };
          });
          const total = lines.reduce((a, l) => a + l.lineTotal.amount, 0);
          fc.pre(total >= 0);
          const sale = {
            ...demoSale(900_000 + n++),
            currency,
            lines,
            tenders: [{ type: 'cash', amount: { amount: total, currency } }],
            totals: {
              subtotal: { amount: lines.reduce((a, l) => a + l.quantity * l.unitPrice.amount, 0), currency },
              discountTotal: { amount: lines.reduce((a, l) => a + (l.quantity * l.unitPrice.amount - l.lineTotal.amount), 0), currency },
              taxTotal: { amount: 0, currency },
              grandTotal: { amount: total, currency },
            },
          };
          const result = await sendOrder(client, sale, keyOf(sale), settings);
          expect(result.totals).toMatchObject({ matches: true });
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('inventory', () => {
  it('reads items’ inventory fresh as canonical positions; unknown SKUs are reported', async () => {
    sim = await startSimulator();
    const client: BusinessCentralClient = clientFor(sim);
    expect(skusFrom('SKU-0001')).toEqual(['SKU-0001']);
    expect(skusFrom({ skus: ['A', 'A', 'B'] })).toEqual(['A', 'B']);
    expect(() => skusFrom(42)).toThrow(/must be a SKU/);
    const at = new Date('2025-03-14T18:00:00Z');
    const first = await readInventory(client, ['SKU-0001', 'TEE-BLK-M', 'NOPE', 'X'.repeat(30)], { locationId: 'BC-ALL', now: () => at });
    expect(first.positions).toEqual([
      { kind: 'inventory.position', sku: 'SKU-0001', locationId: 'BC-ALL', onHand: 20, reserved: 0, inTransit: 0, safetyStock: 0, asOf: '2025-03-14T18:00:00.000Z', attributes: { bcItemId: expect.any(String), bcItemNumber: 'SKU-0001' } },
      expect.objectContaining({ sku: 'TEE-BLK-M', onHand: 148 }),
    ]);
    expect(first.unknown).toEqual(['X'.repeat(30), 'NOPE']);
    sim.upsertItems([{ number: 'SKU-0001', inventory: 3 }, { number: 'SKU-0002', inventory: 2.5 }]);
    const second = await readInventory(client, ['SKU-0001', 'SKU-0002'], { locationId: 'BC-ALL' });
    expect(second.positions.map((p) => p.onHand)).toEqual([3]);
    expect(second.problems).toEqual([expect.stringMatching(/item SKU-0002 has inventory 2.5, not a whole number/)]);
  });
});
