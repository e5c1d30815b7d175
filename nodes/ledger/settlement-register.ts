/**
 * The settlement register: what the reconcile and journal steps remember of each settlement of a
 * channel account (docs/settlements.md, "Hold, release, replay"). One record per (system, account,
 * settlement id) in the store's key-value table, written with compare-and-set so two instances
 * sharing a PostgreSQL store cannot overwrite each other's update; and, per account, a pointer to
 * the latest posted settlement, whose summary the next settlement is reconciled against.
 *
 * A record holds the fingerprint and issuedAt of the version seen, its state, the blocking
 * variances while it is held, the summary it leaves for the next settlement (reserve held, failed
 * payout carried) as decimal text (JSON has no bigint), the summary it was itself reconciled
 * against, every journal built for it (reversals included, so a reissue is recognised), the
 * ledger id a poster reported for each journal, and who released a held version to suspense,
 * when and why. No Node-RED import.
 */
import type { JournalEntry } from '../model/types.generated';
import type { Store } from '../runtime/store';
import type { PreviousSettlementSummary } from './settlement-reconcile';

export type SettlementState = 'held' | 'posted' | 'reversed' | 'carried-forward';

export interface SettlementKey {
  system: string;
  /** The channel account (seller id, merchant); '' when the source names none. */
  account: string;
  settlementId: string;
}

/** A PreviousSettlementSummary as JSON can hold it. */
export interface StoredSummary {
  settlementId: string;
  reserveHeld: string;
  carriedForward: string;
}

/** A held version released to suspense after review: who, when and why (docs/settlements.md, "Releasing a held settlement"). */
export interface SettlementRelease {
  /** The fingerprint of the version released: the release applies to that version only. */
  fingerprint: string;
  accept: 'suspense';
  /** The editor login that released it (admin API); null without a login or through msg.release. */
  by: string | null;
  /** How it was released: the admin API or a msg.release sent into the reconcile node. */
  via: 'admin-api' | 'msg.release';
  at: string;
  reason: string;
  /** Σ lines − stated total of that version, in minor units (decimal text). */
  variance: string;
}

export interface SettlementRecord extends SettlementKey {
  fingerprint: string;
  issuedAt?: string;
  /** End of the settlement period: which of two settlements of an account is the later one. */
  periodEnd?: string;
  /** The settlement's currency: an account paid out in several currencies (Shopify Payments) chains each currency's settlements apart. */
  currency?: string;
  state: SettlementState;
  /** Blocking variances of the version held, in words. */
  variances: Array<{ kind: string; message: string }>;
  summaryForNext: StoredSummary;
  /** The previous settlement's summary this one was reconciled against (kept for a reissue or a recheck). */
  previous?: StoredSummary;
  /** Every journal built for this settlement, reversals included, in posting order. */
  journals: JournalEntry[];
  /** Ledger id per journal id, as the poster reported it. */
  ledgerIds: Record<string, string>;
  /** The dead-letter entry of a held version. */
  deadLetterId?: string;
  /** Releases to suspense, oldest first (a reissued version may be held and released again). */
  releases?: SettlementRelease[];
  updatedAt: string;
}

export class SettlementRegisterError extends Error {
  override name = 'SettlementRegisterError';
}

const PREFIX = 'settlement:';
const LATEST = 'settlement-latest:';
/**
 * Compare-and-set attempts before a writer gives up. A write loses only to another that landed, so
 * the retries end when the writers ahead of it are done (the ledger's answers for every journal of
 * a settlement come back at once): this bound only guards against a write that can never land.
 */
const ATTEMPTS = 1_000;

const part = (s: string) => encodeURIComponent(s);
export const recordKey = (k: SettlementKey) => `${PREFIX}${part(k.system)}:${part(k.account)}:${part(k.settlementId)}`;
// Per currency: a reserve held in one currency is released by that currency's next settlement.
const latestKey = (k: Pick<SettlementKey, 'system' | 'account'>, currency?: string) =>
  `${LATEST}${part(k.system)}:${part(k.account)}${currency ? `:${part(currency)}` : ''}`;

export const storeSummary = (s: PreviousSettlementSummary): StoredSummary => ({
  settlementId: s.settlementId,
  reserveHeld: s.reserveHeld.toString(),
  carriedForward: s.carriedForward.toString(),
});
export const loadSummary = (s: StoredSummary): PreviousSettlementSummary => ({
  settlementId: s.settlementId,
  reserveHeld: BigInt(s.reserveHeld),
  carriedForward: BigInt(s.carriedForward),
});

type KvStore = Pick<Store, 'kvGet' | 'kvPut'> & Partial<Pick<Store, 'kvList'>>;

/** Which records SettlementRegister.list reads: one channel system, and within it one account. */
export interface SettlementFilter {
  system?: string;
  /** Only with `system`. */
  account?: string;
}

/** Records read per store call while listing. */
const LIST_PAGE = 500;

/**
 * The ledger id recorded for a journal written as a file for a manual import
 * (tillwire-journal-file's answer wired back): `file:<file name>`. Written for import is not
 * confirmed by the ledger: the import may not have run, or failed.
 */
export const FILE_LEDGER_PREFIX = 'file:';
export const fileLedgerId = (fileName: string) => `${FILE_LEDGER_PREFIX}${fileName}`;
const confirmed = (ledgerId: string | undefined) => Boolean(ledgerId) && !ledgerId!.startsWith(FILE_LEDGER_PREFIX);

/**
 * Where a settlement is on its way to the ledger:
 * - posted: posted (or carried forward) and every journal built for it, reversals of an earlier
 *   version included, confirmed by a poster (Xero, QuickBooks) with a ledger id;
 * - written: the same, but some journals were only written as files for import (`file:` ids);
 * - pending: held, or journals built but not all confirmed nor written.
 */
export function ledgerStatus(r: SettlementRecord): 'posted' | 'written' | 'pending' {
  if ((r.state !== 'posted' && r.state !== 'carried-forward') || r.journals.length === 0) return 'pending';
  const ids = r.journals.map((j) => r.ledgerIds[j.journalId]);
  if (!ids.every(Boolean)) return 'pending';
  return ids.every(confirmed) ? 'posted' : 'written';
}

/** Whether a settlement is in the ledger, confirmed by it (ledgerStatus 'posted'). */
export function isPosted(r: SettlementRecord): boolean {
  return ledgerStatus(r) === 'posted';
}

export class SettlementRegister {
  constructor(
    private readonly store: KvStore,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: SettlementKey): Promise<SettlementRecord | undefined> {
    return (await this.store.kvGet(recordKey(key))) as SettlementRecord | undefined;
  }

  /**
   * Reads, changes and writes one record with compare-and-set, again from the read when another
   * writer came first (see ATTEMPTS). `change` gets the current record (undefined when new) and returns the new
   * one, or undefined to leave it as it is.
   */
  async update(key: SettlementKey, change: (current: SettlementRecord | undefined) => SettlementRecord | undefined): Promise<SettlementRecord | undefined> {
    const k = recordKey(key);
    for (let i = 0; i < ATTEMPTS; i++) {
      const current = (await this.store.kvGet(k)) as SettlementRecord | undefined;
      const next = change(current === undefined ? undefined : structuredClone(current));
      if (next === undefined) return current;
      const value = { ...next, ...key, updatedAt: new Date(this.now()).toISOString() };
      const wrote = current === undefined ? await this.store.kvPut(k, value, undefined) : await this.store.kvPut(k, value, current);
      if (wrote) {
        if (value.state !== 'held') await this.advanceLatest(value);
        return value;
      }
    }
    throw new SettlementRegisterError(`settlement ${key.settlementId}: the register record kept changing under this update (${ATTEMPTS} attempts)`);
  }

  /** The summary the next settlement of the account (in `currency`) is reconciled against: the latest posted one other than `settlementId`. */
  async previousFor(key: SettlementKey, currency?: string): Promise<PreviousSettlementSummary | undefined> {
    const own = await this.get(key);
    if (own?.previous) return loadSummary(own.previous);
    const latest = (await this.store.kvGet(latestKey(key, currency))) as { settlementId: string; summary: StoredSummary } | undefined;
    if (!latest || latest.settlementId === key.settlementId) return undefined;
    return loadSummary(latest.summary);
  }

  /**
   * Records the release of the held version `release.fingerprint`, once: `release` is what the
   * register holds for that version afterwards (an earlier release of it, kept as it was), undefined
   * when the record is not that version held (nothing written); `record` as it is then.
   */
  async recordRelease(key: SettlementKey, release: SettlementRelease): Promise<{ release?: SettlementRelease; record?: SettlementRecord; fresh: boolean }> {
    let granted: SettlementRelease | undefined;
    let fresh = false;
    const record = await this.update(key, (r) => {
      granted = releaseOf(r, release.fingerprint);
      fresh = false;
      if (granted || !r || r.state !== 'held' || r.fingerprint !== release.fingerprint) return undefined;
      granted = release;
      fresh = true;
      r.releases = [...(r.releases ?? []), release];
      return r;
    });
    return { release: granted, record, fresh };
  }

  /** Every record of the filter's system (and account), in key order, read in pages. */
  async *list(filter: SettlementFilter = {}): AsyncGenerator<SettlementRecord> {
    if (!this.store.kvList) throw new SettlementRegisterError('this store cannot list its records');
    if (filter.account !== undefined && filter.system === undefined)
      throw new SettlementRegisterError('a settlement filter naming an account must name its system');
    let prefix = PREFIX;
    if (filter.system !== undefined) prefix += `${part(filter.system)}:`;
    if (filter.account !== undefined) prefix += `${part(filter.account)}:`;
    let afterKey: string | undefined;
    for (;;) {
      const page = await this.store.kvList(prefix, { afterKey, limit: LIST_PAGE });
      for (const e of page) yield e.value as SettlementRecord;
      if (page.length < LIST_PAGE) return;
      afterKey = page[page.length - 1].key;
    }
  }

  /** Records the ledger id a poster reported (or the file a journal was written to) for one of the settlement's journals. */
  async recordLedgerId(key: SettlementKey, journalId: string, ledgerId: string): Promise<boolean> {
    let known = false;
    await this.update(key, (r) => {
      if (!r || !r.journals.some((j) => j.journalId === journalId)) return undefined;
      known = true;
      if (r.ledgerIds[journalId] === ledgerId) return undefined;
      // A file written for import never takes the place of an id the ledger confirmed.
      if (confirmed(r.ledgerIds[journalId]) && !confirmed(ledgerId)) return undefined;
      r.ledgerIds[journalId] = ledgerId;
      return r;
    });
    return known;
  }

  /** The per-account pointer moves forward only, in settlementOrder: to a posted settlement not before the one it names. */
  private async advanceLatest(written: SettlementRecord): Promise<void> {
    const k = latestKey(written, written.currency);
    for (let i = 0; i < ATTEMPTS; i++) {
      // The record as it is now: a writer that lost to a newer version of its own settlement must
      // not put the older summary back.
      const r = ((await this.store.kvGet(recordKey(written))) as SettlementRecord | undefined) ?? written;
      if (r.state === 'held') return;
      const value: LatestPointer = { settlementId: r.settlementId, periodEnd: r.periodEnd, issuedAt: r.issuedAt, summary: r.summaryForNext };
      const current = (await this.store.kvGet(k)) as LatestPointer | undefined;
      // The same settlement (a reissue) always updates its own summary.
      if (current && current.settlementId !== r.settlementId && settlementOrder(current, value) > 0) return;
      if (current && JSON.stringify(current) === JSON.stringify(value)) return;
      if (await this.store.kvPut(k, value, current)) return;
    }
    throw new SettlementRegisterError(`settlement ${written.settlementId}: the account's latest-settlement pointer kept changing (${ATTEMPTS} attempts)`);
  }
}

/** What the per-account (and currency) pointer holds of the latest posted settlement. */
interface LatestPointer {
  settlementId: string;
  periodEnd?: string;
  issuedAt?: string;
  summary: StoredSummary;
}

type Ordered = Pick<LatestPointer, 'settlementId' | 'periodEnd' | 'issuedAt'>;

/**
 * Which of two settlements of an account is the later one (> 0: a): the later period end, then the
 * later issue, then the higher id (ids of digits compared as numbers). Settlements sharing a period
 * end (bol.com's demo periods share their days) are ordered all the same, so they never move the
 * pointer back and forth between them. A time one of the two lacks does not decide.
 */
export function settlementOrder(a: Ordered, b: Ordered): number {
  for (const field of ['periodEnd', 'issuedAt'] as const) {
    const x = Date.parse(a[field] ?? '');
    const y = Date.parse(b[field] ?? '');
    if (!Number.isNaN(x) && !Number.isNaN(y) && x !== y) return x - y;
  }
  const [x, y] = [a.settlementId, b.settlementId];
  if (/^\d+$/.test(x) && /^\d+$/.test(y) && BigInt(x) !== BigInt(y)) return BigInt(x) > BigInt(y) ? 1 : -1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The release recorded for the version with `fingerprint`, if any. */
export const releaseOf = (record: SettlementRecord | undefined, fingerprint: string): SettlementRelease | undefined =>
  record?.releases?.find((r) => r.fingerprint === fingerprint);

/** A settlement's key from its journals' id (`settlement:<system>:<settlementId>:…`) needs the account too: it is kept on the journal. */
export const JOURNAL_ACCOUNT_ATTR = 'settlementAccount';
