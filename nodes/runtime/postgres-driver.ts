/**
 * PostgreSQL through node-postgres: the shared store for several Node-RED instances.
 * Tables live in a schema of their own (default "tillwire") so they never collide with the
 * retailer's tables; BIGINT columns come back as strings and are converted in sql-store.
 */
import { Pool } from 'pg';
import type { SqlDriver, Row } from './sql-store';

export interface PostgresOptions {
  connectionString: string;
  schema?: string;
  /** Pool size; one Node-RED instance rarely needs more than a handful. */
  max?: number;
  connectTimeoutMs?: number;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

export class PostgresDriver implements SqlDriver {
  readonly kind = 'postgres' as const;
  readonly description: string;
  private pool?: Pool;
  private readonly schema: string;

  constructor(private readonly options: PostgresOptions) {
    this.schema = options.schema ?? 'tillwire';
    if (!IDENT.test(this.schema)) throw new Error(`invalid PostgreSQL schema name '${this.schema}'`);
    this.description = redact(options.connectionString) + ` (schema ${this.schema})`;
  }

  async connect(): Promise<void> {
    const pool = new Pool({
      connectionString: this.options.connectionString,
      max: this.options.max ?? 5,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5000,
    });
    // An idle client that loses its server must not crash Node-RED (pg emits 'error' on the pool).
    pool.on('error', () => undefined);
    try {
      const client = await pool.connect();
      client.release();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    this.pool = pool;
  }

  async end(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }

  table(name: string): string {
    return `"${this.schema}".tw_${name}`;
  }

  ddl(): string[] {
    const s = `"${this.schema}"`;
    return [
      `CREATE SCHEMA IF NOT EXISTS ${s}`,
      `CREATE TABLE IF NOT EXISTS ${s}.tw_idempotency (
         scope TEXT NOT NULL, idem_key TEXT NOT NULL, state TEXT NOT NULL, token TEXT NOT NULL,
         expires_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, PRIMARY KEY (scope, idem_key))`,
      `CREATE INDEX IF NOT EXISTS tw_idempotency_expires ON ${s}.tw_idempotency (expires_at)`,
      `CREATE TABLE IF NOT EXISTS ${s}.tw_dead_letter (
         id TEXT PRIMARY KEY, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, status TEXT NOT NULL,
         flow_id TEXT, node_id TEXT, node_type TEXT, node_name TEXT, topic TEXT, error TEXT NOT NULL,
         attempts INTEGER NOT NULL, message TEXT NOT NULL, history TEXT NOT NULL, version INTEGER NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS tw_dead_letter_flow ON ${s}.tw_dead_letter (flow_id, status)`,
      `CREATE TABLE IF NOT EXISTS ${s}.tw_inbox (
         id BIGSERIAL PRIMARY KEY, source TEXT NOT NULL, event_id TEXT NOT NULL, payload TEXT NOT NULL,
         received_at BIGINT NOT NULL, completed_at BIGINT, state TEXT NOT NULL, attempts INTEGER NOT NULL,
         UNIQUE (source, event_id))`,
      `CREATE INDEX IF NOT EXISTS tw_inbox_pending ON ${s}.tw_inbox (source, state, id)`,
      `CREATE TABLE IF NOT EXISTS ${s}.tw_register (
         reg_key TEXT PRIMARY KEY, kind TEXT NOT NULL, store_id TEXT, terminal_id TEXT, business_date TEXT,
         sequence BIGINT, amount BIGINT NOT NULL, currency TEXT NOT NULL, document TEXT NOT NULL,
         recorded_at BIGINT NOT NULL, external_refs TEXT NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS tw_register_day ON ${s}.tw_register (store_id, business_date, kind)`,
      `CREATE TABLE IF NOT EXISTS ${s}.tw_kv (kv_key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at BIGINT NOT NULL)`,
    ];
  }

  async ensureColumns(name: 'idempotency', columns: Record<string, 'TEXT'>): Promise<void> {
    const { rows } = await this.query(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?`,
      [this.schema, `tw_${name}`],
    );
    const have = new Set(rows.map((r) => r.column_name));
    // Only a missing column takes ALTER TABLE's lock; IF NOT EXISTS covers two instances racing.
    for (const [column, type] of Object.entries(columns)) {
      if (!have.has(column)) await this.query(`ALTER TABLE ${this.table(name)} ADD COLUMN IF NOT EXISTS ${column} ${type}`);
    }
  }

  async query(sql: string, params: unknown[] = []): Promise<{ rows: Row[]; changes: number }> {
    if (!this.pool) throw new Error(`PostgreSQL store ${this.description} is not open`);
    let n = 0;
    const text = sql.replace(/\?/g, () => `$${++n}`);
    const res = await this.pool.query(text, params);
    return { rows: res.rows as Row[], changes: res.rowCount ?? 0 };
  }
}

/** Hides a password in a connection URL before it reaches a log or a status badge. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
}
