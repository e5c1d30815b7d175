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
      throw new Error(`cannot open SQLite store at ${this.description}: ${(err as Error).message}`);
    }
    this.db = db;
  }

  async end(): Promise<void> {
    this.statements.clear();
    this.db?.close();
    this.db = undefined;
  }

  table(name: string): string {
    return `tw_${name}`;
  }

  ddl(): string[] {
    return [
      `CREATE TABLE IF NOT EXISTS tw_idempotency (
         scope TEXT NOT NULL, idem_key TEXT NOT NULL, state TEXT NOT NULL, token TEXT NOT NULL,
         expires_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (scope, idem_key))`,
      `CREATE INDEX IF NOT EXISTS tw_idempotency_expires ON tw_idempotency (expires_at)`,
      `CREATE TABLE IF NOT EXISTS tw_dead_letter (
         id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, status TEXT NOT NULL,
         flow_id TEXT, node_id TEXT, node_type TEXT, node_name TEXT, topic TEXT, error TEXT NOT NULL,
         attempts INTEGER NOT NULL, message TEXT NOT NULL, history TEXT NOT NULL, version INTEGER NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS tw_dead_letter_flow ON tw_dead_letter (flow_id, status)`,
      `CREATE TABLE IF NOT EXISTS tw_inbox (
         id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, event_id TEXT NOT NULL, payload TEXT NOT NULL,
         received_at INTEGER NOT NULL, completed_at INTEGER, state TEXT NOT NULL, attempts INTEGER NOT NULL,
         UNIQUE (source, event_id))`,
      `CREATE INDEX IF NOT EXISTS tw_inbox_pending ON tw_inbox (source, state, id)`,
      `CREATE TABLE IF NOT EXISTS tw_register (
         reg_key TEXT PRIMARY KEY, kind TEXT NOT NULL, store_id TEXT, terminal_id TEXT, business_date TEXT,
         sequence INTEGER, amount INTEGER NOT NULL, currency TEXT NOT NULL, document TEXT NOT NULL,
         recorded_at INTEGER NOT NULL, external_refs TEXT NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS tw_register_day ON tw_register (store_id, business_date, kind)`,
      `CREATE TABLE IF NOT EXISTS tw_kv (kv_key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL)`,
    ];
  }

  async ensureColumns(name: 'idempotency', columns: Record<string, 'TEXT'>): Promise<void> {
    const db = this.db;
    if (!db) throw new Error(`SQLite store ${this.description} is not open`);
    const table = this.table(name);
    // Looked up and added in one write transaction: another process opening the file at the same
    // time waits (busy_timeout) and then finds the columns there.
    db.immediate(() => {
      const have = new Set((db.prepare(`SELECT name FROM pragma_table_info('${table}')`).all([]) as Row[]).map((r) => r.name));
      for (const [column, type] of Object.entries(columns)) {
        if (!have.has(column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
      }
    });
    this.statements.clear(); // prepared statements may predate the new columns
  }

  async query(sql: string, params: unknown[] = []): Promise<{ rows: Row[]; changes: number }> {
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
