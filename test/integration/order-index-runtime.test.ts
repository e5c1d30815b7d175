/**
 * The order index in a running flow: bol.com orders from the bol simulator go through the
 * template's poller into the Odoo simulator through the Odoo node; the index then tells which
 * orders Tillwire took in (with their gross) and which Odoo accepted (with its order number).
 * One order's products are archived in Odoo first, so Odoo refuses it; one id is an order only the
 * channel knows (Tillwire never polled it). A settlement over them is then reconciled with the index.
 */
import fs from 'node:fs';
import path from 'node:path';
import storeNode from '../../nodes/core/store-config';
import replayNode from '../../nodes/core/replay';
import deadLetterNode from '../../nodes/core/dead-letter';
import ackNode from '../../nodes/core/ack';
import odooConfigNode from '../../nodes/odoo/odoo-config';
import odooNode from '../../nodes/odoo/odoo';
import bolConfigNode from '../../nodes/bol/bol-config';
import bolOrdersNode from '../../nodes/bol/bol-orders';
import bolShipNode from '../../nodes/bol/bol-ship';
import { orderMatcherFor } from '../../nodes/runtime/order-index';
import type { Store } from '../../nodes/runtime/store';
import { OdooSimulator } from '../../simulators/odoo/simulator';
import { BolSimulator } from '../../simulators/bol/simulator';
import { helper, startServer, stopAll, until } from '../support/node-red';
import { tallyAndReconcile } from '../ledger/settlements';

const example: any[] = JSON.parse(fs.readFileSync(path.join(__dirname, '../../examples/bol.com orders → ERP.json'), 'utf8'));

let odoo: OdooSimulator;
let bol: BolSimulator;
beforeAll(async () => {
  odoo = new OdooSimulator({});
  await odoo.start();
  bol = new BolSimulator({ orders: 12, epoch: new Date(Date.now() - 3_600_000).toISOString(), orderSpacingMs: 60_000 });
  await bol.start();
});
afterAll(async () => {
  await odoo.stop();
  await bol.stop();
});
beforeEach(startServer);
afterEach(stopAll);

const skusOf = (id: string): string[] => bol.order(id)!.orderItems.map((it: any) => it.offer.reference);

it('answers which orders Tillwire took in and which Odoo accepted, for a mix of ids', async () => {
  // An order whose products no other order uses: archived in Odoo, so Odoo refuses that order alone.
  const ids = bol.orderIds();
  const refused = ids.find((id) => skusOf(id).every((sku) => ids.every((other) => other === id || !skusOf(other).includes(sku))))!;
  expect(refused).toBeDefined();
  for (const sku of skusOf(refused)) {
    const [product] = odoo.records('product.product', [['default_code', '=', sku]], ['id']);
    odoo.call('product.product', 'write', { ids: [product.id], vals: { active: false } });
  }

  const flow = [
    { id: 'f1', type: 'tab', label: 'example' },
    ...example
      .filter((n) => n.type !== 'comment')
      .map((n) => {
        if (n.type === 'tillwire-store') return { ...n, backend: 'memory' };
        if (n.type === 'tillwire-odoo-config') return { ...n, url: odoo.url };
        if (n.type === 'tillwire-bol-config') return { ...n, endpoint: bol.url, tokenUrl: bol.tokenUrl };
        if (n.type === 'inject' || n.type === 'debug') return { id: n.id, type: 'helper', z: 'f1', wires: n.wires };
        return { ...n, z: 'f1' };
      }),
  ];
  const odooConfig = example.find((n) => n.type === 'tillwire-odoo-config');
  const bolConfig = example.find((n) => n.type === 'tillwire-bol-config');
  await helper.load([storeNode, replayNode, deadLetterNode, ackNode, odooConfigNode, odooNode, bolConfigNode, bolOrdersNode, bolShipNode], flow, {
    [odooConfig.id]: { apiKey: odoo.apiKey },
    [bolConfig.id]: { clientId: bol.clientId, clientSecret: bol.clientSecret },
  });
  const store: Store = await (helper.getNode('bol-store') as any).manager.acquire();

  // Every order handled: Odoo has all but the refused one, which is in the dead-letter store.
  await until(() => odoo.orders().length === ids.length - 1, 20_000);
  await until(async () => (await store.inboxPending('bol-orders:bol-orders')).length === 0, 20_000);
  const dead = await store.listDeadLetters({});
  expect(dead.map((d) => (d.message.payload as any).channel.id)).toEqual([refused]);

  const byRef = new Map(odoo.orders().map((o) => [o.client_order_ref, o]));
  const live = ids.filter((id) => byRef.get(`order:bol:1234567:${id}`) && byRef.get(`order:bol:1234567:${id}`)!.state !== 'cancel');
  expect(live.length).toBeGreaterThan(5);
  expect(live).not.toContain(refused);

  // The ERP side is written after the Odoo node sends its message on: wait until it is all there.
  const channelOnly = '1000009999';
  const asked = [...ids, channelOnly];
  const matcher = orderMatcherFor(store, { system: 'bol' });
  await until(async () => (await matcher.match(asked)).erp.length === live.length, 10_000);
  const answer = await matcher.match(asked);

  expect(new Set(answer.tillwire.map((t) => t.orderId))).toEqual(new Set(ids));
  expect(new Set(answer.erp)).toEqual(new Set(live));
  expect(answer.erp).not.toContain(refused);
  expect(answer.tillwire.map((t) => t.orderId)).not.toContain(channelOnly);
  expect(answer.erp).not.toContain(channelOnly);

  // Tillwire's gross is the order's grand total; Odoo booked the same amount for each order it holds.
  for (const id of live) {
    const gross = answer.tillwire.find((t) => t.orderId === id)!.gross!;
    const booked = byRef.get(`order:bol:1234567:${id}`)!;
    expect(gross.currency).toBe(booked.currency);
    expect(gross.amount).toBe(Math.round(Number(booked.amount_total) * 100));
  }
  // The ref recorded is Odoo's order number.
  const rows = await store.orderLookup(live, { system: 'bol', account: '1234567' });
  expect(new Map(rows.map((r) => [r.orderId, r.erpRef]))).toEqual(new Map(live.map((id) => [id, byRef.get(`order:bol:1234567:${id}`)!.name])));
  expect(rows.every((r) => r.erpSystem === 'odoo')).toBe(true);

  // A settlement of four orders reconciled against the index: the one charged more than its gross,
  // the one Odoo refused and the one only the channel knows are named; the matching one is not.
  const grossOf = (id: string) => answer.tillwire.find((t) => t.orderId === id)!.gross!.amount;
  const { rec } = await tallyAndReconcile(
    {
      lines: [
        ['principal', grossOf(live[0]), { order: live[0] }],
        ['principal', grossOf(live[1]) + 100, { order: live[1] }],
        ['principal', grossOf(refused), { order: refused }],
        ['principal', 4200, { order: channelOnly }],
      ],
    },
    { matcher, batchSize: 2 },
  );
  expect(rec.orders).toEqual({
    checked: 4,
    notInTillwire: [channelOnly],
    notInErp: expect.arrayContaining([refused, channelOnly]),
    grossDifferences: [{ orderId: live[1], charged: BigInt(grossOf(live[1]) + 100), gross: BigInt(grossOf(live[1])) }],
  });
  expect(rec.orders!.notInErp).toHaveLength(2);

  // Another channel's scope knows none of them.
  expect(await orderMatcherFor(store, { system: 'amazon' }).match(asked)).toEqual({ tillwire: [], erp: [] });
});
