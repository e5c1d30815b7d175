/** SlidingWindowGovernor: calls per fixed-length window, the provider's remaining count, long waits refused. */
import { SlidingWindowGovernor } from '../../nodes/runtime/window-governor';
import { ConnectorError } from '../../nodes/runtime/errors';

/** A clock moved only by the governor's own sleeps: no real waiting. */
function clocked(windows: ConstructorParameters<typeof SlidingWindowGovernor>[0], maxWaitMs?: number) {
  const clock = { t: 0, slept: [] as number[] };
  const governor = new SlidingWindowGovernor(windows, {
    system: 'test',
    maxWaitMs,
    now: () => clock.t,
    sleep: async (ms) => {
      clock.slept.push(ms);
      clock.t += ms;
    },
  });
  return { clock, governor };
}

it('60 a minute: 60 calls go at once, the 61st waits until the first leaves the window', async () => {
  const { clock, governor } = clocked([{ limit: 60, windowMs: 60_000 }]);
  for (let i = 0; i < 60; i++) await governor.take();
  expect(clock.t).toBe(0);
  await governor.take();
  expect(clock.t).toBe(60_000);
  // Never more than 60 in any minute: the next 59 fit, the 61st of this window waits again.
  for (let i = 0; i < 59; i++) await governor.take();
  expect(clock.t).toBe(60_000);
  await governor.take();
  expect(clock.t).toBe(120_000);
});

it("the provider's remaining count, when lower than ours, counts the calls we did not see", async () => {
  const { clock, governor } = clocked([{ limit: 60, windowMs: 60_000 }]);
  await governor.take();
  governor.observe(60_000, 1); // another process used 58
  expect(governor.used(60_000)).toBe(59);
  await governor.take();
  expect(clock.t).toBe(0);
  await governor.take();
  expect(clock.t).toBe(60_000);
});

it('windows are counted apart: reported day usage does not fill the minute', async () => {
  const { clock, governor } = clocked([
    { limit: 60, windowMs: 60_000, name: 'minute' },
    { limit: 5000, windowMs: 86_400_000, name: 'day' },
  ]);
  governor.observe(86_400_000, 100);
  for (let i = 0; i < 60; i++) await governor.take();
  expect(clock.t).toBe(0);
  expect(governor.used(86_400_000)).toBe(4960);
});

it('a wait longer than maxWaitMs fails at once as a rate-limit failure carrying the wait', async () => {
  const { clock, governor } = clocked(
    [
      { limit: 60, windowMs: 60_000, name: 'minute' },
      { limit: 2, windowMs: 86_400_000, name: 'day' },
    ],
    120_000,
  );
  await governor.take();
  await governor.take();
  const err = await governor.take().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectorError);
  expect((err as ConnectorError).kind).toBe('rate-limit');
  expect((err as ConnectorError).retryable).toBe(false);
  expect((err as ConnectorError).cause.retryAfterMs).toBe(86_400_000);
  expect(clock.slept).toEqual([]);
  // A provider's pause within the bound is waited out.
  const short = clocked([{ limit: 60, windowMs: 60_000 }], 120_000);
  short.governor.penalise(30_000);
  await short.governor.take();
  expect(short.clock.t).toBe(30_000);
});

describe('SlidingWindowGovernor with two short windows (QuickBooks: 10 a second, 500 a minute)', () => {
  function clock() {
    let t = 0;
    return { now: () => t, sleep: async (ms: number) => void (t += ms), at: () => t };
  }

  it('lets 10 through in a second and 500 in a minute, never more in any window', async () => {
    const c = clock();
    const g = new SlidingWindowGovernor(
      [
        { limit: 10, windowMs: 1000 },
        { limit: 500, windowMs: 60_000 },
      ],
      { system: 'quickbooks', now: c.now, sleep: c.sleep },
    );
    const sent: number[] = [];
    for (let i = 0; i < 520; i++) {
      await g.take();
      sent.push(c.at());
    }
    for (let i = 0; i < sent.length; i++) {
      expect(sent.filter((t) => t >= sent[i] && t < sent[i] + 1000).length).toBeLessThanOrEqual(10);
      expect(sent.filter((t) => t >= sent[i] && t < sent[i] + 60_000).length).toBeLessThanOrEqual(500);
    }
    expect(sent[10]).toBeGreaterThanOrEqual(1000);
    expect(sent[500]).toBeGreaterThanOrEqual(60_000);
  });

  it('waits out a pause the provider imposed, and its default pause when none was named', async () => {
    const c = clock();
    const g = new SlidingWindowGovernor([{ limit: 10, windowMs: 1000 }], { system: 'quickbooks', now: c.now, sleep: c.sleep, defaultPenaltyMs: 60_000 });
    await g.take();
    g.penalise(250);
    await g.take();
    expect(c.at()).toBe(250);
    g.penalise();
    await g.take();
    expect(c.at()).toBe(60_250);
  });
});
