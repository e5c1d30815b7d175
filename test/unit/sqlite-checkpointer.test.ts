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
import { WalCheckpointer } from '../../nodes/runtime/sqlite-checkpointer';
import { openSqlite } from '../../nodes/runtime/sqlite-engine';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-ckpt-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const ROWS = 300;
const ROW = 'x'.repeat(4000); // one page each: 300 pages, well under SQLite's own 1,000

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
    expect(await eventually(() => fs.statSync(file).size >= before + ROWS * 4000)).toBe(true);
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
    expect(fs.statSync(file + '-wal').size).toBeGreaterThan(ROWS * 4000);
  } finally {
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
    const checkpointer = WalCheckpointer.start(path.join(dir, 'no-such-dir', 'store.db'), db)!;
    expect(db.prepare('PRAGMA wal_autocheckpoint').all([])).toEqual([{ wal_autocheckpoint: 10_000 }]);
    expect(await eventually(() => checkpointer.state === 'gave up')).toBe(true);
    expect(checkpointer.lastError).toMatch(/unable to open|cannot open|no such/i);
    expect(db.prepare('PRAGMA wal_autocheckpoint').all([])).toEqual([{ wal_autocheckpoint: 1000 }]);
  } finally {
    db.close();
  }
});
