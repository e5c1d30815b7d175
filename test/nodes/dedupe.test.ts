import storeNode from '../../nodes/core/store-config';
import dedupeNode from '../../nodes/core/dedupe';
import { helper, startServer, stopAll, collect, until } from '../support/node-red';

const nodes = [storeNode, dedupeNode];
const tab = { id: 'f1', type: 'tab', label: 'dedupe' };
const store = { id: 's1', type: 'tillwire-store', backend: 'memory', z: '' };

function flow(dedupe: Record<string, unknown> = {}, extra: object[] = []) {
  return [
    tab,
    store,
    { id: 'd1', type: 'tillwire-dedupe', z: 'f1', store: 's1', wires: [['out'], ['dups']], ...dedupe },
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'dups', type: 'helper', z: 'f1' },
    ...extra,
  ];
}

const msgFor = (key: string, n = 0) => ({ payload: { n }, tillwire: { idempotencyKey: key } });

beforeEach(startServer);
afterEach(stopAll);

describe('tillwire-dedupe', () => {
  it('1,000 messages with 10% duplicates: exactly the unique ones pass, in order', async () => {
    await helper.load(nodes, flow({ duplicates: 'output', outputs: 2 }));
    const d1 = helper.getNode('d1');
    const unique = Array.from({ length: 900 }, (_, i) => `sale:S${i % 200}:T${i % 4}:${i}`);
    // 100 duplicates of randomly chosen earlier keys, interleaved
    const stream: string[] = [];
    let dupIndex = 0;
    unique.forEach((key, i) => {
      stream.push(key);
      if (i % 9 === 8) stream.push(unique[Math.floor((dupIndex++ * 7919) % (i + 1))]);
    });
    expect(stream).toHaveLength(1000);
    const passed = collect(helper.getNode('out'), 900);
    const dropped = collect(helper.getNode('dups'), 100);
    stream.forEach((key, n) => d1.receive(msgFor(key, n)));
    const out = await passed;
    expect(out.map((m) => m.tillwire.idempotencyKey)).toEqual(unique);
    const dups = await dropped;
    // a copy arriving while the first is between claim and confirm is reported in flight
    expect(dups.every((m) => ['done', 'in-flight'].includes(m.duplicate.state))).toBe(true);
    expect(dups.map((m) => m.duplicate.key).every((k) => unique.includes(k))).toBe(true);
    // and nothing more arrives later
    await new Promise((r) => setImmediate(r));
    expect(out).toHaveLength(900);
  });

  it('drops duplicates by default and counts them on the status badge', async () => {
    await helper.load(nodes, flow());
    const d1 = helper.getNode('d1');
    const out = helper.getNode('out');
    const got: any[] = [];
    out.on('input', (m: any) => got.push(m));
    const done = new Promise<void>((resolve) =>
      d1.on('call:status', (call: any) => {
        if (call.args[0]?.text === 'passed 2, duplicates 3') resolve();
      }),
    );
    ['a', 'a', 'b', 'a', 'b'].forEach((k) => d1.receive(msgFor(k)));
    await done;
    await until(() => got.length >= 2);
    expect(got.map((m) => m.tillwire.idempotencyKey)).toEqual(['a', 'b']);
  });

  it('two copies arriving together: exactly one passes', async () => {
    await helper.load(nodes, flow({ duplicates: 'output', outputs: 2 }));
    const d1 = helper.getNode('d1');
    const passed = collect(helper.getNode('out'), 1);
    const dup = collect(helper.getNode('dups'), 1);
    d1.receive(msgFor('order:shopify:-:1001', 1));
    d1.receive(msgFor('order:shopify:-:1001', 2));
    expect((await passed)[0].payload.n).toBe(1);
    expect((await dup)[0].duplicate).toEqual({ key: 'order:shopify:-:1001', state: expect.stringMatching(/^(done|in-flight)$/) });
  });

  it('a message without a key goes to Catch, naming the missing property; the next one still passes', async () => {
    await helper.load(
      nodes,
      flow({}, [
        { id: 'c1', type: 'catch', z: 'f1', scope: ['d1'], wires: [['caught']] },
        { id: 'caught', type: 'helper', z: 'f1' },
      ]),
    );
    const d1 = helper.getNode('d1');
    const caught = collect(helper.getNode('caught'), 1);
    const passed = collect(helper.getNode('out'), 1);
    d1.receive({ payload: 'no envelope' });
    d1.receive(msgFor('k1'));
    expect((await caught)[0].error.message).toBe('Error: dedupe: the message has no idempotency key at msg.tillwire.idempotencyKey');
    expect((await passed)[0].tillwire.idempotencyKey).toBe('k1');
  });

  it('a key taken by a JSONata expression', async () => {
    await helper.load(nodes, flow({ key: '"sale:" & payload.store & ":" & payload.id', keyType: 'jsonata' }));
    const d1 = helper.getNode('d1');
    const passed = collect(helper.getNode('out'), 2);
    d1.receive({ payload: { store: 'S1', id: 1 } });
    d1.receive({ payload: { store: 'S1', id: 1 } });
    d1.receive({ payload: { store: 'S1', id: 2 } });
    expect((await passed).map((m) => m.payload.id)).toEqual([1, 2]);
  });

  it('a downstream failure returned by a Catch node releases the key, so the redelivery passes', async () => {
    // d1 -> fail (a function that throws for the first attempt); catch(fail) -> d1
    await helper.load(
      nodes,
      flow({ duplicates: 'output', outputs: 2 }, [{ id: 'c1', type: 'catch', z: 'f1', scope: ['out'], wires: [['d1']] }]).map((n: any) =>
        n.id === 'd1' ? { ...n, wires: [['out'], ['dups']] } : n,
      ),
    );
    const d1 = helper.getNode('d1');
    const out = helper.getNode('out');
    let attempts = 0;
    const delivered: any[] = [];
    out.on('input', (msg: any) => {
      attempts++;
      if (attempts === 1)
        out.error(new Error('ERP said 503'), msg); // the downstream work failed
      else delivered.push(msg);
    });
    const store = await (helper.getNode('s1') as any).manager.acquire();
    const release = store.release.bind(store);
    const released: string[] = [];
    store.release = async (scope: string, key: string, token: string) => {
      const ok = await release(scope, key, token);
      if (ok) released.push(key);
      return ok;
    };
    d1.receive(msgFor('sale:S1:T1:7'));
    await until(() => attempts === 1);
    // the failure travels Catch -> dedupe asynchronously: redeliver once the key is released
    await until(() => released.length === 1);
    expect(released[0]).toBe('sale:S1:T1:7');
    d1.receive(msgFor('sale:S1:T1:7'));
    await until(() => delivered.length === 1);
    expect(attempts).toBe(2);
    expect(delivered[0].tillwire.idempotencyKey).toBe('sale:S1:T1:7');
  });

  it('confirm on complete: the claim is held until the Complete node returns the message', async () => {
    await helper.load(
      nodes,
      flow({ confirm: 'complete', duplicates: 'output', outputs: 2, waitSeconds: 0 }, [
        { id: 'done1', type: 'complete', z: 'f1', scope: ['out'], wires: [['d1']] },
      ]),
    );
    const d1 = helper.getNode('d1');
    const out = helper.getNode('out');
    const store = await (helper.getNode('s1') as any).manager.acquire();
    const scope = 'node:d1';
    const passed = collect(out, 1);
    d1.receive(msgFor('k-complete'));
    const [first] = await passed;
    const claim = first.tillwireClaims.d1;
    expect(claim).toEqual({ scope, key: 'k-complete', token: expect.any(String) });
    // while in flight, a second copy is reported as in-flight (this node does not wait for it)
    const dup = collect(helper.getNode('dups'), 1);
    d1.receive(msgFor('k-complete'));
    expect((await dup)[0].duplicate.state).toBe('in-flight');
    // the helper node calls done() when it has handled a message, which triggers the Complete node
    // only if it is a real node; here we return the message as a Complete node would
    d1.receive({ ...first });
    await until(async () => (await store.confirm(scope, 'k-complete', claim.token, 1)) === true);
  });

  describe('a copy arriving while the first is in flight', () => {
    const completeFlow = (extra: Record<string, unknown> = {}) =>
      flow({ confirm: 'complete', duplicates: 'output', outputs: 2, ...extra }, [{ id: 'done1', type: 'complete', z: 'f1', scope: ['out'], wires: [['d1']] }]);

    it('waits for it: once the first fails (its Catch releases the key) the waiting copy passes', async () => {
      await helper.load(nodes, completeFlow());
      const d1 = helper.getNode('d1');
      const out = helper.getNode('out');
      const got: any[] = [];
      out.on('input', (m: any) => got.push(m));
      const waiting = new Promise<void>((resolve) =>
        d1.on('call:status', (call: any) => {
          if (/waiting 1$/.test(call.args[0]?.text ?? '')) resolve();
        }),
      );
      d1.receive(msgFor('sale:S1:T1:9', 1));
      await until(() => got.length === 1);
      d1.receive(msgFor('sale:S1:T1:9', 2));
      await waiting;
      expect(got).toHaveLength(1);
      // the first copy's work failed: it comes back as a Catch node would return it
      d1.receive({ ...got[0], error: { message: 'ERP said 503' } });
      await until(() => got.length === 2);
      expect(got[1].payload.n).toBe(2);
    });

    it('waits for it: once the first completes, the waiting copy is a duplicate that is done', async () => {
      await helper.load(nodes, completeFlow());
      const d1 = helper.getNode('d1');
      const passed = collect(helper.getNode('out'), 1);
      const dup = collect(helper.getNode('dups'), 1);
      d1.receive(msgFor('sale:S1:T1:10', 1));
      const [first] = await passed;
      d1.receive(msgFor('sale:S1:T1:10', 2));
      d1.receive({ ...first }); // returned by the Complete node
      const [second] = await dup;
      expect(second.duplicate).toEqual({ key: 'sale:S1:T1:10', state: 'done' });
      expect(second.payload.n).toBe(2);
    });

    it('a flow saved with the old lease setting waits that long', async () => {
      await helper.load(nodes, completeFlow({ leaseSeconds: 0.2 }));
      const d1 = helper.getNode('d1');
      const passed = collect(helper.getNode('out'), 1);
      const dup = collect(helper.getNode('dups'), 1);
      d1.receive(msgFor('k-old', 1));
      await passed;
      d1.receive(msgFor('k-old', 2));
      expect((await dup)[0].duplicate).toEqual({ key: 'k-old', state: 'in-flight' });
    });
  });

  it('the inbox delivering the same entry again takes back the claim its lost first attempt left open in this process', async () => {
    await helper.load(
      nodes,
      flow({ confirm: 'complete', duplicates: 'output', outputs: 2, waitSeconds: 0 }, [
        { id: 'done1', type: 'complete', z: 'f1', scope: ['out'], wires: [['d1']] },
      ]),
    );
    const d1 = helper.getNode('d1');
    const out = helper.getNode('out');
    const got: any[] = [];
    out.on('input', (m: any) => got.push(m));
    const dups = collect(helper.getNode('dups'), 2);
    const fromInbox = (entry: string, attempts: number) => ({
      ...msgFor('sale:S1:T1:11', attempts),
      tillwire: { idempotencyKey: 'sale:S1:T1:11', attempts },
      tillwireInbox: { source: 'pos-mqtt:in1', id: entry },
    });
    d1.receive(fromInbox('42', 0));
    await until(() => got.length === 1);
    // the first attempt never comes back (lost downstream without reaching Catch or Complete);
    // a different inbox entry with the same key, and the same entry not marked as a redelivery, stay duplicates
    d1.receive(fromInbox('43', 1));
    d1.receive(fromInbox('42', 0));
    expect((await dups).map((m) => m.duplicate.state)).toEqual(['in-flight', 'in-flight']);
    // the inbox re-emits entry 42 (attempt 1): it passes
    d1.receive(fromInbox('42', 1));
    await until(() => got.length === 2);
    expect(got[1].tillwire.attempts).toBe(1);
    // the lost first attempt's late completion cannot confirm the retaken claim; the redelivery's can
    const warned = new Promise<string>((resolve) => d1.on('call:warn', (call: any) => resolve(String(call.args[0]))));
    d1.receive({ ...got[0] });
    expect(await warned).toMatch(/no longer this message's/);
    d1.receive({ ...got[1] });
    const store = await (helper.getNode('s1') as any).manager.acquire();
    await until(async () => (await store.claim('node:d1', 'sale:S1:T1:11')).state === 'done');
  });
});
