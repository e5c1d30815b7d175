import { KeyedLock, sharedLock } from '../../nodes/runtime/keyed-lock';

describe('KeyedLock', () => {
  it('serialises one key and lets others run', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    let releaseA!: () => void;
    const a = lock.run('k', () => new Promise<void>((r) => (releaseA = () => (log.push('a'), r()))));
    const b = lock.run('k', async () => void log.push('b'));
    const c = lock.run('other', async () => void log.push('c'));
    await c;
    expect(log).toEqual(['c']);
    expect(lock.size).toBe(1);
    releaseA();
    await Promise.all([a, b]);
    expect(log).toEqual(['c', 'a', 'b']);
    expect(lock.size).toBe(0);
  });

  it('a failing turn passes its error to its caller and lets the next one run', async () => {
    const lock = new KeyedLock();
    const first = lock.run('k', async () => {
      throw new Error('boom');
    });
    const second = lock.run('k', async () => 'ran');
    await expect(first).rejects.toThrow('boom');
    await expect(second).resolves.toBe('ran');
    expect(lock.size).toBe(0);
  });

  it('runAll holds every key (taken in sorted order) until its work ends; overlapping callers never wait on each other in a cycle', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    let releaseFirst!: () => void;
    const first = lock.runAll(['b', 'a'], () => new Promise<void>((r) => (releaseFirst = () => (log.push('first'), r()))));
    const second = lock.runAll(['a', 'c'], async () => void log.push('second'));
    const third = lock.runAll(['c', 'b'], async () => void log.push('third'));
    const other = lock.run('d', async () => void log.push('other'));
    await Promise.all([other, third]);
    // The third shares no key the first holds by then (its keys are taken one by one), the second waits for 'a'.
    expect(log).toEqual(['other', 'third']);
    releaseFirst();
    await Promise.all([first, second]);
    expect(log).toEqual(['other', 'third', 'first', 'second']);
    expect(lock.size).toBe(0);
  });
});

describe('sharedLock', () => {
  it("is one lock per scope in the process: a second holder of the scope (a redeployed node) waits for the first one's turn on a key", async () => {
    const old = sharedLock('test|erp-a');
    const redeployed = sharedLock('test|erp-a');
    expect(redeployed).toBe(old);
    expect(sharedLock('test|erp-b')).not.toBe(old);
    const log: string[] = [];
    let landed!: () => void;
    const inFlight = old.run('sale:1', () => new Promise<void>((r) => (landed = () => (log.push('old create answered'), r()))));
    const again = redeployed.run('sale:1', async () => void log.push('new node looks up'));
    const elsewhere = sharedLock('test|erp-b').run('sale:1', async () => void log.push('other ERP'));
    await elsewhere;
    expect(log).toEqual(['other ERP']);
    landed();
    await Promise.all([inFlight, again]);
    expect(log).toEqual(['other ERP', 'old create answered', 'new node looks up']);
  });
});
