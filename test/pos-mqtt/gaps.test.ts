/**
 * The per-till gap tracker stays bounded over a long run: one state per till and business date
 * would otherwise pile up day after day. Dropping a state never drops a pending gap, and a till-day
 * seen again starts from what the register holds (seed), as after a restart.
 */
import { GapTracker, GapReport } from '../../nodes/pos-mqtt/gaps';

function tracker(maxTills: number) {
  const reports: GapReport[] = [];
  let now = 0;
  const gaps = new GapTracker({ graceMs: 1000, maxTills, now: () => now, onGap: (r) => reports.push(r) });
  return { gaps, reports, advance: (ms: number) => (now += ms) };
}

afterEach(() => jest.useRealTimers());

it('keeps at most maxTills till-days however many days and tills pass', () => {
  const { gaps } = tracker(100);
  const date = (day: number) => new Date(Date.UTC(2026, 0, day)).toISOString().slice(0, 10);
  for (let day = 1; day <= 60; day++) {
    for (let till = 1; till <= 20; till++) for (let seq = 1; seq <= 3; seq++) gaps.observe('S1', `T${till}`, date(day), seq);
  }
  expect(gaps.size).toBe(100);
  // The newest days are the ones kept.
  expect(gaps.known('S1', 'T20', '2026-03-01')).toBe(true);
  expect(gaps.known('S1', 'T1', '2026-01-01')).toBe(false);
});

it('never drops a till-day whose gap is still pending: it is reported after the grace period', () => {
  jest.useFakeTimers();
  const { gaps, reports, advance } = tracker(5);
  gaps.observe('S1', 'T1', '2026-01-01', 1);
  gaps.observe('S1', 'T1', '2026-01-01', 4); // 2 and 3 missing
  for (let till = 2; till <= 50; till++) gaps.observe('S1', `T${till}`, '2026-01-02', 1);
  expect(gaps.known('S1', 'T1', '2026-01-01')).toBe(true);
  expect(gaps.size).toBe(5);
  advance(1000);
  jest.advanceTimersByTime(1000);
  expect(reports).toEqual([expect.objectContaining({ storeId: 'S1', terminalId: 'T1', businessDate: '2026-01-01', missing: [2, 3] })]);
});

it('a dropped till-day seen again is seeded from the register, and a jump after it is still a gap', () => {
  jest.useFakeTimers();
  const { gaps, reports, advance } = tracker(2);
  gaps.observe('S1', 'T1', '2026-01-01', 1);
  gaps.observe('S1', 'T2', '2026-01-01', 1);
  gaps.observe('S1', 'T3', '2026-01-01', 1);
  expect(gaps.known('S1', 'T1', '2026-01-01')).toBe(false);
  gaps.seed('S1', 'T1', '2026-01-01', [1, 2]); // what the register holds for it
  gaps.observe('S1', 'T1', '2026-01-01', 5);
  advance(1000);
  jest.advanceTimersByTime(1000);
  expect(reports.map((r) => r.missing)).toEqual([[3, 4]]);
});
