/**
 * The settlement check of `tillwire-reconcile` (mode "settlement"), without Node-RED: a canonical
 * Settlement or a SettlementStream is tallied as it streams, reconciled against the previous
 * settlement's summary from the register (settlement-register.ts) and, when one is given, an
 * OrderMatcher, and sorted into ready to post, held (blocking variances named) or already posted
 * (docs/settlements.md, "Hold, release, replay").
 *
 * A held settlement keeps its lines (up to `keepLines`) as a canonical Settlement, which its
 * dead-letter entry stores: a replay re-runs the check on it, and a release books its variance to
 * suspense (acceptVariance) without the file being sent again. A larger settlement is held
 * without its lines; its release needs the file again with msg.release.
 */
import type { JournalEntry, Settlement, SettlementLine } from '../model/types.generated';
import { batchedStream, lineBatches, streamOf, type SettlementStream } from '../model/settlement-stream';
import { validateDocument } from '../model/validate';
import { formatMinor } from '../model/business-rules';
import {
  reconcileSettlement,
  summaryForNext,
  type OrderMatcher,
  type PreviousSettlementSummary,
  type SettlementReconciliation,
  type Variance,
} from './settlement-reconcile';
import { tallySettlement, type SettlementTally, type TallyLimits } from './settlement-tally';
import { SettlementRegister, storeSummary, type SettlementKey } from './settlement-register';

export class SettlementInputError extends Error {
  override name = 'SettlementInputError';
}

/** A settlement as it arrives: its stream, and for a source that can find bad rows, whether it found none. */
export interface SettlementInput {
  stream: SettlementStream;
  /** SettlementReportStream.postable(): false when rows of the file could not be read. */
  sourcePostable?: () => boolean;
  /** How many rows the source could not read, when it says. */
  sourceProblems?: () => number | undefined;
}

/** Reads msg.payload: a canonical Settlement (validated) or a SettlementStream. */
export function settlementInputOf(payload: unknown): SettlementInput {
  const p = payload as Record<string, any> | null;
  if (p && typeof p === 'object' && p.kind === 'settlement') {
    const { valid, errors } = validateDocument('settlement', p);
    if (!valid) throw new SettlementInputError(`the settlement is not valid: ${errors.join('; ')}`);
    return { stream: streamOf(p as Settlement) };
  }
  if (p && typeof p === 'object' && p.header && typeof p.header === 'object' && p.lines && typeof p.lines[Symbol.asyncIterator] === 'function') {
    return {
      stream: p as SettlementStream,
      sourcePostable: typeof p.postable === 'function' ? () => p.postable() : undefined,
      sourceProblems: () => (typeof p.tally?.problems === 'number' ? p.tally.problems : undefined),
    };
  }
  throw new SettlementInputError('msg.payload must be a canonical Settlement (kind "settlement") or a SettlementStream (header and lines)');
}

export const keyOf = (header: SettlementStream['header']): SettlementKey => ({
  system: header.channel.system,
  account: header.channel.account ?? '',
  settlementId: header.settlementId,
});

/** What the journal step needs (msg.settlement). */
export interface SettlementToPost {
  action: 'post' | 'already-posted';
  key: SettlementKey;
  tally: SettlementTally;
  reconciliation: SettlementReconciliation;
  /** Journals already built for this settlement (a reissue reverses the latest revision). */
  posted: JournalEntry[];
  previous?: PreviousSettlementSummary;
  /** Set by a release to suspense: the variance the journal books to the mapping's suspenseAccount. */
  suspense?: { variance: bigint };
}

export interface SettlementCheck {
  outcome: 'ready' | 'held' | 'already-posted';
  settlement: SettlementToPost;
  /** The blocking variances (held only). */
  blocking: Variance[];
  /** The settlement with its lines, when it has at most keepLines lines (kept for a held settlement's replay and release). */
  kept?: Settlement;
}

export interface CheckOptions {
  register: SettlementRegister;
  matcher?: OrderMatcher;
  /** Most lines kept for a held settlement's dead-letter entry (default 2,000). */
  keepLines?: number;
  limits?: TallyLimits;
}

/** Attribute of a kept settlement: rows its source could not read, so a recheck of the kept lines still holds it. */
export const SOURCE_PROBLEMS_ATTR = 'tillwireSourceProblems';

export async function checkSettlement(input: SettlementInput, options: CheckOptions): Promise<SettlementCheck> {
  const { stream } = input;
  const keepLines = options.keepLines ?? 2000;
  let kept: SettlementLine[] | undefined = [];
  const batches = (async function* () {
    for await (const batch of lineBatches(stream)) {
      if (kept && kept.length + batch.length <= keepLines) kept.push(...batch);
      else kept = undefined;
      yield batch;
    }
  })();
  const tally = await tallySettlement(batchedStream(stream.header, batches), options.limits);
  const key = keyOf(tally.header);
  const record = await options.register.get(key);
  const previous = await options.register.previousFor(key, tally.currency);
  const posted = record?.journals ?? [];
  const rec = await reconcileSettlement(tally, { matcher: options.matcher, previous, posted });

  const earlierProblems = Number(tally.header.attributes?.[SOURCE_PROBLEMS_ATTR] ?? 0);
  const sourceBad = (input.sourcePostable && !input.sourcePostable()) || earlierProblems > 0;
  const problems = input.sourceProblems?.() || earlierProblems || undefined;
  if (sourceBad) {
    rec.variances.unshift({
      kind: 'source-rows',
      blocking: true,
      message: `${problems ?? 'some'} rows of the settlement file could not be read (the source node dead-lettered them): its lines do not hold everything the channel paid`,
    });
    rec.postable = false;
  }
  const settlement: SettlementToPost = { action: 'post', key, tally, reconciliation: rec, posted, previous };
  const keptSettlement = kept
    ? ({
        ...tally.header,
        ...(problems ? { attributes: { ...tally.header.attributes, [SOURCE_PROBLEMS_ATTR]: String(problems) } } : {}),
        kind: 'settlement',
        netTotal: { amount: Number(tally.total), currency: tally.currency },
        lines: kept,
      } as Settlement)
    : undefined;
  if (rec.reissue?.action === 'already-posted')
    return { outcome: 'already-posted', settlement: { ...settlement, action: 'already-posted' }, blocking: [], kept: keptSettlement };
  if (rec.postable) return { outcome: 'ready', settlement, blocking: [], kept: keptSettlement };
  const blocking = rec.variances.filter((v) => v.blocking);
  if (!blocking.length && tally.lineCount === 0) blocking.push({ kind: 'total', blocking: true, message: 'the settlement has no lines: nothing to post' });
  return { outcome: 'held', settlement, blocking, kept: keptSettlement };
}

/** Records a held settlement in the register (its journals and ledger ids, if an earlier version was posted, stay). */
export async function recordHeld(register: SettlementRegister, check: SettlementCheck, deadLetterId?: string): Promise<void> {
  const { key, tally, reconciliation: rec, previous } = check.settlement;
  await register.update(key, (r) => ({
    ...key,
    fingerprint: rec.fingerprint,
    issuedAt: tally.header.issuedAt,
    periodEnd: tally.header.periodEnd,
    currency: tally.currency,
    state: 'held',
    variances: check.blocking.map((v) => ({ kind: v.kind, message: v.message })),
    summaryForNext: storeSummary(summaryForNext(rec)),
    ...(previous ? { previous: storeSummary(previous) } : {}),
    journals: r?.journals ?? [],
    ledgerIds: r?.ledgerIds ?? {},
    ...((deadLetterId ?? r?.deadLetterId) ? { deadLetterId: deadLetterId ?? r?.deadLetterId } : {}),
    ...(r?.releases ? { releases: r.releases } : {}),
    updatedAt: '',
  }));
}

/** Blocking variances a release to suspense may accept: money the lines and the channel disagree on, or a carry between settlements. */
const RELEASABLE: ReadonlySet<string> = new Set(['total', 'source-rows', 'reserve-carry', 'carried-forward']);

/** The blocking variances no release can accept. */
export const unreleasable = <V extends { kind: string; blocking?: boolean }>(variances: readonly V[]): V[] =>
  variances.filter((v) => v.blocking !== false && !RELEASABLE.has(v.kind));

/**
 * A held check released to suspense: ready to post, the variance for the journal to book to the
 * mapping's suspense account. Throws (acceptVariance) for a variance no release can accept.
 */
export function releasedCheck(check: SettlementCheck): SettlementCheck {
  if (check.outcome !== 'held') return check;
  const rec = check.settlement.reconciliation;
  const accepted = acceptVariance(rec, check.settlement.tally.header.status);
  return { ...check, outcome: 'ready', blocking: [], settlement: { ...check.settlement, reconciliation: accepted, suspense: { variance: rec.variance } } };
}

/**
 * The reconciliation of a held settlement released to suspense: its releasable variances become
 * notes, the payout is what the channel states it paid, and the variance (Σ lines − stated) is
 * for the journal to book to suspense. Throws naming a variance no release can accept (an open
 * settlement, a later version already posted, a stated total in another currency).
 */
export function acceptVariance(rec: SettlementReconciliation, status?: string): SettlementReconciliation {
  const refused = unreleasable(rec.variances);
  if (refused.length) throw new SettlementInputError(`settlement ${rec.settlementId} cannot be released: ${refused.map((v) => v.message).join('; ')}`);
  const accepted = rec.variances.filter((v) => v.blocking);
  const paid = rec.statedTotal ?? rec.linesTotal;
  const kind = status === 'failed' || status === 'canceled' ? 'carried-forward' : paid < 0n ? 'payable' : paid === 0n ? 'none' : 'deposit';
  return {
    ...rec,
    variances: rec.variances.filter((v) => !v.blocking),
    notes: [...rec.notes, ...accepted.map((v) => `released to suspense: ${v.message}`)],
    payout: { kind, amount: paid },
    postable: true,
  };
}

/** The reconciliation as msg.payload shows it: bigints as numbers (minor units) while exact, as decimal text beyond. */
export function reportOf(check: SettlementCheck, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const rec = check.settlement.reconciliation;
  const plain = JSON.parse(
    JSON.stringify(rec, (_k, v) =>
      typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v,
    ),
  );
  return {
    ...plain,
    account: check.settlement.key.account,
    outcome: check.outcome,
    ...(check.outcome === 'held'
      ? {
          held: check.blocking.map((v) => ({ kind: v.kind, message: v.message })),
          // In words, first: `status` and `variance` speak of the lines read only (a settlement held
          // for rows its source could not read has status "consistent" and variance 0).
          reason: check.blocking.map((v) => v.message).join('; '),
          varianceText: formatMinor(rec.variance, rec.currency),
        }
      : {}),
    ...extra,
  };
}
