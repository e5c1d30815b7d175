/**
 * One contract, three backends: SQLite file, PostgreSQL (the real server on 127.0.0.1:5432) and memory.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqlite } from '../../nodes/runtime/sqlite-engine';
import { Client } from 'pg';
import { createStore, StoreConfig } from '../../nodes/runtime/create-store';
import type { SqlStoreOptions } from '../../nodes/runtime/sql-store';
import type { Store } from '../../nodes/runtime/store';
import { POSTGRES_URL, uniqueName } from '../support/services';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-store-'));
const pgSchema = uniqueName('tw_contract');

const backends: Array<[string, () => StoreConfig]> = [
  ['memory', () => ({ backend: 'memory' })],
  ['sqlite', () => ({ backend: 'sqlite', file: path.join(tmp, `${uniqueName('s')}.db`) })],
  ['postgres', () => ({ backend: 'postgres', url: POSTGRES_URL, schema: pgSchema, max: 10 })],
];

afterAll(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  const c = new Client({ connectionString: POSTGRES_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${pgSchema}" CASCADE`);
  await c.end();
});

describe.each(backends)('store contract: %s', (name, config) => {
  let clock = Date.parse('2026-11-01T10:00:00Z');
  const now = () => clock;
  const LEASE = 30_000;
  let store: Store;
  let cfg: StoreConfig;
  const scope = () => uniqueName('scope');
  // The claim tests drive the heartbeat by hand (heartbeatMs 0) with the test's clock.
  const open = async (options: SqlStoreOptions = {}) => {
    const s = createStore(cfg, tmp, { now, claimLeaseMs: LEASE, heartbeatMs: 0, ...options });
    await s.open();
    return s;
  };
  // A second owner needs a second store on the same file or database; memory is private to one.
  const shared = name !== 'memory';

  beforeEach(async () => {
    cfg = config();
    store = await open();
  });
  afterEach(async () => {
    await store.close();
  });

  it('a dead letter whose message holds a BigInt is parked, the BigInt kept as its digits', async () => {
    const entry = await store.putDeadLetter({
      flowId: uniqueName('big'),
      error: { message: 'boom' },
      attempts: 1,
      message: { payload: { units: 12345678901234567890n, nested: [1n] } },
    });
    expect((await store.getDeadLetter(entry.id))?.message.payload).toEqual({ units: '12345678901234567890', nested: ['1'] });
  });

  it('claims a new key once; a second claim is a duplicate in flight, then done after confirm', async () => {
    const s = scope();
    const first = await store.claim(s, 'order:shopify:1001');
    expect(first.outcome).toBe('claimed');
    expect(await store.claim(s, 'order:shopify:1001')).toEqual({ outcome: 'duplicate', state: 'in-flight' });
    expect(await store.confirm(s, 'order:shopify:1001', (first as { token: string }).token, 3_600_000)).toBe(true);
    expect(await store.claim(s, 'order:shopify:1001')).toEqual({ outcome: 'duplicate', state: 'done' });
    // the same key in another scope is independent
    expect((await store.claim(scope(), 'order:shopify:1001')).outcome).toBe('claimed');
  });

  it('a released key can be claimed again; a stale token cannot confirm or release', async () => {
    const s = scope();
    const a = (await store.claim(s, 'k')) as { token: string };
    expect(await store.release(s, 'k', 'not-the-token')).toBe(false);
    expect(await store.release(s, 'k', a.token)).toBe(true);
    const b = await store.claim(s, 'k');
    expect(b.outcome).toBe('claimed');
    expect(await store.confirm(s, 'k', a.token, 1000)).toBe(false);
  });

  it('an open claim never lapses while its owner renews it; one lease after the last renewal it is taken over', async () => {
    const other = shared ? await open() : store;
    try {
      const s = scope();
      const a = (await store.claim(s, 'k')) as { token: string };
      // a long ERP call: ten leases pass, the owner's heartbeat keeps renewing
      for (let i = 0; i < 10; i++) {
        clock += LEASE - 1;
        expect(await store.renewClaims()).toBe(1);
        expect(await other.claim(s, 'k')).toEqual({ outcome: 'duplicate', state: 'in-flight' });
      }
      // the owner dies: no more renewals
      clock += LEASE - 1;
      expect((await other.claim(s, 'k')).outcome).toBe('duplicate');
      clock += 1;
      expect((await other.claim(s, 'k')).outcome).toBe('claimed');
      // the dead owner's late completion does not count
      expect(await store.confirm(s, 'k', a.token, 1000)).toBe(false);
    } finally {
      if (other !== store) await other.close();
    }
  });

  it('one heartbeat renews every open claim of its owner and nothing else', async () => {
    const s = scope();
    const claims = await Promise.all(['a', 'b', 'c'].map((k) => store.claim(s, k)));
    await store.confirm(s, 'c', (claims[2] as { token: string }).token, 1000);
    if (shared) {
      const other = await open();
      await other.claim(s, 'd');
      expect(await other.renewClaims()).toBe(1);
      await other.close();
    }
    expect(await store.renewClaims()).toBe(2);
  });

  it('a redelivery of the same inbox entry by the same owner takes back its own open claim; nothing else does', async () => {
    const s = scope();
    const holder = 'pos-mqtt:in1#42';
    const first = (await store.claim(s, 'sale:S1:T1:7', { holder })) as { token: string };
    // the same entry delivered again but not as a redelivery, another entry, no entry: in flight
    expect(await store.claim(s, 'sale:S1:T1:7', { holder })).toEqual({ outcome: 'duplicate', state: 'in-flight' });
    expect(await store.claim(s, 'sale:S1:T1:7', { holder: 'pos-mqtt:in1#43', redelivery: true })).toEqual({ outcome: 'duplicate', state: 'in-flight' });
    expect(await store.claim(s, 'sale:S1:T1:7', { redelivery: true })).toEqual({ outcome: 'duplicate', state: 'in-flight' });
    if (shared) {
      // another live process re-emitting the same entry leaves the working owner alone
      const other = await open();
      expect(await other.claim(s, 'sale:S1:T1:7', { holder, redelivery: true })).toEqual({ outcome: 'duplicate', state: 'in-flight' });
      await other.close();
    }
    const again = await store.claim(s, 'sale:S1:T1:7', { holder, redelivery: true });
    expect(again.outcome).toBe('claimed');
    expect(await store.confirm(s, 'sale:S1:T1:7', first.token, 1000)).toBe(false);
    expect(await store.confirm(s, 'sale:S1:T1:7', (again as { token: string }).token, 60_000)).toBe(true);
    // once done, even its own redelivery is a duplicate
    expect(await store.claim(s, 'sale:S1:T1:7', { holder, redelivery: true })).toEqual({ outcome: 'duplicate', state: 'done' });
  });

  it('a confirmed key expires after its retention and is purged', async () => {
    const s = scope();
    const a = (await store.claim(s, 'k')) as { token: string };
    await store.confirm(s, 'k', a.token, 10_000);
    clock += 9_999;
    expect((await store.claim(s, 'k')).outcome).toBe('duplicate');
    clock += 1;
    expect(await store.purgeExpired()).toBeGreaterThanOrEqual(1);
    expect((await store.claim(s, 'k')).outcome).toBe('claimed');
  });

  it('the store renews its open claims on its own timer while open', async () => {
    const live = createStore(cfg, tmp, { claimLeaseMs: 300, heartbeatMs: 20 });
    const renew = jest.spyOn(live, 'renewClaims');
    await live.open();
    try {
      await live.claim(scope(), 'k');
      const deadline = Date.now() + 5_000;
      while (renew.mock.calls.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(renew.mock.calls.length).toBeGreaterThanOrEqual(3);
      expect(await renew.mock.results[2].value).toBe(1);
    } finally {
      await live.close();
    }
    const calls = renew.mock.calls.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(renew.mock.calls.length).toBe(calls); // the timer stops with the store
  });

  if (shared) {
    it('closing a store lets its open claims go at once; its confirmed keys stay', async () => {
      const s = scope();
      const a = await open();
      await a.claim(s, 'open');
      const done = (await a.claim(s, 'done')) as { token: string };
      await a.confirm(s, 'done', done.token, 60_000);
      await a.close();
      expect((await store.claim(s, 'open')).outcome).toBe('claimed');
      expect(await store.claim(s, 'done')).toEqual({ outcome: 'duplicate', state: 'done' });
    });

    it("a new run of the same instance frees the claims its killed predecessor left open, not other instances' claims", async () => {
      const s = scope();
      const instance = uniqueName('host|/data|store');
      const killed = await open({ instance });
      await killed.claim(s, 'mine');
      const neighbour = await open({ instance: uniqueName('other-host|/data|store') });
      await neighbour.claim(s, 'theirs');
      // `killed` never closes: it is gone without a word, like a process after SIGKILL
      const restarted = await open({ instance });
      try {
        expect((await restarted.claim(s, 'mine')).outcome).toBe('claimed');
        expect(await restarted.claim(s, 'theirs')).toEqual({ outcome: 'duplicate', state: 'in-flight' });
      } finally {
        await restarted.close();
        await neighbour.close();
        await killed.close(); // only now: closing lets go of its own claims, and it holds none any more
      }
    });

    it('two owners racing for a claim whose owner died: exactly one wins', async () => {
      const others = [await open(), await open()];
      try {
        for (let round = 0; round < 10; round++) {
          const s = scope();
          await store.claim(s, 'k');
          clock += LEASE;
          const results = await Promise.all(others.map((o) => o.claim(s, 'k')));
          expect(results.filter((r) => r.outcome === 'claimed')).toHaveLength(1);
        }
      } finally {
        for (const o of others) await o.close();
      }
    });
  }

  it('two concurrent claims of one key: exactly one wins', async () => {
    // A second, independent store instance (its own connection to the same file or database)
    // where the backend can be shared; memory is private to one instance by definition.
    const other = shared ? await open() : store;
    try {
      for (let round = 0; round < 20; round++) {
        const s = scope();
        const results = await Promise.all([store.claim(s, 'sale:S1:T1:42'), other.claim(s, 'sale:S1:T1:42')]);
        expect(results.filter((r) => r.outcome === 'claimed')).toHaveLength(1);
      }
    } finally {
      if (other !== store) await other.close();
    }
  });

  it('many concurrent claims of one key through a connection pool: exactly one wins', async () => {
    const s = scope();
    const results = await Promise.all(Array.from({ length: 25 }, () => store.claim(s, 'hot-key')));
    expect(results.filter((r) => r.outcome === 'claimed')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'duplicate')).toHaveLength(24);
  });

  it('stores, lists, counts, edits with optimistic versioning, and deletes dead letters', async () => {
    const flowId = uniqueName('flow');
    const putAt = new Date(clock).toISOString();
    const a = await store.putDeadLetter({
      flowId,
      nodeId: 'n1',
      nodeType: 'tillwire-canonical',
      nodeName: 'validate order',
      topic: 'order.accepted',
      error: { message: 'lines[2].quantity must be > 0' },
      attempts: 1,
      message: { payload: { id: 'A', amount: { amount: 1250, currency: 'GBP' } }, topic: 'order.accepted' },
    });
    clock += 1;
    await store.putDeadLetter({ flowId, nodeId: 'n2', error: { message: 'boom' }, attempts: 2, message: { payload: 'x' } });
    await store.putDeadLetter({ flowId: uniqueName('other'), error: { message: 'elsewhere' }, attempts: 1, message: {} });

    expect(a.id).toMatch(/[0-9a-f-]{36}/);
    expect(a.status).toBe('pending');
    expect(a.message).toEqual({ payload: { id: 'A', amount: { amount: 1250, currency: 'GBP' } }, topic: 'order.accepted' });
    expect(a.createdAt).toBe(putAt);

    expect(await store.countDeadLetters({ flowId })).toBe(2);
    expect((await store.listDeadLetters({ flowId })).map((e) => e.nodeId)).toEqual(['n1', 'n2']);
    expect((await store.listDeadLetters({ flowId, limit: 1, offset: 1 })).map((e) => e.nodeId)).toEqual(['n2']);
    // Without the kept messages: everything else as stored, the message left out.
    const summaries = await store.listDeadLetters({ flowId, withoutMessage: true });
    expect(summaries.map((e) => [e.nodeId, e.message, e.error.message, e.attempts, e.version])).toEqual([
      ['n1', {}, 'lines[2].quantity must be > 0', 1, a.version],
      ['n2', {}, 'boom', 2, expect.any(Number)],
    ]);
    expect(summaries[0]).toEqual({ ...a, message: {} });
    expect(await store.countDeadLetters({ ids: [a.id] })).toBe(1);
    expect(await store.countDeadLetters({ ids: [] })).toBe(0);

    const edited = await store.updateDeadLetter(a.id, { message: { payload: { id: 'A', fixed: true } } }, a.version);
    expect(edited?.message).toEqual({ payload: { id: 'A', fixed: true } });
    expect(edited?.version).toBe(a.version + 1);
    // a writer holding the old version loses
    expect(await store.updateDeadLetter(a.id, { status: 'replayed' }, a.version)).toBeUndefined();
    expect((await store.getDeadLetter(a.id))?.status).toBe('pending');

    expect(await store.deleteDeadLetter(a.id)).toBe(true);
    expect(await store.deleteDeadLetter(a.id)).toBe(false);
    expect(await store.getDeadLetter(a.id)).toBeUndefined();
    expect(await store.countDeadLetters({ flowId })).toBe(1);
  });

  it('inbox: stores an event once, lists it pending until completed, pages by id', async () => {
    const source = uniqueName('mqtt');
    const first = await store.inboxAdd(source, 'evt-1', { sale: 1 });
    expect(first.duplicate).toBe(false);
    // The new entry as returned is the entry as stored.
    expect([first.entry]).toEqual(await store.inboxPending(source));
    const again = await store.inboxAdd(source, 'evt-1', { sale: 'changed' });
    expect(again.duplicate).toBe(true);
    expect(again.entry.payload).toEqual({ sale: 1 });
    await store.inboxAdd(source, 'evt-2', { sale: 2 });
    await store.inboxAdd(source, 'evt-3', { sale: 3 });

    expect((await store.inboxPending(source)).map((e) => e.eventId)).toEqual(['evt-1', 'evt-2', 'evt-3']);
    const page = await store.inboxPending(source, 2);
    expect((await store.inboxPending(source, 2, page[1].id)).map((e) => e.eventId)).toEqual(['evt-3']);

    await store.inboxComplete(first.entry.id);
    await store.inboxTouch(page[1].id);
    const pending = await store.inboxPending(source);
    expect(pending.map((e) => [e.eventId, e.attempts])).toEqual([
      ['evt-2', 1],
      ['evt-3', 0],
    ]);
    // finished entries are purged after the inbox retention
    clock += 1000;
    await store.purgeExpired(500);
    expect((await store.inboxAdd(source, 'evt-1', { sale: 1 })).duplicate).toBe(false);
  });

  it('inbox: a delivery leases a pending entry; renewals extend the lease; completion ends it', async () => {
    const source = uniqueName('mqtt');
    const a = (await store.inboxAdd(source, 'a', {})).entry;
    const b = (await store.inboxAdd(source, 'b', {})).entry;
    expect(a.leasedUntil).toBeUndefined();
    await store.inboxTouch(a.id, 1000);
    let [la] = await store.inboxPending(source);
    expect([la.attempts, Date.parse(la.leasedUntil!)]).toEqual([1, clock + 1000]);
    clock += 500;
    await store.inboxRenew([a.id, b.id], 1000);
    const pending = await store.inboxPending(source);
    expect(pending.map((e) => [e.eventId, e.attempts, Date.parse(e.leasedUntil!)])).toEqual([
      ['a', 1, clock + 1000],
      ['b', 0, clock + 1000],
    ]);
    await store.inboxComplete(a.id);
    await store.inboxRenew([a.id], 1000); // a finished entry is not leased again
    [la] = await store.inboxPending(source);
    expect(la.eventId).toBe('b');
    expect((await store.inboxAdd(source, 'a', {})).entry).toMatchObject({ state: 'done' });
    expect((await store.inboxAdd(source, 'a', {})).entry.leasedUntil).toBeUndefined();
    // a graceful stop gives 'b' back: its lease ends and the cut-short delivery is not counted
    await store.inboxTouch(la.id, 1000);
    await store.inboxRelease([la.id]);
    expect((await store.inboxPending(source)).map((e) => [e.eventId, e.attempts, e.leasedUntil])).toEqual([['b', 0, undefined]]);
    await store.inboxRelease([la.id]);
    expect((await store.inboxPending(source))[0].attempts).toBe(0);
  });

  it('kv: durable values, and a compare-and-set that only one of two writers wins', async () => {
    const key = uniqueName('cursor');
    expect(await store.kvGet(key)).toBeUndefined();
    expect(await store.kvPut(key, { after: '2026-11-01T00:00:00Z' }, undefined)).toBe(true);
    expect(await store.kvPut(key, { after: 'x' }, undefined)).toBe(false); // exists already
    const [a, b] = await Promise.all([
      store.kvPut(key, { after: '2026-11-01T01:00:00Z' }, { after: '2026-11-01T00:00:00Z' }),
      store.kvPut(key, { after: '2026-11-01T02:00:00Z' }, { after: '2026-11-01T00:00:00Z' }),
    ]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    await store.kvPut(key, { after: 'forced' });
    expect(await store.kvGet(key)).toEqual({ after: 'forced' });
  });

  it('kv in bulk: many values read in one query, written by compare-and-set in one transaction, each entry decided on its own', async () => {
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((k) => uniqueName(`bulk-${k}`));
    await store.kvPut(a, { n: 1 });
    await store.kvPut(b, { n: 1 });
    expect(await store.kvGetMany([a, b, c])).toEqual(
      new Map([
        [a, { n: 1 }],
        [b, { n: 1 }],
      ]),
    );
    const wrote = await store.kvPutMany([
      { key: b, value: { n: 2 }, expected: { n: 9 } }, // someone else's value: not written
      { key: a, value: { n: 2 }, expected: { n: 1 } },
      { key: c, value: { n: 2 }, expected: undefined },
      { key: d, value: { n: 2 }, expected: { n: 1 } }, // absent, yet expected present: not written
    ]);
    expect(wrote).toEqual([false, true, true, false]);
    expect(await store.kvGetMany([a, b, c, d])).toEqual(
      new Map([
        [a, { n: 2 }],
        [b, { n: 1 }],
        [c, { n: 2 }],
      ]),
    );
    // Two writers from the same figures: each key goes to exactly one of them.
    const [x, y] = await Promise.all(
      [3, 4].map((n) =>
        store.kvPutMany([
          { key: a, value: { n }, expected: { n: 2 } },
          { key: c, value: { n }, expected: { n: 2 } },
        ]),
      ),
    );
    expect([x[0], y[0]].filter(Boolean)).toHaveLength(1);
    expect([x[1], y[1]].filter(Boolean)).toHaveLength(1);
    await expect(
      store.kvPutMany([
        { key: a, value: 1, expected: undefined },
        { key: a, value: 2, expected: undefined },
      ]),
    ).rejects.toThrow('a key given twice');
  });

  it('register: records a document once by key, adds refs from systems of record, lists a store day', async () => {
    const store_ = uniqueName('S');
    const entry = (n: number, terminal = 'T1', date = '2026-11-01') => ({
      key: `sale:${store_}:${terminal}:${n}`,
      kind: 'sale',
      storeId: store_,
      terminalId: terminal,
      businessDate: date,
      sequence: n,
      amount: n * 100,
      currency: 'GBP',
      document: { saleId: String(n) },
    });
    expect(await store.registerPut(entry(1))).toBe(true);
    expect(await store.registerPut({ ...entry(1), amount: 999 })).toBe(false);
    await store.registerPut(entry(2));
    await store.registerPut(entry(3, 'T2'));
    await store.registerPut(entry(4, 'T1', '2026-11-02'));

    expect(await store.registerSetRef(entry(1).key, 'odoo', 'S00042')).toBe(true);
    await Promise.all([store.registerSetRef(entry(2).key, 'odoo', 'S1'), store.registerSetRef(entry(2).key, 'bc', 'SO-1')]);
    expect(await store.registerSetRef('sale:nope', 'odoo', 'x')).toBe(false);
    // Ten systems at once on one entry all land; a system's second ref replaces its first.
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.registerSetRef(entry(3, 'T2').key, `sys${i}`, `R${i}`)));
    await store.registerSetRef(entry(3, 'T2').key, 'sys0', 'R0-again');
    expect((await store.registerGet(entry(3, 'T2').key))?.externalRefs).toEqual({
      ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`sys${i}`, `R${i}`])),
      sys0: 'R0-again',
    });

    const day = await store.registerList({ storeId: store_, businessDate: '2026-11-01' });
    expect(day.map((e) => [e.terminalId, e.sequence, e.amount])).toEqual([
      ['T1', 1, 100],
      ['T1', 2, 200],
      ['T2', 3, 300],
    ]);
    expect(day[0].externalRefs).toEqual({ odoo: 'S00042' });
    expect(day[1].externalRefs).toEqual({ odoo: 'S1', bc: 'SO-1' });
    expect((await store.registerGet(entry(1).key))?.document).toEqual({ saleId: '1' });
    expect((await store.registerList({ storeId: store_, terminalId: 'T1', limit: 1, afterKey: entry(1).key })).map((e) => e.sequence)).toEqual([2]);
  });

  it('order index: what Tillwire saw and the ERP ref each side keeps, the first ERP ref never replaced or cleared', async () => {
    const id = (n: string) => `${uniqueName('O')}-${n}`;
    const [a, b, c] = [id('a'), id('b'), id('c')];
    const seenAt = new Date(clock).toISOString();
    await store.orderSeen([
      { system: 'amazon', account: 'A1PA6795UKMFR9', orderId: a, gross: 11900, currency: 'EUR' },
      { system: 'bol', account: '', orderId: b, gross: 1234, currency: 'KWD' },
    ]);
    await store.orderAccepted({ system: 'amazon', account: 'A1PA6795UKMFR9', orderId: a }, 'odoo', 'S00042');
    // The ERP side can arrive first (the index write of the sighting failed or is still on its way).
    await store.orderAccepted({ system: 'bol', account: '', orderId: c }, 'business-central', 'SO-7');

    clock += 60_000;
    // Re-sent with a changed total: the gross follows; the first sighting's time and the ERP ref stay.
    await store.orderSeen([{ system: 'amazon', account: 'A1PA6795UKMFR9', orderId: a, gross: 12900, currency: 'EUR' }]);
    // Another ref for the same order (a redelivery, a second ERP) does not replace the first.
    await store.orderAccepted({ system: 'amazon', account: 'A1PA6795UKMFR9', orderId: a }, 'business-central', 'SO-9');

    const rows = await store.orderLookup([a, b, c, id('unknown')]);
    const byId = Object.fromEntries(rows.map((r) => [r.orderId, r]));
    expect(rows).toHaveLength(3);
    expect(byId[a]).toEqual({
      system: 'amazon',
      account: 'A1PA6795UKMFR9',
      orderId: a,
      gross: 12900,
      currency: 'EUR',
      seenAt,
      erpSystem: 'odoo',
      erpRef: 'S00042',
      erpAt: seenAt,
      // No order date given: the first sighting stands in for it.
      placedAt: seenAt,
      status: null,
    });
    expect(byId[b]).toMatchObject({ gross: 1234, currency: 'KWD', erpRef: null, erpSystem: null, erpAt: null });
    expect(byId[c]).toMatchObject({ gross: null, currency: null, seenAt: null, erpSystem: 'business-central', erpRef: 'SO-7' });

    expect((await store.orderLookup([a, b, c], { system: 'bol' })).map((r) => r.orderId).sort()).toEqual([b, c].sort());
    expect(await store.orderLookup([a], { system: 'amazon', account: 'other' })).toEqual([]);
    expect(await store.orderLookup([])).toEqual([]);

    // The lean rows settlement matching reads: the same answer, seen and accepted as booleans.
    const match = await store.orderMatch([a, b, c, id('unknown')]);
    expect(new Map(match.map((r) => [r.orderId, r]))).toEqual(
      new Map([
        [a, { orderId: a, seen: true, gross: 12900, currency: 'EUR', accepted: true }],
        [b, { orderId: b, seen: true, gross: 1234, currency: 'KWD', accepted: false }],
        [c, { orderId: c, seen: false, gross: null, currency: null, accepted: true }],
      ]),
    );
    expect(match).toHaveLength(3);
    expect((await store.orderMatch([a, b, c], { system: 'bol', account: '' })).map((r) => r.orderId).sort()).toEqual([b, c].sort());
    expect(await store.orderMatch([a], { system: 'amazon', account: 'other' })).toEqual([]);
  });

  it('order index: the same id in two channels is two rows; many ids, odd ones included, are looked up in batches', async () => {
    const prefix = uniqueName('M');
    // 1,234 ids: three lookup queries. Quotes, JSON and SQL punctuation, unicode are just ids.
    const odd = [`${prefix}'; DROP TABLE tw_kv; --`, `${prefix}","x":"`, `${prefix}-bestellung-ü-注文`, `${prefix}?`];
    const ids = [...Array.from({ length: 1230 }, (_, i) => `${prefix}-${i}`), ...odd];
    await store.orderSeen(ids.map((orderId, i) => ({ system: 'bol', account: '', orderId, gross: i, currency: 'EUR' })));
    await store.orderSeen([{ system: 'shopify', account: 'shop.example', orderId: `${prefix}-7`, gross: 1, currency: 'USD' }]);
    const asked = [...ids, `${prefix}-missing`];
    const rows = await store.orderLookup(asked);
    expect(rows).toHaveLength(ids.length + 1);
    expect(new Set(rows.map((r) => r.orderId))).toEqual(new Set(ids));
    expect(
      rows
        .filter((r) => r.orderId === `${prefix}-7`)
        .map((r) => `${r.system}:${r.gross}:${r.currency}`)
        .sort(),
    ).toEqual(['bol:7:EUR', 'shopify:1:USD']);
    expect(rows.find((r) => r.orderId === odd[0])?.gross).toBe(1230);
    const match = await store.orderMatch(asked, { system: 'bol', account: '' });
    expect(new Map(match.map((r) => [r.orderId, r.gross]))).toEqual(new Map(ids.map((orderId, i) => [orderId, i])));
    expect(match.every((r) => r.seen && !r.accepted && r.currency === 'EUR')).toBe(true);
    expect(await store.kvPut(uniqueName('still-there'), 1)).toBe(true);
    // One order twice in one call: its last state counts.
    const twice = { system: 'bol', account: '', orderId: `${prefix}-twice`, currency: 'EUR' };
    await store.orderSeen([
      { ...twice, gross: 1 },
      { ...twice, gross: 2 },
    ]);
    expect((await store.orderLookup([twice.orderId])).map((r) => r.gross)).toEqual([2]);
  });

  it('control totals: order date and status, settled orders per settlement, a channel day, unsettled orders', async () => {
    const sys = uniqueName('chan');
    const acct = 'A1';
    const o = (orderId: string, placedAt: string, extra: Partial<{ status: string; gross: number; currency: string }> = {}) => ({
      system: sys,
      account: acct,
      orderId,
      gross: 1000,
      currency: 'EUR',
      placedAt,
      ...extra,
    });
    await store.orderSeen([
      o('day-1', '2026-10-05T22:30:00Z'), // 2026-10-06 00:30 in Europe/Berlin
      o('day-2', '2026-10-06T12:00:00+02:00', { gross: 2550 }),
      o('cancelled', '2026-10-06T08:00:00Z', { status: 'cancelled' }),
      o('old', '2026-09-01T08:00:00Z'),
      o('next-day', '2026-10-06T22:00:00Z'),
    ]);
    // A later sighting without an order date keeps the date; the status follows the channel.
    await store.orderSeen([{ system: sys, account: acct, orderId: 'day-2', gross: 2550, currency: 'EUR', status: 'paid' }]);
    await store.orderAccepted({ system: sys, account: acct, orderId: 'day-1' }, 'odoo', 'S1');
    // Shipped in two parts, settled by two settlements; and a settlement naming an order Tillwire never saw.
    const row = (orderId: string, settlementId: string, charged: number) => ({
      system: sys,
      account: acct,
      orderId,
      settlementId,
      charged,
      net: charged - 100,
      currency: 'EUR',
      settledAt: '2026-10-06T09:00:00.000Z',
    });
    await store.settledOrdersReplace({ system: sys, account: acct, settlementId: 'S-1' }, [row('day-1', 'S-1', 400), row('ghost', 'S-1', 700)]);
    await store.settledOrdersAdd([row('stale', 'S-1', 5)]);
    // The reissue of S-1 replaces what its earlier version recorded (the 'stale' row goes).
    await store.settledOrdersReplace({ system: sys, account: acct, settlementId: 'S-1' }, [row('day-1', 'S-1', 600), row('ghost', 'S-1', 700)]);
    await store.settledOrdersAdd([row('day-1', 'S-2', 400)]);

    const from = Date.parse('2026-10-05T22:00:00Z');
    const to = Date.parse('2026-10-06T22:00:00Z');
    const day = await store.chainOrders({ system: sys, from, to });
    expect(day.map((d) => d.order!.orderId)).toEqual(['cancelled', 'day-1', 'day-2']);
    const [cancelled, day1, day2] = day;
    expect(cancelled.order).toMatchObject({ status: 'cancelled', placedAt: '2026-10-06T08:00:00.000Z' });
    expect(day1.order).toMatchObject({ erpRef: 'S1', gross: 1000, placedAt: '2026-10-05T22:30:00.000Z' });
    expect(day1.settled.map((s) => [s.settlementId, s.charged, s.net, s.settledAt])).toEqual([
      ['S-1', 600, 500, '2026-10-06T09:00:00.000Z'],
      ['S-2', 400, 300, '2026-10-06T09:00:00.000Z'],
    ]);
    expect(day2.order).toMatchObject({ gross: 2550, status: 'paid', placedAt: '2026-10-06T10:00:00.000Z', erpRef: null });
    expect(day2.settled).toEqual([]);
    // Keyset paging: one order a page.
    const first = await store.chainOrders({ system: sys, from, to, limit: 1 });
    const second = await store.chainOrders({ system: sys, from, to, limit: 1, after: first[0].order! });
    expect([first, second].map((p) => p.map((d) => d.order!.orderId))).toEqual([['cancelled'], ['day-1']]);
    expect(await store.chainOrders({ system: sys, account: 'other', from, to })).toEqual([]);

    expect((await store.settledUnseen({ system: sys, from, to })).map((r) => [r.orderId, r.charged])).toEqual([['ghost', 700]]);

    const unsettled = await store.unsettledOrders({ system: sys, before: Date.parse('2026-10-20T00:00:00Z'), limit: 2 });
    // 'old', 'day-2' and 'next-day': never settled; 'cancelled' is not flagged, 'day-1' is settled.
    expect(unsettled.count).toBe(3);
    expect(unsettled.orders.map((r) => r.orderId)).toEqual(['old', 'day-2']);
    expect((await store.unsettledOrders({ system: sys, before: Date.parse('2026-09-02T00:00:00Z') })).orders.map((r) => r.orderId)).toEqual(['old']);
  });

  it('settled orders: a date-only deposit date is its calendar day in any time zone; an order settled only in another currency stays unsettled, named', async () => {
    const sys = uniqueName('dates');
    const row = (orderId: string, settlementId: string, currency: string, settledAt: string) => ({
      system: sys,
      account: 'A',
      orderId,
      settlementId,
      charged: 500,
      net: 400,
      currency,
      settledAt,
    });
    // 'by-date': a payout stating only the date 2026-03-02 (stored as its 00:00 UTC);
    // 'at-time': a deposit at 2026-03-02 07:30 UTC (23:30 the day before in Los Angeles).
    await store.settledOrdersAdd([row('by-date', 'P-1', 'USD', '2026-03-02T00:00:00.000Z'), row('at-time', 'P-2', 'USD', '2026-03-02T07:30:00.000Z')]);
    const la = (day: string) => ({
      system: sys,
      ...(day === '2026-03-01'
        ? { from: Date.parse('2026-03-01T08:00:00Z'), to: Date.parse('2026-03-02T08:00:00Z') }
        : { from: Date.parse('2026-03-02T08:00:00Z'), to: Date.parse('2026-03-03T08:00:00Z') }),
      day,
    });
    expect((await store.settledUnseen(la('2026-03-01'))).map((r) => r.orderId)).toEqual(['at-time']);
    expect((await store.settledUnseen(la('2026-03-02'))).map((r) => r.orderId)).toEqual(['by-date']);

    await store.orderSeen([
      { system: sys, account: 'A', orderId: 'eur-order', gross: 500, currency: 'EUR', placedAt: '2026-02-01T10:00:00Z' },
      { system: sys, account: 'A', orderId: 'usd-order', gross: 500, currency: 'USD', placedAt: '2026-02-01T11:00:00Z' },
    ]);
    await store.settledOrdersAdd([row('eur-order', 'P-3', 'USD', '2026-03-02T00:00:00.000Z'), row('usd-order', 'P-3', 'USD', '2026-03-02T00:00:00.000Z')]);
    const unsettled = await store.unsettledOrders({ system: sys, before: Date.parse('2026-03-01T00:00:00Z') });
    expect([unsettled.count, unsettled.otherCurrency]).toEqual([1, 1]);
    expect(unsettled.orders).toEqual([expect.objectContaining({ orderId: 'eur-order', currency: 'EUR', settledIn: 'USD' })]);
  });

  it('settled orders: thousands in one call, odd ids and a key given twice, written in batches and read back exactly', async () => {
    const sys = uniqueName('bulk');
    const odd = [`'; DROP TABLE tw_kv; --`, `","x":"`, 'bestellung-ü-注文', '?'];
    const ids = [...Array.from({ length: 2341 }, (_, i) => `o-${String(i).padStart(5, '0')}`), ...odd];
    const row = (orderId: string, charged: number) => ({
      system: sys,
      account: '',
      orderId,
      settlementId: 'S-big',
      charged,
      net: -charged,
      currency: 'JPY',
      settledAt: '2026-10-06T00:00:00.000Z',
    });
    await store.settledOrdersReplace({ system: sys, account: '', settlementId: 'S-big' }, [
      ...ids.map((id, i) => row(id, i)),
      row('o-00000', 9_007_199_254_740_991),
    ]);
    const got = await store.settledUnseen({ system: sys, from: 0, to: Date.parse('2027-01-01T00:00:00Z'), limit: 10_000 });
    expect(got).toHaveLength(ids.length);
    const byId = new Map(got.map((r) => [r.orderId, r]));
    expect(new Set(byId.keys())).toEqual(new Set(ids));
    expect(byId.get('o-00000')).toMatchObject({ charged: 9_007_199_254_740_991, net: -9_007_199_254_740_991, currency: 'JPY' });
    expect(byId.get(odd[2])).toMatchObject({ charged: 2343, net: -2343, settlementId: 'S-big', settledAt: '2026-10-06T00:00:00.000Z' });
    // Page by page (keyset after the last row's key): every row once, in the same order as one read.
    const paged: typeof got = [];
    let after: { system: string; account: string; orderId: string; settlementId: string } | undefined;
    for (;;) {
      const page = await store.settledUnseen({ system: sys, from: 0, to: Date.parse('2027-01-01T00:00:00Z'), after, limit: 1000 });
      paged.push(...page);
      if (page.length < 1000) break;
      const last = page[page.length - 1];
      after = { system: last.system, account: last.account, orderId: last.orderId, settlementId: last.settlementId };
    }
    expect(paged.map((r) => r.orderId)).toEqual(got.map((r) => r.orderId));
  });

  it('kv entries are listed by prefix, in key order, page by page; a prefix with % or _ is taken literally', async () => {
    const p = `${uniqueName('list')}:`;
    for (const k of ['b', 'a', 'c%', 'c_']) await store.kvPut(`${p}${k}`, { k });
    await store.kvPut(`${p.slice(0, -1)}x`, 1); // shares all but the last character of the prefix
    const all = await store.kvList(p);
    expect(all.map((e) => e.key.slice(p.length)).sort()).toEqual(['a', 'b', 'c%', 'c_']);
    expect(all.map((e) => e.key)).toEqual([...all.map((e) => e.key)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(all[0].value).toEqual({ k: all[0].key.slice(p.length) });
    const page1 = await store.kvList(p, { limit: 2 });
    const page2 = await store.kvList(p, { limit: 2, afterKey: page1[1].key });
    expect([...page1, ...page2].map((e) => e.key)).toEqual(all.map((e) => e.key));
    expect(await store.kvList(`${p}c%`)).toHaveLength(1);
    expect(await store.kvList(`${uniqueName('none')}:`)).toEqual([]);
  });
});

describe('a store made before claims had owners', () => {
  // The claims table as version 0.1 created it, with an open claim and a kept key in it.
  const OLD_TABLE = `(scope TEXT NOT NULL, idem_key TEXT NOT NULL, state TEXT NOT NULL, token TEXT NOT NULL,
     expires_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (scope, idem_key))`;
  const t0 = Date.parse('2026-11-01T10:00:00Z');
  const OLD_ROWS = `('s', 'open', 'claimed', 'old-token', ${t0 + 300_000}, ${t0}), ('s', 'kept', 'done', 'old-token-2', ${t0 + 3_600_000}, ${t0})`;

  async function upgradeAndCheck(cfg: StoreConfig) {
    let clock = t0;
    const open = async () => {
      const s = createStore(cfg, tmp, { now: () => clock, heartbeatMs: 0 });
      await s.open();
      return s;
    };
    const a = await open();
    const b = await open(); // a second process opening the upgraded store finds the columns there
    try {
      // the old open claim keeps its old lease (it has no owner to renew it), then lapses
      expect(await a.claim('s', 'open')).toEqual({ outcome: 'duplicate', state: 'in-flight' });
      expect(await a.claim('s', 'kept')).toEqual({ outcome: 'duplicate', state: 'done' });
      expect(await a.renewClaims()).toBe(0);
      clock += 300_000;
      expect((await b.claim('s', 'open')).outcome).toBe('claimed');
      expect(await b.renewClaims()).toBe(1);
      expect(await a.claim('s', 'kept')).toEqual({ outcome: 'duplicate', state: 'done' });
    } finally {
      await a.close();
      await b.close();
    }
  }

  it('SQLite: gains the owner columns on open and keeps its keys', async () => {
    const file = path.join(tmp, `${uniqueName('old')}.db`);
    const db = openSqlite(file);
    db.exec(`CREATE TABLE tw_idempotency ${OLD_TABLE}`);
    db.exec(`INSERT INTO tw_idempotency VALUES ${OLD_ROWS}`);
    db.close();
    await upgradeAndCheck({ backend: 'sqlite', file });
  });

  it('PostgreSQL: gains the owner columns on open and keeps its keys', async () => {
    const schema = uniqueName('tw_old');
    const c = new Client({ connectionString: POSTGRES_URL });
    await c.connect();
    try {
      await c.query(`CREATE SCHEMA "${schema}"`);
      await c.query(`CREATE TABLE "${schema}".tw_idempotency ${OLD_TABLE}`);
      await c.query(`INSERT INTO "${schema}".tw_idempotency VALUES ${OLD_ROWS}`);
      await upgradeAndCheck({ backend: 'postgres', url: POSTGRES_URL, schema });
    } finally {
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    }
  });
});

describe('store that cannot be opened', () => {
  it('SQLite: a path inside a file names the problem', async () => {
    const file = path.join(tmp, 'plain-file');
    fs.writeFileSync(file, 'x');
    const store = createStore({ backend: 'sqlite', file: path.join(file, 'store.db') });
    await expect(store.open()).rejects.toThrow(/cannot open SQLite store at .*plain-file.*(EEXIST|ENOTDIR)/);
  });

  it('PostgreSQL: a server that is down is reported, not hung on', async () => {
    const store = createStore({ backend: 'postgres', url: 'postgres://postgres@127.0.0.1:1/test' });
    await expect(store.open()).rejects.toThrow(/ECONNREFUSED/);
  });
});
