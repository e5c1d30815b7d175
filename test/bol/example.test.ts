/**
 * The template examples/bol.com orders → ERP.json loads and runs against the simulators: every
 * bol order becomes one Odoo sale order and its inbox entry is closed; the sample shipment is sent
 * to bol once.
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
import { OdooSimulator } from '../../simulators/odoo/simulator';
import { BolSimulator } from '../../simulators/bol/simulator';
import { helper, startServer, stopAll, collect, until } from '../support/node-red';

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

it('the bol.com example flow: one Odoo order per bol order, inbox closed; the sample shipment sent once', async () => {
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
  const store = await (helper.getNode('bol-store') as any).manager.acquire();
  await until(() => odoo.orders().length === 12, 20_000);
  expect(new Set(odoo.orders().map((o) => o.client_order_ref))).toEqual(new Set(bol.orderIds().map((id) => `order:bol:1234567:${id}`)));
  await until(async () => (await store.inboxPending('bol-orders:bol-orders')).length === 0);
  expect(await store.listDeadLetters({})).toEqual([]);

  const inject = example.find((n) => n.id === 'bol-ship-in');
  const shipped = collect(helper.getNode('bol-shipped'), 1);
  helper.getNode('bol-ship').receive({ payload: JSON.parse(inject.payload) });
  const [msg] = await shipped;
  expect(msg.bol).toMatchObject({ orderId: '1000000006', status: 'SUCCESS', repeat: false });
  expect(bol.order('1000000006')!.orderItems[0]).toMatchObject({ quantityShipped: 3 });
});
