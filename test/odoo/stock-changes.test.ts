/**
 * The stock read of changes against the Odoo simulator over JSON-RPC: what changed since the
 * cursor (quants and done moves by `write_date`), each changed product read at all its internal
 * locations, a location a move emptied (its quant deleted) read as 0, and the cursor moving to the
 * newest write seen. The simulator's clock is moved forward instead of waiting.
 */
import { OdooClient } from '../../nodes/odoo/client';
import { OdooSync } from '../../nodes/odoo/sync';
import { CHANGES_LOOK_BACK_SECONDS } from '../../nodes/core/change-cursor';
import { OdooSimulator, SEED } from '../../simulators/odoo/simulator';
import { clientFor, countStock, startSimulator } from './support';

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

const count = (sku: string, quantity: number) => countStock(sim, sku, quantity);

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
  expect(first.cursor).toEqual({ since: newestWrite(), source: client.source, seenAt: expect.any(String) });
});

it('a count and a second location in Odoo: only that SKU is read, at every location it has, and the cursor moves to its write', async () => {
  const start = newestWrite();
  sim.advanceClock(600);
  sim.stockAt('SKU-0001', 'Shelf 2', 4);
  await count('SKU-0001', 7);
  // Odoo's stamp of the count: 600 s on, and a second more when the wall clock turned meanwhile.
  const countAt = newestWrite();
  // The last read saw writes up to 5 minutes after the catalogue was stocked: the catalogue itself
  // is outside the look-back, the count and the shelf are after it.
  const read = await sync.readStockChanges({ since: plus(start, 300), source: client.source });
  expect(figures(read.positions)).toEqual(['SKU-0001@WH/Shelf 2=4', 'SKU-0001@WH/Stock=7']);
  expect(read.cursor).toEqual({ since: countAt, source: client.source, seenAt: expect.any(String) });
  expect(read.unknown).toEqual([]);

  // Read again from there: the look-back reads the count once more (booked, it changes nothing),
  // and nothing else.
  const again = await sync.readStockChanges(read.cursor);
  expect(figures(again.positions)).toEqual(['SKU-0001@WH/Shelf 2=4', 'SKU-0001@WH/Stock=7']);
  expect(again.cursor).toEqual(read.cursor);

  // Two minutes on (this clock), nothing new: the look-back has closed, nothing is read, the cursor stays.
  const idle = await sync.readStockChanges(again.cursor, new Date(Date.now() + (CHANGES_LOOK_BACK_SECONDS + 5) * 1000));
  expect(idle.positions).toEqual([]);
  expect(idle.cursor).toEqual(again.cursor);

  // Past the look-back, nothing changed: nothing is read and the cursor stays.
  const later = await sync.readStockChanges({ since: plus(countAt, CHANGES_LOOK_BACK_SECONDS + 1), source: client.source });
  expect(later.positions).toEqual([]);
  expect(later.cursor).toEqual({ since: plus(countAt, CHANGES_LOOK_BACK_SECONDS + 1), source: client.source, seenAt: expect.any(String) });
});

it("a location emptied by a count whose quant Odoo then deleted is read as 0, beside the product's other location", async () => {
  const start = newestWrite();
  sim.stockAt('SKU-0003', 'Shelf 2', 3);
  sim.advanceClock(600);
  await count('SKU-0003', 0);
  expect(sim.unlinkZeroQuants()).toBe(1);
  expect(sim.records('stock.quant', [['product_id', '=', productOf('SKU-0003')]], ['location_id']).length).toBe(1);
  const read = await sync.readStockChanges({ since: plus(start, 300), source: client.source });
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
  const read = await sync.readStockChanges({ since: plus(start, 300), source: client.source });
  expect(figures(read.positions)).toEqual([`SKU-0002@WH/Stock=${before - 2}`]);
});

it('a cursor that cannot be trusted counts as none: the read is whole and a new cursor starts (another Odoo, a time that does not exist, one a day ahead)', async () => {
  const start = newestWrite();
  const whole = (await sync.readStock()).positions.length;
  for (const cursor of [
    { since: start, source: 'https://other.example.com|prod' },
    { since: '2026-13-45 99:99:99', source: client.source },
    { since: plus(new Date().toISOString().replace('T', ' ').slice(0, 19), 2 * 86_400), source: client.source },
    { since: 'garbage', source: client.source },
    'a string',
    null,
  ]) {
    const read = await sync.readStockChanges(cursor);
    expect(read.positions.length).toBe(whole);
    expect(read.cursor).toEqual({ since: start, source: client.source, seenAt: expect.any(String) });
  }
});

it('rows are read a page at a time by id: a quant Odoo deletes between two pages does not make the read skip another', async () => {
  const big = await startSimulator({ catalogSize: 1200 });
  const bigClient = clientFor(big, 'jsonrpc');
  const bigSync = new OdooSync(bigClient, { version: bigClient.version, defaultPartnerId: SEED.walkInPartnerId, policy: { baseDelayMs: 1, maxDelayMs: 5 } });
  try {
    await countStock(big, 'SKU-0001', 0);
    // Odoo's quant clean-up runs while the read is between its first and second page of quants.
    const searchRead = bigClient.searchRead.bind(bigClient);
    let pages = 0;
    bigClient.searchRead = (async (model: string, ...rest: unknown[]) => {
      const rows = await (searchRead as (...a: unknown[]) => Promise<unknown[]>)(model, ...rest);
      if (model === 'stock.quant' && ++pages === 1) big.unlinkZeroQuants();
      return rows;
    }) as typeof bigClient.searchRead;
    const read = await bigSync.readStock();
    expect(pages).toBe(2);
    // Every product is read with the stock Odoo holds: SKU-0001 as 0 (no quant left), and none
    // past the page boundary taken for one without stock.
    const truth = new Map<string, number>();
    for (const q of big.records('stock.quant', [], ['product_id', 'quantity']) as Array<{ product_id: [number, string]; quantity: number }>) {
      const sku = String(big.records('product.product', [['id', '=', q.product_id[0]]], ['default_code'])[0].default_code);
      truth.set(sku, (truth.get(sku) ?? 0) + q.quantity);
    }
    expect(read.positions.length).toBe(1200 + 10);
    expect(read.positions.filter((p) => p.onHand !== (truth.get(p.sku) ?? 0)).map((p) => `${p.sku}: read ${p.onHand}, held ${truth.get(p.sku)}`)).toEqual([]);
    expect(read.positions.find((p) => p.sku === 'SKU-0001')).toMatchObject({ onHand: 0 });
  } finally {
    await bigClient.close();
    await big.stop();
  }
});
