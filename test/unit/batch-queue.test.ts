import { BatchQueue, Gather } from '../../nodes/runtime/batch-queue';

/** A queue whose runs wait until the test lets them finish; records each run's items. */
function gated(maxBatch: number, slots = 1) {
  const runs: number[][] = [];
  const open: Array<() => void> = [];
  const queue = new BatchQueue<number, string>(
    async (items) => {
      runs.push(items);
      await new Promise<void>((resolve) => open.push(resolve));
      return items.map((n) => (n < 0 ? new Error(`bad ${n}`) : `ok ${n}`));
    },
    maxBatch,
    slots,
  );
  const until = async (cond: () => boolean) => {
    while (!cond()) await new Promise((r) => setImmediate(r));
  };
  return { queue, runs, open, until };
}

describe('BatchQueue', () => {
  it('the first item goes at once, alone; those arriving meanwhile go together, up to maxBatch', async () => {
    const { queue, runs, open, until } = gated(3);
    const all = [1, 2, 3, 4, 5, 6].map((n) => queue.push(n));
    await until(() => runs.length === 1);
    expect(runs).toEqual([[1]]);
    expect(queue.queued).toBe(5);
    open.shift()!();
    await until(() => runs.length === 2);
    expect(runs[1]).toEqual([2, 3, 4]);
    open.shift()!();
    await until(() => runs.length === 3);
    open.shift()!();
    expect(await Promise.all(all)).toEqual(['ok 1', 'ok 2', 'ok 3', 'ok 4', 'ok 5', 'ok 6']);
    expect(runs).toEqual([[1], [2, 3, 4], [5, 6]]);
  });

  it('each item settles with its own outcome: an Error rejects that item only', async () => {
    const { queue, open, until, runs } = gated(10);
    const first = queue.push(0);
    const rest = [1, -2, 3].map((n) =>
      queue.push(n).then(
        (v) => v,
        (e: Error) => e.message,
      ),
    );
    await until(() => runs.length === 1);
    open.shift()!();
    await first;
    await until(() => runs.length === 2);
    open.shift()!();
    expect(await Promise.all(rest)).toEqual(['ok 1', 'bad -2', 'ok 3']);
  });

  it('a failed run fails each of its items; the queue goes on with the next batch', async () => {
    let calls = 0;
    const queue = new BatchQueue<number, number>(async (items) => {
      if (++calls === 1) throw new Error('ERP down');
      return items;
    }, 5);
    const a = queue.push(1).catch((e: Error) => e.message);
    const b = queue.push(2);
    expect(await a).toBe('ERP down');
    expect(await b).toBe(2);
  });

  it('two slots: a second run goes while the first is in flight; later items wait for a free slot', async () => {
    const { queue, runs, open, until } = gated(2, 2);
    const all = [1, 2, 3, 4, 5].map((n) => queue.push(n));
    await until(() => runs.length === 2);
    expect(runs).toEqual([[1], [2]]);
    open.shift()!();
    await until(() => runs.length === 3);
    expect(runs[2]).toEqual([3, 4]);
    open.shift()!();
    await until(() => runs.length === 4);
    expect(runs[3]).toEqual([5]);
    open.splice(0).forEach((f) => f());
    expect(await Promise.all(all)).toEqual(['ok 1', 'ok 2', 'ok 3', 'ok 4', 'ok 5']);
  });

  it("'turn': the items pushed during one event-loop turn go in one run, even when each run ends at once", async () => {
    const runs: number[][] = [];
    const queue = new BatchQueue<number, number>(async (items) => (runs.push(items), items), 100, 1, 'turn');
    // Pushed from separate callbacks of one turn (as Node-RED delivers messages), each run done at once.
    const pushed: Array<Promise<number>> = [];
    await new Promise<void>((resolve) => {
      for (let n = 1; n <= 5; n++) setImmediate(() => pushed.push(queue.push(n)));
      setImmediate(resolve);
    });
    expect(await Promise.all(pushed)).toEqual([1, 2, 3, 4, 5]);
    expect(runs).toEqual([[1, 2, 3, 4, 5]]);
    // The default goes at once: the same pushes make five runs.
    const eager: number[][] = [];
    const atOnce = new BatchQueue<number, number>(async (items) => (eager.push(items), items), 100, 1);
    const more: Array<Promise<number>> = [];
    await new Promise<void>((resolve) => {
      for (let n = 1; n <= 5; n++) setImmediate(() => more.push(atOnce.push(n)));
      setImmediate(resolve);
    });
    await Promise.all(more);
    expect(eager).toEqual([[1], [2], [3], [4], [5]]);
  });
});

describe('BatchQueue.pushAll', () => {
  it('items queued together go together, in batches of maxBatch, not the first alone', async () => {
    const { queue, runs, open, until } = gated(3, 2);
    const all = queue.pushAll([1, 2, 3, 4, 5]);
    await until(() => runs.length === 2);
    expect(runs).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    open.splice(0).forEach((o) => o());
    expect(await Promise.all(all)).toEqual(['ok 1', 'ok 2', 'ok 3', 'ok 4', 'ok 5']);
  });
});

describe('Gather', () => {
  const recorder = () => {
    const runs: number[][] = [];
    const run = async (items: number[]) => {
      runs.push(items);
      return items.map((n) => (n < 0 ? new Error(`bad ${n}`) : `ok ${n}`));
    };
    return { runs, run };
  };

  it('runs once, when every party has handed in an item or skipped; each put settles with its own outcome', async () => {
    const { runs, run } = recorder();
    const g = new Gather<number, string>(4, run);
    const a = g.put(1);
    g.skip();
    const b = g.put(-2);
    await new Promise((r) => setImmediate(r));
    expect(runs).toEqual([]); // one party has not arrived
    const c = g.put(3);
    expect(await a).toBe('ok 1');
    await expect(b).rejects.toThrow('bad -2');
    expect(await c).toBe('ok 3');
    expect(runs).toEqual([[1, -2, 3]]);
  });

  it('every party skipping runs nothing; a failed run fails each item', async () => {
    const { runs, run } = recorder();
    const none = new Gather<number, string>(2, run);
    none.skip();
    none.skip();
    await new Promise((r) => setImmediate(r));
    expect(runs).toEqual([]);
    const failing = new Gather<number, string>(2, async () => {
      throw new Error('ERP down');
    });
    const x = failing.put(1);
    const y = failing.put(2);
    await expect(x).rejects.toThrow('ERP down');
    await expect(y).rejects.toThrow('ERP down');
  });
});
