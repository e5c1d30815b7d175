/**
 * Settlement reconciliation: what a tally (settlement-tally.ts) says against what the channel
 * states, what Tillwire and the ERP know of its orders, what the previous settlement left open
 * and what was already posted for this settlement id (docs/settlements.md, "Reconciliation").
 *
 *  - Σ lines against header.statedTotal: consistent, or inconsistent with the variance
 *    (Σ lines − stated) and the line types that usually explain it: a type or type/category whose
 *    total equals the variance (or its opposite), the previous settlement's reserve when a
 *    current-reserve line seems missing, per-line rounding when the variance is small enough
 *    (roundingBound), otherwise the largest reserve, adjustment, other and fee totals.
 *  - Orders, through an injected OrderMatcher asked in batches: orders unknown to Tillwire or to
 *    the ERP, and orders whose charged amount differs from Tillwire's gross, each named.
 *  - Reserves carried between settlements: the release in this settlement must equal what the
 *    previous one held (PreviousSettlementSummary).
 *  - A failed or canceled payout is carried forward (not posted to the bank); the next settlement
 *    must repay it with adjustment lines of category "failed-payout".
 *  - A negative settlement is a payable; a settlement whose lines fall in several months is split
 *    by posting month, the parts adding up to the payout exactly.
 *  - A settlement reissued under the same id with other content is a new revision: what was
 *    posted is reversed and the new version posted (settlement-journal.ts builds both).
 *
 * Blocking variances stop posting (postable false); order variances are reported but do not.
 */
import { createHash } from 'node:crypto';
import type { JournalEntry } from '../model/types.generated';
import { formatMinor } from '../model/business-rules';
import type { LineType, SettlementTally } from './settlement-tally';

import type { OrderMatcher } from '../model/order-match';
// The matcher's interface lives in the model, so the runtime's order index can implement it.
export type { OrderMatchBatch, OrderMatcher } from '../model/order-match';

/** What the previous settlement of the same channel account left open for this one. */
export interface PreviousSettlementSummary {
  settlementId: string;
  /** Reserve it held, as a positive amount in minor units (this settlement should release it). */
  reserveHeld: bigint;
  /** A failed payout carried into this settlement, positive when owed to the seller (0 if none). */
  carriedForward: bigint;
}

export type VarianceKind =
  /** Rows of the source file that could not be read (the node that read it dead-lettered them). */
  | 'source-rows'
  | 'total'
  | 'stated-currency'
  | 'reserve-carry'
  | 'carried-forward'
  | 'open'
  | 'older-version'
  | 'order-not-in-tillwire'
  | 'order-not-in-erp'
  | 'order-gross';

export interface Variance {
  kind: VarianceKind;
  /** True when the settlement must not be posted until it is resolved. */
  blocking: boolean;
  message: string;
}

export interface VarianceCandidate {
  /** A line type, "previous-reserve" for the previous settlement's hold, or "rounding" (total: the most rounding can explain). */
  type: LineType | 'previous-reserve' | 'rounding';
  category?: string;
  total: bigint;
  /**
   * equal: the group totals the variance; opposite: it totals minus the variance; large: one of the
   * biggest usual suspects; within: the variance is within what per-line rounding can make (`total`).
   */
  relation: 'equal' | 'opposite' | 'large' | 'within';
}

export type PayoutKind = 'deposit' | 'payable' | 'carried-forward' | 'none';

export interface ReissueFinding {
  /** already-posted: the same content was posted (nothing to do); repost: reverse and post anew; older: this version is older than what was posted. */
  action: 'already-posted' | 'repost' | 'older';
  /** Revision now in the ledger. */
  postedRevision: number;
  /** Revision this version is posted as (postedRevision + 1 for a repost). */
  revision: number;
}

export interface SettlementReconciliation {
  settlementId: string;
  system: string;
  currency: string;
  status: 'consistent' | 'inconsistent';
  linesTotal: bigint;
  statedTotal?: bigint;
  /** Σ lines − stated total; 0 without a stated total. */
  variance: bigint;
  explanations: VarianceCandidate[];
  payout: { kind: PayoutKind; amount: bigint };
  /** Σ per posting month, ascending; more than one means the settlement is split. */
  months: Array<{ month: string; total: bigint; count: number }>;
  reserves: { held: bigint; released: bigint; previousHeld?: bigint };
  /** Failed-payout repayments in this settlement, and what the previous one carried forward. */
  carried: { repaid: bigint; previous?: bigint };
  orders?: { checked: number; notInTillwire: string[]; notInErp: string[]; grossDifferences: Array<{ orderId: string; charged: bigint; gross: bigint }> };
  reissue?: ReissueFinding;
  /** Content digest of this version (issuedAt, stated total, every group's total and count). */
  fingerprint: string;
  variances: Variance[];
  /** Notes that are not variances (nothing to compare, checks not made). */
  notes: string[];
  postable: boolean;
}

export interface ReconcileOptions {
  matcher?: OrderMatcher;
  /** Order ids per matcher call (default 500). */
  batchSize?: number;
  previous?: PreviousSettlementSummary;
  /** Journals already posted for this settlement id (every revision, reversals included). */
  posted?: readonly JournalEntry[];
}

/** Category of adjustment lines that repay an earlier failed payout. */
export const FAILED_PAYOUT_CATEGORY = 'failed-payout';
/** How many ids a message names before "and N more". */
const NAMED = 10;

export async function reconcileSettlement(tally: SettlementTally, options: ReconcileOptions = {}): Promise<SettlementReconciliation> {
  const { header, currency } = tally;
  const fmt = (n: bigint) => formatMinor(n, currency);
  const variances: Variance[] = [];
  const notes: string[] = [];
  const linesTotal = tally.total;

  let statedTotal: bigint | undefined;
  if (header.statedTotal) {
    if (header.statedTotal.currency !== currency) {
      variances.push({ kind: 'stated-currency', blocking: true, message: `the stated total is in ${header.statedTotal.currency}, the lines in ${currency}` });
    } else {
      statedTotal = BigInt(header.statedTotal.amount);
    }
  } else {
    notes.push('the channel states no total: Σ lines is taken as the payout');
  }
  const variance = statedTotal === undefined ? 0n : linesTotal - statedTotal;
  const explanations = variance === 0n ? [] : explain(tally, variance, options.previous);
  if (variance !== 0n) {
    const named = explanations.map((c) =>
      c.type === 'rounding'
        ? `rounding (per-line rounding by the channel: plausible up to ${fmt(c.total)} for ${tally.lineCount} lines)`
        : `${c.type}${c.category ? '/' + c.category : ''} (${fmt(c.total)}${c.relation === 'large' ? '' : ', ' + c.relation})`,
    );
    variances.push({
      kind: 'total',
      blocking: true,
      message: `the lines add up to ${fmt(linesTotal)} but the channel states ${fmt(statedTotal!)}: variance ${fmt(variance)}; usually explained by ${named.join(', ') || 'a missing line'}`,
    });
  }

  const held = -tally.totalOf('reserve', 'held');
  const released = tally.totalOf('reserve', 'released');
  if (options.previous) {
    if (released !== options.previous.reserveHeld) {
      variances.push({
        kind: 'reserve-carry',
        blocking: true,
        message: `this settlement releases ${fmt(released)} of reserve but settlement ${options.previous.settlementId} held ${fmt(options.previous.reserveHeld)}`,
      });
    }
  } else if (released !== 0n) {
    notes.push(`no previous settlement summary was given: the reserve release of ${fmt(released)} was not checked`);
  }

  const repaid = tally.totalOf('adjustment', FAILED_PAYOUT_CATEGORY);
  if (options.previous && repaid !== options.previous.carriedForward) {
    variances.push({
      kind: 'carried-forward',
      blocking: true,
      message: `settlement ${options.previous.settlementId} carried ${fmt(options.previous.carriedForward)} forward (failed payout) but this one repays ${fmt(repaid)}`,
    });
  }

  let payoutKind: PayoutKind;
  if (header.status === 'failed' || header.status === 'canceled') payoutKind = 'carried-forward';
  else if (linesTotal < 0n) payoutKind = 'payable';
  else if (linesTotal === 0n) payoutKind = 'none';
  else payoutKind = 'deposit';
  if (header.status === 'open')
    variances.push({ kind: 'open', blocking: true, message: 'the settlement is still open at the channel: post it once it is closed' });

  const fingerprint = fingerprintOf(tally);
  const posted = postedFor(options.posted ?? [], header.channel.system, header.settlementId);
  const reissue = posted.length ? findReissue(posted, fingerprint, header.issuedAt) : undefined;
  if (reissue?.action === 'older') {
    variances.push({
      kind: 'older-version',
      blocking: true,
      message: `a later version of settlement ${header.settlementId} (revision ${reissue.postedRevision}) is already posted`,
    });
  }

  if (tally.lineCount === 0) notes.push('the settlement has no lines: nothing to post');

  const orders = options.matcher ? await matchOrders(tally, options.matcher, options.batchSize ?? 500) : undefined;
  if (orders) {
    const list = (ids: string[]) => ids.slice(0, NAMED).join(', ') + (ids.length > NAMED ? ` and ${ids.length - NAMED} more` : '');
    if (orders.notInTillwire.length)
      variances.push({
        kind: 'order-not-in-tillwire',
        blocking: false,
        message: `${orders.notInTillwire.length} orders are not known to Tillwire: ${list(orders.notInTillwire)}`,
      });
    if (orders.notInErp.length)
      variances.push({ kind: 'order-not-in-erp', blocking: false, message: `${orders.notInErp.length} orders are not in the ERP: ${list(orders.notInErp)}` });
    for (const d of orders.grossDifferences.slice(0, NAMED)) {
      variances.push({
        kind: 'order-gross',
        blocking: false,
        message: `order ${d.orderId}: the settlement charged ${fmt(d.charged)}, Tillwire's order is ${fmt(d.gross)}`,
      });
    }
    if (orders.grossDifferences.length > NAMED) {
      variances.push({ kind: 'order-gross', blocking: false, message: `${orders.grossDifferences.length - NAMED} more orders differ from Tillwire's gross` });
    }
  } else if (tally.orderCount) {
    notes.push(`no order matcher was given: ${tally.orderCount} orders were not matched`);
  }

  return {
    settlementId: header.settlementId,
    system: header.channel.system,
    currency,
    status: variance === 0n && !variances.some((v) => v.kind === 'stated-currency') ? 'consistent' : 'inconsistent',
    linesTotal,
    statedTotal,
    variance,
    explanations,
    payout: { kind: payoutKind, amount: linesTotal },
    months: tally.monthTotals(),
    reserves: { held, released, previousHeld: options.previous?.reserveHeld },
    carried: { repaid, previous: options.previous?.carriedForward },
    orders,
    reissue,
    fingerprint,
    variances,
    notes,
    postable: !variances.some((v) => v.blocking) && reissue?.action !== 'already-posted' && tally.lineCount > 0,
  };
}

/** What this settlement leaves open for the next one of the same account. */
export function summaryForNext(rec: SettlementReconciliation): PreviousSettlementSummary {
  return { settlementId: rec.settlementId, reserveHeld: rec.reserves.held, carriedForward: rec.payout.kind === 'carried-forward' ? rec.payout.amount : 0n };
}

function explain(tally: SettlementTally, variance: bigint, previous?: PreviousSettlementSummary): VarianceCandidate[] {
  const exact: VarianceCandidate[] = [];
  const perType = new Map<LineType, bigint>();
  const groups = tally.typeTotals();
  for (const g of groups) perType.set(g.type, (perType.get(g.type) ?? 0n) + g.total);
  for (const [type, total] of perType) {
    const categories = groups.filter((g) => g.type === type);
    const found = exact.length;
    if (categories.length > 1 || categories[0]?.category) {
      for (const g of categories) {
        if (g.total === variance) exact.push({ type, category: g.category || undefined, total: g.total, relation: 'equal' });
        else if (g.total === -variance) exact.push({ type, category: g.category || undefined, total: g.total, relation: 'opposite' });
      }
    }
    // The whole type, unless one of its categories already named the same amount.
    if (exact.length > found) continue;
    if (total === variance) exact.push({ type, total, relation: 'equal' });
    else if (total === -variance) exact.push({ type, total, relation: 'opposite' });
  }
  // The usual cause: the file lacks this settlement's current-reserve line, which is then about
  // as large as the previous hold.
  if (previous && previous.reserveHeld !== 0n && (previous.reserveHeld === variance || previous.reserveHeld === -variance)) {
    exact.push({ type: 'previous-reserve', total: previous.reserveHeld, relation: previous.reserveHeld === variance ? 'equal' : 'opposite' });
  }
  // A variance this small is per-line rounding far more often than a missing line: naming the
  // largest fee group instead would send the reader after the wrong lines.
  const rounding = roundingBound(tally.lineCount);
  if (abs(variance) <= rounding) exact.push({ type: 'rounding', total: rounding, relation: 'within' });
  if (exact.length) return exact;
  const usual: ReadonlySet<string> = new Set(['reserve', 'adjustment', 'other', 'fee']);
  return groups
    .filter((g) => usual.has(g.type) && g.total !== 0n)
    .sort((a, b) => (abs(b.total) > abs(a.total) ? 1 : abs(b.total) < abs(a.total) ? -1 : 0))
    .slice(0, 3)
    .map((g) => ({ type: g.type, category: g.category || undefined, total: g.total, relation: 'large' as const }));
}

const abs = (n: bigint) => (n < 0n ? -n : n);

/**
 * The largest variance, in minor units, that rounding plausibly explains for a settlement of
 * `lines` lines (docs/settlements.md, "Investigating a variance"). A channel that rounds each line
 * to the minor unit but computes its stated total once can be off by at most half a unit per line
 * plus half for the total: ⌊(lines + 1) / 2⌋. Those differences are independent and mostly cancel,
 * their sum spreads like √(lines / 12), so beyond ⌈√lines⌉ (about 3.5 of that spread) rounding is
 * very unlikely and a missing or wrong line is the better suspect.
 */
export function roundingBound(lines: number): bigint {
  if (lines <= 0) return 0n;
  return BigInt(Math.min(Math.floor((lines + 1) / 2), Math.ceil(Math.sqrt(lines))));
}

async function matchOrders(tally: SettlementTally, matcher: OrderMatcher, batchSize: number): Promise<NonNullable<SettlementReconciliation['orders']>> {
  const out: NonNullable<SettlementReconciliation['orders']> = { checked: 0, notInTillwire: [], notInErp: [], grossDifferences: [] };
  for (const { ids, charged } of tally.orderBatches(batchSize)) {
    const answer = await matcher.match(ids);
    // The answer by position in the batch: one map of the batch's ids, flags and grosses beside it.
    const position = new Map<string, number>();
    for (let i = 0; i < ids.length; i++) position.set(ids[i], i);
    const known = new Uint8Array(ids.length);
    const inErp = new Uint8Array(ids.length);
    const gross = new Array<number | undefined>(ids.length);
    for (const o of answer.tillwire) {
      const i = position.get(o.orderId);
      if (i === undefined) continue;
      known[i] = 1;
      if (o.gross && o.gross.currency === tally.currency) gross[i] = o.gross.amount;
    }
    for (const id of answer.erp) {
      const i = position.get(id);
      if (i !== undefined) inErp[i] = 1;
    }
    for (let i = 0; i < ids.length; i++) {
      if (!known[i]) out.notInTillwire.push(ids[i]);
      if (!inErp[i]) out.notInErp.push(ids[i]);
      const g = gross[i];
      if (g !== undefined && charged[i] !== 0 && charged[i] !== g) {
        out.grossDifferences.push({ orderId: ids[i], charged: BigInt(charged[i]), gross: BigInt(g) });
      }
    }
    out.checked += ids.length;
  }
  return out;
}

/** A digest of the settlement's content: a reissue with other figures or another issuedAt has another. */
export function fingerprintOf(tally: SettlementTally): string {
  const hash = createHash('sha256');
  hash.update(`${tally.header.issuedAt ?? ''}|${tally.header.statedTotal?.amount ?? ''}|${tally.lineCount}|${tally.total}\n`);
  for (const g of [...tally.groups].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) hash.update(`${g.key}|${g.sum.value}|${g.count}\n`);
  return hash.digest('hex').slice(0, 16);
}

/** Journal attributes the reissue check reads (written by settlement-journal.ts). */
export const JOURNAL_ATTR = {
  revision: 'settlementRevision',
  fingerprint: 'settlementFingerprint',
  issuedAt: 'settlementIssuedAt',
  reverses: 'reverses',
} as const;

/** The journals among `posted` that belong to this settlement (any revision, reversals included). */
export function postedFor(posted: readonly JournalEntry[], system: string, settlementId: string): JournalEntry[] {
  const prefix = `settlement:${system}:${settlementId}:`;
  return posted.filter((j) => j.attributes?.settlementId === settlementId && j.journalId.startsWith(prefix));
}

function findReissue(posted: readonly JournalEntry[], fingerprint: string, issuedAt: string | undefined): ReissueFinding {
  let latest: JournalEntry | undefined;
  let revision = -1;
  let highest = -1;
  const reversed = new Set(posted.map((j) => j.attributes?.[JOURNAL_ATTR.reverses]).filter(Boolean));
  for (const j of posted) {
    const r = Number(j.attributes?.[JOURNAL_ATTR.revision] ?? '0');
    highest = Math.max(highest, r);
    if (j.attributes?.[JOURNAL_ATTR.reverses] || reversed.has(j.journalId)) continue;
    if (r > revision) {
      revision = r;
      latest = j;
    }
  }
  // Everything posted was reversed already: post as the next revision.
  if (!latest) return { action: 'repost', postedRevision: highest, revision: highest + 1 };
  if (latest.attributes?.[JOURNAL_ATTR.fingerprint] === fingerprint) return { action: 'already-posted', postedRevision: revision, revision };
  const postedIssuedAt = latest.attributes?.[JOURNAL_ATTR.issuedAt];
  if (postedIssuedAt && issuedAt && Date.parse(issuedAt) < Date.parse(postedIssuedAt)) return { action: 'older', postedRevision: revision, revision };
  return { action: 'repost', postedRevision: revision, revision: revision + 1 };
}
