/**
 * Payouts and balance transactions through the ShopifyClient against the simulator: every page
 * read by cursor and paced by the cost bucket; each payout reconciles with the orders it paid (a
 * charge is the order's total, the fee 2.9 % + 30 cents), the lines add up to the payout net, and
 * a reserve is held in one USD payout and released in a later one.
 */
import { ShopifySimulator } from '../../simulators/shopify/simulator';
import { chargeFee } from '../../simulators/shopify/payouts';
import { ShopifyClient } from '../../nodes/shopify/client';
import { payouts, payoutTransactions, payoutToSettlement } from '../../nodes/shopify/payouts';
import { validateDocument } from '../../nodes/model/validate';
import { toMinor } from '../../nodes/model/money';

const FAST = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5, timeoutMs: 5000 };
const HOUR = 3_600_000;

describe('Shopify Payments payouts through the client', () => {
  let sim: ShopifySimulator;
  let client: ShopifyClient;
  beforeAll(async () => {
    // 200 orders a minute apart, paid out hourly: four periods × six currencies.
    sim = new ShopifySimulator({ orders: 200, payoutPeriodMs: HOUR, maximumAvailable: 400, restoreRate: 200 });
    await sim.start();
    client = new ShopifyClient({ shop: sim.shop, apiVersion: '2026-10', accessToken: sim.accessToken, baseUrl: sim.url, policy: FAST });
  });
  afterAll(() => sim.stop());

  it('reads every payout page by page and every transaction page by page; the settlements reconcile with the orders', async () => {
    const before = sim.stats.graphql;
    const all = [];
    for await (const p of payouts(client, { status: 'paid', pageSize: 5 })) all.push(p);
    const expected = sim.payouts();
    expect(expected.length).toBeGreaterThan(10);
    expect(all.map((p) => p.legacyResourceId)).toEqual(expected.map((p) => p.legacyResourceId));
    expect(sim.stats.graphql - before).toBe(Math.ceil(expected.length / 5));

    const orders = new Map(sim.allOrders().map((o) => [o.admin_graphql_api_id, o]));
    const ordersSettled = new Set<string>();
    let reserveHeld = 0;
    let reserveReleased = 0;
    let refundedUsd = 0;
    for (const p of all) {
      const calls = sim.stats.graphql;
      const txs = await payoutTransactions(client, p.legacyResourceId, 7);
      expect(sim.stats.graphql - calls).toBe(Math.max(1, Math.ceil(txs.length / 7)));
      const s = payoutToSettlement(p, txs, { shop: sim.shop });
      expect(validateDocument('settlement', s)).toEqual({ valid: true, errors: [] });
      expect(s.netTotal).toEqual(s.statedTotal);
      for (const line of s.lines) {
        if (line.type === 'principal') {
          const order = orders.get(`gid://shopify/Order/${line.orderRef!.channel!.id}`)!;
          expect(line.amount.amount).toBe(toMinor(order.total_price, order.currency));
          const fee = s.lines.find((l) => l.lineId === `${line.lineId}-fee`)!;
          expect(fee.amount.amount).toBe(-chargeFee(line.amount.amount, order.currency));
          ordersSettled.add(order.admin_graphql_api_id);
        }
        if (line.type === 'refund' && s.currency === 'USD') refundedUsd += -line.amount.amount;
        if (line.type === 'reserve' && line.category === 'held') reserveHeld -= line.amount.amount;
        if (line.type === 'reserve' && line.category === 'released') reserveReleased += line.amount.amount;
      }
    }
    const paidOrders = sim.allOrders().filter((o) => !o.cancelled_at && o.financial_status !== 'pending');
    expect(ordersSettled.size).toBe(paidOrders.length);
    // Every refund the orders carry is paid back out of a payout (only USD here, where amounts add as cents).
    const usdRefunds = paidOrders
      .filter((o) => o.currency === 'USD')
      .flatMap((o) => o.refunds.flatMap((r: any) => r.transactions))
      .reduce((sum: number, t: any) => sum + toMinor(t.amount, 'USD'), 0);
    expect(usdRefunds).toBeGreaterThan(0);
    expect(refundedUsd).toBe(usdRefunds);
    expect(reserveHeld).toBeGreaterThan(0);
    expect(reserveReleased).toBe(reserveHeld);
    expect(all.some((p) => p.net.currencyCode === 'JPY')).toBe(true);
  });

  it('selects payouts issued since a time; the cost of each call is reported and charged', async () => {
    const expected = sim.payouts();
    const since = expected[expected.length - 6].issuedAt;
    const got = [];
    for await (const p of payouts(client, { issuedSince: since, status: 'paid' })) got.push(p.legacyResourceId);
    expect(got).toEqual(expected.filter((p) => p.issuedAt >= since).map((p) => p.legacyResourceId));
    const { cost } = await client.graphql('probe', `query { shopifyPaymentsAccount { payouts(first: 3) { nodes { id } } } }`);
    expect(cost).toMatchObject({ requestedQueryCost: 8, actualQueryCost: 8 });
  });
});
