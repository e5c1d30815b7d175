/**
 * The SQLite library under the SQLite store: Node's built-in `node:sqlite` where this Node has it
 * without a flag (22.13 and later, so every Node that runs Node-RED 5), better-sqlite3 elsewhere
 * (Node 20, where Node-RED 4.1 runs). Both are synchronous, embed SQLite itself and run the same
 * SQL on SQLite's one file format.
 *
 * Why the built-in one first: better-sqlite3 is a native addon that must be compiled for each
 * Node ABI, and builds of version 12 against Node 24.19+ headers crash the process when a prepared
 * statement is garbage-collected (docs/developing.md, "SQLite"). The built-in library has neither problem.
 *
 * `TILLWIRE_SQLITE=better-sqlite3|node:sqlite` picks one explicitly (tests use it to run the store
 * contract on both).
 */

export type SqliteEngineName = 'node:sqlite' | 'better-sqlite3';

export interface SqliteStatement {
  /** True when the statement returns rows (SELECT, or a write with RETURNING). */
  readonly returnsRows: boolean;
  all(params: unknown[]): Record<string, unknown>[];
  run(params: unknown[]): { changes: number };
}

export interface SqliteDatabase {
  readonly engine: SqliteEngineName;
  /** False when no transaction is open (SQLite rolls one back itself on some errors); undefined when the library cannot say. */
  inTransaction(): boolean | undefined;
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  /** Runs `fn` in a BEGIN IMMEDIATE transaction (takes the write lock first, so it cannot deadlock on upgrade). */
  immediate<T>(fn: () => T): T;
  close(): void;
}

type Loader = (file: string) => SqliteDatabase;

let chosen: { name: SqliteEngineName; open: Loader } | undefined;

/** Opens `file` (or ':memory:') with the engine this process uses. */
export function openSqlite(file: string): SqliteDatabase {
  chosen ??= pickEngine(process.env.TILLWIRE_SQLITE);
  return chosen.open(file);
}

/** Which engine `openSqlite` uses in this process. */
export function sqliteEngine(): SqliteEngineName {
  chosen ??= pickEngine(process.env.TILLWIRE_SQLITE);
  return chosen.name;
}

function pickEngine(wanted: string | undefined): { name: SqliteEngineName; open: Loader } {
  if (wanted && wanted !== 'node:sqlite' && wanted !== 'better-sqlite3') {
    throw new Error(`TILLWIRE_SQLITE must be 'node:sqlite' or 'better-sqlite3', not '${wanted}'`);
  }
  if (wanted !== 'better-sqlite3') {
    const builtin = loadBuiltin();
    if (builtin) return { name: 'node:sqlite', open: builtin };
    if (wanted === 'node:sqlite') throw new Error(`node:sqlite is not available in Node ${process.versions.node} (it needs 22.13 or later)`);
  }
  let Database: any;
  try {
    Database = require('better-sqlite3');
  } catch (err) {
    throw new Error(
      `no SQLite library: Node ${process.versions.node} has no node:sqlite (22.13 or later has it) and better-sqlite3 did not load (${(err as Error).message})`,
      { cause: err },
    );
  }
  return { name: 'better-sqlite3', open: (file) => fromBetterSqlite(new Database(file)) };
}

function loadBuiltin(): Loader | undefined {
  let mod: any;
  try {
    // getBuiltinModule does not print the experimental warning path's stack and never reads node_modules.
    mod = (process as any).getBuiltinModule?.('node:sqlite') ?? require('node:sqlite');
  } catch {
    return undefined; // Node 20, or 22 before 22.13 without --experimental-sqlite
  }
  if (!mod?.DatabaseSync) return undefined;
  return (file) => fromNodeSqlite(new mod.DatabaseSync(file));
}

function fromNodeSqlite(db: any): SqliteDatabase {
  return {
    engine: 'node:sqlite',
    inTransaction: () => db.isTransaction,
    exec: (sql) => db.exec(sql),
    prepare(sql) {
      const stmt = db.prepare(sql);
      return {
        returnsRows: stmt.columns().length > 0,
        all: (params) => stmt.all(...params),
        run: (params) => ({ changes: Number(stmt.run(...params).changes) }),
      };
    },
    immediate(fn) {
      db.exec('BEGIN IMMEDIATE');
      try {
        const out = fn();
        db.exec('COMMIT');
        return out;
      } catch (err) {
        // isTransaction exists from Node 22.16 on; before it, roll back and ignore "no transaction".
        if (db.isTransaction !== false) {
          try {
            db.exec('ROLLBACK');
          } catch {
            // SQLite rolled it back itself
          }
        }
        throw err;
      }
    },
    close: () => db.close(),
  };
}

function fromBetterSqlite(db: any): SqliteDatabase {
  return {
    engine: 'better-sqlite3',
    inTransaction: () => db.inTransaction,
    exec: (sql) => db.exec(sql),
    prepare(sql) {
      const stmt = db.prepare(sql);
      return {
        returnsRows: stmt.reader,
        all: (params) => stmt.all(...params),
        run: (params) => ({ changes: stmt.run(...params).changes }),
      };
    },
    immediate: (fn) => db.transaction(fn).immediate(),
    close: () => db.close(),
  };
}
