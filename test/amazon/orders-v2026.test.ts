/**
 * Orders API 2026-01-01 (docs/connectors/amazon.md, "Orders API 2026-01-01"): the simulator's
 * searchOrders/getOrder contract, the mapping (the same simulated order fetched through v0 and
 * through 2026-01-01 gives the identical canonical Order, money to the minor unit) and the poll
 * step end to end on the new version.
 */
import { AmazonSimulator, MARKETPLACES, QUOTA_EXCEEDED } from '../../simulators/amazon/simulator';
import { API_VERSIONS, DEFAULT_API_VERSION, ORDERS_V0_REMOVAL, USAGE_PLANS, versionProblem } from '../../nodes/amazon/contract';
import { toCanonicalOrder } from '../../nodes/amazon/map';
import { toCanonicalOrderV2026, toV0 } from '../../nodes/amazon/map-v2026';
import { MappingError } from '../../nodes/amazon/map';
import { eventIdForV2026, pollOnce, PolledOrder } from '../../nodes/amazon/poller';
import { createStore } from '../../nodes/runtime/create-store';
import { validateDocument } from '../../nodes/model/validate';
import { toMinor } from '../../nodes/model/money';
import { ManualClock, clientFor, get, payable, startSimulator, token } from './support';

const clock = new ManualClock();
let sim: AmazonSimulator;
beforeAll(async () => {
  sim = await startSimulator({ orders: 120, now: clock.now });
});
afterAll(() => sim.stop());
beforeEach(() => sim.reset());

const ALL = MARKETPLACES.map((m) => m.id).join(',');
const PATH = '/orders/2026-01-01/orders';

describe('contract', () => {
  it('2026-01-01 is the default; v0 is supported until Amazon removes it on 2027-03-27', () => {
    expect(DEFAULT_API_VERSION).toBe('2026-01-01');
    expect(API_VERSIONS).toEqual([
      { version: '2026-01-01', supportedUntil: null },
      { version: 'v0', supportedUntil: '2027-03-27' },
    ]);
    expect(ORDERS_V0_REMOVAL).toBe('2027-03-27');
    expect(USAGE_PLANS.searchOrders).toEqual({ rate: 0.0056, burst: 20 });
    expect(USAGE_PLANS.getOrderV2026).toEqual({ rate: 0.5, burst: 30 });
  });

  it('an account may use v0 up to its removal day, not after; an unknown version is named', () => {
    expect(versionProblem('v0', '2027-03-27')).toBeUndefined();
    expect(versionProblem('v0', '2027-03-28')).toBe('Orders API v0 was removed by Amazon on 2027-03-27: choose 2026-01-01');
    expect(versionProblem('2026-01-01', '2040-01-01')).toBeUndefined();
    expect(versionProblem('2024-01-01', '2026-12-04')).toMatch(/unknown Orders API version "2024-01-01": use 2026-01-01 or v0/);
  });
});

describe('simulator: searchOrders', () => {
  it('pages with paginationToken, in order, every matching order once, items inline', async () => {
    const t = await token(sim);
    const seen: any[] = [];
    let res = await get(sim, `${PATH}?marketplaceIds=${ALL}&createdAfter=2025-01-01T00:00:00Z&maxResultsPerPage=7&includedData=PROCEEDS,FULFILLMENT`, t);
    expect(res.body.createdBefore).toBe(new Date(clock.t - 120_000).toISOString().replace('.000', ''));
    for (;;) {
      expect(res.status).toBe(200);
      expect(res.headers.get('x-amzn-ratelimit-limit')).toBe('0.0056');
      expect(res.body.orders.length).toBeLessThanOrEqual(7);
      seen.push(...res.body.orders);
      const next = res.body.pagination?.nextToken;
      if (!next) break;
      res = await get(
        sim,
        `${PATH}?marketplaceIds=${ALL}&createdAfter=2025-01-01T00:00:00Z&maxResultsPerPage=7&includedData=PROCEEDS,FULFILLMENT&paginationToken=${encodeURIComponent(next)}`,
        t,
      );
    }
    expect(seen.map((o) => o.orderId)).toEqual(sim.orderIds());
    for (const o of seen) expect(o.orderItems.length).toBeGreaterThan(0);
    const priced = seen.find((o) => o.fulfillment.fulfillmentStatus === 'UNSHIPPED');
    expect(priced.proceeds.grandTotal).toEqual({ amount: expect.stringMatching(/^\d+\.\d\d$|^\d+$/), currencyCode: expect.any(String) });
    const pending = seen.filter((o) => o.fulfillment.fulfillmentStatus === 'PENDING');
    expect(pending.length).toBe(6);
    for (const o of pending) {
      expect(o.proceeds).toBeUndefined();
      for (const it of o.orderItems) expect(it.proceeds).toBeUndefined();
    }
  });

  it('returns money, status and payment only when includedData asks for them', async () => {
    const t = await token(sim);
    const bare = await get(sim, `${PATH}?marketplaceIds=${ALL}&createdAfter=2025-01-01T00:00:00Z&maxResultsPerPage=3`, t);
    for (const o of bare.body.orders) {
      expect(o.proceeds).toBeUndefined();
      expect(o.fulfillment).toBeUndefined();
      expect(o.payment).toBeUndefined();
      expect(o.orderItems[0].product.sellerSku).toEqual(expect.any(String));
    }
    const id = sim.orderIds()[0];
    const one = await get(sim, `${PATH}/${id}?includedData=PROCEEDS,PAYMENT`, t);
    expect(one.status).toBe(200);
    expect(one.headers.get('x-amzn-ratelimit-limit')).toBe('0.5');
    expect(one.body.order.orderId).toBe(id);
    expect(one.body.order.proceeds.grandTotal).toBeDefined();
    expect(one.body.order.payment.paymentExecutions[0].paymentMethod).toBe('Other');
    expect(one.body.order.fulfillment).toBeUndefined();
    expect((await get(sim, `${PATH}/999-0000000-0000000`, t)).status).toBe(404);
  });

  it('filters by fulfillmentStatuses and lastUpdatedAfter; a Pending order priced later shows up again with its money', async () => {
    const t = await token(sim);
    const res = await get(
      sim,
      `${PATH}?marketplaceIds=${ALL}&lastUpdatedAfter=2025-01-01T00:00:00Z&fulfillmentStatuses=PENDING&includedData=FULFILLMENT,PROCEEDS`,
      t,
    );
    expect(res.body.orders.length).toBe(6);
    expect(res.body.lastUpdatedBefore).toBeDefined();
    for (const o of res.body.orders) expect(o.fulfillment.fulfillmentStatus).toBe('PENDING');
    const released = sim.releasePending(res.body.orders[0].orderId);
    clock.advance(180_000);
    const later = await get(
      sim,
      `${PATH}?marketplaceIds=${ALL}&lastUpdatedAfter=${new Date(clock.t - 300_000).toISOString()}&includedData=FULFILLMENT,PROCEEDS`,
      t,
    );
    expect(later.body.orders.map((o: any) => o.orderId)).toEqual(released);
    expect(later.body.orders[0]).toMatchObject({ fulfillment: { fulfillmentStatus: 'UNSHIPPED' }, proceeds: { grandTotal: expect.any(Object) } });
  });

  it('validates its parameters with 400 InvalidInput', async () => {
    const t = await token(sim);
    const cases = [
      `marketplaceIds=${ALL}`,
      `marketplaceIds=${ALL}&createdAfter=2025-01-01T00:00:00Z&lastUpdatedAfter=2025-01-01T00:00:00Z`,
      `createdAfter=2025-01-01T00:00:00Z&maxResultsPerPage=101`,
      `createdAfter=2025-01-01T00:00:00Z&fulfillmentStatuses=Unshipped`,
      `createdAfter=2025-01-01T00:00:00Z&includedData=EVERYTHING`,
      `createdAfter=2025-01-01T00:00:00Z&marketplaceIds=XXNOTAMARKET`,
      `paginationToken=garbage`,
    ];
    for (const c of cases) {
      const res = await get(sim, `${PATH}?${c}`, t);
      expect([c, res.status]).toEqual([c, 400]);
      expect(res.body).toEqual({ errors: [{ code: 'InvalidInput', message: expect.any(String), details: '' }] });
    }
  });

  it('its own buckets: searchOrders burst 20 then 429 QuotaExceeded (no Retry-After), separate from v0 getOrders', async () => {
    const t = await token(sim);
    const q = `${PATH}?createdAfter=2025-01-01T00:00:00Z&maxResultsPerPage=1`;
    for (let i = 0; i < 20; i++) expect((await get(sim, q, t)).status).toBe(200);
    const throttled = await get(sim, q, t);
    expect(throttled.status).toBe(429);
    expect(throttled.body).toEqual(QUOTA_EXCEEDED);
    expect(throttled.headers.get('retry-after')).toBeNull();
    expect((await get(sim, `/orders/v0/orders?MarketplaceIds=${ALL}&CreatedAfter=2025-01-01T00:00:00Z&MaxResultsPerPage=1`, t)).status).toBe(200);
    expect(sim.stats.searchOrders).toEqual({ requests: 21, ok: 20, throttled: 1 });
    expect(sim.plan('searchOrders')).toEqual(USAGE_PLANS.searchOrders);
    expect(sim.plan('getOrderV2026')).toEqual(USAGE_PLANS.getOrderV2026);
  });
});

describe('mapping 2026-01-01 → canonical Order', () => {
  it('the same simulated order via v0 and via 2026-01-01 gives the identical canonical Order (money to the minor unit)', () => {
    const big = new AmazonSimulator({ orders: 2000, seed: 5 });
    let compared = 0;
    const currencies = new Set<string>();
    for (const id of big.orderIds()) {
      const v0 = big.order(id)!;
      if (v0.OrderStatus === 'Pending') continue;
      const viaV0 = toCanonicalOrder(v0, big.items(id), { account: big.sellerId });
      const viaV2026 = toCanonicalOrderV2026(big.order2026(id)!, { account: big.sellerId });
      expect(viaV2026).toEqual(viaV0);
      expect(validateDocument('order', viaV2026).valid).toBe(true);
      expect(payable(viaV2026)).toBe(toMinor(v0.OrderTotal.Amount, v0.OrderTotal.CurrencyCode));
      currencies.add(viaV2026.currency);
      compared++;
    }
    expect(compared).toBeGreaterThan(1800);
    expect([...currencies].sort()).toEqual(['EUR', 'GBP', 'JPY', 'USD']);
  });

  it('Pending, a total that does not add up, a positive DISCOUNT, unmapped proceeds and a foreign currency are MappingErrors naming the problem', () => {
    const ids = sim.orderIds();
    const pending = ids.find((x) => sim.order(x)!.OrderStatus === 'Pending')!;
    expect(() => toCanonicalOrderV2026(sim.order2026(pending)!, { account: 'x' })).toThrow(/Pending and has no prices/);
    const id = ids.find((x) => sim.order(x)!.OrderStatus === 'Unshipped' && sim.order(x)!.MarketplaceId === 'ATVPDKIKX0DER')!;
    const good = sim.order2026(id)!;
    const cur = good.proceeds.grandTotal.currencyCode;
    const off = structuredClone(good);
    off.proceeds.grandTotal.amount = (Number(off.proceeds.grandTotal.amount) + 0.01).toFixed(2);
    expect(() => toCanonicalOrderV2026(off, { account: 'x' })).toThrow(MappingError);
    const positive = structuredClone(good);
    positive.orderItems[0].proceeds.breakdowns.push({ type: 'DISCOUNT', subtotal: { amount: '1.00', currencyCode: cur } });
    expect(() => toV0(positive)).toThrow(/DISCOUNT 1.00 is positive/);
    const wrap = structuredClone(good);
    wrap.orderItems[0].proceeds.breakdowns.push({ type: 'GIFT_WRAP', subtotal: { amount: '2.00', currencyCode: cur } });
    expect(() => toV0(wrap)).toThrow(/GIFT_WRAP are not mapped/);
    const foreign = structuredClone(good);
    foreign.orderItems[0].proceeds.breakdowns[0].subtotal.currencyCode = 'CAD';
    expect(() => toV0(foreign)).toThrow(/currency CAD differs/);
    const floaty = structuredClone(good);
    floaty.orderItems[0].proceeds.breakdowns[0].subtotal.amount = 12.5;
    expect(() => toV0(floaty)).toThrow(/decimal text/);
  });
});

describe('poll step on 2026-01-01', () => {
  it("an order state's event id is v0's for the same state; malformed orders get distinct content ids, not one shared id", () => {
    const id = sim.orderIds()[0];
    const v0 = sim.order(id)!;
    expect(eventIdForV2026(sim.order2026(id)!)).toBe(`order:${v0.AmazonOrderId}:${v0.LastUpdateDate}`);
    const a = eventIdForV2026({ orderItems: [{ orderItemId: '1' }] });
    const b = eventIdForV2026({ orderItems: [{ orderItemId: '2' }] });
    expect(a).toMatch(/^malformed:[0-9a-f]{64}$/);
    expect(b).not.toBe(a);
    expect(() => toCanonicalOrderV2026({ orderItems: [] }, { account: 'x' })).toThrow(/orderId is missing/);
  });

  it('each priced order once, Pending held until priced, cursor advances to lastUpdatedBefore; overlap re-reads deliver nothing twice', async () => {
    const store = createStore({ backend: 'memory' });
    await store.open();
    try {
      const delivered = new Map<string, PolledOrder>();
      const accept = async (eventId: string, polled: PolledOrder) => {
        const duplicate = delivered.has(eventId);
        delivered.set(eventId, polled);
        return { duplicate };
      };
      const client = clientFor(sim);
      const opts = {
        client,
        store,
        cursorKey: 'c',
        marketplaceIds: MARKETPLACES.map((m) => m.id),
        accept,
        overlapMs: 300_000,
        startAt: () => '2025-01-01T00:00:00Z',
        pageSize: 25,
      };
      const first = await pollOnce(opts);
      const all = sim.orderIds();
      const pending = all.filter((x) => sim.order(x)!.OrderStatus === 'Pending');
      expect(first.orders).toBe(120);
      expect(first.pages).toBe(5);
      expect(first.accepted).toBe(120 - pending.length);
      expect(first.held.sort()).toEqual(pending.sort());
      expect(first.cursor).toBe(new Date(clock.t - 120_000).toISOString().replace('.000', ''));
      expect(await store.kvGet('c')).toEqual({ lastUpdatedBefore: first.cursor });
      for (const x of all.filter((i) => !pending.includes(i))) {
        const o = sim.order(x)!;
        const polled = delivered.get(`order:${x}:${o.LastUpdateDate}`)!;
        expect(polled.apiVersion).toBe('2026-01-01');
        expect(toCanonicalOrderV2026(polled.order, { account: sim.sellerId })).toEqual(toCanonicalOrder(o, sim.items(x), { account: sim.sellerId }));
      }
      expect(sim.stats.getOrderItems).toBeUndefined(); // items come inline

      const released = sim.releasePending();
      clock.advance(180_000);
      const second = await pollOnce(opts);
      expect(second.accepted).toBe(released.length);
      expect(second.held).toEqual([]);
      expect(second.from).toBe(new Date(Date.parse(first.cursor) - 300_000).toISOString());
      expect(Date.parse(second.cursor)).toBeGreaterThan(Date.parse(first.cursor));
      const third = await pollOnce(opts);
      expect(third.accepted).toBe(0);
      expect(delivered.size).toBe(120);
    } finally {
      await store.close();
    }
  });
});
