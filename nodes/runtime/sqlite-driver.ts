/**
 * The SQLite store's driver, on a synchronous SQLite library (sqlite-engine.ts: node:sqlite or
 * better-sqlite3; synchronous calls keep a claim to one round trip). WAL with synchronous=NORMAL
 * survives a process crash (kill -9) but may lose the last commits on power loss;
 * `synchronous: 'full'` trades throughput for power-cut durability.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SqlDriver, SqlQuery, Row } from './sql-store';
import { openSqlite, type SqliteDatabase, type SqliteStatement } from './sqlite-engine';
import { WalCheckpointer } from './sqlite-checkpointer';
import { SQLITE, type LogicalTable, type MigrationContext } from './store-schema';
import { createPrivateDir, makeOwnerOnly, OWNER_ONLY_FILE } from './private-files';

export interface SqliteOptions {
  /** File path, or ':memory:' for the memory backend. */
  file: string;
  synchronous?: 'normal' | 'full';
  /** Hears what the operator should know and nobody asked for (the checkpoint worker gave up). */
  warn?: (message: string) => void;
}

export class SqliteDriver implements SqlDriver {
  readonly kind;
  readonly description: string;
  private db?: SqliteDatabase;
  private readonly statements = new Map<string, SqliteStatement>();
  /** What this driver's transactions queue on in this process: the file, or the driver of an in-memory database. */
  private readonly fileKey: unknown;
  /** Checkpoints the file's write-ahead log off the event loop (not for ':memory:'). */
  private checkpointer?: WalCheckpointer;
  /** Statements waiting for this turn's group commit (see `commitGroup`). */
  private group?: Array<{ sql: string; params: unknown[]; resolve: (r: { rows: Row[]; changes: number }) => void; reject: (e: unknown) => void }>;

  constructor(private readonly options: SqliteOptions) {
    this.kind = options.file === ':memory:' ? ('memory' as const) : ('sqlite' as const);
    this.description = options.file === ':memory:' ? 'memory' : options.file;
    this.fileKey = options.file === ':memory:' ? this : path.resolve(options.file);
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
      if (this.options.file !== ':memory:') this.checkpointer = WalCheckpointer.start(this.options.file, db, this.options.warn);
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
    // The worker's connection is then the last: it copies the rest of the log and removes it.
    await this.checkpointer?.stop();
    this.checkpointer = undefined;
  }

  table(name: LogicalTable): string {
    return `tw_${name}`;
  }

  readonly dialect = SQLITE;

  async withSchemaLock<T>(fn: (ctx: MigrationContext) => Promise<T>): Promise<T> {
    try {
      // BEGIN IMMEDIATE takes the write lock now: another process opening the file waits
      // (busy_timeout) and then finds the schema migrated.
      return await this.transaction((query) =>
        fn({
          dialect: SQLITE,
          table: (name) => this.table(name),
          query,
          columns: async (name) => {
            const { rows } = await query(`SELECT name FROM pragma_table_info('${this.table(name)}')`);
            return new Set(rows.map((r) => String(r.name)));
          },
        }),
      );
    } finally {
      this.statements.clear(); // prepared statements may predate a changed table
    }
  }

  /**
   * Runs `fn` in one BEGIN IMMEDIATE transaction: SQLite's single writer, so what `fn` reads it may
   * act on (a reservation checks and reserves in one step). Within this process the transactions on
   * one file (or in-memory database) queue here, and every plain query of a driver on that file
   * waits for them: SQLite's busy wait is synchronous, and a second connection waiting in it would
   * block the event loop the open transaction needs to finish.
   */
  async transaction<T>(fn: (query: SqlQuery) => Promise<T>): Promise<T> {
    const key = this.fileKey;
    const before = fileTransactions.get(key) ?? Promise.resolve();
    const mine = before.then(() => this.runTransaction(fn));
    const tail = mine.then(
      () => undefined,
      () => undefined,
    );
    fileTransactions.set(key, tail);
    try {
      return await mine;
    } finally {
      if (fileTransactions.get(key) === tail) fileTransactions.delete(key);
    }
  }

  private async runTransaction<T>(fn: (query: SqlQuery) => Promise<T>): Promise<T> {
    const db = this.db;
    if (!db) throw new Error(`SQLite store ${this.description} is not open`);
    db.exec('BEGIN IMMEDIATE');
    try {
      let statements = 0;
      const out = await fn(async (sql, params) => {
        statements++;
        return this.run(sql, params);
      });
      db.exec('COMMIT');
      this.checkpointer?.committed(statements);
      return out;
    } catch (err) {
      try {
        db.exec('ROLLBACK');
      } catch {
        // no transaction left to roll back
      }
      throw err;
    }
  }

  async query(sql: string, params: unknown[] = []): Promise<{ rows: Row[]; changes: number }> {
    // A read with no write waiting runs at once; writes (and reads behind them, so they see them)
    // wait for the end of this event-loop turn and commit together (below).
    if (!this.group && isRead(sql)) {
      // Checked right before the synchronous run: nothing can begin a transaction in between.
      await this.transactionsDone();
      return this.run(sql, params);
    }
    return new Promise((resolve, reject) => {
      if (!this.group) {
        this.group = [];
        setImmediate(() => void this.commitGroup().then((statements) => this.checkpointer?.committed(statements)));
      }
      this.group.push({ sql, params, resolve, reject });
    });
  }

  /** Waits until no transaction on this file is open or queued in this process. */
  private async transactionsDone(): Promise<void> {
    for (let open = fileTransactions.get(this.fileKey); open; open = fileTransactions.get(this.fileKey)) await open;
  }

  /**
   * Group commit: the statements queued during one event-loop turn run in one transaction, and each
   * caller hears back only after its COMMIT, so nothing is acknowledged before it is durable. Each
   * WAL commit writes its pages and takes the file's locks; a till sale's inbox write shared that
   * cost with nothing before (docs/architecture.md, "Group commit"). A statement that fails is
   * undone alone (SQLite rolls back the statement, not the transaction) and its caller gets the
   * error; a failed BEGIN or COMMIT, or an error after which SQLite rolled the whole transaction back
   * (disk full, I/O), fails every caller of the group, none of whose writes is kept. Resolves with
   * how many statements it committed.
   */
  private async commitGroup(): Promise<number> {
    await this.transactionsDone();
    const group = this.group ?? [];
    this.group = undefined;
    if (group.length === 1) {
      // Alone: its own statement is its own transaction, as without grouping.
      const [only] = group;
      try {
        only.resolve(this.run(only.sql, only.params));
        return 1;
      } catch (err) {
        only.reject(err);
        return 0;
      }
    }
    const outcomes: Array<{ ok: true; value: { rows: Row[]; changes: number } } | { ok: false; error: unknown }> = [];
    try {
      const db = this.db;
      if (!db) throw new Error(`SQLite store ${this.description} is not open`);
      db.immediate(() => {
        for (const q of group) {
          try {
            outcomes.push({ ok: true, value: this.run(q.sql, q.params) });
          } catch (error) {
            // Some errors (disk full, I/O) make SQLite roll the whole transaction back: the rest
            // must not run on their own, committed one by one, so the group fails as one.
            if (db.inTransaction() === false) throw error;
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (err) {
      for (const q of group) q.reject(err);
      return 0;
    }
    group.forEach((q, i) => {
      const o = outcomes[i];
      if (o.ok) q.resolve(o.value);
      else q.reject(o.error);
    });
    return group.length;
  }

  private run(sql: string, params: unknown[] = []): { rows: Row[]; changes: number } {
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

/** A statement that only reads (the store's reads all start with SELECT). */
function isRead(sql: string): boolean {
  return /^\s*select\b/i.test(sql);
}

/** Per file (or in-memory driver): the tail of the transactions queued in this process, while any is. */
const fileTransactions = new Map<unknown, Promise<void>>();

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
