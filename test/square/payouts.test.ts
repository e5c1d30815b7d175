/**
 * The Square client's Payouts calls against the simulator: payouts and entries built from the
 * simulator's own card sales and refunds, read page by page; each settlement adds up to its payout
 * and names the orders behind it; the poll step hands each payout on once per final state.
 */
import { createStore } from '../../nodes/runtime/create-store';
import type { Store } from '../../nodes/runtime/store';
import { pollPayouts, readPayoutSettlement } from '../../nodes/square/payouts';
import type { PayoutMappingError } from '../../nodes/square/payout-map';
import type { Settlement } from '../../nodes/model/types.generated';
import type { SqPayout } from '../../nodes/square/types';
import { SquareSimulator } from '../../simulators/square/simulator';
import { streamOf } from '../../nodes/model/settlement-stream';
import { tallySettlement } from '../../nodes/ledger/settlement-tally';
import { reconcileSettlement } from '../../nodes/ledger/settlement-reconcile';
import { api, clientFor, startSim } from './support';

let sim: SquareSimulator;
let store: Store | undefined;
afterEach(async () => {
  await sim?.stop();
  await store?.close();
  store = undefined;
});

const sum = (s: Settlement) => s.lines.reduce((t, l) => t + l.amount.amount, 0);

/** Card payments the simulator took at a location: payment id → order id. */
function cardPayments(location: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const o of sim.orders.values())
    if (o.location_id === location) for (const t of o.tenders ?? []) if (t.type === 'CARD' && t.payment_id) out.set(t.payment_id, o.id);
  return out;
}

describe('Square payouts: client against the simulator', () => {
  it('reads payouts and entries page by page; each settlement adds up to its payout and names the order behind each payment', async () => {
    sim = await startSim();
    for (let i = 0; i < 24; i++) sim.randomSale('L-LDN');
    const [first] = sim.createPayouts({ locationId: 'L-LDN', status: 'PAID' });
    for (let i = 0; i < 9; i++) sim.randomSale('L-LDN');
    sim.createPayouts({ locationId: 'L-LDN', status: 'PAID', reserveHold: 1500 });
    for (let i = 0; i < 5; i++) sim.randomSale('L-LDN');
    sim.createPayouts({ locationId: 'L-LDN', status: 'FAILED' });
    const client = clientFor(sim);

    const listed: SqPayout[] = [];
    for await (const p of client.listPayouts({ location_id: 'L-LDN', sort_order: 'ASC', limit: 2 })) listed.push(p);
    expect(listed.map((p) => p.status)).toEqual(['PAID', 'PAID', 'FAILED']);
    expect(listed[0].id).toBe(first.id);

    const payments = cardPayments('L-LDN');
    expect(payments.size).toBeGreaterThan(10);
    const charged = new Map<string, string>();
    for (const p of listed) {
      const entries = [];
      for await (const e of client.listPayoutEntries(p.id, 3)) entries.push(e);
      expect(entries.length).toBe(sim.payoutBook.entries.get(p.id)!.length);
      const s = await readPayoutSettlement(client, p);
      expect(sum(s)).toBe(p.amount_money!.amount);
      expect(s.statedTotal).toEqual({ amount: p.amount_money!.amount, currency: 'GBP' });
      expect(s.depositDate).toBe(p.arrival_date);
      for (const l of s.lines.filter((x) => x.type === 'principal')) charged.set(l.attributes!.paymentId!, l.orderRef!.channel!.id);
    }
    // Every card payment was paid out exactly once, each linked to the order it paid.
    expect(charged).toEqual(payments);
    const [, held, failed] = await Promise.all(listed.map((p) => readPayoutSettlement(client, p)));
    expect(held.lines.filter((l) => l.type === 'reserve')).toEqual([expect.objectContaining({ category: 'held', amount: { amount: -1500, currency: 'GBP' } })]);
    expect(failed.status).toBe('failed');
  });

  it('a refund is paid out with Square’s fee given back, in JPY', async () => {
    sim = await startSim();
    let sale = sim.randomSale('L-TYO');
    while (!sale.tenders!.some((t) => t.type === 'CARD')) sale = sim.randomSale('L-TYO');
    sim.createPayouts({ locationId: 'L-TYO', status: 'PAID' });
    const { refund } = sim.returnItems(sale.id, [{ lineUid: sale.line_items![0].uid!, quantity: '1' }]);
    for (let i = 0; i < 6; i++) sim.randomSale('L-TYO');
    const [second] = sim.createPayouts({ locationId: 'L-TYO', status: 'PAID' });
    const s = await readPayoutSettlement(clientFor(sim), second);
    expect(s.currency).toBe('JPY');
    expect(sum(s)).toBe(second.amount_money!.amount);
    const refundLines = s.lines.filter((l) => l.source?.id === sim.payoutBook.entries.get(second.id)!.find((e) => e.type === 'REFUND')!.id);
    expect(refundLines.map((l) => [l.type, l.amount.amount])).toEqual([
      ['refund', -refund.amount_money.amount],
      ['fee', Math.round((refund.amount_money.amount * 25) / 1000)],
    ]);
    expect(refundLines[0].orderRef!.channel!.id).toBe(sale.id);
  });

  it('a simulator payout reconciles against the orders the same simulator served (the demo adds up for real)', async () => {
    sim = await startSim();
    for (let i = 0; i < 20; i++) sim.randomSale('L-LDN');
    const [payout] = sim.createPayouts({ status: 'PAID', reserveHold: 500 });
    const s = await readPayoutSettlement(clientFor(sim), payout);
    // The tally asks by the channel's own order id (orderRef.channel.id), as the order index keys orders.
    const known = new Map([...sim.orders.values()].map((o) => [o.id, o.total_money]));
    const asked: string[] = [];
    const matcher = {
      async match(ids: readonly string[]) {
        asked.push(...ids);
        return {
          tillwire: ids.filter((id) => known.has(id)).map((orderId) => ({ orderId, gross: known.get(orderId)! })),
          erp: ids.filter((id) => known.has(id)),
        };
      },
    };
    const rec = await reconcileSettlement(await tallySettlement(streamOf(s)), { matcher });
    expect(rec.variances).toEqual([]);
    expect(rec).toMatchObject({ status: 'consistent', postable: true, variance: 0n, payout: { kind: 'deposit', amount: BigInt(payout.amount_money!.amount) } });
    expect(rec.reserves.held).toBe(500n);
    expect(rec.orders).toMatchObject({ notInTillwire: [], notInErp: [], grossDifferences: [] });
    expect(new Set(asked)).toEqual(new Set(cardPayments('L-LDN').values()));
  });

  it('the simulator refuses a cursor used with another query, a page over 100 and an unknown payout', async () => {
    sim = await startSim();
    for (let i = 0; i < 12; i++) sim.randomSale();
    sim.createPayouts();
    const page = await api(sim, 'GET', '/v2/payouts?location_id=L-LDN&limit=1&sort_order=ASC');
    const other = await api(sim, 'GET', `/v2/payouts?location_id=L-NYC&limit=1&sort_order=ASC&cursor=${page.body.cursor ?? 'x'}`);
    expect(other.status).toBe(400);
    expect(other.body.errors[0]).toMatchObject({ code: 'INVALID_CURSOR', field: 'cursor' });
    expect((await api(sim, 'GET', '/v2/payouts?limit=101')).body.errors[0]).toMatchObject({ code: 'INVALID_VALUE', field: 'limit' });
    expect((await api(sim, 'GET', '/v2/payouts/po_nope')).status).toBe(404);
  });

  it('the simulator pays out on request (the demo’s handle), a FAILED payout included, and nothing twice', async () => {
    sim = await startSim();
    for (let i = 0; i < 6; i++) sim.randomSale('L-NYC');
    const res = await fetch(`${sim.url}/__simulator/payouts`, { method: 'POST', body: JSON.stringify({ status: 'FAILED', dispute: true }) });
    const { payouts } = (await res.json()) as { payouts: SqPayout[] };
    expect(payouts.map((p) => [p.location_id, p.status])).toEqual([['L-NYC', 'FAILED']]);
    const s = await readPayoutSettlement(clientFor(sim), payouts[0]);
    expect(s.status).toBe('failed');
    expect(s.lines.filter((l) => l.type === 'adjustment').map((l) => l.category)).toEqual(['chargeback']);
    expect(sum(s)).toBe(payouts[0].amount_money!.amount);
    expect(sim.createPayouts()).toEqual([]);
  });

  it('polls: nothing while payouts are SENT, each once when PAID or FAILED, again only on a later change, never twice across instances', async () => {
    sim = await startSim();
    for (let i = 0; i < 30; i++) sim.randomSale(['L-LDN', 'L-NYC', 'L-TYO'][i % 3]);
    const payouts = sim.createPayouts();
    expect(payouts.map((p) => p.status)).toEqual(['SENT', 'SENT', 'SENT']);
    store = createStore({ backend: 'memory' });
    await store.open();
    const client = clientFor(sim);
    const got: Settlement[] = [];
    const refused: PayoutMappingError[] = [];
    const sinks = { settlement: (s: Settlement) => void got.push(s), refused: (e: PayoutMappingError) => void refused.push(e) };
    const opts = { cursorKey: 'square:payouts:test', locationIds: ['L-LDN', 'L-NYC', 'L-TYO'], lookbackMs: 86_400_000 };

    const r1 = await pollPayouts(client, store, opts, sinks);
    expect(r1).toMatchObject({ listed: 3, emitted: 0, inTransit: 3 });
    sim.settlePayout(payouts[0].id, 'PAID');
    sim.settlePayout(payouts[1].id, 'FAILED');
    const r2 = await pollPayouts(client, store, opts, sinks);
    expect(r2).toMatchObject({ emitted: 2, inTransit: 1 });
    expect(got.map((s) => [s.settlementId, s.status])).toEqual([
      [payouts[0].id, 'paid'],
      [payouts[1].id, 'failed'],
    ]);
    // A second instance on the same store, and a repeated poll, hand on nothing new.
    await pollPayouts(clientFor(sim), store, { ...opts }, sinks);
    expect(got.length).toBe(2);
    sim.settlePayout(payouts[2].id, 'PAID');
    await pollPayouts(client, store, opts, sinks);
    expect(got.map((s) => s.settlementId)).toEqual(payouts.map((p) => p.id));
    for (const s of got) expect(sum(s)).toBe(s.statedTotal!.amount);
    // The bank sends a paid payout back: that later state is handed on once more, issued later.
    sim.settlePayout(payouts[0].id, 'FAILED');
    await pollPayouts(client, store, opts, sinks);
    await pollPayouts(client, store, opts, sinks);
    expect(got.length).toBe(4);
    expect(got[3]).toMatchObject({ settlementId: payouts[0].id, status: 'failed' });
    expect(Date.parse(got[3].issuedAt!)).toBeGreaterThan(Date.parse(got[0].issuedAt!));
    expect(refused).toEqual([]);
    expect(await store.kvGet('square:payouts:test')).toEqual({
      since: payouts
        .map((p) => p.created_at)
        .sort()
        .at(-1),
    });
  });

  it('a close while a payout is being read hands nothing on and gives its claim back: the next poll hands it on once', async () => {
    sim = await startSim();
    for (let i = 0; i < 6; i++) sim.randomSale('L-LDN');
    const [payout] = sim.createPayouts();
    sim.settlePayout(payout.id, 'PAID');
    store = createStore({ backend: 'memory' });
    await store.open();
    const client = clientFor(sim);
    const closing = new AbortController();
    // The node closes while the payout's entries are on the wire.
    const closedMidRead = Object.create(client, {
      listPayoutEntries: {
        value: (id: string) => {
          closing.abort();
          return client.listPayoutEntries(id);
        },
      },
    });
    const got: Settlement[] = [];
    const sinks = { settlement: (s: Settlement) => void got.push(s), refused: () => undefined };
    const opts = { cursorKey: 'square:payouts:closing', locationIds: ['L-LDN'], lookbackMs: 86_400_000 };
    await pollPayouts(closedMidRead, store, { ...opts, signal: closing.signal }, sinks);
    expect(got).toEqual([]);
    await pollPayouts(client, store, opts, sinks);
    await pollPayouts(client, store, opts, sinks);
    expect(got.map((s) => s.settlementId)).toEqual([payout.id]);
  });
});
