/**
 * Settlement journals: a reconciled settlement tally posted as balanced canonical JournalEntry
 * documents (docs/settlements.md, "What is posted").
 *
 * One journal per settlement and posting month (a settlement has one currency, so one per
 * currency too). Each journal has:
 *  - one line per (type, category) group of that month: a positive group total (money to the
 *    seller: sales, tax collected, reserve released) is a CREDIT, a negative one (fees, refunds,
 *    reserve held) a DEBIT, of the group's mapped account; a group totalling zero keeps a zero
 *    line, so that its settlement lines stay traced;
 *  - a balancing line: in the last month the payout (DEBIT bankAccount when positive; CREDIT
 *    payableAccount when negative; carriedForwardAccount, either side, when the payout failed);
 *    in an earlier month of a split settlement the month's net to clearingAccount, released again
 *    in the last month's journal. So each month's journal carries that month's lines, the parts
 *    add up to the payout exactly, and the clearing account nets to zero.
 *
 * Why it balances: a month's journal has credits − debits = Σ its groups − its balancing line(s),
 * and the balancing line is that very sum (the last month adds the earlier parts back through the
 * clearing account and pays out Σ every part = Σ lines). Each journal is also validated with the
 * canonical validator before it is returned.
 *
 * Journal ids are `settlement:<system>:<settlementId>:<YYYY-MM>`, with `:r<n>` from the second
 * revision of a reissued settlement on; a reissue first reverses what was posted
 * (`<posted id>:reversal`, debits and credits swapped). The ids are stable across re-runs and
 * serve as the ledger's idempotency key.
 *
 * Traceability: each group line carries `attributes.settlementGroup` (the tally group key) and
 * `settlementRowCount`; with few rows `source` lists them, otherwise `settlementRows` holds them
 * as compact ranges ("1-4,9") while that fits, and settlementRowsOf lists them from the tally.
 * A row is the 1-based position of a line in the settlement.
 */
import type { JournalEntry, JournalLine, SourceRef } from '../model/types.generated';
import { validateDocument } from '../model/validate';
import { formatMinor } from '../model/business-rules';
import { fingerprintOf, JOURNAL_ATTR, postedFor, type SettlementReconciliation } from './settlement-reconcile';
import { accountFor, mappingProblems, taxCodeFor, type SettlementAccountMapping } from './settlement-mapping';
import { compareGroups, parseRanges, type SettlementTally, type TallyGroup } from './settlement-tally';

export class SettlementJournalError extends Error {
  override name = 'SettlementJournalError';
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
  }
}

export interface SettlementJournalOptions {
  /** Journals already posted for this settlement id, when the reconciliation found a reissue. */
  posted?: readonly JournalEntry[];
  /** Date of reversal journals (default: the reversed journal's own date; set it when that period is locked). */
  reversalDate?: string;
  /** Most rows listed as JournalLine.source (default 10). */
  maxSourceRows?: number;
  /** Longest settlementRows range text (default 2,000 characters); longer is left to settlementRowsOf. */
  maxRangeChars?: number;
  /**
   * A held settlement released to suspense: its variance (Σ lines − stated total) is booked to
   * this account in the last month's journal and the payout is the stated total, what the
   * channel actually paid. The reconciliation passed along must be the accepted one (acceptVariance).
   */
  suspense?: { account: string; variance: bigint };
}

export interface SettlementPosting {
  /** post: first posting; repost: a reissue (reversals, then the new journals); already-posted: nothing to do. */
  action: 'post' | 'repost' | 'already-posted';
  /** Reversals of the previously posted revision, to post before `journals`. */
  reversals: JournalEntry[];
  journals: JournalEntry[];
}

export const LINE_ATTR = { group: 'settlementGroup', rows: 'settlementRows', rowCount: 'settlementRowCount' } as const;

/** Builds what to post for a reconciled settlement; throws SettlementJournalError naming every problem. */
export function buildSettlementJournals(
  tally: SettlementTally,
  rec: SettlementReconciliation,
  mapping: SettlementAccountMapping,
  options: SettlementJournalOptions = {},
): SettlementPosting {
  if (rec.settlementId !== tally.header.settlementId || rec.fingerprint !== fingerprintOf(tally)) {
    throw new SettlementJournalError(`the reconciliation of settlement ${rec.settlementId} is not the reconciliation of this tally`, [
      'tally and reconciliation differ',
    ]);
  }
  if (rec.reissue?.action === 'already-posted') return { action: 'already-posted', reversals: [], journals: [] };
  if (!rec.postable) {
    const blockers = rec.variances.filter((v) => v.blocking).map((v) => v.message);
    if (tally.lineCount === 0) blockers.push('the settlement has no lines');
    throw new SettlementJournalError(`settlement ${rec.settlementId} is not postable: ${blockers.join('; ')}`, blockers);
  }
  const problems = mappingProblems(mapping, tally, rec);
  if (problems.length) throw new SettlementJournalError(`the account mapping cannot post settlement ${rec.settlementId}: ${problems.join('; ')}`, problems);

  const revision = rec.reissue?.revision ?? 0;
  const posted = postedFor(options.posted ?? [], tally.header.channel.system, tally.header.settlementId);
  const reversals = rec.reissue?.action === 'repost' ? reversalsOf(posted, rec.reissue.postedRevision, options.reversalDate) : [];
  const journals = monthJournals(tally, rec, mapping, revision, options);
  for (const j of [...reversals, ...journals]) {
    const v = validateDocument('journal-entry', j);
    if (!v.valid) throw new SettlementJournalError(`journal ${j.journalId} is not valid: ${v.errors.join('; ')}`, v.errors);
  }
  return { action: rec.reissue?.action === 'repost' ? 'repost' : 'post', reversals, journals };
}

/** The id of a settlement's journal for one posting month and revision. */
export function settlementJournalId(system: string, settlementId: string, month: string, revision = 0): string {
  return `settlement:${system}:${settlementId}:${month}${revision > 0 ? `:r${revision}` : ''}`;
}

function monthJournals(
  tally: SettlementTally,
  rec: SettlementReconciliation,
  mapping: SettlementAccountMapping,
  revision: number,
  options: SettlementJournalOptions,
): JournalEntry[] {
  const { header, currency } = tally;
  const system = header.channel.system;
  const byMonth = new Map<string, TallyGroup[]>();
  for (const g of tally.groups) {
    const list = byMonth.get(g.month);
    if (list) list.push(g);
    else byMonth.set(g.month, [g]);
  }
  const months = rec.months;
  const trackingOf = () => (mapping.tracking && Object.keys(mapping.tracking).length ? { tracking: { ...mapping.tracking } } : {});
  const settlementRef: SourceRef = { system, type: 'settlement', id: header.settlementId };
  let earlier = 0n;

  return months.map((part, index) => {
    const last = index === months.length - 1;
    const lines: JournalLine[] = [];
    for (const g of byMonth.get(part.month)!.sort(compareGroups)) lines.push({ ...groupLine(g, mapping, settlementRef, currency, options), ...trackingOf() });
    const balancing = (account: string, amount: bigint, memo: string, always: boolean) => {
      if (amount === 0n && !always) return;
      lines.push({ account, ...side(amount < 0n ? -amount : amount, amount < 0n ? 'credit' : 'debit', currency), ...trackingOf(), memo });
    };
    if (!last) {
      balancing(mapping.clearingAccount!, part.total, `${part.month} part carried to ${months[months.length - 1].month}`, lines.length < 2);
      earlier += part.total;
    } else {
      const earlierMonths = months.slice(0, -1).map((p) => p.month);
      if (earlier !== 0n) balancing(mapping.clearingAccount!, -earlier, `earlier parts (${earlierMonths.join(', ')}) released`, false);
      const payout = rec.payout;
      if (options.suspense && options.suspense.variance !== 0n) {
        balancing(
          options.suspense.account,
          options.suspense.variance,
          `variance ${formatMinor(options.suspense.variance, currency)} accepted to suspense`,
          false,
        );
      }
      const needed = lines.length < 2;
      if (payout.kind === 'carried-forward')
        balancing(mapping.carriedForwardAccount!, payout.amount, `payout ${header.status ?? 'failed'}: carried forward to the next settlement`, needed);
      else if (payout.kind === 'payable') balancing(mapping.payableAccount!, payout.amount, `negative settlement: owed to ${system}`, needed);
      else balancing(mapping.bankAccount, payout.amount, `payout${header.depositDate ? ' deposited ' + header.depositDate : ''}`, needed);
    }
    const attributes: Record<string, string> = {
      settlementId: header.settlementId,
      settlementMonth: part.month,
      settlementPart: `${index + 1}/${months.length}`,
      [JOURNAL_ATTR.revision]: String(revision),
      [JOURNAL_ATTR.fingerprint]: rec.fingerprint,
      settlementPayout: last ? rec.payout.kind : 'carried-to-last-part',
    };
    if (header.issuedAt) attributes[JOURNAL_ATTR.issuedAt] = header.issuedAt;
    const split = months.length > 1 ? `, ${part.month} part ${index + 1} of ${months.length}` : '';
    const account = header.channel.account ? ` ${header.channel.account}` : '';
    return {
      kind: 'journal',
      journalId: settlementJournalId(system, header.settlementId, part.month, revision),
      date: partDate(part.month, header.depositDate),
      currency,
      narration: `${system}${account} settlement ${header.settlementId}${split}${revision > 0 ? `, revision ${revision}` : ''}`,
      lines,
      source: [settlementRef],
      attributes,
    } satisfies JournalEntry;
  });
}

/** The journal line of one group: its net on the side its sign asks for, and the rows behind it. */
function groupLine(
  g: TallyGroup,
  mapping: SettlementAccountMapping,
  settlementRef: SourceRef,
  currency: string,
  options: SettlementJournalOptions,
): JournalLine {
  const total = g.sum.value;
  const attributes: Record<string, string> = { [LINE_ATTR.group]: g.key, [LINE_ATTR.rowCount]: String(g.count) };
  const ranges = g.rows.toRanges(options.maxRangeChars ?? 2000);
  if (ranges !== undefined) attributes[LINE_ATTR.rows] = ranges;
  const taxCode = taxCodeFor(mapping, g.type, g.category);
  const fewRows = g.count <= (options.maxSourceRows ?? 10);
  return {
    account: accountFor(mapping, g.type, g.category)!,
    ...side(total < 0n ? -total : total, total < 0n ? 'debit' : 'credit', currency),
    ...(taxCode ? { taxCode } : {}),
    memo: `${g.type}${g.category ? ' ' + g.category : ''} (${g.count} ${g.count === 1 ? 'line' : 'lines'})`,
    ...(fewRows ? { source: Array.from(g.rows.toArray(), (line) => ({ ...settlementRef, line })) } : {}),
    attributes,
  };
}

function reversalsOf(posted: readonly JournalEntry[], revision: number, date?: string): JournalEntry[] {
  const reversed = new Set(posted.map((j) => j.attributes?.[JOURNAL_ATTR.reverses]).filter(Boolean));
  return posted
    .filter((j) => !j.attributes?.[JOURNAL_ATTR.reverses] && !reversed.has(j.journalId) && Number(j.attributes?.[JOURNAL_ATTR.revision] ?? '0') === revision)
    .map((j) => ({
      ...j,
      journalId: `${j.journalId}:reversal`,
      date: date ?? j.date,
      narration: `Reversal of ${j.narration}`,
      lines: j.lines.map(({ debit, credit, ...rest }) => (debit ? { ...rest, credit: debit } : { ...rest, debit: credit! })),
      attributes: { ...j.attributes, [JOURNAL_ATTR.reverses]: j.journalId },
    }));
}

/** The deposit date when it falls in the month, else the month's last day. */
export function partDate(month: string, depositDate?: string): string {
  if (depositDate?.startsWith(month)) return depositDate;
  const [y, m] = month.split('-').map(Number);
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
}

function side(
  amount: bigint,
  which: 'debit' | 'credit',
  currency: string,
): { debit: { amount: number; currency: string } } | { credit: { amount: number; currency: string } } {
  if (amount > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new SettlementJournalError(`an amount of ${amount} minor units is beyond the exact range of a journal line`, [`amount ${amount} too large`]);
  }
  const money = { amount: Number(amount), currency };
  return which === 'debit' ? { debit: money } : { credit: money };
}

/** The settlement rows (1-based line positions) behind a journal line, from the tally; undefined for balancing lines. */
export function settlementRowsOf(tally: SettlementTally, line: JournalLine): Int32Array | undefined {
  const key = line.attributes?.[LINE_ATTR.group];
  return key === undefined ? undefined : tally.group(key)?.rows.toArray();
}

/** The rows a journal line names by itself (source lines or the range text); undefined when only the tally can list them. */
export function rowsNamedBy(line: JournalLine): number[] | undefined {
  const ranges = line.attributes?.[LINE_ATTR.rows];
  if (ranges !== undefined) return parseRanges(ranges);
  if (line.source?.length) return line.source.map((s) => s.line!).filter((n) => n !== undefined);
  return undefined;
}
