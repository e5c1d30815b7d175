/**
 * QuickBooks Online Accounting API client (docs/connectors/quickbooks.md) on the shared HTTP layer:
 * - OAuth 2.0 refresh-token grant through the shared token source; Intuit rotates the refresh
 *   token, so each new one is kept in memory and handed to `onRefreshToken` to be persisted before
 *   the access token is used;
 * - per company: at most 10 requests at once (a Limiter), 10 a second and 500 a minute (a
 *   SlidingWindowGovernor), in that order, so a request waiting for a free slot never holds a send time
 *   it has not used;
 * - a 429 waits out Retry-After (or Intuit's advised minute) and is tried again; a 401 fetches a
 *   new access token and tries again;
 * - every refusal's Fault envelope read into the ConnectorError: kind, Fault code, element, message.
 * No Node-RED import.
 */
import { ConnectorError, HttpClient, HttpRequest, HttpResponse, parseRetryAfter, RetryPolicy, Verdict } from '../runtime/http';
import { kindForStatus } from '../runtime/errors';
import { Limiter } from '../runtime/limiter';
import { OAuthTokenSource } from '../runtime/oauth-token';
import { SlidingWindowGovernor } from '../runtime/window-governor';
import {
  ACCESS_TOKEN_LIFETIME_SECONDS,
  companyPath,
  FAULT_KINDS,
  FaultBody,
  FaultError,
  LIMITS,
  MINOR_VERSION,
  REQUEST_ID_MAX,
  THROTTLE_PAUSE_MS,
  TOKEN_URL,
} from './contract';

export const QUICKBOOKS = 'quickbooks';

export interface QboCredentials {
  clientId: string;
  clientSecret: string;
  /** The latest refresh token (each refresh replaces it). */
  refreshToken: string;
}

export interface QboLimits {
  perMinute: number;
  perSecond: number;
  concurrent: number;
}

export interface QboClientOptions {
  /** API host: PRODUCTION_URL, SANDBOX_URL or the simulator. */
  baseUrl: string;
  realmId: string;
  tokenUrl?: string;
  credentials: QboCredentials;
  /** Persists a rotated refresh token (with its lifetime in seconds when Intuit says it). */
  onRefreshToken?: (refreshToken: string, expiresInSeconds?: number) => void | Promise<void>;
  minorVersion?: number;
  policy?: Partial<RetryPolicy>;
  /** Overrides of Intuit's published limits (LIMITS). */
  limits?: Partial<QboLimits>;
  /** Pause after a 429 without Retry-After (default THROTTLE_PAUSE_MS). */
  throttlePauseMs?: number;
  /**
   * Kept between our clock and Intuit's on the one-second window: a request sent just over a
   * second after another may arrive just under it (default 100 ms).
   */
  windowMarginMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

/** A QuickBooks JournalEntry as the API answers it (the fields Tillwire reads). */
export interface QboJournalEntry {
  Id: string;
  SyncToken?: string;
  DocNumber?: string;
  TxnDate?: string;
  PrivateNote?: string;
  TotalAmt?: number;
  CurrencyRef?: { value: string; name?: string };
  ExchangeRate?: number;
  MetaData?: { CreateTime?: string; LastUpdatedTime?: string };
  Line?: unknown[];
}

export interface QboAccount {
  Id: string;
  Name?: string;
  AcctNum?: string;
  Active?: boolean;
  AccountType?: string;
  CurrencyRef?: { value: string };
}

/** The refresh-token grant at Intuit's token endpoint (client id and secret as HTTP Basic). */
class QboTokenSource extends OAuthTokenSource {
  constructor(opts: QboClientOptions, state: { refreshToken: string }) {
    const { clientId, clientSecret } = opts.credentials;
    super({
      system: QUICKBOOKS,
      operation: 'oauth-token',
      defaultLifetimeSeconds: ACCESS_TOKEN_LIFETIME_SECONDS,
      refreshBeforeMs: 5 * 60_000,
      timeoutMs: opts.policy?.timeoutMs,
      now: opts.now,
      fetch: opts.fetch,
      request: () => ({
        url: opts.tokenUrl ?? TOKEN_URL,
        init: {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: state.refreshToken }).toString(),
        },
      }),
      accepted: async (answer) => {
        const next = answer.refresh_token;
        if (typeof next !== 'string' || !next || next === state.refreshToken) return;
        // Kept before it is persisted: the previous one may be retired already.
        state.refreshToken = next;
        const lifetime = Number(answer.x_refresh_token_expires_in);
        await opts.onRefreshToken?.(next, Number.isFinite(lifetime) ? lifetime : undefined);
      },
    });
  }
}

/** The Fault of a QuickBooks answer, if it carries one. */
export function faultOf(body: unknown): { type?: string; error: FaultError } | undefined {
  const fault = (body as Partial<FaultBody> | undefined)?.Fault;
  const error = Array.isArray(fault?.Error) ? fault.Error[0] : undefined;
  if (!fault || !error || typeof error !== 'object') return undefined;
  return { type: fault.type, error };
}

export class QboClient {
  readonly tokens: OAuthTokenSource;
  /** At most `concurrent` requests of this company at once. */
  readonly slots: Limiter;
  /** Requests per second and per minute for this company. */
  readonly governor: SlidingWindowGovernor;
  /** 429 answers seen. */
  throttled = 0;
  private readonly state: { refreshToken: string };
  private readonly http: HttpClient;
  private readonly limits: QboLimits;

  constructor(private readonly opts: QboClientOptions) {
    this.state = { refreshToken: opts.credentials.refreshToken };
    this.tokens = new QboTokenSource(opts, this.state);
    this.limits = { ...LIMITS, ...opts.limits };
    this.slots = new Limiter(this.limits.concurrent);
    const margin = opts.windowMarginMs ?? 100;
    this.governor = new SlidingWindowGovernor(
      [
        { limit: this.limits.perSecond, windowMs: 1000 + margin, name: 'second' },
        { limit: this.limits.perMinute, windowMs: 60_000 + margin, name: 'minute' },
      ],
      { system: QUICKBOOKS, now: opts.now, sleep: opts.sleep, defaultPenaltyMs: opts.throttlePauseMs ?? THROTTLE_PAUSE_MS },
    );
    const doFetch = opts.fetch ?? fetch;
    this.http = new HttpClient({
      system: QUICKBOOKS,
      baseUrl: opts.baseUrl,
      policy: opts.policy,
      // The governor is taken inside the slot (below); HttpClient only tells it about 429s.
      governor: { take: () => Promise.resolve(), penalise: (ms) => this.governor.penalise(ms) },
      fetch: ((url: string | URL | Request, init?: RequestInit) =>
        this.slots.run(async () => {
          await this.governor.take();
          return doFetch(url, init);
        })) as typeof fetch,
      headers: async () => ({ authorization: `Bearer ${await this.tokens.get()}` }),
      classify: (res) => this.classify(res),
      describe: (res) => {
        const f = faultOf(res.body);
        return f && { code: f.error.code, element: f.error.element || undefined, message: faultMessage(f.error) };
      },
      sleep: opts.sleep,
      random: opts.random,
    });
  }

  /** The refresh token in use now (the latest Intuit gave). */
  get refreshToken(): string {
    return this.state.refreshToken;
  }

  /** Continues from a refresh token persisted after an earlier rotation (before the first call). */
  useRefreshToken(token: string): void {
    if (token) this.state.refreshToken = token;
  }

  get policy(): RetryPolicy {
    return this.http.policy;
  }

  private classify(res: HttpResponse): Verdict | undefined {
    const fault = faultOf(res.body);
    const code = fault?.error.code;
    const message = fault ? faultMessage(fault.error) : undefined;
    const element = fault?.error.element || undefined;
    if (res.status === 429) {
      this.throttled++;
      const wait = parseRetryAfter(res.headers.get('retry-after')) ?? this.opts.throttlePauseMs ?? THROTTLE_PAUSE_MS;
      return { ok: false, retryable: true, kind: 'rate-limit', retryAfterMs: wait, code, message, element };
    }
    if (res.status === 401) {
      // An expired or revoked access token: fetch a new one and try again; a refresh token that
      // is no longer valid then fails for good at the token endpoint (invalid_grant).
      this.tokens.invalidate();
      return { ok: false, retryable: true, kind: 'auth', retryAfterMs: 0, code, message, element };
    }
    if (res.status >= 200 && res.status < 300) {
      // Intuit may answer 200 with a Fault in the body.
      return fault ? { ok: false, retryable: false, kind: (code && FAULT_KINDS[code]) || 'value', code, message, element } : { ok: true };
    }
    if (res.status >= 500 || res.status === 408) {
      return { ok: false, retryable: true, retryAfterMs: parseRetryAfter(res.headers.get('retry-after')), code, message, element };
    }
    return { ok: false, retryable: false, kind: (code && FAULT_KINDS[code]) || kindForStatus(res.status), code, message, element };
  }

  private async call(req: HttpRequest): Promise<HttpResponse> {
    return this.http.request({ ...req, query: { ...req.query, minorversion: this.opts.minorVersion ?? MINOR_VERSION } });
  }

  /**
   * Creates a journal entry, sent once (no retry of its own: the caller looks it up after a lost
   * answer, see post.ts). `requestId` makes a resend answer the original response.
   */
  async createJournalEntry(body: unknown, requestId: string): Promise<QboJournalEntry> {
    if (!requestId || requestId.length > REQUEST_ID_MAX) throw new Error(`requestid must have 1 to ${REQUEST_ID_MAX} characters`);
    const res = await this.call({
      operation: 'journalentry.create',
      method: 'POST',
      url: `${companyPath(this.opts.realmId)}/journalentry`,
      query: { requestid: requestId },
      body,
      maxAttempts: 1,
    });
    const entry = res.body?.JournalEntry;
    if (!entry?.Id)
      throw new ConnectorError(QUICKBOOKS, 'journalentry.create', 'the answer carries no JournalEntry', { kind: 'unknown', retryable: false, body: res.body });
    return entry;
  }

  async readJournalEntry(id: string): Promise<QboJournalEntry> {
    const res = await this.call({
      operation: 'journalentry.read',
      method: 'GET',
      url: `${companyPath(this.opts.realmId)}/journalentry/${encodeURIComponent(id)}`,
    });
    return res.body?.JournalEntry;
  }

  /** Runs a query (`select * from <entity> where …`) and returns the rows of `entity`. */
  async query<T>(entity: string, select: string, operation = `${entity.toLowerCase()}.query`): Promise<T[]> {
    const res = await this.call({ operation, method: 'GET', url: `${companyPath(this.opts.realmId)}/query`, query: { query: select } });
    const rows = res.body?.QueryResponse?.[entity];
    return Array.isArray(rows) ? rows : [];
  }

  /** Journal entries with this DocNumber (QuickBooks allows several). */
  journalEntriesByDocNumber(docNumber: string): Promise<QboJournalEntry[]> {
    return this.query<QboJournalEntry>('JournalEntry', `select * from JournalEntry where DocNumber = '${quoteLiteral(docNumber)}'`, 'journalentry.query');
  }

  /** The chart of accounts (up to 1000 rows, Intuit's page maximum). */
  accounts(): Promise<QboAccount[]> {
    return this.query<QboAccount>('Account', 'select * from Account maxresults 1000', 'account.query');
  }
}

/** A Fault error's words: Message, then Detail when it says more. */
function faultMessage(e: FaultError): string | undefined {
  const parts = [e.Message, e.Detail].filter((p): p is string => typeof p === 'string' && p !== '');
  return parts.length ? parts.join(': ') : undefined;
}

/** A string literal for a QuickBooks query: a quote is escaped with a backslash. */
export function quoteLiteral(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}
