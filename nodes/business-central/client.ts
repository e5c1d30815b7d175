/**
 * The Business Central API v2.0 protocol client (docs/connectors/business-central.md). Every call goes through
 * the one resilience layer (runtime/http.ts): BC's throttle signals (429, 503 + Retry-After, 408,
 * 504) are retried with backoff, permanent errors (400, 401, 403, 404, …) are not, the BC error
 * envelope `{error:{code,message}}` becomes a ConnectorError, an update that hits a stale etag
 * (409 Request_EntityChanged / 412) is re-read and retried once with the fresh etag, and a POST is
 * never blindly re-sent (BC has no idempotency key: creates are made idempotent one level up, by
 * filtering on externalDocumentNumber before each attempt; see documents.ts and runtime/create-once.ts).
 *
 * No Node-RED imports.
 */
import { setMaxListeners } from 'node:events';
import {
  ConnectorError,
  Governor,
  HttpClient,
  HttpRequest,
  HttpResponse,
  parseRetryAfter,
  RETRYABLE_STATUS,
  RetryPolicy,
  stoppableGovernor,
  Verdict,
} from '../runtime/http';
import { permanentFailure, type ConnectorDetails } from '../runtime/errors';
import { reportCall } from '../runtime/call-observer';
import { OAuthTokenSource } from '../runtime/oauth-token';
import { Limiter } from '../runtime/limiter';
import { anyOf, ODataQuery, queryParams, quote } from './odata';
import { BATCH_CONTINUE_ON_ERROR, BATCH_MAX_REQUESTS, FILTER_MAX_VALUES } from './contract';
import { pauseBeforeRetry } from '../runtime/create-once';

export const SYSTEM = 'business-central';
export const DEFAULT_BASE_URL = 'https://api.businesscentral.dynamics.com';
export const DEFAULT_TOKEN_URL = 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token';
export const DEFAULT_SCOPE = 'https://api.businesscentral.dynamics.com/.default';

export type BcAuth =
  { mode: 'token'; token: string } | { mode: 'client-credentials'; tokenUrl: string; clientId: string; clientSecret: string; scope?: string };

export interface BusinessCentralClientOptions {
  /** https://api.businesscentral.dynamics.com, or a simulator's URL. */
  baseUrl?: string;
  tenant: string;
  environment: string;
  companyId: string;
  auth: BcAuth;
  policy?: Partial<RetryPolicy>;
  /** Shared per-account rate governor (a TokenBucket). */
  governor?: Governor;
  /** Shared concurrency cap: at most this many requests of the account on the wire. */
  limiter?: Limiter;
  /** Wait after a 429 that carries no Retry-After (BC documents none for 429); default 2 s. */
  throttleCooloffMs?: number;
  /** Page size asked for with `Prefer: odata.maxpagesize`; default 1,000. */
  pageSize?: number;
  /** How long a found item (SKU → BC item) is remembered; 0 turns the cache off. Default 60 s. */
  itemCacheMs?: number;
  /** Refresh an OAuth token this long before it expires; default 60 s. */
  tokenRefreshMarginMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  fetch?: typeof fetch;
  now?: () => number;
}

export interface BcEntity {
  id: string;
  '@odata.etag'?: string;
  [field: string]: unknown;
}

export interface BcItem extends BcEntity {
  number: string;
  displayName?: string;
  inventory?: number;
  blocked?: boolean;
  type?: string;
}

const ITEM_FIELDS = ['id', 'number', 'displayName', 'type', 'blocked', 'inventory', 'unitPrice', 'baseUnitOfMeasureCode', 'lastModifiedDateTime'];

export interface BcSalesDocument extends BcEntity {
  number: string;
  externalDocumentNumber: string;
  customerNumber?: string;
  currencyCode?: string;
  pricesIncludeTax?: boolean;
  totalAmountExcludingTax?: number;
  totalTaxAmount?: number;
  totalAmountIncludingTax?: number;
  status?: string;
  salesOrderLines?: BcEntity[];
}

export interface BcCreditMemo extends BcSalesDocument {
  creditMemoDate?: string;
  /** The posted sales invoice the credit memo applies to (the empty GUID when none). */
  invoiceId?: string;
  invoiceNumber?: string;
  salesCreditMemoLines?: BcEntity[];
}

/** One inner request of a `$batch` (contract.ts): `url` is relative to the company (`salesOrders?…`). */
export interface BatchRequest {
  id: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
}

/** An inner request's own answer. */
export interface BatchResponse {
  id: string;
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

/** Reads BC's error envelope `{ error: { code, message } }` (message carries a CorrelationId). */
export function bcError(body: unknown): { code?: string; message?: string } | undefined {
  if (!body || typeof body !== 'object') return typeof body === 'string' && body ? { message: body.slice(0, 300) } : undefined;
  const b = body as Record<string, any>;
  if (b.error && typeof b.error === 'object') return { code: b.error.code, message: b.error.message };
  // OAuth token endpoint errors: { error, error_description }
  if (typeof b.error === 'string') return { code: b.error, message: b.error_description ?? b.error };
  return undefined;
}

/**
 * BC's status codes and what to do about them: 429 and 503 (+Retry-After) are throttling, 408 and
 * 504 are timeouts, 500/502 transient server trouble — all retried; 409 Request_EntityChanged and
 * 412 are concurrency conflicts handled by `update` (re-read, retry once); every other 4xx is
 * permanent: retrying cannot fix a bad request, bad credentials, a missing permission or record.
 */
export function classifyBc(throttleCooloffMs: number) {
  return (res: HttpResponse): Verdict => {
    if (res.status >= 200 && res.status < 300) return { ok: true };
    const described = bcError(res.body);
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
    const base = { ok: false as const, code: described?.code, message: described?.message };
    if (res.status === 429) return { ...base, retryable: true, retryAfterMs: retryAfterMs ?? throttleCooloffMs };
    return { ...base, retryable: RETRYABLE_STATUS.has(res.status), retryAfterMs };
  };
}

/**
 * For requests that must not be re-sent blindly (creates, bound actions): only answers that say
 * the request was not carried out are retried here — 429 (throttled) and 503 (queued too long).
 * A timeout, a dropped connection, 408, 500, 502 or 504 leaves the outcome unknown: the caller must
 * look before it tries again (see `outcomeUnknown`).
 */
export function classifyUnsafe(throttleCooloffMs: number) {
  const safe = classifyBc(throttleCooloffMs);
  return (res: HttpResponse): Verdict => {
    const v = safe(res);
    if (v.ok || res.status === 429 || res.status === 503) return v;
    return { ...v, retryable: false };
  };
}

const UNKNOWN_OUTCOME_STATUS = new Set([408, 500, 502, 504]);
const NO_ANSWER = 'NoAnswer';

/** Whether a failed non-idempotent request may nevertheless have been carried out. */
export function outcomeUnknown(err: unknown): boolean {
  if (!(err instanceof ConnectorError)) return false;
  return err.details.providerCode === NO_ANSWER || (err.status !== undefined && UNKNOWN_OUTCOME_STATUS.has(err.status));
}

/**
 * Wraps fetch so that no answer at all (a timeout, a reset connection, a body cut short) becomes
 * a non-retryable ConnectorError marked NoAnswer: the resilience layer must not re-send the
 * request, and `send` turns it back into a retryable, outcome-unknown error for the caller.
 */
function noAnswerGuard(base: typeof fetch, timeoutMs: () => number): typeof fetch {
  return async (input, init) => {
    try {
      const res = await base(input, init);
      const body = await res.arrayBuffer();
      return new Response(res.status === 204 || res.status === 304 ? null : body, { status: res.status, statusText: res.statusText, headers: res.headers });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
      const reason = timedOut ? `no answer within ${timeoutMs()} ms` : `no answer: ${e.cause?.code ?? e.message}`;
      throw new ConnectorError(SYSTEM, 'request', reason, { kind: timedOut ? 'timeout' : 'connection', retryable: false, providerCode: NO_ANSWER });
    }
  };
}

/**
 * An inner `$batch` answer that is not a success, as the ConnectorError a direct call with that
 * answer would have given: BC's code and message, retryable as `classifyBc` says.
 */
export function batchFailure(operation: string, res: BatchResponse, throttleCooloffMs = 2000): ConnectorError {
  const headers = new Headers(res.headers);
  const verdict = classifyBc(throttleCooloffMs)({ status: res.status, headers, body: res.body });
  const providerMessage = verdict.ok ? undefined : (verdict.message ?? undefined);
  return new ConnectorError(SYSTEM, operation, `HTTP ${res.status}${providerMessage ? `: ${providerMessage}` : ''}`, {
    status: res.status,
    retryable: !verdict.ok && !!verdict.retryable,
    retryAfterMs: verdict.ok ? undefined : verdict.retryAfterMs,
    providerCode: verdict.ok ? undefined : verdict.code,
    providerMessage,
    body: res.body,
  });
}

/** A failure retrying cannot fix; its kind follows from the code given, else `value`. */
export function permanent(operation: string, message: string, extra: ConnectorDetails = {}): ConnectorError {
  return permanentFailure(SYSTEM, operation, message, extra);
}

/**
 * BC's access token: the client-credentials grant (form-encoded client id, secret and the
 * `…/.default` scope) at the tenant's Microsoft Entra token endpoint, as Microsoft documents the
 * OAuth 2.0 client credentials flow for service-to-service calls to the BC API. Cached and
 * refreshed `refreshBeforeMs` before it expires, but never more than a tenth of its life early.
 */
export class BcTokenSource extends OAuthTokenSource {
  constructor(opts: {
    auth: Extract<BcAuth, { mode: 'client-credentials' }>;
    tenant: string;
    refreshBeforeMs?: number;
    timeoutMs?: number;
    now?: () => number;
    fetch?: typeof fetch;
  }) {
    const { auth, tenant } = opts;
    super({
      system: SYSTEM,
      operation: 'get access token',
      defaultLifetimeSeconds: 3600,
      refreshBeforeMs: opts.refreshBeforeMs ?? 60_000,
      maxEarlyFraction: 0.1,
      timeoutMs: opts.timeoutMs,
      now: opts.now,
      fetch: opts.fetch,
      request: () => ({
        // The token URL names the tenant: `{tenant}` in a configured URL is replaced by it.
        url: (auth.tokenUrl || DEFAULT_TOKEN_URL).replace('{tenant}', encodeURIComponent(tenant)),
        init: {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: auth.clientId,
            client_secret: auth.clientSecret,
            scope: auth.scope || DEFAULT_SCOPE,
          }).toString(),
        },
      }),
    });
  }
}

export class BusinessCentralClient {
  readonly companyPath: string;
  /** `…/api/v2.0/$batch`: the API root's batch endpoint (inner URLs are relative to the API root). */
  readonly batchUrl: string;
  readonly policy: RetryPolicy;
  private readonly http: HttpClient;
  /** For non-idempotent POSTs: retries only answers that prove nothing was done (429, 503). */
  private readonly unsafe: HttpClient;
  private readonly tokens?: BcTokenSource;
  private readonly itemCache = new Map<string, { item: BcItem; at: number }>();
  private lcy?: Promise<string>;
  private readonly now: () => number;
  private readonly sleepFn: (ms: number) => Promise<void>;
  /** Aborted by close(): ends the waits for a slot or for the rate governor of calls not yet sent. */
  private readonly stop = new AbortController();
  /** Closed: nothing new is sent (derived from the stop signal close() aborts). */
  private get closed(): boolean {
    return this.stop.signal.aborted;
  }
  /** Pending backoff sleeps, woken (rejected) by close(). */
  private readonly sleepers = new Set<() => void>();

  constructor(readonly options: BusinessCentralClientOptions) {
    const base = (options.baseUrl || DEFAULT_BASE_URL).replace(/\/+$/, '');
    for (const [name, value] of Object.entries({ tenant: options.tenant, environment: options.environment, companyId: options.companyId })) {
      if (!value || !String(value).trim()) throw new Error(`Business Central: ${name} is required`);
    }
    const apiRoot = `${base}/v2.0/${encodeURIComponent(options.tenant)}/${encodeURIComponent(options.environment)}/api/v2.0`;
    this.companyPath = `${apiRoot}/companies(${options.companyId})`;
    this.batchUrl = `${apiRoot}/$batch`;
    this.now = options.now ?? Date.now;
    // Sleeps end early when the client is closed, so a redeploy never waits out a long backoff
    // (and no timer is left behind).
    this.sleepFn = (ms) =>
      this.closed
        ? Promise.reject(this.closedError())
        : new Promise<void>((resolve, reject) => {
            let timer: NodeJS.Timeout | undefined;
            const wake = () => {
              if (timer) clearTimeout(timer);
              reject(this.closedError());
            };
            this.sleepers.add(wake);
            const finish = (err?: unknown) => {
              this.sleepers.delete(wake);
              if (err) reject(err);
              else resolve();
            };
            if (options.sleep) options.sleep(ms).then(() => finish(), finish);
            else timer = setTimeout(finish, ms);
          });
    const auth = options.auth;
    if (auth.mode === 'client-credentials') {
      for (const [name, value] of Object.entries({ clientId: auth.clientId, clientSecret: auth.clientSecret })) {
        if (!value) throw new Error(`Business Central: ${name} is required for client-credentials authentication`);
      }
    } else if (!auth.token) {
      throw new Error('Business Central: a bearer token is required');
    }
    // Nothing is sent once the client is closed; a request already on the wire runs on to its answer.
    const closedGuard =
      (f: typeof fetch): typeof fetch =>
      (input, init) =>
        this.closed ? Promise.reject(this.closedError()) : f(input, init);
    const baseFetch = options.fetch ?? fetch;
    // Every call waiting for a slot or the rate limit listens for the stop: as many as are queued.
    setMaxListeners(0, this.stop.signal);
    const common = {
      system: SYSTEM,
      governor: stoppableGovernor(options.governor, this.stop.signal),
      classify: classifyBc(options.throttleCooloffMs ?? 2000),
      describe: (res: HttpResponse) => bcError(res.body),
      headers: async () => ({ authorization: `Bearer ${await this.bearer()}` }),
      sleep: this.sleepFn,
      random: options.random,
      fetch: closedGuard(baseFetch),
    };
    this.http = new HttpClient({ ...common, policy: options.policy });
    this.policy = this.http.policy;
    // A failed token exchange is retried (or not) by the HttpClient of the call that needed it.
    if (auth.mode === 'client-credentials') {
      this.tokens = new BcTokenSource({
        auth,
        tenant: options.tenant,
        refreshBeforeMs: options.tokenRefreshMarginMs,
        timeoutMs: this.policy.timeoutMs,
        now: this.now,
        fetch: options.fetch,
      });
    }
    this.unsafe = new HttpClient({
      ...common,
      policy: options.policy,
      classify: classifyUnsafe(options.throttleCooloffMs ?? 2000),
      // Outside the no-answer guard: a request never sent is 'stopped', not of unknown outcome.
      fetch: closedGuard(noAnswerGuard(baseFetch, () => this.policy.timeoutMs)),
    });
  }

  sleep(ms: number): Promise<void> {
    return this.sleepFn(ms);
  }

  /**
   * Stops new work: calls waiting for a slot, the rate governor or a backoff end at once with a
   * retryable 'stopped' error, unsent; a request already on the wire runs on to its answer.
   */
  close(): void {
    this.stop.abort(this.closedError());
    for (const wake of [...this.sleepers]) wake();
    this.sleepers.clear();
    this.itemCache.clear();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private closedError(): ConnectorError {
    return new ConnectorError(SYSTEM, 'request', 'the connection was closed (node redeployed or stopped)', { kind: 'stopped', retryable: true });
  }

  private async bearer(): Promise<string> {
    if (this.options.auth.mode === 'token') return this.options.auth.token;
    return this.tokens!.get();
  }

  /** One HTTP exchange through the resilience layer, the concurrency cap and (once) a token refresh on 401. */
  async send(req: HttpRequest, opts: { idempotent?: boolean } = {}): Promise<HttpResponse> {
    if (this.closed) throw this.closedError();
    const unsafe = opts.idempotent === false;
    const client = unsafe ? this.unsafe : this.http;
    const run = () => (this.options.limiter ? this.options.limiter.run(() => client.request(req), this.stop.signal) : client.request(req));
    try {
      try {
        return await run();
      } catch (err) {
        if (err instanceof ConnectorError && err.status === 401 && this.tokens) {
          // The token may have been revoked or the clock skewed: one fresh token, one more try.
          this.tokens.invalidate();
          return await run();
        }
        throw err;
      }
    } catch (err) {
      if (unsafe && outcomeUnknown(err)) {
        // Worth trying again, but only after looking whether it was done after all.
        const e = err as ConnectorError;
        throw e.with({ operation: req.operation, description: `${e.description} (the outcome is unknown)`, retryable: true });
      }
      throw err;
    }
  }

  url(path: string): string {
    return /^https?:\/\//.test(path) ? path : `${this.companyPath}/${path.replace(/^\/+/, '')}`;
  }

  // ---- generic OData ----

  /** Every entity of a collection, following `@odata.nextLink` page by page. */
  async list<T extends BcEntity = BcEntity>(
    path: string,
    query: ODataQuery = {},
    opts: { operation?: string; pageSize?: number; maxPages?: number } = {},
  ): Promise<T[]> {
    const operation = opts.operation ?? `list ${path}`;
    const pageSize = opts.pageSize ?? this.options.pageSize ?? 1000;
    const out: T[] = [];
    let url: string | undefined = this.url(path);
    let params: Record<string, string | number | undefined> | undefined = queryParams(query);
    const maxPages = opts.maxPages ?? 100_000;
    for (let page = 0; url; page++) {
      if (page >= maxPages) throw permanent(operation, `more than ${maxPages} pages: narrow the query`);
      const res = await this.send({ operation, method: 'GET', url, query: params, headers: { prefer: `odata.maxpagesize=${pageSize}` } });
      const body = res.body as { value?: T[]; '@odata.nextLink'?: string } | undefined;
      if (!body || !Array.isArray(body.value))
        throw new ConnectorError(SYSTEM, operation, 'the answer has no value array (is the base URL right?)', {
          status: res.status,
          kind: 'value',
          retryable: false,
          body: res.body,
        });
      out.push(...body.value);
      url = body['@odata.nextLink'];
      params = undefined; // the next link carries the whole query
    }
    return out;
  }

  async get<T extends BcEntity = BcEntity>(path: string, query: ODataQuery = {}, operation = `get ${path}`): Promise<T> {
    const res = await this.send({ operation, method: 'GET', url: this.url(path), query: queryParams(query) });
    return res.body as T;
  }

  /**
   * POST without blind re-sends: 429/503 are retried (nothing was done), any answer that leaves
   * the outcome unknown is thrown with `outcomeUnknown(err)` true, for the caller to look first.
   */
  async create<T extends BcEntity = BcEntity>(path: string, body: unknown, query: ODataQuery = {}, operation = `create ${path}`): Promise<T> {
    const res = await this.send({ operation, method: 'POST', url: this.url(path), query: queryParams(query), body }, { idempotent: false });
    return res.body as T;
  }

  /**
   * PATCH with If-Match. A stale etag (409 Request_EntityChanged or 412) means someone changed
   * the record since it was read: read it again and apply the same change once more with the
   * fresh etag. A second conflict is reported (retryable: the record is busy).
   */
  async update<T extends BcEntity = BcEntity>(
    path: string,
    patch: Record<string, unknown>,
    etag: string | undefined,
    operation = `update ${path}`,
  ): Promise<T> {
    let tag = etag;
    if (!tag) tag = (await this.get(path, {}, `${operation} (read etag)`))['@odata.etag'];
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.send({ operation, method: 'PATCH', url: this.url(path), headers: { 'if-match': tag ?? '*' }, body: patch });
        return res.body as T;
      } catch (err) {
        const conflict =
          err instanceof ConnectorError &&
          (err.status === 412 || (err.status === 409 && (err.details.providerCode ?? 'Request_EntityChanged') === 'Request_EntityChanged'));
        if (!conflict) throw err;
        if (attempt >= 2) {
          throw (err as ConnectorError).with({
            description: `the record kept changing while it was updated (${(err as ConnectorError).details.providerMessage ?? 'Request_EntityChanged'})`,
            kind: 'conflict',
            retryable: true,
          });
        }
        // A stale etag: the record is read again and the change applied once more.
        reportCall({ type: 'retry', system: SYSTEM, operation, attempt, waitMs: 0, kind: 'conflict', status: (err as ConnectorError).status });
        tag = (await this.get(path, {}, `${operation} (re-read)`))['@odata.etag'];
      }
    }
  }

  async remove(path: string, etag: string | undefined, operation = `delete ${path}`): Promise<void> {
    await this.send({ operation, method: 'DELETE', url: this.url(path), headers: { 'if-match': etag ?? '*' } });
  }

  /** A bound action such as `salesOrders({id})/Microsoft.NAV.shipAndInvoice` (204); never re-sent blindly. */
  async action(path: string, operation = `run ${path.split('/').pop()}`): Promise<void> {
    await this.send({ operation, method: 'POST', url: this.url(path) }, { idempotent: false });
  }

  /**
   * One OData JSON `$batch` (contract.ts): at most BATCH_MAX_REQUESTS inner requests, each answered
   * on its own (`Prefer: odata.continue-on-error`, never `Isolation: snapshot`), keyed by id. An
   * inner request missing from the answer was not carried out as far as the caller can know.
   *
   * `writes`: the batch creates or changes something, so it is never re-sent blindly: only 429 and
   * 503 on the batch itself are retried (nothing was done); no answer, a timeout, 408, 500, 502 or
   * 504 throw with `outcomeUnknown(err)` true, for the caller to look its records up. A batch of
   * reads is retried like any GET.
   */
  async batch(requests: readonly BatchRequest[], opts: { operation: string; writes: boolean }): Promise<Map<string, BatchResponse>> {
    if (requests.length === 0) return new Map();
    if (requests.length > BATCH_MAX_REQUESTS) throw permanent(opts.operation, `a $batch takes at most ${BATCH_MAX_REQUESTS} requests, got ${requests.length}`);
    const companyUrl = `companies(${this.options.companyId})`;
    const body = {
      requests: requests.map((r) => ({
        id: r.id,
        method: r.method,
        url: `${companyUrl}/${r.url.replace(/^\/+/, '')}`,
        headers: { 'content-type': 'application/json', ...r.headers },
        ...(r.body === undefined ? {} : { body: r.body }),
      })),
    };
    const res = await this.send(
      { operation: opts.operation, method: 'POST', url: this.batchUrl, headers: { prefer: BATCH_CONTINUE_ON_ERROR }, body },
      { idempotent: !opts.writes },
    );
    const list = (res.body as { responses?: unknown } | undefined)?.responses;
    if (!Array.isArray(list)) {
      // Answered, but not with the batch's answers: for writes nobody can say what was done.
      throw new ConnectorError(SYSTEM, opts.operation, 'the $batch answer has no responses array', {
        status: res.status,
        kind: opts.writes ? 'timeout' : 'value',
        retryable: opts.writes,
        providerCode: opts.writes ? NO_ANSWER : undefined,
        body: res.body,
      });
    }
    const out = new Map<string, BatchResponse>();
    for (const r of list as Array<Record<string, unknown>>) {
      if (!r || typeof r !== 'object' || r.id === undefined || r.id === null || typeof r.status !== 'number') continue;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries((r.headers as Record<string, unknown> | undefined) ?? {})) headers[k.toLowerCase()] = String(v);
      out.set(String(r.id), { id: String(r.id), status: r.status, headers, body: r.body });
    }
    return out;
  }

  // ---- Business Central specifics ----

  /** The company's local currency (LCY): orders in it leave currencyCode blank. Read once. */
  localCurrency(): Promise<string> {
    this.lcy ??= this.list<BcEntity>('companyInformation', { $select: ['id', 'currencyCode'] }, { operation: 'read company currency' }).then(
      (rows) => {
        const code = String(rows[0]?.currencyCode ?? '');
        if (!code) throw permanent('read company currency', 'companyInformation has no currencyCode: set the local currency in the config node');
        return code;
      },
      (err) => {
        this.lcy = undefined;
        throw err;
      },
    );
    return this.lcy;
  }

  /**
   * Items by number (BC item numbers are Code[20], stored upper case). Returns the ones found,
   * keyed by number; `fresh` bypasses the cache (inventory reads).
   */
  async findItems(numbers: readonly string[], opts: { fresh?: boolean } = {}): Promise<Map<string, BcItem>> {
    const found = new Map<string, BcItem>();
    const wanted = [...new Set(numbers)];
    const ttl = this.options.itemCacheMs ?? 60_000;
    const missing: string[] = [];
    for (const n of wanted) {
      const hit = !opts.fresh && ttl > 0 ? this.itemCache.get(n) : undefined;
      if (hit && this.now() - hit.at < ttl) found.set(n, hit.item);
      else missing.push(n);
    }
    for (let i = 0; i < missing.length; i += 20) {
      const chunk = missing.slice(i, i + 20);
      const items = await this.list<BcItem>('items', { $filter: anyOf('number', chunk), $select: ITEM_FIELDS }, { operation: 'look up items' });
      for (const item of items) {
        found.set(item.number, item);
        if (ttl > 0) this.itemCache.set(item.number, { item, at: this.now() });
      }
    }
    return found;
  }

  /**
   * Item ledger entries after `entryNumber`, or modified at `modifiedSince` (RFC 3339) or later
   * (each posting of stock: a sale, a receipt, an adjustment), oldest first, page by page: their
   * numbers, items and times only.
   */
  async itemLedgerEntriesAfter(
    entryNumber: number,
    modifiedSince?: string,
  ): Promise<Array<BcEntity & { entryNumber: number; itemNumber: unknown; lastModifiedDateTime: unknown }>> {
    type Entry = BcEntity & { entryNumber: number; itemNumber: unknown; lastModifiedDateTime: unknown };
    const list = ($filter: string) =>
      this.list<Entry>(
        'itemLedgerEntries',
        { $filter, $orderby: 'entryNumber', $select: ['entryNumber', 'itemNumber', 'lastModifiedDateTime'] },
        { operation: 'list item ledger entries' },
      );
    // Two requests, not one `or`: Business Central refuses an `or` over two different fields.
    const byNumber = await list(`entryNumber gt ${entryNumber}`);
    if (!modifiedSince) return byNumber;
    const byTime = await list(`lastModifiedDateTime ge ${modifiedSince}`);
    const merged = new Map([...byTime, ...byNumber].map((e) => [e.entryNumber, e]));
    return [...merged.values()].sort((a, b) => a.entryNumber - b.entryNumber);
  }

  /** The newest item ledger entry's number (0: none yet). */
  async lastItemLedgerEntry(): Promise<number> {
    const [last] = await this.list<BcEntity & { entryNumber: number }>(
      'itemLedgerEntries',
      { $orderby: 'entryNumber desc', $top: 1, $select: ['entryNumber'] },
      { operation: 'list item ledger entries', maxPages: 1 },
    );
    return last?.entryNumber ?? 0;
  }

  /** Every item of type Inventory (the ones that have stock), read fresh, page by page. */
  inventoryItems(): Promise<BcItem[]> {
    return this.list<BcItem>('items', { $filter: "type eq 'Inventory'", $select: ITEM_FIELDS }, { operation: 'list items' });
  }

  /**
   * The sales documents carrying this external document number: open sales orders, and posted
   * sales invoices (shipAndInvoice deletes the order, so a replay must look there too).
   */
  async findSalesDocuments(externalDocumentNumber: string): Promise<Array<BcSalesDocument & { document: 'salesOrder' | 'salesInvoice' }>> {
    const $filter = `externalDocumentNumber eq ${quote(externalDocumentNumber)}`;
    const orders = await this.list<BcSalesDocument>('salesOrders', { $filter }, { operation: 'find sales order' });
    if (orders.length) return orders.map((o) => ({ ...o, document: 'salesOrder' as const }));
    const invoices = await this.list<BcSalesDocument>('salesInvoices', { $filter }, { operation: 'find posted sales invoice' });
    return invoices.map((o) => ({ ...o, document: 'salesInvoice' as const }));
  }

  /**
   * Many keys at once: the open sales orders, posted sales invoices (`sales`) and sales credit
   * memos (`creditMemos`) carrying each external document number, in one `$batch` of GETs (chunks
   * of FILTER_MAX_VALUES `or`-ed keys; more batches beyond BATCH_MAX_REQUESTS GETs). As
   * `findSalesDocuments`, a key's open orders hide its invoices. A read: a failed GET inside the
   * batch makes the whole lookup try again (backoff), up to the policy's attempts.
   */
  async findByKeys(keys: { sales?: readonly string[]; creditMemos?: readonly string[] }): Promise<{
    sales: Map<string, Array<BcSalesDocument & { document: 'salesOrder' | 'salesInvoice' }>>;
    creditMemos: Map<string, BcCreditMemo[]>;
  }> {
    const operation = 'find sales documents';
    const gets: Array<BatchRequest & { set: 'salesOrders' | 'salesInvoices' | 'salesCreditMemos' }> = [];
    const add = (set: 'salesOrders' | 'salesInvoices' | 'salesCreditMemos', list: readonly string[]) => {
      const unique = [...new Set(list)];
      for (let i = 0; i < unique.length; i += FILTER_MAX_VALUES) {
        const filter = anyOf('externalDocumentNumber', unique.slice(i, i + FILTER_MAX_VALUES));
        gets.push({ id: String(gets.length + 1), set, method: 'GET', url: `${set}?$filter=${encodeURIComponent(filter)}` });
      }
    };
    add('salesOrders', keys.sales ?? []);
    add('salesInvoices', keys.sales ?? []);
    add('salesCreditMemos', keys.creditMemos ?? []);
    const rows = new Map<string, BcSalesDocument[]>([
      ['salesOrders', []],
      ['salesInvoices', []],
      ['salesCreditMemos', []],
    ]);
    for (let i = 0; i < gets.length; i += BATCH_MAX_REQUESTS) {
      const chunk = gets.slice(i, i + BATCH_MAX_REQUESTS);
      for (let attempt = 1; ; attempt++) {
        const answers = await this.batch(chunk, { operation, writes: false });
        const failed = chunk.map((g) => answers.get(g.id) ?? { id: g.id, status: 500, headers: {}, body: undefined }).find((a) => a.status !== 200);
        if (failed) {
          const err = batchFailure(operation, failed, this.options.throttleCooloffMs);
          if (!err.retryable || attempt >= this.policy.maxAttempts) throw err.with({ attempts: attempt });
          await pauseBeforeRetry({ system: SYSTEM, operation, policy: this.policy, random: this.options.random, sleep: (ms) => this.sleep(ms) }, attempt, err);
          continue;
        }
        for (const g of chunk) {
          const body = answers.get(g.id)!.body as { value?: BcSalesDocument[]; '@odata.nextLink'?: string } | undefined;
          if (!body || !Array.isArray(body.value))
            throw new ConnectorError(SYSTEM, operation, 'a lookup answer has no value array', { kind: 'value', retryable: false, body });
          rows.get(g.set)!.push(...body.value);
          // A key matched by more rows than one page holds (duplicates made outside Tillwire): the rest by plain GETs.
          if (body['@odata.nextLink']) rows.get(g.set)!.push(...(await this.list<BcSalesDocument>(body['@odata.nextLink'], {}, { operation })));
        }
        break;
      }
    }
    const group = <T extends BcSalesDocument>(list: T[]) => {
      const by = new Map<string, T[]>();
      for (const r of list) {
        const edn = String(r.externalDocumentNumber);
        by.set(edn, [...(by.get(edn) ?? []), r]);
      }
      return by;
    };
    const orders = group(rows.get('salesOrders')!.map((o) => ({ ...o, document: 'salesOrder' as const })));
    const invoices = group(rows.get('salesInvoices')!.map((o) => ({ ...o, document: 'salesInvoice' as const })));
    const sales = new Map<string, Array<BcSalesDocument & { document: 'salesOrder' | 'salesInvoice' }>>();
    for (const edn of new Set(keys.sales ?? [])) {
      const found = orders.get(edn) ?? invoices.get(edn) ?? [];
      if (found.length) sales.set(edn, found);
    }
    return { sales, creditMemos: group(rows.get('salesCreditMemos')! as BcCreditMemo[]) };
  }

  /** Sales credit memos carrying this external document number (a return's, or a till refund's). */
  findCreditMemos(externalDocumentNumber: string): Promise<BcCreditMemo[]> {
    return this.list<BcCreditMemo>(
      'salesCreditMemos',
      { $filter: `externalDocumentNumber eq ${quote(externalDocumentNumber)}` },
      { operation: 'find sales credit memo' },
    );
  }

  createSalesCreditMemo(body: Record<string, unknown>): Promise<BcCreditMemo> {
    return this.create<BcCreditMemo>('salesCreditMemos', body, { $expand: 'salesCreditMemoLines' }, 'create sales credit memo');
  }

  /**
   * Posted sales shipments modified at or after `since` (oldest first), with their lines. Posted
   * shipments are not changed after posting, so lastModifiedDateTime is their posting time.
   */
  salesShipmentsSince(since: string | undefined, opts: { maxPages?: number } = {}): Promise<BcEntity[]> {
    return this.list<BcEntity>(
      'salesShipments',
      { $filter: since ? `lastModifiedDateTime ge ${since}` : undefined, $orderby: 'lastModifiedDateTime,number', $expand: 'salesShipmentLines' },
      { operation: 'read posted sales shipments', maxPages: opts.maxPages },
    );
  }

  /** An open sales order by its number, with lines (its comment lines carry a hashed key in full). */
  async salesOrderByNumber(number: string): Promise<BcSalesDocument | undefined> {
    const rows = await this.list<BcSalesDocument>(
      'salesOrders',
      { $filter: `number eq ${quote(number)}`, $expand: 'salesOrderLines' },
      { operation: 'find sales order by number' },
    );
    return rows[0];
  }

  /** A sales order's lines (shippedQuantity tells whether it can still be deleted). */
  salesOrderLines(salesOrderId: string): Promise<BcEntity[]> {
    return this.list<BcEntity>(`salesOrders(${salesOrderId})/salesOrderLines`, {}, { operation: 'read sales order lines' });
  }

  /** DELETE of an open sales order, with its etag (If-Match is required). */
  deleteSalesOrder(salesOrderId: string, etag: string | undefined): Promise<void> {
    return this.remove(`salesOrders(${salesOrderId})`, etag, 'delete sales order');
  }

  createSalesOrder(body: Record<string, unknown>): Promise<BcSalesDocument> {
    return this.create<BcSalesDocument>('salesOrders', body, { $expand: 'salesOrderLines' }, 'create sales order');
  }

  shipAndInvoice(salesOrderId: string): Promise<void> {
    return this.action(`salesOrders(${salesOrderId})/Microsoft.NAV.shipAndInvoice`, 'ship and invoice sales order');
  }
}
