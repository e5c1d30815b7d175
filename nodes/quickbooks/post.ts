/**
 * Posting a canonical journal to QuickBooks Online exactly once (docs/connectors/quickbooks.md):
 * 1. the journal is validated (schema, balance to the minor unit) and mapped (map.ts);
 * 2. copies of one journal in this process run one after the other (keyed-lock.ts);
 * 3. its DocNumber is looked up first: an entry marked with its journalId is the earlier posting
 *    and is returned as it stands;
 * 4. otherwise it is created with a `requestid` derived from the journalId and the body; when the
 *    answer is lost (dropped connection, timeout, 5xx, 429) it is looked up again before it is sent
 *    again, with the same requestid, so neither a committed create nor Intuit's replay can make a
 *    second entry (create-once.ts);
 * 5. the entry is read back and its total compared with the journal's debits.
 */
import type { JournalEntry } from '../model/types.generated';
import { validateDocument } from '../model/validate';
import { toMinor } from '../model/money';
import { createOnce } from '../runtime/create-once';
import { ConnectorError, delay } from '../runtime/http';
import { permanentFailure } from '../runtime/errors';
import { KeyedLock } from '../runtime/keyed-lock';
import { QboClient, QboJournalEntry, QUICKBOOKS } from './client';
import { docNumberFor, isEntryOf, QboMapOptions, requestIdFor, toQboJournalEntry, toQboJson } from './map';

export interface QboPostOptions extends QboMapOptions {
  /** Resolve account codes through the chart of accounts (AcctNum → Id; default true). */
  resolveAccounts?: boolean;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface PostingStatus {
  journalId: string;
  /** `posted` by this call; `already-posted`: found in QuickBooks from an earlier call. */
  status: 'posted' | 'already-posted';
  entryId: string;
  docNumber: string;
  syncToken?: string;
  txnDate?: string;
  /** The entry's total as QuickBooks reads it back, in minor units of the journal's currency. */
  total: { amount: number; currency: string };
  requestId: string;
  /** An attempt's answer was lost on the way (the entry was found or created after it). */
  afterLostAnswer: boolean;
  /** Other QuickBooks entries marked with the same journalId (made outside this path); normally empty. */
  duplicates: string[];
  createdAt?: string;
}

export class QboPoster {
  /** Serialises copies of one journal in this process. */
  readonly locks = new KeyedLock();
  private chart?: Promise<Record<string, string>>;

  constructor(
    readonly client: QboClient,
    readonly options: QboPostOptions,
  ) {}

  /** Posts a canonical journal once; `exchangeRate` overrides the configured one for this journal. */
  async post(document: unknown, extra: { exchangeRate?: string } = {}): Promise<PostingStatus> {
    const checked = validateDocument('journal-entry', document);
    if (!checked.valid) {
      throw permanentFailure(QUICKBOOKS, 'journalentry.post', `invalid journal: ${checked.errors.join('; ')}`, {
        kind: 'value',
        providerCode: 'InvalidDocument',
      });
    }
    const journal = document as JournalEntry;
    return this.locks.run(journal.journalId, () => this.postOnce(journal, extra));
  }

  private async postOnce(journal: JournalEntry, extra: { exchangeRate?: string }): Promise<PostingStatus> {
    const accounts = { ...(await this.accountIds()), ...this.options.accounts };
    const body = toQboJournalEntry(journal, { ...this.options, accounts, exchangeRate: extra.exchangeRate ?? this.options.exchangeRate });
    const json = toQboJson(body);
    const docNumber = docNumberFor(journal.journalId);
    const requestId = requestIdFor(journal.journalId, json);
    let duplicates: string[] = [];
    const lookup = async (): Promise<QboJournalEntry | undefined> => {
      const mine = (await this.client.journalEntriesByDocNumber(docNumber)).filter((e) => isEntryOf(e, journal.journalId));
      mine.sort((a, b) => Number(a.Id) - Number(b.Id) || (a.Id < b.Id ? -1 : 1));
      duplicates = mine.slice(1).map((e) => e.Id);
      return mine[0];
    };
    let out;
    try {
      out = await createOnce<QboJournalEntry, undefined, QboJournalEntry>({
        lookup,
        lookupFirst: true,
        create: () => this.client.createJournalEntry(json, requestId),
        // A refusal (a Fault) is final; anything that may have been done is looked up first.
        outcomeUnknown: (err) => err instanceof ConnectorError && err.retryable,
        pause: {
          system: QUICKBOOKS,
          operation: 'journalentry.create',
          policy: this.client.policy,
          random: this.options.random,
          sleep: this.options.sleep ?? delay,
        },
      });
    } catch (err) {
      // An account unknown to QuickBooks may have been added since the chart was read.
      if (err instanceof ConnectorError && err.kind === 'missing-reference') this.chart = undefined;
      throw err;
    }
    const entry = 'created' in out ? out.created : out.found;
    const confirmed = (await this.client.readJournalEntry(entry.Id)) ?? entry;
    const total = this.totalOf(confirmed, journal);
    const expected = journal.lines.reduce((sum, l) => sum + (l.debit?.amount ?? 0), 0);
    if (total.amount !== expected) {
      throw new ConnectorError(
        QUICKBOOKS,
        'journalentry.post',
        `journal ${journal.journalId} is QuickBooks entry ${confirmed.Id} with total ${confirmed.TotalAmt}, not the journal's debits`,
        {
          kind: 'conflict',
          retryable: false,
        },
      );
    }
    return {
      journalId: journal.journalId,
      status: 'created' in out || out.afterLostAnswer ? 'posted' : 'already-posted',
      entryId: confirmed.Id,
      docNumber,
      syncToken: confirmed.SyncToken,
      txnDate: confirmed.TxnDate,
      total,
      requestId,
      afterLostAnswer: out.afterLostAnswer,
      duplicates,
      createdAt: confirmed.MetaData?.CreateTime,
    };
  }

  private totalOf(entry: QboJournalEntry, journal: JournalEntry): { amount: number; currency: string } {
    const currency = entry.CurrencyRef?.value ?? journal.currency;
    try {
      return { amount: toMinor(String(entry.TotalAmt ?? 0), currency), currency };
    } catch (err) {
      throw new ConnectorError(QUICKBOOKS, 'journalentry.read', `entry ${entry.Id} total ${entry.TotalAmt}: ${(err as Error).message}`, {
        kind: 'unknown',
        retryable: false,
      });
    }
  }

  /** Account code → Id from the chart of accounts (AcctNum), read once and kept. */
  private accountIds(): Promise<Record<string, string>> {
    if (this.options.resolveAccounts === false) return Promise.resolve({});
    this.chart ??= this.client.accounts().then(
      (rows) => Object.fromEntries(rows.filter((a) => a.AcctNum && a.Active !== false).map((a) => [a.AcctNum!, a.Id])),
      (err) => {
        this.chart = undefined;
        throw err;
      },
    );
    return this.chart;
  }
}
