import type { RegisterEntry, RegisterFilter } from '../../nodes/runtime/store';
import { createStore } from '../../nodes/runtime/create-store';
import { listAll, storeDaySales } from '../../nodes/ledger/register';
import { makeSale, newEntry } from './sales';

describe('reading the sales register', () => {
  it('pages by key until a short page, so a large store day is read completely', async () => {
    const all: RegisterEntry[] = Array.from({ length: 12_001 }, (_, i) => ({ key: `k${String(i).padStart(6, '0')}` }) as RegisterEntry);
    const calls: RegisterFilter[] = [];
    const store = {
      registerList: async (f: RegisterFilter) => {
        calls.push(f);
        return all.filter((e) => f.afterKey === undefined || e.key > f.afterKey).slice(0, f.limit);
      },
    };
    const got = await listAll(store, { kind: 'sale', storeId: 'S1' });
    expect(got).toHaveLength(12_001);
    expect(calls.map((c) => c.afterKey)).toEqual([undefined, 'k004999', 'k009999']);
    expect(calls.every((c) => c.kind === 'sale' && c.storeId === 'S1' && c.limit === 5000)).toBe(true);
  });

  it('returns the sales of one store day from every till of a real (memory) store', async () => {
    const store = createStore({ backend: 'memory' });
    await store.open();
    try {
      const a = makeSale({ saleId: 'A', terminalId: 'T1', lines: [{ qty: 1, unit: 100 }] });
      const b = makeSale({ saleId: 'B', terminalId: 'T2', lines: [{ qty: 1, unit: 200 }] });
      const other = makeSale({ saleId: 'C', businessDate: '2025-03-15', lines: [{ qty: 1, unit: 300 }] });
      for (const s of [a, b, other]) await store.registerPut(newEntry(s));
      const got = await storeDaySales(store, 'LDN-042', '2025-03-14');
      expect(got.map((e) => e.document.saleId)).toEqual(['A', 'B']);
    } finally {
      await store.close();
    }
  });
});
