/**
 * The SQLite store's driver, on a synchronous SQLite library (sqlite-engine.ts: node:sqlite or
 * better-sqlite3; synchronous calls keep a claim to one round trip). WAL with synchronous=NORMAL
 * survives a process crash (kill -9) but may lose the last commits on power loss;
 * `synchronous: 'full'` trades throughput for power-cut durability.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SqlDriver, Row } from './sql-store';
import { openSqlite, type SqliteDatabase, type SqliteStatement } from './sqlite-engine';
import { SQLITE, type LogicalTable, type MigrationContext } from './store-schema';
import { createPrivateDir, makeOwnerOnly, OWNER_ONLY_FILE } from './private-files';

export interface SqliteOptions {
  /** File path, or ':memory:' for the memory backend. */
  file: string;
  synchronous?: 'normal' | 'full';
}

export class SqliteDriver implements SqlDriver {
  readonly kind;
  readonly description: string;
  private db?: SqliteDatabase;
  private readonly statements = new Map<string, SqliteStatement>();

  constructor(private readonly options: SqliteOptions) {
    this.kind = options.file === ':memory:' ? ('memory' as const) : ('sqlite' as const);
    this.description = options.file === ':memory:' ? 'memory' : options.file;
  }

  async connect(): Promise<void> {
    let db: SqliteDatabase | undefined;
    try {
      if (this.options.file !== ':memory:') keepPrivate(this.options.file);
      db = openSqlite(this.options.file);
      db.exec('PRAGMA journal_mode = WAL');
      // SQLite gives the -wal and -shm files the database file's mode; ones left by an older start
      // are narrowed here.
      if (this.options.file !== ':memory:') for (const suffix of ['-wal', '-shm']) makeOwnerOnly(this.options.file + suffix);
      db.exec(`PRAGMA synchronous = ${this.options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      // Several Node-RED processes may share one file: wait for a writer rather than fail.
      db.exec('PRAGMA busy_timeout = 5000');
    } catch (err) {
      db?.close();
      throw new Error(`cannot open SQLite store at ${this.description}: ${(err as Error).message}`, { cause: err });
    }
    this.db = db;
  }

  async end(): Promise<void> {
    this.statements.clear();
    this.db?.close();
    this.db = undefined;
  }

  table(name: LogicalTable): string {
    return `tw_${name}`;
  }

  readonly dialect = SQLITE;

  async withSchemaLock<T>(fn: (ctx: MigrationContext) => Promise<T>): Promise<T> {
    // Two stores of this process on one file: the second waits here, not in SQLite's busy wait,
    // which blocks the event loop the first one needs to finish its transaction.
    const key = this.lockKey;
    const before = schemaLocks.get(key) ?? Promise.resolve();
    const mine = before.then(() => {
      migrating.set(key, this);
      return this.migrateLocked(fn).finally(() => migrating.delete(key));
    });
    const tail = mine.catch(() => undefined);
    schemaLocks.set(key, tail);
    try {
      return await mine;
    } finally {
      if (schemaLocks.get(key) === tail) schemaLocks.delete(key);
    }
  }

  private async migrateLocked<T>(fn: (ctx: MigrationContext) => Promise<T>): Promise<T> {
    const db = this.db;
    if (!db) throw new Error(`SQLite store ${this.description} is not open`);
    // IMMEDIATE takes the write lock now: another process opening the file waits (busy_timeout)
    // and then finds the schema migrated.
    db.exec('BEGIN IMMEDIATE');
    try {
      const out = await fn({
        dialect: SQLITE,
        table: (name) => this.table(name),
        query: (sql, params) => this.query(sql, params),
        columns: async (name) => {
          const { rows } = await this.query(`SELECT name FROM pragma_table_info('${this.table(name)}')`);
          return new Set(rows.map((r) => String(r.name)));
        },
      });
      db.exec('COMMIT');
      return out;
    } catch (err) {
      try {
        db.exec('ROLLBACK');
      } catch {
        // no transaction left to roll back
      }
      throw err;
    } finally {
      this.statements.clear(); // prepared statements may predate a changed table
    }
  }

  private get lockKey(): unknown {
    return this.options.file === ':memory:' ? this : path.resolve(this.options.file);
  }

  async query(sql: string, params: unknown[] = []): Promise<{ rows: Row[]; changes: number }> {
    // Another store of this process migrating the same file holds its write lock across awaits: a
    // statement here would busy-wait synchronously, blocking the event loop that migration needs,
    // and fail with "database is locked" (e.g. a template's store beside the demo's on tillwire.db).
    const key = this.lockKey;
    const lock = schemaLocks.get(key);
    if (lock && migrating.get(key) !== this) await lock;
    if (!this.db) throw new Error(`SQLite store ${this.description} is not open`);
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    if (stmt.returnsRows) {
      const rows = stmt.all(params) as Row[];
      return { rows, changes: rows.length };
    }
    return { rows: [], changes: stmt.run(params).changes };
  }
}

/** Per file (or in-memory driver): the schema migration running in this process, if any. */
const schemaLocks = new Map<unknown, Promise<unknown>>();
/** Per file: the driver whose migration holds the write lock now. */
const migrating = new Map<unknown, SqliteDriver>();

/**
 * The store holds raw payloads (customers, orders, sales): its file is the owner's only, whatever
 * the process umask. A new file is created 0600 before SQLite opens it; an existing one is narrowed.
 */
function keepPrivate(file: string): void {
  createPrivateDir(path.dirname(path.resolve(file)));
  try {
    fs.closeSync(fs.openSync(file, 'wx', OWNER_ONLY_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    makeOwnerOnly(file);
  }
}
