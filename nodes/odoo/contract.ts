/**
 * What Tillwire relies on from Odoo's external APIs (JSON-RPC, JSON-2), in one place: the client
 * and the simulator (simulators/odoo) read these facts from here. No Node-RED import.
 */

/** The exception Odoo raises for an expired session (JSON-RPC error code 100). */
export const SESSION_EXPIRED = 'odoo.http.SessionExpiredException';
/** The JSON-RPC error code of an expired session. */
export const SESSION_EXPIRED_CODE = 100;

/*
 * `load(fields, data)`: the ORM's import entry point, public on every model, used here to write
 * many records' own values in one call (sale-batch.ts, step 5). What it does in Odoo 16, 17 and 18
 * (odoo/models.py `load`, `_convert_records`, `_load_records`, `_load_records_write`;
 * odoo/addons/base/models/ir_fields.py `_str_to_datetime`, `_input_tz`), e.g.
 * https://github.com/odoo/odoo/blob/17.0/odoo/models.py and
 * https://github.com/odoo/odoo/blob/17.0/odoo/addons/base/models/ir_fields.py:
 *
 * - `fields` names the columns; `data` is a list of rows of strings, one row per record. The column
 *   `.id` is a database id: a row carrying one updates that record (`_load_records` puts it among
 *   the records to update and calls `_load_records_write`, i.e. the record's own `write`, with
 *   its converted values; `write` drops the `id` key). A row without `.id` or `id` creates a record.
 * - Before anything is written, each `.id` is searched for (`search([('id', '=', id)])`, so record
 *   rules apply); an id that is not found adds an error message "Unknown database identifier '<id>'"
 *   naming the row (`record`, `field: '.id'`).
 * - Each cell goes through the import converters (ir.fields.converter). A datetime cell is parsed
 *   as `YYYY-MM-DD HH:MM:SS` (or a bare date), taken as wall-clock time in the *input time zone*
 *   and converted to UTC: the context's `tz` if it names a zone, else the user's `tz`, else UTC.
 *   `write` takes datetimes as UTC, so `load` lands the same value only with `context.tz = 'UTC'`
 *   (LOAD_CONTEXT); without it a user in Europe/Berlin would shift every time by an hour or two.
 * - The records are written together inside a savepoint; if that raises, again one at a time,
 *   each failure (UserError, ValidationError, a database error…) becoming an error message for
 *   its row. Nothing is raised to the caller for those.
 * - The answer is `{ ids, messages, nextrow }`: `ids` the records written, in row order; `messages`
 *   dicts `{ type: 'error' | 'warning', message, record?, field?, rows? }`. If any message is an
 *   error, everything the call did is rolled back and `ids` is `false`: no row lands.
 * - Odoo still writes the rows one by one inside the call; what `load` saves is round trips.
 */

/** The context of a `load` whose datetime cells are UTC, as `write`'s are. */
export const LOAD_CONTEXT = { tz: 'UTC' };

/** One problem `load` reports (errors roll the whole call back). */
export interface LoadMessage {
  type: 'error' | 'warning';
  message: string;
  /** Index of the row in `data`. */
  record?: number;
  field?: string;
  rows?: { from: number; to: number };
  [more: string]: unknown;
}

/** What `load` answers: the ids written (in row order), or `false` when an error rolled it all back. */
export interface LoadResult {
  ids: number[] | false;
  messages: LoadMessage[];
  nextrow?: number;
}
