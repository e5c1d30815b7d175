/**
 * The push engine's logic (nodes/inventory/channel-pushes.ts) over an in-memory ledger: what it
 * pushes, what the channel write records tell it after a restart, answers, retries and refusals;
 * and drainPushes with several pushes awaiting their answer at once. The real-runtime path is
 * channel-push-flow.test.ts.
 */
import { ChannelPushes, changedSkus, RecordedFigures, type ChannelPush } from '../../nodes/inventory/channel-pushes';
import { drainPushes, PushQueue, type PushTicket } from '../../nodes/inventory/push-plan';
import { compileRules } from '../../nodes/inventory/rules';
import type { InventoryPosition } from '../../nodes/inventory/position';
import type { KvEntry } from '../../nodes/runtime/store';
import type { InventoryLedger } from '../../nodes/runtime/inventory';

const rules = () => {
  const { rules, problems } = compileRules({
    locations: 'wh',
    channels: [
      { system: 'shopify', locations: 'wh' },
      { system: 'amazon', account: 'A1', locations: 'wh', allocationPercent: 50 },
    ],
    bundles: [{ sku: 'PAIR', components: 'MUG*2' }],
  });
  expect(problems).toEqual([]);
  return rules!;
};

function setup(records: KvEntry[] = [], options: Partial<ConstructorParameters<typeof ChannelPushes>[1]> = {}) {
  const stock = new Map<string, number>([['MUG', 10]]);
  const pushed: ChannelPush[] = [];
  const errors: Error[] = [];
  const ledger = {
    positions: async (f: { skus?: readonly string[] }) =>
      [...stock]
        .filter(([sku]) => !f.skus || f.skus.includes(sku))
        .map(([sku, onHand]): InventoryPosition => ({ sku, locationId: 'wh', onHand, reserved: 0, inTransit: 0, safetyStock: 0, states: {} })),
  } as unknown as InventoryLedger;
  const engine = new ChannelPushes(
    {
      rules: rules(),
      ledger: async () => ledger,
      records: async (prefix, after) => records.filter((r) => r.key.startsWith(prefix) && (!after || r.key > after)),
      emit: (p) => pushed.push(p),
      onError: (e) => errors.push(e),
    },
    { ratePerSecond: 1000, maxInFlight: 4, confirmMs: 10_000, baseBackoffMs: 5, maxBackoffMs: 5, ...options },
  );
  engines.push(engine);
  return { stock, pushed, errors, engine };
}

const engines: ChannelPushes[] = [];

const until = async (what: string, check: () => boolean) => {
  const end = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what}: not reached`);
    await new Promise((r) => setTimeout(r, 2));
  }
};
const figures = (pushed: ChannelPush[]) => pushed.map((p) => [p.channel, p.doc.sku, p.doc.available]);
const answer = (engine: ChannelPushes, p: ChannelPush, ok: boolean, permanent = false) =>
  engine.confirm(p.channel, p.ticket.sku, p.ticket.seq, p.ticket.available, ok, permanent);
const record = (system: string, account: string, type: string, sku: string, quantity: number, location = '-'): KvEntry => ({
  key: `channel-stock:${system}:${account}:${type}:${sku}:${location}`,
  value: { at: '2026-12-05T00:00:00.000Z', quantity },
  updatedAt: '2026-12-05T00:00:00.000Z',
});

afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

describe('ChannelPushes', () => {
  it('pushes a changed SKU and the bundles made of it to every channel, as canonical documents', async () => {
    const { engine, pushed } = setup();
    engine.changed(['MUG']);
    await until('four pushes', () => pushed.length === 4);
    expect(figures(pushed).sort()).toEqual([
      ['amazon/A1', 'MUG', 5],
      ['amazon/A1', 'PAIR', 2],
      ['shopify', 'MUG', 10],
      ['shopify', 'PAIR', 5],
    ]);
    expect(pushed[0].doc).toMatchObject({ kind: 'inventory.ats', channel: { system: expect.any(String) }, locationIds: ['wh'] });
    for (const p of pushed) answer(engine, p, true);
    await engine.settled();
    engine.close();
  });

  it('skips a SKU named as changed that has no position and no figure any channel received, and counts it', async () => {
    const { engine, pushed } = setup([record('shopify', 'shop.myshopify.com', 'tillwire-shopify-inventory', 'GONE', 3)]);
    // NOPE: never held, never pushed. GONE: no position, but Shopify had 3 of it: Shopify is told 0, Amazon nothing.
    engine.changed(['NOPE', 'GONE', 'MUG']);
    let answered = 0;
    await until('the pushes', () => {
      while (answered < pushed.length) answer(engine, pushed[answered++], true);
      return pushed.length === 5;
    });
    await engine.settled();
    expect(figures(pushed).sort()).toEqual([
      ['amazon/A1', 'MUG', 5],
      ['amazon/A1', 'PAIR', 2],
      ['shopify', 'GONE', 0],
      ['shopify', 'MUG', 10],
      ['shopify', 'PAIR', 5],
    ]);
    expect(engine.counts.skipped).toBe(2); // NOPE (every channel), GONE (Amazon)
    engine.close();
  });

  it('after a restart pushes only what differs from the channel write records (matched by system and account)', async () => {
    const { engine, pushed } = setup([
      record('shopify', 'shop.myshopify.com', 'tillwire-shopify-inventory', 'MUG', 10),
      record('shopify', 'shop.myshopify.com', 'tillwire-shopify-inventory', 'PAIR', 5),
      record('amazon', 'A1', 'tillwire-amazon-inventory', 'MUG', 7), // stale: 5 now
      record('amazon', 'A1', 'tillwire-amazon-inventory', 'PAIR', 2),
    ]);
    engine.recomputeAll();
    await until('one push', () => pushed.length === 1);
    await engine.settled();
    expect(figures(pushed)).toEqual([['amazon/A1', 'MUG', 5]]);
    engine.close();
  });

  it('the same figure confirmed is not pushed again; a failed push is retried with the same document until confirmed', async () => {
    const { engine, pushed, stock } = setup();
    engine.changed(['MUG']);
    await until('four', () => pushed.length === 4);
    const shopifyMug = pushed.find((p) => p.channel === 'shopify' && p.doc.sku === 'MUG')!;
    for (const p of pushed) answer(engine, p, p !== shopifyMug);
    await until('retried', () => pushed.length === 5);
    expect(pushed[4].doc).toBe(shopifyMug.doc);
    expect(pushed[4].ticket).toMatchObject({ seq: shopifyMug.ticket.seq, attempt: 2 });
    answer(engine, pushed[4], true);
    await until('confirmed', () => engine.lastDelivered('shopify', 'MUG')?.available === 10);
    engine.changed(['MUG']); // nothing changed
    await engine.settled();
    stock.set('MUG', 8);
    engine.changed(['MUG']);
    await until('the new figures', () => pushed.length === 8);
    expect(figures(pushed.slice(5)).sort()).toEqual([
      ['amazon/A1', 'MUG', 4],
      ['shopify', 'MUG', 8],
      ['shopify', 'PAIR', 4],
    ]);
    engine.close();
  });

  it('a figure the channel refuses for good is not retried; the next figure is pushed as usual', async () => {
    const { engine, pushed, stock } = setup();
    engine.changed(['MUG']);
    await until('four', () => pushed.length === 4);
    for (const p of pushed) answer(engine, p, false, true);
    await new Promise((r) => setTimeout(r, 30)); // five backoffs' time: nothing may come
    expect(pushed).toHaveLength(4);
    stock.set('MUG', 6);
    engine.changed(['MUG']);
    await until('the next figures', () => pushed.length === 8);
    engine.close();
  });

  it('a push with no answer in time counts as failed and is sent again; the late answer still counts', async () => {
    const { engine, pushed } = setup([], { confirmMs: 20 });
    engine.changed(['MUG']);
    await until('four', () => pushed.length === 4);
    await until('sent again', () => pushed.length >= 8);
    const first = pushed[0];
    answer(engine, first, true);
    await until('confirmed', () => engine.lastDelivered(first.channel, first.ticket.sku)?.available === first.ticket.available);
    engine.close();
  });

  it('a store that cannot be read is tried again with the same SKUs', async () => {
    let fail = true;
    const pushed: ChannelPush[] = [];
    const errors: Error[] = [];
    const engine = new ChannelPushes(
      {
        rules: rules(),
        ledger: async () => {
          if (fail) throw new Error('store unavailable');
          return { positions: async () => [] } as unknown as InventoryLedger;
        },
        records: async () => [],
        emit: (p) => pushed.push(p),
        onError: (e) => errors.push(e),
      },
      { ratePerSecond: 1000, maxInFlight: 4, confirmMs: 1000, retryComputeMs: 10 },
    );
    engines.push(engine);
    engine.changed(['MUG']);
    await until('the error', () => errors.length === 1);
    fail = false;
    await until('pushed after all', () => pushed.length === 4);
    expect(figures(pushed).every(([, , n]) => n === 0)).toBe(true);
    engine.close();
  });
});

describe('RecordedFigures', () => {
  it('reads the inventory nodes’ figures without a location; other records, or records that disagree, say nothing', () => {
    const r = new RecordedFigures();
    for (const e of [
      record('square', 'L-LDN,L-NYC', 'tillwire-square-inventory', 'A:B', 3),
      record('bol', '1234567', 'tillwire-bol-inventory', 'MUG', 4),
      record('bol', '7654321', 'tillwire-bol-inventory', 'MUG', 5),
      record('shopify', 'shop', 'tillwire-shopify-inventory', 'MUG', 9, 'WH-1'),
      record('shopify', 'shop', 'tillwire-shopify-fulfil', 'CUP', 9),
      { key: 'channel-stock:amazon:A1:tillwire-amazon-inventory:OLD:-', value: { at: 'x' }, updatedAt: 'x' },
    ])
      r.add(e);
    expect(r.figure({ system: 'square', account: 'L-LDN' }, 'A:B')).toBe(3); // no record under that account: the system's
    expect(r.figure({ system: 'bol', account: '1234567' }, 'MUG')).toBe(4);
    expect(r.figure({ system: 'bol' }, 'MUG')).toBeUndefined(); // two accounts disagree
    expect(r.figure({ system: 'shopify' }, 'MUG')).toBeUndefined(); // a position figure at a location
    expect(r.figure({ system: 'shopify' }, 'CUP')).toBeUndefined(); // not an inventory node
    expect(r.figure({ system: 'amazon', account: 'A1' }, 'OLD')).toBeUndefined(); // written before quantities were kept
  });
});

describe('changedSkus', () => {
  it('reads msg.skus, a reserve node’s events or allocations; refuses what is not a SKU list', () => {
    expect(changedSkus({ skus: ['A', 'B', 'A'] } as any)).toEqual(['A', 'B']);
    expect(changedSkus({ inventory: { events: [{ sku: 'A' }, { sku: 'A' }] } } as any)).toEqual(['A']);
    expect(changedSkus({ inventory: { outcome: 'reserved', allocations: [{ sku: 'C' }] } } as any)).toEqual(['C']);
    expect(changedSkus({ payload: 'x' } as any)).toBeUndefined();
    expect(() => changedSkus({ skus: ['A', 7] } as any)).toThrow('msg.skus must hold SKUs of 1 to 128 characters, got 7');
    expect(() => changedSkus({ skus: Array.from({ length: 10_001 }, (_, i) => `S${i}`) } as any)).toThrow('send topic "recompute" instead');
  });
});

describe('a change while a push is awaiting its answer', () => {
  it('goes out at once, not after that answer (bol.com answers only when its process status is done)', async () => {
    const { engine, pushed, stock } = setup();
    engine.changed(['MUG']);
    await until('the first figures', () => pushed.length === 4);
    // Nothing answered yet: the channels still process MUG and PAIR. CUP changes meanwhile.
    stock.set('CUP', 6);
    engine.changed(['CUP']);
    await until("CUP's figures, before any answer", () => pushed.length === 6);
    expect(figures(pushed.slice(4)).sort()).toEqual([
      ['amazon/A1', 'CUP', 3],
      ['shopify', 'CUP', 6],
    ]);
    for (const p of pushed) answer(engine, p, true);
    await until('all confirmed', () => engine.counts.confirmed === 6);
  });
});

describe('drainPushes with several pushes awaiting their answer', () => {
  it('keeps up to maxInFlight pushes open, one per SKU, and waits for them all', async () => {
    const q = new PushQueue({ baseBackoffMs: 0 });
    for (const sku of ['A', 'B', 'C', 'D', 'E']) q.offer(sku, 1);
    let open = 0;
    let most = 0;
    const gate: Array<() => void> = [];
    const send = (t: PushTicket) =>
      new Promise<void>((resolve, reject) => {
        open++;
        most = Math.max(most, open);
        gate.push(() => {
          open--;
          if (t.sku === 'C' && t.attempt === 1) reject(new Error('refused'));
          else resolve();
        });
      });
    let done = false;
    const drained = drainPushes(q, send, { take: async () => undefined }, Date.now, 3).then((n) => ((done = true), n));
    await until('three open', () => open === 3);
    q.offer('A', 2); // A is in flight: waits, not sent beside it
    while (!done) {
      gate.shift()?.();
      await new Promise((r) => setTimeout(r, 1));
    }
    const pushes = await drained;
    expect(most).toBe(3);
    expect(pushes).toBe(7); // A, B, C, D, E, A again (2), C retried
    expect(q.lastDelivered('A')?.available).toBe(2);
    expect(q.lastDelivered('C')?.available).toBe(1);
  });
});
