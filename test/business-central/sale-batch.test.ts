/**
 * Till sales to Business Central in batches (sale-batch.ts, and BC's `saleBatch` in parts.ts)
 * against the simulator over real HTTP: a batch of mixed good and bad sales, the same key twice,
 * a lost batch answer, per-request 5xx/429, totals BC computes differently, net returns, more
 * sales than one $batch takes, and random faults: every sale lands exactly once or fails alone.
 */
import { ConnectorError } from '../../nodes/runtime/http';
import { KeyedLock } from '../../nodes/runtime/keyed-lock';
import { Limiter } from '../../nodes/runtime/limiter';
import { businessKey } from '../../nodes/model/validate';
import { createStore } from '../../nodes/runtime/create-store';
import type { Store } from '../../nodes/runtime/store';
import type { NodeMessage } from '../../nodes/core/node-red';
import { BusinessCentralSimulator } from '../../simulators/business-central/simulator';
import { OrderSettings } from '../../nodes/business-central/documents';
import { externalDocumentNumber } from '../../nodes/business-central/map';
import { sendSaleBatch, SaleOutcome } from '../../nodes/business-central/sale-batch';
import { connectionFrom } from '../../nodes/business-central/connection';
import { bcParts } from '../../nodes/business-central/parts';
import type { OrderResult } from '../../nodes/business-central/orders';
import type { CreditResult } from '../../nodes/business-central/returns';
import { clientFor, demoSale, startSimulator } from './helpers';

let sim: BusinessCentralSimulator;
afterEach(async () => {
  await sim?.close();
});

const settings: OrderSettings = {
  routing: { defaultCustomer: '10000', rules: new Map([['store:NOWHERE-1', '99999']]) },
  localCurrency: 'GBP',
};

const keyOf = (doc: any) => businessKey(doc)!;
const input = (doc: any) => ({ payload: doc, key: keyOf(doc) });
const edn = (doc: any) => externalDocumentNumber(keyOf(doc));

function ok(r: SaleOutcome): Record<string, any> & (OrderResult | CreditResult) {
  if (r instanceof Error) throw r;
  return r as Record<string, any> & (OrderResult | CreditResult);
}

/** Each key's sales documents in BC: exactly one each, and nothing else. */
function exactlyOnce(docs: any[]): void {
  const orders = sim.state().orders;
  for (const d of docs) expect([edn(d), (orders[edn(d)] ?? []).length]).toEqual([edn(d), 1]);
  expect(Object.values(orders).reduce((a, list) => a + list.length, 0)).toBe(new Set(docs.map(edn)).size);
}

/** A net return of `of` (its first line back), linked to it by `returnOf`. */
function netReturn(of: any, n: number): any {
  const line = of.lines[0];
  const total = -line.unitPrice.amount;
  return {
    ...demoSale(n, 1),
    returnOf: { saleId: of.saleId, storeId: of.storeId, terminalId: of.terminalId },
    lines: [{ lineId: '1', sku: line.sku, quantity: -1, unitPrice: line.unitPrice, lineTotal: { amount: total, currency: 'GBP' } }],
    tenders: [{ type: 'card', amount: { amount: total, currency: 'GBP' } }],
    totals: {
      subtotal: { amount: total, currency: 'GBP' },
      discountTotal: { amount: 0, currency: 'GBP' },
      taxTotal: { amount: 0, currency: 'GBP' },
      grandTotal: { amount: total, currency: 'GBP' },
    },
  };
}

describe('till sales in batches ($batch)', () => {
  it('a batch of good and bad sales: each bad one fails alone with its own error, the good ones land once, in two calls', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const good = [demoSale(1), demoSale(2), demoSale(3)];
    const unknownSku = { ...demoSale(4, 1), lines: [{ ...demoSale(4, 1).lines[0], sku: 'NO-SUCH-SKU' }] };
    const invalid = { ...demoSale(5), lines: 'not lines' };
    const noCustomer = { ...demoSale(6), storeId: 'NOWHERE-1' }; // routed to customer 99999, which BC does not have
    const results = await sendSaleBatch(client, [good[0], unknownSku, good[1], invalid, noCustomer, good[2]].map(input), settings);

    for (const i of [0, 2, 5]) expect(ok(results[i])).toMatchObject({ created: true, document: 'salesOrder', totals: { matches: true } });
    expect(results[1]).toBeInstanceOf(ConnectorError);
    expect((results[1] as ConnectorError).details.providerCode).toBe('UnknownSku');
    expect((results[1] as Error).message).toContain("'NO-SUCH-SKU'");
    expect((results[3] as Error).message).toMatch(/invalid sale/);
    // BC's own refusal of one inner request, with BC's words.
    expect(results[4]).toBeInstanceOf(ConnectorError);
    expect((results[4] as ConnectorError).status).toBe(400);
    expect((results[4] as ConnectorError).retryable).toBe(false);
    expect((results[4] as Error).message).toContain('The Customer does not exist');
    exactlyOnce(good);
    // One lookup $batch, one $batch of creates (items came from one GET).
    expect(sim.state().requests.batch.batches).toBe(2);
    expect(sim.state().requests.total).toBe(3);
  });

  it('the same sale twice in one batch is one sales order; the second copy finds it (created: false)', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const a = demoSale(10);
    const b = demoSale(11);
    const results = (await sendSaleBatch(client, [a, b, a].map(input), settings)).map(ok);
    expect(results[0]).toMatchObject({ created: true });
    expect(results[1]).toMatchObject({ created: true });
    expect(results[2]).toMatchObject({ created: false, number: results[0].number });
    exactlyOnce([a, b]);
  });

  it('a lost batch answer: each sale is looked up before anything is sent again, found = created, and each is in BC once', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const sales = Array.from({ length: 12 }, (_, i) => demoSale(100 + i));
    sim.setBatchFaults({ loseAnswers: 1 });
    const results = (await sendSaleBatch(client, sales.map(input), settings)).map(ok);
    expect(results.every((r) => r.created && r.recovered && r.totals?.matches)).toBe(true);
    exactlyOnce(sales);
    expect(sim.state().requests.faults.lostResponses).toBe(1);
    // lookup, the creates (answer lost), the lookup that finds them: nothing sent twice.
    expect(sim.state().requests.batch.batches).toBe(3);
  });

  it('per-request 5xx and 429 retry that sale alone, after a lookup: one refused is created, one done-but-failed is found, not made twice', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const [a, b, c, d] = [demoSale(200), demoSale(201), demoSale(202), demoSale(203)];
    sim.setBatchFaults({
      requests: [
        { match: edn(b), status: 503 },
        { match: edn(c), status: 500, done: true },
        { match: edn(d), status: 429, times: 2 },
      ],
    });
    const results = (await sendSaleBatch(client, [a, b, c, d].map(input), settings)).map(ok);
    expect(results[0]).toMatchObject({ created: true });
    expect(results[0].recovered).toBeUndefined();
    expect(results[1]).toMatchObject({ created: true });
    expect(results[1].recovered).toBeUndefined();
    expect(results[2]).toMatchObject({ created: true, recovered: true });
    expect(results[3]).toMatchObject({ created: true });
    exactlyOnce([a, b, c, d]);
  });

  it('a sale that keeps failing inside the batch gives up alone (retryable), after as many attempts as the policy allows', async () => {
    sim = await startSimulator();
    const client = clientFor(sim, { policy: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5, timeoutMs: 5000 } });
    const [a, b] = [demoSale(300), demoSale(301)];
    sim.setBatchFaults({ requests: [{ match: edn(b), status: 500, times: 99 }] });
    const results = await sendSaleBatch(client, [a, b].map(input), settings);
    expect(ok(results[0])).toMatchObject({ created: true });
    expect(results[1]).toBeInstanceOf(ConnectorError);
    expect((results[1] as ConnectorError).retryable).toBe(true);
    expect((results[1] as ConnectorError).attempts).toBe(3);
    expect(sim.state().orders[edn(b)]).toBeUndefined();
  });

  it('totals BC computes differently are reported on that sale (variance), the others match', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const fine = demoSale(400);
    const other = { ...demoSale(401), storeId: 'WEB-TAX-ADDED' };
    const routed: OrderSettings = { ...settings, routing: { defaultCustomer: '10000', rules: new Map([['store:WEB-TAX-ADDED', '20000']]) } };
    const results = (await sendSaleBatch(client, [fine, other].map(input), routed)).map(ok);
    expect(results[0].totals).toMatchObject({ matches: true });
    // Customer 20000 adds tax on top of a tax-included till sale: BC's total is not the till's.
    expect(results[1].totals).toMatchObject({ matches: false, taxBasisMismatch: true });
  });

  it('net returns become credit memos linked to their original: in the same batch, already in BC, or failing alone when the original is missing', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const earlier = demoSale(500);
    ok((await sendSaleBatch(client, [input(earlier)], settings))[0]);
    const original = demoSale(501);
    const missing = { ...demoSale(502), saleId: 'NEVER-SENT' };
    const batch = [netReturn(original, 601), original, netReturn(earlier, 602), netReturn(missing, 603)];
    const results = await sendSaleBatch(client, batch.map(input), settings);
    const sameBatch = ok(results[0]);
    expect(sameBatch).toMatchObject({ document: 'salesCreditMemo', created: true, original: { key: keyOf(original) }, totals: { matches: true } });
    expect(ok(results[1])).toMatchObject({ document: 'salesOrder', created: true });
    expect(ok(results[2])).toMatchObject({ document: 'salesCreditMemo', created: true, original: { key: keyOf(earlier) } });
    expect((results[3] as ConnectorError).details.providerCode).toBe('OriginalNotFound');
    const memos = sim.state().creditMemos;
    expect(Object.values(memos).flat()).toHaveLength(2);
    // The same batch again: everything is found, nothing is created twice.
    const again = (await sendSaleBatch(client, batch.slice(0, 3).map(input), settings)).map(ok);
    expect(again.every((r) => r.created === false)).toBe(true);
    expect(Object.values(sim.state().creditMemos).flat()).toHaveLength(2);
  });

  it("a net return in the node's other batch while its original's create is retried waits for it: linked, not failed as 'original not found'", async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const locks = new KeyedLock();
    const original = demoSale(510);
    // BC refuses the original's create once (503): its batch looks it up, waits and sends it again.
    sim.setBatchFaults({ requests: [{ match: original.saleId, status: 503 }] });
    // The lookup batch and the refused create batch go out; the batch after them (the retry) is held.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let retryArrived!: () => void;
    const retried = new Promise<void>((r) => (retryArrived = r));
    sim.beforeBatch = async (n) => {
      if (n < 3) return;
      retryArrived();
      await released;
    };
    const first = sendSaleBatch(client, [input(original)], settings, locks);
    await retried;
    // The original is not in BC yet while the return's batch is sent.
    expect(sim.state().orders[edn(original)]).toBeUndefined();
    const second = sendSaleBatch(client, [input(netReturn(original, 611))], settings, locks);
    release();
    const [[sale], [credit]] = await Promise.all([first, second]);
    expect(ok(sale)).toMatchObject({ document: 'salesOrder', created: true });
    expect(ok(credit)).toMatchObject({ document: 'salesCreditMemo', created: true, original: { key: keyOf(original) } });
    exactlyOnce([original]);
    expect(Object.values(sim.state().creditMemos).flat()).toHaveLength(1);
  });

  it('more sales than one $batch takes: creates go 100 at a time; one lookup covers them all', async () => {
    sim = await startSimulator();
    const client = clientFor(sim);
    const sales = Array.from({ length: 150 }, (_, i) => demoSale(1000 + i, 1 + (i % 3)));
    const results = (await sendSaleBatch(client, sales.map(input), settings)).map(ok);
    expect(results.every((r) => r.created && r.totals?.matches)).toBe(true);
    exactlyOnce(sales);
    expect(sim.state().requests.batch.batches).toBe(3);
  });

  it("creates are spread over the connection's concurrent requests (BC runs one batch's requests in turn): 100 sales, 5 slots → 5 batches of 20 side by side", async () => {
    sim = await startSimulator();
    const limiter = new Limiter(5);
    const client = clientFor(sim, { limiter });
    let inFlight = 0;
    let most = 0;
    // The creates (batches 2 to 6, after the lookup) are held until all five are in, or for 2 s: sent
    // one after another, they would never be in together.
    let allIn!: () => void;
    const together = new Promise<void>((resolve) => (allIn = resolve));
    sim.beforeBatch = async (n) => {
      if (n === 1) return;
      most = Math.max(most, ++inFlight);
      if (inFlight === 5) allIn();
      await Promise.race([together, new Promise((r) => setTimeout(r, 2000))]);
      inFlight--;
    };
    const sales = Array.from({ length: 100 }, (_, i) => demoSale(3000 + i));
    const results = (await sendSaleBatch(client, sales.map(input), settings)).map(ok);
    expect(results.every((r) => r.created && r.totals?.matches)).toBe(true);
    exactlyOnce(sales);
    // One lookup, then the creates: 20 per batch, five of them at once.
    expect(sim.state().requests.batch).toMatchObject({ batches: 6 });
    expect(most).toBe(5);
    // A handful of sales stays one request.
    const few = Array.from({ length: 8 }, (_, i) => demoSale(4000 + i));
    (await sendSaleBatch(client, few.map(input), settings)).map(ok);
    expect(sim.state().requests.batch).toMatchObject({ batches: 8 });
  });

  it('150 sales (20 sent twice) through 5% failed, 2% unanswered and 5% lost answers, batch and inner requests alike: each lands exactly once', async () => {
    sim = await startSimulator({ faults: { errorRate: 0.05, timeoutRate: 0.02, lostResponseRate: 0.05, seed: 7 }, throttle: { retryAfterSeconds: 0 } });
    const client = clientFor(sim, { policy: { maxAttempts: 12, baseDelayMs: 1, maxDelayMs: 10, timeoutMs: 1500 } });
    const sales = Array.from({ length: 150 }, (_, i) => demoSale(3000 + i, 1 + (i % 2)));
    const resend = sales.filter((_, i) => i % 15 === 0);
    const results = await sendSaleBatch(client, [...sales.slice(0, 75), ...resend, ...sales.slice(75), ...resend].map(input), settings);
    expect(results.filter((r) => r instanceof Error)).toEqual([]);
    expect(results.map(ok).every((r) => r.totals?.matches)).toBe(true);
    exactlyOnce(sales);
    const faults = sim.state().requests.faults;
    expect(faults.errors + faults.lostResponses).toBeGreaterThan(0);
  }, 60_000);
});

describe("Business Central's saleBatch (the ERP node's part) against the simulator", () => {
  let store: Store;
  afterEach(async () => {
    await store?.close();
  });

  it('sets msg.erp and records the BC number per sale, warns about a variance, fails a bad sale alone, and writes an order event one at a time', async () => {
    sim = await startSimulator();
    store = createStore({ backend: 'memory' }, undefined, { heartbeatMs: 0 });
    await store.open();
    const connection = connectionFrom(
      {
        id: 'bc1',
        type: 'tillwire-bc-config',
        baseUrl: sim.baseUrl,
        tenant: sim.tenant,
        environment: sim.environment,
        companyId: sim.companyId,
        authMode: 'token',
        defaultCustomer: '10000',
        customerRules: 'store:WEB-TAX-ADDED = 20000',
        localCurrency: 'GBP',
        ratePerSecond: 0,
        retryBaseMs: 1,
      },
      { token: sim.token },
    );
    const warnings: string[] = [];
    const parts = bcParts({ warn: (m: unknown) => warnings.push(String(m)) }, 'BC-ALL');
    const sales = [demoSale(700), { ...demoSale(701), storeId: 'WEB-TAX-ADDED' }, { ...demoSale(702), lines: [{ ...demoSale(702).lines[0], sku: 'NOPE' }] }];
    const order = {
      kind: 'order',
      id: 'o-1',
      status: 'paid',
      channel: { system: 'shopify', account: 'shop', id: '9001' },
      createdAt: '2025-03-14T10:00:00Z',
      currency: 'GBP',
      lines: [{ lineId: '1', sku: 'SKU-0001', quantity: 1, unitPrice: { amount: 500, currency: 'GBP' }, lineTotal: { amount: 500, currency: 'GBP' } }],
      totals: {
        subtotal: { amount: 500, currency: 'GBP' },
        discountTotal: { amount: 0, currency: 'GBP' },
        shippingTotal: { amount: 0, currency: 'GBP' },
        taxTotal: { amount: 0, currency: 'GBP' },
        grandTotal: { amount: 500, currency: 'GBP' },
      },
      taxesIncluded: true,
    };
    for (const s of sales)
      await store.registerPut({
        key: keyOf(s),
        kind: 'sale',
        storeId: s.storeId,
        terminalId: s.terminalId,
        businessDate: s.businessDate,
        sequence: s.sequence,
        amount: s.totals.grandTotal.amount,
        currency: 'GBP',
        document: s,
      });
    const msgs: NodeMessage[] = [...sales, order].map((payload) => ({ _msgid: 'x', payload, tillwire: { idempotencyKey: keyOf(payload) } }) as NodeMessage);
    const binding = { configured: true, acquire: async () => store, hold: <T>(w: Promise<T>) => w };
    const outcomes = await parts.saleBatch!(connection, msgs, binding);
    connection.client.close();

    expect(outcomes.slice(0, 2)).toEqual(['sent', 'sent']);
    expect(outcomes[2]).toBeInstanceOf(ConnectorError);
    expect(outcomes[3]).toBe('sent');
    const bc = sim.state().orders;
    expect(msgs[0].erp).toMatchObject({ created: true, number: bc[edn(sales[0])][0].number });
    expect(msgs[3].erp).toMatchObject({ created: true, action: 'create', number: bc[edn(order)][0].number });
    expect(msgs[2].erp).toBeUndefined();
    // The sales register names the BC order of each sale sent (what the reconciliation reads).
    expect((await store.registerGet(keyOf(sales[0])))?.externalRefs).toEqual({ 'business-central': bc[edn(sales[0])][0].number });
    expect((await store.registerGet(keyOf(sales[2])))?.externalRefs).toEqual({});
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`(${keyOf(sales[1])})`);
    expect(warnings[0]).toContain('the other tax basis');
  });
});
