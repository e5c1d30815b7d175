/**
 * The store's tables, one definition for SQLite and PostgreSQL, as numbered migrations.
 *
 * `migrate` runs on every open, under the store's exclusive lock (SQLite: BEGIN IMMEDIATE;
 * PostgreSQL: a transaction holding an advisory lock), so several Node-RED instances opening one
 * store at once apply each step exactly once. Applied steps are recorded in `tw_schema`. A store
 * whose recorded version is newer than this code knows is refused: an older Tillwire must not
 * write into tables it does not understand.
 *
 * Adding a step: append a migration with the next number; never edit one that has shipped. Numbers
 * ascend but may have gaps; each step not yet recorded runs, in order, so a gap filled later still runs. Steps
 * are written so that they also hold on a store made before numbered migrations existed (its
 * tables are there, `tw_schema` is not): hence IF NOT EXISTS and "add a column if it is missing".
 */

export type LogicalTable =
  | 'idempotency'
  | 'dead_letter'
  | 'inbox'
  | 'register'
  | 'kv'
  | 'schema'
  | 'order_index'
  | 'settled_order'
  | 'inv_position'
  | 'inv_event'
  | 'inv_source'
  | 'inv_order'
  | 'summary'
  | 'summary_sale';

/** What differs between the two SQL dialects in the table definitions. */
export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  /** 64-bit integer column type (epoch ms, minor units). */
  readonly bigint: string;
  /** An auto-numbered 64-bit primary key. */
  readonly serialKey: string;
  /**
   * An expression: the JSON object in TEXT `column` with the keys of one `?` parameter (a JSON
   * object's text) set over it, in one statement, so concurrent merges into one row all land.
   */
  mergeJson(column: string): string;
}

export const SQLITE: Dialect = {
  name: 'sqlite',
  bigint: 'INTEGER',
  serialKey: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  mergeJson: (column) => `json_patch(${column}, ?)`,
};
export const POSTGRES: Dialect = {
  name: 'postgres',
  bigint: 'BIGINT',
  serialKey: 'BIGSERIAL PRIMARY KEY',
  // `||` on a JSON value that is not an object makes an array: such a value counts as {}, as json_patch does.
  mergeJson: (column) => `(CASE WHEN jsonb_typeof(${column}::jsonb) = 'object' THEN ${column}::jsonb ELSE '{}'::jsonb END || ?::jsonb)::text`,
};

export interface MigrationContext {
  readonly dialect: Dialect;
  table(name: LogicalTable): string;
  query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  /** The columns a table has now. */
  columns(name: LogicalTable): Promise<Set<string>>;
}

export interface Migration {
  version: number;
  name: string;
  up(ctx: MigrationContext): Promise<void>;
}

async function addColumnIfMissing(ctx: MigrationContext, name: LogicalTable, column: string, type: string): Promise<void> {
  if (!(await ctx.columns(name)).has(column)) await ctx.query(`ALTER TABLE ${ctx.table(name)} ADD COLUMN ${column} ${type}`);
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'claims, dead letters, inbox, sales register, key-value',
    async up(ctx) {
      const { bigint, serialKey } = ctx.dialect;
      const t = (n: LogicalTable) => ctx.table(n);
      for (const sql of [
        `CREATE TABLE IF NOT EXISTS ${t('idempotency')} (
           scope TEXT NOT NULL, idem_key TEXT NOT NULL, state TEXT NOT NULL, token TEXT NOT NULL,
           expires_at ${bigint} NOT NULL, updated_at ${bigint} NOT NULL, PRIMARY KEY (scope, idem_key))`,
        `CREATE INDEX IF NOT EXISTS tw_idempotency_expires ON ${t('idempotency')} (expires_at)`,
        `CREATE TABLE IF NOT EXISTS ${t('dead_letter')} (
           id TEXT PRIMARY KEY, created_at ${bigint} NOT NULL, updated_at ${bigint} NOT NULL, status TEXT NOT NULL,
           flow_id TEXT, node_id TEXT, node_type TEXT, node_name TEXT, topic TEXT, error TEXT NOT NULL,
           attempts INTEGER NOT NULL, message TEXT NOT NULL, history TEXT NOT NULL, version INTEGER NOT NULL)`,
        `CREATE INDEX IF NOT EXISTS tw_dead_letter_flow ON ${t('dead_letter')} (flow_id, status)`,
        `CREATE TABLE IF NOT EXISTS ${t('inbox')} (
           id ${serialKey}, source TEXT NOT NULL, event_id TEXT NOT NULL, payload TEXT NOT NULL,
           received_at ${bigint} NOT NULL, completed_at ${bigint}, state TEXT NOT NULL, attempts INTEGER NOT NULL,
           UNIQUE (source, event_id))`,
        `CREATE INDEX IF NOT EXISTS tw_inbox_pending ON ${t('inbox')} (source, state, id)`,
        `CREATE TABLE IF NOT EXISTS ${t('register')} (
           reg_key TEXT PRIMARY KEY, kind TEXT NOT NULL, store_id TEXT, terminal_id TEXT, business_date TEXT,
           sequence ${bigint}, amount ${bigint} NOT NULL, currency TEXT NOT NULL, document TEXT NOT NULL,
           recorded_at ${bigint} NOT NULL, external_refs TEXT NOT NULL)`,
        `CREATE INDEX IF NOT EXISTS tw_register_day ON ${t('register')} (store_id, business_date, kind)`,
        `CREATE TABLE IF NOT EXISTS ${t('kv')} (kv_key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at ${bigint} NOT NULL)`,
      ]) {
        await ctx.query(sql);
      }
    },
  },
  {
    version: 2,
    name: 'claims have an owner (process), an instance and a holder, renewed by a heartbeat',
    async up(ctx) {
      for (const column of ['owner', 'instance', 'holder']) await addColumnIfMissing(ctx, 'idempotency', column, 'TEXT');
      await ctx.query(`CREATE INDEX IF NOT EXISTS tw_idempotency_open ON ${ctx.table('idempotency')} (owner) WHERE state = 'claimed'`);
    },
  },
  // Version 3 is taken by the settlement register on another branch; numbers may have a gap, they
  // only have to ascend (migrate applies every step above the store's recorded version, in order).
  {
    version: 4,
    name: 'order index: channel orders Tillwire took in and the ERP ref each got',
    async up(ctx) {
      const { bigint } = ctx.dialect;
      const t = ctx.table('order_index');
      await ctx.query(
        `CREATE TABLE IF NOT EXISTS ${t} (
           system TEXT NOT NULL, account TEXT NOT NULL, order_id TEXT NOT NULL, gross_minor ${bigint}, currency TEXT, seen_at ${bigint},
           erp_system TEXT, erp_ref TEXT, erp_at ${bigint}, PRIMARY KEY (system, account, order_id))`,
      );
      // Settlements name orders by the channel's id alone: the lookup goes by order_id.
      await ctx.query(`CREATE INDEX IF NOT EXISTS tw_order_index_id ON ${t} (order_id)`);
    },
  },
  {
    version: 5,
    name: 'control totals across the chain: the order date and channel status, and the orders each settlement settled',
    async up(ctx) {
      const { bigint } = ctx.dialect;
      const orders = ctx.table('order_index');
      await addColumnIfMissing(ctx, 'order_index', 'placed_at', bigint);
      await addColumnIfMissing(ctx, 'order_index', 'channel_status', 'TEXT');
      // Rows written before this step: the first time Tillwire (or the ERP) knew the order stands in for its date.
      await ctx.query(`UPDATE ${orders} SET placed_at = COALESCE(seen_at, erp_at) WHERE placed_at IS NULL`);
      await ctx.query(`CREATE INDEX IF NOT EXISTS tw_order_index_placed ON ${orders} (placed_at)`);
      await ctx.query(
        `CREATE TABLE IF NOT EXISTS ${ctx.table('settled_order')} (
           system TEXT NOT NULL, account TEXT NOT NULL, order_id TEXT NOT NULL, settlement_id TEXT NOT NULL,
           charged_minor ${bigint} NOT NULL, net_minor ${bigint} NOT NULL, currency TEXT NOT NULL, settled_at ${bigint} NOT NULL,
           recorded_at ${bigint} NOT NULL, PRIMARY KEY (system, account, order_id, settlement_id))`,
      );
      await ctx.query(`CREATE INDEX IF NOT EXISTS tw_settled_order_settlement ON ${ctx.table('settled_order')} (system, account, settlement_id)`);
      await ctx.query(`CREATE INDEX IF NOT EXISTS tw_settled_order_at ON ${ctx.table('settled_order')} (settled_at)`);
    },
  },
  {
    version: 6,
    name: 'inventory ledger: positions per SKU and location, their events, applied source documents, order reservations',
    async up(ctx) {
      const { bigint, serialKey } = ctx.dialect;
      const t = (n: LogicalTable) => ctx.table(n);
      for (const sql of [
        `CREATE TABLE IF NOT EXISTS ${t('inv_position')} (
           sku TEXT NOT NULL, location_id TEXT NOT NULL, on_hand ${bigint} NOT NULL, reserved ${bigint} NOT NULL,
           in_transit ${bigint} NOT NULL, safety_stock ${bigint} NOT NULL, states TEXT NOT NULL, updated_at ${bigint} NOT NULL,
           PRIMARY KEY (sku, location_id))`,
        `CREATE TABLE IF NOT EXISTS ${t('inv_event')} (
           id ${serialKey}, sku TEXT NOT NULL, location_id TEXT NOT NULL, field TEXT NOT NULL, delta ${bigint} NOT NULL,
           after_value ${bigint} NOT NULL, kind TEXT NOT NULL, source_system TEXT NOT NULL, source_account TEXT NOT NULL,
           source_doc TEXT NOT NULL, order_system TEXT, order_account TEXT, order_id TEXT, note TEXT, at ${bigint} NOT NULL)`,
        // An explanation reads one SKU's latest events, at one location or all.
        `CREATE INDEX IF NOT EXISTS tw_inv_event_position ON ${t('inv_event')} (sku, location_id, id)`,
        `CREATE INDEX IF NOT EXISTS tw_inv_event_sku ON ${t('inv_event')} (sku, id)`,
        `CREATE TABLE IF NOT EXISTS ${t('inv_source')} (
           system TEXT NOT NULL, account TEXT NOT NULL, kind TEXT NOT NULL, document_id TEXT NOT NULL, digest TEXT NOT NULL,
           applied_at ${bigint} NOT NULL, PRIMARY KEY (system, account, kind, document_id))`,
        `CREATE TABLE IF NOT EXISTS ${t('inv_order')} (
           system TEXT NOT NULL, account TEXT NOT NULL, order_id TEXT NOT NULL, digest TEXT NOT NULL, outcome TEXT NOT NULL,
           result TEXT NOT NULL, allocations TEXT NOT NULL, created_at ${bigint} NOT NULL, updated_at ${bigint} NOT NULL,
           PRIMARY KEY (system, account, order_id))`,
      ]) {
        await ctx.query(sql);
      }
    },
  },
  {
    version: 7,
    name: 'inventory ledger: positions by location (whether a location is known)',
    async up(ctx) {
      // The key is (sku, location_id): a look-up by location alone (InventoryLedger.hasLocation, on every till sale) scanned the table.
      await ctx.query(`CREATE INDEX IF NOT EXISTS tw_inv_position_location ON ${ctx.table('inv_position')} (location_id)`);
    },
  },
  {
    version: 8,
    name: 'summarised posting: summaries per store, business date and interval, and the summary each sale was assigned to',
    async up(ctx) {
      const { bigint } = ctx.dialect;
      const t = (n: LogicalTable) => ctx.table(n);
      for (const sql of [
        `CREATE TABLE IF NOT EXISTS ${t('summary')} (
           scope TEXT NOT NULL, summary_key TEXT NOT NULL, store_id TEXT NOT NULL, business_date TEXT NOT NULL, seq INTEGER NOT NULL,
           state TEXT NOT NULL, opens_at ${bigint} NOT NULL, closes_at ${bigint} NOT NULL, closed_at ${bigint}, currency TEXT NOT NULL, tax_included INTEGER NOT NULL,
           sales INTEGER NOT NULL, amount ${bigint} NOT NULL, erp_id TEXT, erp_ref TEXT, posted_at ${bigint}, attempts INTEGER NOT NULL,
           next_attempt_at ${bigint}, last_error TEXT, PRIMARY KEY (scope, summary_key), UNIQUE (scope, store_id, business_date, seq))`,
        // The timer's reads: open summaries due to close, closed ones not posted yet.
        `CREATE INDEX IF NOT EXISTS tw_summary_state ON ${t('summary')} (scope, state, closes_at)`,
        `CREATE TABLE IF NOT EXISTS ${t('summary_sale')} (
           scope TEXT NOT NULL, sale_key TEXT NOT NULL, summary_key TEXT NOT NULL, store_id TEXT NOT NULL, business_date TEXT NOT NULL,
           amount ${bigint} NOT NULL, currency TEXT NOT NULL, late INTEGER NOT NULL, document TEXT NOT NULL, assigned_at ${bigint} NOT NULL,
           PRIMARY KEY (scope, sale_key))`,
        `CREATE INDEX IF NOT EXISTS tw_summary_sale_summary ON ${t('summary_sale')} (scope, summary_key, sale_key)`,
      ]) {
        await ctx.query(sql);
      }
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/**
 * Brings the store to SCHEMA_VERSION; `ctx` must run inside the store's exclusive lock. Returns the
 * versions before and after.
 */
export async function migrate(ctx: MigrationContext, now: number, migrations: readonly Migration[] = MIGRATIONS): Promise<{ from: number; to: number }> {
  const known = migrations[migrations.length - 1].version;
  await ctx.query(
    `CREATE TABLE IF NOT EXISTS ${ctx.table('schema')} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at ${ctx.dialect.bigint} NOT NULL)`,
  );
  const { rows } = await ctx.query(`SELECT version FROM ${ctx.table('schema')}`);
  const applied = new Set(rows.map((r) => Number(r.version)));
  const from = applied.size ? Math.max(...applied) : 0;
  if (from > known) {
    throw new Error(`the store's schema is at version ${from}, newer than this Tillwire knows (${known}): upgrade Tillwire, or use another store`);
  }
  // Every step not recorded yet, not only those above the highest: a step numbered below one
  // already applied (branches merged with a gap filled in) still runs once.
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    await m.up(ctx);
    await ctx.query(`INSERT INTO ${ctx.table('schema')} (version, name, applied_at) VALUES (?, ?, ?)`, [m.version, m.name, now]);
  }
  return { from, to: Math.max(from, known) };
}
