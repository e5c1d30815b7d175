/**
 * Posting a canonical journal to Xero exactly once (docs/architecture.md, Principles 4):
 *
 * 1. the journal is checked and mapped (map.ts) before anything is sent; a journal Xero cannot
 *    take is a `value` failure naming each problem;
 * 2. per journal id, one post at a time in this process (runtime/keyed-lock.ts);
 * 3. the narration's marker is looked up first (a redelivery after a restart finds the journal
 *    posted before), then PUT with an `Idempotency-Key` of the journal id and the request's digest
 *    (map.ts `idempotencyKey`); when the answer is lost or
 *    ambiguous, the lookup runs again before anything is re-sent (runtime/create-once.ts), and a
 *    re-send still carries the same key, so Xero answers it from its idempotency cache;
 * 4. the posted journal is read back (GET ManualJournals/{id}) and its status returned.
 */
import { createOnce } from '../runtime/create-once';
import { ConnectorError, delay, DEFAULT_POLICY, type RetryPolicy } from '../runtime/http';
import { permanentFailure } from '../runtime/errors';
import { KeyedLock } from '../runtime/keyed-lock';
import { outcomeUnknown, XERO, type XeroClient } from './client';
import { idempotencyKey, journalMarker, JournalMappingError, postingStatus, toManualJournal, type PostingStatus } from './map';
import type { XeroManualJournal } from './contract';

export interface PostOptions {
  /** The organisation's base currency; read from GET /Organisation when not given. */
  baseCurrency?: string;
  status?: 'POSTED' | 'DRAFT';
  locks?: KeyedLock;
  /** Attempts and backoff of the create-then-look-up loop; default the HTTP layer's. */
  policy?: Partial<RetryPolicy>;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface PostResult extends PostingStatus {
  /** `created`: this call's create answered; `found`: the journal was there already (an earlier post, or a create whose answer was lost). */
  outcome: 'created' | 'found';
  /** More than one Xero journal carries this journal id (posted twice before this connector guarded it): their ids. */
  duplicates?: string[];
}

const OPERATION = 'post journal';

export class XeroJournalPoster {
  private readonly locks: KeyedLock;

  constructor(
    private readonly client: XeroClient,
    private readonly opts: PostOptions = {},
  ) {
    this.locks = opts.locks ?? new KeyedLock();
  }

  async post(doc: unknown): Promise<PostResult> {
    const baseCurrency = this.opts.baseCurrency ?? (await this.client.organisation()).BaseCurrency;
    let journal: XeroManualJournal;
    try {
      journal = toManualJournal(doc, { baseCurrency, status: this.opts.status });
    } catch (err) {
      if (!(err instanceof JournalMappingError)) throw err;
      throw permanentFailure(XERO, OPERATION, `the journal cannot be posted to Xero: ${err.message}`, {
        providerCode: 'mapping',
        providerErrors: err.problems,
      });
    }
    const { journalId, currency } = doc as { journalId: string; currency: string };
    const marker = journalMarker(journalId);
    return this.locks.run(journalId, async () => {
      let duplicates: string[] | undefined;
      const result = await createOnce({
        lookupFirst: true,
        lookup: async () => {
          const found = await this.client.findJournals(marker);
          if (found.length > 1) duplicates = found.map((j) => j.ManualJournalID!).filter(Boolean);
          return found[0];
        },
        create: () => this.client.createJournal(journal, idempotencyKey(journalId, journal)),
        outcomeUnknown,
        pause: {
          system: XERO,
          operation: OPERATION,
          policy: { ...DEFAULT_POLICY, ...this.client.opts.policy, ...this.opts.policy },
          random: this.opts.random,
          sleep: this.opts.sleep ?? delay,
        },
      });
      const id = ('created' in result ? result.created : result.found).ManualJournalID;
      if (!id) throw new ConnectorError(XERO, OPERATION, 'Xero returned a journal without ManualJournalID', { kind: 'unknown', retryable: false });
      const read = await this.client.getJournal(id);
      return { ...postingStatus(read, currency), outcome: 'created' in result ? 'created' : 'found', ...(duplicates ? { duplicates } : {}) };
    });
  }
}
