/**
 * ERP stock read "on change" into the ledger, in a real Node-RED (red.js with the product's settings
 * and an editor login) against the Odoo and Business Central simulators: an inject-like HTTP trigger
 * sends `{ changes: true }` to tillwire-odoo (stock) and tillwire-business-central (inventory), each
 * with the ledger's store for its cursor, into one tillwire-inventory-reserve. The first such read
 * books every SKU; after that only what the ERP changed (Odoo: quants and done moves written since,
 * with the look-back; BC: items with item ledger entries since) is read and booked, and explain
 * names the reading. A read of changes without a store, and a payload that is no request, go to
 * Catch naming what is wrong.
 */
import type { RunningNodeRed } from '../support/node-red-process';
import type { OdooSimulator } from '../../simulators/odoo/simulator';
import type { BusinessCentralSimulator } from '../../simulators/business-central/simulator';
import { countStock, startSimulator as startOdoo } from '../odoo/support';
import { startSimulator as startBc } from '../business-central/helpers';
import { bcConfigNode, odooConfigNode } from '../support/config-nodes';
import { flowCalls } from '../support/flow-calls';
import { type LedgerRuntime, observedReserve, record, startLedgerRuntime } from './ledger-flow-support';

jest.setTimeout(90_000);

let red: RunningNodeRed;
let odoo: OdooSimulator;
let bc: BusinessCentralSimulator;
let rt: LedgerRuntime;
const { call, untilSeen: until } = flowCalls(() => red, { callTimeoutMs: 20_000, untilTimeoutMs: 30_000 });

// Each read's SKUs (what the ERP node sent on), and each read finished (the node's done).
const reads = (name: string) =>
  record(name).replace(
    'list.push(msg.payload)',
    "list.push((Array.isArray(msg.payload) ? msg.payload : [msg.payload]).map((p) => p.sku + '@' + p.locationId + '=' + p.onHand))",
  );

function flows() {
  return [
    ...observedReserve({
      label: 'ERP stock on change',
      guard: { locations: 'WH/Stock,BC-MAIN' },
      catchScope: ['guard', 'odoo', 'bc', 'nostore'],
      seenExtra:
        "msg.payload.odooReads = flow.get('odooReads') || []; msg.payload.bcReads = flow.get('bcReads') || []; msg.payload.done = flow.get('done') || [];\n",
    }),
    odooConfigNode(odoo, { id: 'oc' }),
    bcConfigNode(bc, { id: 'ec' }),
    // On a schedule these are Inject nodes (payload {"changes":true}, every minute); here HTTP.
    { id: 'odooIn', type: 'http in', z: 'tab', url: '/odoo', method: 'post', wires: [['odoo', 'ack']] },
    { id: 'odoo', type: 'tillwire-odoo', z: 'tab', odoo: 'oc', operation: 'stock', output: 'array', store: 'st', wires: [['guard', 'odooReads']] },
    { id: 'odooReads', type: 'function', z: 'tab', func: reads('odooReads'), outputs: 1, wires: [] },
    { id: 'bcIn', type: 'http in', z: 'tab', url: '/bc', method: 'post', wires: [['bc', 'ack']] },
    {
      id: 'bc',
      type: 'tillwire-business-central',
      z: 'tab',
      bc: 'ec',
      operation: 'inventory',
      locationId: 'BC-MAIN',
      store: 'st',
      wires: [['guard', 'bcReads']],
    },
    { id: 'bcReads', type: 'function', z: 'tab', func: reads('bcReads'), outputs: 1, wires: [] },
    { id: 'nostoreIn', type: 'http in', z: 'tab', url: '/nostore', method: 'post', wires: [['nostore', 'ack']] },
    { id: 'nostore', type: 'tillwire-odoo', z: 'tab', odoo: 'oc', operation: 'stock', output: 'array', wires: [['guard']] },
    { id: 'fin', type: 'complete', z: 'tab', scope: ['odoo', 'bc', 'nostore'], uncaught: false, wires: [['finRec']] },
    { id: 'finRec', type: 'function', z: 'tab', func: 'msg.payload = msg._msgid;\n' + record('done'), outputs: 1, wires: [] },
  ];
}

beforeAll(async () => {
  odoo = await startOdoo();
  bc = await startBc();
  rt = await startLedgerRuntime(flows(), { credentials: { oc: { apiKey: odoo.apiKey }, ec: { token: bc.token } } });
  red = rt.red;
});

afterAll(async () => {
  await rt?.stop();
  await odoo?.stop();
  await bc?.close();
});

const explain = async (sku: string, location: string) =>
  (await rt.admin(`/tillwire/inventory/explain?sku=${encodeURIComponent(sku)}&location=${encodeURIComponent(location)}`, rt.reader)).body;

const countInOdoo = (sku: string, quantity: number) => countStock(odoo, sku, quantity);

it('Odoo: the first read of changes books every SKU; then only the SKUs Odoo changed are read and booked', async () => {
  await call('/odoo', { changes: true });
  let seen = await until('the first read booked', (s) => s.odooReads.length === 1 && s.booked.length === 1 && s.done.length === 1);
  expect(seen.caught).toEqual([]);
  expect(seen.odooReads[0].length).toBe(60); // every storable SKU of the simulator's catalogue
  expect(seen.booked[0]).toMatchObject({ booked: 60 });

  // Ten minutes later a count of SKU-0001 in Odoo; the read after it also reads again what was
  // written within the look-back before the last read's newest write (here: the catalogue).
  odoo.advanceClock(600);
  await countInOdoo('SKU-0001', 7);
  await call('/odoo', { changes: true });
  seen = await until('the second read booked', (s) => s.odooReads.length === 2 && s.booked.length === 2 && s.done.length === 2);
  expect(seen.odooReads[1]).toContain('SKU-0001@WH/Stock=7');
  expect((await explain('SKU-0001', 'WH/Stock')).positions).toEqual([expect.objectContaining({ onHand: 7 })]);

  // Ten minutes on, a count of SKU-0002: the read is that SKU and, in the look-back, SKU-0001.
  odoo.advanceClock(600);
  await countInOdoo('SKU-0002', 4);
  await call('/odoo', { changes: true });
  seen = await until('the third read booked', (s) => s.odooReads.length === 3 && s.done.length === 3);
  expect(seen.caught).toEqual([]);
  expect(seen.odooReads[2]).toEqual(['SKU-0001@WH/Stock=7', 'SKU-0002@WH/Stock=4']);
  const two = await explain('SKU-0002', 'WH/Stock');
  expect(two.positions).toEqual([expect.objectContaining({ onHand: 4 })]);
  expect(two.events[0]).toMatchObject({ kind: 'snapshot', field: 'onHand', after: 4, source: { system: 'odoo' } });

  // Nothing changed since: the look-back reads the newest write again (SKU-0002), which the
  // ledger books as a reading that changes nothing: no event.
  odoo.advanceClock(600);
  await call('/odoo', { changes: true });
  seen = await until('the fourth read booked', (s) => s.odooReads.length === 4 && s.done.length === 4);
  expect(seen.caught).toEqual([]);
  expect(seen.odooReads[3]).toEqual(['SKU-0002@WH/Stock=4']);
  expect((await explain('SKU-0002', 'WH/Stock')).events).toEqual(two.events);
});

it('Business Central: the first read of changes books every item; then only the items with new item ledger entries', async () => {
  const doneBefore = (await call('/seen')).done.length;
  await call('/bc', { changes: true });
  let seen = await until('the first BC read done', (s) => s.done.length === doneBefore + 1);
  expect(seen.caught).toEqual([]);
  const everyItem = seen.bcReads.length;
  expect(everyItem).toBeGreaterThan(10); // one message per item

  bc.upsertItems([{ number: 'MUG-WHT-12OZ', inventory: 9 }]);
  await call('/bc', { changes: true });
  seen = await until('the second BC read done', (s) => s.done.length === doneBefore + 2);
  expect(seen.caught).toEqual([]);
  expect(seen.bcReads.slice(everyItem)).toEqual([['MUG-WHT-12OZ@BC-MAIN=9']]);
  expect((await explain('MUG-WHT-12OZ', 'BC-MAIN')).positions).toEqual([expect.objectContaining({ onHand: 9 })]);
});

it('a read of changes without a store, and a payload that asks for nothing the node knows, go to Catch by name', async () => {
  const caughtBefore = (await call('/seen')).caught.length;
  await call('/nostore', { changes: true });
  await call('/odoo', { changes: 'yes' });
  await call('/odoo', { changes: true, skus: ['SKU-0001'] });
  const seen = await until('all three refused', (s) => s.caught.length === caughtBefore + 3);
  expect(seen.caught.slice(caughtBefore)).toEqual(
    expect.arrayContaining([
      expect.stringContaining('select a Tillwire store in the node: the cursor of the stock read of changes is kept there'),
      expect.stringContaining('{ changes: true }; got an object with keys changes'),
      expect.stringContaining('asks for { changes: true } and for SKUs at once'),
    ]),
  );
});
