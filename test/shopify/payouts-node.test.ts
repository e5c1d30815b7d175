/**
 * `tillwire-shopify-payouts` in Node-RED against the simulator: each paid payout once as a valid
 * canonical Settlement whose lines add up to what Shopify paid; a payout paid later is emitted when
 * it is; a redeploy on the same store emits nothing again; a payout that cannot be mapped goes to the
 * second output with a named error; a failed poll reaches Catch.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import storeNode from '../../nodes/core/store-config';
import configNode from '../../nodes/shopify/shopify-config';
import payoutsNode from '../../nodes/shopify/shopify-payouts';
import deadLetterNode from '../../nodes/core/dead-letter';
import { ShopifySimulator } from '../../simulators/shopify/simulator';
import { validateDocument } from '../../nodes/model/validate';
import { helper, collect, startServer, stopAll, until } from '../support/node-red';

jest.setTimeout(60_000);
const nodes = [storeNode, deadLetterNode, configNode, payoutsNode];
const HOUR = 3_600_000;
// Orders from three days ago (on the hour), a minute apart, paid out hourly and PAID a day after issue.
const T0 = Math.floor((Date.now() - 3 * 24 * HOUR) / HOUR) * HOUR;

let sim: ShopifySimulator;
let clock: number;
let dir: string;
beforeEach(async () => {
  clock = T0 + 26.5 * HOUR;
  sim = new ShopifySimulator({ orders: 200, baseTime: T0, payoutPeriodMs: HOUR, payoutTransitMs: 24 * HOUR, now: () => clock });
  await sim.start();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-shpp-'));
  await startServer();
});
afterEach(async () => {
  await stopAll();
  await sim.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function flow(token = sim.accessToken, statuses = 'paid') {
  return {
    flow: [
      { id: 'f1', type: 'tab', label: 'shopify payouts' },
      { id: 's1', type: 'tillwire-store', backend: 'sqlite', file: path.join(dir, 'tillwire.db') },
      { id: 'c1', type: 'tillwire-shopify-config', shop: sim.shop, apiVersion: '2026-10', baseUrl: sim.url, timeout: '5' },
      {
        id: 'n1',
        type: 'tillwire-shopify-payouts',
        z: 'f1',
        shopify: 'c1',
        store: 's1',
        interval: '0',
        lookback: '30',
        statuses,
        wires: [['out'], ['bad', 'dl']],
      },
      { id: 'dl', type: 'tillwire-dead-letter', z: 'f1', store: 's1', wires: [] },
      { id: 'out', type: 'helper', z: 'f1' },
      { id: 'bad', type: 'helper', z: 'f1' },
      { id: 'k1', type: 'catch', z: 'f1', scope: ['n1'], wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'f1' },
      { id: 'cp', type: 'complete', z: 'f1', scope: ['n1'], wires: [['finished']] },
      { id: 'finished', type: 'helper', z: 'f1' },
    ],
    credentials: { c1: { accessToken: token } },
  };
}

async function deploy(token?: string, statuses?: string) {
  const { flow: f, credentials } = flow(token, statuses);
  await helper.load(nodes, f, credentials);
  const got: any[] = [];
  const bad: any[] = [];
  helper.getNode('out').on('input', (msg: any) => got.push(msg));
  helper.getNode('bad').on('input', (msg: any) => bad.push(msg));
  return { got, bad };
}

async function poll() {
  const done = collect(helper.getNode('finished'), 1);
  helper.getNode('n1').receive({ payload: 'poll' });
  await done;
}

describe('tillwire-shopify-payouts', () => {
  it('emits each paid payout once as a settlement whose lines add up to the payout, across polls and a redeploy', async () => {
    let { got, bad } = await deploy();
    const paidNow = sim.payouts().filter((p) => p.status === 'PAID');
    expect(paidNow.length).toBe(12); // the first two hours' payouts, six currencies
    await poll();
    expect(bad).toEqual([]);
    expect(got.map((m) => m.payload.settlementId).sort()).toEqual(paidNow.map((p) => p.legacyResourceId).sort());
    for (const msg of got) {
      const s = msg.payload;
      expect(validateDocument('settlement', s)).toEqual({ valid: true, errors: [] });
      const sum = s.lines.reduce((total: number, l: any) => total + l.amount.amount, 0);
      expect(sum).toBe(s.statedTotal.amount);
      expect(s.netTotal).toEqual(s.statedTotal);
      expect(s.status).toBe('paid');
      expect(msg.topic).toBe(`settlement/shopify/${s.settlementId}`);
      expect(msg.tillwire).toMatchObject({ idempotencyKey: `settlement:shopify:${s.settlementId}`, source: { system: 'shopify' }, occurredAt: s.issuedAt });
    }
    expect(got.some((m) => m.payload.lines.some((l: any) => l.type === 'reserve' && l.category === 'held'))).toBe(true);

    // Polled again: nothing new.
    await poll();
    expect(got.length).toBe(paidNow.length);

    // A day later the scheduled payouts are paid: exactly those are emitted.
    clock = T0 + 30 * HOUR;
    await poll();
    const all = sim.payouts();
    expect(all.every((p) => p.status === 'PAID')).toBe(true);
    expect(got.map((m) => m.payload.settlementId).sort()).toEqual(all.map((p) => p.legacyResourceId).sort());
    expect(got.some((m) => m.payload.lines.some((l: any) => l.type === 'reserve' && l.category === 'released'))).toBe(true);

    // Redeployed on the same store: the payouts emitted before are not emitted again.
    await helper.unload();
    ({ got, bad } = await deploy());
    await poll();
    expect(got).toEqual([]);
    expect(bad).toEqual([]);
  });

  it('a payout with a transaction type Tillwire does not map goes to the second output, and is read again on the next poll', async () => {
    const { got, bad } = await deploy();
    const [first] = sim.payouts();
    const original = sim.payouts.bind(sim);
    // The shop starts reporting a transaction type this version does not know, in the first payout.
    sim.payouts = () =>
      original().map((p) =>
        p.legacyResourceId === first.legacyResourceId
          ? { ...p, transactions: p.transactions.map((t, i) => (i === 0 ? { ...t, type: 'LENDING_CREDIT' } : t)) }
          : p,
      );
    await poll();
    expect(got.length).toBe(11);
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({
      topic: `settlement/shopify/${first.legacyResourceId}/problem`,
      payload: { payoutId: first.legacyResourceId, reason: expect.stringMatching(/LENDING_CREDIT is not one Tillwire maps/) },
      error: { name: 'PayoutMappingError', code: 'unknown-type' },
    });
    const store = await (helper.getNode('s1') as any).manager.acquire();
    await until(async () => (await store.listDeadLetters({})).length === 1);
    const [entry] = await store.listDeadLetters({});
    expect(entry.error).toMatchObject({ code: 'unknown-type', message: expect.stringMatching(/^payout \d+: balance transaction type LENDING_CREDIT/) });
    expect(entry.message.payload).toMatchObject({ payoutId: first.legacyResourceId });
    // Once the shop's answer is one Tillwire maps again, the held payout is emitted (once).
    sim.payouts = original;
    await poll();
    expect(got.length).toBe(12);
    expect(got[11].payload.settlementId).toBe(first.legacyResourceId);
    await poll();
    expect(got.length).toBe(12);
  });

  it('with every status, a scheduled payout is emitted as scheduled and again once paid', async () => {
    const { got } = await deploy(undefined, 'all');
    const issued = sim.payouts();
    const scheduledNow = issued.filter((p) => p.status === 'SCHEDULED').map((p) => p.legacyResourceId);
    expect(scheduledNow.length).toBeGreaterThan(0);
    await poll();
    expect(got.map((m) => `${m.payload.settlementId}:${m.payload.status}`).sort()).toEqual(
      issued.map((p) => `${p.legacyResourceId}:${p.status === 'PAID' ? 'paid' : 'scheduled'}`).sort(),
    );
    await poll();
    expect(got.length).toBe(issued.length);
    clock = T0 + 30 * HOUR;
    await poll();
    const later = got.slice(issued.length);
    expect(later.every((m) => m.payload.status === 'paid')).toBe(true);
    expect(later.map((m) => m.payload.settlementId).sort()).toEqual([...scheduledNow].sort());
    // A withdrawal (a period with only refunds) is a negative settlement.
    expect(got.some((m) => m.payload.statedTotal.amount < 0 && m.payload.attributes.transactionType === 'WITHDRAWAL')).toBe(true);
  });

  it('a poll with a revoked token reaches Catch and shows a red ring', async () => {
    await deploy('shpat_revoked');
    const caught = collect(helper.getNode('caught'), 1);
    helper.getNode('n1').receive({ payload: 'poll' });
    const [msg] = await caught;
    expect(msg.error.message).toMatch(/Invalid API key or access token/);
    const n1 = helper.getNode('n1') as any;
    const statuses = n1.status
      .getCalls()
      .filter((c: any) => c.thisValue === n1)
      .map((c: any) => c.args[0]);
    expect(statuses.at(-1)).toMatchObject({ fill: 'red', shape: 'ring', text: expect.stringMatching(/^shopify shopifyPaymentsAccount.payouts/) });
  });
});
