/**
 * The inventory ledger in SQL, for SQLite and PostgreSQL alike (docs/inventory.md): positions per
 * SKU × location, one event per changed figure with its source, applied documents and order
 * reservations (store-schema.ts, version 6).
 *
 * Every change is one transaction of the driver. SQLite has one writer (BEGIN IMMEDIATE): what a
 * transaction read stays true until it commits. PostgreSQL runs READ COMMITTED with row locks taken
 * in one fixed order, so two transactions never wait on each other in a cycle:
 *   1. the transaction's own document row (the applied source, or the order's reservation row);
 *   2. the positions it changes, in one `SELECT … ORDER BY sku, location_id FOR UPDATE`.
 * Row locks rather than SERIALIZABLE: a hot SKU makes every concurrent order on it conflict, and
 * under SERIALIZABLE each loser would roll back and retry (work growing with the square of the
 * burst); with the row lock the orders queue on the row and each sees the figure the previous one
 * left. Rows a document needs that do not exist yet are created (all zero) in a statement of their
 * own before the transaction, in a sorted order, so no transaction inserts a row it then waits on.
 */
import { createHash } from 'node:crypto';
import type { Row, SqlDriver, SqlQuery } from './sql-store';
import { rowsParam, type RowColumn } from './sql-rows';
import {
  Allocation,
  ChannelOrderKey,
  InventoryConflictError,
  InventoryEvent,
  InventoryEventKind,
  InventoryExplanation,
  InventoryField,
  InventoryInputError,
  InventoryLedger,
  InventoryPosition,
  InventorySource,
  INVENTORY_LIMITS,
  LedgerChange,
  LevelsLine,
  LocatedLine,
  OrderLineChange,
  OrderReservation,
  PositionFilter,
  QuantityLine,
  ReservationRequest,
  ReservationResult,
  ShortLine,
  SnapshotDocument,
  SnapshotLine,
  AdjustmentDocument,
  AdjustmentLine,
  checkAdjustmentLines,
  checkLevelsLines,
  checkLocatedLines,
  checkOrderKey,
  checkOrderLineChanges,
  checkQuantityLines,
  checkReservation,
  checkSnapshotLines,
  checkSource,
  identifier,
  positionKey,
  sku as checkSku,
} from './inventory';

/** A position being changed in a transaction. */
interface Held extends InventoryPosition {
  dirty: boolean;
}

/** One change to apply: the event before its id, figure after and time are known. */
interface Draft {
  sku: string;
  locationId: string;
  field: InventoryField;
  delta: number;
}

/** An order's reservation per location, as the order row keeps it: how much is still open. */
interface HeldAllocation extends Allocation {
  open: number;
}

type Source = Required<InventorySource>;

/** A document to write: its kind and source, and the drafts it makes of the positions as held then. */
interface Planned {
  kind: InventoryEventKind;
  source: Source;
  order?: ChannelOrderKey;
  plan: (held: Map<string, Held>) => Draft[];
}

type Counter = 'onHand' | 'reserved' | 'inTransit' | 'safetyStock';

const keyOf = positionKey;
const digest = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex');
const byKey = (a: { sku: string; locationId: string }, b: { sku: string; locationId: string }) =>
  a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : a.locationId < b.locationId ? -1 : a.locationId > b.locationId ? 1 : 0;
const channelName = (o: ChannelOrderKey) => (o.account ? `${o.system}/${o.account}` : o.system);

export class SqlInventoryLedger implements InventoryLedger {
  private readonly t;
  private readonly postgres: boolean;

  constructor(
    private readonly driver: SqlDriver,
    private readonly now: () => number,
  ) {
    this.postgres = driver.kind === 'postgres';
    this.t = {
      pos: driver.table('inv_position'),
      event: driver.table('inv_event'),
      source: driver.table('inv_source'),
      order: driver.table('inv_order'),
    };
  }

  // ---- documents from the ERP and the tills ------------------------------------------------------

  async snapshot(source: InventorySource, lines: readonly SnapshotLine[]): Promise<LedgerChange> {
    const src = checkSource(source);
    const checked = checkSnapshotLines(lines);
    return this.applyDocument('snapshot', src, checked, checked, (held) => snapshotDrafts(checked, held));
  }

  async adjust(source: InventorySource, lines: readonly AdjustmentLine[]): Promise<LedgerChange> {
    const src = checkSource(source);
    const checked = checkAdjustmentLines(lines);
    return this.applyDocument('adjustment', src, checked, checked, () => adjustmentDrafts(checked));
  }

  async setLevels(source: InventorySource, lines: readonly LevelsLine[]): Promise<LedgerChange> {
    const src = checkSource(source);
    const checked = checkLevelsLines(lines);
    return this.applyDocument('levels', src, checked, checked, (held) =>
      checked.flatMap((l) => {
        const p = held.get(keyOf(l.sku, l.locationId))!;
        const out: Draft[] = [];
        if (l.safetyStock !== undefined && l.safetyStock !== p.safetyStock) {
          out.push({ sku: l.sku, locationId: l.locationId, field: 'safetyStock', delta: l.safetyStock - p.safetyStock });
        }
        return [...out, ...stateDrafts(l, p)];
      }),
    );
  }

  async restock(source: InventorySource, lines: readonly LocatedLine[], order?: ChannelOrderKey): Promise<LedgerChange> {
    const src = checkSource(source);
    const checked = checkLocatedLines(lines, 'restock lines');
    const ref = order === undefined ? undefined : checkOrderKey(order);
    return this.applyDocument(
      'restock',
      src,
      { lines: checked, order: ref },
      checked,
      () => checked.map((l) => ({ sku: l.sku, locationId: l.locationId, field: 'onHand', delta: l.qty })),
      ref,
    );
  }

  async posSale(source: InventorySource, locationId: string, lines: readonly QuantityLine[]): Promise<LedgerChange> {
    const src = checkSource(source);
    const location = identifier(locationId, 'till sale locationId');
    const checked = checkQuantityLines(lines, 'till sale lines');
    const keys = checked.map((l) => ({ sku: l.sku, locationId: location }));
    return this.applyDocument('pos-sale', src, { location, lines: checked }, keys, () =>
      checked.map((l) => ({ sku: l.sku, locationId: location, field: 'onHand', delta: -l.qty })),
    );
  }

  /**
   * Applies a document once: records its source (a repeat with the same content is a duplicate,
   * with other content a conflict), locks its positions and writes the changes `plan` names.
   */
  private async applyDocument(
    kind: InventoryEventKind,
    source: Source,
    content: unknown,
    keys: readonly { sku: string; locationId: string }[],
    plan: (held: Map<string, Held>) => Draft[],
    order?: ChannelOrderKey,
  ): Promise<LedgerChange> {
    await this.ensurePositions(keys);
    return this.driver.transaction(async (q) => {
      if (!(await this.recordSource(q, kind, source, content))) return { duplicate: true, events: [] };
      const held = await this.lock(q, keys);
      const [events] = await this.write(q, held, [{ kind, source, order, plan }]);
      return { duplicate: false, events };
    });
  }

  snapshots(documents: readonly SnapshotDocument[]): Promise<(LedgerChange | Error)[]> {
    return this.applyDocuments('snapshot', 'snapshots', documents, (d) => {
      const lines = checkSnapshotLines(d?.lines);
      return { content: lines, keys: lines, plan: (held) => snapshotDrafts(lines, held) };
    });
  }

  adjustments(documents: readonly AdjustmentDocument[]): Promise<(LedgerChange | Error)[]> {
    return this.applyDocuments('adjustment', 'adjustments', documents, (d) => {
      const lines = checkAdjustmentLines(d?.lines);
      return { content: lines, keys: lines, plan: () => adjustmentDrafts(lines) };
    });
  }

  /**
   * Many documents of one kind in one transaction, each idempotent by its own source as
   * `applyDocument` makes one: per document, its change or the error that refused it (bad input, or
   * a conflict); the others are applied all the same. `check` refuses a document's lines by throwing.
   */
  private async applyDocuments<D extends { source: InventorySource }>(
    kind: InventoryEventKind,
    what: string,
    documents: readonly D[],
    check: (d: D) => { content: unknown; keys: readonly { sku: string; locationId: string }[]; plan: (held: Map<string, Held>) => Draft[] },
  ): Promise<(LedgerChange | Error)[]> {
    if (!Array.isArray(documents) || documents.length > INVENTORY_LIMITS.documents) {
      throw new InventoryInputError(`a batch of ${what} must be a list of at most ${INVENTORY_LIMITS.documents} documents`);
    }
    const out: (LedgerChange | Error)[] = [];
    const valid: ({ i: number; source: Source } & ReturnType<typeof check>)[] = [];
    documents.forEach((d, i) => {
      try {
        valid.push({ i, source: checkSource(d?.source), ...check(d) });
      } catch (err) {
        if (!(err instanceof InventoryInputError)) throw err;
        out[i] = err;
      }
    });
    if (valid.length === 0) return out;
    await this.ensurePositions(valid.flatMap((v) => v.keys));
    const decided = await this.driver.transaction(async (q) => {
      const fresh = await this.recordSources(
        q,
        kind,
        valid.map((v) => ({ source: v.source, content: v.content })),
      );
      const applying = valid.filter((_, n) => fresh[n] === true);
      const held = await this.lock(
        q,
        applying.flatMap((v) => v.keys),
      );
      const events = await this.write(
        q,
        held,
        applying.map((v) => ({ kind, source: v.source, plan: v.plan })),
      );
      const changes = new Map(applying.map((v, n) => [v.i, { duplicate: false, events: events[n] }]));
      return valid.map((v, n) => (fresh[n] === true ? changes.get(v.i)! : fresh[n] === false ? { duplicate: true, events: [] } : (fresh[n] as Error)));
    });
    valid.forEach((v, n) => (out[v.i] = decided[n]));
    return out;
  }

  // ---- channel orders ----------------------------------------------------------------------------

  async reserve(request: ReservationRequest, opts: { reconsider?: boolean } = {}): Promise<ReservationResult> {
    const order = checkReservation(request);
    const ref: ChannelOrderKey = { system: order.system, account: order.account, orderId: order.orderId };
    const fingerprint = digest({ lines: order.lines, locationIds: order.locationIds });
    return this.driver.transaction(async (q) => {
      const now = this.now();
      const inserted = await q(
        `INSERT INTO ${this.t.order} (system, account, order_id, digest, outcome, result, allocations, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'pending', '{}', '[]', ?, ?) ON CONFLICT (system, account, order_id) DO NOTHING RETURNING order_id`,
        [ref.system, ref.account, ref.orderId, fingerprint, now, now],
      );
      let reconsidered = false;
      if (inserted.rows.length === 0) {
        // Deciding again writes the row: lock it first (the order row, then the positions, as always),
        // so two operators' retries of one order cannot both reserve.
        const { rows } = await q(
          `SELECT digest, outcome, result FROM ${this.t.order} WHERE system = ? AND account = ? AND order_id = ?${opts.reconsider && this.postgres ? ' FOR UPDATE' : ''}`,
          [ref.system, ref.account, ref.orderId],
        );
        // Cancelled or fulfilled as a whole (before or after its accept): it holds nothing and says so.
        const closed = rows[0].outcome;
        if (closed === 'cancelled' || closed === 'fulfilled') {
          const first = JSON.parse(String(rows[0].result)) as Partial<ReservationResult>;
          return { ...ref, outcome: closed, wasReserved: first.outcome === 'reserved', duplicate: true };
        }
        if (rows[0].digest !== fingerprint) {
          throw new InventoryConflictError(
            `order ${ref.orderId} of ${channelName(ref)} was reserved before with other lines or locations; refused (a changed order needs a new order id or a release first)`,
          );
        }
        if (!(opts.reconsider && rows[0].outcome === 'short')) return { ...(JSON.parse(String(rows[0].result)) as ReservationResult), duplicate: true };
        // A short order cancelled (or fulfilled) as a whole before cancels closed short orders kept
        // its outcome `short`: its recorded cancel closes it now, before anything is reserved for it.
        const closedBefore = await this.wholeSettlement(q, ref);
        if (closedBefore) {
          await this.setOrderState(q, ref, closedBefore, []);
          return { ...ref, outcome: closedBefore, wasReserved: false, duplicate: true };
        }
        reconsidered = true;
      }
      const keys = order.lines.flatMap((l) => order.locationIds.map((locationId) => ({ sku: l.sku, locationId })));
      const held = await this.lock(q, keys);
      const allocations: Allocation[] = [];
      const short: ShortLine[] = [];
      for (const line of order.lines) {
        let wanted = line.qty;
        let free = 0;
        for (const locationId of order.locationIds) {
          const p = held.get(keyOf(line.sku, locationId));
          const here = p ? Math.max(0, p.onHand - p.reserved - p.safetyStock) : 0;
          free += here;
          const take = Math.min(here, wanted);
          if (take > 0) allocations.push({ sku: line.sku, locationId, qty: take });
          wanted -= take;
        }
        if (wanted > 0) short.push({ sku: line.sku, requested: line.qty, available: free });
      }
      // All lines or none: a short order reserves nothing, so what it would have taken stays free.
      const result: ReservationResult =
        short.length > 0 ? { ...ref, outcome: 'short', short, duplicate: false } : { ...ref, outcome: 'reserved', allocations, duplicate: false };
      if (reconsidered) result.reconsidered = true;
      if (result.outcome === 'reserved') {
        const drafts = allocations.map((a) => ({ sku: a.sku, locationId: a.locationId, field: 'reserved' as const, delta: a.qty }));
        const source = { system: ref.system, account: ref.account, documentId: ref.orderId };
        await this.write(q, held, [{ kind: 'reserve', source, order: ref, plan: () => drafts }]);
      }
      const stored = { ...result } as Partial<ReservationResult>;
      delete stored.duplicate;
      delete stored.reconsidered;
      await q(`UPDATE ${this.t.order} SET outcome = ?, result = ?, allocations = ?, updated_at = ? WHERE system = ? AND account = ? AND order_id = ?`, [
        result.outcome,
        JSON.stringify(stored),
        JSON.stringify(result.outcome === 'reserved' ? allocations.map((a) => ({ ...a, open: a.qty })) : []),
        now,
        ref.system,
        ref.account,
        ref.orderId,
      ]);
      return result;
    });
  }

  release(order: ChannelOrderKey, source: InventorySource, lines?: readonly OrderLineChange[]): Promise<LedgerChange> {
    return this.settleOrder('release', order, source, lines);
  }

  consume(order: ChannelOrderKey, source: InventorySource, lines?: readonly OrderLineChange[]): Promise<LedgerChange> {
    return this.settleOrder('consume', order, source, lines);
  }

  /** Release (cancel) or consume (shipment) an order's open reservation: all of it, or the lines given. */
  private async settleOrder(
    kind: 'release' | 'consume',
    order: ChannelOrderKey,
    source: InventorySource,
    lines?: readonly OrderLineChange[],
  ): Promise<LedgerChange> {
    const ref = checkOrderKey(order);
    const src = checkSource(source);
    const checked = checkOrderLineChanges(lines, `${kind} lines`);
    return this.driver.transaction(async (q) => {
      if (!(await this.recordSource(q, kind, src, { order: ref, lines: checked ?? null }))) return { duplicate: true, events: [] };
      const { rows } = await q(
        `SELECT outcome, allocations FROM ${this.t.order} WHERE system = ? AND account = ? AND order_id = ?${this.postgres ? ' FOR UPDATE' : ''}`,
        [ref.system, ref.account, ref.orderId],
      );
      // A whole cancel (or fulfilment) closes the order: recorded as its decision, so an accept that
      // arrives after it (webhooks come in no fixed order) reserves nothing.
      const closed = checked ? undefined : kind === 'release' ? 'cancelled' : 'fulfilled';
      if (!rows[0]) {
        if (!closed) throw new InventoryInputError(`no reservation for order ${ref.orderId} of ${channelName(ref)}`);
        const now = this.now();
        await q(
          `INSERT INTO ${this.t.order} (system, account, order_id, digest, outcome, result, allocations, created_at, updated_at)
           VALUES (?, ?, ?, '', ?, ?, '[]', ?, ?)`,
          [ref.system, ref.account, ref.orderId, closed, JSON.stringify({ ...ref, outcome: closed, wasReserved: false }), now, now],
        );
        return { duplicate: false, events: [] };
      }
      const allocations = JSON.parse(String(rows[0].allocations)) as HeldAllocation[];
      const taken = takeFromAllocations(allocations, checked, kind, ref);
      // A short order is closed by its cancel as well: an operator's retry (reserve's reconsider)
      // must never reserve for an order the channel cancelled.
      const outcome = closed && (rows[0].outcome === 'reserved' || rows[0].outcome === 'short') ? closed : String(rows[0].outcome);
      if (taken.length === 0) {
        if (outcome !== rows[0].outcome) await this.setOrderState(q, ref, outcome, allocations);
        return { duplicate: false, events: [] };
      }
      const held = await this.lock(q, taken);
      const drafts = taken.flatMap((a) => {
        const out: Draft[] = [{ sku: a.sku, locationId: a.locationId, field: 'reserved', delta: -a.qty }];
        if (kind === 'consume') out.push({ sku: a.sku, locationId: a.locationId, field: 'onHand', delta: -a.qty });
        return out;
      });
      const [events] = await this.write(q, held, [{ kind, source: src, order: ref, plan: () => drafts }]);
      await this.setOrderState(q, ref, outcome, allocations);
      return { duplicate: false, events };
    });
  }

  /** Whether a whole cancel (release) or fulfilment (consume) of the order was recorded: which. */
  private async wholeSettlement(q: SqlQuery, ref: ChannelOrderKey): Promise<'cancelled' | 'fulfilled' | undefined> {
    const { rows } = await q(`SELECT kind FROM ${this.t.source} WHERE system = ? AND account = ? AND kind IN ('release', 'consume') AND digest = ? LIMIT 1`, [
      ref.system,
      ref.account,
      digest({ order: ref, lines: null }),
    ]);
    return rows.length ? (rows[0].kind === 'release' ? 'cancelled' : 'fulfilled') : undefined;
  }

  private async setOrderState(q: SqlQuery, ref: ChannelOrderKey, outcome: string, allocations: readonly HeldAllocation[]): Promise<void> {
    await q(`UPDATE ${this.t.order} SET outcome = ?, allocations = ?, updated_at = ? WHERE system = ? AND account = ? AND order_id = ?`, [
      outcome,
      JSON.stringify(allocations),
      this.now(),
      ref.system,
      ref.account,
      ref.orderId,
    ]);
  }

  // ---- reading -----------------------------------------------------------------------------------

  async reservation(order: ChannelOrderKey): Promise<OrderReservation | undefined> {
    const ref = checkOrderKey(order);
    const { rows } = await this.driver.query(`SELECT result, allocations FROM ${this.t.order} WHERE system = ? AND account = ? AND order_id = ?`, [
      ref.system,
      ref.account,
      ref.orderId,
    ]);
    if (!rows[0]) return undefined;
    const held = JSON.parse(String(rows[0].allocations)) as HeldAllocation[];
    return { result: JSON.parse(String(rows[0].result)), open: held.map((a) => ({ sku: a.sku, locationId: a.locationId, qty: a.open })) };
  }

  async hasLocation(locationId: string): Promise<boolean> {
    const id = identifier(locationId, 'locationId');
    const { rows } = await this.driver.query(`SELECT 1 AS found FROM ${this.t.pos} WHERE location_id = ? LIMIT 1`, [id]);
    return rows.length > 0;
  }

  async positions(filter: PositionFilter = {}): Promise<InventoryPosition[]> {
    const clauses: string[] = [];
    const params: unknown[] = [];
    for (const [column, values] of [
      ['sku', filter.skus],
      ['location_id', filter.locationIds],
    ] as const) {
      if (values === undefined) continue;
      clauses.push(this.postgres ? `${column} = ANY(?::text[])` : `${column} IN (SELECT value FROM json_each(?))`);
      params.push(this.postgres ? [...values] : JSON.stringify(values));
    }
    if (filter.at !== undefined) {
      const pairs = this.pairs(filter.at);
      clauses.push(`(sku, location_id) IN (${pairs.sql})`);
      params.push(...pairs.params);
    }
    const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
    const { rows } = await this.driver.query(`SELECT * FROM ${this.t.pos} ${where} ORDER BY sku, location_id`, params);
    return rows.map(toPosition);
  }

  async latestEvents(positions: readonly { sku: string; locationId: string }[]): Promise<Map<string, string>> {
    if (positions.length === 0) return new Map();
    const { sql, params } = this.pairs(positions);
    const { rows } = await this.driver.query(
      `SELECT sku, location_id, max(id) AS id FROM ${this.t.event} WHERE (sku, location_id) IN (${sql}) GROUP BY sku, location_id`,
      params,
    );
    return new Map(rows.map((r) => [keyOf(String(r.sku), String(r.location_id)), String(r.id)]));
  }

  async explain(sku: string, locationId?: string, limit = 50): Promise<InventoryExplanation> {
    const s = checkSku(sku);
    const location = locationId === undefined ? undefined : identifier(locationId, 'locationId');
    const n = Math.max(1, Math.min(Math.floor(limit) || 1, INVENTORY_LIMITS.explainEvents));
    const positions = await this.positions({ skus: [s], ...(location === undefined ? {} : { locationIds: [location] }) });
    const { rows } =
      location === undefined
        ? await this.driver.query(`SELECT * FROM ${this.t.event} WHERE sku = ? ORDER BY id DESC LIMIT ?`, [s, n + 1])
        : await this.driver.query(`SELECT * FROM ${this.t.event} WHERE sku = ? AND location_id = ? ORDER BY id DESC LIMIT ?`, [s, location, n + 1]);
    return { positions, events: rows.slice(0, n).map(toEvent), more: rows.length > n };
  }

  // ---- the shared steps --------------------------------------------------------------------------

  /** False when this source document was applied before with the same content; throws when with other content. */
  private async recordSource(q: SqlQuery, kind: InventoryEventKind, source: Source, content: unknown): Promise<boolean> {
    const [fresh] = await this.recordSources(q, kind, [{ source, content }]);
    if (fresh instanceof Error) throw fresh;
    return fresh;
  }

  /**
   * Records source documents in one statement, in sorted key order (two batches naming the same
   * documents then wait on each other in one direction only). Per document: true when new, false
   * when applied before with the same content (or earlier in this batch), a conflict error when with other content.
   */
  private async recordSources(
    q: SqlQuery,
    kind: InventoryEventKind,
    docs: readonly { source: Source; content: unknown }[],
  ): Promise<(boolean | InventoryConflictError)[]> {
    const keyed = docs.map((d) => ({ key: [d.source.system, d.source.account, kind, d.source.documentId], digest: digest(d.content), d }));
    const first = new Map<string, (typeof keyed)[number]>();
    for (const k of keyed) if (!first.has(JSON.stringify(k.key))) first.set(JSON.stringify(k.key), k);
    const rows = [...first.values()].map((k) => [...k.key, k.digest]).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    const table = this.rows(SOURCE_COLUMNS, rows, true);
    const inserted = await q(
      `INSERT INTO ${this.t.source} (system, account, kind, document_id, digest, applied_at)
       SELECT v.system, v.account, v.kind, v.document_id, v.digest, ? FROM (${table.sql}) AS v WHERE true ORDER BY v.ord
       ON CONFLICT (system, account, kind, document_id) DO NOTHING RETURNING system, account, kind, document_id`,
      [this.now(), ...table.params],
    );
    const fresh = new Set(inserted.rows.map((r) => JSON.stringify([r.system, r.account, r.kind, r.document_id])));
    const before = rows.filter((r) => !fresh.has(JSON.stringify(r.slice(0, 4))));
    const stored = new Map<string, string>();
    if (before.length > 0) {
      const keys = this.rows(
        SOURCE_COLUMNS.slice(0, 4),
        before.map((r) => r.slice(0, 4)),
      );
      const { rows: found } = await q(
        `SELECT system, account, kind, document_id, digest FROM ${this.t.source} WHERE (system, account, kind, document_id) IN (${keys.sql})`,
        keys.params,
      );
      for (const r of found) stored.set(JSON.stringify([r.system, r.account, r.kind, r.document_id]), String(r.digest));
    }
    return keyed.map((k) => {
      const id = JSON.stringify(k.key);
      const mine = first.get(id) === k;
      if (mine && fresh.has(id)) return true;
      // Compared with what was applied: stored before this batch, or the batch's first of this id when it is new.
      if ((fresh.has(id) ? first.get(id)!.digest : stored.get(id)) === k.digest) return false;
      return new InventoryConflictError(`${kind} ${k.d.source.documentId} of ${k.d.source.system} was applied before with other content; refused`);
    });
  }

  private rows(columns: readonly RowColumn[], rows: readonly unknown[][], ordered = false): { sql: string; params: unknown[] } {
    return rowsParam(this.driver.kind, columns, rows, ordered);
  }

  /** The SQL that matches (sku, location_id) against a list of pairs passed as one parameter. */
  private pairs(keys: readonly { sku: string; locationId: string }[]): { sql: string; params: unknown[] } {
    return this.rows(
      POSITION_KEY,
      keys.map((k) => [k.sku, k.locationId]),
    );
  }

  /** Creates the missing positions (all zero), committed on its own, in one sorted statement. */
  private async ensurePositions(keys: readonly { sku: string; locationId: string }[]): Promise<void> {
    const sorted = [...new Map(keys.map((k) => [keyOf(k.sku, k.locationId), k])).values()].sort(byKey);
    const { sql, params } = this.pairs(sorted);
    await this.driver.query(
      `INSERT INTO ${this.t.pos} (sku, location_id, on_hand, reserved, in_transit, safety_stock, states, updated_at)
       SELECT k.*, 0, 0, 0, 0, '{}', ? FROM (${sql}) AS k WHERE true ON CONFLICT (sku, location_id) DO NOTHING`,
      [this.now(), ...params],
    );
  }

  /** The existing positions among `keys`, locked (PostgreSQL) in the one fixed order. */
  private async lock(q: SqlQuery, keys: readonly { sku: string; locationId: string }[]): Promise<Map<string, Held>> {
    const { sql, params } = this.pairs(keys);
    const { rows } = await q(
      `SELECT * FROM ${this.t.pos} WHERE (sku, location_id) IN (${sql}) ORDER BY sku, location_id${this.postgres ? ' FOR UPDATE' : ''}`,
      params,
    );
    return new Map(rows.map((r) => [keyOf(String(r.sku), String(r.location_id)), { ...toPosition(r), dirty: false }]));
  }

  /**
   * Plans and applies each document's drafts to the held positions in turn (a later document sees
   * the figures an earlier one left), then writes every event in one statement and every changed
   * position in another. Events per document, in the documents' order.
   */
  private async write(q: SqlQuery, held: Map<string, Held>, docs: readonly Planned[]): Promise<InventoryEvent[][]> {
    const at = this.now();
    const out: InventoryEvent[][] = [];
    const events: InventoryEvent[] = [];
    for (const { kind, source, order, plan } of docs) {
      const mine: InventoryEvent[] = [];
      for (const d of plan(held)) {
        const p = held.get(keyOf(d.sku, d.locationId));
        if (!p) throw new Error(`inventory position ${d.sku} at ${d.locationId} is missing`); // ensured or locked before: a bug
        let after: number;
        if (d.field.startsWith('state:')) {
          const name = d.field.slice('state:'.length);
          after = ownFigure(p.states, name) + d.delta;
          p.states = { ...p.states, [name]: after };
        } else {
          const c = d.field as Counter;
          after = p[c] + d.delta;
          p[c] = after;
        }
        p.dirty = true;
        const note = d.field === 'onHand' && d.delta < 0 && after < 0 ? ('negative-on-hand' as const) : undefined;
        const e: InventoryEvent = {
          id: '',
          sku: d.sku,
          locationId: d.locationId,
          field: d.field,
          delta: d.delta,
          after,
          kind,
          source,
          at: new Date(at).toISOString(),
        };
        if (order) e.order = order;
        if (note) e.note = note;
        mine.push(e);
      }
      out.push(mine);
      events.push(...mine);
    }
    if (events.length > 0) {
      const table = this.rows(
        EVENT_COLUMNS,
        events.map((e) => [
          e.sku,
          e.locationId,
          e.field,
          e.delta,
          e.after,
          e.kind,
          e.source.system,
          e.source.account,
          e.source.documentId,
          e.order?.system ?? null,
          e.order?.account ?? null,
          e.order?.orderId ?? null,
          e.note ?? null,
        ]),
        true,
      );
      const names = EVENT_COLUMNS.map(([name]) => name).join(', ');
      const { rows } = await q(`INSERT INTO ${this.t.event} (${names}, at) SELECT ${names}, ? FROM (${table.sql}) AS v ORDER BY v.ord RETURNING id`, [
        at,
        ...table.params,
      ]);
      // Ids are drawn as the rows go in, in the given order; RETURNING's own order is not promised.
      const ids = rows.map((r) => BigInt(String(r.id))).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      events.forEach((e, n) => (e.id = String(ids[n])));
    }
    const dirty = [...held.values()].filter((h) => h.dirty).sort(byKey);
    for (const p of dirty) if (p.reserved < 0) throw new Error(`inventory position ${p.sku} at ${p.locationId} would have ${p.reserved} reserved`); // a bug, never input
    if (dirty.length > 0) {
      const table = this.rows(
        POSITION_COLUMNS,
        dirty.map((p) => [p.sku, p.locationId, p.onHand, p.reserved, p.inTransit, p.safetyStock, JSON.stringify(p.states)]),
      );
      await q(
        `UPDATE ${this.t.pos} AS p SET on_hand = v.on_hand, reserved = v.reserved, in_transit = v.in_transit, safety_stock = v.safety_stock,
           states = v.states, updated_at = ? FROM (${table.sql}) AS v WHERE p.sku = v.sku AND p.location_id = v.location_id`,
        [at, ...table.params],
      );
      for (const p of dirty) p.dirty = false;
    }
    return out;
  }
}

const POSITION_KEY: readonly RowColumn[] = [
  ['sku', 'text'],
  ['location_id', 'text'],
];
const POSITION_COLUMNS: readonly RowColumn[] = [
  ...POSITION_KEY,
  ['on_hand', 'bigint'],
  ['reserved', 'bigint'],
  ['in_transit', 'bigint'],
  ['safety_stock', 'bigint'],
  ['states', 'text'],
];
const SOURCE_COLUMNS: readonly RowColumn[] = [
  ['system', 'text'],
  ['account', 'text'],
  ['kind', 'text'],
  ['document_id', 'text'],
  ['digest', 'text'],
];
const EVENT_COLUMNS: readonly RowColumn[] = [
  ...POSITION_KEY,
  ['field', 'text'],
  ['delta', 'bigint'],
  ['after_value', 'bigint'],
  ['kind', 'text'],
  ['source_system', 'text'],
  ['source_account', 'text'],
  ['source_doc', 'text'],
  ['order_system', 'text'],
  ['order_account', 'text'],
  ['order_id', 'text'],
  ['note', 'text'],
];

/** The changes that set each snapshot line's figures absolutely, against the held positions. */
function snapshotDrafts(lines: readonly SnapshotLine[], held: Map<string, Held>): Draft[] {
  return lines.flatMap((l) => {
    const p = held.get(keyOf(l.sku, l.locationId))!;
    const out: Draft[] = [];
    if (l.onHand !== p.onHand) out.push({ sku: l.sku, locationId: l.locationId, field: 'onHand', delta: l.onHand - p.onHand });
    if (l.inTransit !== undefined && l.inTransit !== p.inTransit) {
      out.push({ sku: l.sku, locationId: l.locationId, field: 'inTransit', delta: l.inTransit - p.inTransit });
    }
    if (l.safetyStock !== undefined && l.safetyStock !== p.safetyStock) {
      out.push({ sku: l.sku, locationId: l.locationId, field: 'safetyStock', delta: l.safetyStock - p.safetyStock });
    }
    return [...out, ...stateDrafts(l, p)];
  });
}

/** The changes an adjustment's lines make: each delta on its figure (on hand unless said). */
const adjustmentDrafts = (lines: readonly AdjustmentLine[]): Draft[] =>
  lines.map((l) => ({ sku: l.sku, locationId: l.locationId, field: l.field ?? 'onHand', delta: l.delta }));

/** A state's figure, own properties only (a state named `constructor` is not Object's). */
const ownFigure = (states: Record<string, number>, name: string) => (Object.prototype.hasOwnProperty.call(states, name) ? states[name] : 0);

/** The changes that set a line's named states absolutely (a state left out keeps its figure). */
function stateDrafts(l: { sku: string; locationId: string; states?: Record<string, number> }, p: InventoryPosition): Draft[] {
  const out: Draft[] = [];
  for (const [name, value] of Object.entries(l.states ?? {})) {
    const before = ownFigure(p.states, name);
    if (value !== before) out.push({ sku: l.sku, locationId: l.locationId, field: `state:${name}`, delta: value - before });
  }
  return out;
}

/**
 * Takes `lines` (or everything open) from an order's allocations, which it updates: a release gives
 * back the last-preferred location first, a consume ships from the first. Refuses a SKU the order
 * has not reserved and more units than are still open.
 */
function takeFromAllocations(
  allocations: HeldAllocation[],
  lines: OrderLineChange[] | undefined,
  kind: 'release' | 'consume',
  ref: ChannelOrderKey,
): Allocation[] {
  const taken: Allocation[] = [];
  const take = (a: HeldAllocation, qty: number) => {
    a.open -= qty;
    const same = taken.find((t) => t.sku === a.sku && t.locationId === a.locationId);
    if (same) same.qty += qty;
    else taken.push({ sku: a.sku, locationId: a.locationId, qty });
  };
  if (lines === undefined) {
    for (const a of allocations) if (a.open > 0) take(a, a.open);
    return taken;
  }
  for (const line of lines) {
    const mine = allocations.filter((a) => a.sku === line.sku && (line.locationId === undefined || a.locationId === line.locationId));
    if (mine.length === 0) {
      const where = line.locationId === undefined ? '' : ` at ${line.locationId}`;
      throw new InventoryInputError(`order ${ref.orderId} of ${channelName(ref)} has no reservation of ${line.sku}${where}`);
    }
    const open = mine.reduce((n, a) => n + a.open, 0);
    if (line.qty > open) {
      throw new InventoryInputError(`${kind} of ${line.qty} × ${line.sku} for order ${ref.orderId} of ${channelName(ref)}: only ${open} still reserved`);
    }
    let left = line.qty;
    for (const a of kind === 'release' ? [...mine].reverse() : mine) {
      const n = Math.min(a.open, left);
      if (n > 0) take(a, n);
      left -= n;
    }
  }
  return taken;
}

function toPosition(r: Row): InventoryPosition {
  return {
    sku: String(r.sku),
    locationId: String(r.location_id),
    onHand: Number(r.on_hand),
    reserved: Number(r.reserved),
    inTransit: Number(r.in_transit),
    safetyStock: Number(r.safety_stock),
    states: JSON.parse(String(r.states)) as Record<string, number>,
  };
}

function toEvent(r: Row): InventoryEvent {
  return {
    id: String(r.id),
    sku: String(r.sku),
    locationId: String(r.location_id),
    field: String(r.field) as InventoryField,
    delta: Number(r.delta),
    after: Number(r.after_value),
    kind: String(r.kind) as InventoryEventKind,
    source: { system: String(r.source_system), account: String(r.source_account), documentId: String(r.source_doc) },
    ...(r.order_id === null || r.order_id === undefined
      ? {}
      : { order: { system: String(r.order_system), account: String(r.order_account), orderId: String(r.order_id) } }),
    ...(r.note ? { note: r.note as 'negative-on-hand' } : {}),
    at: new Date(Number(r.at)).toISOString(),
  };
}
