/**
 * The example flow examples/Odoo - sales orders and stock.json loads and works against
 * the simulator: a till sale becomes one Odoo order, its copy is dropped, an unknown SKU is parked
 * in the dead-letter store, and stock comes back as positions.
 */
import fs from 'node:fs';
import path from 'node:path';
import storeNode from '../../nodes/core/store-config';
import canonicalNode from '../../nodes/core/canonical';
import dedupeNode from '../../nodes/core/dedupe';
import deadLetterNode from '../../nodes/core/dead-letter';
import replayNode from '../../nodes/core/replay';
import odooConfigNode from '../../nodes/odoo/odoo-config';
import odooNode from '../../nodes/odoo/odoo';
import { OdooSimulator } from '../../simulators/odoo/simulator';
import { helper, startServer, stopAll, collect } from '../support/node-red';

const example: any[] = JSON.parse(fs.readFileSync(path.join(__dirname, '../../examples/Odoo - sales orders and stock.json'), 'utf8'));

let sim: OdooSimulator;
beforeAll(async () => {
  sim = new OdooSimulator({ catalogSize: 20 });
  await sim.start();
});
afterAll(() => sim.stop());
beforeEach(startServer);
afterEach(stopAll);

it('the Odoo example flow: one order per sale, unknown SKU parked, stock read', async () => {
  const flow = [
    { id: 'f1', type: 'tab', label: 'example' },
    ...example
      .filter((n) => n.type !== 'comment')
      .map((n) => {
        if (n.type === 'tillwire-store') return { ...n, backend: 'memory' };
        if (n.type === 'tillwire-odoo-config') return { ...n, url: sim.url };
        const m = { ...n, z: 'f1' };
        // inject and debug are stood in for by helper nodes (payloads are sent directly below)
        if (n.type === 'inject' || n.type === 'debug') return { id: n.id, type: 'helper', z: 'f1', wires: n.wires };
        return m;
      }),
  ];
  const connection = example.find((n) => n.type === 'tillwire-odoo-config');
  await helper.load([storeNode, canonicalNode, dedupeNode, deadLetterNode, replayNode, odooConfigNode, odooNode], flow, {
    [connection.id]: { apiKey: sim.apiKey },
  });
  const inject = (id: string) => {
    const def = example.find((n) => n.id === id);
    helper.getNode(def.wires[0][0]).receive({ payload: JSON.parse(def.payload), topic: def.topic });
  };
  const orders = collect(helper.getNode('ex-odoo-debug'), 1);
  inject('ex-odoo-inj-sale');
  const [order] = await orders;
  expect(order.erp).toMatchObject({ system: 'odoo', name: 'S00001', created: true, state: 'sale', key: 'sale:LDN-042:T01:LDN042-T01-000101' });

  const parked = collect(helper.getNode('ex-odoo-dl-debug'), 1);
  inject('ex-odoo-inj-again');
  inject('ex-odoo-inj-bad');
  const [dead] = await parked;
  expect(dead.error.message).toContain('NOT-IN-ODOO');
  expect(dead.error).toMatchObject({ code: 'missing-reference', cause: { system: 'odoo', retryable: false } });
  expect(sim.counts()['sale.order']).toBe(1);

  const positions = collect(helper.getNode('ex-odoo-stock-debug'), 2);
  inject('ex-odoo-inj-stock');
  expect((await positions).map((m) => [m.payload.kind, m.payload.sku])).toEqual([
    ['inventory.position', 'SKU-0001'],
    ['inventory.position', 'SKU-0002'],
  ]);
});
