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
  /** Something was committed while one ran: another is asked for when it finishes. */
  private dirty = false;
  private stopped = false;
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
  ) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { file, engine, modulePath: engine === 'better-sqlite3' ? require.resolve('better-sqlite3') : undefined, minIntervalMs: MIN_INTERVAL_MS },
    });
    this.worker.unref();
    db.exec(`PRAGMA wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    this.worker.on('message', (m: { failed?: string; done?: boolean; error?: string }) => {
      if (m.failed) return this.giveUp(m.failed);
      if (!m.done) return;
      this.checkpoints++;
      if (m.error) this.lastError = m.error;
      this.pending = false;
      if (this.dirty) this.committed();
    });
    this.worker.on('error', (err) => this.giveUp(err.message));
    this.worker.on('exit', () => {
      if (!this.stopped) this.giveUp('the checkpoint worker stopped');
    });
  }

  /** Starts checkpointing `file` (opened by `db`) on a worker thread; undefined (SQLite checkpoints as by default) if no worker can start. */
  static start(file: string, db: SqliteDatabase): WalCheckpointer | undefined {
    try {
      return new WalCheckpointer(file, db.engine, db);
    } catch {
      return undefined;
    }
  }

  /** Says that a transaction was committed: a checkpoint follows soon. */
  committed(): void {
    if (this.stopped) return;
    if (this.pending) {
      this.dirty = true;
      return;
    }
    this.pending = true;
    this.dirty = false;
    this.worker.postMessage('checkpoint');
  }

  /** Closes the worker's connection and waits for the worker to end (the last connection to close copies the rest of the log and removes it). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.state = 'stopped';
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage('close');
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** The worker cannot run: the store's own connection checkpoints as SQLite does by default. */
  private giveUp(reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.state = 'gave up';
    this.lastError = reason;
    try {
      this.db.exec(`PRAGMA wal_autocheckpoint = ${DEFAULT_PAGES}`);
    } catch {
      // the store is closing
    }
    void this.worker.terminate();
  }
}
