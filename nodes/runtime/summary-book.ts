/**
 * The summary book in SQL, for SQLite and PostgreSQL alike (summaries.ts; store-schema.ts version 8).
 *
 * An assignment is one transaction (`assignMany`: one for the batch; if anything in it fails, the
 * batch is undone and each sale assigned in a transaction of its own): the sale's row (primary key
 * scope + sale key) and the open summary's counters move together, so a sale is either in exactly
 * one summary or in none. Closing is one UPDATE of the summary row; an assignment whose summary
 * closed meanwhile (PostgreSQL: it waited on the row lock, then finds it closed) rolls back and
 * tries the next summary. A closed summary's sales are therefore fixed: built again after a crash,
 * it is the same document.
 */
import type { Row, SqlDriver, SqlQuery } from './sql-store';
import { asError } from './errors';
import { summaryKey, type AssignedSale, type Assignment, type SaleToAssign, type SummaryBook, type SummaryRecord } from './summaries';

const iso = (ms: unknown) => new Date(Number(ms)).toISOString();
const isoOrNull = (ms: unknown) => (ms === null || ms === undefined ? null : iso(ms));
const textOrNull = (v: unknown) => (v === null || v === undefined ? null : String(v));
const parse = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);

/** An assignment lost a race with a close (or a concurrent first sale of the store day): run it again. */
class Retry extends Error {}

/**
 * PostgreSQL gave up on the transaction for another's sake (deadlock detected, serialization
 * failure): nothing of it was kept, and running it again is the remedy.
 */
function lostToAnother(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

/** Whether a sale rang up before the interval of the summary that takes it (its own interval's summary had closed). */
function isLate(sale: SaleToAssign, opensAt: number): boolean {
  const occurred = sale.occurredAt === undefined ? NaN : Date.parse(sale.occurredAt);
  return !Number.isNaN(occurred) && occurred < opensAt;
}

export class SqlSummaryBook implements SummaryBook {
  private readonly t: { sum: string; sale: string; reg: string };
  constructor(
    private readonly driver: SqlDriver,
    private readonly now: () => number,
  ) {
    this.t = { sum: driver.table('summary'), sale: driver.table('summary_sale'), reg: driver.table('register') };
  }

  async assign(scope: string, sale: SaleToAssign, intervalMs: number): Promise<Assignment> {
    if (!(intervalMs > 0)) throw new Error('summary interval must be positive');
    for (let tries = 0; ; tries++) {
      try {
        return await this.driver.transaction((q) => this.assignOnce(q, scope, sale, intervalMs));
      } catch (err) {
        if (!(err instanceof Retry || lostToAnother(err)) || tries >= 20) throw err;
      }
    }
  }

  async assignMany(scope: string, sales: readonly SaleToAssign[], intervalMs: number): Promise<Array<Assignment | Error>> {
    if (!(intervalMs > 0)) throw new Error('summary interval must be positive');
    try {
      // The usual case: the whole batch in one transaction, a few statements for all its sales.
      return await this.driver.transaction((q) => this.assignBatch(q, scope, sales, intervalMs));
    } catch {
      // Something in it failed (a sale the store refuses, a race with another instance): the batch
      // was undone as a whole, and each sale is assigned on its own, so only a failing one fails.
      const out: Array<Assignment | Error> = [];
      for (const sale of sales) out.push(await this.assign(scope, sale, intervalMs).catch(asError));
      return out;
    }
  }

  /**
   * Assigns a batch as `assign` would one sale after another, with one read of the keys assigned
   * before, one insert per 100 sales and one count update per summary: per sale, the statements
   * cost more than the work they do.
   */
  private async assignBatch(q: SqlQuery, scope: string, sales: readonly SaleToAssign[], intervalMs: number): Promise<Assignment[]> {
    const { sum, sale: saleT } = this.t;
    const now = this.now();
    const assigned = new Map<string, Assignment>();
    const keys = [...new Set(sales.map((s) => s.key))];
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const { rows } = await q(`SELECT sale_key, summary_key, late FROM ${saleT} WHERE scope = ? AND sale_key IN (${chunk.map(() => '?').join(', ')})`, [
        scope,
        ...chunk,
      ]);
      for (const r of rows) assigned.set(String(r.sale_key), { summaryKey: String(r.summary_key), duplicate: true, late: Number(r.late) === 1 });
    }
    // The summaries this batch adds to are opened (on PostgreSQL: their rows locked) in one order,
    // so two instances' batches over the same stores never wait on each other in a cycle.
    const groups = sales.map((sale) => JSON.stringify([sale.storeId, sale.businessDate, sale.currency, sale.taxesIncluded ? 1 : 0]));
    const firstOfGroup = new Map<string, SaleToAssign>();
    sales.forEach((sale, i) => {
      if (!assigned.has(sale.key) && !firstOfGroup.has(groups[i])) firstOfGroup.set(groups[i], sale);
    });
    const open = new Map<string, { key: string; opensAt: number; sales: number; amount: number }>();
    for (const group of [...firstOfGroup.keys()].sort()) {
      const o = await this.openSummary(q, scope, firstOfGroup.get(group)!, intervalMs, now);
      open.set(group, { key: o.key, opensAt: o.opensAt, sales: 0, amount: 0 });
    }
    const rows: unknown[][] = [];
    const out: Assignment[] = [];
    for (const [i, sale] of sales.entries()) {
      const before = assigned.get(sale.key);
      if (before) {
        out.push({ ...before, duplicate: true });
        continue;
      }
      const summary = open.get(groups[i])!;
      const late = isLate(sale, summary.opensAt);
      summary.sales++;
      summary.amount += sale.amount;
      rows.push([scope, sale.key, summary.key, sale.storeId, sale.businessDate, sale.amount, sale.currency, late ? 1 : 0, JSON.stringify(sale.document), now]);
      const a = { summaryKey: summary.key, duplicate: false, late };
      assigned.set(sale.key, a);
      out.push(a);
    }
    // Inserted in key order, for the same reason.
    rows.sort((a, b) => (String(a[1]) < String(b[1]) ? -1 : String(a[1]) > String(b[1]) ? 1 : 0));
    for (let i = 0; i < rows.length; i += 100) {
      const chunk = rows.slice(i, i + 100);
      const inserted = await q(
        `INSERT INTO ${saleT} (scope, sale_key, summary_key, store_id, business_date, amount, currency, late, document, assigned_at)
         VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')} ON CONFLICT (scope, sale_key) DO NOTHING RETURNING sale_key`,
        chunk.flat(),
      );
      // A key assigned by another instance meanwhile: the batch is undone and each sale assigned alone.
      if (inserted.rows.length !== chunk.length) throw new Retry();
    }
    for (const s of open.values()) {
      if (s.sales === 0) continue;
      const { changes } = await q(`UPDATE ${sum} SET sales = sales + ?, amount = amount + ? WHERE scope = ? AND summary_key = ? AND state = 'open'`, [
        s.sales,
        s.amount,
        scope,
        s.key,
      ]);
      if (changes !== 1) throw new Retry();
    }
    return out;
  }

  /**
   * The open summary a sale joins (PostgreSQL: its row locked until the transaction ends): the one
   * of its store, business date, currency and tax basis, or a new one for the interval that holds
   * `now` with the store day's next number. One whose interval has ended is closed here first.
   */
  private async openSummary(q: SqlQuery, scope: string, sale: SaleToAssign, intervalMs: number, now: number): Promise<{ key: string; opensAt: number }> {
    const { sum } = this.t;
    const lock = this.driver.kind === 'postgres' ? ' FOR UPDATE' : '';
    const taxIncluded = sale.taxesIncluded ? 1 : 0;
    // One open summary per store, business date, currency and tax basis: a stray till's sale in
    // another currency opens a summary of its own and never decides what the store's own sales join.
    const open = await q(
      `SELECT summary_key, closes_at, opens_at FROM ${sum}
       WHERE scope = ? AND store_id = ? AND business_date = ? AND currency = ? AND tax_included = ? AND state = 'open'
       ORDER BY seq DESC LIMIT 1${lock}`,
      [scope, sale.storeId, sale.businessDate, sale.currency, taxIncluded],
    );
    const row: Row | undefined = open.rows[0];
    if (row && Number(row.closes_at) > now) return { key: String(row.summary_key), opensAt: Number(row.opens_at) };
    if (row) {
      // Its interval has ended and the timer has not closed it yet: closed here, the sale goes to the next.
      await q(`UPDATE ${sum} SET state = 'closed', closed_at = ? WHERE scope = ? AND summary_key = ? AND state = 'open'`, [now, scope, row.summary_key]);
    }
    const opensAt = Math.floor(now / intervalMs) * intervalMs;
    const { rows } = await q(`SELECT COALESCE(MAX(seq), 0) AS seq FROM ${sum} WHERE scope = ? AND store_id = ? AND business_date = ?`, [
      scope,
      sale.storeId,
      sale.businessDate,
    ]);
    const seq = Number(rows[0].seq) + 1;
    const key = summaryKey(sale.storeId, sale.businessDate, seq);
    const made = await q(
      `INSERT INTO ${sum} (scope, summary_key, store_id, business_date, seq, state, opens_at, closes_at, currency, tax_included, sales, amount, attempts)
       VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, 0, 0, 0)
       ON CONFLICT DO NOTHING RETURNING summary_key`,
      [scope, key, sale.storeId, sale.businessDate, seq, opensAt, opensAt + intervalMs, sale.currency, taxIncluded],
    );
    // Another instance opened this store day's next summary at the same moment: start again and join it.
    if (made.rows.length === 0) throw new Retry();
    return { key, opensAt };
  }

  private async assignOnce(q: SqlQuery, scope: string, sale: SaleToAssign, intervalMs: number): Promise<Assignment> {
    const { sum, sale: saleT } = this.t;
    const before = await q(`SELECT summary_key, late FROM ${saleT} WHERE scope = ? AND sale_key = ?`, [scope, sale.key]);
    if (before.rows[0]) return { summaryKey: String(before.rows[0].summary_key), duplicate: true, late: Number(before.rows[0].late) === 1 };
    const now = this.now();
    const { key, opensAt } = await this.openSummary(q, scope, sale, intervalMs, now);
    const late = isLate(sale, opensAt);
    const inserted = await q(
      `INSERT INTO ${saleT} (scope, sale_key, summary_key, store_id, business_date, amount, currency, late, document, assigned_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (scope, sale_key) DO NOTHING RETURNING sale_key`,
      [scope, sale.key, key, sale.storeId, sale.businessDate, sale.amount, sale.currency, late ? 1 : 0, JSON.stringify(sale.document), now],
    );
    // The same key assigned by another instance at the same moment: its row answers (after this rolls back).
    if (inserted.rows.length === 0) throw new Retry();
    const { changes } = await q(`UPDATE ${sum} SET sales = sales + 1, amount = amount + ? WHERE scope = ? AND summary_key = ? AND state = 'open'`, [
      sale.amount,
      scope,
      key,
    ]);
    if (changes !== 1) throw new Retry();
    return { summaryKey: key, duplicate: false, late };
  }

  async closeDue(scope: string): Promise<string[]> {
    const now = this.now();
    const { rows } = await this.driver.query(
      `UPDATE ${this.t.sum} SET state = 'closed', closed_at = ? WHERE scope = ? AND state = 'open' AND closes_at <= ? RETURNING summary_key`,
      [now, scope, now],
    );
    return rows.map((r) => String(r.summary_key));
  }

  async due(scope: string, limit = 100): Promise<SummaryRecord[]> {
    const { rows } = await this.driver.query(
      `SELECT * FROM ${this.t.sum} WHERE scope = ? AND state = 'closed' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
       ORDER BY closes_at, summary_key LIMIT ?`,
      [scope, this.now(), Math.max(1, limit)],
    );
    return rows.map(toSummary);
  }

  async get(scope: string, key: string): Promise<SummaryRecord | undefined> {
    const { rows } = await this.driver.query(`SELECT * FROM ${this.t.sum} WHERE scope = ? AND summary_key = ?`, [scope, key]);
    return rows[0] ? toSummary(rows[0]) : undefined;
  }

  async list(filter: { scope?: string; storeId: string; businessDate?: string; limit?: number }): Promise<SummaryRecord[]> {
    const clauses = ['store_id = ?'];
    const params: unknown[] = [filter.storeId];
    if (filter.scope !== undefined) {
      clauses.push('scope = ?');
      params.push(filter.scope);
    }
    if (filter.businessDate !== undefined) {
      clauses.push('business_date = ?');
      params.push(filter.businessDate);
    }
    const { rows } = await this.driver.query(`SELECT * FROM ${this.t.sum} WHERE ${clauses.join(' AND ')} ORDER BY business_date, scope, seq LIMIT ?`, [
      ...params,
      Math.max(1, Math.min(filter.limit ?? 1000, 10_000)),
    ]);
    return rows.map(toSummary);
  }

  async sales(scope: string, key: string): Promise<AssignedSale[]> {
    const { rows } = await this.driver.query(`SELECT * FROM ${this.t.sale} WHERE scope = ? AND summary_key = ? ORDER BY sale_key`, [scope, key]);
    return rows.map(toAssigned);
  }

  async saleAssignment(scope: string, saleKey: string): Promise<AssignedSale | undefined> {
    const { rows } = await this.driver.query(`SELECT * FROM ${this.t.sale} WHERE scope = ? AND sale_key = ?`, [scope, saleKey]);
    return rows[0] ? toAssigned(rows[0]) : undefined;
  }

  async posted(scope: string, key: string, erp: { id: string; ref: string }, refSystem: string): Promise<boolean> {
    return this.driver.transaction(async (q) => {
      const { changes } = await q(
        `UPDATE ${this.t.sum} SET state = 'posted', erp_id = ?, erp_ref = ?, posted_at = ?, next_attempt_at = NULL
         WHERE scope = ? AND summary_key = ? AND state = 'closed'`,
        [erp.id, erp.ref, this.now(), scope, key],
      );
      if (changes !== 1) return false;
      // The sales' register entries (those the register has) learn the ERP document that carried
      // them: one statement for the summary's sales, the refs merged into each entry's JSON.
      const refs = JSON.stringify({ [refSystem]: erp.ref, [`${refSystem}.summary`]: key });
      await q(
        `UPDATE ${this.t.reg} SET external_refs = ${this.driver.dialect.mergeJson('external_refs')} WHERE reg_key IN (SELECT sale_key FROM ${this.t.sale} WHERE scope = ? AND summary_key = ?)`,
        [refs, scope, key],
      );
      return true;
    });
  }

  async split(scope: string, key: string, saleKeys: readonly string[]): Promise<string | undefined> {
    if (saleKeys.length === 0) return undefined;
    const { sum, sale: saleT } = this.t;
    return this.driver.transaction(async (q) => {
      const lock = this.driver.kind === 'postgres' ? ' FOR UPDATE' : '';
      const { rows } = await q(`SELECT * FROM ${sum} WHERE scope = ? AND summary_key = ? AND state = 'closed'${lock}`, [scope, key]);
      const from = rows[0];
      if (!from) return undefined;
      const { rows: top } = await q(`SELECT COALESCE(MAX(seq), 0) AS seq FROM ${sum} WHERE scope = ? AND store_id = ? AND business_date = ?`, [
        scope,
        from.store_id,
        from.business_date,
      ]);
      const next = summaryKey(String(from.store_id), String(from.business_date), Number(top[0].seq) + 1);
      // A store day's next number taken by an assignment at this moment fails the insert: the posting retries.
      await q(
        `INSERT INTO ${sum} (scope, summary_key, store_id, business_date, seq, state, opens_at, closes_at, closed_at, currency, tax_included, sales, amount, attempts)
         VALUES (?, ?, ?, ?, ?, 'closed', ?, ?, ?, ?, ?, 0, 0, 0)`,
        [
          scope,
          next,
          from.store_id,
          from.business_date,
          Number(top[0].seq) + 1,
          from.opens_at,
          from.closes_at,
          from.closed_at,
          from.currency,
          from.tax_included,
        ],
      );
      for (let i = 0; i < saleKeys.length; i += 500) {
        const chunk = saleKeys.slice(i, i + 500);
        await q(`UPDATE ${saleT} SET summary_key = ? WHERE scope = ? AND summary_key = ? AND sale_key IN (${chunk.map(() => '?').join(', ')})`, [
          next,
          scope,
          key,
          ...chunk,
        ]);
      }
      // Both summaries' counts and totals from the sales they now carry.
      for (const k of [key, next]) {
        const { rows: c } = await q(`SELECT COUNT(*) AS n, COALESCE(SUM(amount), 0) AS amount FROM ${saleT} WHERE scope = ? AND summary_key = ?`, [scope, k]);
        await q(`UPDATE ${sum} SET sales = ?, amount = ? WHERE scope = ? AND summary_key = ?`, [Number(c[0].n), Number(c[0].amount), scope, k]);
      }
      return next;
    });
  }

  async failed(scope: string, key: string, error: string, nextAttemptAt: number): Promise<number> {
    const { rows } = await this.driver.query(
      `UPDATE ${this.t.sum} SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE scope = ? AND summary_key = ? AND state = 'closed'
       RETURNING attempts`,
      [error.slice(0, 2000), nextAttemptAt, scope, key],
    );
    return rows[0] ? Number(rows[0].attempts) : 0;
  }
}

function toSummary(r: Row): SummaryRecord {
  return {
    scope: String(r.scope),
    key: String(r.summary_key),
    storeId: String(r.store_id),
    businessDate: String(r.business_date),
    seq: Number(r.seq),
    state: r.state as SummaryRecord['state'],
    from: iso(r.opens_at),
    to: iso(r.closes_at),
    closedAt: isoOrNull(r.closed_at),
    currency: String(r.currency),
    taxesIncluded: Number(r.tax_included) === 1,
    sales: Number(r.sales),
    amount: Number(r.amount),
    erpId: textOrNull(r.erp_id),
    erpRef: textOrNull(r.erp_ref),
    postedAt: isoOrNull(r.posted_at),
    attempts: Number(r.attempts),
    lastError: textOrNull(r.last_error),
    nextAttemptAt: isoOrNull(r.next_attempt_at),
  };
}

function toAssigned(r: Row): AssignedSale {
  return {
    key: String(r.sale_key),
    summaryKey: String(r.summary_key),
    amount: Number(r.amount),
    currency: String(r.currency),
    late: Number(r.late) === 1,
    assignedAt: iso(r.assigned_at),
    document: parse(r.document),
  };
}
