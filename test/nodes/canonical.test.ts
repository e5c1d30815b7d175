import fs from 'node:fs';
import path from 'node:path';
import storeNode from '../../nodes/core/store-config';
import canonicalNode from '../../nodes/core/canonical';
import { helper, startServer, stopAll, collect, until } from '../support/node-red';

const nodes = [storeNode, canonicalNode];
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/canonical', name), 'utf8'));

function flow(canonical: Record<string, unknown>) {
  return [
    { id: 'f1', type: 'tab' },
    { id: 's1', type: 'tillwire-store', backend: 'memory' },
    { id: 'c1', type: 'tillwire-canonical', z: 'f1', name: 'validate', wires: [['ok'], ['bad']], ...canonical },
    { id: 'ok', type: 'helper', z: 'f1' },
    { id: 'bad', type: 'helper', z: 'f1' },
  ];
}

beforeEach(startServer);
afterEach(stopAll);

describe('tillwire-canonical', () => {
  it('passes a valid order on output 1 with the envelope completed', async () => {
    await helper.load(nodes, flow({ docType: 'order', system: 'shopify', eventTopic: 'order.accepted' }));
    const ok = collect(helper.getNode('ok'), 1);
    const order = fixture('order.json');
    helper.getNode('c1').receive({ payload: order });
    const [msg] = await ok;
    expect(msg.payload).toEqual(order);
    expect(msg.topic).toBe('order.accepted');
    expect(msg.tillwire).toMatchObject({
      schemaVersion: 1,
      idempotencyKey: `order:${order.channel.system}:${order.channel.account ?? '-'}:${order.channel.id}`,
      source: { system: 'shopify' },
      attempts: 0,
    });
  });

  it('sends invalid documents to output 2 with every problem in words, and keeps the good ones flowing', async () => {
    await helper.load(nodes, flow({ docType: 'sale' }));
    const c1 = helper.getNode('c1');
    const bad = collect(helper.getNode('bad'), 4);
    const ok = collect(helper.getNode('ok'), 1);
    const broken = fixture('sale.json');
    broken.lines[0].quantity = 0;
    broken.lines[0].unitPrice.amount = 1.5;
    const unknownCurrency = { ...fixture('sale.json'), currency: 'ABC' };
    c1.receive({ payload: broken });
    c1.receive({ payload: 'not a sale' });
    c1.receive({ payload: fixture('sale.json') });
    c1.receive({ payload: unknownCurrency });
    c1.receive({ payload: { kind: 'sale' } });
    const rejected = await bad;
    expect(rejected[0].validationErrors).toEqual(
      expect.arrayContaining(['lines[0].quantity has a value that is not allowed', 'lines[0].unitPrice.amount must be a whole number']),
    );
    expect(rejected[0].error.message).toMatch(/^sale failed validation: /);
    expect(rejected[0].error.source).toEqual({ id: 'c1', type: 'tillwire-canonical', name: 'validate' });
    expect(rejected[0].payload).toEqual(broken); // the original payload is kept, untouched
    expect(rejected[1].validationErrors).toEqual(['payload must be a sale object, got string']);
    expect(rejected[2].validationErrors).toContain("currency 'ABC' is not a known ISO 4217 currency");
    expect(rejected[3].validationErrors).toEqual(expect.arrayContaining(['saleId is required', 'storeId is required']));
    expect((await ok)[0].payload.saleId).toBe(fixture('sale.json').saleId);
  });

  it('maps a channel payload with JSONata and converts money exactly with $minor', async () => {
    const mapping = `{
      "kind": "inventory.adjustment",
      "adjustmentId": payload.id,
      "sku": payload.sku,
      "locationId": payload.store,
      "delta": payload.qty,
      "reason": "count",
      "occurredAt": payload.at,
      "attributes": { "costMinor": $string($minor(payload.cost, "KWD")) }
    }`;
    await helper.load(nodes, flow({ docType: 'inventory-adjustment', mapping, system: 'wms' }));
    const c1 = helper.getNode('c1');
    const ok = collect(helper.getNode('ok'), 1);
    const bad = collect(helper.getNode('bad'), 1);
    c1.receive({ payload: { id: 'A1', sku: 'SKU-1', store: 'S1', qty: -2, at: '2026-11-01T10:00:00Z', cost: '1.250' } });
    c1.receive({ payload: { id: 'A2', sku: 'SKU-1', store: 'S1', qty: -2, at: '2026-11-01T10:00:00Z', cost: '1.2505' } });
    const [good] = await ok;
    expect(good.payload).toMatchObject({ kind: 'inventory.adjustment', adjustmentId: 'A1', delta: -2, attributes: { costMinor: '1250' } });
    expect(good.tillwire.idempotencyKey).toBe('inventory.adjustment:A1');
    const [rejected] = await bad;
    expect(rejected.validationErrors[0]).toContain('1.2505 has 4 decimals but KWD allows 3');
    expect(rejected.error.message).toMatch(/^inventory-adjustment mapping failed/);
  });

  it('$minor reads decimal-comma amounts ("95,00", as EU settlement files write them) when asked with ","; a point is then refused', async () => {
    const mapping = `{
      "kind": "inventory.adjustment",
      "adjustmentId": payload.id,
      "sku": "SKU-1",
      "locationId": "S1",
      "delta": -1,
      "reason": "count",
      "occurredAt": "2026-11-01T10:00:00Z",
      "attributes": { "costMinor": $string($minor(payload.cost, "EUR", ",")) }
    }`;
    await helper.load(nodes, flow({ docType: 'inventory-adjustment', mapping, system: 'settlement-file' }));
    const c1 = helper.getNode('c1');
    const ok = collect(helper.getNode('ok'), 2);
    const bad = collect(helper.getNode('bad'), 2);
    for (const [id, cost] of [
      ['A1', '95,00'],
      ['A2', '95.00'],
      ['A3', '-1234,5'],
      ['A4', '1.234,56'],
    ])
      c1.receive({ payload: { id, cost } });
    const good = await ok;
    expect(good.map((m) => [m.payload.adjustmentId, m.payload.attributes.costMinor])).toEqual([
      ['A1', '9500'],
      ['A3', '-123450'],
    ]);
    const rejected = await bad;
    expect(rejected.map((m) => m.validationErrors[0])).toEqual([
      expect.stringContaining("'95.00' is not a decimal-comma amount"),
      expect.stringContaining("'1.234,56' is not a decimal-comma amount"),
    ]);
  });

  it('can send invalid documents straight to the dead-letter store instead', async () => {
    const f = flow({ docType: 'order', invalid: 'dead-letter', store: 's1', outputs: 1 });
    (f[2] as any).wires = [['ok']];
    await helper.load(nodes, f);
    const c1 = helper.getNode('c1');
    const store = await (helper.getNode('s1') as any).manager.acquire();
    const order = fixture('order.json');
    delete order.lines;
    c1.receive({ payload: order, topic: 'order.accepted' });
    await until(async () => (await store.countDeadLetters()) === 1);
    const [entry] = await store.listDeadLetters();
    expect(entry).toMatchObject({
      nodeId: 'c1',
      flowId: 'f1',
      nodeType: 'tillwire-canonical',
      topic: 'order.accepted',
      attempts: 1,
      error: { message: 'order failed validation: lines is required' },
    });
    expect(entry.message.payload).toEqual(order);
  });

  it('holds documents to the bounds set in its dialog; a replayed message is not refused for its age', async () => {
    await helper.load(nodes, flow({ docType: 'sale', maxLines: '2', maxQuantity: '5', checkDates: true, pastDays: '7', futureDays: '0' }));
    const c1 = helper.getNode('c1');
    const bad = collect(helper.getNode('bad'), 3);
    const ok = collect(helper.getNode('ok'), 2);
    const now = new Date();
    const today = (sale: any) => ({ ...sale, occurredAt: now.toISOString(), businessDate: now.toISOString().slice(0, 10) });
    const twoLines = (sale: any) => ({
      ...sale,
      lines: sale.lines.slice(0, 2),
      tenders: [{ type: 'card', amount: { amount: 5797, currency: 'GBP' } }],
      totals: {
        subtotal: { amount: 6797, currency: 'GBP' },
        discountTotal: { amount: 1000, currency: 'GBP' },
        taxTotal: { amount: 967, currency: 'GBP' },
        grandTotal: { amount: 5797, currency: 'GBP' },
      },
    });
    const tooOld = twoLines(fixture('sale.json')); // 2025-03-14: far more than 7 days ago
    c1.receive({ payload: today(fixture('sale.json')) }); // three lines
    c1.receive({ payload: tooOld });
    const bulk = today(twoLines(fixture('sale.json')));
    bulk.lines[1] = { ...bulk.lines[1], quantity: 6, lineTotal: { amount: 5394, currency: 'GBP' } };
    c1.receive({ payload: bulk });
    c1.receive({ payload: today(twoLines(fixture('sale.json'))) });
    c1.receive({ payload: tooOld, tillwire: { deadLetterId: 'dl-1', attempts: 1 } });
    const rejected = await bad;
    expect(rejected[0].validationErrors).toEqual(['lines has 3 items, more than the limit of 2']);
    expect(rejected[1].validationErrors).toEqual([
      'occurredAt 2025-03-14T17:42:10Z is more than 7 days before now',
      'businessDate 2025-03-14 is more than 7 days before now',
    ]);
    expect(rejected[2].validationErrors).toContain('lines[1].quantity 6 is beyond the limit of 5 units per line');
    const passed = await ok;
    expect(passed.map((m) => m.payload.occurredAt)).toEqual([now.toISOString(), '2025-03-14T17:42:10Z']);
  });

  it('a payload refused for its nesting leaves on output 2 as its JSON text', async () => {
    await helper.load(nodes, flow({ docType: 'order' }));
    const bad = collect(helper.getNode('bad'), 1);
    const depth = 3_000;
    const text = '{"kind":"order","attributes":' + '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) + '}';
    helper.getNode('c1').receive({ payload: JSON.parse(text) });
    const [msg] = await bad;
    expect(msg.validationErrors).toEqual([expect.stringMatching(/^payload is nested more than 32 levels deep/)]);
    expect(msg.payload).toBe(text);
  });

  it('a bound that is not a whole number turns the badge red and sends every message to Catch', async () => {
    const f = [
      ...flow({ docType: 'order', maxQuantity: 'lots' }),
      { id: 'catcher', type: 'catch', z: 'f1', scope: ['c1'], wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'f1' },
    ];
    await helper.load(nodes, f);
    const c1 = helper.getNode('c1');
    expect(c1.status.lastCall.args[0]).toEqual({ fill: 'red', shape: 'ring', text: 'invalid bounds' });
    const caught = collect(helper.getNode('caught'), 1);
    c1.receive({ payload: fixture('order.json') });
    expect((await caught)[0].error.message).toMatch("canonical: Max quantity must be a whole number of 1 or more, got 'lots'");
  });

  it('an invalid mapping is reported on the badge and every message goes to Catch', async () => {
    const f = [
      ...flow({ docType: 'order', mapping: '{ "a": ' }),
      { id: 'catcher', type: 'catch', z: 'f1', scope: ['c1'], wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'f1' },
    ];
    await helper.load(nodes, f);
    const c1 = helper.getNode('c1');
    expect(c1.status.lastCall.args[0]).toEqual({ fill: 'red', shape: 'ring', text: 'invalid mapping' });
    const caught = collect(helper.getNode('caught'), 1);
    c1.receive({ payload: {} });
    expect((await caught)[0].error.message).toMatch(/canonical: invalid JSONata mapping/);
  });
});
