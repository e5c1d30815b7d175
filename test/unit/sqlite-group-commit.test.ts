/**
 * The SQLite driver's group commit (nodes/runtime/sqlite-driver.ts): the writes of one event-loop
 * turn commit in one transaction, and each caller hears back only once its write is committed (a
 * second connection on the file already sees it); one failing statement fails alone; a read queued
 * behind writes sees them; an explicit transaction begun in the same turn does not mix with the
 * group; writes queued when the store closes are refused, none kept.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SqliteDriver } from '../../nodes/runtime/sqlite-driver';
import { openSqlite, type SqliteDatabase } from '../../nodes/runtime/sqlite-engine';

let dir: string;
let driver: SqliteDriver;
let observer: SqliteDatabase;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-group-'));
  const file = path.join(dir, 'store.db');
  driver = new SqliteDriver({ file });
  await driver.connect();
  await driver.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)');
  observer = openSqlite(file);
});

afterEach(async () => {
  observer.close();
  await driver.end();
  fs.rmSync(dir, { recursive: true, force: true });
});

const seen = (): string[] =>
  observer
    .prepare('SELECT v FROM t ORDER BY id')
    .all([])
    .map((r) => String(r.v));

it('writes of one turn: each caller hears back once its write is committed; a failing one fails alone', async () => {
  const values = Array.from({ length: 100 }, (_, i) => `v${i}`);
  const writes = values.map((v) => driver.query('INSERT INTO t (v) VALUES (?) RETURNING id', [v]));
  const clash = driver.query('INSERT INTO t (v) VALUES (?)', ['v7']); // UNIQUE: fails, alone
  const after = values.map((v) => driver.query('INSERT INTO t (v) VALUES (?)', [`${v}-after`]));
  const committedWhenAnswered: number[] = [];
  await Promise.all(writes.map((w) => w.then(() => committedWhenAnswered.push(seen().length))));
  // Every caller heard back after its write was visible to another connection: committed.
  expect(Math.min(...committedWhenAnswered)).toBeGreaterThanOrEqual(values.length);
  const clashed = await clash.then(
    (ok) => ({ ok, rows: seen().filter((v) => v === 'v7').length }),
    (err: Error) => ({ err: err.message }),
  );
  expect(clashed).toEqual({ err: expect.stringMatching(/UNIQUE/) });
  await Promise.all(after);
  expect(seen()).toEqual([...values, ...values.map((v) => `${v}-after`)]);
});

it('a read issued after writes in the same turn sees them', async () => {
  const write = driver.query('INSERT INTO t (v) VALUES (?)', ['a']);
  const read = driver.query('SELECT count(*) AS n FROM t');
  await write;
  expect((await read).rows[0].n).toBe(1);
});

it('an explicit transaction begun in the same turn as queued writes runs on its own, before or after the group', async () => {
  const queued = [driver.query('INSERT INTO t (v) VALUES (?)', ['g1']), driver.query('INSERT INTO t (v) VALUES (?)', ['g2'])];
  const tx = driver.transaction(async (q) => {
    const before = (await q('SELECT count(*) AS n FROM t', [])).rows[0].n as number;
    await new Promise((r) => setImmediate(r)); // the group's turn passes while the transaction is open
    await q('INSERT INTO t (v) VALUES (?)', [`tx-saw-${before}`]);
    return (await q('SELECT count(*) AS n FROM t', [])).rows[0].n as number;
  });
  await Promise.all(queued);
  // The transaction saw all of the group or none of it, never a part, and nothing came in while it was open.
  const counted = await tx;
  const saw = seen().find((v) => v.startsWith('tx-saw-'));
  expect([
    ['tx-saw-0', 1],
    ['tx-saw-2', 3],
  ]).toContainEqual([saw, counted]);
  expect(seen()).toHaveLength(3);
});

it('writes queued when the store closes are refused, and none of them is kept', async () => {
  const queued = [driver.query('INSERT INTO t (v) VALUES (?)', ['x']), driver.query('INSERT INTO t (v) VALUES (?)', ['y'])];
  // Heard while end() waits for the checkpoint worker to stop.
  const outcomes = queued.map((q) =>
    q.then(
      () => 'kept',
      (err: Error) => err.message,
    ),
  );
  await driver.end();
  expect(await Promise.all(outcomes)).toEqual([expect.stringMatching(/not open/), expect.stringMatching(/not open/)]);
  expect(seen()).toEqual([]);
  driver = new SqliteDriver({ file: path.join(dir, 'store.db') }); // for afterEach
  await driver.connect();
});
