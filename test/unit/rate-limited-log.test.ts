import { RateLimitedLog } from '../../nodes/runtime/rate-limited-log';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

it('writes the first line of a window, then one line with the count and the latest', () => {
  const lines: string[] = [];
  const log = new RateLimitedLog((t) => lines.push(t), 60_000);
  for (let i = 1; i <= 1000; i++) log.add(`bad message ${i}`);
  expect(lines).toEqual(['bad message 1']);
  jest.advanceTimersByTime(60_000);
  expect(lines).toEqual(['bad message 1', '999 more like this in the last 60 s; the latest: bad message 1000']);
  // a steady flood stays at one line a window
  for (let i = 1; i <= 10; i++) log.add(`again ${i}`);
  jest.advanceTimersByTime(60_000);
  expect(lines).toHaveLength(3);
  // a quiet window closes it: the next message is written at once
  jest.advanceTimersByTime(60_000);
  log.add('later');
  expect(lines[lines.length - 1]).toBe('later');
  log.stop();
});
