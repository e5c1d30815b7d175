/**
 * WireAwareBucket (nodes/runtime/wire-aware-bucket.ts) on a controllable clock: its `sleep` moves
 * the clock forward by what was asked and records it, so each take() shows exactly how long the
 * bucket made its caller wait. No real time passes.
 */
import { WireAwareBucket } from '../../nodes/runtime/wire-aware-bucket';

function harness(rate: number, burst: number, ttlMs?: number) {
  const clock = { t: 1_000 };
  const sleeps: number[] = [];
  /** Called after every sleep (the clock already moved). */
  let afterSleep: (() => void) | undefined;
  const bucket = new WireAwareBucket(
    rate,
    burst,
    () => clock.t,
    async (ms) => {
      sleeps.push(ms);
      clock.t += ms;
      afterSleep?.();
    },
    ttlMs,
  );
  return {
    clock,
    bucket,
    onSleep(fn: (() => void) | undefined) {
      afterSleep = fn;
    },
    /** One take(); the sleeps it needed. */
    async take(): Promise<number[]> {
      const from = sleeps.length;
      await bucket.take();
      return sleeps.slice(from);
    },
    /** One request sent and answered. */
    async call(): Promise<number[]> {
      const from = sleeps.length;
      await bucket.take();
      bucket.settle();
      return sleeps.slice(from);
    },
  };
}

describe('WireAwareBucket', () => {
  it('spends its burst at once, then paces at the rate', async () => {
    const h = harness(2, 3);
    expect(await h.call()).toEqual([]);
    expect(await h.call()).toEqual([]);
    expect(await h.call()).toEqual([]);
    expect(await h.call()).toEqual([500]); // 2 a second: one token every 500 ms
    expect(await h.call()).toEqual([500]);
  });

  it('refills while idle, up to the burst and no further', async () => {
    const h = harness(2, 3);
    for (let i = 0; i < 3; i++) await h.call();
    h.clock.t += 60_000; // a long pause would earn 120 tokens; the burst holds 3
    expect(await h.call()).toEqual([]);
    expect(await h.call()).toEqual([]);
    expect(await h.call()).toEqual([]);
    expect(await h.call()).toEqual([500]);
  });

  it('serves waiting callers in the order they asked', async () => {
    const h = harness(1, 1);
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((i) => h.bucket.take().then(() => (h.bucket.settle(), order.push(i)))));
    expect(order).toEqual([1, 2, 3]);
    expect(h.clock.t).toBe(1_000 + 2_000); // two paced at 1 a second after the first
  });

  it('holds requests still on the wire against the burst after a pause (no fresh burst on top of them)', async () => {
    const h = harness(1, 3);
    await h.take(); // sent, not answered
    await h.take(); // sent, not answered
    h.clock.t += 10_000; // the bucket would be full again, but two of its three are on the wire
    expect(await h.take()).toEqual([]); // the one free place
    // The wire is full: the next caller looks again every millisecond until an answer comes.
    let settledAt = -1;
    h.onSleep(() => {
      if (settledAt < 0 && h.clock.t >= 1_000 + 10_000 + 5) {
        settledAt = h.clock.t;
        h.bucket.settle();
      }
    });
    const waited = await h.take();
    expect(waited.slice(0, 5)).toEqual([1, 1, 1, 1, 1]);
    expect(settledAt).toBeGreaterThan(0);
    // and, with no token saved while the wire was full, it then waits for one at the rate (1 s)
    expect(h.clock.t - settledAt).toBeGreaterThanOrEqual(990);
    expect(h.clock.t - settledAt).toBeLessThanOrEqual(1_000);
  });

  it('forgets an unanswered request after inFlightTtlMs, so a lost answer does not block forever', async () => {
    const h = harness(1_000, 1, 100);
    await h.take(); // never settled
    const waited = await h.take();
    expect(waited.every((ms) => ms === 1)).toBe(true);
    expect(waited.length).toBeGreaterThan(100); // looked until the entry was older than 100 ms
    expect(waited.length).toBeLessThan(110);
  });

  it('follows a new rate from now on, keeping tokens already earned', async () => {
    const h = harness(1, 2);
    await h.call();
    h.bucket.setRate(4);
    expect(h.bucket.rate).toBe(4);
    expect(await h.call()).toEqual([]); // the second token of the burst was kept
    expect(await h.call()).toEqual([250]); // then 4 a second
    h.bucket.setRate(0); // not a rate: ignored
    h.bucket.setRate(-1);
    h.bucket.setRate(Number.NaN);
    expect(h.bucket.rate).toBe(4);
    expect(await h.call()).toEqual([250]);
  });

  it('after a 429 waits a full token at the current rate', async () => {
    const h = harness(1, 3);
    await h.call();
    h.bucket.penalise(); // two tokens left here, none at the provider's end
    expect(await h.call()).toEqual([1_000]);
  });

  it('after a 429 with a wait, blocks until it is over and spends the tokens the wait earned', async () => {
    const h = harness(1, 3);
    await h.call();
    h.bucket.penalise(2_500);
    expect(await h.call()).toEqual([2_500]);
    expect(await h.call()).toEqual([]); // 2.5 s at 1 a second earned two
    expect(await h.call()).toEqual([500]);
  });
});
