/**
 * The SQLite store's checkpoints off the event loop (nodes/runtime/sqlite-checkpointer.ts): a worker
 * thread copies the write-ahead log into the database file long before the store's own connection
 * would (SQLite's default: at 1,000 log pages; the store's backstop: 10,000); when no worker can
 * open the file, the store's connection checkpoints as SQLite does by default; once the store is
 * closed, the worker's connection is too, and the log is copied and removed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteDriver } from '../../nodes/runtime/sqlite-driver';
import { STATEMENTS_PER_CHECKPOINT, WalCheckpointer } from '../../nodes/runtime/sqlite-checkpointer';
import { openSqlite } from '../../nodes/runtime/sqlite-engine';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-ckpt-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const ROWS = 2 * STATEMENTS_PER_CHECKPOINT;
const ROW = 'x'.repeat(1000); // four a page: about 250 pages, well under SQLite's own 1,000

/** Waits (bounded) until `ok()` holds; returns whether it did. */
async function eventually(ok: () => boolean, ms = 10_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) if (ok()) return true;
  return ok();
}

it('the log is copied into the database file by the worker, below the point where SQLite itself would', async () => {
  const file = path.join(dir, 'store.db');
  const driver = new SqliteDriver({ file });
  await driver.connect();
  try {
    await driver.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    const before = fs.statSync(file).size;
    for (let i = 0; i < ROWS; i += 30) await Promise.all(Array.from({ length: 30 }, () => driver.query('INSERT INTO t (v) VALUES (?)', [ROW])));
    expect(await eventually(() => fs.statSync(file).size >= before + ROWS * 1000)).toBe(true);
  } finally {
    await driver.end();
  }
});

it('the same writes through a plain connection (SQLite default checkpoints) leave the database file as it was: the check above can fail', () => {
  const file = path.join(dir, 'plain.db');
  const db = openSqlite(file);
  try {
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    const before = fs.statSync(file).size;
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    for (let i = 0; i < ROWS; i += 30) db.immediate(() => Array.from({ length: 30 }, () => insert.run([ROW])));
    expect(fs.statSync(file).size).toBe(before);
    expect(fs.statSync(file + '-wal').size).toBeGreaterThan(ROWS * 1000);
  } finally {
    db.close();
  }
});

it('a quiet store (commits of a few statements) is not checkpointed after each commit: the worker is asked once enough was committed', async () => {
  const file = path.join(dir, 'store.db');
  const db = openSqlite(file);
  db.exec('PRAGMA journal_mode = WAL');
  const checkpointer = WalCheckpointer.start(file, db)!;
  try {
    for (let i = 0; i < STATEMENTS_PER_CHECKPOINT - 1; i++) checkpointer.committed(1);
    // A checkpoint asked for would be over long before this: the worker waits at most 50 ms between two.
    await new Promise((r) => setTimeout(r, 300));
    expect(checkpointer.checkpoints).toBe(0);
    checkpointer.committed(1);
    expect(await eventually(() => checkpointer.checkpoints === 1)).toBe(true);
    for (let i = 0; i < STATEMENTS_PER_CHECKPOINT - 1; i++) checkpointer.committed(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(checkpointer.checkpoints).toBe(1);
  } finally {
    await checkpointer.stop();
    db.close();
  }
});

it('once the store is closed, the worker is too: the log is copied into the database file and removed', async () => {
  const file = path.join(dir, 'store.db');
  const driver = new SqliteDriver({ file });
  await driver.connect();
  await driver.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
  await Promise.all(Array.from({ length: 30 }, () => driver.query('INSERT INTO t (v) VALUES (?)', [ROW])));
  await driver.end();
  expect(fs.existsSync(file + '-wal')).toBe(false);
  const db = openSqlite(file);
  expect(db.prepare('SELECT count(*) AS n FROM t').all([])).toEqual([{ n: 30 }]);
  db.close();
});

it('a worker that cannot open the file gives up, and the store connection checkpoints as SQLite does by default', async () => {
  const file = path.join(dir, 'store.db');
  const db = openSqlite(file);
  try {
    db.exec('PRAGMA journal_mode = WAL');
    const warnings: string[] = [];
    const checkpointer = WalCheckpointer.start(path.join(dir, 'no-such-dir', 'store.db'), db, (m) => warnings.push(m))!;
    expect(db.prepare('PRAGMA wal_autocheckpoint').all([])).toEqual([{ wal_autocheckpoint: 10_000 }]);
    expect(await eventually(() => checkpointer.state === 'gave up')).toBe(true);
    expect(checkpointer.lastError).toMatch(/unable to open|cannot open|no such/i);
    expect(db.prepare('PRAGMA wal_autocheckpoint').all([])).toEqual([{ wal_autocheckpoint: 1000 }]);
    expect(warnings).toEqual([expect.stringMatching(/back on the event loop.*(unable to open|cannot open)/i)]);
    await checkpointer.stop(); // ends at once: the worker is gone
  } finally {
    db.close();
  }
});
