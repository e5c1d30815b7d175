/**
 * The idempotent create (operations.sendOrder) and the mapping against the simulator: exactly
 * once under repeats, concurrency, lost responses, 5xx/429/timeouts and throttling; unknown SKUs
 * before anything is created; money exact in JPY, GBP, USD and KWD.
 */
import fc from 'fast-check';
import { observeCalls } from '../../nodes/runtime/call-observer';
import { ConnectorError, TokenBucket } from '../../nodes/runtime/http';
import { Limiter } from '../../nodes/runtime/limiter';
import { businessKey } from '../../nodes/model/validate';
import { toMinor } from '../../nodes/model/money';
import { BusinessCentralSimulator } from '../../simulators/business-central/simulator';
import { BusinessCentralClient } from '../../nodes/business-central/client';
import { KeyedLock } from '../../nodes/runtime/keyed-lock';
import { OrderSettings } from '../../nodes/business-central/documents';
import { kvTombstones, sendOrder, TOMBSTONE_PREFIX } from '../../nodes/business-central/orders';
import { sendReturn } from '../../nodes/business-central/returns';
import { KEY_PREFIX, readShipments, SHIPMENT_CURSOR_PREFIX } from '../../nodes/business-central/shipments';
import { readInventory, readInventoryChanges } from '../../nodes/business-central/stock';
import { validateDocument } from '../../nodes/model/validate';
import { bcAmount, externalDocumentNumber, fromBcAmount, keyFromComments, toSalesOrder } from '../../nodes/business-central/map';
import { api, clientFor, demoSale, fixture, startSimulator } from './helpers';

let sim: BusinessCentralSimulator;
afterEach(async () => {
  await sim?.close();
});

const settings: OrderSettings = {
  routing: { defaultCustomer: '10000', rules: new Map([['shopify', '20000']]) },
  shippingAccount: '4400',
};

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
    expect(results[0]).toMatchObject({
      system: 'business-central',
      document: 'salesOrder',
      externalDocumentNumber: 'SALE:LDN-042:T03:042-03-000512',
      number: 'S-ORD101001',
      customerNumber: '10000',
    });

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
    const result = await observeCalls(
      (e) => retries.push(e.operation),
      () => sendOrder(client, sale, keyOf(sale), settings),
    );
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
    const client = clientFor(sim, {
      limiter: new Limiter(8),
      throttleCooloffMs: 60,
      policy: { maxAttempts: 40, baseDelayMs: 5, maxDelayMs: 100, timeoutMs: 5000 },
    });
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
    expect(tooLong.message).toMatch(
      /unknown SKUs 'JEANS-SLIM-32-32-INDIGO-LONG', 'SOCK-5PK-RED', 'GHOST-ITEM': no such item in Business Central \('JEANS-SLIM-32-32-INDIGO-LONG' is longer than 20 characters/,
    );
    sale.lines[0].sku = 'JEANS-SLIM-32-32';

    sim.upsertItems([{ number: 'SOCK-5PK-RED' }, { number: 'GHOST-ITEM', blocked: true }]);
    const blocked: ConnectorError = await sendOrder(client, sale, keyOf(sale), settings).catch((e) => e);
    expect(blocked.message).toMatch(/item 'GHOST-ITEM' is blocked in Business Central; nothing was created/);
    expect(sim.state().counts.salesOrders).toBe(0);
  });

  it('without a tombstone store: a cancel before the create writes nothing, and a later create does create the order (why cancels need a store)', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const order = fixture('order.json');
    const cancelled = { ...order, status: 'cancelled' };
    expect(await sendOrder(client, cancelled, keyOf(order), settings)).toMatchObject({
      created: false,
      skipped: 'cancelled',
      cancelled: true,
      tombstone: false,
      action: 'create-cancelled',
    });
    expect(sim.state().counts.salesOrders).toBe(0);
    const created = await sendOrder(client, order, keyOf(order), settings);
    expect(created).toMatchObject({ created: true, action: 'create' });
    // an open order is still cancelled (deleted) without a store
    expect(await sendOrder(client, cancelled, keyOf(order), settings)).toMatchObject({
      cancelled: true,
      deleted: [created.number],
      tombstone: false,
      action: 'cancel',
    });
    expect(sim.state().counts.salesOrders).toBe(0);
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

  it('refuses what BC cannot take: shipping without a shipping account, no customer', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const order = fixture('order.json');
    await expect(sendOrder(client, order, keyOf(order), { ...settings, shippingAccount: undefined })).rejects.toThrow(/no shipping G\/L account is configured/);
    await expect(sendOrder(client, order, keyOf(order), { routing: { rules: new Map() } })).rejects.toThrow(
      /no Business Central customer for channel shopify:tillwire-demo.myshopify.com/,
    );
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
    const routing = {
      defaultCustomer: '10000',
      rules: new Map([
        ['shopify', '20000'],
        ['store:KWI-AVENUES', '20000'],
      ]),
    };
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
    const jpy = toSalesOrder(fixture('order-jpy.json'), 'order:rakuten:tillwire-tea:384726-20250315-0012345678', {
      customerNumber: '10000',
      localCurrency: 'GBP',
      shippingAccount: '4400',
    });
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
        fc.array(fc.record({ qty: fc.integer({ min: -3, max: 9 }).filter((q) => q !== 0), unit: fc.integer({ min: 0, max: 2_000_000 }), disc: fc.nat(50) }), {
          minLength: 1,
          maxLength: 6,
        }),
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
    const at = new Date('2025-03-14T18:00:00Z');
    const first = await readInventory(client, ['SKU-0001', 'TEE-BLK-M', 'NOPE', 'X'.repeat(30)], { locationId: 'BC-ALL', now: () => at });
    expect(first.positions).toEqual([
      {
        kind: 'inventory.position',
        sku: 'SKU-0001',
        locationId: 'BC-ALL',
        onHand: 20,
        reserved: 0,
        inTransit: 0,
        safetyStock: 0,
        asOf: '2025-03-14T18:00:00.000Z',
        attributes: { bcItemId: expect.any(String), bcItemNumber: 'SKU-0001' },
      },
      expect.objectContaining({ sku: 'TEE-BLK-M', onHand: 148 }),
    ]);
    expect(first.unknown).toEqual(['X'.repeat(30), 'NOPE']);
    sim.upsertItems([
      { number: 'SKU-0001', inventory: 3 },
      { number: 'SKU-0002', inventory: 2.5 },
    ]);
    const second = await readInventory(client, ['SKU-0001', 'SKU-0002'], { locationId: 'BC-ALL' });
    expect(second.positions.map((p) => p.onHand)).toEqual([3]);
    expect(second.problems).toEqual([expect.stringMatching(/item SKU-0002 has inventory 2.5, not a whole number/)]);
  });

  it('reads what changed: every item and the newest item ledger entry first, then only the items with entries after it', async () => {
    sim = await startSimulator();
    const client: BusinessCentralClient = clientFor(sim);
    const opts = { locationId: 'BC-ALL' };
    const first = await readInventoryChanges(client, undefined, opts);
    expect(first.positions.length).toBe((await readInventory(client, undefined, opts)).positions.length);
    const entries = (await api(sim, 'GET', 'itemLedgerEntries?$orderby=entryNumber%20desc&$top=1')).body.value;
    expect(first.cursor).toEqual({ entryNumber: entries[0].entryNumber, source: client.companyPath });

    // Nothing posted since: nothing read, the cursor stays.
    expect(await readInventoryChanges(client, first.cursor, opts)).toEqual({ positions: [], unknown: [], problems: [], cursor: first.cursor });
    expect(first.cursor.source).toBe(client.companyPath);

    // Two adjustments posted in BC (one item twice), one item renamed (not a stock change).
    sim.upsertItems([
      { number: 'SKU-0001', inventory: 11 },
      { number: 'TEE-BLK-M', inventory: 140 },
      { number: 'SKU-0001', inventory: 12 },
      { number: 'SKU-0003', displayName: 'renamed' },
    ]);
    const second = await readInventoryChanges(client, first.cursor, opts);
    expect(second.positions.map((p) => `${p.sku}=${p.onHand}`)).toEqual(['SKU-0001=12', 'TEE-BLK-M=140']);
    expect(second.cursor).toMatchObject({ entryNumber: first.cursor.entryNumber + 3, source: client.companyPath, modifiedAt: expect.any(String) });
    const ledger = (await api(sim, 'GET', `itemLedgerEntries?$filter=entryNumber%20gt%20${first.cursor.entryNumber}`)).body.value;
    expect(ledger.map((e: any) => [e.itemNumber, e.quantity, e.entryType])).toEqual([
      ['SKU-0001', -9, 'Negative_x0020_Adjmt_x002E_'],
      ['TEE-BLK-M', -8, 'Negative_x0020_Adjmt_x002E_'],
      ['SKU-0001', 1, 'Positive_x0020_Adjmt_x002E_'],
    ]);

    // An entry numbered below the cursor commits after that read (two sessions posting at once):
    // the look-back over the newest entry times finds it.
    sim.postItemLedgerEntry('SKU-0002', -5, second.cursor.entryNumber - 1);
    const third = await readInventoryChanges(client, second.cursor, opts);
    expect(third.positions.map((p) => p.sku)).toContain('SKU-0002');
    expect(third.cursor.entryNumber).toBe(second.cursor.entryNumber);

    // Two minutes on (this clock), nothing new: the look-back has closed, nothing is read again.
    const idle = await readInventoryChanges(client, third.cursor, { ...opts, now: () => new Date(Date.now() + 125_000) });
    expect(idle.positions).toEqual([]);
    expect(idle.cursor).toEqual(third.cursor);
  });

  it('a cursor that cannot be trusted counts as none: another company, one above the newest entry, an entry time in the future, garbage', async () => {
    sim = await startSimulator();
    const client: BusinessCentralClient = clientFor(sim);
    const opts = { locationId: 'BC-ALL' };
    const every = (await readInventory(client, undefined, opts)).positions.length;
    const last = (await readInventoryChanges(client, undefined, opts)).cursor.entryNumber;
    for (const stored of [
      { entryNumber: 1, source: 'https://other.example.com/companies(x)' },
      { entryNumber: last + 1000, source: client.companyPath },
      { entryNumber: 'x', source: client.companyPath },
      { entryNumber: last, source: client.companyPath, modifiedAt: '2999-01-01T00:00:00Z' },
      null,
    ]) {
      const read = await readInventoryChanges(client, stored, opts);
      expect(read.positions.length).toBe(every);
      expect(read.cursor).toEqual({ entryNumber: last, source: client.companyPath });
    }
  });
});

/** A Tillwire store's small durable values, in memory, with the same compare-and-set contract. */
function memoryKv() {
  const values = new Map<string, string>();
  return {
    values,
    async kvGet(key: string): Promise<unknown> {
      return values.has(key) ? JSON.parse(values.get(key)!) : undefined;
    },
    async kvPut(key: string, value: unknown, expected?: unknown): Promise<boolean> {
      if (arguments.length >= 3) {
        const current = values.get(key);
        if (expected === undefined ? current !== undefined : current !== JSON.stringify(expected)) return false;
      }
      values.set(key, JSON.stringify(value));
      return true;
    },
  };
}

describe('order lifecycle (shared rules: runtime/order-lifecycle.ts)', () => {
  const order = () => fixture('order.json'); // status 'paid'
  const as = (status: string) => ({ ...order(), status });

  it('paid before create creates the order; the create that follows, and 3 duplicates at once, find it', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const locks = new KeyedLock();
    const kv = memoryKv();
    const opts = { tombstones: kvTombstones(kv) };
    const key = keyOf(order());
    const paid = await sendOrder(client, as('paid'), key, settings, locks, opts);
    expect(paid).toMatchObject({ created: true, action: 'create', channelStatus: 'paid', document: 'salesOrder' });
    const accepted = await sendOrder(client, as('accepted'), key, settings, locks, opts);
    expect(accepted).toMatchObject({ created: false, action: 'exists', channelStatus: 'accepted', number: paid.number, id: paid.id });
    const burst = await Promise.all([1, 2, 3].map(() => sendOrder(client, as('partially_fulfilled'), key, settings, locks, opts)));
    expect(burst.map((r) => [r.created, r.number, (r as any).action])).toEqual(Array(3).fill([false, paid.number, 'exists']));
    exactlyOnce([key]);
    expect(kv.values.size).toBe(0);
  });

  it('three copies of the first event at once (each a different status) make one order', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const locks = new KeyedLock();
    const opts = { tombstones: kvTombstones(memoryKv()) };
    const key = keyOf(order());
    const results = await Promise.all(
      ['updated' as const, 'paid', 'accepted'].map((st) => sendOrder(client, as(st === 'updated' ? 'paid' : st), key, settings, locks, opts)),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    exactlyOnce([key]);
  });

  it('cancel before create leaves a tombstone and no order; the stale create (×3) that follows is a no-op', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const locks = new KeyedLock();
    const kv = memoryKv();
    const opts = { tombstones: kvTombstones(kv), now: () => new Date('2026-11-27T03:00:00Z') };
    const key = keyOf(order());
    const edn = externalDocumentNumber(key);
    const cancel = await sendOrder(client, as('cancelled'), key, settings, locks, opts);
    expect(cancel).toMatchObject({
      created: false,
      cancelled: true,
      skipped: 'cancelled',
      action: 'create-cancelled',
      tombstone: true,
      tombstoneWritten: true,
      externalDocumentNumber: edn,
    });
    expect(await kv.kvGet(TOMBSTONE_PREFIX + edn)).toEqual({ key, cancelledAt: '2026-11-27T03:00:00.000Z' });
    const stale = await Promise.all([1, 2, 3].map(() => sendOrder(client, as('accepted'), key, settings, locks, opts)));
    for (const r of stale) expect(r).toMatchObject({ created: false, cancelled: true, stale: true, action: 'already-cancelled', channelStatus: 'accepted' });
    // a repeat of the cancel is a no-op too
    expect(await sendOrder(client, as('cancelled'), key, settings, locks, opts)).toMatchObject({ stale: true, action: 'already-cancelled' });
    expect(sim.state().counts.salesOrders).toBe(0);
    expect(sim.state().requests.byStatus['201']).toBeUndefined();
  });

  it('create, then cancel: the open order is deleted (If-Match) and tombstoned; later events (×3) are stale', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const locks = new KeyedLock();
    const kv = memoryKv();
    const opts = { tombstones: kvTombstones(kv) };
    const key = keyOf(order());
    const created = await sendOrder(client, as('accepted'), key, settings, locks, opts);
    const cancelled = await sendOrder(client, as('cancelled'), key, settings, locks, opts);
    expect(cancelled).toMatchObject({
      created: false,
      cancelled: true,
      action: 'cancel',
      deleted: [created.number],
      number: created.number,
      id: created.id,
      tombstone: true,
    });
    expect(sim.state().counts).toMatchObject({ salesOrders: 0, salesOrderLines: 0 });
    expect(await kv.kvGet(TOMBSTONE_PREFIX + externalDocumentNumber(key))).toMatchObject({ key, number: created.number, id: created.id });
    const later = await Promise.all(['paid', 'cancelled', 'accepted'].map((st) => sendOrder(client, as(st), key, settings, locks, opts)));
    for (const r of later) expect(r).toMatchObject({ stale: true, action: 'already-cancelled', number: created.number });
    expect(sim.state().counts.salesOrders).toBe(0);
    expect(sim.state().requests.byStatus['204']).toBe(1);
  });

  it('a mixed burst (3 creates and 3 cancels at once) ends cancelled: no order, one tombstone', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const locks = new KeyedLock();
    const kv = memoryKv();
    const opts = { tombstones: kvTombstones(kv) };
    const key = keyOf(order());
    await Promise.all(
      ['accepted', 'cancelled', 'paid', 'cancelled', 'accepted', 'cancelled'].map((st) => sendOrder(client, as(st), key, settings, locks, opts)),
    );
    expect(sim.state().counts.salesOrders).toBe(0);
    expect(await kv.kvGet(TOMBSTONE_PREFIX + externalDocumentNumber(key))).toMatchObject({ key });
  });

  it('a cancel interrupted after its tombstone (the order still in BC) is finished by the next event', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const kv = memoryKv();
    const opts = { tombstones: kvTombstones(kv) };
    const key = keyOf(order());
    const created = await sendOrder(client, as('paid'), key, settings, new KeyedLock(), opts);
    await kv.kvPut(TOMBSTONE_PREFIX + externalDocumentNumber(key), { key, cancelledAt: '2026-11-27T02:00:00.000Z' });
    const next = await sendOrder(client, as('paid'), key, settings, new KeyedLock(), opts);
    expect(next).toMatchObject({ cancelled: true, deleted: [created.number], action: 'cancel' });
    expect(sim.state().counts.salesOrders).toBe(0);
  });

  it('an interrupted cancel whose order shipped meanwhile: the error names it, the tombstone is withdrawn, later events find the order', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const kv = memoryKv();
    const opts = { tombstones: kvTombstones(kv) };
    const key = keyOf(order());
    const created = await sendOrder(client, as('paid'), key, settings, new KeyedLock(), opts);
    await kv.kvPut(TOMBSTONE_PREFIX + externalDocumentNumber(key), { key, cancelledAt: '2026-11-27T02:00:00.000Z' });
    sim.postShipment({ number: created.number });
    await expect(sendOrder(client, as('paid'), key, settings, new KeyedLock(), opts)).rejects.toThrow(/is already shipped/);
    expect(await kv.kvGet(TOMBSTONE_PREFIX + externalDocumentNumber(key))).toBeNull();
    expect(await sendOrder(client, as('fulfilled'), key, settings, new KeyedLock(), opts)).toMatchObject({ action: 'exists', number: created.number });
  });

  it('an invoiced or shipped order cannot be cancelled: a permanent error naming it and why; no tombstone', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const kv = memoryKv();
    const opts = { tombstones: kvTombstones(kv) };
    const key = keyOf(order());
    const created = await sendOrder(client, as('paid'), key, settings, new KeyedLock(), opts);
    sim.postShipment({ number: created.number }, { lines: { 'TEE-BLK-M': 1 } });
    const shipped: ConnectorError = await sendOrder(client, as('cancelled'), key, settings, new KeyedLock(), opts).catch((e) => e);
    expect(shipped).toBeInstanceOf(ConnectorError);
    expect(shipped.retryable).toBe(false);
    expect(shipped.details.providerCode).toBe('AlreadyShipped');
    expect(shipped.message).toContain(
      `order ${key} was cancelled in the channel, but Business Central sales order ${created.number} is already shipped (TEE-BLK-M × 1)`,
    );
    expect(sim.state().counts.salesOrders).toBe(1);

    const other = { ...order(), channel: { ...order().channel, id: '777' } };
    const k2 = keyOf(other);
    const second = await sendOrder(client, other, k2, settings, new KeyedLock(), opts);
    await client.shipAndInvoice(second.id!);
    const invoiced: ConnectorError = await sendOrder(client, { ...other, status: 'cancelled' }, k2, settings, new KeyedLock(), opts).catch((e) => e);
    expect(invoiced.details.providerCode).toBe('AlreadyPosted');
    expect(invoiced.message).toMatch(
      new RegExp(
        `order ${k2} was cancelled in the channel, but Business Central posted invoice PS-INV\\d+ exists for it and is already invoiced: it cannot be cancelled`,
      ),
    );
    expect(kv.values.size).toBe(0);
  });
});

describe('returns: sales credit memos', () => {
  const routing = {
    defaultCustomer: '10000',
    rules: new Map([
      ['shopify', '20000'],
      ['rakuten', '10000'],
      ['store:KWI-AVENUES', '10000'],
    ]),
  };
  const s2: OrderSettings = { routing, shippingAccount: '4400' };

  function jpyReturn(status = 'received', lines?: any[]) {
    const o = fixture('order-jpy.json');
    return {
      kind: 'return',
      returnId: 'R-JP-1',
      channel: { system: 'rakuten', account: 'tillwire-tea', id: 'R-JP-1' },
      originalOrder: { id: o.id, channel: o.channel },
      status,
      createdAt: '2025-03-20T10:00:00+09:00',
      currency: 'JPY',
      lines: lines ?? [
        { lineId: '1', sku: 'SENCHA-100G', quantity: 3, reason: 'damaged', restock: false, refundAmount: { amount: 1000, currency: 'JPY' } },
        { lineId: '2', sku: 'KYUSU-TEAPOT-350', quantity: 1, reason: 'defective', restock: false, refundAmount: { amount: 5000, currency: 'JPY' } },
      ],
      totals: { refundTotal: { amount: 6000, currency: 'JPY' } },
    };
  }

  it('a refunded return becomes one credit memo (3 deliveries, one at once): customer and link from the original, amounts exact in JPY', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const locks = new KeyedLock();
    const original = fixture('order-jpy.json');
    const orig = await sendOrder(client, original, keyOf(original), s2, locks);
    const ret = jpyReturn('refunded');
    const key = keyOf(ret);
    expect(key).toBe('return:rakuten:R-JP-1');
    const first = await sendReturn(client, ret, key, s2, locks);
    const again = await Promise.all([sendReturn(client, ret, key, s2, locks), sendReturn(client, ret, key, s2, locks)]);
    expect(first).toMatchObject({
      document: 'salesCreditMemo',
      created: true,
      action: 'credit',
      channelStatus: 'refunded',
      externalDocumentNumber: externalDocumentNumber(key),
      customerNumber: '10000',
      original: { key: keyOf(original), document: 'salesOrder', number: orig.number, id: orig.id, applied: false },
      totals: { field: 'totalAmountIncludingTax', currency: 'JPY', expected: '6000', actual: '6000', matches: true },
    });
    for (const r of again) expect(r).toMatchObject({ created: false, number: first.number, id: first.id });
    const memos = sim.state().creditMemos;
    expect(Object.keys(memos)).toEqual([externalDocumentNumber(key)]);
    expect(memos[externalDocumentNumber(key)]).toHaveLength(1);
    const stored = (await api(sim, 'GET', `salesCreditMemos(${first.id})?$expand=salesCreditMemoLines`)).body;
    expect(stored).toMatchObject({ currencyCode: 'JPY', totalAmountIncludingTax: 6000, invoiceNumber: '' });
    const lines = stored.salesCreditMemoLines;
    // 3 units for 1000 yen: 334 each, 2 yen line discount — the line amount is exactly the refund
    expect(lines[0]).toMatchObject({
      lineType: 'Item',
      lineObjectNumber: 'SENCHA-100G',
      quantity: 3,
      unitPrice: 334,
      discountAmount: 2,
      amountIncludingTax: 1000,
    });
    expect(lines[1]).toMatchObject({ lineObjectNumber: 'KYUSU-TEAPOT-350', quantity: 1, unitPrice: 5000, amountIncludingTax: 5000 });
    expect(lines[2]).toMatchObject({ lineType: 'Comment', description: `Return R-JP-1 of order ${orig.number} (${orig.externalDocumentNumber})` });
  });

  it('requested and authorized wait, rejected writes nothing; received creates', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const original = fixture('order-jpy.json');
    await sendOrder(client, original, keyOf(original), s2);
    for (const st of ['requested', 'authorized']) {
      expect(await sendReturn(client, jpyReturn(st), 'return:rakuten:R-JP-1', s2)).toMatchObject({
        created: false,
        action: 'wait',
        skipped: 'waiting',
        reason: expect.stringContaining(`is ${st}`),
      });
    }
    expect(await sendReturn(client, jpyReturn('rejected'), 'return:rakuten:R-JP-1', s2)).toMatchObject({ created: false, action: 'none', skipped: 'rejected' });
    expect(sim.state().counts.salesCreditMemos).toBe(0);
    expect(await sendReturn(client, jpyReturn('received'), 'return:rakuten:R-JP-1', s2)).toMatchObject({ created: true, action: 'credit' });
  });

  it('an original not in BC is a permanent error naming it; after the original arrives, the replay credits once', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const ret = jpyReturn('received');
    const original = fixture('order-jpy.json');
    const err: ConnectorError = await sendReturn(client, ret, keyOf(ret), s2).catch((e) => e);
    expect(err.retryable).toBe(false);
    expect(err.details.providerCode).toBe('OriginalNotFound');
    expect(err.message).toContain(
      `the original order ${original.id} (${keyOf(original)}, external document no. ${externalDocumentNumber(keyOf(original))}) is not in Business Central: nothing was created`,
    );
    expect(sim.state().counts.salesCreditMemos).toBe(0);
    await sendOrder(client, original, keyOf(original), s2);
    expect(await sendReturn(client, ret, keyOf(ret), s2)).toMatchObject({ created: true });
    expect(await sendReturn(client, ret, keyOf(ret), s2)).toMatchObject({ created: false });
    expect(sim.state().counts.salesCreditMemos).toBe(1);
  });

  it('an unknown SKU on a return creates nothing and names the SKU', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const original = fixture('order-jpy.json');
    await sendOrder(client, original, keyOf(original), s2);
    const ret = jpyReturn('received', [
      { lineId: '1', sku: 'MATCHA-30G', quantity: 1, reason: 'other', restock: true, refundAmount: { amount: 900, currency: 'JPY' } },
    ]);
    await expect(sendReturn(client, ret, keyOf(ret), s2)).rejects.toThrow(/unknown SKU 'MATCHA-30G': no such item in Business Central; nothing was created/);
    expect(sim.state().counts.salesCreditMemos).toBe(0);
  });

  it('an invoiced original: the credit memo applies to its posted invoice (invoiceId)', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const original = fixture('order-jpy.json');
    const orig = await sendOrder(client, original, keyOf(original), s2);
    await client.shipAndInvoice(orig.id!);
    const invoice = sim.rows('salesInvoices')[0];
    const r = await sendReturn(client, jpyReturn('received'), 'return:rakuten:R-JP-1', s2);
    expect(r).toMatchObject({ created: true, original: { document: 'salesInvoice', id: invoice.id, number: invoice.number, applied: true } });
    expect(sim.state().creditMemos[externalDocumentNumber('return:rakuten:R-JP-1')][0]).toMatchObject({
      invoiceId: invoice.id,
      invoiceNumber: invoice.number,
      customerNumber: '10000',
    });
  });

  it('the return fixture (USD, a tax-exclusive customer) is created and its tax-basis difference reported', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const original = fixture('order.json');
    await sendOrder(client, original, keyOf(original), s2);
    const ret = fixture('return.json');
    const r = await sendReturn(client, ret, keyOf(ret), s2);
    expect(r).toMatchObject({ created: true, customerNumber: '20000', totals: { expected: '22.56', taxBasisMismatch: true, matches: false } });
  });

  it('a till sale with a negative total (a KWD exchange netting to a refund) becomes a credit memo linked to the original sale, exact to the fils', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const locks = new KeyedLock();
    const originalSale = { ...fixture('sale-kwd.json'), saleId: 'AVN-07-004371', sequence: 4371, lines: [fixture('sale-kwd.json').lines[0]] };
    originalSale.lines[0].quantity = 2;
    originalSale.lines[0].lineTotal.amount = 49000;
    originalSale.totals = {
      subtotal: { amount: 49000, currency: 'KWD' },
      discountTotal: { amount: 0, currency: 'KWD' },
      taxTotal: { amount: 0, currency: 'KWD' },
      grandTotal: { amount: 49000, currency: 'KWD' },
    };
    originalSale.tenders = [{ type: 'cash', amount: { amount: 49000, currency: 'KWD' } }];
    delete originalSale.returnOf;
    const kwRouting = { ...s2, routing: { defaultCustomer: '10000', rules: new Map([['store:KWI-AVENUES', '20000']]) } };
    const orig = await sendOrder(client, originalSale, keyOf(originalSale), kwRouting, locks);
    expect(orig.created).toBe(true);

    // the return: 2 abayas back (49.000), one silk shayla bought (12.500 − 1.250 goodwill)
    const sale = fixture('sale-kwd.json');
    sale.lines = [
      { lineId: '1', sku: 'ABAYA-BLK-54', quantity: -2, unitPrice: { amount: 24500, currency: 'KWD' }, lineTotal: { amount: -49000, currency: 'KWD' } },
      sale.lines[2],
    ];
    sale.lines[1].quantity = 1;
    sale.lines[1].lineTotal.amount = 5000;
    const net = -49000 + 5000;
    sale.totals = {
      subtotal: { amount: -42750, currency: 'KWD' },
      discountTotal: { amount: 1250, currency: 'KWD' },
      taxTotal: { amount: 0, currency: 'KWD' },
      grandTotal: { amount: net, currency: 'KWD' },
    };
    sale.tenders = [{ type: 'cash', amount: { amount: net, currency: 'KWD' } }];
    const key = keyOf(sale);
    const results = [
      await sendOrder(client, sale, key, kwRouting, locks),
      ...(await Promise.all([1, 2].map(() => sendOrder(client, sale, key, kwRouting, locks)))),
    ];
    expect(results[0]).toMatchObject({
      document: 'salesCreditMemo',
      created: true,
      action: 'credit',
      channelStatus: 'net-return',
      customerNumber: '20000',
      original: { key: 'sale:KWI-AVENUES:07:AVN-07-004371', number: orig.number, document: 'salesOrder' },
      totals: { field: 'totalAmountExcludingTax', currency: 'KWD', expected: '44.000', actual: '44.000', matches: true },
    });
    expect(results.slice(1).map((r) => r.created)).toEqual([false, false]);
    const memo = (await api(sim, 'GET', `salesCreditMemos(${results[0].id})?$expand=salesCreditMemoLines`)).body;
    expect(
      memo.salesCreditMemoLines.slice(0, 2).map((l: any) => [l.lineObjectNumber, l.quantity, l.unitPrice, l.discountAmount, l.amountExcludingTax]),
    ).toEqual([
      ['ABAYA-BLK-54', 2, 24.5, 0, 49],
      ['SHAYLA-SILK-GRY', -1, 6.25, -1.25, -5],
    ]);
    expect(sim.state().counts).toMatchObject({ salesCreditMemos: 1, salesOrders: 1 });
  });

  it('a net-return sale without its original terminal id is credited unlinked; with an original missing from BC it is refused', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const ret = demoSale(9, 1);
    ret.lines[0].quantity = -1;
    ret.lines[0].lineTotal.amount = -ret.lines[0].unitPrice.amount;
    for (const k of ['subtotal', 'grandTotal']) ret.totals[k].amount = -ret.lines[0].unitPrice.amount;
    ret.tenders[0].amount.amount = -ret.lines[0].unitPrice.amount;
    const noReturnOf = await sendOrder(client, ret, keyOf(ret), settings);
    expect(noReturnOf).toMatchObject({ document: 'salesCreditMemo', created: true, customerNumber: '10000', totals: { matches: true } });
    const linked = { ...ret, saleId: 'S-R2', returnOf: { saleId: 'S-000001', terminalId: 'T03' } };
    await expect(sendOrder(client, linked, keyOf(linked), settings)).rejects.toThrow(
      /the original sale S-000001 \(sale:LDN-042:T03:S-000001, external document no\. SALE:LDN-042:T03:S-000001\) is not in Business Central/,
    );
    const unlinked = { ...ret, saleId: 'S-R3', returnOf: { saleId: 'S-000001' } };
    expect(await sendOrder(client, unlinked, keyOf(unlinked), settings)).toMatchObject({ created: true, unlinked: expect.stringContaining('no terminal id') });
    expect(sim.state().counts.salesCreditMemos).toBe(2);
  });
});

describe('shipments out of BC', () => {
  it('posted shipments after the cursor become validated canonical shipments of their channel order; the cursor moves by compare-and-set', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const kv = memoryKv();
    const order = fixture('order.json');
    const key = keyOf(order);
    const created = await sendOrder(client, order, key, settings);
    const sale = demoSale(4);
    const saleOrder = await sendOrder(client, sale, keyOf(sale), settings);
    sim.postShipment({ number: created.number }, { lines: { 'TEE-BLK-M': 1 } });
    sim.postShipment({ number: saleOrder.number });

    const first = await readShipments(client, kv);
    expect(first.problems).toEqual([]);
    expect(first.skipped).toEqual(['S-SHPT102002']); // a till sale's order: not a channel order
    expect(first.advanced).toBe(true);
    expect(first.shipments).toHaveLength(1);
    const doc = first.shipments[0];
    expect(doc).toMatchObject({
      kind: 'shipment',
      shipmentId: 'S-SHPT102001',
      order: { id: key, channel: { system: 'shopify', account: 'tillwire-demo.myshopify.com', id: '5902184710234' } },
      lines: [{ sku: 'TEE-BLK-M', quantity: 1 }],
      source: { system: 'business-central', type: 'salesShipment', id: 'S-SHPT102001' },
      attributes: { bcOrderNumber: created.number },
    });
    expect(validateDocument('shipment', doc)).toEqual({ valid: true, errors: [] });
    expect(businessKey(doc)).toBe('shipment:business-central:S-SHPT102001');
    const cursorKey = SHIPMENT_CURSOR_PREFIX + sim.companyId;
    expect(await kv.kvGet(cursorKey)).toEqual(first.cursor);

    // nothing new: nothing emitted; the rest of the order ships: only that one
    expect((await readShipments(client, kv)).shipments).toEqual([]);
    sim.postShipment({ number: created.number });
    // the hashed key is now found where the node records it (no comment-line lookup needed)
    await kv.kvPut(KEY_PREFIX + created.externalDocumentNumber, key);
    const second = await readShipments(client, kv);
    expect(second.shipments.map((s) => [s.shipmentId, s.order.id, s.lines])).toEqual([
      [
        'S-SHPT102003',
        key,
        [
          { sku: 'TEE-BLK-M', quantity: 1 },
          { sku: 'MUG-WHT-12OZ', quantity: 1 },
        ],
      ],
    ]);

    // another instance moved the cursor meanwhile: this read does not overwrite it
    sim.postShipment({
      number: (await sendOrder(client, { ...order, channel: { ...order.channel, id: '42' } }, 'order:shopify:tillwire-demo.myshopify.com:42', settings))
        .number!,
    });
    const moved = { after: '2999-01-01T00:00:00.000Z', seen: ['X'] };
    const racing = { ...kv, kvPut: async (k: string, v: unknown, e?: unknown) => (k === cursorKey ? (await kv.kvPut(k, moved), false) : kv.kvPut(k, v, e)) };
    const raced = await readShipments(client, racing);
    expect(raced.advanced).toBe(false);
    expect(await kv.kvGet(cursorKey)).toEqual(moved);
  });
});
