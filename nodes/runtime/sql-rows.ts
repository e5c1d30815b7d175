/**
 * Many rows as one statement parameter, for SQLite and PostgreSQL alike: PostgreSQL unnests one
 * array per column, SQLite reads one JSON array of rows with json_each. One statement text whatever
 * the number of rows, and no statement with thousands of placeholders.
 */
import type { SqlDriver } from './sql-store';

/** A column of such rows: its name in the subquery and its PostgreSQL array type. */
export type RowColumn = readonly [name: string, type: 'text' | 'bigint'];

/**
 * A subquery (`sql`, with `params`) yielding `rows` with `columns` named; `ordered` adds `ord`, the
 * rows' given order (for `ORDER BY v.ord` where the order matters: lock order, serial ids).
 */
export function rowsParam(
  kind: SqlDriver['kind'],
  columns: readonly RowColumn[],
  rows: readonly unknown[][],
  ordered = false,
): { sql: string; params: unknown[] } {
  const names = columns.map(([name]) => name);
  if (kind === 'postgres') {
    const arrays = columns.map(([, type]) => `?::${type}[]`).join(', ');
    const aliases = [...names, ...(ordered ? ['ord'] : [])].join(', ');
    return {
      sql: `SELECT * FROM unnest(${arrays})${ordered ? ' WITH ORDINALITY' : ''} AS u(${aliases})`,
      params: columns.map((_, i) => rows.map((r) => r[i])),
    };
  }
  const picks = names.map((name, i) => `json_extract(value, '$[${i}]') AS ${name}`);
  return { sql: `SELECT ${[...picks, ...(ordered ? ['key AS ord'] : [])].join(', ')} FROM json_each(?)`, params: [JSON.stringify(rows)] };
}
