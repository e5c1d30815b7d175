/** TaskGroup: bounded fan-out whose failures stop the rest and are never left unobserved. */
import { TaskGroup } from '../../nodes/runtime/limiter';

const tick = () => new Promise((r) => setImmediate(r));

it('runs at most `concurrency` at once; after a failure, tasks not yet begun are skipped and settle() throws it', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const group = new TaskGroup(2);
    let running = 0;
    let peak = 0;
    const ran: number[] = [];
    for (let i = 0; i < 6; i++) {
      group.add(async () => {
        running++;
        peak = Math.max(peak, running);
        await tick();
        running--;
        ran.push(i);
        if (i === 1) throw new Error('task 1 failed');
      });
    }
    // Let the failure happen long before anyone awaits settle(): it must not count as unhandled.
    for (let i = 0; i < 10; i++) await tick();
    await expect(group.settle()).rejects.toThrow('task 1 failed');
    expect(peak).toBe(2);
    expect(group.failed).toBe(true);
    // Task 2 began when task 0 finished, before task 1 failed; 3…5 were skipped.
    expect(ran).toEqual([0, 1, 2]);
    expect(unhandled).toEqual([]);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

it('stopped() skips tasks not yet begun; fail() waits for those begun and rethrows the loop error', async () => {
  let stop = false;
  const group = new TaskGroup(1, () => stop);
  const ran: number[] = [];
  group.add(async () => {
    await tick();
    ran.push(0);
  });
  group.add(async () => {
    ran.push(1);
  });
  stop = true;
  await expect(group.fail(new Error('page failed'))).rejects.toThrow('page failed');
  expect(ran).toEqual([0]);
  await expect(group.settle()).resolves.toBeUndefined();
});
