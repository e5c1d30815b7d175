/**
 * StoreManager.hold: a stop (a redeploy) keeps the store open for work held on it, so a write
 * whose outside effect is under way can still record it; without held work it closes at once.
 */
import { StoreManager } from '../../nodes/runtime/store-manager';
import type { Store } from '../../nodes/runtime/store';

function fakeStore() {
  const events: string[] = [];
  const store = { open: async () => undefined, close: async () => void events.push('closed'), purgeExpired: async () => 0 } as unknown as Store;
  return { store, events };
}

it('a stop waits for held work before closing the store, which stays usable meanwhile', async () => {
  const { store, events } = fakeStore();
  const manager = new StoreManager(() => store, { sweepEveryMs: 3_600_000 });
  await manager.start();
  let finish!: () => void;
  const work = manager.hold(
    new Promise<void>((resolve) => (finish = resolve)).then(async () => void events.push(`recorded with ${(await manager.acquire()) === store}`)),
  );
  const stopped = manager.stop().then(() => void events.push('stopped'));
  await new Promise((r) => setImmediate(r));
  expect(events).toEqual([]);
  finish();
  await Promise.all([work, stopped]);
  expect(events).toEqual(['recorded with true', 'closed', 'stopped']);
  await expect(manager.acquire()).rejects.toThrow('store is closed');
});

it('held work that fails does not keep the store open, and nothing held closes at once', async () => {
  const { store, events } = fakeStore();
  const manager = new StoreManager(() => store, { sweepEveryMs: 3_600_000 });
  await manager.start();
  await expect(manager.hold(Promise.reject(new Error('bol said no')))).rejects.toThrow('bol said no');
  await manager.stop();
  expect(events).toEqual(['closed']);
});
