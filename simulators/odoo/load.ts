/**
 * `load(fields, data)` for the Odoo simulator: Odoo's import entry point as nodes/odoo/contract.ts
 * describes it. Rows with a `.id` update that record through the model's own write (so its checks
 * apply), rows without one create a record; scalar columns only (char, text, integer, float,
 * boolean, selection, date, datetime). Relational columns and external ids (`id`) are not imitated
 * and are refused as a Python error, never silently ignored.
 */
import type { LoadMessage, LoadResult } from '../../nodes/odoo/contract';
import type { Database } from './simulator';

type Ctx = Record<string, any>;
type Field = ReturnType<Database['field']>;

/** A Python exception raised by load itself (not a row problem): the call fails. */
class PythonError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** A cell the import converters refuse: an error message for its row. */
class CellError extends Error {
  constructor(
    message: string,
    readonly moreinfo?: string,
  ) {
    super(message);
  }
}

interface Row {
  index: number;
  id: number | false;
  vals: Record<string, unknown>;
}

const ROLLBACK = Symbol('rollback');
const SCALAR = new Set(['char', 'text', 'integer', 'float', 'boolean', 'selection', 'date', 'datetime']);

/** Runs `model.load(fields, data)` in the current transaction; `userTz` is the calling user's `tz`. */
export function loadRows(db: Database, model: string, fields: unknown, data: unknown, ctx: Ctx, userTz?: unknown): LoadResult {
  if (!Array.isArray(fields) || fields.some((n) => typeof n !== 'string')) throw new PythonError('TypeError', 'fields must be a list of field names');
  if (!Array.isArray(data) || data.some((r) => !Array.isArray(r))) throw new PythonError('TypeError', 'data must be a list of rows');
  const columns = (fields as string[]).map((name) => column(db, model, name));
  const tz = inputTz(ctx.tz, userTz);
  const messages: LoadMessage[] = [];

  const rows: Row[] = (data as unknown[][]).map((cells, index) => {
    const at = { record: index, rows: { from: index, to: index } };
    const row: Row = { index, id: false, vals: {} };
    columns.forEach((col, j) => {
      const cell = cells[j];
      if (col === '.id') {
        if (!cell) return;
        const id = Number(cell);
        // Odoo searches each id first: one it cannot see is an error for the row.
        if (Number.isInteger(id) && db.get(model, id)) row.id = id;
        else messages.push({ type: 'error', message: `Unknown database identifier '${String(cell)}'`, field: '.id', ...at });
        return;
      }
      try {
        const { value, warning } = convert(col, cell, tz);
        row.vals[col.name] = value;
        if (warning) messages.push({ type: 'warning', message: warning, field: col.name, field_name: col.field.string, ...at });
      } catch (err) {
        if (!(err instanceof CellError)) throw err;
        const moreinfo = err.moreinfo ? { moreinfo: err.moreinfo } : {};
        messages.push({ type: 'error', message: err.message, field: col.name, field_name: col.field.string, ...moreinfo, ...at });
      }
    });
    return row;
  });

  // Any error undoes everything the call did: the answer is ids false and the messages.
  try {
    return db.transaction(() => {
      const ids = writeRows(db, model, rows, messages, ctx);
      if (messages.some((m) => m.type === 'error')) throw ROLLBACK;
      return { ids, messages, nextrow: 0 };
    });
  } catch (err) {
    if (err !== ROLLBACK) throw err;
    return { ids: false, messages, nextrow: 0 };
  }
}

/** All rows in one go; if that fails, again one at a time, each failure a message for its row (as Odoo does). */
function writeRows(db: Database, model: string, rows: Row[], messages: LoadMessage[], ctx: Ctx): number[] {
  const put = (row: Row) => (row.id ? (db.writeRecords(model, [row.id], row.vals, ctx), row.id) : db.create(model, row.vals, ctx));
  try {
    return db.transaction(() => rows.map(put));
  } catch {
    // fall through to the rows one by one
  }
  const ids: number[] = [];
  for (const row of rows) {
    try {
      ids.push(db.transaction(() => put(row)));
    } catch (err) {
      messages.push({ type: 'error', message: failureText(err), record: row.index, rows: { from: row.index, to: row.index } });
    }
  }
  return ids;
}

/** Odoo's own exceptions read as their text; anything else as "Unknown error during import". */
function failureText(err: unknown): string {
  const e = err as { exception?: string; name?: string; message?: string };
  if (e?.exception?.startsWith('odoo.exceptions.')) return String(e.message);
  return `Unknown error during import: <class '${e?.exception ?? `builtins.${e?.name ?? 'Exception'}`}'>: ${e?.message ?? String(err)}`;
}

function column(db: Database, model: string, name: string): '.id' | { name: string; field: Field } {
  if (name === '.id') return '.id';
  if (name === 'id' || name.includes('/') || name.includes('.') || name.includes(':')) {
    throw new PythonError('NotImplementedError', `the Odoo simulator's load takes '.id' and plain field columns, not '${name}'`);
  }
  const field = db.field(model, name); // Odoo: ValueError for an unknown name
  if (!SCALAR.has(field.type)) throw new PythonError('NotImplementedError', `the Odoo simulator's load does not import ${field.type} fields ('${name}')`);
  return { name, field };
}

/** One cell through the import converters (ir.fields.converter): the value written, or a CellError. */
function convert(col: { name: string; field: Field }, cell: unknown, tz: string): { value: unknown; warning?: string } {
  if (cell === undefined || cell === null || cell === false || cell === '') return { value: false };
  const text = String(cell);
  const label = col.field.string;
  switch (col.field.type) {
    case 'integer':
      if (!/^[+-]?\d+$/.test(text.trim())) throw new CellError(`'${text}' does not seem to be an integer for field '${label}'`);
      return { value: Number(text) };
    case 'float': {
      const n = Number(text);
      if (!text.trim() || !Number.isFinite(n)) throw new CellError(`'${text}' does not seem to be a number for field '${label}'`);
      return { value: n };
    }
    case 'boolean': {
      const v = text.trim().toLowerCase();
      if (['1', 'true', 'yes'].includes(v)) return { value: true };
      if (['0', 'false', 'no'].includes(v)) return { value: false };
      return { value: true, warning: `Unknown value '${text}' for boolean field '${label}', assuming 'yes'` };
    }
    case 'selection':
      if (!col.field.selection!.includes(text)) throw new CellError(`Value '${text}' not found in selection field '${label}'`);
      return { value: text };
    case 'date': {
      const m = /^(\d{4}-\d{2}-\d{2})(?: \d{2}:\d{2}:\d{2})?$/.exec(text);
      if (!m || Number.isNaN(Date.parse(`${m[1]}T00:00:00Z`)))
        throw new CellError(`'${text}' does not seem to be a valid date for field '${label}'`, "Use the format '2012-12-31'");
      return { value: m[1] };
    }
    case 'datetime': {
      const m = /^(\d{4}-\d{2}-\d{2})(?: (\d{2}:\d{2}:\d{2}))?$/.exec(text);
      const wall = m ? `${m[1]}T${m[2] ?? '00:00:00'}Z` : '';
      if (!m || Number.isNaN(Date.parse(wall))) {
        throw new CellError(`'${text}' does not seem to be a valid datetime for field '${label}'`, "Use the format '2012-12-31 23:59:59'");
      }
      return { value: wallClockToUtc(Date.parse(wall), tz) };
    }
    default:
      return { value: text };
  }
}

/** The zone import reads datetimes in: the context's `tz` if it is a zone, else the user's, else UTC. */
function inputTz(contextTz: unknown, userTz: unknown): string {
  for (const tz of [contextTz, userTz]) if (typeof tz === 'string' && tz && isZone(tz)) return tz;
  return 'UTC';
}

function isZone(tz: string): boolean {
  try {
    wallClock(tz);
    return true;
  } catch {
    return false;
  }
}

/**
 * The formatter of wall-clock time in `tz`, made once per zone: making one costs far more than using
 * it, and a long benchmark run's loads measured the simulator's formatters rather than its client.
 */
const wallClocks = new Map<string, Intl.DateTimeFormat>();
function wallClock(tz: string): Intl.DateTimeFormat {
  let f = wallClocks.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    wallClocks.set(tz, f);
  }
  return f;
}

/** `wall` (a wall-clock time in `tz`, encoded as if it were UTC) as Odoo's UTC text. */
function wallClockToUtc(wall: number, tz: string): string {
  const offsetAt = (instant: number) => {
    const parts = Object.fromEntries(
      wallClock(tz)
        .formatToParts(new Date(instant))
        .map((p) => [p.type, Number(p.value)]),
    );
    return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second) - instant;
  };
  // Two passes settle the offset on the right side of a DST change (close to pytz's is_dst=False).
  const first = wall - offsetAt(wall);
  const instant = wall - offsetAt(first);
  return new Date(instant).toISOString().replace('T', ' ').slice(0, 19);
}
