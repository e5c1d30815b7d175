/**
 * The store's numbered migrations on both SQL backends: a new store is created at the current
 * version with the same tables and columns on SQLite and PostgreSQL; several processes opening one
 * new store at once apply each step once; a store from before numbered migrations is brought up
 * without losing a row; a store migrated by a newer Tillwire is refused with the versions named.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createStore, type StoreConfig } from '../../nodes/runtime/create-store';
import { MIGRATIONS, SCHEMA_VERSION } from '../../nodes/runtime/store-schema';
import { openSqlite } from '../../nodes/runtime/sqlite-engine';
import { POSTGRES_URL, uniqueName } from '../support/services';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-schema-'));
const schemas: string[] = [];

afterAll(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  const c = new Client({ connectionString: POSTGRES_URL });
  await c.connect();
  for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await c.end();
});

interface Backend {
  config(): StoreConfig;
  /** Runs SQL against the same database outside the store. */
  sql(cfg: StoreConfig, sql: string): Promise<Record<string, unknown>[]>;
  /** table → sorted column names */
  columns(cfg: StoreConfig): Promise<Record<string, string[]>>;
}

const sqlite: Backend = {
  config: () => ({ backend: 'sqlite', file: path.join(tmp, `${uniqueName('s')}.db`) }),
  async sql(cfg, sql) {
    const db = openSqlite((cfg as { file: string }).file);
    try {
      const stmt = db.prepare(sql);
      return stmt.returnsRows ? stmt.all([]) : (stmt.run([]), []);
    } finally {
      db.close();
    }
  },
  async columns(cfg) {
    const rows = await this.sql(
      cfg,
      `SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name LIKE 'tw\\_%' ESCAPE '\\'`,
    );
    return group(rows);
  },
};

const postgres: Backend = {
  config: () => {
    const schema = uniqueName('tw_schema');
    schemas.push(schema);
    return { backend: 'postgres', url: POSTGRES_URL, schema };
  },
  async sql(cfg, sql) {
    const c = new Client({ connectionString: POSTGRES_URL });
    await c.connect();
    try {
      await c.query(`CREATE SCHEMA IF NOT EXISTS "${(cfg as { schema: string }).schema}"`);
      await c.query(`SET search_path TO "${(cfg as { schema: string }).schema}"`);
      return (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  },
  async columns(cfg) {
    const rows = await this.sql(
      cfg,
      `SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = '${(cfg as { schema: string }).schema}'`,
    );
    return group(rows);
  },
};

function group(rows: Record<string, unknown>[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of rows) (out[String(r.t)] ??= []).push(String(r.c));
  for (const k of Object.keys(out)) out[k].sort();
  return out;
}

async function openClose(cfg: StoreConfig): Promise<void> {
  const s = createStore(cfg, tmp, { heartbeatMs: 0 });
  await s.open();
  await s.close();
}

const applied = (b: Backend, cfg: StoreConfig) => b.sql(cfg, 'SELECT version, name FROM tw_schema ORDER BY version');
const expected = MIGRATIONS.map((m) => ({ version: m.version, name: m.name }));

it('a new store has the same tables and columns on SQLite and PostgreSQL, at the current version', async () => {
  const a = sqlite.config();
  const b = postgres.config();
  await openClose(a);
  await openClose(b);
  const cols = await sqlite.columns(a);
  expect(cols).toEqual(await postgres.columns(b));
  expect(Object.keys(cols).sort()).toEqual([
    'tw_dead_letter',
    'tw_idempotency',
    'tw_inbox',
    'tw_inv_event',
    'tw_inv_order',
    'tw_inv_position',
    'tw_inv_source',
    'tw_kv',
    'tw_order_index',
    'tw_register',
    'tw_schema',
    'tw_settled_order',
  ]);
  expect(cols.tw_idempotency).toEqual(expect.arrayContaining(['owner', 'instance', 'holder']));
  for (const [backend, cfg] of [
    [sqlite, a],
    [postgres, b],
  ] as const) {
    expect((await applied(backend, cfg)).map((r) => ({ version: Number(r.version), name: r.name }))).toEqual(expected);
  }
  // Versions ascend (a gap is allowed: branches reserve numbers) and the last one is the schema's.
  const versions = MIGRATIONS.map((m) => m.version);
  expect(versions).toEqual([...new Set(versions)].sort((x, y) => x - y));
  expect(SCHEMA_VERSION).toBe(versions[versions.length - 1]);
});

describe.each([
  ['SQLite', sqlite],
  ['PostgreSQL', postgres],
] as const)('%s', (_name, backend) => {
  it('five stores opening one new database at once apply each step once', async () => {
    const cfg = backend.config();
    await Promise.all(Array.from({ length: 5 }, () => openClose(cfg)));
    expect((await applied(backend, cfg)).map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('a store from before numbered migrations is brought up with its rows kept', async () => {
    const cfg = backend.config();
    await backend.sql(cfg, `CREATE TABLE tw_kv (kv_key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at BIGINT NOT NULL)`);
    await backend.sql(cfg, `INSERT INTO tw_kv VALUES ('cursor', '"2026-11-30"', 1)`);
    const s = createStore(cfg, tmp, { heartbeatMs: 0 });
    await s.open();
    try {
      expect(await s.kvGet('cursor')).toBe('2026-11-30');
    } finally {
      await s.close();
    }
    expect((await applied(backend, cfg)).map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('a step numbered below the highest applied one but never recorded (a gap filled by a merge) still runs once', async () => {
    const cfg = backend.config();
    await openClose(cfg);
    const [gap] = MIGRATIONS.slice(-2, -1).map((m) => m.version);
    await backend.sql(cfg, `DELETE FROM tw_schema WHERE version = ${gap}`);
    await openClose(cfg);
    await openClose(cfg);
    expect((await applied(backend, cfg)).map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('step 5 brings an order index of step 4 up: each order dated by its first sighting (or its ERP acceptance)', async () => {
    const cfg = backend.config();
    await openClose(cfg);
    // Back to what step 4 left: no order date, no channel status, no settled orders.
    for (const sql of [
      'DROP TABLE tw_settled_order',
      'DROP INDEX tw_order_index_placed',
      'ALTER TABLE tw_order_index DROP COLUMN placed_at',
      'ALTER TABLE tw_order_index DROP COLUMN channel_status',
      'DELETE FROM tw_schema WHERE version = 5',
      `INSERT INTO tw_order_index (system, account, order_id, gross_minor, currency, seen_at) VALUES ('bol', '', 'B-1', 100, 'EUR', ${Date.parse('2026-10-06T10:00:00Z')})`,
      `INSERT INTO tw_order_index (system, account, order_id, erp_system, erp_ref, erp_at) VALUES ('bol', '', 'B-2', 'odoo', 'S1', ${Date.parse('2026-10-06T11:00:00Z')})`,
    ])
      await backend.sql(cfg, sql);
    const s = createStore(cfg, tmp, { heartbeatMs: 0 });
    await s.open();
    try {
      const day = await s.chainOrders({ from: Date.parse('2026-10-06T00:00:00Z'), to: Date.parse('2026-10-07T00:00:00Z') });
      expect(day.map((o) => [o.order!.orderId, o.order!.placedAt, o.order!.status, o.settled])).toEqual([
        ['B-1', '2026-10-06T10:00:00.000Z', null, []],
        ['B-2', '2026-10-06T11:00:00.000Z', null, []],
      ]);
    } finally {
      await s.close();
    }
    expect((await applied(backend, cfg)).map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('step 7 adds the position index by location to a store at version 6, its positions kept', async () => {
    const cfg = backend.config();
    await openClose(cfg);
    // Back to what step 6 left, with positions in the ledger.
    for (const sql of [
      'DROP INDEX tw_inv_position_location',
      'DELETE FROM tw_schema WHERE version = 7',
      `INSERT INTO tw_inv_position (sku, location_id, on_hand, reserved, in_transit, safety_stock, states, updated_at) VALUES ('MUG', 'WH', 5, 0, 0, 0, '{}', 1)`,
    ])
      await backend.sql(cfg, sql);
    const indexes = () =>
      backend === sqlite
        ? backend.sql(cfg, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tw_inv_position' AND sql LIKE '%location_id%'`)
        : backend.sql(
            cfg,
            `SELECT indexname AS name FROM pg_indexes WHERE schemaname = '${(cfg as { schema: string }).schema}' AND tablename = 'tw_inv_position' AND indexdef LIKE '%(location_id)'`,
          );
    expect(await indexes()).toEqual([]);
    const s = createStore(cfg, tmp, { heartbeatMs: 0 });
    await s.open();
    try {
      expect(await s.inventory.hasLocation('WH')).toBe(true);
      expect(await s.inventory.hasLocation('SHOP')).toBe(false);
      expect((await s.inventory.positions({ skus: ['MUG'] })).map((p) => [p.sku, p.locationId, p.onHand])).toEqual([['MUG', 'WH', 5]]);
    } finally {
      await s.close();
    }
    expect((await indexes()).map((r) => r.name)).toEqual(['tw_inv_position_location']);
    expect((await applied(backend, cfg)).map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));
    if (backend === sqlite) {
      // The look-up hasLocation makes goes through the index, not a scan of the table.
      const plan = await backend.sql(cfg, `EXPLAIN QUERY PLAN SELECT 1 AS found FROM tw_inv_position WHERE location_id = 'WH' LIMIT 1`);
      expect(plan.map((r) => String(r.detail)).join(' ')).toContain('tw_inv_position_location');
    }
  });

  it('a store migrated by a newer Tillwire is refused, naming both versions', async () => {
    const cfg = backend.config();
    await openClose(cfg);
    await backend.sql(cfg, `INSERT INTO tw_schema (version, name, applied_at) VALUES (${SCHEMA_VERSION + 1}, 'from the future', 0)`);
    const s = createStore(cfg, tmp, { heartbeatMs: 0 });
    await expect(s.open()).rejects.toThrow(
      `the store's schema is at version ${SCHEMA_VERSION + 1}, newer than this Tillwire knows (${SCHEMA_VERSION}): upgrade Tillwire, or use another store`,
    );
  });
});
