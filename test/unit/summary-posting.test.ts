/**
 * The summary posting's timer against a real store (memory) and a recording ERP: the summaries of
 * a tick go to the ERP as one write per page, and a page whose summaries another instance is
 * posting (it holds their claims) ends the tick instead of being read again at once.
 */
import { createStore } from '../../nodes/runtime/create-store';
import type { Store } from '../../nodes/runtime/store';
import type { NodeMessage, RuntimeNode } from '../../nodes/core/node-red';
import { SummaryPosting } from '../../nodes/core/summary-posting';
import { makeSale } from '../ledger/sales';

const INTERVAL = 60_000;
const T0 = Date.parse('2026-03-14T12:00:00Z');

describe('SummaryPosting.tick', () => {
  let store: Store;
  const clock = { now: T0 };
  const writes: number[] = [];
  let dueReads = 0;
  let posting: SummaryPosting<object>;
  const sent: NodeMessage[] = [];

  beforeEach(async () => {
    clock.now = T0;
    writes.length = 0;
    sent.length = 0;
    dueReads = 0;
    store = createStore({ backend: 'memory' }, process.cwd(), { heartbeatMs: 0, now: () => clock.now });
    await store.open();
    const due = store.summaries.due.bind(store.summaries);
    store.summaries.due = (scope, limit) => {
      dueReads++;
      return due(scope, limit);
    };
    // 60 stores, one sale each: 60 summaries, due in pages of 50.
    for (let i = 0; i < 60; i++) {
      const storeId = `S${String(i).padStart(3, '0')}`;
      await store.summaries.assign(
        'odoo',
        {
          key: `sale:${storeId}:T1:1`,
          storeId,
          businessDate: '2026-03-14',
          amount: 100,
          currency: 'GBP',
          taxesIncluded: true,
          occurredAt: new Date(T0).toISOString(),
          document: sale(storeId),
        },
        INTERVAL,
      );
    }
    clock.now = T0 + INTERVAL;
    const node = { send: (m: NodeMessage) => sent.push(m), warn: () => undefined, error: () => undefined } as unknown as RuntimeNode;
    posting = new SummaryPosting<object>({
      node,
      system: 'odoo',
      intervalMs: INTERVAL,
      binding: { configured: true, acquire: async () => store, hold: (w) => w },
      connection: () => ({}),
      async writeMany(_c, msgs) {
        writes.push(msgs.length);
        return msgs.map((m) => {
          m.erp = { name: `SO-${m.tillwire.idempotencyKey}` };
          return 'sent';
        });
      },
      acceptedRef: (erp) => erp.name,
      failure: (err) => err as Error,
      onPosted: () => undefined,
      onFailed: () => undefined,
    });
  });
  afterEach(async () => {
    await posting.stop();
    await store.close();
  });

  it('posts each page of due summaries as one ERP write', async () => {
    await posting.tick();
    expect(writes).toEqual([50, 10]);
    expect(sent).toHaveLength(60);
    expect(await store.summaries.due('odoo')).toEqual([]);
  });

  it("a page held by another instance's claims ends the tick: read once, nothing written; posted once they are released", async () => {
    await store.summaries.closeDue('odoo');
    const page = await store.summaries.due('odoo', 50);
    dueReads = 0;
    const held = await Promise.all(page.map((r) => store.claim('summary-post:odoo', r.key)));
    await posting.tick();
    expect(dueReads).toBe(1);
    expect(writes).toEqual([]);
    for (const [i, c] of held.entries()) if (c.outcome === 'claimed') await store.release('summary-post:odoo', page[i].key, c.token);
    await posting.tick();
    expect(writes.reduce((a, b) => a + b, 0)).toBe(60);
    expect(await store.summaries.due('odoo')).toEqual([]);
  });
});

/** One sale of 1.00 GBP at the store, rung up at T0 (its business date at noon). */
const sale = (storeId: string) => makeSale({ saleId: `${storeId}-1`, storeId, terminalId: 'T1', businessDate: '2026-03-14', lines: [{ qty: 1, unit: 100 }] });
