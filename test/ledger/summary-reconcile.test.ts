/**
 * Till control totals against summarised posting: a till close reconciles against the register
 * exactly as with one ERP order per sale, whatever summaries carried its sales (two tills' sales
 * spread over three summaries, one of them late), and each summary's total is exactly its sales'.
 */
import type { Sale } from '../../nodes/model/types.generated';
import { reconcileTill } from '../../nodes/ledger/control-totals';
import { storeDaySales } from '../../nodes/ledger/register';
import type { TillClose } from '../../nodes/ledger/till-close';
import { createStore } from '../../nodes/runtime/create-store';
import type { Store } from '../../nodes/runtime/store';
import { summaryDocument } from '../../nodes/core/summary-document';
import { keyOf, makeSale, newEntry } from './sales';

const gbp = (amount: number) => ({ amount, currency: 'GBP' });
const INTERVAL = 300_000;
const T0 = Date.parse('2025-03-14T12:00:00Z');

function tillDay(terminalId: string): Sale[] {
  const s = (seq: number, lines: Array<{ qty: number; unit: number; discount?: number }>) =>
    makeSale({ saleId: `${terminalId}-${seq}`, terminalId, sequence: seq, lines, tenders: [{ type: 'card' }] });
  return [s(101, [{ qty: 1, unit: 1000 }]), s(102, [{ qty: 3, unit: 2500, discount: 333 }]), s(103, [{ qty: -1, unit: 899 }]), s(104, [{ qty: 2, unit: 601 }])];
}

function close(terminalId: string): TillClose {
  const sales = 1000 + (3 * 2500 - 333) + 1202;
  return {
    kind: 'till.close',
    storeId: 'LDN-042',
    terminalId,
    businessDate: '2025-03-14',
    closedAt: '2025-03-14T21:07:42Z',
    currency: 'GBP',
    firstSequence: 101,
    lastSequence: 104,
    sales: { count: 3, total: gbp(sales) },
    returns: { count: 1, total: gbp(-899) },
    net: gbp(sales - 899),
    tenders: [{ type: 'card', count: 4, amount: gbp(sales - 899) }],
  };
}

describe('till control totals with summarised posting', () => {
  let store: Store;
  const clock = { now: T0 + 1000 };
  beforeEach(async () => {
    store = createStore({ backend: 'memory' }, undefined, { heartbeatMs: 0, now: () => clock.now });
    await store.open();
  });
  afterEach(() => store.close());

  it('a till close matches its sales (and the ERP-accepted ones) whatever summaries carried them; each summary equals its sales', async () => {
    const t1 = tillDay('T01');
    const t2 = tillDay('T02');
    for (const s of [...t1, ...t2]) await store.registerPut(newEntry(s));
    const assign = (s: Sale) =>
      store.summaries.assign(
        'odoo',
        {
          key: keyOf(s),
          storeId: s.storeId,
          businessDate: s.businessDate,
          amount: s.totals.grandTotal.amount,
          currency: 'GBP',
          taxesIncluded: true,
          occurredAt: s.occurredAt,
          document: s,
        },
        INTERVAL,
      );
    // Interval 1: half of each till; interval 2: the rest, one of them late (rung up earlier); interval 3: the last one.
    for (const s of [t1[0], t1[1], t2[0]]) await assign(s);
    clock.now = T0 + INTERVAL + 10;
    await store.summaries.closeDue('odoo');
    for (const s of [t1[2], t2[1], t2[2]]) await assign(s);
    clock.now = T0 + 2 * INTERVAL + 10;
    await store.summaries.closeDue('odoo');
    for (const s of [t1[3], t2[3]]) await assign(s);
    clock.now = T0 + 3 * INTERVAL + 10;
    await store.summaries.closeDue('odoo');

    // Posted (as the node does once the ERP holds each summary): S0000<seq>.
    const summaries = await store.summaries.list({ storeId: 'LDN-042', scope: 'odoo', businessDate: '2025-03-14' });
    expect(summaries.map((s) => s.sales)).toEqual([3, 3, 2]);
    for (const rec of summaries) {
      const sales = await store.summaries.sales('odoo', rec.key);
      const doc = summaryDocument(
        rec,
        sales.map((x) => x.document as Sale),
      );
      // Each summary's total is exactly its sales'.
      expect(doc.totals.grandTotal.amount).toBe(sales.reduce((n, x) => n + (x.document as Sale).totals.grandTotal.amount, 0));
      expect(rec.amount).toBe(doc.totals.grandTotal.amount);
      expect(await store.summaries.posted('odoo', rec.key, { id: String(rec.seq), ref: `S0000${rec.seq}` }, 'odoo')).toBe(true);
    }
    // The store day's summaries carry the store day's sales, no more, no less.
    expect(summaries.reduce((n, s) => n + s.amount, 0)).toBe([...t1, ...t2].reduce((n, s) => n + s.totals.grandTotal.amount, 0));

    const day = await storeDaySales(store, 'LDN-042', '2025-03-14');
    for (const terminalId of ['T01', 'T02']) {
      const report = reconcileTill(close(terminalId), day, { erpSystem: 'odoo' });
      expect(report.problems).toEqual([]);
      expect(report.status).toBe('matched');
      expect(report.erpAccepted).toEqual(report.received);
      expect(report.notInErp).toEqual([]);
    }
    // A sale the ERP has not got (its summary not posted) shows as not in the ERP, as with single orders.
    const extra = makeSale({ saleId: 'T01-105', terminalId: 'T01', sequence: 105, lines: [{ qty: 1, unit: 500 }] });
    await store.registerPut(newEntry(extra));
    await assign(extra);
    const after = reconcileTill(
      {
        ...close('T01'),
        lastSequence: 105,
        sales: { count: 4, total: gbp(close('T01').sales.total.amount + 500) },
        net: gbp(close('T01').net.amount + 500),
        tenders: [{ type: 'card', count: 5, amount: gbp(close('T01').net.amount + 500) }],
      },
      await storeDaySales(store, 'LDN-042', '2025-03-14'),
      { erpSystem: 'odoo' },
    );
    expect(after.notInErp).toEqual([keyOf(extra)]);
  });
});
