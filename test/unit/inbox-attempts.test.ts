/**
 * The durable inbox looks after its entries while it runs: failed deliveries are retried and, after
 * maxAttempts, dead-lettered and completed; entries in flight here are never re-emitted; an entry
 * whose lease ran out (its instance stopped) is taken over by the sweep.
 */
import { createStore } from '../../nodes/runtime/create-store';
import { DurableInbox } from '../../nodes/runtime/inbox';
import type { InboxEntry, Store } from '../../nodes/runtime/store';

let store: Store;
beforeEach(async () => {
  store = createStore({ backend: 'memory' });
  await store.open();
});
afterEach(async () => {
  await store.close();
});

async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

it('a delivery that always throws is retried, then dead-lettered with the last error and completed; the next entry is not held up', async () => {
  const errors: Array<[number, boolean]> = [];
  const delivered: string[] = [];
  const inbox = new DurableInbox(
    store,
    'src',
    (entry) => {
      delivered.push(`${entry.eventId}#${entry.attempts}`);
      if (entry.eventId === 'poison') throw new RangeError(`Maximum call stack size exceeded (attempt ${entry.attempts})`);
    },
    { maxAttempts: 3, retryDelayMs: 5, onError: (e, _err, willRetry) => errors.push([e.attempts, willRetry]) },
  );
  inbox.start();
  await inbox.accept('poison', { n: 1 });
  await inbox.accept('good', { n: 2 });
  await until(async () => (await store.countDeadLetters()) === 1);
  await until(async () => (await store.inboxPending('src')).length === 1); // only 'good' (with the flow)
  expect(errors).toEqual([
    [0, true],
    [1, true],
    [2, false],
  ]);
  expect(delivered.filter((d) => d.startsWith('poison'))).toEqual(['poison#0', 'poison#1', 'poison#2']);
  expect(delivered).toContain('good#0');
  const [letter] = await store.listDeadLetters();
  expect(letter.error).toEqual({ message: 'Maximum call stack size exceeded (attempt 2)', name: 'RangeError' });
  expect(letter.message).toMatchObject({ payload: { n: 1 }, topic: 'inbox.poison', tillwire: { eventId: 'poison' } });
  await inbox.stop();
});

it('a rejected promise counts as a failed delivery too, and onPoison decides where it goes', async () => {
  const poisoned: Array<[string, string]> = [];
  const inbox = new DurableInbox(store, 'src', (entry) => Promise.reject(new Error(`no ${entry.eventId}`)), {
    maxAttempts: 2,
    retryDelayMs: 5,
    onPoison: async (entry, err) => {
      poisoned.push([entry.eventId, (err as Error).message]);
    },
  });
  inbox.start();
  await inbox.accept('e1', {});
  await until(() => poisoned.length === 1);
  expect(poisoned).toEqual([['e1', 'no e1']]);
  await until(async () => (await store.inboxPending('src')).length === 0);
  await inbox.stop();
});

it('never re-emits an entry in flight here; takes over an entry whose lease ran out; forgets entries completed elsewhere', async () => {
  const delivered: InboxEntry[] = [];
  const inbox = new DurableInbox(store, 'src', (entry) => void delivered.push(entry), { leaseMs: 50, sweepEveryMs: 1_000_000 });
  inbox.start();
  await inbox.accept('mine', {});
  // an entry another instance accepted and then stopped working on (never renewed)
  await store.inboxAdd('src', 'orphan', {});
  // an entry another, live instance works on: its lease is renewed
  const live = await store.inboxAdd('src', 'live', {});
  await store.inboxRenew([live.entry.id], 60_000);
  await new Promise((r) => setTimeout(r, 80)); // let the 50 ms leases run out
  await inbox.sweep();
  expect(delivered.map((e) => `${e.eventId}#${e.attempts}`)).toEqual(['mine#0', 'orphan#1']);
  // 'mine' finished by an ack node (store only): the next sweep forgets it, and does not re-emit anything
  await store.inboxComplete(delivered[0].id);
  await inbox.sweep();
  expect(delivered).toHaveLength(2);
  await inbox.stop();
});

it('gives an entry up at the start after it was delivered maxAttempts times across restarts', async () => {
  await store.inboxAdd('src', 'crashes-the-process', { x: 1 });
  for (let run = 1; run <= 3; run++) {
    const delivered: number[] = [];
    const inbox = new DurableInbox(store, 'src', (e) => void delivered.push(e.attempts), { maxAttempts: 3 });
    await inbox.recover();
    expect(delivered).toEqual(run < 3 ? [run] : []);
  }
  expect(await store.inboxPending('src')).toEqual([]);
  const [letter] = await store.listDeadLetters();
  expect(letter.error.message).toMatch(/not finished after 3 deliveries/);
});

it('a graceful stop gives unfinished entries back: restarts and redeploys never make a healthy message poison', async () => {
  await store.inboxAdd('src', 'slow-erp', { x: 1 });
  for (let run = 1; run <= 10; run++) {
    const inbox = new DurableInbox(store, 'src', () => undefined, { maxAttempts: 3 }); // the flow keeps it
    inbox.start();
    await inbox.recover();
    await inbox.stop();
  }
  const [entry] = await store.inboxPending('src');
  expect(entry).toMatchObject({ eventId: 'slow-erp', attempts: 0 });
  expect(entry.leasedUntil).toBeUndefined();
  expect(await store.countDeadLetters()).toBe(0);
});

it('without maxAttempts an inbox never gives an entry up (callers that did not opt in keep the old behaviour)', async () => {
  await store.inboxAdd('src', 'e', {});
  for (let run = 1; run <= 8; run++) await new DurableInbox(store, 'src', () => undefined).recover();
  expect((await store.inboxPending('src'))[0].attempts).toBe(8);
  expect(await store.countDeadLetters()).toBe(0);
});
