import storeNode from '../../nodes/core/store-config';
import configNode from '../../nodes/square/square-config';
import inventoryNode from '../../nodes/square/square-inventory';
import deadLetterNode from '../../nodes/core/dead-letter';
import { SquareSimulator } from '../../simulators/square/simulator';
import { helper, startServer, stopAll } from '../support/node-red';
import { api, startSim } from './support';

jest.setTimeout(60_000);
const statuses = (node: any) =>
  node.status
    .getCalls()
    .filter((c: any) => c.thisValue === node)
    .map((c: any) => c.args[0]);

let sim: SquareSimulator;
beforeEach(async () => {
  sim = await startSim({ rateLimit: { ratePerSecond: 50, burst: 20 } });
  await startServer();
});
afterEach(async () => {
  await stopAll();
  await sim.stop();
});

function flow() {
  return [
    { id: 'f1', type: 'tab', label: 'square write' },
    { id: 's1', type: 'tillwire-store', backend: 'memory' },
    // No SKU map: SKUs are found through SearchCatalogObjects. Store map: Tillwire WH-MAN-01 is L-LDN.
    {
      id: 'c1',
      type: 'tillwire-square-config',
      environment: 'custom',
      baseUrl: sim.url,
      locationIds: 'L-LDN, L-NYC',
      storeMap: '{"L-LDN": "WH-MAN-01"}',
      ratePerSecond: 0,
      attempts: '4',
    },
    { id: 'inv', type: 'tillwire-square-inventory', z: 'f1', square: 'c1', location: 'L-NYC', wires: [['out']] },
    { id: 'invStore', type: 'tillwire-square-inventory', z: 'f1', square: 'c1', location: 'L-NYC', store: 's1', wires: [['out']] },
    // Two Square locations under one store id: that store id names no one location.
    {
      id: 'c2',
      type: 'tillwire-square-config',
      environment: 'custom',
      baseUrl: sim.url,
      locationIds: 'L-LDN, L-NYC',
      storeMap: '{"L-LDN": "WH-X", "L-NYC": "WH-X"}',
      ratePerSecond: 0,
      attempts: '4',
    },
    { id: 'invShared', type: 'tillwire-square-inventory', z: 'f1', square: 'c2', location: 'L-NYC', wires: [['out']] },
    { id: 'invErp', type: 'tillwire-square-inventory', z: 'f1', square: 'c1', location: 'L-NYC', erpLocation: 'WH1', store: 's1', wires: [['out']] },
    { id: 'out', type: 'helper', z: 'f1' },
    // One Catch node (the test helper cannot load two): to a probe and to the dead-letter store.
    { id: 'k1', type: 'catch', z: 'f1', scope: ['inv', 'invStore', 'invErp', 'invShared'], wires: [['caught', 'dl']] },
    { id: 'caught', type: 'helper', z: 'f1' },
    { id: 'dl', type: 'tillwire-dead-letter', z: 'f1', store: 's1', wires: [['stored']] },
    { id: 'stored', type: 'helper', z: 'f1' },
  ];
}

async function load() {
  await helper.load([storeNode, configNode, inventoryNode, deadLetterNode], flow(), {
    c1: { accessToken: sim.accessToken },
    c2: { accessToken: sim.accessToken },
  });
}

/** Sends a payload into a node; resolves with the message that came out, or the one a Catch node got. */
function run(nodeId: string, payload: unknown): Promise<{ ok: boolean; msg: any }> {
  return new Promise((resolve) => {
    const out = helper.getNode('out');
    const caught = helper.getNode('caught');
    const onOut = (msg: any) => finish(true, msg);
    const onCaught = (msg: any) => finish(false, msg);
    function finish(ok: boolean, msg: any) {
      out.removeListener('input', onOut);
      caught.removeListener('input', onCaught);
      resolve({ ok, msg });
    }
    out.on('input', onOut);
    caught.on('input', onCaught);
    helper.getNode(nodeId).receive({ payload });
  });
}

const ats = (sku: string, available: number, computedAt = '2026-11-27T02:00:00Z', account?: string) => ({
  kind: 'inventory.ats',
  sku,
  channel: { system: 'square', ...(account ? { account } : {}) },
  available,
  computedAt,
});
const id = (sku: string) => SquareSimulator.catalogObjectId(sku);

describe('tillwire-square-inventory', () => {
  it('writes a PHYSICAL_COUNT with an idempotency key; the same document again records no new change', async () => {
    await load();
    const r = await run('inv', ats('SKU-0004', 25));
    expect(r.ok).toBe(true);
    expect(r.msg.channelResult).toMatchObject({
      system: 'square',
      operation: 'BatchChangeInventory',
      outcome: 'sent',
      sku: 'SKU-0004',
      catalogObjectId: id('SKU-0004'),
      locationId: 'L-NYC',
      quantity: 25,
      count: '25',
      idempotencyKey: expect.stringMatching(/^tw-[0-9a-f]{40}$/),
    });
    expect(sim.inventoryCount(id('SKU-0004'), 'L-NYC')).toBe('25');
    expect(sim.inventoryChanges).toHaveLength(1);
    expect(sim.inventoryChanges[0].physical_count).toMatchObject({
      state: 'IN_STOCK',
      quantity: '25',
      occurred_at: '2026-11-27T02:00:00Z',
      reference_id: 'inventory.ats:square:SKU-0004:2026-11-27T02:00:00Z',
    });

    const again = await run('inv', ats('SKU-0004', 25));
    expect(again.ok).toBe(true);
    expect(again.msg.channelResult.idempotencyKey).toBe(r.msg.channelResult.idempotencyKey);
    expect(sim.inventoryChanges).toHaveLength(1);

    // Read back through the API as well.
    const counts = await api(sim, 'POST', '/v2/inventory/counts/batch-retrieve', { catalog_object_ids: [id('SKU-0004')], location_ids: ['L-NYC'] });
    expect(counts.body.counts).toEqual([
      expect.objectContaining({ catalog_object_id: id('SKU-0004'), location_id: 'L-NYC', state: 'IN_STOCK', quantity: '25' }),
    ]);
  });

  it('an older figure arriving after a newer one does not overwrite it (Square orders counts by occurred_at)', async () => {
    await load();
    await run('inv', ats('SKU-0006', 10, '2026-11-27T02:10:00Z'));
    const late = await run('inv', ats('SKU-0006', 99, '2026-11-27T02:00:00Z'));
    expect(late.ok).toBe(true);
    expect(sim.inventoryCount(id('SKU-0006'), 'L-NYC')).toBe('10');
  });

  it('with a store, a document already written makes no call at all', async () => {
    await load();
    expect((await run('invStore', ats('SKU-0008', 3))).msg.channelResult.outcome).toBe('sent');
    const requests = sim.stats.requests;
    const again = await run('invStore', ats('SKU-0008', 3));
    expect(again.msg.channelResult).toMatchObject({ outcome: 'already-sent', recorded: true });
    expect(sim.stats.requests).toBe(requests);
  });

  it('positions go to their own location (directly or through the store map); ATS to channel.account when it is a location', async () => {
    await load();
    const pos = {
      kind: 'inventory.position',
      sku: 'SKU-0012',
      locationId: 'WH-MAN-01',
      onHand: 148,
      reserved: 12,
      inTransit: 40,
      safetyStock: 5,
      asOf: '2026-11-27T02:00:00Z',
    };
    expect((await run('inv', pos)).msg.channelResult).toMatchObject({ locationId: 'L-LDN', quantity: 148 });
    expect(sim.inventoryCount(id('SKU-0012'), 'L-LDN')).toBe('148');
    await run('inv', { ...pos, locationId: 'L-NYC', onHand: 7 });
    expect(sim.inventoryCount(id('SKU-0012'), 'L-NYC')).toBe('7');
    await run('inv', ats('SKU-0013', 5, undefined, 'L-LDN'));
    expect(sim.inventoryCount(id('SKU-0013'), 'L-LDN')).toBe('5');
  });

  it("positions of ERP locations the store map does not pair never overwrite each other at the node's Location", async () => {
    await load();
    const pos = { kind: 'inventory.position', sku: 'SKU-0014', onHand: 3, reserved: 0, inTransit: 0, safetyStock: 0, asOf: '2026-11-27T02:00:00Z' };
    // The node's Location takes the positions of its ERP location only; WH2's is refused and dead-lettered.
    const dead = new Promise<any>((resolve) => helper.getNode('stored').once('input', resolve));
    expect((await run('invErp', { ...pos, locationId: 'WH1' })).msg.channelResult).toMatchObject({ outcome: 'sent', locationId: 'L-NYC', quantity: 3 });
    const wh2 = await run('invErp', { ...pos, locationId: 'WH2', onHand: 8 });
    expect(wh2.ok).toBe(false);
    expect(wh2.msg.error.message).toMatch(/position of SKU 'SKU-0014' at location 'WH2' refused: .*location 'L-NYC' takes the positions of 'WH1' only/);
    expect(wh2.msg.error.message).toMatch(/To map it, add it to the Square account's store map/);
    expect(wh2.msg.error.cause).toMatchObject({ system: 'square', kind: 'value', retryable: false, providerCode: 'UnmappedLocation' });
    const store = await helper.getNode('s1').manager.acquire();
    expect((await store.getDeadLetter((await dead).deadLetter.id)).message.payload).toMatchObject({ sku: 'SKU-0014', locationId: 'WH2' });
    // A position the store map pairs still flows beside it.
    expect((await run('invErp', { ...pos, locationId: 'WH-MAN-01', onHand: 5 })).msg.channelResult).toMatchObject({ locationId: 'L-LDN', quantity: 5 });
    expect(sim.inventoryCount(id('SKU-0014'), 'L-NYC')).toBe('3');
    expect(sim.inventoryCount(id('SKU-0014'), 'L-LDN')).toBe('5');

    // A Location without an ERP location takes no unpaired position (it used to take every one).
    const none = await run('inv', { ...pos, sku: 'SKU-0015', locationId: 'WH1' });
    expect(none.msg.error.message).toMatch(/position of SKU 'SKU-0015' at location 'WH1' refused: that location is not mapped to a square location/);
    expect(sim.inventoryCount(id('SKU-0015'), 'L-NYC')).toBeUndefined();
    const shared = await run('invShared', { ...pos, sku: 'SKU-0015', locationId: 'WH-X' });
    expect(shared.msg.error.message).toMatch(/position of SKU 'SKU-0015' at location 'WH-X' refused: that location is not mapped/);
    expect(sim.inventoryCount(id('SKU-0015'), 'L-LDN')).toBeUndefined();
  });

  it('an unknown SKU is a permanent error naming it; an ATS for another channel is refused; nothing written', async () => {
    await load();
    const r = await run('inv', ats('TEE-BLK-M', 1));
    expect(r.ok).toBe(false);
    expect(r.msg.error.message).toMatch(/unknown SKU 'TEE-BLK-M': no catalog item variation with this SKU in Square$/);
    expect(r.msg.error.code).toBe('missing-reference');
    expect(r.msg.error.cause).toEqual({
      system: 'square',
      operation: 'BatchChangeInventory',
      kind: 'missing-reference',
      retryable: false,
      providerCode: 'UnknownSku',
    });
    const other = await run('inv', { ...ats('SKU-0001', 1), channel: { system: 'shopify' } });
    expect(other.msg.error.message).toMatch(/wrong channel: inventory.ats for SKU-0001 is for channel 'shopify'; this node writes to square/);
    const shipment = await run('inv', { kind: 'shipment' });
    expect(shipment.msg.error.message).toMatch(/takes 'inventory.ats' or 'inventory.position' documents, not 'shipment'/);
    expect(sim.inventoryChanges).toHaveLength(0);
  });

  it('a failure reaches the dead-letter store through Catch with the original document and the error', async () => {
    await load();
    const stored = new Promise<any>((resolve) => helper.getNode('stored').once('input', resolve));
    const doc = ats('NOPE-1', 2);
    helper.getNode('invStore').receive({ payload: doc });
    const msg = await stored;
    const store = await helper.getNode('s1').manager.acquire();
    const entry = await store.getDeadLetter(msg.deadLetter.id);
    expect(entry.nodeId).toBe('invStore');
    expect(entry.nodeType).toBe('tillwire-square-inventory');
    expect(entry.error.message).toMatch(/unknown SKU 'NOPE-1'/);
    expect(entry.error).toMatchObject({
      code: 'missing-reference',
      cause: { system: 'square', kind: 'missing-reference', retryable: false, providerCode: 'UnknownSku' },
    });
    expect(entry.message.payload).toEqual(doc);
  });

  it('429 RATE_LIMITED is retried with backoff, then the count lands once', async () => {
    await load();
    sim.refuseNext(2);
    const r = await run('inv', ats('SKU-0020', 12));
    expect(r.ok).toBe(true);
    expect(sim.stats.rateLimited).toBe(2);
    expect(sim.inventoryCount(id('SKU-0020'), 'L-NYC')).toBe('12');
    expect(sim.inventoryChanges).toHaveLength(1);
    const seen = statuses(helper.getNode('inv'));
    expect(seen).toContainEqual({ fill: 'yellow', shape: 'ring', text: 'throttled: SearchCatalogObjects' });
    expect(seen.at(-1)).toMatchObject({ fill: 'green', shape: 'dot', text: 'sent 1' });
  });
});
