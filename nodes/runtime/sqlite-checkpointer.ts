/**
 * Checkpoints a SQLite store's write-ahead log on a worker thread (docs/architecture.md,
 * "Checkpoints off the event loop").
 *
 * Why: SQLite checkpoints in the connection that commits, once the log holds 1,000 pages. A
 * checkpoint copies the log into the database file and, under synchronous=NORMAL, waits twice for
 * the disk (fsync). Done on Node-RED's event loop that was about half of the SQLite time of a till
 * burst, and nothing else ran meanwhile. Here a worker thread with its own connection to the file
 * runs PASSIVE checkpoints (they never block a writer) while the event loop goes on; the store's own
 * connection keeps a larger automatic checkpoint as a backstop, which bounds the log when the
 * worker cannot catch up with a burst (or is gone), and then finds most pages copied already.
 *
 * Nothing about durability changes: a commit is durable in the log as before; a checkpoint only
 * moves committed pages into the main file, and a crash during one is recovered from the log.
 */
import { Worker } from 'node:worker_threads';
import type { SqliteDatabase, SqliteEngineName } from './sqlite-engine';

/** Log pages after which the store's own connection checkpoints (SQLite's default is 1,000). */
export const BACKSTOP_PAGES = 10_000;
/** SQLite's own default, restored when the worker cannot run. */
const DEFAULT_PAGES = 1_000;
/** The shortest time between two checkpoints of the worker, ms: each waits for the disk twice. */
const MIN_INTERVAL_MS = 50;
/**
 * Statements committed before the worker is asked for a checkpoint: a few hundred log pages, about
 * as often as SQLite's own default, so a quiet store (a few sales a second) waits for the disk as
 * seldom as before instead of after every commit.
 */
export const STATEMENTS_PER_CHECKPOINT = 500;

// Plain JavaScript (the worker may run beside TypeScript sources under test): it opens the file
// with the engine the store chose and checkpoints when told that something was committed.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { file, engine, modulePath, minIntervalMs } = workerData;
let db;
try {
  db = engine === 'node:sqlite' ? new (require('node:sqlite').DatabaseSync)(file) : new (require(modulePath))(file);
  db.exec('PRAGMA busy_timeout = 1000');
} catch (err) {
  parentPort.postMessage({ failed: String(err && err.message || err) });
  process.exit(0);
}
let last = 0;
parentPort.on('message', (m) => {
  if (m === 'close') { try { db.close(); } finally { process.exit(0); } }
  const wait = Math.max(0, last + minIntervalMs - Date.now());
  setTimeout(() => {
    last = Date.now();
    let error;
    try { db.exec('PRAGMA wal_checkpoint(PASSIVE)'); } catch (err) { error = String(err && err.message || err); }
    parentPort.postMessage({ done: true, error });
  }, wait);
});
`;

export class WalCheckpointer {
  private readonly worker: Worker;
  /** A checkpoint was asked for and has not finished. */
  private pending = false;
  /** Statements committed since the last checkpoint was asked for. */
  private unchecked = 0;
  private stopped = false;
  private stopping?: Promise<void>;
  /** Resolves when the worker thread has ended. */
  private readonly exited: Promise<void>;
  /** 'running'; 'stopped' once the store closed; 'gave up' when the worker could not run (the store's connection checkpoints instead). */
  state: 'running' | 'stopped' | 'gave up' = 'running';
  /** The last error a checkpoint reported (busy, I/O), for diagnosis; the backstop covers it. */
  lastError?: string;
  /** Checkpoints the worker finished. */
  checkpoints = 0;

  private constructor(
    file: string,
    engine: SqliteEngineName,
    private readonly db: SqliteDatabase,
    private readonly warn: (message: string) => void,
  ) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { file, engine, modulePath: engine === 'better-sqlite3' ? require.resolve('better-sqlite3') : undefined, minIntervalMs: MIN_INTERVAL_MS },
    });
    this.worker.unref();
    this.exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    try {
      db.exec(`PRAGMA wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    } catch (err) {
      void this.worker.terminate();
      throw err;
    }
    this.worker.on('message', (m: { failed?: string; done?: boolean; error?: string }) => {
      if (m.failed) return this.giveUp(m.failed);
      if (!m.done) return;
      this.checkpoints++;
      if (m.error) this.lastError = m.error;
      this.pending = false;
      this.ask();
    });
    this.worker.on('error', (err) => this.giveUp(err.message));
    this.worker.on('exit', () => {
      if (!this.stopped) this.giveUp('the checkpoint worker stopped');
    });
  }

  /**
   * Starts checkpointing `file` (opened by `db`) on a worker thread; undefined (SQLite checkpoints
   * as by default) if no worker can start. `warn` hears why the worker gave up, if it does.
   */
  static start(file: string, db: SqliteDatabase, warn: (message: string) => void = () => undefined): WalCheckpointer | undefined {
    try {
      return new WalCheckpointer(file, db.engine, db, warn);
    } catch (err) {
      warn(`checkpoints stay on the event loop: no worker thread (${(err as Error).message})`);
      return undefined;
    }
  }

  /** Says that a transaction of `statements` statements was committed. */
  committed(statements: number): void {
    if (this.stopped) return;
    this.unchecked += statements;
    this.ask();
  }

  /** Asks the worker for a checkpoint once enough was committed and none is running. */
  private ask(): void {
    if (this.stopped || this.pending || this.unchecked < STATEMENTS_PER_CHECKPOINT) return;
    this.pending = true;
    this.unchecked = 0;
    this.worker.postMessage('checkpoint');
  }

  /** Closes the worker's connection and waits for the worker to end (the last connection to close copies the rest of the log and removes it). */
  stop(): Promise<void> {
    this.stopping ??= this.end();
    return this.stopping;
  }

  private async end(): Promise<void> {
    if (this.stopped)
      void this.worker.terminate(); // gave up: it is ending or has ended
    else this.worker.postMessage('close');
    this.stopped = true;
    if (this.state === 'running') this.state = 'stopped';
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await this.exited;
    clearTimeout(timer);
  }

  /** The worker cannot run: the store's own connection checkpoints as SQLite does by default. */
  private giveUp(reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.state = 'gave up';
    this.lastError = reason;
    void this.worker.terminate();
    try {
      this.db.exec(`PRAGMA wal_autocheckpoint = ${DEFAULT_PAGES}`);
    } catch {
      return; // the store is closing
    }
    this.warn(`checkpoints are back on the event loop (SQLite's default): the checkpoint worker stopped: ${reason}`);
  }
}
