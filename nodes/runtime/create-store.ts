import path from 'node:path';
import { SqlStore, SqlStoreOptions } from './sql-store';
import { SqliteDriver } from './sqlite-driver';
import { PostgresDriver } from './postgres-driver';
import type { Store } from './store';

export type StoreConfig =
  | { backend: 'memory' }
  | { backend: 'sqlite'; file: string; synchronous?: 'normal' | 'full' }
  | { backend: 'postgres'; url: string; schema?: string; max?: number };

/** Builds a store from a config (paths relative to `baseDir`, usually Node-RED's userDir). Not yet opened. */
export function createStore(config: StoreConfig, baseDir = process.cwd(), options: SqlStoreOptions = {}): Store {
  switch (config.backend) {
    case 'memory':
      return new SqlStore(new SqliteDriver({ file: ':memory:' }), options);
    case 'sqlite':
      if (!config.file) throw new Error('SQLite store needs a file path');
      return new SqlStore(
        new SqliteDriver({ file: path.resolve(baseDir, config.file), synchronous: config.synchronous }),
        options,
      );
    case 'postgres':
      if (!config.url) throw new Error('PostgreSQL store needs a connection URL');
      return new SqlStore(new PostgresDriver({ connectionString: config.url, schema: config.schema, max: config.max }), options);
    default:
      throw new Error(`unknown store backend '${(config as { backend: string }).backend}'`);
  }
}
