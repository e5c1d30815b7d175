/** WindowGovernor: requests per window for several windows at once, on a manual clock. */
import { WindowGovernor } from '../../nodes/runtime/window-governor';

function clock() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms), at: () => t };
}

describe('WindowGovernor', () => {
  it('lets 10 through in a second and 500 in a minute, never more in any window', async () => {
    const c = clock();
    const g = new WindowGovernor(
      [
        { requests: 10, windowMs: 1000 },
        { requests: 500, windowMs: 60_000 },
      ],
      c.now,
      c.sleep,
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

  it('waits out a pause the provider imposed', async () => {
    const c = clock();
    const g = new WindowGovernor([{ requests: 10, windowMs: 1000 }], c.now, c.sleep, 60_000);
    await g.take();
    g.penalise(250);
    await g.take();
    expect(c.at()).toBe(250);
    g.penalise();
    await g.take();
    expect(c.at()).toBe(60_250);
  });
});
