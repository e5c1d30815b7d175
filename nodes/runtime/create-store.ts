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
export function createStore(config: StoreConfig, baseDir = process.cwd(), options: SqlStoreOptions & { warn?: (message: string) => void } = {}): Store {
  switch (config.backend) {
    case 'memory':
      return new SqlStore(new SqliteDriver({ file: ':memory:' }), options);
    case 'sqlite':
      if (!config.file) throw new Error('SQLite store needs a file path');
      return new SqlStore(new SqliteDriver({ file: path.resolve(baseDir, config.file), synchronous: config.synchronous, warn: options.warn }), options);
    case 'postgres':
      if (!config.url) throw new Error('PostgreSQL store needs a connection URL');
      return new SqlStore(new PostgresDriver({ connectionString: config.url, schema: config.schema, max: config.max }), options);
    default:
      throw new Error(`unknown store backend '${(config as { backend: string }).backend}'`);
  }
}

/** The `tillwire-store` config node's properties (secrets such as the PostgreSQL URL come from credentials). */
export interface StoreNodeDef {
  id?: string;
  name?: string;
  backend?: 'sqlite' | 'postgres' | 'memory';
  file?: string;
  schema?: string;
  synchronous?: 'normal' | 'full';
}

export function storeConfigFrom(def: StoreNodeDef, credentials: Record<string, string | undefined> = {}): StoreConfig {
  switch (def.backend ?? 'sqlite') {
    case 'memory':
      return { backend: 'memory' };
    case 'postgres':
      return { backend: 'postgres', url: credentials.url ?? '', schema: def.schema || undefined };
    default:
      return { backend: 'sqlite', file: def.file || 'tillwire.db', synchronous: def.synchronous };
  }
}
