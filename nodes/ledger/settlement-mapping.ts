/**
 * The account mapping of settlement journals (docs/settlements.md, "The account mapping"): which
 * ledger account each line type (or type and category) posts to, where the payout goes, and the
 * accounts for negative, failed and month-crossing settlements and for reserves.
 *
 * An account is looked up most specific first: accounts["fee/commission"], then accounts["fee"],
 * then reserveAccount for reserve lines. Failed-payout repayments (adjustment/failed-payout) go to
 * accounts["adjustment/failed-payout"] or carriedForwardAccount, never to accounts["adjustment"]:
 * they must clear the account the failed payout was carried to. mappingProblems names every account a settlement would need and
 * the mapping lacks, so nothing is posted to a guessed account.
 */
import { formatMinor } from '../model/business-rules';
import { FAILED_PAYOUT_CATEGORY, type SettlementReconciliation } from './settlement-reconcile';
import { LINE_TYPES, type SettlementTally } from './settlement-tally';

export interface SettlementAccountMapping {
  /** Account per line type ("fee") or type and category ("fee/commission"); the more specific key wins. */
  accounts: Record<string, string>;
  /** Where the payout goes: the bank account, or the channel's clearing account the bank feed is matched against. */
  bankAccount: string;
  /** What the seller owes the channel when a settlement is negative (a liability such as "Amazon payable"). */
  payableAccount?: string;
  /** Money the channel holds back (reserve lines without an account of their own in `accounts`). */
  reserveAccount?: string;
  /** A failed or canceled payout owed by the channel until it pays it again (and failed-payout repayments). */
  carriedForwardAccount?: string;
  /** Carries earlier months' parts of a month-crossing settlement to its last part. */
  clearingAccount?: string;
  /** Where a held settlement's variance is booked when someone releases it "to suspense" (reviewed and cleared by hand later). */
  suspenseAccount?: string;
  /** Tracking dimensions on every line, e.g. { channel: "amazon", marketplace: "UK", brand: "Northwind", store: "WEB-UK" }. */
  tracking?: Record<string, string>;
  /** Ledger tax code per type or type/category, written as JournalLine.taxCode. */
  taxCodes?: Record<string, string>;
}

const TYPES: ReadonlySet<string> = new Set(LINE_TYPES);

/** The account a group of lines posts to, or undefined when the mapping has none. */
export function accountFor(mapping: SettlementAccountMapping, type: string, category: string): string | undefined {
  const specific = category ? mapping.accounts[`${type}/${category}`] : undefined;
  // A failed payout's repayment must clear the account its payout was carried to, never a general adjustment account.
  if (type === 'adjustment' && category === FAILED_PAYOUT_CATEGORY) return specific ?? mapping.carriedForwardAccount;
  return specific ?? mapping.accounts[type] ?? (type === 'reserve' ? mapping.reserveAccount : undefined);
}

export function taxCodeFor(mapping: SettlementAccountMapping, type: string, category: string): string | undefined {
  return (category ? mapping.taxCodes?.[`${type}/${category}`] : undefined) ?? mapping.taxCodes?.[type];
}

/**
 * Every problem of the mapping in words: its own shape, and, given a tally and its
 * reconciliation, each account that settlement needs and the mapping lacks. Empty when usable.
 */
export function mappingProblems(mapping: unknown, tally?: SettlementTally, rec?: SettlementReconciliation): string[] {
  if (mapping === null || typeof mapping !== 'object' || Array.isArray(mapping)) return ['the account mapping must be an object'];
  const m = mapping as Partial<SettlementAccountMapping>;
  const out: string[] = [];
  const account = (name: string, value: unknown) => {
    if (value !== undefined && (typeof value !== 'string' || value.trim() === '')) out.push(`${name} must be a non-empty account code`);
  };
  if (m.accounts === null || typeof m.accounts !== 'object' || Array.isArray(m.accounts)) {
    out.push('accounts must map line types ("fee") or types and categories ("fee/commission") to account codes');
  } else {
    for (const [key, value] of Object.entries(m.accounts)) {
      const type = key.split('/')[0];
      if (!TYPES.has(type)) out.push(`accounts key '${key}' does not start with a line type (${LINE_TYPES.join(', ')})`);
      account(`accounts['${key}']`, value);
    }
  }
  if (m.bankAccount === undefined) out.push('bankAccount is missing: the account the payout is paid into');
  account('bankAccount', m.bankAccount);
  account('payableAccount', m.payableAccount);
  account('reserveAccount', m.reserveAccount);
  account('carriedForwardAccount', m.carriedForwardAccount);
  account('clearingAccount', m.clearingAccount);
  account('suspenseAccount', m.suspenseAccount);
  for (const [name, dims] of [
    ['tracking', m.tracking],
    ['taxCodes', m.taxCodes],
  ] as const) {
    if (dims === undefined) continue;
    if (dims === null || typeof dims !== 'object' || Object.values(dims).some((v) => typeof v !== 'string' || v === '')) {
      out.push(`${name} must map names to non-empty text`);
    }
  }
  if (out.length || !tally) return out;

  const full = m as SettlementAccountMapping;
  for (const g of tally.typeTotals()) {
    if (accountFor(full, g.type, g.category)) continue;
    const what = g.category ? `${g.type}/${g.category}` : g.type;
    const failedPayout = g.type === 'adjustment' && g.category === FAILED_PAYOUT_CATEGORY;
    const keys = failedPayout
      ? `accounts['${what}'] or carriedForwardAccount`
      : g.category
        ? `accounts['${what}'] or accounts['${g.type}']`
        : `accounts['${g.type}']`;
    const extra = g.type === 'reserve' ? ' or reserveAccount' : '';
    out.push(`no account for ${what} (${g.count} lines, ${formatMinor(g.total, tally.currency)}): set ${keys}${extra}`);
  }
  if (rec) {
    if (rec.payout.kind === 'payable' && !full.payableAccount) {
      out.push(`payableAccount is missing: settlement ${rec.settlementId} is negative (${formatMinor(rec.payout.amount, rec.currency)} owed to the channel)`);
    }
    if (rec.payout.kind === 'carried-forward' && !full.carriedForwardAccount) {
      out.push(`carriedForwardAccount is missing: the payout of settlement ${rec.settlementId} failed and is carried forward`);
    }
    if (rec.months.length > 1 && !full.clearingAccount) {
      out.push(`clearingAccount is missing: settlement ${rec.settlementId} is split over ${rec.months.map((p) => p.month).join(', ')}`);
    }
  }
  return out;
}
