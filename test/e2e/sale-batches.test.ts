/**
 * Till sales written to Odoo in batches, end to end on real parts (Mosquitto, a Node-RED process
 * running the "Store sales (MQTT) → Odoo" template, the Odoo simulator): a burst with duplicates
 * and one sale of a SKU Odoo does not know goes through in batches; every good sale is one Odoo
 * order at its sale's own time, the bad one alone lands in the dead-letter store, naming its SKU;
 * replayed once the SKU exists (and replayed again), it is written once.
 */
import { planSimulation, publishPlan } from '../../simulators/pos-mqtt/device-simulator';
import { e2eFlows, getJson, odooRefs, startRed, startServices, waitFor, E2E } from './harness';
import { odooDatetime } from '../../nodes/odoo/map';

jest.setTimeout(10 * 60_000);

const BAD_SKU = 'NO-SUCH-SKU-7731';

describe('till sales into Odoo in batches (real runtime)', () => {
  let e: E2E;
  afterEach(async () => {
    await e?.red?.stop();
    await e?.odoo.stop();
    await e?.broker.stop();
  });

  it('a burst with duplicates and one unknown SKU: each good sale one order, the bad one alone in the dead-letter store naming the SKU', async () => {
    e = await startServices();
    await startRed(e, e2eFlows());
    const plan = planSimulation({
      brokerUrl: e.broker.url,
      brand: 'batch',
      stores: 10,
      tills: 2,
      count: 1500,
      duplicateRate: 0.05,
      malformedRate: 0,
      seed: 'sale-batches',
      close: false,
    });
    const { manifest } = plan;
    // One sale (with no duplicate copy) sells a SKU Odoo does not have.
    const duplicated = new Set(manifest.duplicates.map((d) => d.key));
    const bad = manifest.valid.find((t, i) => i > 200 && t.type === 'sale' && !duplicated.has(t.key))!;
    const action = plan.actions.find((a) => a.type === 'publish' && a.topic === bad.topic && JSON.parse(a.payload.toString()).saleId === bad.saleId);
    if (!action || action.type !== 'publish') throw new Error('the bad sale was not planned');
    const doc = JSON.parse(action.payload.toString());
    doc.lines[0].sku = BAD_SKU;
    action.payload = Buffer.from(JSON.stringify(doc));
    expect(manifest.duplicates.length).toBeGreaterThan(20);

    await publishPlan(plan);
    const good = manifest.valid.filter((t) => t.key !== bad.key);
    const confirmed = () => e.odoo.records('sale.order', [['state', '=', 'sale']], ['id']).length;
    await waitFor(
      () => confirmed() >= good.length,
      5 * 60_000,
      () => `${confirmed()} of ${good.length} confirmed`,
    );
    await waitFor(
      async () => (await getJson(`${e.red!.url}/tillwire/dead-letters/count`)).count >= 1,
      60_000,
      () => 'the bad sale in the dead-letter store',
    );

    // Every good sale exactly once, nothing for the bad one.
    const refs = odooRefs(e.odoo);
    expect(refs.length).toBe(new Set(refs).size);
    expect(new Set(refs)).toEqual(new Set(good.map((t) => t.key)));
    expect(e.odoo.orders().every((o) => o.state === 'sale')).toBe(true);
    // The good sales' totals are Odoo's totals.
    const totals = new Map(e.odoo.orders().map((o) => [o.client_order_ref, Math.round(o.amount_total * 100)]));
    expect(good.filter((t) => totals.get(t.key) !== t.grandTotal)).toEqual([]);
    // Each order shows its own sale's time (in UTC), not the confirmation's.
    const dates = new Map(e.odoo.orders().map((o) => [o.client_order_ref, o.date_order]));
    expect(good.filter((t) => dates.get(t.key) !== odooDatetime(t.occurredAt))).toEqual([]);

    const dl = await getJson(`${e.red!.url}/tillwire/dead-letters?limit=100`);
    expect(dl.total).toBe(1);
    expect(dl.entries[0].error.message).toContain(BAD_SKU);
    expect(dl.entries[0].error.message).toMatch(/unknown SKU/);
    expect(JSON.stringify(dl.entries[0])).toContain(bad.saleId);

    // The burst really went in batches: far fewer creates than orders.
    const creates = e.odoo.state().stats.calls['sale.order.create'];
    expect(creates).toBeLessThan(good.length / 5);
    // … and the sale times went back in one load per batch, not one write per sale.
    const calls = e.odoo.state().stats.calls;
    expect(calls['sale.order.load']).toBeLessThan(good.length / 5);
    expect(calls['sale.order.write'] ?? 0).toBe(0);

    // The same key sent again after its rejection: the SKU is added in Odoo and the dead letter
    // replayed, twice. The sale is written once, beside the others, and nothing else changes.
    e.odoo.addProduct({ sku: BAD_SKU, listPrice: 1 });
    const replay = () =>
      fetch(`${e.red!.url}/tillwire/replay/ex-so-replay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: dl.entries[0].id }),
      });
    expect((await replay()).status).toBe(200);
    await waitFor(
      () => odooRefs(e.odoo).includes(bad.key),
      60_000,
      () => `${bad.key} not in Odoo after the replay`,
    );
    expect((await replay()).status).toBeLessThan(500);
    await waitFor(
      async () => (await getJson(`${e.red!.url}/tillwire/dead-letters/count?status=pending`)).count === 0,
      60_000,
      () => 'the replayed dead letter still open',
    );
    const after = odooRefs(e.odoo);
    expect(after.length).toBe(new Set(after).size);
    expect(new Set(after)).toEqual(new Set(manifest.valid.map((t) => t.key)));
    expect(e.odoo.orders().find((o) => o.client_order_ref === bad.key)?.state).toBe('sale');
  });
});
