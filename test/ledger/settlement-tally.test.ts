/**
 * The settlement tally (nodes/ledger/settlement-tally.ts): groups by posting month, type and
 * category with the rows behind each, per-order figures, exact totals, each bad line rejected by
 * name, and a million-line settlement held in far less memory than its lines.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import type { SettlementLine } from '../../nodes/model/types.generated';
import { ExactSum, formatRanges, parseRanges, SettlementTallyError, tallySettlement } from '../../nodes/ledger/settlement-tally';
import { streamOf, type SettlementStream } from '../../nodes/model/settlement-stream';
import { validateDocument } from '../../nodes/model/validate';
import { reconcileSettlement } from '../../nodes/ledger/settlement-reconcile';
import { buildSettlementJournals, settlementRowsOf } from '../../nodes/ledger/settlement-journal';
import { MAPPING, makeSettlement, streamSpec } from './settlements';

describe('tally', () => {
  it('totals per type and category, per month and per order, with the rows behind each group', async () => {
    const tally = await tallySettlement(
      streamSpec({
        lines: [
          ['principal', 10000, { order: 'A' }],
          ['tax', 1900, { order: 'A' }],
          ['fee', -1500, { category: 'commission', order: 'A' }],
          ['principal', 5000, { order: 'B', postedAt: '2026-03-31T23:30:00-02:00' }], // 1 April UTC
          ['fee', -750, { category: 'commission', order: 'B', postedAt: '2026-04-01T01:00:00Z' }],
          ['fee', -300, { category: 'fulfilment', order: 'A' }],
          ['reserve', -2000],
          ['reserve', 1200],
          ['other', 42, { postedAt: null }],
        ],
        depositDate: '2026-04-03',
      }),
    );
    expect(tally.lineCount).toBe(9);
    expect(tally.total).toBe(10000n + 1900n - 1500n + 5000n - 750n - 300n - 2000n + 1200n + 42n);
    expect(tally.monthList).toEqual(['2026-03', '2026-04']);
    expect(tally.monthTotals().map((m) => [m.month, m.total, m.count])).toEqual([
      ['2026-03', 10000n + 1900n - 1500n - 300n - 2000n + 1200n, 6],
      ['2026-04', 5000n - 750n + 42n, 3],
    ]);
    expect(tally.undatedLines).toBe(1);
    expect(tally.typeTotals().map((t) => [t.type, t.category, t.total, t.count])).toEqual([
      ['principal', '', 15000n, 2],
      ['tax', '', 1900n, 1],
      ['fee', 'commission', -2250n, 2],
      ['fee', 'fulfilment', -300n, 1],
      ['reserve', 'held', -2000n, 1],
      ['reserve', 'released', 1200n, 1],
      ['other', '', 42n, 1],
    ]);
    expect(Array.from(tally.group('2026-03|fee|commission')!.rows.toArray())).toEqual([3]);
    expect(Array.from(tally.group('2026-04|fee|commission')!.rows.toArray())).toEqual([5]);
    expect(Array.from(tally.group('2026-04|other|')!.rows.toArray())).toEqual([9]);
    expect(tally.order('A')).toEqual({ charged: 11900, net: 10100 });
    expect(tally.order('B')).toEqual({ charged: 5000, net: 4250 });
    expect([...tally.orderIds()]).toEqual(['A', 'B']);
  });

  it("keys orders by the channel's own order id when the line gives it, as the order index does", async () => {
    const s = makeSettlement({
      lines: [
        ['principal', 1000],
        ['fee', -100],
        ['principal', 500, { order: 'plain-1' }],
      ],
    });
    s.lines[0].orderRef = { id: 'amazon:A3TWDEMOSELLER:303-1', channel: { system: 'amazon', account: 'A3TWDEMOSELLER', id: '303-1' } };
    s.lines[1].orderRef = { id: 'amazon:A3TWDEMOSELLER:303-1', channel: { system: 'amazon', account: 'A3TWDEMOSELLER', id: '303-1' } };
    const tally = await tallySettlement(streamOf(s));
    expect([...tally.orderList()]).toEqual([
      { orderId: '303-1', charged: 1000, net: 900 },
      { orderId: 'plain-1', charged: 500, net: 500 },
    ]);
  });

  it('lines without postedAt fall back to the deposit date, then to the last instant of the period', async () => {
    const withDeposit = await tallySettlement(streamSpec({ lines: [['principal', 1, { postedAt: null }]], depositDate: '2026-05-02' }));
    expect(withDeposit.monthList).toEqual(['2026-05']);
    const s = makeSettlement({ lines: [['principal', 1, { postedAt: null }]], periodEnd: '2026-06-01T00:00:00Z' });
    delete s.depositDate;
    const { lines, netTotal: _n, ...header } = s;
    const tally = await tallySettlement({
      header,
      lines: (async function* () {
        yield* lines;
      })(),
    });
    expect(tally.monthList).toEqual(['2026-05']);
  });

  it('sums beyond the safe-integer range exactly', () => {
    const sum = new ExactSum();
    for (let i = 0; i < 5; i++) sum.add(Number.MAX_SAFE_INTEGER);
    sum.add(-3);
    expect(sum.value).toBe(BigInt(Number.MAX_SAFE_INTEGER) * 5n - 3n);
  });

  it('writes and reads rows as compact ranges', () => {
    expect(formatRanges([1, 2, 3, 4, 9, 12, 13])).toBe('1-4,9,12-13');
    expect(formatRanges([1, 2, 3, 4, 9, 12, 13], 11)).toBe('1-4,9,12-13');
    expect(formatRanges([1, 2, 3, 4, 9, 12, 13], 10)).toBeUndefined();
    expect(formatRanges([])).toBe('');
    expect(parseRanges('1-4,9,12-13')).toEqual([1, 2, 3, 4, 9, 12, 13]);
    expect(() => parseRanges('4-1')).toThrow('runs backwards');
    expect(() => parseRanges('a')).toThrow('is not a row range');
  });

  describe('rejects a bad line by name', () => {
    const bad: Array<[string, Partial<SettlementLine> | Record<string, unknown>, string, string]> = [
      ['unknown type', { type: 'bonus' }, 'type', "type 'bonus' is not a settlement line type"],
      ['another currency', { amount: { amount: 1, currency: 'USD' } }, 'currency', "currency 'USD' is not the settlement's EUR"],
      ['a float amount', { amount: { amount: 1.5, currency: 'EUR' } }, 'amount', 'amount 1.5 is not an exact integer'],
      ['an amount beyond the exact range', { amount: { amount: 2 ** 60, currency: 'EUR' } }, 'amount', 'is not an exact integer'],
      ['an empty category', { category: '' }, 'category', 'category must be 1 to 64 characters'],
      ['a category with the group separator', { category: 'a|b' }, 'category', "without '|'"],
      ['a bad postedAt', { postedAt: 'yesterday' }, 'posted-at', "postedAt 'yesterday' is not an RFC 3339 timestamp"],
      ['an empty postedAt', { postedAt: '' }, 'posted-at', "postedAt '' is not an RFC 3339 timestamp"],
      [
        'an order id too long',
        { orderRef: { id: 'x'.repeat(256) } },
        'order',
        'the order id (orderRef.channel.id, else orderRef.id) must be 1 to 255 characters',
      ],
    ];
    it.each(bad)('%s', async (_what, patch, rule, message) => {
      const s = makeSettlement({
        lines: [
          ['principal', 100],
          ['fee', -10],
        ],
      });
      Object.assign(s.lines[1], patch);
      const err = await tallySettlement(streamSpecOf(s)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SettlementTallyError);
      expect((err as SettlementTallyError).rule).toBe(rule);
      expect((err as SettlementTallyError).row).toBe(2);
      expect((err as Error).message).toContain('line 2 (lineId 2)');
      expect((err as Error).message).toContain(message);
    });

    it('too many lines, groups or orders', async () => {
      const lines: Array<['principal', number, { category: string; order: string }]> = [1, 2, 3].map((i) => [
        'principal',
        i,
        { category: `c${i}`, order: `o${i}` },
      ]);
      await expect(tallySettlement(streamSpec({ lines }), { maxLines: 2 })).rejects.toMatchObject({ rule: 'too-many-lines', row: 3 });
      await expect(tallySettlement(streamSpec({ lines }), { maxGroups: 2 })).rejects.toMatchObject({ rule: 'too-many-groups', row: 3 });
      await expect(tallySettlement(streamSpec({ lines }), { maxOrders: 2 })).rejects.toMatchObject({ rule: 'too-many-orders', row: 3 });
    });

    it.each([
      ['an unknown currency', { currency: 'XXX' }, "currency 'XXX' is not a known ISO 4217 currency"],
      ['an unknown status', { status: 'lost' }, 'status must be one of'],
      ['a stated total that is not exact', { statedTotal: { amount: 1.5, currency: 'EUR' } }, 'statedTotal.amount must be a whole number'],
      ['a period that ends before it starts', { periodEnd: '2026-02-01T00:00:00Z' }, 'periodEnd 2026-02-01T00:00:00Z is not after periodStart'],
    ])('a header with %s', async (_what, patch, message) => {
      const s = Object.assign(makeSettlement({ lines: [['principal', 1]] }), patch);
      await expect(tallySettlement(streamSpecOf(s))).rejects.toMatchObject({ rule: 'header', message: expect.stringContaining(message) });
    });
  });

  it('holds a million-line settlement against 300,000 orders in far less memory than its lines', async () => {
    const LINES = 1_000_000;
    const ORDERS = 300_000;
    const gc = exposeGc();
    const makeLine = (i: number): SettlementLine => ({
      lineId: String(i + 1),
      type: (['principal', 'tax', 'fee', 'fee', 'promotion', 'refund'] as const)[i % 6],
      ...(i % 6 === 2 ? { category: 'commission' } : i % 6 === 3 ? { category: 'fulfilment' } : {}),
      amount: { amount: (i % 6 >= 2 ? -1 : 1) * (100 + (i % 997)), currency: 'EUR' },
      // As in a settlement report, an order's lines follow each other.
      orderRef: { id: `305-${String(Math.floor((i * ORDERS) / LINES)).padStart(7, '0')}-4567890` },
      postedAt: i < LINES / 2 ? '2026-03-31T10:00:00Z' : '2026-04-01T10:00:00Z',
      source: { system: 'amazon', type: 'settlement-report', id: '11978452301', line: i + 2 },
    });

    gc();
    const start = used();
    const stream: SettlementStream = {
      header: {
        kind: 'settlement',
        settlementId: '1',
        channel: { system: 'amazon', id: '1' },
        periodStart: '2026-03-20T00:00:00Z',
        periodEnd: '2026-04-03T00:00:00Z',
        currency: 'EUR',
      },
      lines: (async function* () {
        for (let i = 0; i < LINES; i++) yield makeLine(i);
      })(),
    };
    const tally = await tallySettlement(stream);
    gc();
    const growth = used() - start;

    expect(tally.lineCount).toBe(LINES);
    expect(tally.orderCount).toBe(ORDERS);
    expect(tally.groups.reduce((n, g) => n + g.rows.length, 0)).toBe(LINES);
    // Rows cost 4 bytes each and the orders a map entry each; the lines themselves are gone. A held
    // line (an object with its amount, order and source objects) costs several hundred bytes, so
    // 100 bytes a line is far below what keeping the lines would take. (Measured against a sample
    // of held lines, the estimate was at the mercy of the collector in a busy worker.)
    console.log(`tally of ${LINES} lines / ${ORDERS} orders: +${mb(growth)} MB`);
    expect(growth).toBeLessThan(LINES * 100);

    // And it posts: two months, every line behind exactly one journal line, the journals valid.
    const rec = await reconcileSettlement(tally);
    const { journals } = buildSettlementJournals(tally, rec, MAPPING);
    expect(journals.map((j) => j.journalId)).toEqual(['settlement:amazon:1:2026-03', 'settlement:amazon:1:2026-04']);
    for (const j of journals) expect(validateDocument('journal-entry', j).errors).toEqual([]);
    const seen = new Uint8Array(LINES + 1);
    for (const j of journals) for (const l of j.lines) for (const row of settlementRowsOf(tally, l) ?? []) seen[row]++;
    expect(seen.subarray(1).every((n) => n === 1)).toBe(true);
  }, 120_000);
});

function streamSpecOf(s: ReturnType<typeof makeSettlement>): SettlementStream {
  const { lines, netTotal: _n, ...header } = s;
  return {
    header,
    lines: (async function* () {
      yield* lines;
    })(),
  };
}

/** Heap plus array buffers: the tally's row lists live in typed arrays outside the JS heap. */
function used(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

function exposeGc(): () => void {
  if (typeof global.gc === 'function') return global.gc;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}
