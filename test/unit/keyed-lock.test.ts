import { KeyedLock } from '../../nodes/runtime/keyed-lock';

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
});
