/**
 * A client that stops (a redeploy) ends the waits of its calls that were not sent yet: for a slot
 * of its limiter, for its rate governor (a 429's long Retry-After). They hold their keys while they
 * wait, and a redeployed node's write of the same key waits behind them.
 */
import { canonicalUrl, stoppableGovernor, TokenBucket } from '../../nodes/runtime/http';
import { Limiter } from '../../nodes/runtime/limiter';

describe('Limiter.run with a signal', () => {
  it('a task still waiting for a slot ends with the reason when the signal aborts, never runs, and the slot goes to the next', async () => {
    const limiter = new Limiter(1);
    const stop = new AbortController();
    const ran: string[] = [];
    let finishFirst!: () => void;
    const first = limiter.run(() => new Promise<void>((r) => (finishFirst = () => (ran.push('first'), r()))));
    const waiting = limiter.run(async () => void ran.push('waiting'), stop.signal);
    const after = limiter.run(async () => void ran.push('after'));
    expect(limiter.pending).toBe(2);
    stop.abort(new Error('closed'));
    await expect(waiting).rejects.toThrow('closed');
    expect(limiter.pending).toBe(1);
    finishFirst();
    await Promise.all([first, after]);
    expect(ran).toEqual(['first', 'after']);
    await expect(limiter.run(async () => 'x', stop.signal)).rejects.toThrow('closed');
  });

  it('a finishing task hands its slot to the first waiter: a caller arriving meanwhile waits too, never more than the limit at once', async () => {
    // The late caller arrives 0 to 5 microtasks after the first task ends: in the gap before the
    // woken waiter runs, a freed slot could be taken twice.
    for (let gap = 0; gap <= 5; gap++) {
      const limiter = new Limiter(1);
      let running = 0;
      let most = 0;
      const task = (hold: Promise<unknown>) => async () => {
        running++;
        most = Math.max(most, running);
        await hold;
        running--;
      };
      let releaseFirst!: () => void;
      let releaseRest!: () => void;
      const first = new Promise<void>((r) => (releaseFirst = r));
      const rest = new Promise<void>((r) => (releaseRest = r));
      const runs = [limiter.run(task(first)), limiter.run(task(rest))];
      releaseFirst();
      for (let i = 0; i < gap; i++) await Promise.resolve();
      runs.push(limiter.run(task(rest)));
      await new Promise((r) => setImmediate(r));
      expect({ gap, most }).toEqual({ gap, most: 1 });
      releaseRest();
      await Promise.all(runs);
    }
  });

  it('a task that got its slot is not affected by a later abort', async () => {
    const limiter = new Limiter(1);
    const stop = new AbortController();
    let finish!: (v: string) => void;
    const running = limiter.run(() => new Promise<string>((r) => (finish = r)), stop.signal);
    await new Promise((r) => setImmediate(r));
    stop.abort(new Error('closed'));
    finish('answered');
    await expect(running).resolves.toBe('answered');
  });
});

describe('stoppableGovernor', () => {
  it('a wait out of a provider pause ends when the client stops; a live governor serves its other callers as before', async () => {
    // Its own sleep does not hold the test run open for the 90 s.
    const bucket = new TokenBucket(100, 1, Date.now, (ms) => new Promise((r) => setTimeout(r, ms).unref()));
    bucket.penalise(90_000); // a 429 said Retry-After: 90
    const stop = new AbortController();
    const waiting = stoppableGovernor(bucket, stop.signal)!.take();
    stop.abort(new Error('closed'));
    await expect(waiting).rejects.toThrow('closed');
    await expect(stoppableGovernor(bucket, stop.signal)!.take()).rejects.toThrow('closed');
    expect(stoppableGovernor(undefined, stop.signal)).toBeUndefined();
  });

  it('takes room as the governor gives it while the client runs', async () => {
    const bucket = new TokenBucket(1000, 5);
    const stop = new AbortController();
    const g = stoppableGovernor(bucket, stop.signal)!;
    await Promise.all([g.take(), g.take(), g.take()]);
    g.penalise?.(10);
    await g.take();
  });
});

describe('canonicalUrl', () => {
  it('spells one server one way', () => {
    expect(canonicalUrl('HTTPS://Odoo.Example.com:443/')).toBe('https://odoo.example.com');
    expect(canonicalUrl('https://odoo.example.com//')).toBe('https://odoo.example.com');
    expect(canonicalUrl('http://127.0.0.1:8069/odoo/')).toBe('http://127.0.0.1:8069/odoo');
    expect(canonicalUrl(' not a url/ ')).toBe('not a url');
  });
});
