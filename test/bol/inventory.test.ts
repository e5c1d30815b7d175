/**
 * tillwire-bol-inventory in Node-RED (test helper) against the bol simulator: the canonical figure
 * mapped to bol's offer stock request, the process status awaited, and every way it can fail ending
 * at Catch (and the dead-letter store) with a clear reason, nothing sent where nothing should be.
 */
import storeNode from '../../nodes/core/store-config';
import deadLetterNode from '../../nodes/core/dead-letter';
import configNode from '../../nodes/bol/bol-config';
import inventoryNode from '../../nodes/bol/bol-inventory';
import { BolSimulator } from '../../simulators/bol/simulator';
import { helper, startServer, stopAll } from '../support/node-red';
import { startSimulator } from './support';

jest.setTimeout(60_000);
const RETAILER = '1234567';
const offerOf = (sku: string) => BolSimulator.offerIdOf(sku);
const UNKNOWN_OFFER = '00000000-0000-0000-0000-000000000000';
const OFFERS = { 'SKU-0001': offerOf('SKU-0001'), 'SKU-0002': offerOf('SKU-0002'), 'SKU-0003': offerOf('SKU-0003'), 'SKU-GONE': UNKNOWN_OFFER };
const statuses = (node: any) =>
  node.status
    .getCalls()
    .filter((c: any) => c.thisValue === node)
    .map((c: any) => c.args[0]);

let sim: BolSimulator;
beforeEach(startServer);
afterEach(async () => {
  await stopAll();
  await sim?.stop();
});

function flow(inv: Record<string, unknown> = {}) {
  return [
    { id: 'f1', type: 'tab', label: 'bol stock' },
    { id: 's1', type: 'tillwire-store', backend: 'memory' },
    { id: 'c1', type: 'tillwire-bol-config', endpoint: sim.url, tokenUrl: sim.tokenUrl, retailerId: RETAILER, timeout: '5', attempts: '3' },
    { id: 'inv', type: 'tillwire-bol-inventory', z: 'f1', bol: 'c1', offers: JSON.stringify(OFFERS), wires: [['out']], ...inv },
    { id: 'invStore', type: 'tillwire-bol-inventory', z: 'f1', bol: 'c1', store: 's1', offers: JSON.stringify(OFFERS), wires: [['out']] },
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'k1', type: 'catch', z: 'f1', scope: ['inv', 'invStore'], wires: [['caught', 'dl']] },
    { id: 'caught', type: 'helper', z: 'f1' },
    { id: 'dl', type: 'tillwire-dead-letter', z: 'f1', store: 's1', wires: [['stored']] },
    { id: 'stored', type: 'helper', z: 'f1' },
  ];
}

async function load(inv: Record<string, unknown> = {}) {
  await helper.load([storeNode, configNode, inventoryNode, deadLetterNode], flow(inv), { c1: { clientId: sim.clientId, clientSecret: sim.clientSecret } });
}

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

const ats = (sku: string, available: number, computedAt = '2026-12-05T01:00:00Z', account?: string) => ({
  kind: 'inventory.ats',
  sku,
  channel: { system: 'bol', ...(account ? { account } : {}) },
  available,
  computedAt,
});
const puts = () => sim.stats['offers:stock']?.requests ?? 0;

describe('tillwire-bol-inventory', () => {
  it('sets the offer stock from an ATS figure and waits for bol to process it', async () => {
    sim = await startSimulator({ orders: 0, processDelayMs: 1500 });
    await load();
    const r = await run('inv', ats('SKU-0002', 17, undefined, RETAILER));
    expect(r.ok).toBe(true);
    expect(r.msg.channelResult).toEqual({
      system: 'bol',
      account: RETAILER,
      key: 'inventory.ats:bol:SKU-0002:2026-12-05T01:00:00Z',
      operation: 'offers:stock',
      outcome: 'sent',
      sku: 'SKU-0002',
      quantity: 17,
      offerId: offerOf('SKU-0002'),
      managedByRetailer: true,
      processStatusId: expect.any(String),
      status: 'SUCCESS',
    });
    expect(sim.offer(offerOf('SKU-0002'))).toMatchObject({ amount: 17, managedByRetailer: true });
    expect(sim.stockUpdates).toHaveLength(1);
    // PENDING for 1.5 s (long enough that the first read comes before it ends, even on a loaded machine): read more than once before SUCCESS.
    expect(sim.stats['process-status:get'].requests).toBeGreaterThanOrEqual(2);
    expect(statuses(helper.getNode('inv')).at(-1)).toEqual({ fill: 'green', shape: 'dot', text: 'sent 1' });
  });

  it("a position of the node's Location offers on hand less reserved and safety stock; managed by retailer off is sent as false", async () => {
    sim = await startSimulator({ orders: 0 });
    await load({ managedByRetailer: false, location: 'WH-1' });
    const pos = {
      kind: 'inventory.position',
      sku: 'SKU-0003',
      locationId: 'WH-1',
      onHand: 30,
      reserved: 4,
      inTransit: 9,
      safetyStock: 2,
      asOf: '2026-12-05T01:00:00Z',
    };
    expect((await run('inv', pos)).msg.channelResult).toMatchObject({ quantity: 24, managedByRetailer: false });
    expect(sim.offer(offerOf('SKU-0003'))).toMatchObject({ amount: 24, managedByRetailer: false });
    expect((await run('inv', { ...pos, onHand: 3, asOf: '2026-12-05T01:05:00Z' })).msg.channelResult.quantity).toBe(0);
  });

  it('an offer holds one figure: positions of another location, or any position without a Location set, are refused naming the problem', async () => {
    sim = await startSimulator({ orders: 0 });
    await load({ location: 'WH1', store: 's1' });
    const pos = (locationId: string, onHand: number) => ({
      kind: 'inventory.position',
      sku: 'SKU-0001',
      locationId,
      onHand,
      reserved: 0,
      inTransit: 0,
      safetyStock: 0,
      asOf: '2026-12-05T01:00:00Z',
    });
    expect((await run('inv', pos('WH1', 3))).msg.channelResult).toMatchObject({ outcome: 'sent', quantity: 3 });
    // One record per offer: an ATS figure older than the position just sent does not overwrite it.
    expect((await run('inv', ats('SKU-0001', 40, '2026-12-05T00:59:00Z'))).msg.channelResult).toMatchObject({ outcome: 'unchanged', stale: true });
    const wh2 = await run('inv', pos('WH2', 8));
    expect(wh2.ok).toBe(false);
    expect(wh2.msg.error.message).toMatch(/position of SKU 'SKU-0001' at location 'WH2' refused: this node lists the stock of location 'WH1' only/);
    expect(wh2.msg.error.cause).toMatchObject({ system: 'bol', kind: 'value', retryable: false, providerCode: 'OtherLocation' });
    // The node with no Location (and a store): no position is taken, the same one again is refused again.
    for (let i = 0; i < 2; i++) {
      const none = await run('invStore', pos('WH1', 5));
      expect(none.msg.error.message).toMatch(/bol.com offer stock keeps one figure per listing.*Send available-to-sell figures \(inventory.ats/);
      expect(none.msg.error.cause).toMatchObject({ providerCode: 'PositionWithoutLocation' });
    }
    expect(puts()).toBe(1);
    expect(sim.offer(offerOf('SKU-0001'))!.amount).toBe(3);
    // An ATS figure (pooled over the locations) is taken by both.
    expect((await run('invStore', ats('SKU-0001', 11))).msg.channelResult).toMatchObject({ outcome: 'sent', quantity: 11 });
  });

  it('above 999 bol lists 999 and the result says capped with the figure asked for; the badge counts it', async () => {
    sim = await startSimulator({ orders: 0 });
    await load();
    const r = await run('inv', ats('SKU-0002', 1500));
    expect(r.ok).toBe(true);
    expect(r.msg.channelResult).toMatchObject({ outcome: 'sent', quantity: 999, capped: true, requested: 1500, status: 'SUCCESS' });
    expect(sim.offer(offerOf('SKU-0002'))!.amount).toBe(999);
    expect(statuses(helper.getNode('inv')).at(-1)).toEqual({ fill: 'green', shape: 'dot', text: 'sent 1 · capped 1' });
    const exact = await run('inv', ats('SKU-0003', 999));
    expect(exact.msg.channelResult).toMatchObject({ quantity: 999 });
    expect(exact.msg.channelResult.capped).toBeUndefined();
  });

  it('a SKU without an offer, another channel or account: permanent errors, nothing sent', async () => {
    sim = await startSimulator({ orders: 0 });
    await load();
    const unknown = await run('inv', ats('SKU-0009', 5));
    expect(unknown.ok).toBe(false);
    expect(unknown.msg.error.message).toMatch(/unknown SKU 'SKU-0009': no bol offer id for it in the node's offer map/);
    expect(unknown.msg.error.cause).toMatchObject({
      system: 'bol',
      operation: 'offers:stock',
      kind: 'missing-reference',
      retryable: false,
      providerCode: 'UnknownSku',
    });

    const other = await run('inv', { ...ats('SKU-0001', 1), channel: { system: 'amazon' } });
    expect(other.msg.error.message).toMatch(/wrong channel: inventory.ats for SKU-0001 is for channel 'amazon'; this node writes to bol/);
    const account = await run('inv', ats('SKU-0001', 1, undefined, '7654321'));
    expect(account.msg.error.message).toMatch(/wrong account: the document is for bol account '7654321', this node's account is '1234567'/);
    // The same rejected figure again, through the node with a store: rejected again, not taken as written.
    for (let i = 0; i < 2; i++) {
      const again = await run('invStore', ats('SKU-0009', 5));
      expect(again.msg.error.cause).toMatchObject({ providerCode: 'UnknownSku' });
    }
    expect(puts()).toBe(0);
    expect(sim.offer(offerOf('SKU-0001'))!.amount).toBe(0);
  });

  it("an offer bol does not know: its process status FAILURE reaches the dead-letter store naming the offer and bol's reason", async () => {
    sim = await startSimulator({ orders: 0 });
    await load();
    const stored = new Promise<any>((resolve) => helper.getNode('stored').once('input', resolve));
    const doc = ats('SKU-GONE', 4);
    helper.getNode('invStore').receive({ payload: doc });
    const msg = await stored;
    const store = await helper.getNode('s1').manager.acquire();
    const entry = await store.getDeadLetter(msg.deadLetter.id);
    expect(entry.nodeType).toBe('tillwire-bol-inventory');
    expect(entry.error.message).toMatch(
      new RegExp(
        `offer ${UNKNOWN_OFFER} \\(SKU 'SKU-GONE'\\): bol refused the stock update \\(process status \\d+\\): Offer with id ${UNKNOWN_OFFER} not found\\.`,
      ),
    );
    expect(entry.error.cause).toMatchObject({ system: 'bol', kind: 'value', retryable: false, providerCode: 'ProcessFailure' });
    expect(entry.message.payload).toEqual(doc);
    expect(sim.stockUpdates).toHaveLength(0);
    expect(statuses(helper.getNode('invStore')).at(-1)).toMatchObject({ fill: 'red', shape: 'ring' });
  });

  it('a figure that failed, replayed after a newer one was sent, does not overwrite it (store record of the newest figure)', async () => {
    sim = await startSimulator({ orders: 0, faults: { errorRate: 1, only: ['offers:stock'] } });
    await load();
    const failed = await run('invStore', ats('SKU-0001', 5, '2026-12-05T01:00:00Z'));
    expect(failed.ok).toBe(false);
    expect(failed.msg.error.cause).toMatchObject({ retryable: true, attempts: 3 });
    sim.setFaults({});
    expect((await run('invStore', ats('SKU-0001', 7, '2026-12-05T01:10:00Z'))).msg.channelResult.outcome).toBe('sent');
    const before = puts();
    const replay = await run('invStore', ats('SKU-0001', 5, '2026-12-05T01:00:00Z'));
    expect(replay.msg.channelResult).toMatchObject({ outcome: 'unchanged', stale: true, newer: '2026-12-05T01:10:00Z' });
    expect(puts()).toBe(before);
    expect(sim.offer(offerOf('SKU-0001'))!.amount).toBe(7);
    expect(sim.stockUpdates.map((u) => u.amount)).toEqual([7]);
  });

  it('an unusable offer map shows on the badge and fails every message with the reason', async () => {
    sim = await startSimulator({ orders: 0 });
    await load({ offers: '["SKU-0001"]' });
    expect(statuses(helper.getNode('inv'))[0]).toMatchObject({ fill: 'red', shape: 'ring' });
    const r = await run('inv', ats('SKU-0001', 1));
    expect(r.msg.error.message).toMatch(/the offer map is not a JSON object of SKU → offer id \(not a JSON object\)/);
    expect(puts()).toBe(0);
  });
});
