/**
 * A QuickBooks Online Accounting API fake (docs/connectors/quickbooks.md) on 127.0.0.1, for tests,
 * the demo and users trying a flow before they connect a real company. It speaks:
 *
 * - `POST /oauth2/v1/tokens/bearer` (HTTP Basic client id:secret, form `grant_type=refresh_token`,
 *   `refresh_token`) → `{ access_token, refresh_token, token_type: "bearer", expires_in: 3600,
 *   x_refresh_token_expires_in }`. Every refresh rotates the refresh token: the one just used is
 *   retired (400 `invalid_grant` if used again).
 * - Every `/v3/company/{realmId}/…` call needs `Authorization: Bearer <token>` (401 Fault 3200 when
 *   missing, unknown or expired) and the simulated realm; `minorversion` is accepted and recorded.
 * - `POST …/journalentry[?requestid=]`: validated as QuickBooks does it, refusals as Fault
 *   envelopes: DetailType / PostingType / AccountRef missing or wrong (2020, 2170), an account not
 *   in the chart (2500) or inactive (610), amounts negative or with more decimals than the
 *   currency (6000), a currency the company does not use or a foreign one without ExchangeRate
 *   (6000), debits ≠ credits (6000, element Line), DocNumber over 21 characters (6000), a TxnDate
 *   on or before the closing date (5010 "Account Period Closed"). A `requestid` seen before answers the stored response
 *   and does nothing; one still being processed waits for it.
 * - `GET …/journalentry/{id}`; `GET …/query?query=select * from JournalEntry|Account [where F =
 *   'v' [and …]] [startposition n] [maxresults n]` (else 400 Fault 4000).
 * - Throttling per realm: more than `concurrent` requests at once, `perSecond` in a second or
 *   `perMinute` in a minute answer 429 with Fault 003001 (and `Retry-After` when configured; Intuit
 *   sends none).
 * - Faults (kit/faults.ts), seeded: an error (500/502/503 SystemFault, nothing done), a timeout
 *   (no answer, nothing done), a lost answer (done, connection dropped); by rate, or queued one by
 *   one for an operation (`queueFault`).
 *
 * Inspection: `GET /__simulator/state` and `/__simulator/journalentries`. CLI: `npm run simulator -- quickbooks [--port 18445] …`.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { closeServer, listen } from '../kit/http-server';
import { Routes } from '../kit/routes';
import { Fault, FaultInjector, FaultRates } from '../kit/faults';
import { COMMON_FLAGS, FAULT_FLAGS, helpText, parseFlags, runMain, runSimulatorCli, type Flags } from '../kit/cli';
import { fromMinor, toMinor } from '../../nodes/model/money';
import { isKnownCurrency } from '../../nodes/model/currencies';
import { ACCESS_TOKEN_LIFETIME_SECONDS, DOC_NUMBER_MAX, FAULT_CODES, LIMITS, LINE_DETAIL_TYPE, REQUEST_ID_MAX } from '../../nodes/quickbooks/contract';

export const TOKEN_PATH = '/oauth2/v1/tokens/bearer';

type Operation = 'journalentry.create' | 'journalentry.read' | 'query';

const ROUTES = new Routes<Operation>()
  .add('POST', '/v3/company/:realmId/journalentry', 'journalentry.create')
  .add('GET', '/v3/company/:realmId/journalentry/:id', 'journalentry.read')
  .add('GET', '/v3/company/:realmId/query', 'query');

export interface SimAccount {
  Id: string;
  Name: string;
  AcctNum: string;
  AccountType: string;
  Active: boolean;
}

/** The default chart of accounts: codes as Tillwire's settlement journals use them. */
export const DEFAULT_ACCOUNTS: SimAccount[] = [
  { Id: '35', Name: 'Checking', AcctNum: '1000', AccountType: 'Bank', Active: true },
  { Id: '36', Name: 'Marketplace clearing', AcctNum: '1200', AccountType: 'Other Current Asset', Active: true },
  { Id: '37', Name: 'Reserve held by marketplace', AcctNum: '1210', AccountType: 'Other Current Asset', Active: true },
  { Id: '40', Name: 'Sales', AcctNum: '4000', AccountType: 'Income', Active: true },
  { Id: '41', Name: 'Refunds', AcctNum: '4100', AccountType: 'Income', Active: true },
  { Id: '60', Name: 'Marketplace fees', AcctNum: '6000', AccountType: 'Expense', Active: true },
  { Id: '61', Name: 'Shipping', AcctNum: '6100', AccountType: 'Expense', Active: true },
  { Id: '69', Name: 'Old fees (inactive)', AcctNum: '6900', AccountType: 'Expense', Active: false },
];

export interface QboSimulatorOptions {
  port?: number;
  host?: string;
  seed?: number;
  realmId?: string;
  clientId?: string;
  clientSecret?: string;
  /** The refresh token the simulator starts with (the one a user pastes into the config node). */
  refreshToken?: string;
  /**
   * Demo sandbox: any refresh token is accepted (and rotated), so several config nodes and a
   * restarted `npm start` (whose store keeps the token the last run rotated to) all connect;
   * Intuit refuses a token it did not issue or already replaced.
   */
  anyRefreshToken?: boolean;
  homeCurrency?: string;
  /** Currencies the company uses (multicurrency); the home currency is always one. */
  currencies?: string[];
  accounts?: SimAccount[];
  /** Books closed up to and including this date (YYYY-MM-DD). */
  closingDate?: string;
  limits?: Partial<{ perMinute: number; perSecond: number; concurrent: number }>;
  /** Lengths of the throttling windows (default 1 s and 60 s), shortened by tests. */
  secondMs?: number;
  minuteMs?: number;
  throttling?: boolean;
  /** Seconds sent as Retry-After with a 429 (none by default, as at Intuit). */
  retryAfterSeconds?: number;
  /** Time every API request takes, so concurrency can be observed. */
  latencyMs?: number;
  /** How long a timed-out request is held before its connection is dropped. */
  hangMs?: number;
  faults?: FaultRates;
  /** Operations the fault rates apply to (default all). */
  faultOperations?: Operation[];
  tokenLifetimeSeconds?: number;
  now?: () => number;
}

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

class FaultAnswer extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly faultMessage: string,
    readonly detail: string,
    readonly element = '',
    readonly type = 'ValidationFault',
  ) {
    super(detail);
  }
}

export interface SimStats {
  requests: number;
  created: number;
  replayed: number;
  faults: number;
  throttledConcurrent: number;
  throttledRate: number;
  lost: number;
  errors: number;
  timeouts: number;
  tokenRefreshes: number;
  /** The most API requests of one realm in progress at once, as they arrived. */
  peakConcurrent: number;
  minorVersions: Record<string, number>;
}

const emptyStats = (): SimStats => ({
  requests: 0,
  created: 0,
  replayed: 0,
  faults: 0,
  throttledConcurrent: 0,
  throttledRate: 0,
  lost: 0,
  errors: 0,
  timeouts: 0,
  tokenRefreshes: 0,
  peakConcurrent: 0,
  minorVersions: {},
});

export class QboSimulator {
  readonly realmId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly homeCurrency: string;
  url = '';
  stats: SimStats = emptyStats();
  closingDate?: string;
  private server?: http.Server;
  private readonly now: () => number;
  private readonly entries = new Map<string, Record<string, any>>();
  private readonly accounts: SimAccount[];
  private readonly currencies: Set<string>;
  private readonly accessTokens = new Map<string, number>();
  private refreshToken: string;
  private readonly retiredRefreshTokens = new Set<string>();
  private readonly requestIds = new Map<string, Promise<Answer>>();
  private readonly faults: FaultInjector;
  private readonly queued = new Map<Operation, Fault[]>();
  private inFlight = 0;
  private arrivals: number[] = [];
  private seq = 100;

  constructor(private readonly opts: QboSimulatorOptions = {}) {
    this.realmId = opts.realmId ?? '9130355377000001';
    this.clientId = opts.clientId ?? 'tillwire-qbo-client';
    this.clientSecret = opts.clientSecret ?? 'tillwire-qbo-secret';
    this.refreshToken = opts.refreshToken ?? 'AB11-initial-refresh-token';
    this.homeCurrency = opts.homeCurrency ?? 'USD';
    this.currencies = new Set([this.homeCurrency, ...(opts.currencies ?? ['EUR', 'GBP', 'JPY', 'KWD'])]);
    this.accounts = (opts.accounts ?? DEFAULT_ACCOUNTS).map((a) => ({ ...a }));
    this.closingDate = opts.closingDate;
    this.now = opts.now ?? Date.now;
    this.faults = new FaultInjector({ ...opts.faults, seed: opts.faults?.seed ?? opts.seed ?? 1 });
  }

  // ── views and controls ──

  /** Every journal entry, in creation order (copies). */
  journalEntries(): Record<string, any>[] {
    return [...this.entries.values()].map((e) => structuredClone(e));
  }

  /** The refresh token valid now (rotated by each refresh). */
  get currentRefreshToken(): string {
    return this.refreshToken;
  }

  /** Makes every access token expire (the next call answers 401). */
  expireAccessTokens(): void {
    for (const t of this.accessTokens.keys()) this.accessTokens.set(t, 0);
  }

  /** The next `count` requests of `operation` meet `fault`. */
  queueFault(operation: Operation, fault: Fault, count = 1): void {
    const list = this.queued.get(operation) ?? [];
    for (let i = 0; i < count; i++) list.push(fault);
    this.queued.set(operation, list);
  }

  setFaults(rates: FaultRates): void {
    this.faults.set(rates, this.opts.seed ?? 1);
  }

  resetStats(): void {
    this.stats = emptyStats();
  }

  // ── HTTP ──

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
    await closeServer(server);
  }

  get tokenUrl(): string {
    return `${this.url}${TOKEN_PATH}`;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://sim');
    const send = (a: Answer) => {
      if (res.destroyed) return;
      const text = a.body === undefined ? '' : JSON.stringify(a.body);
      res.writeHead(a.status, { ...(text ? { 'content-type': 'application/json' } : {}), ...a.headers });
      res.end(text);
    };
    if (url.pathname === TOKEN_PATH && req.method === 'POST') return send(this.token(req, raw));
    if (url.pathname === '/__simulator/state')
      return send({ status: 200, body: { entries: this.entries.size, stats: this.stats, refreshToken: this.refreshToken } });
    if (url.pathname === '/__simulator/journalentries') return send({ status: 200, body: this.journalEntries() });

    const route = ROUTES.match(req.method ?? 'GET', url.pathname);
    if (!route) return send(this.fault(new FaultAnswer(404, '404', 'Not Found', `No endpoint ${req.method} ${url.pathname}`, '', 'SystemFault')));
    const operation = route.value;
    this.stats.requests++;
    const mv = url.searchParams.get('minorversion') ?? '(none)';
    this.stats.minorVersions[mv] = (this.stats.minorVersions[mv] ?? 0) + 1;
    this.inFlight++;
    this.stats.peakConcurrent = Math.max(this.stats.peakConcurrent, this.inFlight);
    try {
      const throttled = this.throttle();
      if (throttled) return send(throttled);
      const refused = this.authenticate(req, route.params[0]);
      if (refused) return send(refused);
      if (this.opts.latencyMs) await sleep(this.opts.latencyMs);
      const fault = this.drawFault(operation);
      if (fault === 'error') {
        this.stats.errors++;
        const status = this.faults.pick([500, 502, 503]);
        return send(
          this.fault(
            new FaultAnswer(
              status,
              '10000',
              'An application error has occurred while processing your request',
              'System Failure Error: simulated',
              '',
              'SystemFault',
            ),
          ),
        );
      }
      if (fault === 'timeout') {
        this.stats.timeouts++;
        // Held until the client gives up (closes) or hangMs passes.
        await Promise.race([sleep(this.opts.hangMs ?? 60_000), new Promise((resolve) => res.once('close', resolve))]);
        res.destroy();
        return;
      }
      const answer = await this.dispatch(operation, route.params, url.searchParams, raw);
      if (fault === 'lost') {
        this.stats.lost++;
        res.destroy();
        return;
      }
      send(answer);
    } finally {
      this.inFlight--;
    }
  }

  private drawFault(operation: Operation): Fault | undefined {
    const queue = this.queued.get(operation);
    if (queue?.length) return queue.shift();
    const eligible = !this.opts.faultOperations || this.opts.faultOperations.includes(operation);
    return this.faults.draw(eligible);
  }

  /** 429 when the realm has too many requests in progress, or too many in the last second or minute. */
  private throttle(): Answer | undefined {
    if (this.opts.throttling === false) return undefined;
    const limits = { ...LIMITS, ...this.opts.limits };
    const now = performance.now();
    const secondMs = this.opts.secondMs ?? 1000;
    const minuteMs = this.opts.minuteMs ?? 60_000;
    let why: string | undefined;
    if (this.inFlight > limits.concurrent) {
      this.stats.throttledConcurrent++;
      why = `more than ${limits.concurrent} concurrent requests`;
    } else {
      this.arrivals = this.arrivals.filter((t) => t > now - Math.max(secondMs, minuteMs));
      const inSecond = this.arrivals.filter((t) => t > now - secondMs).length;
      if (inSecond >= limits.perSecond || this.arrivals.length >= limits.perMinute) {
        this.stats.throttledRate++;
        why = inSecond >= limits.perSecond ? `more than ${limits.perSecond} requests a second` : `more than ${limits.perMinute} requests a minute`;
      } else this.arrivals.push(now);
    }
    if (!why) return undefined;
    const answer = this.fault(
      new FaultAnswer(
        429,
        FAULT_CODES.throttleExceeded,
        'message=ThrottleExceeded; errorCode=003001; statusCode=429',
        `Too many requests: ${why}`,
        '',
        'SystemFault',
      ),
    );
    if (this.opts.retryAfterSeconds !== undefined) answer.headers = { 'retry-after': String(this.opts.retryAfterSeconds) };
    return answer;
  }

  private authenticate(req: http.IncomingMessage, realmId: string): Answer | undefined {
    const bearer = /^Bearer (.+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
    const expiresAt = bearer ? this.accessTokens.get(bearer) : undefined;
    if (expiresAt === undefined || expiresAt <= this.now()) {
      return this.fault(
        new FaultAnswer(
          401,
          FAULT_CODES.authenticationFailed,
          'message=AuthenticationFailed; errorCode=003200; statusCode=401',
          expiresAt === undefined ? 'Token missing or unknown' : 'Token expired',
          '',
          'AUTHENTICATION',
        ),
      );
    }
    if (realmId !== this.realmId) {
      return this.fault(
        new FaultAnswer(
          403,
          '003100',
          'message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403',
          `Unknown realm ${realmId}`,
          '',
          'AuthorizationFault',
        ),
      );
    }
    return undefined;
  }

  private fault(f: FaultAnswer): Answer {
    this.stats.faults++;
    return {
      status: f.status,
      body: {
        Fault: { Error: [{ Message: f.faultMessage, Detail: f.detail, code: f.code, element: f.element }], type: f.type },
        time: new Date(this.now()).toISOString(),
      },
    };
  }

  private token(req: http.IncomingMessage, raw: string): Answer {
    const form = new URLSearchParams(raw);
    const basic = /^Basic (.+)$/.exec(String(req.headers.authorization ?? ''));
    const [id, secret] = basic ? Buffer.from(basic[1], 'base64').toString('utf8').split(':') : [];
    if (id !== this.clientId || secret !== this.clientSecret) return { status: 401, body: { error: 'invalid_client' } };
    if (form.get('grant_type') !== 'refresh_token') return { status: 400, body: { error: 'unsupported_grant_type' } };
    const presented = form.get('refresh_token') ?? '';
    if (presented !== this.refreshToken && !(this.opts.anyRefreshToken && presented)) {
      const why = this.retiredRefreshTokens.has(presented) ? 'Refresh token was already used and has been replaced' : 'Token invalid';
      return { status: 400, body: { error: 'invalid_grant', error_description: why } };
    }
    this.retiredRefreshTokens.add(presented);
    this.refreshToken = `AB11-${randomUUID()}`;
    const access = `eyJ.${randomUUID()}`;
    const lifetime = this.opts.tokenLifetimeSeconds ?? ACCESS_TOKEN_LIFETIME_SECONDS;
    this.accessTokens.set(access, this.now() + lifetime * 1000);
    this.stats.tokenRefreshes++;
    return {
      status: 200,
      body: { access_token: access, refresh_token: this.refreshToken, token_type: 'bearer', expires_in: lifetime, x_refresh_token_expires_in: 8_726_400 },
    };
  }

  private async dispatch(operation: Operation, params: string[], q: URLSearchParams, raw: string): Promise<Answer> {
    try {
      if (operation === 'journalentry.create') {
        const requestId = q.get('requestid');
        if (requestId !== null && (requestId === '' || requestId.length > REQUEST_ID_MAX)) {
          throw new FaultAnswer(
            400,
            '2050',
            'String length is either shorter or longer than supported by specification',
            `requestid: Min:1 Max:${REQUEST_ID_MAX}`,
            'requestid',
          );
        }
        if (requestId === null) return this.create(raw);
        const earlier = this.requestIds.get(requestId);
        if (earlier) {
          this.stats.replayed++;
          return await earlier;
        }
        const work = Promise.resolve().then(() => this.answerOf(() => this.create(raw)));
        this.requestIds.set(requestId, work);
        return await work;
      }
      if (operation === 'journalentry.read') {
        const entry = this.entries.get(params[1]);
        if (!entry)
          throw new FaultAnswer(400, FAULT_CODES.objectNotFound, 'Object Not Found', `Object Not Found: JournalEntry ${params[1]} does not exist`, 'Id');
        return { status: 200, body: { JournalEntry: entry, time: new Date(this.now()).toISOString() } };
      }
      return this.query(q.get('query') ?? '');
    } catch (err) {
      if (err instanceof FaultAnswer) return this.fault(err);
      throw err;
    }
  }

  private answerOf(work: () => Answer): Answer {
    try {
      return work();
    } catch (err) {
      if (err instanceof FaultAnswer) return this.fault(err);
      throw err;
    }
  }

  private create(raw: string): Answer {
    let body: any;
    try {
      // Amounts are read from their digits, as QuickBooks reads decimals, not through a float.
      body = JSON.parse(raw.replace(/"(Amount|ExchangeRate)"\s*:\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g, '"$1":"$2"'));
    } catch {
      throw new FaultAnswer(400, '2020', 'Request has invalid or unsupported property', 'The request body is not valid JSON', '', 'ValidationFault');
    }
    const currency = typeof body?.CurrencyRef?.value === 'string' ? body.CurrencyRef.value : this.homeCurrency;
    if (!isKnownCurrency(currency) || !this.currencies.has(currency)) {
      throw new FaultAnswer(
        400,
        FAULT_CODES.businessValidation,
        'A business validation error has occurred while processing your request',
        `Business Validation Error: currency ${currency} is not used by this company`,
        'CurrencyRef',
      );
    }
    let exchangeRate: string | undefined;
    if (currency !== this.homeCurrency) {
      exchangeRate = typeof body.ExchangeRate === 'string' ? body.ExchangeRate : undefined;
      if (!exchangeRate || !/^\d+(\.\d+)?$/.test(exchangeRate) || Number(exchangeRate) <= 0) {
        throw new FaultAnswer(
          400,
          FAULT_CODES.businessValidation,
          'A business validation error has occurred while processing your request',
          `Business Validation Error: an exchange rate to ${this.homeCurrency} is required`,
          'ExchangeRate',
        );
      }
    }
    if (typeof body.DocNumber === 'string' && body.DocNumber.length > DOC_NUMBER_MAX) {
      throw new FaultAnswer(
        400,
        FAULT_CODES.businessValidation,
        'A business validation error has occurred while processing your request',
        `String length is longer than supported: DocNumber Max:${DOC_NUMBER_MAX} supplied:${body.DocNumber.length}`,
        'DocNumber',
      );
    }
    const txnDate = typeof body.TxnDate === 'string' ? body.TxnDate : new Date(this.now()).toISOString().slice(0, 10);
    if (this.closingDate && txnDate <= this.closingDate) {
      throw new FaultAnswer(
        400,
        FAULT_CODES.accountPeriodClosed,
        'Account Period Closed',
        `The account period has closed and the books are closed through ${this.closingDate}: TxnDate ${txnDate}`,
        'TxnDate',
      );
    }
    const lines: any[] = Array.isArray(body.Line) ? body.Line : [];
    if (!lines.length)
      throw new FaultAnswer(
        400,
        FAULT_CODES.requiredParamMissing,
        'Required param missing, need to supply the required value for the API',
        'Required parameter Line is missing in the request',
        'Line',
      );
    let debits = 0;
    let credits = 0;
    const stored = lines.map((line, i) => {
      const detail = line?.JournalEntryLineDetail;
      if (line?.DetailType !== LINE_DETAIL_TYPE || !detail) {
        throw new FaultAnswer(
          400,
          FAULT_CODES.requiredParamMissing,
          'Required param missing, need to supply the required value for the API',
          `Line ${i + 1}: DetailType must be ${LINE_DETAIL_TYPE}`,
          'Line.DetailType',
        );
      }
      if (detail.PostingType !== 'Debit' && detail.PostingType !== 'Credit') {
        throw new FaultAnswer(400, FAULT_CODES.invalidEnumeration, 'Invalid Enumeration', `Invalid Enumeration : ${detail.PostingType}`, 'PostingType');
      }
      const accountId = detail.AccountRef?.value;
      if (typeof accountId !== 'string' || !accountId) {
        throw new FaultAnswer(
          400,
          FAULT_CODES.requiredParamMissing,
          'Required param missing, need to supply the required value for the API',
          `Line ${i + 1}: AccountRef is missing`,
          'AccountRef',
        );
      }
      const account = this.accounts.find((a) => a.Id === accountId);
      if (!account)
        throw new FaultAnswer(
          400,
          FAULT_CODES.invalidReferenceId,
          'Invalid Reference Id',
          `Invalid Reference Id : Accounts element id ${accountId} not found`,
          'AccountRef',
        );
      if (!account.Active)
        throw new FaultAnswer(
          400,
          FAULT_CODES.objectNotFound,
          'Object Not Found',
          `Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts: ${account.Name}`,
          'AccountRef',
        );
      const amountText = typeof line.Amount === 'string' ? line.Amount : '';
      let minor: number;
      try {
        if (!/^\d+(\.\d+)?$/.test(amountText)) throw new Error('not a positive decimal');
        minor = toMinor(amountText, currency);
      } catch {
        throw new FaultAnswer(
          400,
          FAULT_CODES.businessValidation,
          'A business validation error has occurred while processing your request',
          `Business Validation Error: Line ${i + 1} Amount ${amountText || '(none)'} is not a valid ${currency} amount`,
          'Amount',
        );
      }
      if (detail.PostingType === 'Debit') debits += minor;
      else credits += minor;
      return {
        Id: String(i),
        Description: line.Description,
        Amount: Number(amountText),
        DetailType: LINE_DETAIL_TYPE,
        JournalEntryLineDetail: { ...detail, AccountRef: { value: account.Id, name: account.Name } },
      };
    });
    if (debits !== credits) {
      throw new FaultAnswer(
        400,
        FAULT_CODES.businessValidation,
        'A business validation error has occurred while processing your request',
        `Business Validation Error: Debits and credits must be equal: total debits ${fromMinor(debits, currency)}, total credits ${fromMinor(credits, currency)}`,
        'Line',
      );
    }
    const id = String(++this.seq);
    const at = new Date(this.now()).toISOString();
    const total = Number(fromMinor(debits, currency));
    const entry: Record<string, any> = {
      Id: id,
      SyncToken: '0',
      domain: 'QBO',
      sparse: false,
      MetaData: { CreateTime: at, LastUpdatedTime: at },
      TxnDate: txnDate,
      CurrencyRef: { value: currency },
      Line: stored,
      TotalAmt: total,
      Adjustment: false,
    };
    if (typeof body.DocNumber === 'string') entry.DocNumber = body.DocNumber;
    if (typeof body.PrivateNote === 'string') entry.PrivateNote = body.PrivateNote;
    if (exchangeRate) entry.ExchangeRate = Number(exchangeRate);
    this.entries.set(id, entry);
    this.stats.created++;
    return { status: 200, body: { JournalEntry: structuredClone(entry), time: at } };
  }

  /** The small part of QuickBooks' query language Tillwire uses. */
  private query(text: string): Answer {
    const m = /^\s*select\s+\*\s+from\s+(\w+)(?:\s+where\s+(.+?))?(?:\s+startposition\s+(\d+))?(?:\s+maxresults\s+(\d+))?\s*$/i.exec(text);
    const parseError = () =>
      new FaultAnswer(400, '4000', 'Error parsing query', `QueryParserError: Encountered an unsupported query: ${text.slice(0, 200)}`, '', 'ValidationFault');
    if (!m) throw parseError();
    const entity = m[1].toLowerCase() === 'journalentry' ? 'JournalEntry' : m[1].toLowerCase() === 'account' ? 'Account' : undefined;
    if (!entity) throw parseError();
    const conditions: Array<[string, string]> = [];
    if (m[2]) {
      for (const part of m[2].split(/\s+and\s+/i)) {
        const c = /^(\w+)\s*=\s*'((?:[^'\\]|\\.)*)'$/.exec(part.trim());
        if (!c) throw parseError();
        conditions.push([c[1], c[2].replace(/\\(.)/g, '$1')]);
      }
    }
    const rows: Record<string, any>[] = entity === 'JournalEntry' ? [...this.entries.values()] : this.accounts;
    const matching = rows.filter((r) => conditions.every(([field, value]) => String(r[field] ?? '') === value));
    const start = Math.max(1, Number(m[3] ?? 1));
    const max = Math.min(1000, Number(m[4] ?? 100));
    const page = matching.slice(start - 1, start - 1 + max).map((r) => structuredClone(r));
    const response = page.length ? { [entity]: page, startPosition: start, maxResults: page.length } : {};
    return { status: 200, body: { QueryResponse: response, time: new Date(this.now()).toISOString() } };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ─────────────────────────────────────────────── CLI ───────────────────────────────────────────────

export const CLI_FLAGS = {
  ...COMMON_FLAGS,
  ...FAULT_FLAGS,
  realm: { value: '<id>', help: 'the company (realm) id (default 9130355377000001)' },
  'home-currency': { value: '<ISO>', help: 'home currency (default USD)' },
  currencies: { kind: 'list', value: '<EUR,GBP,…>', help: 'other currencies the company uses (default EUR,GBP,JPY,KWD)' },
  'closing-date': { value: '<YYYY-MM-DD>', help: 'books closed up to and including this date' },
  'refresh-token': { value: '<token>', help: 'the refresh token to start with' },
  'retry-after': { kind: 'number', value: '<s>', help: 'Retry-After seconds sent with a 429 (Intuit sends none)' },
} as const satisfies Flags;

export function parseCliArgs(argv: string[]): QboSimulatorOptions | 'help' {
  const v = parseFlags(argv, CLI_FLAGS);
  if (v === 'help') return v;
  return {
    port: v.port ?? 18445,
    ...(v.host ? { host: v.host } : {}),
    seed: v.seed ?? 7,
    ...(v.realm ? { realmId: v.realm } : {}),
    ...(v['home-currency'] ? { homeCurrency: v['home-currency'] } : {}),
    ...(v.currencies?.length ? { currencies: v.currencies } : {}),
    ...(v['closing-date'] ? { closingDate: v['closing-date'] } : {}),
    ...(v['refresh-token'] ? { refreshToken: v['refresh-token'] } : {}),
    ...(v['retry-after'] !== undefined ? { retryAfterSeconds: v['retry-after'] } : {}),
    faults: { errorRate: v['error-rate'], timeoutRate: v['timeout-rate'], lostResponseRate: v['lost-response-rate'], seed: v.seed ?? 7 },
  };
}

export function main(argv: string[]): Promise<void> {
  return runSimulatorCli(argv, {
    help: helpText('QuickBooks Online Accounting API simulator (Tillwire)', 'npm run simulator -- quickbooks', CLI_FLAGS),
    parse: parseCliArgs,
    start: async (options) => {
      const sim = new QboSimulator(options);
      const url = await sim.start();
      return {
        lines: [
          `QuickBooks Online simulator listening on ${url} (token endpoint ${sim.tokenUrl})`,
          `realm ${sim.realmId}, client id ${sim.clientId}, client secret ${sim.clientSecret}, refresh token ${sim.currentRefreshToken}`,
        ],
        stop: () => sim.stop(),
      };
    },
  });
}

if (require.main === module) runMain(() => main(process.argv.slice(2)));
