/**
 * A counting semaphore: at most `limit` tasks at once, the rest wait in arrival order. Connector
 * config nodes share one between their nodes so a burst of messages cannot open hundreds of
 * requests against one account.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new Error('limit must be at least 1');
  }

  get pending(): number {
    return this.waiting.length;
  }

  /** Runs `task` when a slot is free; `signal` aborting while it still waits ends the wait with the signal's reason (the task never runs). */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw signal.reason;
    if (this.active < this.limit) this.active++;
    else {
      // A finishing task hands its slot straight to the first waiter (`active` stays as it is), so
      // a caller arriving in between cannot take it as well.
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal?.removeEventListener('abort', abort);
          resolve();
        };
        const abort = () => {
          const i = this.waiting.indexOf(go);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal!.reason);
        };
        this.waiting.push(go);
        signal?.addEventListener('abort', abort, { once: true });
      });
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/**
 * Work fanned out from one loop (a poll's detail requests), at most `concurrency` at once. After
 * the first failure, or once `stopped()` says so, tasks not yet begun are skipped. `settle()` waits
 * for everything added and throws the first failure; a failure is never left unobserved meanwhile
 * (Node-RED treats an unhandled rejection as a crash).
 */
export class TaskGroup {
  private readonly limiter: Limiter;
  private readonly work: Promise<void>[] = [];
  /** True once a task failed (or `fail()` was called): stop adding. */
  failed = false;

  constructor(
    concurrency: number,
    private readonly stopped: () => boolean = () => false,
  ) {
    this.limiter = new Limiter(Math.max(1, concurrency));
  }

  add(task: () => Promise<void>): void {
    const run = this.limiter.run(async () => {
      if (this.failed || this.stopped()) return;
      try {
        await task();
      } catch (err) {
        this.failed = true; // before the limiter lets the next task begin
        throw err;
      }
    });
    run.catch(() => undefined); // observed here; settle() reports it
    this.work.push(run);
  }

  /** The loop itself failed: skip what has not begun and wait for what has, then rethrow. */
  async fail(err: unknown): Promise<never> {
    this.failed = true;
    await Promise.allSettled(this.work);
    throw err;
  }

  async settle(): Promise<void> {
    const settled = await Promise.allSettled(this.work);
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure) throw failure.reason;
  }
}
