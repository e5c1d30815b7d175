/**
 * The SQLite library under the store: node:sqlite wherever this Node has it without a flag (22.13+,
 * so on the Node-RED 5 lane), better-sqlite3 elsewhere; TILLWIRE_SQLITE picks one or names the
 * mistake. The store contract (test/integration/store.contract.test.ts) runs on whichever this is.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { nodeAtLeast } from '../../scripts/node-red-runtime';
import { openSqlite, sqliteEngine } from '../../nodes/runtime/sqlite-engine';

const hasBuiltin = nodeAtLeast(process.versions.node, [22, 13]);

/** Which engine a fresh Node process picks (it is chosen once per process), from the built dist/. */
function engineIn(env: Record<string, string>): { status: number | null; out: string } {
  const dist = path.resolve(__dirname, '../../dist/nodes/runtime/sqlite-engine.js');
  const r = spawnSync(
    process.execPath,
    ['-e', `try { console.log(require(${JSON.stringify(dist)}).sqliteEngine()) } catch (e) { console.log('ERR ' + e.message); process.exit(3) }`],
    {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    },
  );
  return { status: r.status, out: r.stdout.trim() };
}

it(`uses ${hasBuiltin ? 'node:sqlite' : 'better-sqlite3'} on Node ${process.versions.node}`, () => {
  expect(sqliteEngine()).toBe(hasBuiltin ? 'node:sqlite' : 'better-sqlite3');
});

it('runs statements, RETURNING rows and an immediate transaction that rolls back on a throw', () => {
  const db = openSqlite(':memory:');
  try {
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?) RETURNING id');
    expect(insert.returnsRows).toBe(true);
    expect(insert.all(['a'])).toEqual([expect.objectContaining({ id: 1 })]);
    const update = db.prepare('UPDATE t SET v = ? WHERE id = ?');
    expect(update.returnsRows).toBe(false);
    expect(update.run(['b', 1])).toEqual({ changes: 1 });
    expect(update.run(['c', 99])).toEqual({ changes: 0 });
    expect(() =>
      db.immediate(() => {
        db.prepare('INSERT INTO t (v) VALUES (?)').run(['lost']);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(
      db.immediate(() =>
        db
          .prepare('SELECT v FROM t ORDER BY id')
          .all([])
          .map((r) => r.v),
      ),
    ).toEqual(['b']);
  } finally {
    db.close();
  }
});

it('TILLWIRE_SQLITE picks the library, and a wrong value is named', () => {
  expect(engineIn({ TILLWIRE_SQLITE: 'better-sqlite3' })).toEqual({ status: 0, out: 'better-sqlite3' });
  expect(engineIn({ TILLWIRE_SQLITE: 'sqlite3' })).toEqual({ status: 3, out: "ERR TILLWIRE_SQLITE must be 'node:sqlite' or 'better-sqlite3', not 'sqlite3'" });
  const builtin = engineIn({ TILLWIRE_SQLITE: 'node:sqlite' });
  if (hasBuiltin) expect(builtin).toEqual({ status: 0, out: 'node:sqlite' });
  else expect(builtin.out).toBe(`ERR node:sqlite is not available in Node ${process.versions.node} (it needs 22.13 or later)`);
});
