/**
 * CostGovernor (nodes/shopify/cost-governor.ts) on a controllable clock: its `sleep` moves the
 * clock forward by what was asked and records it, so each reserve() shows exactly how long the
 * shop's calculated-cost bucket made its caller wait. No real time passes.
 */
import { CostGovernor } from '../../nodes/shopify/cost-governor';
import { PacedGovernor } from '../../nodes/runtime/http';

function harness() {
  const clock = { t: 10_000 };
  const sleeps: number[] = [];
  const governor = new CostGovernor(
    () => clock.t,
    async (ms) => {
      sleeps.push(ms);
      clock.t += ms;
    },
  );
  return {
    clock,
    governor,
    sleeps,
    /** One reserve(); the sleeps it needed and the waits it was told of. */
    async reserve(cost: number): Promise<{ slept: number[]; told: number[] }> {
      const from = sleeps.length;
      const told: number[] = [];
      await governor.reserve(cost, (ms) => told.push(ms));
      return { slept: sleeps.slice(from), told };
    },
  };
}

/** A throttleStatus as Shopify reports it: bucket of 2,000 points restoring 100 a second. */
const status = (currentlyAvailable: number) => ({ maximumAvailable: 2000, currentlyAvailable, restoreRate: 100 });

describe('CostGovernor', () => {
  it('is a PacedGovernor like every other governor', () => {
    expect(new CostGovernor()).toBeInstanceOf(PacedGovernor);
  });

  it('never waits before Shopify has reported the bucket', async () => {
    const h = harness();
    expect(h.governor.estimate()).toBeUndefined();
    expect(await h.reserve(5000)).toEqual({ slept: [], told: [] });
    await h.governor.take();
    expect(h.sleeps).toEqual([]);
  });

  it('books each cost against the reported bucket, and waits the restore time for a query it cannot pay', async () => {
    const h = harness();
    h.governor.observe(status(300));
    expect(await h.reserve(200)).toEqual({ slept: [], told: [] });
    expect(h.governor.estimate()).toBe(100);
    // 250 wanted, 100 there: 150 points at 100/s is 1.5 s, told to the caller (its badge) too.
    expect(await h.reserve(250)).toEqual({ slept: [1500], told: [1500] });
    expect(h.governor.estimate()).toBe(0);
    expect(h.governor.waitedMs).toBe(1500);
  });

  it('counts what was restored since the reading, up to the bucket size', async () => {
    const h = harness();
    h.governor.observe(status(0));
    h.clock.t += 3000;
    expect(h.governor.estimate()).toBe(300);
    h.clock.t += 60_000;
    expect(h.governor.estimate()).toBe(2000);
  });

  it('dates a reading from when the answer arrived, not from when it was read', async () => {
    const h = harness();
    const arrived = h.governor.time();
    h.clock.t += 2000; // the body took 2 s to read and parse
    h.governor.observe(status(0), arrived);
    expect(h.governor.estimate()).toBe(200);
  });

  it('lets a query dearer than the whole bucket through once the bucket is full', async () => {
    const h = harness();
    h.governor.observe(status(1000));
    expect((await h.reserve(3000)).slept).toEqual([10_000]); // 1,000 missing to a full bucket
  });

  it('serves waiting callers in the order they asked, each paying in turn', async () => {
    const h = harness();
    h.governor.observe(status(0));
    const order: string[] = [];
    await Promise.all([
      h.governor.reserve(100).then(() => order.push(`a@${h.clock.t}`)),
      h.governor.reserve(50).then(() => order.push(`b@${h.clock.t}`)),
      h.governor.reserve(100).then(() => order.push(`c@${h.clock.t}`)),
    ]);
    expect(order).toEqual(['a@11000', 'b@11500', 'c@12500']);
  });

  it('ignores a reading without a restore rate (it would make every wait infinite)', async () => {
    const h = harness();
    h.governor.observe({ maximumAvailable: 2000, currentlyAvailable: 0, restoreRate: 0 });
    expect(h.governor.estimate()).toBeUndefined();
    h.governor.observe(undefined);
    expect(await h.reserve(100)).toEqual({ slept: [], told: [] });
  });

  it('penalise empties the bucket and waits out a stated pause before it looks again', async () => {
    const h = harness();
    h.governor.observe(status(2000));
    h.governor.penalise(4000);
    expect(h.governor.estimate()).toBe(0);
    // 4 s pause (which restored 400 points): a query of 100 then goes at once.
    expect(await h.reserve(100)).toEqual({ slept: [4000], told: [4000] });
    expect(h.governor.estimate()).toBe(300);
  });
});
