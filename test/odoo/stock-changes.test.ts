/**
 * The stock read of changes against the Odoo simulator over JSON-RPC: what changed since the
 * cursor (quants and done moves by `write_date`), each changed product read at all its internal
 * locations, a location a move emptied (its quant deleted) read as 0, and the cursor moving to the
 * newest write seen. The simulator's clock is moved forward instead of waiting.
 */
import { OdooClient } from '../../nodes/odoo/client';
import { OdooSync } from '../../nodes/odoo/sync';
import { CHANGES_LOOK_BACK_SECONDS } from '../../nodes/odoo/stock';
import { OdooSimulator, SEED } from '../../simulators/odoo/simulator';
import { clientFor, startSimulator } from './support';

let sim: OdooSimulator;
let client: OdooClient;
let sync: OdooSync;

beforeEach(async () => {
  sim = await startSimulator();
  client = clientFor(sim, 'jsonrpc');
  sync = new OdooSync(client, { version: client.version, defaultPartnerId: SEED.walkInPartnerId, policy: { baseDelayMs: 1, maxDelayMs: 5 } });
});

afterEach(async () => {
  await client.close();
  await sim.stop();
});

/** A stock count in Odoo's API: the counted quantity in inventory mode, then applied. */
async function count(productId: number, quantity: number, locationId: number = SEED.stockLocationId): Promise<void> {
  const [quant] = await client.create(
    'stock.quant',
    { product_id: productId, location_id: locationId, inventory_quantity: quantity },
    { context: { inventory_mode: true } },
  );
  await client.call('stock.quant', 'action_apply_inventory', { ids: [quant] });
}

const productOf = (sku: string) => Number(sim.records('product.product', [['default_code', '=', sku]], ['id'])[0].id);
const newestWrite = () =>
  (sim.records('stock.quant', [], ['write_date']) as Array<{ write_date: string }>)
    .map((q) => q.write_date)
    .sort()
    .at(-1)!;
/** An Odoo datetime `seconds` after `odooTime`. */
const plus = (odooTime: string, seconds: number) =>
  new Date(Date.parse(`${odooTime.replace(' ', 'T')}Z`) + seconds * 1000).toISOString().replace('T', ' ').slice(0, 19);
const figures = (positions: Array<{ sku: string; locationId: string; onHand: number }>) => positions.map((p) => `${p.sku}@${p.locationId}=${p.onHand}`);

it('no cursor yet: every SKU, as the full read, and the cursor is the newest write Odoo stamped', async () => {
  const full = await sync.readStock();
  const first = await sync.readStockChanges(undefined);
  expect(first.positions.map((p) => p.sku)).toEqual(full.positions.map((p) => p.sku));
  expect(first.positions.length).toBe(60); // the demo catalogue's 50 and the 10 fixture SKUs
  expect(first.cursor).toEqual({ since: newestWrite() });
});

it('a count and a second location in Odoo: only that SKU is read, at every location it has, and the cursor moves to its write', async () => {
  const start = newestWrite();
  sim.advanceClock(600);
  sim.stockAt('SKU-0001', 'Shelf 2', 4);
  await count(productOf('SKU-0001'), 7);
  // The last read saw writes up to 5 minutes after the catalogue was stocked: the catalogue itself
  // is outside the look-back, the count and the shelf are after it.
  const read = await sync.readStockChanges({ since: plus(start, 300) });
  expect(figures(read.positions)).toEqual(['SKU-0001@WH/Shelf 2=4', 'SKU-0001@WH/Stock=7']);
  expect(read.cursor).toEqual({ since: plus(start, 600) });
  expect(read.unknown).toEqual([]);

  // Read again from there: the look-back reads the count once more (booked, it changes nothing),
  // and nothing else.
  const again = await sync.readStockChanges(read.cursor);
  expect(figures(again.positions)).toEqual(['SKU-0001@WH/Shelf 2=4', 'SKU-0001@WH/Stock=7']);
  expect(again.cursor).toEqual(read.cursor);

  // Past the look-back, nothing changed: nothing is read and the cursor stays.
  const later = await sync.readStockChanges({ since: plus(start, 600 + CHANGES_LOOK_BACK_SECONDS + 1) });
  expect(later.positions).toEqual([]);
  expect(later.cursor).toEqual({ since: plus(start, 600 + CHANGES_LOOK_BACK_SECONDS + 1) });
});

it("a location emptied by a count whose quant Odoo then deleted is read as 0, beside the product's other location", async () => {
  const start = newestWrite();
  sim.stockAt('SKU-0003', 'Shelf 2', 3);
  sim.advanceClock(600);
  await count(productOf('SKU-0003'), 0);
  expect(sim.unlinkZeroQuants()).toBe(1);
  expect(sim.records('stock.quant', [['product_id', '=', productOf('SKU-0003')]], ['location_id']).length).toBe(1);
  const read = await sync.readStockChanges({ since: plus(start, 300) });
  expect(figures(read.positions)).toEqual(['SKU-0003@WH/Shelf 2=3', 'SKU-0003@WH/Stock=0']);
});

it('a delivery validated in Odoo (a done move out of WH/Stock) is read as the lower figure', async () => {
  const start = newestWrite();
  const before = Number(sim.records('stock.quant', [['product_id', '=', productOf('SKU-0002')]], ['quantity'])[0].quantity);
  sim.advanceClock(600);
  const [order] = await client.create('sale.order', {
    partner_id: SEED.walkInPartnerId,
    order_line: [[0, 0, { product_id: productOf('SKU-0002'), product_uom_qty: 2 }]],
  });
  await client.call('sale.order', 'action_confirm', { ids: [order] });
  sim.ship({ order: String(sim.records('sale.order', [['id', '=', order]], ['name'])[0].name) });
  const read = await sync.readStockChanges({ since: plus(start, 300) });
  expect(figures(read.positions)).toEqual([`SKU-0002@WH/Stock=${before - 2}`]);
});
