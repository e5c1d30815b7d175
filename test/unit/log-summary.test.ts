import { LogSummary } from '../../nodes/runtime/log-summary';

describe('LogSummary', () => {
  it('writes the first line of a burst, then one counted summary per interval, and what is left on close', () => {
    jest.useFakeTimers();
    try {
      const lines: string[] = [];
      const log = new LogSummary((l) => lines.push(l), 'rejected a till message', 'till messages rejected', 60_000, 2);
      for (let i = 0; i < 1000; i++) log.record(i % 3 === 0 ? 'malformed JSON' : i % 3 === 1 ? 'not UTF-8' : 'too deep');
      expect(lines).toEqual(['rejected a till message: malformed JSON']);
      jest.advanceTimersByTime(60_000);
      // two kinds at most (the first two after the line already written), the rest counted together
      expect(lines[1]).toBe('999 more till messages rejected since the last report: 333 × not UTF-8; 333 × too deep; 333 × other reasons');
      log.record('too deep');
      log.close();
      expect(lines).toHaveLength(3);
      expect(lines[2]).toBe('1 more till messages rejected since the last report: 1 × too deep');
      expect(log.total).toBe(1001);
    } finally {
      jest.useRealTimers();
    }
  });

  it('a quiet interval ends the burst: the next line is written at once', () => {
    jest.useFakeTimers();
    try {
      const lines: string[] = [];
      const log = new LogSummary((l) => lines.push(l), 'webhook delivery rejected', 'webhook deliveries rejected');
      log.record('(401) signature does not match');
      jest.advanceTimersByTime(60_000);
      log.record('(413) body too large');
      expect(lines).toEqual(['webhook delivery rejected: (401) signature does not match', 'webhook delivery rejected: (413) body too large']);
      log.close();
    } finally {
      jest.useRealTimers();
    }
  });
});
