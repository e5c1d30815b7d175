/**
 * Odoo's two external APIs behind one client (docs/connectors/odoo.md):
 *
 * - JSON-RPC (`POST /jsonrpc`): `common.authenticate(db, login, key, {})` → uid, then
 *   `object.execute_kw(db, uid, key, model, method, args, kwargs)`. Errors come back as HTTP 200
 *   with a JSON-RPC `error` whose `data.name` is the Python exception (`odoo.exceptions.UserError`…).
 *   Deprecated in Odoo 19, removed in 22.
 * - JSON-2 (`POST /json/2/<model>/<method>`, Odoo 19+): `Authorization: bearer <API key>`,
 *   `X-Odoo-Database`, named parameters only (`ids`, `context`, then the method's own). Errors come
 *   back as 4xx/5xx with `{ name, message, arguments, context, debug }`.
 *
 * Every request goes through the shared HttpClient (timeouts, jittered backoff for retryable
 * failures only, Retry-After), a Limiter (concurrency per config node) and an optional TokenBucket.
 * `classifyOdoo` decides what is retryable: the exceptions a request causes by itself (UserError,
 * ValidationError, AccessError, AccessDenied, MissingError, Python ValueError/TypeError/KeyError…,
 * 401/403/404) are permanent; an expired session (JSON-RPC code 100) re-authenticates once; proxies'
 * 429/5xx, timeouts, dropped connections and database serialization failures are retryable.
 *
 * Writes that are not idempotent (`create`, `action_confirm`) can be sent with `retry: false`:
 * the caller then checks what happened (looks the record up) before trying again, because a
 * lost response to a committed create must not become a second record.
 */
import { type LoadResult, SESSION_EXPIRED, SESSION_EXPIRED_CODE } from './contract';
import {
  ConnectorError,
  type ConnectorDetails,
  Governor,
  HttpClient,
  HttpResponse,
  parseRetryAfter,
  RetryPolicy,
  stoppableGovernor,
  canonicalUrl,
  Verdict,
  DEFAULT_POLICY,
  RETRYABLE_STATUS,
} from '../runtime/http';
import { setMaxListeners } from 'node:events';
import { Limiter } from '../runtime/limiter';
import { permanentFailure } from '../runtime/errors';

export type OdooApi = 'jsonrpc' | 'json2';

export const SYSTEM = 'odoo';

export interface OdooClientOptions {
  /** Base URL of the Odoo server, e.g. https://mycompany.odoo.com (a path prefix is kept). */
  url: string;
  database: string;
  login: string;
  /** API key (or password, JSON-RPC only). */
  apiKey: string;
  api?: OdooApi;
  /** Major version of the server (17, 18, 19, …): JSON-2 needs 19 or later. */
  version?: number;
  policy?: Partial<RetryPolicy>;
  governor?: Governor;
  limiter?: Limiter;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  userAgent?: string;
}

export interface CallOptions {
  context?: Record<string, unknown>;
  /** false: one attempt only (for non-idempotent writes; the caller verifies and retries). */
  retry?: boolean;
}

export interface SearchOptions extends CallOptions {
  fields?: string[];
  limit?: number;
  offset?: number;
  order?: string;
}

export type Domain = unknown[];

/** Named parameters of a model method; `ids` is the recordset (positional in JSON-RPC). */
export type MethodParams = Record<string, unknown> & { ids?: number[] };

/** Exceptions a request causes by itself: sending it again gives the same answer. */
const PERMANENT_NAMES = new Set([
  'UserError',
  'ValidationError',
  'AccessError',
  'AccessDenied',
  'MissingError',
  'RedirectWarning',
  'CacheMiss',
  'ValueError',
  'TypeError',
  'KeyError',
  'AttributeError',
  'IndexError',
  'NotFound',
  'Unauthorized',
  'Forbidden',
  'BadRequest',
  'MethodNotAllowed',
  'UnprocessableEntity',
]);

export interface OdooErrorInfo {
  /** Python exception, e.g. odoo.exceptions.UserError (JSON-RPC data.name / JSON-2 name). */
  name: string;
  message: string;
  /** JSON-RPC error code: 0 (or 200 in old releases), 100 session expired, 404. */
  code?: number;
}

/** Reads Odoo's error out of a JSON-RPC envelope or a JSON-2 error body. */
export function odooErrorInfo(body: unknown): OdooErrorInfo | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, any>;
  if (b.error && typeof b.error === 'object') {
    const data = b.error.data && typeof b.error.data === 'object' ? b.error.data : {};
    return {
      name: String(data.name ?? ''),
      message: String(data.message || b.error.message || 'Odoo Server Error'),
      code: typeof b.error.code === 'number' ? b.error.code : undefined,
    };
  }
  if (typeof b.name === 'string' && 'message' in b) return { name: b.name, message: String(b.message ?? '') };
  return undefined;
}

/** The last segment of a dotted Python name: odoo.exceptions.UserError → UserError. */
export function shortName(name: string): string {
  const i = name.lastIndexOf('.');
  return i >= 0 ? name.slice(i + 1) : name;
}

/** A misconfigured database name surfaces as a connection error; retrying cannot fix it. */
function missingDatabase(name: string, message: string): boolean {
  return shortName(name) === 'OperationalError' && /database .* does not exist/i.test(message);
}

function permanentByName(name: string, message: string): boolean {
  return PERMANENT_NAMES.has(shortName(name)) || missingDatabase(name, message);
}

/**
 * The `classify` hook for the HttpClient: Odoo's own rules before the status-code defaults.
 * Returns undefined to let the defaults decide (non-JSON bodies from proxies: 429/5xx retryable,
 * other 4xx permanent).
 */
export function classifyOdoo(res: HttpResponse): Verdict | undefined {
  const info = odooErrorInfo(res.body);
  const ok = res.status >= 200 && res.status < 300;
  // "SerializationFailure: could not serialize…": the exception's short name leads the text.
  const message = info ? (info.name ? `${shortName(info.name)}: ${info.message}` : info.message) : undefined;
  if (ok) {
    // JSON-RPC reports every failure as HTTP 200 with an `error` member.
    const b = res.body as Record<string, unknown> | undefined;
    if (!info || !b || !('error' in b)) return { ok: true };
    if (info.code === SESSION_EXPIRED_CODE || info.name === SESSION_EXPIRED) {
      return { ok: false, retryable: false, kind: 'auth', code: SESSION_EXPIRED, message };
    }
    if (info.code === 404) return { ok: false, retryable: false, code: info.name || 'NotFound', message };
    const kind = missingDatabase(info.name, info.message) ? 'value' : undefined;
    return { ok: false, retryable: !permanentByName(info.name, info.message), kind, code: info.name, message };
  }
  if (!info) return undefined;
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
  if (res.status === 401 || res.status === 403 || res.status === 404) {
    return { ok: false, retryable: false, code: info.name, message };
  }
  if (permanentByName(info.name, info.message))
    return { ok: false, retryable: false, kind: missingDatabase(info.name, info.message) ? 'value' : undefined, code: info.name, message };
  return { ok: false, retryable: RETRYABLE_STATUS.has(res.status), retryAfterMs, code: info.name, message };
}

function plain(text: string, max = 160): string {
  const title = /<title>([^<]*)<\/title>/i.exec(text);
  if (title) return title[1].trim();
  const t = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
}

export function isRetryable(err: unknown): boolean {
  return err instanceof ConnectorError && err.retryable;
}

/** An Odoo failure; one marked not retryable, with nothing else to classify it by, is a `value` one. */
export function odooError(operation: string, message: string, details: ConnectorDetails): ConnectorError {
  return details.retryable === false ? permanentFailure(SYSTEM, operation, message, details) : new ConnectorError(SYSTEM, operation, message, details);
}

/** Rewrites the HttpClient's error into one that says what Odoo said. */
function describeFailure(err: ConnectorError, api: OdooApi): ConnectorError {
  const d = err.details;
  const info = odooErrorInfo(d.body);
  let text: string;
  if (info) text = `${shortName(info.name) || 'Odoo error'}: ${plain(info.message, 300)}`;
  else if (d.status === 404 && api === 'json2') text = 'HTTP 404: no JSON-2 endpoint (it needs Odoo 19 or later; use JSON-RPC for older servers)';
  else if (d.status) text = `HTTP ${d.status}${d.providerMessage ? `: ${plain(String(d.providerMessage))}` : ''}`;
  else text = err.description;
  return err.with({ description: text, providerCode: info?.name || d.providerCode, providerMessage: info?.message ?? d.providerMessage, kind: d.kind });
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export class OdooClient {
  readonly api: OdooApi;
  readonly version: number;
  readonly policy: RetryPolicy;
  private readonly http: HttpClient;
  /** For writes sent once (`retry: false`): not aborted by close(). */
  private readonly writes: HttpClient;
  private uidPromise?: Promise<number>;
  private rpcId = 0;
  private readonly stop = new AbortController();
  /** Closed: nothing new is sent (derived from the stop signal close() aborts). */
  private get closed(): boolean {
    return this.stop.signal.aborted;
  }
  private readonly active = new Set<Promise<unknown>>();

  /** The scope of the per-key lock (sharedLock): the Odoo database, however its URL is spelled. */
  get lockScope(): string {
    return `odoo|${canonicalUrl(this.opts.url)}|${this.opts.database}`;
  }

  /** Which Odoo this client talks to (its URL and database), e.g. to tell a cursor of another apart. */
  get source(): string {
    return `${this.opts.url.replace(/\/+$/, '')}|${this.opts.database}`;
  }

  constructor(private readonly opts: OdooClientOptions) {
    this.api = opts.api ?? 'jsonrpc';
    this.version = opts.version ?? 17;
    if (this.api === 'json2' && this.version < 19) {
      throw new Error(`the JSON-2 API needs Odoo 19 or later (configured version ${this.version}); use JSON-RPC`);
    }
    const baseUrl = opts.url.endsWith('/') ? opts.url : `${opts.url}/`;
    const baseFetch = opts.fetch ?? fetch;
    // Every call waiting for a slot or the rate limit listens for the stop: as many as are queued.
    setMaxListeners(0, this.stop.signal);
    // Nothing is sent once the client is closed. A request on the wire is aborted by close(),
    // except a write sent once (a create): the server carries it out whether or not we wait, so it
    // is left to finish (within its timeout) and the caller holds its key until it knows the outcome.
    const guarded =
      (abortOnStop: boolean): typeof fetch =>
      async (input, init) => {
        if (this.closed) throw stoppedError('the Odoo connection was closed (node stopped)');
        if (!abortOnStop) return baseFetch(input, init);
        const signal = init?.signal ? AbortSignal.any([init.signal, this.stop.signal]) : this.stop.signal;
        try {
          return await baseFetch(input, { ...init, signal });
        } catch (err) {
          if (this.stop.signal.aborted) {
            throw stoppedError('stopped while the request was in flight (node stopped)');
          }
          throw err;
        }
      };
    const sleep = (ms: number) => (this.closed ? Promise.resolve() : (opts.sleep ?? ((t: number) => abortableDelay(t, this.stop.signal)))(ms));
    const common = {
      system: SYSTEM,
      baseUrl,
      governor: stoppableGovernor(opts.governor, this.stop.signal),
      classify: classifyOdoo,
      sleep,
      random: opts.random,
      headers: () => this.headers(),
    };
    this.policy = { ...DEFAULT_POLICY, ...opts.policy };
    this.http = new HttpClient({ ...common, fetch: guarded(true), policy: this.policy });
    this.writes = new HttpClient({ ...common, fetch: guarded(false), policy: this.policy });
  }

  private headers(): Record<string, string> {
    const h: Record<string, string> = { 'user-agent': this.opts.userAgent ?? 'tillwire-odoo/1' };
    if (this.api === 'json2') {
      h.authorization = `bearer ${this.opts.apiKey}`;
      if (this.opts.database) h['x-odoo-database'] = this.opts.database;
    }
    return h;
  }

  /** One HTTP exchange through the limiter, failures worded with Odoo's own error text. */
  private async send(operation: string, url: string, body: unknown, retry: boolean): Promise<HttpResponse> {
    const run = async () => {
      try {
        // A write that must not be re-sent blindly goes once; the caller looks the outcome up.
        return await (retry ? this.http : this.writes).request({ operation, method: 'POST', url, body, maxAttempts: retry ? undefined : 1 });
      } catch (err) {
        if (err instanceof ConnectorError) throw describeFailure(err.operation === operation ? err : err.with({ operation }), this.api);
        throw err;
      }
    };
    // A call still waiting for a slot when the client closes ends then, unsent.
    return this.opts.limiter ? this.opts.limiter.run(run, this.stop.signal) : run();
  }

  /**
   * Counts `work` as in flight until it settles: close() waits for it (a create and the
   * confirmation that follows belong together). Every call is tracked; so are OdooSync operations.
   */
  track<T>(work: Promise<T>): Promise<T> {
    this.active.add(work);
    const forget = () => this.active.delete(work);
    work.then(forget, forget);
    return work;
  }

  private async jsonrpc(service: string, method: string, args: unknown[], operation: string, retry = true): Promise<any> {
    const body = { jsonrpc: '2.0', method: 'call', params: { service, method, args }, id: ++this.rpcId };
    const res = await this.send(operation, 'jsonrpc', body, retry);
    const b = res.body as Record<string, unknown> | undefined;
    if (!b || typeof b !== 'object' || b.jsonrpc !== '2.0') {
      throw odooError(operation, `HTTP ${res.status}: the answer is not JSON-RPC (is the URL an Odoo server?)`, {
        status: res.status,
        kind: 'value',
        retryable: false,
        body: b,
      });
    }
    // Odoo leaves `result` out when a method returns None.
    return b.result ?? null;
  }

  /** JSON-RPC login: the user id for the configured database, login and key. Cached. */
  authenticate(): Promise<number> {
    if (this.api === 'json2') return Promise.reject(new Error('authenticate is a JSON-RPC call; JSON-2 sends the API key with every request'));
    this.uidPromise ??= (async () => {
      const { database, login, apiKey } = this.opts;
      const uid = await this.jsonrpc('common', 'authenticate', [database, login, apiKey, {}], 'authenticate');
      if (typeof uid !== 'number' || uid <= 0) {
        throw odooError('authenticate', `login '${login}' on database '${database}' was refused: check the login and API key`, {
          kind: 'auth',
          retryable: false,
        });
      }
      return uid;
    })().catch((err) => {
      this.uidPromise = undefined;
      throw err;
    });
    return this.uidPromise;
  }

  /** `common.version` (JSON-RPC, present on every version). */
  serverVersion(): Promise<{ server_version: string; server_version_info: unknown[] }> {
    return this.jsonrpc('common', 'version', [], 'version');
  }

  /**
   * Calls `method` on `model`. `params.ids` is the recordset (for methods on records); every other
   * entry is a named parameter of the method. JSON-RPC sends ids positionally (and `create`'s
   * vals_list too, as Odoo's call_kw requires); JSON-2 sends everything by name.
   */
  call<T = unknown>(model: string, method: string, params: MethodParams = {}, opts: CallOptions = {}): Promise<T> {
    return this.track(this.execute<T>(model, method, params, opts));
  }

  private async execute<T>(model: string, method: string, params: MethodParams, opts: CallOptions): Promise<T> {
    const operation = `${model}.${method}`;
    const retry = opts.retry !== false;
    const { ids, ...named } = params;
    const context = opts.context ?? (named.context as Record<string, unknown> | undefined);
    delete named.context;
    if (this.api === 'json2') {
      const body: Record<string, unknown> = { ...(ids !== undefined ? { ids } : {}), ...named };
      if (context) body.context = context;
      const res = await this.send(operation, `json/2/${encodeURIComponent(model)}/${encodeURIComponent(method)}`, body, retry);
      return res.body as T;
    }
    const args: unknown[] = [];
    if (ids !== undefined) args.push(ids);
    if (method === 'create' && 'vals_list' in named) {
      args.push(named.vals_list);
      delete named.vals_list;
    }
    const kwargs: Record<string, unknown> = { ...named };
    if (context) kwargs.context = context;
    for (let reauthenticated = false; ; reauthenticated = true) {
      const uid = await this.authenticate();
      try {
        return await this.jsonrpc('object', 'execute_kw', [this.opts.database, uid, this.opts.apiKey, model, method, args, kwargs], operation, retry);
      } catch (err) {
        // An expired session is refused before anything runs: log in again and resend, once.
        if (!reauthenticated && err instanceof ConnectorError && err.details.providerCode === SESSION_EXPIRED) {
          this.uidPromise = undefined;
          continue;
        }
        throw err;
      }
    }
  }

  searchRead<T = Record<string, any>>(model: string, domain: Domain, opts: SearchOptions = {}): Promise<T[]> {
    const { context, retry, ...rest } = opts;
    return this.call<T[]>(model, 'search_read', { domain, ...defined(rest) }, { context, retry });
  }

  search(model: string, domain: Domain, opts: Omit<SearchOptions, 'fields'> = {}): Promise<number[]> {
    const { context, retry, ...rest } = opts;
    return this.call<number[]>(model, 'search', { domain, ...defined(rest) }, { context, retry });
  }

  searchCount(model: string, domain: Domain, opts: CallOptions = {}): Promise<number> {
    return this.call<number>(model, 'search_count', { domain }, opts);
  }

  read<T = Record<string, any>>(model: string, ids: number[], fields?: string[], opts: CallOptions = {}): Promise<T[]> {
    return this.call<T[]>(model, 'read', { ids, ...(fields ? { fields } : {}) }, opts);
  }

  /** Creates one record per entry of `values`; the new ids, in order. */
  async create(model: string, values: Record<string, unknown> | Record<string, unknown>[], opts: CallOptions = {}): Promise<number[]> {
    const list = Array.isArray(values) ? values : [values];
    const result = await this.call<number | number[]>(model, 'create', { vals_list: list }, opts);
    return Array.isArray(result) ? result : [result];
  }

  write(model: string, ids: number[], values: Record<string, unknown>, opts: CallOptions = {}): Promise<boolean> {
    return this.call<boolean>(model, 'write', { ids, vals: values }, opts);
  }

  /**
   * `load(fields, data)` (contract.ts): one row per record, `.id` rows updating that record. Pass
   * LOAD_CONTEXT when a column is a datetime. Row problems come back as messages, not as errors.
   */
  load(model: string, fields: string[], data: string[][], opts: CallOptions = {}): Promise<LoadResult> {
    return this.call<LoadResult>(model, 'load', { fields, data }, opts);
  }

  unlink(model: string, ids: number[], opts: CallOptions = {}): Promise<boolean> {
    return this.call<boolean>(model, 'unlink', { ids }, opts);
  }

  /** Calls and operations in flight (waiting for the limiter, the network or a retry). */
  get inFlight(): number {
    return this.active.size;
  }

  /**
   * Stops the client: waits up to `graceMs` for requests in flight, then aborts the rest (they fail
   * as permanent "stopped" errors, without retries), except writes sent once, which run on to their
   * answer or timeout. Later calls fail the same way.
   */
  async close(graceMs = 5000): Promise<void> {
    if (this.active.size > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.active]), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    this.stop.abort(stoppedError('the Odoo connection was closed (node stopped)'));
    // Reads on the wire end at once (aborted); writes sent once when they are answered, their keys
    // locked (sharedLock) until then; calls waiting for a slot or the rate limit end unsent. Do not
    // hold a redeploy for them: their messages fail once the deploy has finished (afterDeploy).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.active]), new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))]);
    clearTimeout(timer);
  }
}

function stoppedError(message: string): ConnectorError {
  return new ConnectorError(SYSTEM, 'request', message, { kind: 'stopped', retryable: false });
}

function defined(obj: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
}
