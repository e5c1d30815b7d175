/**
 * A Xero Accounting API fake for manual journals (nodes/xero/contract.ts has the facts it shares
 * with the client), on 127.0.0.1, for tests, the demo and users' sandboxes. It speaks:
 *
 * - `POST /connect/token`, HTTP Basic client id and secret, `grant_type=refresh_token`: a new
 *   access token (30 minutes) and a new refresh token; the used refresh token stays valid for the
 *   grace period (30 minutes), then is refused with 400 `invalid_grant`, as is an unknown one.
 * - `/api.xro/2.0/…` needs `Authorization: Bearer` (401) and `xero-tenant-id` naming the
 *   organisation (403): `GET Organisation`, `GET Accounts` (the chart), `GET ManualJournals`
 *   (`where` with `Narration.EndsWith("…")`, `Narration.Contains("…")`, `Status=="…"` joined by
 *   `&&`; `page`, `pageSize`), `GET ManualJournals/{id}`, `PUT`/`POST ManualJournals` (create).
 * - A create is checked as Xero does: Narration required, at least two lines, each account known
 *   and neither a bank account nor a refused system account, amounts with at most 2 decimals, at
 *   most 2 tracking categories, debits = credits ("The total debits (…) must equal total credits
 *   (…)"), a POSTED journal not on or before the period lock date. A refusal is 400
 *   ValidationException with the element and its ValidationErrors.
 * - `Idempotency-Key` (≤ 128): the same key and body within the window answer the first answer
 *   again and create nothing; the same key with another body is refused.
 * - Limits per organisation (5 at once, 60 a minute, 5,000 a day) and per app (10,000 a minute),
 *   with X-MinLimit-Remaining, X-DayLimit-Remaining, X-AppMinLimit-Remaining on every answer and
 *   429 + Retry-After + X-Rate-Limit-Problem on a breach.
 * - Faults (simulators/kit/faults.ts, seeded, or scripted with `failNext`): an error (500/503, nothing
 *   done), a timeout (never answered, nothing done), a lost answer (done, connection dropped).
 *
 * Inspection: `GET /__simulator/state` and `/__simulator/journals`.
 * CLI: `npm run simulator -- xero [--port 18092] [--seed 7] [--base-currency GBP] [--lock-date 2026-06-30]`.
 */
import http from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { closeServer, listen } from '../kit/http-server';
import { Routes } from '../kit/routes';
import { FaultInjector, type Fault, type FaultRates } from '../kit/faults';
import { seededRandom } from '../kit/random';
import { COMMON_FLAGS, FAULT_FLAGS, helpText, parseFlags, runMain, runSimulatorCli, type Flags } from '../kit/cli';
import { parseDecimal, rescaleExact, formatDecimal } from '../../nodes/model/decimal';
import {
  ACCESS_TOKEN_SECONDS,
  AMOUNT_DECIMALS,
  BANK_ACCOUNT_TYPE,
  IDEMPOTENCY_HEADER,
  IDEMPOTENCY_KEY_MAX,
  LIMIT_HEADERS,
  MAX_TRACKING_PER_LINE,
  MIN_LINES,
  RATE_LIMITS,
  REFRESH_GRACE_SECONDS,
  REFUSED_SYSTEM_ACCOUNTS,
  TENANT_HEADER,
  VALIDATION_ERROR_NUMBER,
  VALIDATION_EXCEPTION,
  msDate,
  type RateLimitProblem,
} from '../../nodes/xero/contract';

const MINUTE = 60_000;
const DAY = 86_400_000;
const API = '/api.xro/2.0';

type Op = 'organisation' | 'accounts' | 'journals:list' | 'journals:get' | 'journals:create';
const ROUTES = new Routes<Op>()
  .add('GET', `${API}/Organisation`, 'organisation')
  .add('GET', `${API}/Accounts`, 'accounts')
  .add('GET', `${API}/ManualJournals`, 'journals:list')
  .add('GET', `${API}/ManualJournals/:id`, 'journals:get')
  .add('PUT', `${API}/ManualJournals`, 'journals:create')
  .add('POST', `${API}/ManualJournals`, 'journals:create');

export interface SimAccount {
  Code: string;
  Name: string;
  Type: string;
  SystemAccount?: string;
}

/** A small UK-style chart of accounts: sales, fees, a clearing account, bank and system accounts. */
export const DEFAULT_CHART: SimAccount[] = [
  { Code: '090', Name: 'Business Bank Account', Type: BANK_ACCOUNT_TYPE },
  { Code: '200', Name: 'Sales', Type: 'REVENUE' },
  { Code: '260', Name: 'Other Revenue', Type: 'REVENUE' },
  { Code: '310', Name: 'Cost of Goods Sold', Type: 'DIRECTCOSTS' },
  { Code: '404', Name: 'Bank Fees', Type: 'EXPENSE' },
  { Code: '480', Name: 'Marketplace Fees', Type: 'EXPENSE' },
  { Code: '610', Name: 'Accounts Receivable', Type: 'CURRENT', SystemAccount: 'DEBTORS' },
  { Code: '615', Name: 'Marketplace Clearing', Type: 'CURRENT' },
  { Code: '800', Name: 'Accounts Payable', Type: 'CURRLIAB', SystemAccount: 'CREDITORS' },
  { Code: '820', Name: 'VAT', Type: 'CURRLIAB', SystemAccount: 'GST' },
  { Code: '960', Name: 'Retained Earnings', Type: 'EQUITY', SystemAccount: 'RETAINEDEARNINGS' },
];
export const DEFAULT_TAX_TYPES = ['NONE', 'OUTPUT2', 'INPUT2', 'ZERORATEDOUTPUT', 'EXEMPTOUTPUT', 'RROUTPUT'];

export interface XeroSimulatorOptions {
  port?: number;
  host?: string;
  seed?: number;
  clientId?: string;
  clientSecret?: string;
  tenantId?: string;
  /** The refresh token the sandbox starts with (what an authorisation would have given). */
  refreshToken?: string;
  baseCurrency?: string;
  /** YYYY-MM-DD; POSTED journals dated on or before it are refused. */
  periodLockDate?: string;
  chart?: SimAccount[];
  taxTypes?: string[];
  limits?: Partial<Record<'concurrent' | 'perMinute' | 'perDay' | 'appPerMinute', number>>;
  /** Retry-After of a minute-limit 429 in seconds (default: until the window frees a call). */
  retryAfterSeconds?: number;
  idempotencyWindowMs?: number;
  accessTokenSeconds?: number;
  refreshGraceSeconds?: number;
  /**
   * Demo sandbox: any refresh token is accepted (and rotated). `npm start` starts its simulators
   * afresh each time while Node-RED's store keeps the token the last run rotated to; Xero refuses
   * a token it did not issue.
   */
  anyRefreshToken?: boolean;
  /** Each API answer waits this long (lets concurrency show); default 0. */
  latencyMs?: number;
  faults?: FaultRates;
  now?: () => number;
}

interface StoredJournal {
  json: Record<string, any>;
  created: number;
}

class XeroFault extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

export interface XeroSimStats {
  requests: number;
  creates: number;
  replays: number;
  throttled: Record<string, number>;
  faults: Record<Fault, number>;
  inFlight: number;
  maxInFlight: number;
  refreshes: number;
}

export class XeroSimulator {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly tenantId: string;
  readonly now: () => number;
  url = '';
  periodLockDate?: string;
  stats: XeroSimStats = XeroSimulator.emptyStats();
  private server?: http.Server;
  private readonly journals = new Map<string, StoredJournal>();
  private readonly accessTokens = new Map<string, number>();
  /** Refresh tokens: when each stops being accepted (undefined: until used). */
  private readonly refreshTokens = new Map<string, number | undefined>();
  private readonly idempotency = new Map<string, { hash: string; status: number; body: unknown; at: number }>();
  private readonly minuteLog: number[] = [];
  private readonly dayLog: number[] = [];
  private readonly appLog: number[] = [];
  private readonly injector: FaultInjector;
  private readonly scripted: Array<{ op?: Op; fault: Fault | 429 | 503 | 500 }> = [];
  private readonly random: () => number;
  private readonly limits: Required<NonNullable<XeroSimulatorOptions['limits']>>;
  private readonly hanging = new Set<http.ServerResponse>();

  constructor(private readonly opts: XeroSimulatorOptions = {}) {
    this.clientId = opts.clientId ?? 'tillwire-xero-client';
    this.clientSecret = opts.clientSecret ?? 'tillwire-xero-secret';
    this.tenantId = opts.tenantId ?? '8f3a2b9c-1d4e-4f60-9a7b-0c1d2e3f4a5b';
    this.now = opts.now ?? Date.now;
    this.periodLockDate = opts.periodLockDate;
    this.refreshTokens.set(opts.refreshToken ?? 'tillwire-xero-refresh-0', undefined);
    this.injector = new FaultInjector({ ...opts.faults, seed: opts.faults?.seed ?? opts.seed ?? 7 });
    this.random = seededRandom(opts.seed ?? 7);
    this.limits = {
      concurrent: opts.limits?.concurrent ?? RATE_LIMITS.concurrent,
      perMinute: opts.limits?.perMinute ?? RATE_LIMITS.perMinute,
      perDay: opts.limits?.perDay ?? RATE_LIMITS.perDay,
      appPerMinute: opts.limits?.appPerMinute ?? RATE_LIMITS.appPerMinute,
    };
  }

  private static emptyStats(): XeroSimStats {
    return {
      requests: 0,
      creates: 0,
      replays: 0,
      throttled: {},
      faults: { error: 0, timeout: 0, lost: 0, slow: 0 },
      inFlight: 0,
      maxInFlight: 0,
      refreshes: 0,
    };
  }

  get tokenUrl(): string {
    return `${this.url}/connect/token`;
  }

  get apiUrl(): string {
    return `${this.url}${API}`;
  }

  /** The refresh tokens currently accepted. */
  validRefreshTokens(): string[] {
    const now = this.now();
    return [...this.refreshTokens].filter(([, until]) => until === undefined || until > now).map(([t]) => t);
  }

  /** Every stored journal (copies). */
  allJournals(): Array<Record<string, any>> {
    return [...this.journals.values()].map((j) => structuredClone(j.json));
  }

  /** The next API request (of `op`, if given) meets `fault`: 'error', 'timeout', 'lost', or a status. */
  failNext(fault: Fault | 429 | 503 | 500, op?: Op): void {
    this.scripted.push({ op, fault });
  }

  expireAccessTokens(): void {
    for (const t of this.accessTokens.keys()) this.accessTokens.set(t, 0);
  }

  async start(): Promise<string> {
    const { server, url } = await listen((req, res) => void this.handle(req, res), this.opts.port, this.opts.host);
    this.server = server;
    this.url = url;
    return url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const res of this.hanging) res.destroy();
    await closeServer(server);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://sim');
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = body === undefined ? '' : JSON.stringify(body);
      res.writeHead(status, { ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}), ...headers });
      res.end(text);
    };
    if (url.pathname === '/connect/token' && req.method === 'POST') return this.token(req, raw, send);
    if (url.pathname.startsWith('/__simulator/')) return this.inspect(url.pathname, send);
    const route = ROUTES.match(req.method ?? 'GET', url.pathname);
    if (!route) return send(404, { Title: 'Not Found', Status: 404, Detail: `No resource ${req.method} ${url.pathname}` });
    this.stats.requests++;
    this.stats.inFlight++;
    this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.stats.inFlight);
    let held = false;
    try {
      await this.answer(route.value, route.params, url, raw, req, res, send, () => (held = true));
    } finally {
      if (!held) this.stats.inFlight--;
    }
  }

  private async answer(
    op: Op,
    params: string[],
    url: URL,
    raw: string,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    send: (s: number, b: unknown, h?: Record<string, string>) => void,
    hold: () => void,
  ): Promise<void> {
    const auth = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''));
    const expiry = auth ? this.accessTokens.get(auth[1]) : undefined;
    if (expiry === undefined || expiry <= this.now())
      return send(401, { Type: null, Title: 'Unauthorized', Status: 401, Detail: expiry === undefined ? 'AuthenticationUnsuccessful' : 'TokenExpired' });
    const tenant = req.headers[TENANT_HEADER];
    if (tenant !== this.tenantId) return send(403, { Type: null, Title: 'Forbidden', Status: 403, Detail: 'AuthorizationUnsuccessful' });
    const limited = this.rateLimit();
    if (limited) return send(429, limited.body, limited.headers);
    const headers = this.remainingHeaders();
    if (this.opts.latencyMs) await new Promise((r) => setTimeout(r, this.opts.latencyMs));
    const scriptedAt = this.scripted.findIndex((s) => !s.op || s.op === op);
    const scripted = scriptedAt >= 0 ? this.scripted.splice(scriptedAt, 1)[0].fault : undefined;
    const fault = scripted ?? this.injector.draw();
    if (fault === 429) {
      this.stats.throttled.minute = (this.stats.throttled.minute ?? 0) + 1;
      return send(
        429,
        { Title: 'Too Many Requests' },
        { ...headers, 'retry-after': String(this.opts.retryAfterSeconds ?? 1), [LIMIT_HEADERS.problem]: 'minute' },
      );
    }
    if (fault === 'error' || fault === 500 || fault === 503) {
      this.stats.faults.error++;
      const status = typeof fault === 'number' ? fault : this.injector.pick([500, 503]);
      return send(status, { Title: 'An error occurred', Status: status, Detail: 'Simulated server error, nothing was done' }, headers);
    }
    if (fault === 'timeout') {
      this.stats.faults.timeout++;
      hold();
      this.hanging.add(res);
      res.on('close', () => {
        this.hanging.delete(res);
        this.stats.inFlight--;
      });
      return;
    }
    let status = 200;
    let body: unknown;
    try {
      ({ status, body } = this.dispatch(op, params, url, raw, req));
    } catch (err) {
      if (!(err instanceof XeroFault)) throw err;
      ({ status, body } = err);
    }
    if (fault === 'lost') {
      this.stats.faults.lost++;
      res.destroy();
      return;
    }
    send(status, body, headers);
  }

  private rateLimit(): { body: unknown; headers: Record<string, string> } | undefined {
    const now = this.now();
    const count = (log: number[], windowMs: number) => {
      while (log.length && now - log[0] >= windowMs) log.shift();
      return log.length;
    };
    let problem: RateLimitProblem | undefined;
    let retryAfter = 1;
    if (this.stats.inFlight > this.limits.concurrent) problem = 'concurrent';
    else if (count(this.dayLog, DAY) >= this.limits.perDay) {
      problem = 'day';
      retryAfter = Math.ceil((this.dayLog[0] + DAY - now) / 1000);
    } else if (count(this.minuteLog, MINUTE) >= this.limits.perMinute) {
      problem = 'minute';
      retryAfter = this.opts.retryAfterSeconds ?? Math.max(1, Math.ceil((this.minuteLog[0] + MINUTE - now) / 1000));
    } else if (count(this.appLog, MINUTE) >= this.limits.appPerMinute) {
      problem = 'appminute';
      retryAfter = Math.max(1, Math.ceil((this.appLog[0] + MINUTE - now) / 1000));
    }
    if (problem) {
      this.stats.throttled[problem] = (this.stats.throttled[problem] ?? 0) + 1;
      return {
        body: { Title: 'Too Many Requests', Status: 429 },
        headers: { ...this.remainingHeaders(), 'retry-after': String(retryAfter), [LIMIT_HEADERS.problem]: problem },
      };
    }
    this.minuteLog.push(now);
    this.dayLog.push(now);
    this.appLog.push(now);
    return undefined;
  }

  private remainingHeaders(): Record<string, string> {
    return {
      [LIMIT_HEADERS.minuteRemaining]: String(Math.max(0, this.limits.perMinute - this.minuteLog.length)),
      [LIMIT_HEADERS.dayRemaining]: String(Math.max(0, this.limits.perDay - this.dayLog.length)),
      [LIMIT_HEADERS.appMinuteRemaining]: String(Math.max(0, this.limits.appPerMinute - this.appLog.length)),
    };
  }

  private token(req: http.IncomingMessage, raw: string, send: (s: number, b: unknown) => void): void {
    const basic = /^Basic (.+)$/.exec(String(req.headers.authorization ?? ''));
    const [id, secret] = basic ? Buffer.from(basic[1], 'base64').toString('utf8').split(':') : [];
    if (id !== this.clientId || secret !== this.clientSecret) return send(400, { error: 'invalid_client' });
    const form = new URLSearchParams(raw);
    if (form.get('grant_type') !== 'refresh_token') return send(400, { error: 'unsupported_grant_type' });
    const presented = form.get('refresh_token') ?? '';
    const now = this.now();
    const until = this.refreshTokens.get(presented);
    const known = this.refreshTokens.has(presented) && (until === undefined || until > now);
    if (!known && !(this.opts.anyRefreshToken && presented)) return send(400, { error: 'invalid_grant' });
    // Rotation: the presented token stays usable for the grace period only.
    if (until === undefined) this.refreshTokens.set(presented, now + (this.opts.refreshGraceSeconds ?? REFRESH_GRACE_SECONDS) * 1000);
    const refresh = `rt-${randomUUID()}`;
    this.refreshTokens.set(refresh, undefined);
    const lifetime = this.opts.accessTokenSeconds ?? ACCESS_TOKEN_SECONDS;
    const access = `at-${randomUUID()}`;
    this.accessTokens.set(access, now + lifetime * 1000);
    this.stats.refreshes++;
    send(200, { access_token: access, expires_in: lifetime, token_type: 'Bearer', refresh_token: refresh, scope: 'accounting.transactions offline_access' });
  }

  private inspect(path: string, send: (s: number, b: unknown) => void): void {
    if (path === '/__simulator/state') return send(200, { journals: this.journals.size, stats: this.stats, periodLockDate: this.periodLockDate });
    if (path === '/__simulator/journals') return send(200, this.allJournals());
    send(404, { error: 'unknown inspection path' });
  }

  private envelope(extra: Record<string, unknown>): Record<string, unknown> {
    return { Id: randomUUID(), Status: 'OK', ProviderName: 'Tillwire simulator', DateTimeUTC: `/Date(${this.now()})/`, ...extra };
  }

  private dispatch(op: Op, params: string[], url: URL, raw: string, req: http.IncomingMessage): { status: number; body: unknown } {
    switch (op) {
      case 'organisation':
        return {
          status: 200,
          body: this.envelope({
            Organisations: [
              {
                Name: 'Tillwire Demo Retail Ltd',
                BaseCurrency: this.opts.baseCurrency ?? 'GBP',
                CountryCode: 'GB',
                ...(this.periodLockDate ? { PeriodLockDate: msDate(Date.parse(`${this.periodLockDate}T00:00:00Z`)) } : {}),
              },
            ],
          }),
        };
      case 'accounts':
        return { status: 200, body: this.envelope({ Accounts: (this.opts.chart ?? DEFAULT_CHART).map((a) => ({ ...a, Status: 'ACTIVE' })) }) };
      case 'journals:get': {
        const j = this.journals.get(params[0]);
        if (!j) throw new XeroFault(404, { Title: 'Not Found', Status: 404, Detail: `ManualJournal ${params[0]} not found` });
        return { status: 200, body: this.envelope({ ManualJournals: [j.json] }) };
      }
      case 'journals:list':
        return { status: 200, body: this.list(url.searchParams) };
      case 'journals:create':
        return this.createWithKey(raw, req);
    }
  }

  private list(q: URLSearchParams): unknown {
    const where = q.get('where') ?? '';
    const tests: Array<(j: Record<string, any>) => boolean> = [];
    for (const part of where
      .split('&&')
      .map((s) => s.trim())
      .filter(Boolean)) {
      let m: RegExpExecArray | null;
      if ((m = /^Narration\.(EndsWith|Contains|StartsWith)\("((?:[^"\\]|\\.)*)"\)$/.exec(part))) {
        const [, fn, value] = m;
        tests.push((j) =>
          fn === 'EndsWith' ? j.Narration.endsWith(value) : fn === 'StartsWith' ? j.Narration.startsWith(value) : j.Narration.includes(value),
        );
      } else if ((m = /^Status\s*==\s*"([A-Z]+)"$/.exec(part))) {
        const value = m[1];
        tests.push((j) => j.Status === value);
      } else throw new XeroFault(400, { ErrorNumber: 16, Type: 'QueryParseException', Message: `No property or field '${part.slice(0, 40)}' exists` });
    }
    const all = [...this.journals.values()].sort((a, b) => a.created - b.created).map((j) => j.json);
    const matching = all.filter((j) => tests.every((t) => t(j)));
    const pageSize = Math.min(1000, Math.max(1, Number(q.get('pageSize') ?? 100) || 100));
    const page = Math.max(1, Number(q.get('page') ?? 1) || 1);
    const items = matching.slice((page - 1) * pageSize, page * pageSize);
    return this.envelope({
      pagination: { page, pageSize, pageCount: Math.ceil(matching.length / pageSize), itemCount: matching.length },
      ManualJournals: items,
    });
  }

  private createWithKey(raw: string, req: http.IncomingMessage): { status: number; body: unknown } {
    const key = req.headers[IDEMPOTENCY_HEADER.toLowerCase()];
    if (typeof key !== 'string') return this.create(raw);
    if (key.length > IDEMPOTENCY_KEY_MAX) throw this.refusal(`The ${IDEMPOTENCY_HEADER} must be at most ${IDEMPOTENCY_KEY_MAX} characters`);
    const hash = createHash('sha256').update(`${req.method} ${raw}`).digest('hex');
    const now = this.now();
    const windowMs = this.opts.idempotencyWindowMs ?? 6 * MINUTE;
    const seen = this.idempotency.get(key);
    if (seen && now - seen.at < windowMs) {
      if (seen.hash !== hash) throw this.refusal(`The ${IDEMPOTENCY_HEADER} ${key} is used with a different request`);
      this.stats.replays++;
      return { status: seen.status, body: seen.body };
    }
    let answer: { status: number; body: unknown };
    try {
      answer = this.create(raw);
    } catch (err) {
      if (!(err instanceof XeroFault)) throw err;
      answer = { status: err.status, body: err.body };
    }
    this.idempotency.set(key, { hash, ...answer, at: now });
    return answer;
  }

  private refusal(message: string, element: unknown = {}): XeroFault {
    return new XeroFault(400, {
      ErrorNumber: VALIDATION_ERROR_NUMBER,
      Type: VALIDATION_EXCEPTION,
      Message: 'A validation exception occurred',
      Elements: [{ ...(element as object), ValidationErrors: [{ Message: message }] }],
    });
  }

  private create(raw: string): { status: number; body: unknown } {
    let body: any;
    try {
      body = JSON.parse(raw);
    } catch {
      throw new XeroFault(400, { ErrorNumber: 14, Type: 'PostDataInvalidException', Message: 'JSON for post data was invalid' });
    }
    const input: any[] = Array.isArray(body?.ManualJournals) ? body.ManualJournals : [];
    if (!input.length) throw this.refusal('A ManualJournals element is required');
    const created: Array<Record<string, any>> = [];
    const refused: Array<{ element: any; errors: string[] }> = [];
    for (const mj of input) {
      const errors = this.check(mj);
      if (errors.length) refused.push({ element: mj, errors });
      else created.push(mj);
    }
    if (refused.length) {
      throw new XeroFault(400, {
        ErrorNumber: VALIDATION_ERROR_NUMBER,
        Type: VALIDATION_EXCEPTION,
        Message: 'A validation exception occurred',
        Elements: refused.map((r) => ({ ...r.element, ValidationErrors: r.errors.map((Message) => ({ Message })) })),
      });
    }
    const stored = created.map((mj) => {
      const id = this.uuid();
      const now = this.now();
      const json = {
        ManualJournalID: id,
        Narration: mj.Narration,
        Date: msDate(Date.parse(`${mj.Date}T00:00:00Z`)),
        Status: mj.Status ?? 'DRAFT',
        LineAmountTypes: mj.LineAmountTypes ?? 'NoTax',
        UpdatedDateUTC: msDate(now),
        ShowOnCashBasisReports: mj.ShowOnCashBasisReports ?? true,
        HasAttachments: false,
        JournalLines: (mj.JournalLines as any[]).map((l) => ({
          LineAmount: l.LineAmount,
          AccountCode: l.AccountCode,
          ...(l.Description ? { Description: l.Description } : {}),
          TaxType: l.TaxType ?? 'NONE',
          Tracking: (l.Tracking ?? []).map((t: any) => ({ Name: t.Name, Option: t.Option })),
          IsBlank: false,
        })),
      };
      this.journals.set(id, { json, created: now });
      this.stats.creates++;
      return json;
    });
    return { status: 200, body: this.envelope({ ManualJournals: stored }) };
  }

  /** Xero's checks of one manual journal: the messages of each rule it breaks. */
  private check(mj: any): string[] {
    const errors: string[] = [];
    if (typeof mj?.Narration !== 'string' || !mj.Narration.trim()) errors.push('Narration is a required field');
    if (typeof mj?.Date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(mj.Date) || Number.isNaN(Date.parse(mj.Date))) errors.push('A valid Date is required');
    if (mj?.Status !== undefined && !['DRAFT', 'POSTED'].includes(mj.Status)) errors.push(`Status ${String(mj.Status)} cannot be set on a new manual journal`);
    const lines: any[] = Array.isArray(mj?.JournalLines) ? mj.JournalLines : [];
    if (lines.length < MIN_LINES) errors.push(`A manual journal must have at least ${MIN_LINES} journal lines`);
    const chart = new Map((this.opts.chart ?? DEFAULT_CHART).map((a) => [a.Code, a]));
    const taxTypes = new Set(this.opts.taxTypes ?? DEFAULT_TAX_TYPES);
    let debits = 0n;
    let credits = 0n;
    for (const l of lines) {
      const account = chart.get(String(l?.AccountCode ?? ''));
      if (!account) errors.push(`Account code '${String(l?.AccountCode ?? '')}' is not a valid code for this document.`);
      else if (account.Type === BANK_ACCOUNT_TYPE)
        errors.push(`Bank account '${account.Code}' cannot be used in a manual journal. Use a bank transaction or a clearing account instead.`);
      else if (account.SystemAccount && (REFUSED_SYSTEM_ACCOUNTS as readonly string[]).includes(account.SystemAccount))
        errors.push(`Account '${account.Code}' is a system account and cannot be used in a manual journal.`);
      if (l?.TaxType !== undefined && !taxTypes.has(l.TaxType))
        errors.push(`The TaxType code '${String(l.TaxType)}' does not exist or cannot be used for this type of transaction.`);
      const tracking = Array.isArray(l?.Tracking) ? l.Tracking : [];
      if (tracking.length > MAX_TRACKING_PER_LINE) errors.push(`A journal line can have at most ${MAX_TRACKING_PER_LINE} tracking categories`);
      if (typeof l?.LineAmount !== 'number') {
        errors.push('LineAmount must be a number');
        continue;
      }
      const cents = rescaleExact(parseDecimal(l.LineAmount), AMOUNT_DECIMALS);
      if (!cents) {
        errors.push(`LineAmount ${String(l.LineAmount)} has more than ${AMOUNT_DECIMALS} decimal places`);
        continue;
      }
      if (cents.units > 0n) debits += cents.units;
      else credits += cents.units;
    }
    if (debits + credits !== 0n) {
      const text = (units: bigint) => formatDecimal({ units, scale: AMOUNT_DECIMALS });
      errors.push(`The total debits (${text(debits)}) must equal total credits (${text(credits)})`);
    }
    if (this.periodLockDate && mj?.Status === 'POSTED' && typeof mj?.Date === 'string' && mj.Date <= this.periodLockDate) {
      errors.push(`The document date cannot be before the period lock date, currently set at ${lockText(this.periodLockDate)}`);
    }
    return errors;
  }

  private uuid(): string {
    const hex = Array.from({ length: 32 }, () => Math.floor(this.random() * 16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
  }
}

/** 2026-11-30 → 30-Nov-2026, as Xero writes lock dates in its refusals. */
function lockText(iso: string): string {
  const d = new Date(`${iso}T00:00:00Z`);
  const month = d.toLocaleString('en-GB', { month: 'short', timeZone: 'UTC' }).slice(0, 3);
  return `${String(d.getUTCDate()).padStart(2, '0')}-${month}-${d.getUTCFullYear()}`;
}

const CLI_FLAGS = {
  ...COMMON_FLAGS,
  ...FAULT_FLAGS,
  'base-currency': { value: '<code>', help: 'the organisation base currency (default GBP)' },
  'lock-date': { value: '<yyyy-mm-dd>', help: 'period lock date: POSTED journals on or before it are refused' },
  'refresh-token': { value: '<text>', help: 'the refresh token the sandbox accepts first (default tillwire-xero-refresh-0)' },
  'per-minute': { kind: 'number', value: '<n>', help: 'calls a minute per organisation (default 60)' },
} as const satisfies Flags;

export function parseCliArgs(argv: string[]): XeroSimulatorOptions | 'help' {
  const v = parseFlags(argv, CLI_FLAGS);
  if (v === 'help') return v;
  const faults: FaultRates = {};
  if (v['error-rate'] !== undefined) faults.errorRate = v['error-rate'];
  if (v['timeout-rate'] !== undefined) faults.timeoutRate = v['timeout-rate'];
  if (v['lost-response-rate'] !== undefined) faults.lostResponseRate = v['lost-response-rate'];
  if (v['lock-date'] !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(v['lock-date'])) throw new Error('--lock-date needs a date as yyyy-mm-dd');
  return {
    port: v.port ?? 18092,
    ...(v.host ? { host: v.host } : {}),
    seed: v.seed ?? 7,
    baseCurrency: v['base-currency']?.toUpperCase() ?? 'GBP',
    periodLockDate: v['lock-date'],
    refreshToken: v['refresh-token'],
    ...(v['per-minute'] ? { limits: { perMinute: v['per-minute'] } } : {}),
    faults,
  };
}

export function main(argv: string[]): Promise<void> {
  return runSimulatorCli(argv, {
    help: helpText('Xero Accounting API (manual journals) simulator (Tillwire)', 'node dist/simulators/xero/simulator.js', CLI_FLAGS),
    parse: parseCliArgs,
    start: async (options) => {
      const sim = new XeroSimulator(options);
      const url = await sim.start();
      return {
        lines: [
          `Xero Accounting API simulator listening on ${url} (API ${sim.apiUrl}, token endpoint ${sim.tokenUrl})`,
          `client id ${sim.clientId}, client secret ${sim.clientSecret}, tenant id ${sim.tenantId}, refresh token ${sim.validRefreshTokens()[0]}`,
        ],
        stop: () => sim.stop(),
      };
    },
  });
}

if (require.main === module) runMain(() => main(process.argv.slice(2)));
