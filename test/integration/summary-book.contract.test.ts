/**
 * The summary book (summarised posting) on the store, one contract for SQLite (a file), PostgreSQL
 * (the real server on 127.0.0.1:5432) and memory: assignment once per sale key, summaries per store,
 * business date, currency, tax basis and interval, closing when the interval ends, late sales into
 * the next summary, posting recorded once with the sales' register refs, and concurrent assignments
 * that never lose or double-count a sale.
 */
import { createStore, StoreConfig } from '../../nodes/runtime/create-store';
import type { Store } from '../../nodes/runtime/store';
import type { SaleToAssign } from '../../nodes/runtime/summaries';
import { rawSql, storeBackends } from '../support/store-backends';

const { dir: tmp, backends } = storeBackends('sum');

const INTERVAL = 60_000;
const T0 = Date.parse('2026-03-14T12:00:00Z');

function sale(key: string, amount: number, over: Partial<SaleToAssign> = {}): SaleToAssign {
  return {
    key,
    storeId: 'LDN-042',
    businessDate: '2026-03-14',
    amount,
    currency: 'GBP',
    taxesIncluded: true,
    occurredAt: new Date(clock.now).toISOString(),
    document: { kind: 'sale', saleId: key },
    ...over,
  };
}

const clock = { now: T0 };

describe.each(backends)('summary book: %s', (_name, config) => {
  let store: Store;
  let cfg: StoreConfig;
  const open = async () => {
    const s = createStore(cfg, tmp, { heartbeatMs: 0, now: () => clock.now });
    await s.open();
    return s;
  };
  /** Register entries for the sales sale:LDN-042:T1:1 and :2. */
  const registerTwo = async () => {
    for (const k of ['sale:LDN-042:T1:1', 'sale:LDN-042:T1:2'])
      await store.registerPut({
        key: k,
        kind: 'sale',
        storeId: 'LDN-042',
        terminalId: 'T1',
        businessDate: '2026-03-14',
        sequence: 1,
        amount: 100,
        currency: 'GBP',
        document: {},
      });
  };
  beforeEach(async () => {
    clock.now = T0 + 1000;
    cfg = config();
    store = await open();
  });
  afterEach(async () => {
    await store.close();
  });

  test('assignMany: one transaction, one outcome per sale in order; a key twice is a duplicate the second time; a sale that cannot be stored fails alone', async () => {
    const out = await store.summaries.assignMany(
      'odoo',
      [
        sale('sale:LDN-042:T1:1', 1250),
        sale('sale:MAN-001:T1:1', 500, { storeId: 'MAN-001' }),
        sale('sale:LDN-042:T1:2', 99, { storeId: null as unknown as string }), // NOT NULL: refused
        sale('sale:LDN-042:T1:1', 1250),
        sale('sale:LDN-042:T2:1', -300),
      ],
      INTERVAL,
    );
    expect(out[0]).toEqual({ summaryKey: 'summary:LDN-042:2026-03-14:1', duplicate: false, late: false });
    expect(out[1]).toEqual({ summaryKey: 'summary:MAN-001:2026-03-14:1', duplicate: false, late: false });
    expect(out[2]).toBeInstanceOf(Error);
    expect(out[3]).toEqual({ summaryKey: 'summary:LDN-042:2026-03-14:1', duplicate: true, late: false });
    expect(out[4]).toEqual({ summaryKey: 'summary:LDN-042:2026-03-14:1', duplicate: false, late: false });
    // The refused sale left nothing behind: the counts are those of the sales assigned.
    expect(await store.summaries.get('odoo', 'summary:LDN-042:2026-03-14:1')).toMatchObject({ sales: 2, amount: 950 });
    expect(await store.summaries.get('odoo', 'summary:MAN-001:2026-03-14:1')).toMatchObject({ sales: 1, amount: 500 });
    expect(await store.summaries.saleAssignment('odoo', 'sale:LDN-042:T1:2')).toBeUndefined();
    // Sent again on its own, fixed, it is assigned like any other.
    expect(await store.summaries.assign('odoo', sale('sale:LDN-042:T1:2', 99), INTERVAL)).toMatchObject({ duplicate: false });
  });

  test('sales of one store day and interval go into one summary; a duplicate key is counted once', async () => {
    const a = await store.summaries.assign('odoo', sale('sale:LDN-042:T1:1', 1250), INTERVAL);
    const b = await store.summaries.assign('odoo', sale('sale:LDN-042:T2:1', -300), INTERVAL);
    const again = await store.summaries.assign('odoo', sale('sale:LDN-042:T1:1', 1250), INTERVAL);
    expect(a).toEqual({ summaryKey: 'summary:LDN-042:2026-03-14:1', duplicate: false, late: false });
    expect(b.summaryKey).toBe(a.summaryKey);
    expect(again).toEqual({ summaryKey: a.summaryKey, duplicate: true, late: false });
    const rec = await store.summaries.get('odoo', a.summaryKey);
    expect(rec).toMatchObject({
      state: 'open',
      sales: 2,
      amount: 950,
      currency: 'GBP',
      seq: 1,
      from: '2026-03-14T12:00:00.000Z',
      to: '2026-03-14T12:01:00.000Z',
    });
    expect((await store.summaries.sales('odoo', a.summaryKey)).map((s) => [s.key, s.amount])).toEqual([
      ['sale:LDN-042:T1:1', 1250],
      ['sale:LDN-042:T2:1', -300],
    ]);
    // Another store, another business date, another ERP: summaries of their own.
    const other = await store.summaries.assign('odoo', sale('sale:MAN-001:T1:1', 500, { storeId: 'MAN-001' }), INTERVAL);
    const nextDay = await store.summaries.assign('odoo', sale('sale:LDN-042:T1:9', 500, { businessDate: '2026-03-15' }), INTERVAL);
    const bc = await store.summaries.assign('business-central', sale('sale:LDN-042:T1:1', 1250), INTERVAL);
    expect([other.summaryKey, nextDay.summaryKey, bc.summaryKey]).toEqual([
      'summary:MAN-001:2026-03-14:1',
      'summary:LDN-042:2026-03-15:1',
      'summary:LDN-042:2026-03-14:1',
    ]);
    expect(bc.duplicate).toBe(false);
  });

  test('the interval ends: the summary closes, is due, and a late sale goes into the next summary', async () => {
    const first = await store.summaries.assign('odoo', sale('sale:LDN-042:T1:1', 100), INTERVAL);
    expect(await store.summaries.closeDue('odoo')).toEqual([]);
    clock.now = T0 + INTERVAL;
    expect(await store.summaries.closeDue('odoo')).toEqual([first.summaryKey]);
    const due = await store.summaries.due('odoo');
    expect(due.map((d) => [d.key, d.state, d.sales, d.amount])).toEqual([[first.summaryKey, 'closed', 1, 100]]);
    // Rang up in the first interval, arriving after it closed.
    const late = await store.summaries.assign('odoo', sale('sale:LDN-042:T1:2', 40, { occurredAt: new Date(T0 + 30_000).toISOString() }), INTERVAL);
    expect(late).toEqual({ summaryKey: 'summary:LDN-042:2026-03-14:2', duplicate: false, late: true });
    expect((await store.summaries.saleAssignment('odoo', 'sale:LDN-042:T1:2'))?.late).toBe(true);
    expect((await store.summaries.get('odoo', first.summaryKey))?.sales).toBe(1);
    // An open summary whose interval ended before the timer closed it is closed by the next sale.
    clock.now = T0 + 2 * INTERVAL + 5;
    const third = await store.summaries.assign('odoo', sale('sale:LDN-042:T1:3', 7), INTERVAL);
    expect(third.summaryKey).toBe('summary:LDN-042:2026-03-14:3');
    expect((await store.summaries.get('odoo', late.summaryKey))?.state).toBe('closed');
    expect((await store.summaries.list({ storeId: 'LDN-042', businessDate: '2026-03-14' })).map((s) => [s.seq, s.state, s.sales])).toEqual([
      [1, 'closed', 1],
      [2, 'closed', 1],
      [3, 'open', 1],
    ]);
  });

  test('posting is recorded once, with the ERP number on each sale in the register; a failure counts attempts', async () => {
    await registerTwo();
    await store.registerSetRef('sale:LDN-042:T1:1', 'shopify', 'x-1');
    const { summaryKey } = await store.summaries.assign('odoo', sale('sale:LDN-042:T1:1', 100), INTERVAL);
    await store.summaries.assign('odoo', sale('sale:LDN-042:T1:2', 100), INTERVAL);
    expect(await store.summaries.posted('odoo', summaryKey, { id: '7', ref: 'S00007' }, 'odoo')).toBe(false); // still open
    clock.now = T0 + INTERVAL;
    await store.summaries.closeDue('odoo');
    expect(await store.summaries.failed('odoo', summaryKey, 'HTTP 503', clock.now + 5000)).toBe(1);
    expect(await store.summaries.due('odoo')).toEqual([]);
    clock.now += 5000;
    expect((await store.summaries.due('odoo')).map((d) => [d.key, d.attempts, d.lastError])).toEqual([[summaryKey, 1, 'HTTP 503']]);
    expect(await store.summaries.posted('odoo', summaryKey, { id: '7', ref: 'S00007' }, 'odoo')).toBe(true);
    expect(await store.summaries.posted('odoo', summaryKey, { id: '8', ref: 'S00008' }, 'odoo')).toBe(false);
    expect(await store.summaries.get('odoo', summaryKey)).toMatchObject({ state: 'posted', erpId: '7', erpRef: 'S00007' });
    expect(await store.summaries.due('odoo')).toEqual([]);
    expect((await store.registerGet('sale:LDN-042:T1:1'))?.externalRefs).toEqual({ shopify: 'x-1', odoo: 'S00007', 'odoo.summary': summaryKey });
    expect((await store.registerGet('sale:LDN-042:T1:2'))?.externalRefs).toEqual({ odoo: 'S00007', 'odoo.summary': summaryKey });
  });

  test('refs merged into an entry whose refs are not a JSON object (a hand edit, an old row) make an object of them', async () => {
    await registerTwo();
    const { summaryKey } = await store.summaries.assign('odoo', sale('sale:LDN-042:T1:1', 100), INTERVAL);
    await store.summaries.assign('odoo', sale('sale:LDN-042:T1:2', 100), INTERVAL);
    // Memory cannot be reached from outside the store: there the refs stay as the store wrote them.
    const edited = await rawSql(cfg, tmp, `UPDATE tw_register SET external_refs = CASE WHEN reg_key LIKE '%:1' THEN 'null' ELSE '[]' END`);
    clock.now = T0 + INTERVAL;
    await store.summaries.closeDue('odoo');
    expect(await store.summaries.posted('odoo', summaryKey, { id: '7', ref: 'S00007' }, 'odoo')).toBe(true);
    await store.registerSetRef('sale:LDN-042:T1:2', 'shopify', 'x-2');
    expect(edited).toBe(cfg.backend !== 'memory');
    expect((await store.registerGet('sale:LDN-042:T1:1'))?.externalRefs).toEqual({ odoo: 'S00007', 'odoo.summary': summaryKey });
    expect((await store.registerGet('sale:LDN-042:T1:2'))?.externalRefs).toEqual({ odoo: 'S00007', 'odoo.summary': summaryKey, shopify: 'x-2' });
  });

  test('a closed summary split before posting: the moved sales in a new closed summary of the same interval, counts and totals exact; not once posted', async () => {
    const { summaryKey } = await store.summaries.assign('odoo', sale('sale:LDN-042:T1:1', 100), INTERVAL);
    await store.summaries.assign('odoo', sale('sale:LDN-042:T1:2', 250), INTERVAL);
    await store.summaries.assign('odoo', sale('sale:LDN-042:T1:3', -40), INTERVAL);
    expect(await store.summaries.split('odoo', summaryKey, ['sale:LDN-042:T1:3'])).toBeUndefined(); // still open
    clock.now = T0 + INTERVAL;
    await store.summaries.closeDue('odoo');
    const next = await store.summaries.split('odoo', summaryKey, ['sale:LDN-042:T1:2', 'sale:LDN-042:T1:3']);
    expect(next).toBe('summary:LDN-042:2026-03-14:2');
    const [a, b] = [await store.summaries.get('odoo', summaryKey), await store.summaries.get('odoo', next!)];
    expect([a!.state, a!.sales, a!.amount, a!.from, a!.to]).toEqual(['closed', 1, 100, a!.from, a!.to]);
    expect([b!.state, b!.sales, b!.amount, b!.from, b!.to]).toEqual(['closed', 2, 210, a!.from, a!.to]);
    expect((await store.summaries.sales('odoo', next!)).map((x) => x.key)).toEqual(['sale:LDN-042:T1:2', 'sale:LDN-042:T1:3']);
    expect((await store.summaries.due('odoo')).map((d) => d.key)).toEqual([summaryKey, next]);
    await store.summaries.posted('odoo', summaryKey, { id: '1', ref: 'S1' }, 'odoo');
    expect(await store.summaries.split('odoo', summaryKey, ['sale:LDN-042:T1:1'])).toBeUndefined();
    expect((await store.summaries.get('odoo', summaryKey))?.sales).toBe(1);
  });

  test('sales in another currency or tax basis get a second summary of the interval, each with its own key; the first sale decides nothing', async () => {
    // A stray till's EUR sale comes first; the store's own GBP sales still flow, into their own summary.
    const eur = await store.summaries.assign('odoo', sale('sale:LDN-042:T9:1', 1999, { currency: 'EUR' }), INTERVAL);
    const gbp1 = await store.summaries.assign('odoo', sale('sale:LDN-042:T1:1', 100), INTERVAL);
    const gbp2 = await store.summaries.assign('odoo', sale('sale:LDN-042:T2:1', 250), INTERVAL);
    const added = await store.summaries.assign('odoo', sale('sale:LDN-042:T3:1', 40, { taxesIncluded: false }), INTERVAL);
    const eur2 = await store.summaries.assign('odoo', sale('sale:LDN-042:T9:2', -500, { currency: 'EUR' }), INTERVAL);
    expect([eur, gbp1, gbp2, added, eur2].map((a) => [a.summaryKey, a.duplicate, a.late])).toEqual([
      ['summary:LDN-042:2026-03-14:1', false, false],
      ['summary:LDN-042:2026-03-14:2', false, false],
      ['summary:LDN-042:2026-03-14:2', false, false],
      ['summary:LDN-042:2026-03-14:3', false, false],
      ['summary:LDN-042:2026-03-14:1', false, false],
    ]);
    // A duplicate of a sale in the second summary names that summary and counts nothing.
    expect(await store.summaries.assign('odoo', sale('sale:LDN-042:T1:1', 100), INTERVAL)).toEqual({
      summaryKey: gbp1.summaryKey,
      duplicate: true,
      late: false,
    });
    const view = async () =>
      (await store.summaries.list({ storeId: 'LDN-042', businessDate: '2026-03-14', scope: 'odoo' })).map((r) => [
        r.seq,
        r.state,
        r.currency,
        r.taxesIncluded,
        r.sales,
        r.amount,
        r.from,
      ]);
    expect(await view()).toEqual([
      [1, 'open', 'EUR', true, 2, 1499, '2026-03-14T12:00:00.000Z'],
      [2, 'open', 'GBP', true, 2, 350, '2026-03-14T12:00:00.000Z'],
      [3, 'open', 'GBP', false, 1, 40, '2026-03-14T12:00:00.000Z'],
    ]);
    for (const [key, keys] of [
      [eur.summaryKey, ['sale:LDN-042:T9:1', 'sale:LDN-042:T9:2']],
      [gbp1.summaryKey, ['sale:LDN-042:T1:1', 'sale:LDN-042:T2:1']],
      [added.summaryKey, ['sale:LDN-042:T3:1']],
    ] as const)
      expect((await store.summaries.sales('odoo', key)).map((x) => x.key)).toEqual(keys);
    // The interval ends: all three close together; the next interval's GBP sale opens the store day's 4th, a late EUR sale the 5th.
    clock.now = T0 + INTERVAL;
    expect((await store.summaries.closeDue('odoo')).sort()).toEqual([eur.summaryKey, gbp1.summaryKey, added.summaryKey].sort());
    const next = await store.summaries.assign('odoo', sale('sale:LDN-042:T1:2', 70), INTERVAL);
    const late = await store.summaries.assign(
      'odoo',
      sale('sale:LDN-042:T9:3', 30, { currency: 'EUR', occurredAt: new Date(T0 + 5000).toISOString() }),
      INTERVAL,
    );
    expect(next).toEqual({ summaryKey: 'summary:LDN-042:2026-03-14:4', duplicate: false, late: false });
    expect(late).toEqual({ summaryKey: 'summary:LDN-042:2026-03-14:5', duplicate: false, late: true });
    // A closed summary split: the new one keeps its currency and tax basis, under the store day's next number.
    const moved = await store.summaries.split('odoo', eur.summaryKey, ['sale:LDN-042:T9:2']);
    expect(moved).toBe('summary:LDN-042:2026-03-14:6');
    expect(await store.summaries.get('odoo', moved!)).toMatchObject({ state: 'closed', currency: 'EUR', taxesIncluded: true, sales: 1, amount: -500 });
    expect((await view()).map(([seq, state, currency, tax, n, amount]) => [seq, state, currency, tax, n, amount])).toEqual([
      [1, 'closed', 'EUR', true, 1, 1999],
      [2, 'closed', 'GBP', true, 2, 350],
      [3, 'closed', 'GBP', false, 1, 40],
      [4, 'open', 'GBP', true, 1, 70],
      [5, 'open', 'EUR', true, 1, 30],
      [6, 'closed', 'EUR', true, 1, -500],
    ]);
  });

  test('first sales in two currencies at the same moment from two store objects: each sale in one summary of its currency, none lost or refused', async () => {
    const second = _name === 'memory' ? store : await open();
    try {
      const sales = Array.from({ length: 24 }, (_, i) => sale(`sale:LDN-042:T${i % 4}:${i}`, 10 + i, { currency: i % 2 ? 'EUR' : 'GBP' }));
      const results = await Promise.all(sales.map((x, i) => (i % 3 ? store : second).summaries.assign('odoo', x, INTERVAL)));
      const recs = await store.summaries.list({ storeId: 'LDN-042', scope: 'odoo' });
      // Two connections opening a currency's first summary at the same moment may each open one (as
      // for one currency, below): what must hold is that each sale is in exactly one summary of its
      // own currency, none lost, refused or counted twice.
      const perCurrency = (c: string) => recs.filter((r) => r.currency === c).reduce((n, r) => n + r.sales, 0);
      expect([perCurrency('EUR'), perCurrency('GBP')]).toEqual([12, 12]);
      expect(recs.reduce((n, r) => n + r.sales, 0)).toBe(24);
      for (const c of ['EUR', 'GBP']) {
        const mine = sales.filter((x) => x.currency === c);
        expect(recs.filter((r) => r.currency === c).reduce((n, r) => n + r.amount, 0)).toBe(mine.reduce((n, x) => n + x.amount, 0));
      }
      for (const r of recs) expect((await store.summaries.sales('odoo', r.key)).every((x) => x.currency === r.currency)).toBe(true);
      expect(results.every((r) => !r.duplicate)).toBe(true);
    } finally {
      if (second !== store) await second.close();
    }
  });

  test('batches from two store objects over the same stores in opposite orders, some keys in both: each sale once, no batch refused', async () => {
    const second = _name === 'memory' ? store : await open();
    try {
      const stores = Array.from({ length: 8 }, (_, i) => `ST-${i}`);
      const batch = (round: number, reverse: boolean) =>
        (reverse ? [...stores].reverse() : stores).flatMap((storeId) =>
          [0, 1, 2].map((n) => sale(`sale:${storeId}:T1:${round}-${n}${reverse && n === 2 ? 'r' : ''}`, 10, { storeId })),
        );
      const outcomes = await Promise.all(
        Array.from({ length: 10 }, (_, round) => [
          store.summaries.assignMany('odoo', batch(round, false), INTERVAL),
          second.summaries.assignMany('odoo', batch(round, true), INTERVAL),
        ]).flat(),
      );
      // Whatever PostgreSQL decided between them, no sale came back refused.
      expect(outcomes.flat().filter((o) => o instanceof Error)).toEqual([]);
      const keys = new Set(
        Array.from({ length: 10 }, (_, r) => [...batch(r, false), ...batch(r, true)])
          .flat()
          .map((x) => x.key),
      );
      let sales = 0;
      let amount = 0;
      for (const storeId of stores)
        for (const rec of await store.summaries.list({ storeId, scope: 'odoo' })) {
          sales += rec.sales;
          amount += rec.amount;
          expect((await store.summaries.sales('odoo', rec.key)).length).toBe(rec.sales);
        }
      expect(sales).toBe(keys.size);
      expect(amount).toBe(keys.size * 10);
    } finally {
      if (second !== store) await second.close();
    }
  });

  test('concurrent assignments from two store objects (the same key several times among them) lose and double-count nothing', async () => {
    // A memory store is one process's own database: there the two writers share one store object.
    const second = _name === 'memory' ? store : await open();
    try {
      const keys = Array.from({ length: 60 }, (_, i) => `sale:LDN-042:T${i % 3}:${i}`);
      const all = [...keys, ...keys.slice(0, 20)];
      const assign = (k: string, i: number) => (i % 2 ? store : second).summaries.assign('odoo', sale(k, 10), INTERVAL);
      const early = all.slice(0, 40).map(assign);
      // While those are in flight the interval ends: the rest open the next summary.
      clock.now = T0 + INTERVAL + 1;
      const late = all.slice(40).map((k, i) => assign(k, i + 40));
      const results = await Promise.all([...early, ...late]);
      await store.summaries.closeDue('odoo');
      const summaries = await store.summaries.list({ storeId: 'LDN-042', scope: 'odoo' });
      expect(summaries.length).toBeGreaterThanOrEqual(1);
      expect(summaries.reduce((n, s) => n + s.sales, 0)).toBe(60);
      expect(summaries.reduce((n, s) => n + s.amount, 0)).toBe(600);
      expect(results.filter((r) => !r.duplicate)).toHaveLength(60);
      for (const s of summaries) expect((await store.summaries.sales('odoo', s.key)).length).toBe(s.sales);
      // Every duplicate names the summary its first assignment went to.
      for (const [i, r] of results.entries()) expect(r.summaryKey).toBe((await store.summaries.saleAssignment('odoo', all[i]))!.summaryKey);
    } finally {
      if (second !== store) await second.close();
    }
  });
});
