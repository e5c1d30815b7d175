/**
 * The stores a contract test runs on: memory, a SQLite file and a PostgreSQL schema of its own
 * (127.0.0.1:5432, database `test`), each test taking a fresh one. The SQLite files and the schemas
 * are removed after the test file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { StoreConfig } from '../../nodes/runtime/create-store';
import { POSTGRES_URL, uniqueName } from './services';
import { openSqlite } from '../../nodes/runtime/sqlite-engine';

export interface StoreBackends {
  /** The directory the SQLite files live in (also the stores' base directory). */
  dir: string;
  /** [name, a fresh store's config] for describe.each. */
  backends: Array<[string, () => StoreConfig]>;
}

export function storeBackends(prefix: string, opts: { memory?: boolean; pgPool?: number } = {}): StoreBackends {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tw-${prefix}-`));
  const schemas: string[] = [];
  afterAll(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    const c = new Client({ connectionString: POSTGRES_URL });
    await c.connect();
    for (const schema of schemas) await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
  });
  const backends: Array<[string, () => StoreConfig]> = [
    ['sqlite', () => ({ backend: 'sqlite', file: path.join(dir, `${uniqueName(prefix)}.db`) })],
    [
      'postgres',
      () => {
        const schema = uniqueName(`tw_${prefix}`);
        schemas.push(schema);
        return { backend: 'postgres', url: POSTGRES_URL, schema, max: opts.pgPool ?? 5 };
      },
    ],
  ];
  if (opts.memory !== false) backends.unshift(['memory', () => ({ backend: 'memory' })]);
  return { dir, backends };
}

/**
 * Runs raw SQL on the store a config names, beside the store (for a row the store would never write
 * itself, as a hand edit or an old version leaves it). False for memory, which nothing else can open.
 */
export async function rawSql(config: StoreConfig, dir: string, sql: string): Promise<boolean> {
  if (config.backend === 'memory') return false;
  if (config.backend === 'sqlite') {
    const db = openSqlite(path.resolve(dir, config.file));
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
    return true;
  }
  const c = new Client({ connectionString: config.url });
  await c.connect();
  try {
    await c.query(`SET search_path TO "${config.schema}"`);
    await c.query(sql);
  } finally {
    await c.end();
  }
  return true;
}
