import storeNode from '../../nodes/core/store-config';
import deadLetterNode from '../../nodes/core/dead-letter';
import replayNode from '../../nodes/core/replay';
import dedupeNode from '../../nodes/core/dedupe';
import { helper, startServer, stopAll, collect, until } from '../support/node-red';

const nodes = [storeNode, deadLetterNode, replayNode, dedupeNode];

/**
 * A flow as a user wires it: work (a helper node that fails on demand), Catch -> dead letter,
 * replay -> work.
 */
function flow() {
  return [
    { id: 'f1', type: 'tab' },
    { id: 's1', type: 'tillwire-store', backend: 'memory' },
    { id: 'work', type: 'helper', z: 'f1', name: 'post to ERP' },
    { id: 'catcher', type: 'catch', z: 'f1', scope: ['work'], wires: [['dl']] },
    { id: 'dl', type: 'tillwire-dead-letter', z: 'f1', store: 's1', wires: [['stored']] },
    { id: 'stored', type: 'helper', z: 'f1' },
    { id: 'rp', type: 'tillwire-replay', z: 'f1', store: 's1', wires: [['work']] },
  ];
}

beforeEach(startServer);
afterEach(stopAll);

async function storeOf() {
  return (helper.getNode('s1') as any).manager.acquire();
}

describe('tillwire-dead-letter and tillwire-replay', () => {
  it('a failure caught by Catch is stored with payload, error, attempts, flow and node; replay re-emits it; a second failure returns to the same entry', async () => {
    await helper.load(nodes, flow());
    const work = helper.getNode('work');
    let fail = true;
    const succeeded: any[] = [];
    work.on('input', (msg: any) => {
      if (fail) work.error(new Error('ERP rejected: unknown SKU TEE-XL'), msg);
      else succeeded.push(msg);
    });
    const stored = collect(helper.getNode('stored'), 1);
    work.receive({ payload: { saleId: 'S-1' }, topic: 'sale.completed', tillwire: { idempotencyKey: 'sale:S1:T1:1', attempts: 0 } });
    const [first] = await stored;
    const store = await storeOf();
    const entry = await store.getDeadLetter(first.deadLetter.id);
    expect(entry).toMatchObject({
      status: 'pending',
      attempts: 1,
      flowId: 'f1',
      nodeId: 'work',
      nodeName: 'post to ERP',
      topic: 'sale.completed',
      error: { message: 'Error: ERP rejected: unknown SKU TEE-XL', source: { id: 'work', type: 'helper' } },
      message: { payload: { saleId: 'S-1' }, topic: 'sale.completed', tillwire: { idempotencyKey: 'sale:S1:T1:1' } },
    });
    expect(entry.history).toHaveLength(1);
    expect(Date.parse(entry.createdAt)).not.toBeNaN();

    // replay, fails again: same entry, two attempts in its history
    const storedAgain = collect(helper.getNode('stored'), 1);
    helper.getNode('rp').receive({ payload: entry.id });
    const [second] = await storedAgain;
    expect(second.deadLetter).toEqual({ id: entry.id, attempts: 2 });
    const after = await store.getDeadLetter(entry.id);
    expect(after).toMatchObject({ status: 'pending', attempts: 2 });
    expect(after.history.map((h: any) => h.attempt)).toEqual([1, 2]);
    expect(await store.countDeadLetters()).toBe(1);

    // fixed downstream: replay all pending of the flow, with an edited payload
    fail = false;
    helper.getNode('rp').receive({ payload: { flowId: 'f1', payload: { saleId: 'S-1', sku: 'TEE-L' } } });
    await until(() => succeeded.length === 1);
    expect(succeeded[0].payload).toEqual({ saleId: 'S-1', sku: 'TEE-L' });
    expect(succeeded[0].replay).toMatchObject({ deadLetterId: entry.id, attempts: 2 });
    expect(succeeded[0].tillwire).toMatchObject({ idempotencyKey: 'sale:S1:T1:1', deadLetterId: entry.id });
    expect((await store.getDeadLetter(entry.id)).status).toBe('replayed');
    // a replayed entry is not emitted again by a second replay
    helper.getNode('rp').receive({ payload: 'anything' });
    await until(() => (helper.getNode('rp') as any).status.lastCall?.args[0]?.text?.startsWith('replayed 0'));
    expect(succeeded).toHaveLength(1);
  });

  it('keeps a Buffer payload (raw bytes of a malformed message) exactly', async () => {
    await helper.load(nodes, flow());
    const work = helper.getNode('work');
    const replayed: any[] = [];
    let first = true;
    work.on('input', (msg: any) => {
      if (first) {
        first = false;
        work.error(new Error('Unexpected token'), msg);
      } else replayed.push(msg);
    });
    const raw = Buffer.from([0x7b, 0x22, 0xff, 0x00, 0x7d]);
    const stored = collect(helper.getNode('stored'), 1);
    work.receive({ payload: raw });
    const [s] = await stored;
    helper.getNode('rp').receive({ payload: [s.deadLetter.id] });
    await until(() => replayed.length === 1);
    expect(Buffer.isBuffer(replayed[0].payload)).toBe(true);
    expect(replayed[0].payload.equals(raw)).toBe(true);
  });

  it('admin API: list, count, get, edit with version check, delete, and replay through the button route', async () => {
    await helper.load(nodes, flow());
    const work = helper.getNode('work');
    let fail = true;
    const ok: any[] = [];
    work.on('input', (msg: any) => (fail ? work.error(new Error(`bad ${msg.payload.n}`), msg) : ok.push(msg)));
    const stored = collect(helper.getNode('stored'), 3);
    [1, 2, 3].forEach((n) => work.receive({ payload: { n } }));
    const ids = (await stored).map((m) => m.deadLetter.id);

    const list = await helper.request().get('/tillwire/dead-letters?limit=2').expect(200);
    expect(list.body.total).toBe(3);
    expect(list.body.entries.map((e: any) => e.message.payload.n)).toEqual([1, 2]);
    expect((await helper.request().get('/tillwire/dead-letters/count?flow=f1').expect(200)).body).toEqual({ count: 3 });
    expect((await helper.request().get('/tillwire/dead-letters/count?flow=other').expect(200)).body).toEqual({ count: 0 });
    await helper.request().get('/tillwire/dead-letters?status=bogus').expect(400);
    await helper.request().get('/tillwire/dead-letters/nope').expect(404);

    const one = (await helper.request().get(`/tillwire/dead-letters/${ids[0]}`).expect(200)).body;
    const edited = await helper
      .request()
      .put(`/tillwire/dead-letters/${ids[0]}`)
      .send({ payload: { n: 10 }, version: one.version })
      .expect(200);
    expect(edited.body.message.payload).toEqual({ n: 10 });
    const stale = await helper
      .request()
      .put(`/tillwire/dead-letters/${ids[0]}`)
      .send({ payload: { n: 11 }, version: one.version })
      .expect(409);
    expect(stale.body.error).toMatch(/changed since version/);
    await helper.request().put(`/tillwire/dead-letters/${ids[0]}`).send({}).expect(400);

    await helper.request().delete(`/tillwire/dead-letters/${ids[2]}`).expect(200);
    await helper.request().delete(`/tillwire/dead-letters/${ids[2]}`).expect(404);

    fail = false;
    const replayed = await helper.request().post('/tillwire/replay/rp').send({}).expect(200);
    expect(replayed.body).toEqual({ replayed: 2 });
    await until(() => ok.length === 2);
    expect(ok.map((m) => m.payload.n)).toEqual([10, 2]);
    await helper.request().post('/tillwire/replay/dl').send({}).expect(404);
  });

  it('a store that cannot be opened: red status naming the reason, and each message errors to Catch', async () => {
    await helper.load(
      nodes,
      [
        { id: 'f1', type: 'tab' },
        { id: 's1', type: 'tillwire-store', backend: 'postgres' },
        { id: 'd1', type: 'tillwire-dedupe', z: 'f1', store: 's1', wires: [['out']] },
        { id: 'out', type: 'helper', z: 'f1' },
        { id: 'c', type: 'catch', z: 'f1', scope: ['d1'], wires: [['caught']] },
        { id: 'caught', type: 'helper', z: 'f1' },
      ],
      { s1: { url: 'postgres://postgres@127.0.0.1:1/test' } },
    );
    const d1 = helper.getNode('d1');
    const manager = (helper.getNode('s1') as any).manager;
    await until(() => !manager.state.ok && !manager.state.opening);
    expect(d1.status.lastCall.args[0]).toMatchObject({ fill: 'red', shape: 'ring', text: expect.stringContaining('ECONNREFUSED') });
    const passed: any[] = [];
    helper.getNode('out').on('input', (m: any) => passed.push(m));
    const caught = collect(helper.getNode('caught'), 1);
    d1.receive({ payload: 1, tillwire: { idempotencyKey: 'k' } });
    expect((await caught)[0].error.message).toMatch(/store unavailable: .*ECONNREFUSED/);
    expect(passed).toHaveLength(0);
  });
});
