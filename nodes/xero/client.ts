/**
 * The Xero Accounting API client for manual journals (nodes/xero/contract.ts has the facts and
 * their sources), on the one HTTP layer (runtime/http.ts). Per organisation (tenant) it holds:
 *
 * - the OAuth2 refresh-token grant (runtime/oauth-token.ts). Xero rotates the refresh token on
 *   every refresh, so each new one is kept at once (in memory, and through the injected
 *   `RefreshTokenStore`, e.g. the Tillwire store's kv) before the access token is used;
 * - Xero's limits: at most 5 calls on the wire (runtime/limiter.ts), 60 a minute and 5,000 a day
 *   paced by one SlidingWindowGovernor, which also follows X-MinLimit-Remaining and
 *   X-DayLimit-Remaining; a 429 waits out its Retry-After, except a daily limit, which is
 *   reported at once (waiting hours inside a flow helps nobody);
 * - Xero's refusals read into the ConnectorError: `ValidationException` → kind `value` with each
 *   element's ValidationErrors as `providerErrors`, and a date in a locked period named with the
 *   lock date.
 *
 * A create (PUT /ManualJournals) is never re-sent by this layer once it may have been carried
 * out (no answer, 5xx): post.ts looks the journal up first (runtime/create-once.ts). Only answers
 * that prove nothing was done (429, 401, 503) are retried here. No Node-RED import.
 */
import { ConnectorError, HttpClient, HttpResponse, parseRetryAfter, RETRYABLE_STATUS, RetryPolicy, Verdict } from '../runtime/http';
import { permanentFailure } from '../runtime/errors';
import { Limiter } from '../runtime/limiter';
import { OAuthTokenSource } from '../runtime/oauth-token';
import { SlidingWindowGovernor } from '../runtime/window-governor';
import {
  ACCESS_TOKEN_SECONDS,
  IDEMPOTENCY_HEADER,
  LIMIT_HEADERS,
  LOCK_DATE_MESSAGE,
  RATE_LIMITS,
  TENANT_HEADER,
  XERO_API_URL,
  XERO_TOKEN_URL,
  type XeroManualJournal,
} from './contract';

export const XERO = 'xero';
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const NO_ANSWER = 'NoAnswer';

/** Where the newest refresh token is kept between restarts. */
export interface RefreshTokenStore {
  load(): Promise<string | undefined>;
  save(refreshToken: string): Promise<void>;
}

export interface XeroClientOptions {
  /** https://api.xero.com/api.xro/2.0, or a simulator's. */
  apiUrl?: string;
  tokenUrl?: string;
  clientId: string;
  clientSecret: string;
  /** The organisation (xero-tenant-id). */
  tenantId: string;
  /** The refresh token from the authorisation (used unless the store holds a newer one). */
  refreshToken: string;
  tokenStore?: RefreshTokenStore;
  policy?: Partial<RetryPolicy>;
  /** Defaults: contract.ts RATE_LIMITS. */
  limits?: { concurrent?: number; perMinute?: number; perDay?: number };
  /** Wait after a 429 without Retry-After; default 60 s (one minute window). */
  throttleCooloffMs?: number;
  /** A wait for Xero's limits longer than this fails the call (rate-limit, with retryAfterMs); default 2 minutes. */
  maxWaitMs?: number;
  /** Renew the access token this long before it expires; default 60 s. */
  refreshBeforeMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface XeroOrganisation {
  Name?: string;
  BaseCurrency: string;
  PeriodLockDate?: string;
  EndOfYearLockDate?: string;
  [k: string]: unknown;
}

/** Xero's error body: `{ ErrorNumber, Type, Message, Elements: [ { ValidationErrors: [ { Message } ] } ] }`. */
export function xeroError(body: unknown): { code?: string; message?: string; errors: string[] } {
  if (!body || typeof body !== 'object') return { message: typeof body === 'string' && body ? body.slice(0, 300) : undefined, errors: [] };
  const b = body as Record<string, any>;
  const errors: string[] = [];
  const elements: any[] = Array.isArray(b.Elements) ? b.Elements : Array.isArray(b.ManualJournals) ? b.ManualJournals : [];
  for (const el of elements)
    for (const v of Array.isArray(el?.ValidationErrors) ? el.ValidationErrors : []) if (typeof v?.Message === 'string') errors.push(v.Message);
  // OAuth-style and problem-style answers: { error, error_description } / { Title, Detail }.
  const code = typeof b.Type === 'string' ? b.Type : typeof b.error === 'string' ? b.error : typeof b.Detail === 'string' ? b.Detail : undefined;
  const message =
    typeof b.Message === 'string'
      ? b.Message
      : typeof b.error_description === 'string'
        ? b.error_description
        : typeof b.Title === 'string'
          ? b.Title
          : undefined;
  return { code, message, errors };
}

/** "30-Nov-2026" → "2026-11-30". */
function isoDay(ddMmmYyyy: string): string | undefined {
  const t = Date.parse(`${ddMmmYyyy.replace(/-/g, ' ')} UTC`);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString().slice(0, 10);
}

/** The lock date a refusal names, as YYYY-MM-DD, if it is a locked-period refusal. */
export function lockDateOf(errors: readonly string[]): { which: string; date: string } | undefined {
  for (const e of errors) {
    const m = LOCK_DATE_MESSAGE.exec(e);
    const date = m && isoDay(m[2]);
    if (m && date) return { which: m[1].toLowerCase(), date };
  }
  return undefined;
}

/** Whether a failed create may nevertheless have been carried out (no answer, 408, 500, 502, 504). */
export function outcomeUnknown(err: unknown): boolean {
  if (!(err instanceof ConnectorError)) return false;
  return err.details.providerCode === NO_ANSWER || (err.status !== undefined && [408, 500, 502, 504].includes(err.status));
}

/** Tokens of one Xero connection: the refresh-token grant, with the rotated refresh token kept. */
export class XeroTokens {
  private refreshToken: string;
  private loaded?: Promise<void>;
  private readonly source: OAuthTokenSource;

  constructor(
    private readonly opts: Pick<
      XeroClientOptions,
      'tokenUrl' | 'clientId' | 'clientSecret' | 'refreshToken' | 'tokenStore' | 'refreshBeforeMs' | 'fetch' | 'now'
    > & { timeoutMs?: number },
  ) {
    this.refreshToken = opts.refreshToken;
    const basic = Buffer.from(`${opts.clientId}:${opts.clientSecret}`).toString('base64');
    this.source = new OAuthTokenSource({
      system: XERO,
      operation: 'refresh token',
      defaultLifetimeSeconds: ACCESS_TOKEN_SECONDS,
      refreshBeforeMs: opts.refreshBeforeMs ?? 60_000,
      timeoutMs: opts.timeoutMs,
      now: opts.now,
      fetch: opts.fetch,
      request: () => ({
        url: opts.tokenUrl ?? XERO_TOKEN_URL,
        init: {
          method: 'POST',
          headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: this.refreshToken }).toString(),
        },
      }),
      accepted: (answer) => this.rotate(answer),
    });
  }

  /** The refresh token the next refresh will use. */
  get current(): string {
    return this.refreshToken;
  }

  get refreshes(): number {
    return this.source.refreshes;
  }

  async get(): Promise<string> {
    this.loaded ??= this.load();
    await this.loaded;
    return this.source.get();
  }

  invalidate(): void {
    this.source.invalidate();
  }

  private async load(): Promise<void> {
    const stored = await this.opts.tokenStore?.load();
    if (stored) this.refreshToken = stored;
  }

  private async rotate(answer: Record<string, unknown>): Promise<void> {
    const next = answer.refresh_token;
    if (typeof next !== 'string' || !next || next === this.refreshToken) return;
    // Memory first: even if saving fails, this process goes on with the token Xero now expects.
    this.refreshToken = next;
    await this.opts.tokenStore?.save(next);
  }
}

export class XeroClient {
  readonly tokens: XeroTokens;
  readonly limiter: Limiter;
  readonly governor: SlidingWindowGovernor;
  /** 429 answers seen, by X-Rate-Limit-Problem. */
  readonly throttled: Record<string, number> = {};
  /** The remaining counts Xero last reported. */
  readonly remaining: { minute?: number; day?: number; appMinute?: number } = {};
  private readonly safe: HttpClient;
  private readonly unsafe: HttpClient;
  private organisationCache?: Promise<XeroOrganisation>;

  constructor(readonly opts: XeroClientOptions) {
    if (!opts.tenantId?.trim()) throw new Error('Xero: the tenant id (organisation) is required');
    const limits = { ...RATE_LIMITS, ...opts.limits };
    this.limiter = new Limiter(limits.concurrent);
    this.governor = new SlidingWindowGovernor(
      [
        { limit: limits.perMinute, windowMs: MINUTE_MS, name: 'minute' },
        { limit: limits.perDay, windowMs: DAY_MS, name: 'day' },
      ],
      // Minute waits are paced; a day's calls used up fails the call with its wait instead.
      { system: XERO, maxWaitMs: opts.maxWaitMs ?? 2 * MINUTE_MS, sleep: opts.sleep },
    );
    this.tokens = new XeroTokens({ ...opts, timeoutMs: opts.policy?.timeoutMs });
    const base = opts.fetch ?? fetch;
    const common = {
      system: XERO,
      baseUrl: (opts.apiUrl ?? XERO_API_URL).replace(/\/*$/, '/'),
      policy: opts.policy,
      governor: this.governor,
      sleep: opts.sleep,
      random: opts.random,
      describe: (res: HttpResponse) => xeroError(res.body),
      headers: async () => ({ authorization: `Bearer ${await this.tokens.get()}`, [TENANT_HEADER]: opts.tenantId }),
    };
    const cooloff = opts.throttleCooloffMs ?? MINUTE_MS;
    this.safe = new HttpClient({ ...common, classify: (res) => this.classify(res, cooloff), fetch: this.onTheWire(base, false) });
    this.unsafe = new HttpClient({
      ...common,
      classify: (res) => {
        const v = this.classify(res, cooloff);
        return v.ok || res.status === 429 || res.status === 503 || res.status === 401 ? v : { ...v, retryable: false };
      },
      fetch: this.onTheWire(base, true),
    });
  }

  /**
   * fetch as Xero's concurrency limit sees it: a request holds one of the tenant's places until its
   * whole answer is read. For creates (`guard`), no answer at all becomes a non-retryable NoAnswer
   * error, so the HTTP layer does not send it again blindly.
   */
  private onTheWire(base: typeof fetch, guard: boolean): typeof fetch {
    return (input, init) =>
      this.limiter.run(async () => {
        try {
          const res = await base(input, init);
          const body = await res.arrayBuffer();
          return new Response(res.status === 204 || res.status === 304 ? null : body, { status: res.status, statusText: res.statusText, headers: res.headers });
        } catch (err) {
          if (!guard) throw err;
          const e = err as Error & { cause?: { code?: string } };
          const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
          throw new ConnectorError(XERO, 'request', timedOut ? 'no answer in time' : `no answer: ${e.cause?.code ?? e.message}`, {
            kind: timedOut ? 'timeout' : 'connection',
            retryable: false,
            providerCode: NO_ANSWER,
          });
        }
      });
  }

  /** Xero's answer: rate-limit headers followed, 429 by its problem, 401 retried with a new token. */
  private classify(res: HttpResponse, cooloffMs: number): Verdict {
    this.observeLimits(res.headers);
    if (res.status >= 200 && res.status < 300) return { ok: true };
    const described = xeroError(res.body);
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
    const base = { ok: false as const, code: described.code, message: described.errors.length ? described.errors.join('; ') : described.message };
    if (res.status === 429) {
      const problem = res.headers.get(LIMIT_HEADERS.problem) ?? 'unknown';
      this.throttled[problem] = (this.throttled[problem] ?? 0) + 1;
      // The daily limit frees up only hours later: report it (with when) instead of waiting.
      if (problem === 'day') return { ...base, retryable: false, kind: 'rate-limit', code: 'day', retryAfterMs };
      return { ...base, retryable: true, kind: 'rate-limit', code: problem, retryAfterMs: retryAfterMs ?? cooloffMs };
    }
    if (res.status === 401) {
      // An access token Xero no longer accepts: fetch a new one and try once more.
      this.tokens.invalidate();
      return { ...base, retryable: true, kind: 'auth', retryAfterMs: 0 };
    }
    return { ...base, retryable: RETRYABLE_STATUS.has(res.status), retryAfterMs };
  }

  private observeLimits(headers: Headers): void {
    const read = (name: string) => {
      const v = headers.get(name);
      return v !== null && /^\d+$/.test(v.trim()) ? Number(v) : undefined;
    };
    const minute = read(LIMIT_HEADERS.minuteRemaining);
    const day = read(LIMIT_HEADERS.dayRemaining);
    const app = read(LIMIT_HEADERS.appMinuteRemaining);
    if (minute !== undefined) this.governor.observe(MINUTE_MS, (this.remaining.minute = minute));
    if (day !== undefined) this.governor.observe(DAY_MS, (this.remaining.day = day));
    if (app !== undefined) this.remaining.appMinute = app;
  }

  /** A failure with Xero's element-level messages attached, and a locked period named by its date. */
  private enrich(err: unknown): unknown {
    if (!(err instanceof ConnectorError) || err.status !== 400) return err;
    const described = xeroError(err.details.body);
    if (!described.errors.length) return err;
    const lock = lockDateOf(described.errors);
    return err.with({
      kind: 'value',
      retryable: false,
      providerErrors: described.errors,
      description: lock
        ? `the journal's date is in a locked period: the ${lock.which} lock date is ${lock.date}`
        : `Xero refused it: ${described.errors.join('; ')}`,
    });
  }

  private async call(client: HttpClient, req: Parameters<HttpClient['request']>[0]): Promise<HttpResponse> {
    try {
      return await client.request(req);
    } catch (err) {
      throw this.enrich(err);
    }
  }

  /** The organisation (base currency, lock dates), read once per client. */
  organisation(): Promise<XeroOrganisation> {
    this.organisationCache ??= this.call(this.safe, { operation: 'get organisation', method: 'GET', url: 'Organisation' }).then((res) => {
      const org = (res.body as { Organisations?: XeroOrganisation[] })?.Organisations?.[0];
      if (!org?.BaseCurrency) throw permanentFailure(XERO, 'get organisation', 'the answer names no organisation base currency', { status: res.status });
      return org;
    });
    this.organisationCache.catch(() => (this.organisationCache = undefined));
    return this.organisationCache;
  }

  /** PUT /ManualJournals with the Idempotency-Key; one attempt past throttling (see outcomeUnknown). */
  async createJournal(journal: XeroManualJournal, idempotencyKey: string): Promise<XeroManualJournal> {
    const res = await this.call(this.unsafe, {
      operation: 'create manual journal',
      method: 'PUT',
      url: 'ManualJournals',
      headers: { [IDEMPOTENCY_HEADER]: idempotencyKey },
      body: { ManualJournals: [journal] },
    });
    const created = (res.body as { ManualJournals?: XeroManualJournal[] })?.ManualJournals?.[0];
    const errors = (created?.ValidationErrors ?? []).map((v) => v.Message);
    if (errors.length) {
      // summarizeErrors=false style: 200 with the element's own ValidationErrors.
      const lock = lockDateOf(errors);
      throw permanentFailure(
        XERO,
        'create manual journal',
        lock ? `the journal's date is in a locked period: the ${lock.which} lock date is ${lock.date}` : `Xero refused it: ${errors.join('; ')}`,
        {
          kind: 'value',
          status: res.status,
          providerCode: 'ValidationErrors',
          providerErrors: errors,
        },
      );
    }
    if (!created?.ManualJournalID)
      throw permanentFailure(XERO, 'create manual journal', 'the answer holds no ManualJournalID', { status: res.status, kind: 'unknown' });
    return created;
  }

  /** Manual journals whose narration ends with `suffix` (the journal marker), oldest first. */
  async findJournals(suffix: string): Promise<XeroManualJournal[]> {
    const res = await this.call(this.safe, {
      operation: 'find manual journal',
      method: 'GET',
      url: 'ManualJournals',
      query: { where: `Narration.EndsWith("${suffix}")`, order: 'UpdatedDateUTC ASC' },
    });
    return (res.body as { ManualJournals?: XeroManualJournal[] })?.ManualJournals ?? [];
  }

  async getJournal(id: string): Promise<XeroManualJournal> {
    const res = await this.call(this.safe, { operation: 'get manual journal', method: 'GET', url: `ManualJournals/${encodeURIComponent(id)}` });
    const mj = (res.body as { ManualJournals?: XeroManualJournal[] })?.ManualJournals?.[0];
    if (!mj) throw permanentFailure(XERO, 'get manual journal', `manual journal ${id} is not in the answer`, { status: res.status, kind: 'missing-reference' });
    return mj;
  }
}
