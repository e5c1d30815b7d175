/**
 * Store logic written once in SQL that SQLite (3.35+) and PostgreSQL both run: the claim is a single
 * `INSERT … ON CONFLICT DO UPDATE … WHERE lapsed RETURNING`, so the database, not this process,
 * decides which of two concurrent callers wins (PostgreSQL's "speculative insertion"; docs/architecture.md, "The store").
 * Drivers only supply connection handling, the schema lock and placeholder style; the tables are
 * store-schema.ts's migrations.
 *
 * Claims belong to the store object that made them (its `owner`): an open claim carries a short
 * lease that this object's heartbeat renews for all its open claims at once, so a claim lives exactly
 * as long as the process working on it (docs/core-nodes.md, "Claims and crashes").
 */
import { migrate, type Dialect, type LogicalTable, type MigrationContext } from './store-schema';
import { randomUUID } from 'node:crypto';
import { orderedId } from './ordered-id';
import { SqlInventoryLedger } from './inventory-ledger';
import { SqlSummaryBook } from './summary-book';
import { rowsParam, type RowColumn } from './sql-rows';
import {
  ClaimOptions,
  ClaimResult,
  DeadLetterEntry,
  DeadLetterFilter,
  DeadLetterPatch,
  InboxEntry,
  NewDeadLetter,
  NewRegisterEntry,
  ChannelOrderRef,
  OrderIndexEntry,
  OrderMatchRow,
  OrderIndexScope,
  OrderSeen,
  ChainOrder,
  ChainQuery,
  SettledUnseenQuery,
  KvEntry,
  SettledOrder,
  UnsettledOrders,
  UnsettledQuery,
  RegisterEntry,
  RegisterFilter,
  Store,
  StoreKind,
} from './store';

export type Row = Record<string, unknown>;

export interface SqlDriver {
  readonly kind: StoreKind;
  readonly description: string;
  connect(): Promise<void>;
  end(): Promise<void>;
  /** Qualified table name for a logical table. */
  table(name: LogicalTable): string;
  /** Runs `fn` holding the store's exclusive schema lock, in one transaction (store-schema.ts). */
  withSchemaLock<T>(fn: (ctx: MigrationContext) => Promise<T>): Promise<T>;
  /** What differs between the SQL dialects (store-schema.ts). */
  readonly dialect: Dialect;
  /** Runs one statement; `?` placeholders in order. */
  query: SqlQuery;
  /**
   * Runs `fn` in one transaction, its statements through the `query` it is given (the driver's own
   * `query` must not be called inside it): committed when `fn` resolves, rolled back when it throws.
   */
  transaction<T>(fn: (query: SqlQuery) => Promise<T>): Promise<T>;
}

/** Runs one statement; `?` placeholders in order. */
export type SqlQuery = (sql: string, params?: unknown[]) => Promise<{ rows: Row[]; changes: number }>;

export interface SqlStoreOptions {
  /** Clock in epoch ms; tests pass a controllable one so expiry is tested without sleeping. */
  now?: () => number;
  /**
   * Stable name of this Node-RED instance and store (same host, user directory and store node).
   * On open, claims left open by an earlier run of the same instance lapse at once: that run is
   * gone. Default: none (only the lease frees a dead run's claims).
   */
  instance?: string;
  /** How long an open claim outlives its owner's last heartbeat. Default 30 s. */
  claimLeaseMs?: number;
  /** Heartbeat period; default a third of the lease. 0: no timer (tests call renewClaims). */
  heartbeatMs?: number;
  /** Told when a heartbeat fails (the next one tries again). */
  onHeartbeatError?: (err: Error) => void;
}

export const DEFAULT_CLAIM_LEASE_MS = 30_000;

const iso = (ms: unknown) => new Date(Number(ms)).toISOString();
// A BigInt (a flow's own value, an integer from a driver) is kept as its digits: JSON.stringify
// throws on it, and a message that cannot be stored could not even be dead-lettered.
/**
 * A stored document's text. A BigInt (a settlement check carries its sums as BigInt) is kept as its
 * digits; the replacer that does so runs only for a document that holds one, since a replacer takes
 * JSON.stringify off its fast path for every document (measured: about 1.6 times slower on a sale).
 */
function json(v: unknown): string {
  try {
    return JSON.stringify(v ?? null);
  } catch (err) {
    if (!(err instanceof TypeError) || !/BigInt/i.test(err.message)) throw err;
    return JSON.stringify(v ?? null, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
  }
}
const parse = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);

export class SqlStore implements Store {
  readonly kind: StoreKind;
  readonly description: string;
  readonly owner = randomUUID();
  private readonly now: () => number;
  private readonly instance: string | null;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private heartbeat?: NodeJS.Timeout;
  private readonly onHeartbeatError?: (err: Error) => void;
  private readonly t: { idem: string; dlq: string; inbox: string; reg: string; kv: string; orders: string; settled: string };
  readonly inventory: SqlInventoryLedger;
  readonly summaries: SqlSummaryBook;

  constructor(
    private readonly driver: SqlDriver,
    options: SqlStoreOptions = {},
  ) {
    this.kind = driver.kind;
    this.description = driver.description;
    this.now = options.now ?? Date.now;
    this.instance = options.instance ?? null;
    this.leaseMs = options.claimLeaseMs ?? DEFAULT_CLAIM_LEASE_MS;
    this.heartbeatMs = options.heartbeatMs ?? Math.max(1, Math.floor(this.leaseMs / 3));
    this.onHeartbeatError = options.onHeartbeatError;
    this.t = {
      idem: driver.table('idempotency'),
      dlq: driver.table('dead_letter'),
      inbox: driver.table('inbox'),
      reg: driver.table('register'),
      kv: driver.table('kv'),
      orders: driver.table('order_index'),
      settled: driver.table('settled_order'),
    };
    this.inventory = new SqlInventoryLedger(driver, this.now);
    this.summaries = new SqlSummaryBook(driver, this.now);
  }

  async open(): Promise<void> {
    await this.driver.connect();
    try {
      await this.driver.withSchemaLock((ctx) => migrate(ctx, this.now()));
    } catch (err) {
      await this.driver.end().catch(() => undefined);
      throw err;
    }
    if (this.instance !== null) {
      // An earlier run of this instance died without closing: nothing of it is still working.
      await this.driver.query(`UPDATE ${this.t.idem} SET expires_at = ? WHERE state = 'claimed' AND instance = ? AND owner <> ?`, [
        this.now(),
        this.instance,
        this.owner,
      ]);
    }
    if (this.heartbeatMs > 0) {
      this.heartbeat = setInterval(() => {
        this.renewClaims().catch((err) => this.onHeartbeatError?.(err as Error));
      }, this.heartbeatMs);
      this.heartbeat.unref();
    }
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    try {
      // Work this owner had not finished will not finish now: let its redelivery through at once.
      await this.driver.query(`UPDATE ${this.t.idem} SET expires_at = ? WHERE state = 'claimed' AND owner = ?`, [this.now(), this.owner]);
    } catch {
      // The store is going away anyway (e.g. PostgreSQL down); the lease frees the claims.
    } finally {
      await this.driver.end();
    }
  }

  async claim(scope: string, key: string, options: ClaimOptions = {}): Promise<ClaimResult> {
    const now = this.now();
    const token = randomUUID();
    const holder = options.holder ?? null;
    // Taken over when the claim lapsed (expired lease or retention), or when this owner redelivers
    // the same inbox entry: its earlier attempt of that entry ended without coming back.
    const { rows } = await this.driver.query(
      `INSERT INTO ${this.t.idem} (scope, idem_key, state, token, owner, instance, holder, expires_at, updated_at)
       VALUES (?, ?, 'claimed', ?, ?, ?, ?, ?, ?)
       ON CONFLICT (scope, idem_key) DO UPDATE
         SET state = 'claimed', token = excluded.token, owner = excluded.owner, instance = excluded.instance,
             holder = excluded.holder, expires_at = excluded.expires_at, updated_at = excluded.updated_at
         WHERE ${this.t.idem}.expires_at <= ?
            OR (${this.t.idem}.state = 'claimed' AND ${this.t.idem}.owner = excluded.owner AND ${this.t.idem}.holder = ?)
       RETURNING token`,
      [scope, key, token, this.owner, this.instance, holder, now + this.leaseMs, now, now, options.redelivery ? holder : null],
    );
    if (rows.length === 1 && rows[0].token === token) return { outcome: 'claimed', token };
    const existing = await this.driver.query(`SELECT state FROM ${this.t.idem} WHERE scope = ? AND idem_key = ?`, [scope, key]);
    const state = existing.rows[0]?.state === 'done' ? 'done' : 'in-flight';
    return { outcome: 'duplicate', state };
  }

  async renewClaims(): Promise<number> {
    const { changes } = await this.driver.query(`UPDATE ${this.t.idem} SET expires_at = ? WHERE state = 'claimed' AND owner = ?`, [
      this.now() + this.leaseMs,
      this.owner,
    ]);
    return changes;
  }

  async confirm(scope: string, key: string, token: string, retentionMs: number): Promise<boolean> {
    const now = this.now();
    const { changes } = await this.driver.query(
      `UPDATE ${this.t.idem} SET state = 'done', expires_at = ?, updated_at = ? WHERE scope = ? AND idem_key = ? AND token = ?`,
      [now + retentionMs, now, scope, key, token],
    );
    return changes === 1;
  }

  async release(scope: string, key: string, token: string): Promise<boolean> {
    const { changes } = await this.driver.query(`DELETE FROM ${this.t.idem} WHERE scope = ? AND idem_key = ? AND token = ?`, [scope, key, token]);
    return changes === 1;
  }

  async purgeExpired(inboxRetentionMs = 7 * 24 * 3600_000): Promise<number> {
    const now = this.now();
    const a = await this.driver.query(`DELETE FROM ${this.t.idem} WHERE expires_at <= ?`, [now]);
    const b = await this.driver.query(`DELETE FROM ${this.t.inbox} WHERE state = 'done' AND completed_at <= ?`, [now - inboxRetentionMs]);
    return a.changes + b.changes;
  }

  // ---- dead letters -------------------------------------------------------------------------

  async putDeadLetter(entry: NewDeadLetter): Promise<DeadLetterEntry> {
    const now = this.now();
    const id = orderedId(now);
    await this.driver.query(
      `INSERT INTO ${this.t.dlq} (id, created_at, updated_at, status, flow_id, node_id, node_type, node_name, topic,
         error, attempts, message, history, version)
       VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
      [
        id,
        now,
        now,
        entry.flowId ?? null,
        entry.nodeId ?? null,
        entry.nodeType ?? null,
        entry.nodeName ?? null,
        entry.topic ?? null,
        json(entry.error),
        entry.attempts,
        json(entry.message),
        json(entry.history ?? []),
      ],
    );
    return (await this.getDeadLetter(id))!;
  }

  async getDeadLetter(id: string): Promise<DeadLetterEntry | undefined> {
    const { rows } = await this.driver.query(`SELECT * FROM ${this.t.dlq} WHERE id = ?`, [id]);
    return rows[0] ? toDeadLetter(rows[0]) : undefined;
  }

  private where(filter: DeadLetterFilter): { sql: string; params: unknown[] } {
    const clauses: string[] = [];
    const params: unknown[] = [];
    if (filter.ids) {
      if (filter.ids.length === 0) return { sql: 'WHERE 1 = 0', params };
      clauses.push(`id IN (${filter.ids.map(() => '?').join(', ')})`);
      params.push(...filter.ids);
    }
    for (const [col, value] of [
      ['status', filter.status],
      ['flow_id', filter.flowId],
      ['node_id', filter.nodeId],
    ] as const) {
      if (value !== undefined) {
        clauses.push(`${col} = ?`);
        params.push(value);
      }
    }
    return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
  }

  async listDeadLetters(filter: DeadLetterFilter = {}): Promise<DeadLetterEntry[]> {
    const { sql, params } = this.where(filter);
    const limit = Math.max(0, Math.min(filter.limit ?? 1000, 10_000));
    const offset = Math.max(0, filter.offset ?? 0);
    const columns = filter.withoutMessage ? `${DEAD_LETTER_COLUMNS}, '{}' AS message` : '*';
    const { rows } = await this.driver.query(`SELECT ${columns} FROM ${this.t.dlq} ${sql} ORDER BY created_at, id LIMIT ? OFFSET ?`, [
      ...params,
      limit,
      offset,
    ]);
    return rows.map(toDeadLetter);
  }

  async countDeadLetters(filter: DeadLetterFilter = {}): Promise<number> {
    const { sql, params } = this.where(filter);
    const { rows } = await this.driver.query(`SELECT COUNT(*) AS n FROM ${this.t.dlq} ${sql}`, params);
    return Number(rows[0].n);
  }

  async updateDeadLetter(id: string, patch: DeadLetterPatch, expectedVersion?: number): Promise<DeadLetterEntry | undefined> {
    const columns: Record<keyof DeadLetterPatch, [string, (v: never) => unknown]> = {
      message: ['message', json],
      status: ['status', (v) => v],
      attempts: ['attempts', (v) => v],
      history: ['history', json],
      error: ['error', json],
      flowId: ['flow_id', (v) => v],
      nodeId: ['node_id', (v) => v],
      nodeType: ['node_type', (v) => v],
      nodeName: ['node_name', (v) => v],
      topic: ['topic', (v) => v],
    };
    const sets = ['updated_at = ?', 'version = version + 1'];
    const params: unknown[] = [this.now()];
    for (const [k, v] of Object.entries(patch) as [keyof DeadLetterPatch, never][]) {
      if (v === undefined || !columns[k]) continue;
      sets.push(`${columns[k][0]} = ?`);
      params.push(columns[k][1](v));
    }
    let sql = `UPDATE ${this.t.dlq} SET ${sets.join(', ')} WHERE id = ?`;
    params.push(id);
    if (expectedVersion !== undefined) {
      sql += ' AND version = ?';
      params.push(expectedVersion);
    }
    const { changes } = await this.driver.query(sql, params);
    return changes === 1 ? this.getDeadLetter(id) : undefined;
  }

  async deleteDeadLetter(id: string): Promise<boolean> {
    const { changes } = await this.driver.query(`DELETE FROM ${this.t.dlq} WHERE id = ?`, [id]);
    return changes === 1;
  }

  // ---- durable inbox ------------------------------------------------------------------------

  async inboxAdd(source: string, eventId: string, payload: unknown): Promise<{ entry: InboxEntry; duplicate: boolean }> {
    const now = this.now();
    const text = json(payload);
    // Only the id comes back: the rest of a new entry is what was just written (the payload read
    // back from its text, as a stored entry's always is).
    const inserted = await this.driver.query(
      `INSERT INTO ${this.t.inbox} (source, event_id, payload, received_at, state, attempts)
       VALUES (?, ?, ?, ?, 'pending', 0)
       ON CONFLICT (source, event_id) DO NOTHING
       RETURNING id`,
      [source, eventId, text, now],
    );
    if (inserted.rows[0]) {
      const entry: InboxEntry = {
        id: String(inserted.rows[0].id),
        source,
        eventId,
        payload: JSON.parse(text),
        receivedAt: iso(now),
        state: 'pending',
        attempts: 0,
      };
      return { entry, duplicate: false };
    }
    const { rows } = await this.driver.query(`SELECT * FROM ${this.t.inbox} WHERE source = ? AND event_id = ?`, [source, eventId]);
    return { entry: toInbox(rows[0]), duplicate: true };
  }

  async inboxComplete(id: string): Promise<void> {
    await this.driver.query(`UPDATE ${this.t.inbox} SET state = 'done', completed_at = ? WHERE id = ?`, [this.now(), Number(id)]);
  }

  // While an entry is pending, completed_at holds its lease (until when the instance that last
  // delivered it holds it); inboxComplete overwrites it with the completion time. Reusing the
  // column keeps existing databases readable without a migration.
  async inboxTouch(id: string, leaseMs?: number): Promise<void> {
    if (leaseMs === undefined) {
      await this.driver.query(`UPDATE ${this.t.inbox} SET attempts = attempts + 1 WHERE id = ?`, [Number(id)]);
    } else {
      await this.driver.query(`UPDATE ${this.t.inbox} SET attempts = attempts + 1, completed_at = ? WHERE id = ? AND state = 'pending'`, [
        this.now() + leaseMs,
        Number(id),
      ]);
    }
  }

  async inboxRenew(ids: string[], leaseMs: number): Promise<void> {
    if (ids.length === 0) return;
    await this.driver.query(`UPDATE ${this.t.inbox} SET completed_at = ? WHERE state = 'pending' AND id IN (${ids.map(() => '?').join(', ')})`, [
      this.now() + leaseMs,
      ...ids.map(Number),
    ]);
  }

  async inboxRelease(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.driver.query(
      `UPDATE ${this.t.inbox} SET attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, completed_at = NULL
       WHERE state = 'pending' AND id IN (${ids.map(() => '?').join(', ')})`,
      ids.map(Number),
    );
  }

  async inboxPending(source: string, limit = 1000, afterId = '0'): Promise<InboxEntry[]> {
    const { rows } = await this.driver.query(`SELECT * FROM ${this.t.inbox} WHERE source = ? AND state = 'pending' AND id > ? ORDER BY id LIMIT ?`, [
      source,
      Number(afterId),
      limit,
    ]);
    return rows.map(toInbox);
  }

  // ---- sales register -----------------------------------------------------------------------

  async registerPut(e: NewRegisterEntry): Promise<boolean> {
    const { rows } = await this.driver.query(
      `INSERT INTO ${this.t.reg} (reg_key, kind, store_id, terminal_id, business_date, sequence, amount, currency,
         document, recorded_at, external_refs)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}')
       ON CONFLICT (reg_key) DO NOTHING
       RETURNING reg_key`,
      [e.key, e.kind, e.storeId, e.terminalId, e.businessDate, e.sequence, e.amount, e.currency, json(e.document), this.now()],
    );
    return rows.length === 1;
  }

  async registerSetRef(key: string, system: string, ref: string): Promise<boolean> {
    // One statement: the ref merged into the entry's refs, so two systems recording at once both land.
    const { changes } = await this.driver.query(
      `UPDATE ${this.t.reg} SET external_refs = ${this.driver.dialect.mergeJson('external_refs')} WHERE reg_key = ?`,
      [JSON.stringify({ [system]: ref }), key],
    );
    return changes === 1;
  }

  async registerGet(key: string): Promise<RegisterEntry | undefined> {
    const { rows } = await this.driver.query(`SELECT * FROM ${this.t.reg} WHERE reg_key = ?`, [key]);
    return rows[0] ? toRegister(rows[0]) : undefined;
  }

  async registerList(filter: RegisterFilter): Promise<RegisterEntry[]> {
    const clauses: string[] = [];
    const params: unknown[] = [];
    for (const [col, value] of [
      ['kind', filter.kind],
      ['store_id', filter.storeId],
      ['terminal_id', filter.terminalId],
      ['business_date', filter.businessDate],
    ] as const) {
      if (value !== undefined) {
        clauses.push(`${col} = ?`);
        params.push(value);
      }
    }
    if (filter.afterKey !== undefined) {
      clauses.push('reg_key > ?');
      params.push(filter.afterKey);
    }
    const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
    const { rows } = await this.driver.query(`SELECT * FROM ${this.t.reg} ${where} ORDER BY reg_key LIMIT ?`, [
      ...params,
      Math.max(1, Math.min(filter.limit ?? 100_000, 1_000_000)),
    ]);
    return rows.map(toRegister);
  }

  // ---- order index ----------------------------------------------------------------------------

  async orderSeen(orders: readonly OrderSeen[]): Promise<void> {
    const now = this.now();
    // One statement per 100 orders. A key given twice keeps its last row (one statement may not
    // update a row twice on PostgreSQL). The gross, the order date and the channel status follow
    // the latest state of the order; the first sighting's time and the ERP's columns are left as they are.
    const rows = [...new Map(orders.map((o) => [JSON.stringify([o.system, o.account, o.orderId]), o])).values()];
    const placed = (o: OrderSeen) => (o.placedAt !== undefined && !Number.isNaN(Date.parse(o.placedAt)) ? Date.parse(o.placedAt) : undefined);
    // Orders without their own date keep the date a row has (else the first sighting's): two statement texts.
    for (const dated of [true, false]) {
      const group = rows.filter((o) => (placed(o) !== undefined) === dated);
      const placedSet = dated ? 'excluded.placed_at' : `COALESCE(${this.t.orders}.placed_at, excluded.placed_at)`;
      for (let i = 0; i < group.length; i += ORDER_SEEN_BATCH) {
        const batch = group.slice(i, i + ORDER_SEEN_BATCH);
        await this.driver.query(
          `INSERT INTO ${this.t.orders} (system, account, order_id, gross_minor, currency, seen_at, placed_at, channel_status)
           VALUES ${batch.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}
           ON CONFLICT (system, account, order_id) DO UPDATE
             SET gross_minor = excluded.gross_minor, currency = excluded.currency, seen_at = COALESCE(${this.t.orders}.seen_at, excluded.seen_at),
                 placed_at = ${placedSet}, channel_status = COALESCE(excluded.channel_status, ${this.t.orders}.channel_status)`,
          batch.flatMap((o) => [o.system, o.account, o.orderId, o.gross, o.currency, now, placed(o) ?? now, o.status ?? null]),
        );
      }
    }
  }

  async orderAccepted(order: ChannelOrderRef, erpSystem: string, erpRef: string): Promise<void> {
    // The first ref an ERP gave stays: a redelivery, or a later event of the same order, never replaces it.
    await this.driver.query(
      `INSERT INTO ${this.t.orders} (system, account, order_id, erp_system, erp_ref, erp_at, placed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (system, account, order_id) DO UPDATE
         SET erp_system = excluded.erp_system, erp_ref = excluded.erp_ref, erp_at = excluded.erp_at
         WHERE ${this.t.orders}.erp_ref IS NULL`,
      [order.system, order.account, order.orderId, erpSystem, erpRef, this.now(), this.now()],
    );
  }

  async orderLookup(orderIds: readonly string[], scope: OrderIndexScope = {}): Promise<OrderIndexEntry[]> {
    return this.orderIndexRows('o.*', orderIds, scope, toOrderIndex);
  }

  async orderMatch(orderIds: readonly string[], scope: OrderIndexScope = {}): Promise<OrderMatchRow[]> {
    const columns = 'o.order_id, o.gross_minor, o.currency, o.seen_at IS NOT NULL AS seen, o.erp_ref IS NOT NULL AS accepted';
    return this.orderIndexRows(columns, orderIds, scope, toOrderMatch);
  }

  /** `columns` of the index rows of these ids, one query per ORDER_LOOKUP_BATCH ids. */
  private async orderIndexRows<T>(columns: string, orderIds: readonly string[], scope: OrderIndexScope, map: (r: Row) => T): Promise<T[]> {
    const out: T[] = [];
    // One statement text whatever the batch size: the ids travel as one parameter, a text[] for
    // PostgreSQL, a JSON array for SQLite, whose json_each drives the join (SQLite's CROSS JOIN fixes
    // that order: left to itself SQLite walks the whole system's rows once `system = ?` is given).
    const postgres = this.kind === 'postgres';
    const clauses: string[] = [];
    if (scope.system !== undefined) clauses.push('o.system = ?');
    if (scope.account !== undefined) clauses.push('o.account = ?');
    const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
    // SQLite searches the order_id index, not the primary key it would pick once system and
    // account are given: the smaller index takes a sixth less time over a settlement's 300,000 ids.
    const ids = postgres ? 'unnest(?::text[]) AS j(value) JOIN' : 'json_each(?) AS j CROSS JOIN';
    const orders = postgres ? `${this.t.orders} AS o` : `${this.t.orders} AS o INDEXED BY tw_order_index_id`;
    const sql = `SELECT ${columns} FROM ${ids} ${orders} ON o.order_id = j.value ${where}`;
    const extra = [scope.system, scope.account].filter((v) => v !== undefined);
    const unique = [...new Set(orderIds)];
    for (let i = 0; i < unique.length; i += ORDER_LOOKUP_BATCH) {
      const batch = unique.slice(i, i + ORDER_LOOKUP_BATCH);
      const { rows } = await this.driver.query(sql, [postgres ? batch : JSON.stringify(batch), ...extra]);
      for (const r of rows) out.push(map(r));
    }
    return out;
  }

  // ---- settled orders (control totals across the chain) -------------------------------------

  async settledOrdersReplace(settlement: { system: string; account: string; settlementId: string }, rows: readonly SettledOrder[]): Promise<void> {
    await this.driver.query(`DELETE FROM ${this.t.settled} WHERE system = ? AND account = ? AND settlement_id = ?`, [
      settlement.system,
      settlement.account,
      settlement.settlementId,
    ]);
    await this.settledOrdersAdd(rows);
  }

  async settledOrdersAdd(rows: readonly SettledOrder[]): Promise<void> {
    const now = this.now();
    // The last row of a key given twice wins (one statement may not update a row twice on PostgreSQL).
    const unique = [...new Map(rows.map((r) => [JSON.stringify([r.system, r.account, r.orderId, r.settlementId]), r])).values()];
    // One statement text whatever the batch (runtime/sql-rows.ts): a settlement of 300,000 orders
    // costs 300 statements, not 3,000, and no statement has thousands of placeholders.
    for (let i = 0; i < unique.length; i += SETTLED_BATCH) {
      const batch = unique.slice(i, i + SETTLED_BATCH);
      const v = rowsParam(
        this.kind,
        SETTLED_COLUMNS,
        batch.map((r) => [r.system, r.account, r.orderId, r.settlementId, r.charged, r.net, r.currency, Date.parse(r.settledAt)]),
      );
      await this.driver.query(
        `INSERT INTO ${this.t.settled} (system, account, order_id, settlement_id, charged_minor, net_minor, currency, settled_at, recorded_at)
         SELECT v.s_system, v.s_account, v.s_order, v.s_settlement, v.s_charged, v.s_net, v.s_currency, v.s_at, ? FROM (${v.sql}) AS v WHERE true
         ON CONFLICT (system, account, order_id, settlement_id) DO UPDATE
           SET charged_minor = excluded.charged_minor, net_minor = excluded.net_minor, currency = excluded.currency,
               settled_at = excluded.settled_at, recorded_at = excluded.recorded_at`,
        [now, ...v.params],
      );
    }
  }

  private scopeOf(alias: string, q: { system?: string; account?: string }): { sql: string; params: unknown[] } {
    const clauses: string[] = [];
    const params: unknown[] = [];
    if (q.system !== undefined) {
      clauses.push(`${alias}.system = ?`);
      params.push(q.system);
    }
    if (q.account !== undefined) {
      clauses.push(`${alias}.account = ?`);
      params.push(q.account);
    }
    return { sql: clauses.map((c) => ` AND ${c}`).join(''), params };
  }

  async chainOrders(q: ChainQuery): Promise<ChainOrder[]> {
    const scope = this.scopeOf('i', q);
    const after = q.after ? ' AND (i.system, i.account, i.order_id) > (?, ?, ?)' : '';
    const { rows } = await this.driver.query(
      `SELECT o.*, s.settlement_id AS s_settlement_id, s.charged_minor AS s_charged, s.net_minor AS s_net, s.currency AS s_currency,
              s.settled_at AS s_settled_at
       FROM (SELECT i.* FROM ${this.t.orders} AS i WHERE i.placed_at >= ? AND i.placed_at < ?${scope.sql}${after}
             ORDER BY i.system, i.account, i.order_id LIMIT ?) AS o
       LEFT JOIN ${this.t.settled} AS s ON s.system = o.system AND s.account = o.account AND s.order_id = o.order_id
       ORDER BY o.system, o.account, o.order_id, s.settlement_id`,
      [q.from, q.to, ...scope.params, ...(q.after ? [q.after.system, q.after.account, q.after.orderId] : []), Math.max(1, q.limit ?? 5000)],
    );
    const out: ChainOrder[] = [];
    let last: ChainOrder | undefined;
    for (const r of rows) {
      const order = toOrderIndex(r);
      if (!last || last.order!.system !== order.system || last.order!.account !== order.account || last.order!.orderId !== order.orderId) {
        last = { order, settled: [] };
        out.push(last);
      }
      if (r.s_settlement_id !== null && r.s_settlement_id !== undefined) {
        last.settled.push({
          system: order.system,
          account: order.account,
          orderId: order.orderId,
          settlementId: String(r.s_settlement_id),
          charged: Number(r.s_charged),
          net: Number(r.s_net),
          currency: String(r.s_currency),
          settledAt: iso(r.s_settled_at),
        });
      }
    }
    return out;
  }

  async settledUnseen(q: SettledUnseenQuery): Promise<SettledOrder[]> {
    const scope = this.scopeOf('s', q);
    const after = q.after ? ' AND (s.system, s.account, s.order_id, s.settlement_id) > (?, ?, ?, ?)' : '';
    // A row at 00:00 UTC is a calendar date (SettledOrder.settledAt): it belongs to `day`, not to the instant range.
    const date = q.day ? Date.parse(`${q.day}T00:00:00Z`) : undefined;
    const when =
      date === undefined
        ? 's.settled_at >= ? AND s.settled_at < ?'
        : `((s.settled_at >= ? AND s.settled_at < ? AND s.settled_at % ${DAY_MS} <> 0) OR s.settled_at = ?)`;
    const { rows } = await this.driver.query(
      `SELECT s.* FROM ${this.t.settled} AS s
       LEFT JOIN ${this.t.orders} AS o ON o.system = s.system AND o.account = s.account AND o.order_id = s.order_id
       WHERE ${when} AND o.seen_at IS NULL${scope.sql}${after}
       ORDER BY s.system, s.account, s.order_id, s.settlement_id LIMIT ?`,
      [
        q.from,
        q.to,
        ...(date === undefined ? [] : [date]),
        ...scope.params,
        ...(q.after ? [q.after.system, q.after.account, q.after.orderId, q.after.settlementId] : []),
        Math.max(1, q.limit ?? 5000),
      ],
    );
    return rows.map(toSettled);
  }

  async unsettledOrders(q: UnsettledQuery): Promise<UnsettledOrders> {
    const scope = this.scopeOf('o', q);
    const settledBy = `FROM ${this.t.settled} AS s WHERE s.system = o.system AND s.account = o.account AND s.order_id = o.order_id`;
    // A settlement in another currency than the order's does not settle it (chain-totals.ts: settledOtherCurrency).
    const where = `WHERE o.placed_at < ? AND (o.channel_status IS NULL OR o.channel_status <> 'cancelled')${scope.sql}
       AND NOT EXISTS (SELECT 1 ${settledBy} AND (o.currency IS NULL OR s.currency = o.currency))`;
    const other = `(SELECT MIN(s.currency) ${settledBy})`;
    const params = [q.before, ...scope.params];
    const counted = await this.driver.query(`SELECT COUNT(*) AS n, COUNT(${other}) AS other FROM ${this.t.orders} AS o ${where}`, params);
    const { rows } = await this.driver.query(
      `SELECT o.*, ${other} AS settled_in FROM ${this.t.orders} AS o ${where} ORDER BY o.placed_at, o.system, o.account, o.order_id LIMIT ?`,
      [...params, Math.max(0, q.limit ?? 100)],
    );
    return {
      count: Number(counted.rows[0].n),
      otherCurrency: Number(counted.rows[0].other),
      orders: rows.map((r) => ({ ...toOrderIndex(r), ...(r.settled_in !== null && r.settled_in !== undefined ? { settledIn: String(r.settled_in) } : {}) })),
    };
  }

  // ---- small durable values ---------------------------------------------------------------------

  async kvGet(key: string): Promise<unknown | undefined> {
    const { rows } = await this.driver.query(`SELECT value FROM ${this.t.kv} WHERE kv_key = ?`, [key]);
    return rows[0] ? parse(rows[0].value) : undefined;
  }

  async kvPut(key: string, value: unknown, expected?: unknown): Promise<boolean> {
    const now = this.now();
    if (arguments.length < 3) {
      await this.driver.query(
        `INSERT INTO ${this.t.kv} (kv_key, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (kv_key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        [key, json(value), now],
      );
      return true;
    }
    if (expected === undefined) {
      const { rows } = await this.driver.query(
        `INSERT INTO ${this.t.kv} (kv_key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (kv_key) DO NOTHING RETURNING kv_key`,
        [key, json(value), now],
      );
      return rows.length === 1;
    }
    const { changes } = await this.driver.query(`UPDATE ${this.t.kv} SET value = ?, updated_at = ? WHERE kv_key = ? AND value = ?`, [
      json(value),
      now,
      key,
      json(expected),
    ]);
    return changes === 1;
  }

  async kvGetMany(keys: readonly string[]): Promise<Map<string, unknown>> {
    if (keys.length === 0) return new Map();
    const postgres = this.kind === 'postgres';
    const { rows } = await this.driver.query(
      `SELECT kv_key, value FROM ${this.t.kv} WHERE kv_key ${postgres ? '= ANY(?::text[])' : 'IN (SELECT value FROM json_each(?))'}`,
      [postgres ? [...keys] : JSON.stringify(keys)],
    );
    return new Map(rows.map((r) => [String(r.kv_key), parse(r.value)]));
  }

  async kvPutMany(entries: readonly { key: string; value: unknown; expected: unknown }[]): Promise<boolean[]> {
    if (new Set(entries.map((e) => e.key)).size !== entries.length) throw new Error('kvPutMany: a key given twice');
    if (entries.length === 0) return [];
    const sorted = [...entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const now = this.now();
    // One transaction and two statements whatever the number: a PostgreSQL commit costs the most.
    const wrote = await this.driver.transaction(async (q) => {
      const keys = new Set<string>();
      const absent = sorted.filter((e) => e.expected === undefined);
      if (absent.length > 0) {
        const v = rowsParam(
          this.kind,
          KV_COLUMNS,
          absent.map((e) => [e.key, json(e.value)]),
          true,
        );
        const { rows } = await q(
          `INSERT INTO ${this.t.kv} (kv_key, value, updated_at) SELECT v.new_key, v.new_value, ? FROM (${v.sql}) AS v WHERE true ORDER BY v.ord
           ON CONFLICT (kv_key) DO NOTHING RETURNING kv_key`,
          [now, ...v.params],
        );
        for (const r of rows) keys.add(String(r.kv_key));
      }
      const present = sorted.filter((e) => e.expected !== undefined);
      if (present.length > 0) {
        const v = rowsParam(
          this.kind,
          [...KV_COLUMNS, ['old_value', 'text']],
          present.map((e) => [e.key, json(e.value), json(e.expected)]),
          true,
        );
        // The rows locked in key order first (PostgreSQL), so two such writes never wait on each other in a cycle.
        if (this.kind === 'postgres') {
          await q(`SELECT k.kv_key FROM ${this.t.kv} AS k JOIN (${v.sql}) AS v ON k.kv_key = v.new_key ORDER BY v.ord FOR UPDATE OF k`, v.params);
        }
        const { rows } = await q(
          `UPDATE ${this.t.kv} AS k SET value = v.new_value, updated_at = ? FROM (${v.sql}) AS v WHERE k.kv_key = v.new_key AND k.value = v.old_value
           RETURNING kv_key`,
          [now, ...v.params],
        );
        for (const r of rows) keys.add(String(r.kv_key));
      }
      return keys;
    });
    return entries.map((e) => wrote.has(e.key));
  }

  async kvList(prefix: string, options: { afterKey?: string; limit?: number } = {}): Promise<KvEntry[]> {
    // substr, not LIKE: a prefix may hold '%' or '_', and PostgreSQL's LIKE depends on the collation.
    const { rows } = await this.driver.query(
      `SELECT kv_key, value, updated_at FROM ${this.t.kv} WHERE substr(kv_key, 1, ?) = ? AND kv_key > ? ORDER BY kv_key LIMIT ?`,
      [prefix.length, prefix, options.afterKey ?? '', Math.max(1, Math.min(options.limit ?? 500, 10_000))],
    );
    return rows.map((r) => ({ key: String(r.kv_key), value: parse(r.value), updatedAt: iso(r.updated_at) }));
  }
}

const DAY_MS = 86_400_000;

/** Settled-order rows as a parameter (named apart from the table's columns). */
const SETTLED_COLUMNS: readonly RowColumn[] = [
  ['s_system', 'text'],
  ['s_account', 'text'],
  ['s_order', 'text'],
  ['s_settlement', 'text'],
  ['s_charged', 'bigint'],
  ['s_net', 'bigint'],
  ['s_currency', 'text'],
  ['s_at', 'bigint'],
];

/** Kv rows as a parameter: named apart from the table's columns, which RETURNING names unqualified (SQLite allows no other). */
const KV_COLUMNS: readonly RowColumn[] = [
  ['new_key', 'text'],
  ['new_value', 'text'],
];

/** Order ids per lookup query. */
export const ORDER_LOOKUP_BATCH = 500;
/** Settled-order rows per statement. */
const SETTLED_BATCH = 1000;
/** Orders per orderSeen statement (at most this many statement texts for SQLite to keep prepared). */
const ORDER_SEEN_BATCH = 100;

const orNull = <T>(v: unknown, f: (v: unknown) => T): T | null => (v === null || v === undefined ? null : f(v));

function toOrderIndex(r: Row): OrderIndexEntry {
  return {
    system: String(r.system),
    account: String(r.account),
    orderId: String(r.order_id),
    gross: orNull(r.gross_minor, Number),
    currency: orNull(r.currency, String),
    seenAt: orNull(r.seen_at, iso),
    erpSystem: orNull(r.erp_system, String),
    erpRef: orNull(r.erp_ref, String),
    erpAt: orNull(r.erp_at, iso),
    placedAt: orNull(r.placed_at, iso),
    status: orNull(r.channel_status, String),
  };
}

function toSettled(r: Row): SettledOrder {
  return {
    system: String(r.system),
    account: String(r.account),
    orderId: String(r.order_id),
    settlementId: String(r.settlement_id),
    charged: Number(r.charged_minor),
    net: Number(r.net_minor),
    currency: String(r.currency),
    settledAt: iso(r.settled_at),
  };
}

function toOrderMatch(r: Row): OrderMatchRow {
  return {
    orderId: String(r.order_id),
    seen: truthy(r.seen),
    gross: orNull(r.gross_minor, Number),
    currency: orNull(r.currency, String),
    accepted: truthy(r.accepted),
  };
}

/** A SQL boolean: true/false from PostgreSQL, 1/0 from SQLite. */
const truthy = (v: unknown) => v === true || v === 1 || v === 1n;

function toRegister(r: Row): RegisterEntry {
  return {
    key: String(r.reg_key),
    kind: String(r.kind),
    storeId: (r.store_id as string | null) ?? null,
    terminalId: (r.terminal_id as string | null) ?? null,
    businessDate: (r.business_date as string | null) ?? null,
    sequence: r.sequence === null || r.sequence === undefined ? null : Number(r.sequence),
    amount: Number(r.amount),
    currency: String(r.currency),
    document: parse(r.document),
    recordedAt: iso(r.recorded_at),
    externalRefs: parse(r.external_refs) ?? {},
  };
}

/** Every dead-letter column but the message (listDeadLetters' withoutMessage). */
const DEAD_LETTER_COLUMNS = 'id, created_at, updated_at, status, flow_id, node_id, node_type, node_name, topic, error, attempts, history, version';

function toDeadLetter(r: Row): DeadLetterEntry {
  return {
    id: String(r.id),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    status: r.status as DeadLetterEntry['status'],
    flowId: (r.flow_id as string | null) ?? null,
    nodeId: (r.node_id as string | null) ?? null,
    nodeType: (r.node_type as string | null) ?? null,
    nodeName: (r.node_name as string | null) ?? null,
    topic: (r.topic as string | null) ?? null,
    error: parse(r.error),
    attempts: Number(r.attempts),
    message: parse(r.message),
    history: parse(r.history) ?? [],
    version: Number(r.version),
  };
}

function toInbox(r: Row): InboxEntry {
  return {
    id: String(r.id),
    source: String(r.source),
    eventId: String(r.event_id),
    payload: parse(r.payload),
    receivedAt: iso(r.received_at),
    state: r.state as InboxEntry['state'],
    attempts: Number(r.attempts),
    ...(r.state === 'pending' && r.completed_at !== null && r.completed_at !== undefined ? { leasedUntil: iso(r.completed_at) } : {}),
  };
}
