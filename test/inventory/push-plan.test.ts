/**
 * Pushing only what changed: which (channel, SKU, figure) pushes a stock change calls for, and the
 * per-channel queue that coalesces bursts, paces them by the channel's governor and retries a
 * failed push without ever sending an older figure after a newer one.
 */
import fc from 'fast-check';
import { compileRules } from '../../nodes/inventory/rules';
import { AtsEngine, PositionIndex } from '../../nodes/inventory/available-to-sell';
import type { InventoryPosition } from '../../nodes/inventory/position';
import { affectedSkus, drainPushes, pushesAfter, pushesNeeded, PushQueue, type PushTicket } from '../../nodes/inventory/push-plan';
import { TokenBucket } from '../../nodes/runtime/http';

const pos = (sku: string, locationId: string, onHand: number): InventoryPosition => ({
  sku,
  locationId,
  onHand,
  reserved: 0,
  inTransit: 0,
  safetyStock: 0,
  states: {},
});

function engine() {
  const { rules, problems } = compileRules({
    locations: 'wh, shop',
    channels: [
      { system: 'shopify', locations: 'wh, shop' },
      { system: 'amazon', account: 'A1', locations: 'wh', allocationPercent: 50 },
    ],
    bundles: [
      { sku: 'PAIR', components: 'MUG, SAUCER' },
      { sku: 'HAMPER', components: 'PAIR*2' },
    ],
  });
  expect(problems).toEqual([]);
  return new AtsEngine(rules!, new PositionIndex([pos('MUG', 'wh', 10), pos('SAUCER', 'wh', 10), pos('PLATE', 'wh', 4), pos('PLATE', 'shop', 1)]));
}

/** What each channel last received, as a map the test fills from the pushes it "sent". */
function ledgerOf(pushes: { channel: string; sku: string; available: number }[]) {
  const sent = new Map(pushes.map((p) => [`${p.channel} ${p.sku}`, p.available]));
  return (channel: string, sku: string) => sent.get(`${channel} ${sku}`);
}

describe('pushesNeeded', () => {
  it('pushes every figure a channel never received', () => {
    const e = engine();
    expect(pushesNeeded(e, ['PLATE'], () => undefined)).toEqual([
      { channel: 'shopify', sku: 'PLATE', available: 5 },
      { channel: 'amazon/A1', sku: 'PLATE', available: 2 },
    ]);
  });

  it('pushes only the figures that changed, and the bundles through their components', () => {
    const e = engine();
    const first = pushesNeeded(e, ['MUG', 'SAUCER', 'PLATE'], () => undefined);
    const sent = ledgerOf(first);
    expect(pushesNeeded(e, ['MUG', 'SAUCER', 'PLATE'], sent)).toEqual([]); // nothing changed
    e.positions.set(pos('MUG', 'wh', 7)); // shopify MUG 10 → 7, PAIR 10 → 7, HAMPER 5 → 3; amazon MUG 5 → 3, PAIR 5 → 3, HAMPER 2 → 1
    expect(affectedSkus(e, ['MUG'])).toEqual(new Set(['MUG', 'HAMPER', 'PAIR']));
    expect(pushesNeeded(e, ['MUG'], sent)).toEqual([
      { channel: 'shopify', sku: 'MUG', available: 7 },
      { channel: 'shopify', sku: 'HAMPER', available: 3 },
      { channel: 'shopify', sku: 'PAIR', available: 7 },
      { channel: 'amazon/A1', sku: 'MUG', available: 3 },
      { channel: 'amazon/A1', sku: 'HAMPER', available: 1 },
      { channel: 'amazon/A1', sku: 'PAIR', available: 3 },
    ]);
  });

  it('takes changed positions in and pushes what they change, an unreadable one as 0 at its location', () => {
    const e = engine();
    const sent = ledgerOf(pushesNeeded(e, ['PLATE'], () => undefined)); // shopify 5, amazon 2
    expect(pushesAfter(e, [pos('PLATE', 'wh', 10)], sent)).toEqual([
      { channel: 'shopify', sku: 'PLATE', available: 11 },
      { channel: 'amazon/A1', sku: 'PLATE', available: 5 },
    ]);
    expect(pushesAfter(e, [pos('PLATE', 'wh', 0.5)], sent)).toEqual([
      { channel: 'shopify', sku: 'PLATE', available: 1 },
      { channel: 'amazon/A1', sku: 'PLATE', available: 0 },
    ]);
    expect(e.positions.problems).toEqual(['position of PLATE at wh: on hand must be a whole number of units (got 0.5)']);
  });

  it('leaves out a channel whose figure did not move', () => {
    const e = engine();
    const sent = ledgerOf(pushesNeeded(e, ['PLATE'], () => undefined));
    e.positions.set(pos('PLATE', 'shop', 2)); // amazon sells from wh only
    expect(pushesNeeded(e, ['PLATE'], sent)).toEqual([{ channel: 'shopify', sku: 'PLATE', available: 6 }]);
  });
});

describe('PushQueue', () => {
  it('coalesces figures offered before the push to the latest one', () => {
    const q = new PushQueue();
    for (let n = 100; n >= 90; n--) q.offer('MUG', n);
    expect(q.waiting).toBe(1);
    expect(q.coalesced).toBe(10);
    const t = q.take(0)!;
    expect(t).toMatchObject({ sku: 'MUG', available: 90, attempt: 1 });
    expect(q.take(0)).toBeUndefined();
  });

  it('does not push a figure the channel already has or is being sent', () => {
    const q = new PushQueue();
    q.offer('MUG', 5);
    const t = q.take(0)!;
    expect(q.offer('MUG', 5)).toBeUndefined(); // the same figure is in flight
    q.succeeded(t, 1);
    expect(q.offer('MUG', 5)).toBeUndefined();
    expect(q.waiting).toBe(0);
    expect(q.lastDelivered('MUG')).toEqual({ available: 5, seq: t.seq, at: 1 });
  });

  it('holds a later figure back while an earlier one is in flight, then sends it', () => {
    const q = new PushQueue();
    q.offer('MUG', 5);
    const first = q.take(0)!;
    q.offer('MUG', 4);
    expect(q.take(0)).toBeUndefined(); // one push per SKU at a time: the two cannot cross on the wire
    q.succeeded(first, 1);
    const second = q.take(1)!;
    expect(second.available).toBe(4);
    expect(second.seq).toBeGreaterThan(first.seq);
  });

  it('retries a failed push after a backoff, and drops it once a later figure waits', () => {
    const q = new PushQueue({ baseBackoffMs: 100 });
    q.offer('MUG', 5);
    const t = q.take(0)!;
    expect(q.failed(t, 10)).toBe('retry');
    expect(q.take(50)).toBeUndefined(); // backing off until 110
    const again = q.take(110)!;
    expect(again).toMatchObject({ available: 5, seq: t.seq, attempt: 2 });
    q.offer('MUG', 3); // stock moved while the retry was in flight
    expect(q.failed(again, 120)).toBe('superseded');
    expect(q.take(120)).toMatchObject({ available: 3, attempt: 1 });
  });

  it('a late success of an older figure never overwrites a newer one the channel confirmed', () => {
    const q = new PushQueue();
    q.offer('MUG', 5);
    const old = q.take(0)!;
    q.failed(old, 0); // e.g. a timeout: the request may still land
    q.offer('MUG', 2);
    const newer = q.take(5)!;
    q.succeeded(newer, 6);
    q.succeeded(old, 7); // the answer to the timed-out request arrives after all
    expect(q.lastDelivered('MUG')).toMatchObject({ available: 2, seq: newer.seq });
  });

  it('serves the SKU that waited longest first, so a hot SKU starves no other', () => {
    const q = new PushQueue();
    q.offer('A', 1);
    q.offer('B', 1);
    const a = q.take(0)!;
    q.succeeded(a, 0);
    q.offer('A', 2);
    expect(q.take(0)!.sku).toBe('B');
    expect(q.take(0)!.sku).toBe('A');
  });

  it('a burst of 1,000 changes to one SKU becomes a handful of pushes paced by the channel, ending at the last figure', async () => {
    let clock = 0;
    const now = () => clock;
    // the channel's governor: 2 pushes a second, a burst of 2 (a fake clock: sleeping moves it on)
    const governor = new TokenBucket(2, 2, now, async (ms) => {
      clock += ms;
    });
    const q = new PushQueue();
    const received: number[] = [];
    const send = async (t: PushTicket) => {
      received.push(t.available);
    };
    let pushes = 0;
    for (let i = 1; i <= 1000; i++) {
      q.offer('MUG', 1000 - i); // a sale every 5 ms
      clock += 5;
      if (i % 50 === 0) pushes += await drainPushes(q, send, governor, now);
    }
    pushes += await drainPushes(q, send, governor, now);
    expect(received[received.length - 1]).toBe(0);
    expect(pushes).toBe(received.length);
    expect(pushes).toBeLessThanOrEqual(20);
    expect([...received].sort((x, y) => y - x)).toEqual(received); // figures only ever fell: none older after a newer
    expect(q.lastDelivered('MUG')?.available).toBe(0);
  });

  it('for any interleaving of offers, successes and failures, the channel ends at the last figure and never goes back in sequence', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('offer' as const), sku: fc.constantFrom('A', 'B'), figure: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ kind: fc.constant('take' as const) }),
      fc.record({ kind: fc.constant('settle' as const), ok: fc.boolean(), which: fc.nat() }),
      fc.record({ kind: fc.constant('tick' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 5, maxLength: 60, size: 'max' }), (ops) => {
        const q = new PushQueue({ baseBackoffMs: 10, maxBackoffMs: 10 });
        let clock = 0;
        const inFlight: PushTicket[] = [];
        const last = new Map<string, number>();
        /** What the channel holds, and the sequence of the figure it holds. */
        const channel = new Map<string, { figure: number; seq: number }>();
        const land = (t: PushTicket) => {
          const held = channel.get(t.sku);
          expect(held === undefined || t.seq > held.seq).toBe(true); // never an older figure after a newer one
          channel.set(t.sku, { figure: t.available, seq: t.seq });
        };
        for (const o of ops) {
          if (o.kind === 'offer') {
            q.offer(o.sku, o.figure);
            last.set(o.sku, o.figure);
          } else if (o.kind === 'take') {
            const t = q.take(clock);
            if (t) inFlight.push(t);
          } else if (o.kind === 'settle' && inFlight.length) {
            const [t] = inFlight.splice(o.which % inFlight.length, 1);
            if (o.ok) {
              land(t);
              q.succeeded(t, clock);
            } else q.failed(t, clock);
          } else clock += 5;
        }
        for (const t of inFlight.splice(0)) {
          land(t);
          q.succeeded(t, clock);
        }
        // then everything waiting goes through
        for (let guard = 0; q.waiting && guard < 100; guard++) {
          clock += 10;
          for (let t = q.take(clock); t; t = q.take(clock)) {
            land(t);
            q.succeeded(t, clock);
          }
        }
        expect(q.waiting).toBe(0);
        for (const [sku, figure] of last) {
          const held = channel.get(sku)?.figure;
          // a SKU whose figure never differed from what was already there may not have been sent at all
          if (held !== undefined) expect(held).toBe(figure);
          expect(q.lastDelivered(sku)?.available ?? figure).toBe(figure);
        }
      }),
    );
  });
});
