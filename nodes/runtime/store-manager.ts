/**
 * Owns one store for a `tillwire-store` config node: opens it, keeps retrying with backoff while it
 * cannot be opened (bad path, PostgreSQL down), sweeps expired keys, and tells the nodes using it
 * whether it is usable. A node asking for the store while it is down gets a StoreUnavailableError
 * naming the reason, so the message goes to Catch and nothing is acknowledged as done.
 */
import { EventEmitter } from 'node:events';
import { Store, StoreUnavailableError } from './store';

export interface StoreState {
  ok: boolean;
  opening: boolean;
  reason?: string;
  description: string;
}

export interface StoreManagerOptions {
  retryMinMs?: number;
  retryMaxMs?: number;
  sweepEveryMs?: number;
  inboxRetentionMs?: number;
  log?: (message: string) => void;
}

/** Longest a stop waits for held work: inside Node-RED's 15 s close timeout. */
const HOLD_LIMIT_MS = 12_000;

export class StoreManager extends EventEmitter {
  private store?: Store;
  private opening?: Promise<Store>;
  private lastError?: Error;
  private retryTimer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;
  private retryMs: number;
  private stopped = false;
  /** Work that must still reach the store before it closes (see hold). */
  private readonly held = new Set<Promise<unknown>>();
  private readonly opts: Required<Omit<StoreManagerOptions, 'log'>> & Pick<StoreManagerOptions, 'log'>;

  constructor(
    private readonly factory: () => Store,
    options: StoreManagerOptions = {},
  ) {
    super();
    this.setMaxListeners(0);
    this.opts = {
      retryMinMs: options.retryMinMs ?? 1000,
      retryMaxMs: options.retryMaxMs ?? 30_000,
      sweepEveryMs: options.sweepEveryMs ?? 60_000,
      inboxRetentionMs: options.inboxRetentionMs ?? 7 * 24 * 3600_000,
      log: options.log,
    };
    this.retryMs = this.opts.retryMinMs;
  }

  get state(): StoreState {
    return {
      ok: !!this.store,
      opening: !!this.opening,
      reason: this.store ? undefined : this.lastError?.message,
      description: this.describe(),
    };
  }

  private describe(): string {
    try {
      return this.store?.description ?? '';
    } catch {
      return '';
    }
  }

  start(): Promise<Store> {
    if (this.store) return Promise.resolve(this.store);
    if (this.opening) return this.opening;
    // Deferred one tick so `opening` is set before attempt() can run its `finally`.
    this.opening = Promise.resolve().then(() => this.attempt());
    this.emit('state', this.state);
    return this.opening;
  }

  private async attempt(): Promise<Store> {
    let candidate: Store | undefined;
    try {
      candidate = this.factory();
      await candidate.open();
      if (this.stopped) {
        await candidate.close().catch(() => undefined);
        throw new StoreUnavailableError('store was closed');
      }
      this.store = candidate;
      this.lastError = undefined;
      this.retryMs = this.opts.retryMinMs;
      this.sweepTimer = setInterval(() => this.sweep(), this.opts.sweepEveryMs);
      this.sweepTimer.unref();
      return candidate;
    } catch (err) {
      this.lastError = err as Error;
      if (!this.stopped) {
        this.opts.log?.(`store unavailable, retrying in ${Math.round(this.retryMs / 1000)}s: ${(err as Error).message}`);
        this.retryTimer = setTimeout(() => this.start().catch(() => undefined), this.retryMs);
        this.retryTimer.unref();
        this.retryMs = Math.min(this.retryMs * 2, this.opts.retryMaxMs);
      }
      throw new StoreUnavailableError(`store unavailable: ${(err as Error).message}`);
    } finally {
      this.opening = undefined;
      this.emit('state', this.state);
    }
  }

  /** The open store; waits for an open in progress; rejects at once while the store is down. */
  acquire(): Promise<Store> {
    if (this.store) return Promise.resolve(this.store);
    if (this.opening) return this.opening;
    if (this.stopped) return Promise.reject(new StoreUnavailableError('store is closed'));
    if (this.lastError) return Promise.reject(new StoreUnavailableError(`store unavailable: ${this.lastError.message}`));
    return this.start();
  }

  private sweep(): void {
    this.store?.purgeExpired(this.opts.inboxRetentionMs).catch((err) => this.opts.log?.(`sweep failed: ${err.message}`));
  }

  /**
   * Keeps the store open until `work` settles: a stop (a redeploy) waits for it, up to
   * HOLD_LIMIT_MS, before closing. For work whose outside effect has happened or is under way (a
   * figure the channel is processing), so its record is still written instead of failing on a
   * closed store.
   */
  hold<T>(work: Promise<T>): Promise<T> {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.held.add(settled);
    void settled.then(() => this.held.delete(settled));
    return work;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.sweepTimer);
    if (this.held.size) {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, HOLD_LIMIT_MS)));
      await Promise.race([Promise.all([...this.held]), limit]);
      clearTimeout(timer);
    }
    await this.opening?.catch(() => undefined);
    const store = this.store;
    this.store = undefined;
    await store?.close();
    this.removeAllListeners();
  }
}
