/**
 * PostgreSQL through node-postgres: the shared store for several Node-RED instances.
 * Tables live in a schema of their own (default "tillwire") so they never collide with the
 * retailer's tables; BIGINT columns come back as strings and are converted in sql-store.
 */
import { Pool } from 'pg';
import type { SqlDriver, SqlQuery, Row } from './sql-store';
import { POSTGRES, type LogicalTable, type MigrationContext } from './store-schema';

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

  table(name: LogicalTable): string {
    return `"${this.schema}".tw_${name}`;
  }

  readonly dialect = POSTGRES;

  async withSchemaLock<T>(fn: (ctx: MigrationContext) => Promise<T>): Promise<T> {
    if (!this.pool) throw new Error(`PostgreSQL store ${this.description} is not open`);
    const client = await this.pool.connect();
    const query = async (sql: string, params: unknown[] = []) => ({ rows: (await client.query(numbered(sql), params)).rows as Row[] });
    try {
      await client.query('BEGIN');
      // One migrator per schema at a time, across every instance sharing the database.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tillwire-schema:${this.schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      const out = await fn({
        dialect: POSTGRES,
        table: (name) => this.table(name),
        query,
        columns: async (name) => {
          const { rows } = await query(`SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?`, [
            this.schema,
            `tw_${name}`,
          ]);
          return new Set(rows.map((r) => String(r.column_name)));
        },
      });
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Runs `fn` in one READ COMMITTED transaction on one pooled connection; what it locks (FOR UPDATE) stays locked until the end. */
  async transaction<T>(fn: (query: SqlQuery) => Promise<T>): Promise<T> {
    if (!this.pool) throw new Error(`PostgreSQL store ${this.description} is not open`);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const out = await fn(async (sql, params = []) => {
        const res = await client.query(numbered(sql), params);
        return { rows: res.rows as Row[], changes: res.rowCount ?? 0 };
      });
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async query(sql: string, params: unknown[] = []): Promise<{ rows: Row[]; changes: number }> {
    if (!this.pool) throw new Error(`PostgreSQL store ${this.description} is not open`);
    const res = await this.pool.query(numbered(sql), params);
    return { rows: res.rows as Row[], changes: res.rowCount ?? 0 };
  }
}

/** `?` placeholders (the store's SQL) as PostgreSQL's `$1, $2…`. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** Hides a password in a connection URL before it reaches a log or a status badge. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
}
