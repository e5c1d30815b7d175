/**
 * The one HTTP resilience layer every connector uses: request timeouts,
 * retries with exponential backoff and full jitter for retryable failures only, honouring the
 * provider's own signal (Retry-After, or a delay a provider classifier reads from its headers or
 * body), an optional per-account rate governor shared by all nodes of one config node, and one
 * error type (errors.ts) that says system, operation, kind, status, retryable or not, attempts
 * and the provider's code and message. Each retry is reported to the observer of the call in
 * progress (call-observer.ts), which is how a node's badge shows it.
 */
import { ConnectorError, RETRYABLE_STATUS, type ErrorKind } from './errors';
import { reportRetry } from './call-observer';

export { ConnectorError, RETRYABLE_STATUS } from './errors';
export type { ConnectorDetails, ErrorKind, FailureFields } from './errors';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Per-attempt timeout. */
  timeoutMs: number;
}

export const DEFAULT_POLICY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 250, maxDelayMs: 30_000, timeoutMs: 30_000 };

export interface HttpRequest {
  operation: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Absolute, or relative to the client's baseUrl. */
  url: string;
  headers?: Record<string, string>;
  /** Objects are sent as JSON; strings as they are. */
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  /**
   * Attempts for this request, overriding the policy: 1 for a write that must never be re-sent
   * blindly (the caller looks the outcome up instead).
   */
  maxAttempts?: number;
  /**
   * Answer a success with its body unread (`body` is the response's ReadableStream), for downloads
   * too large to hold. The timeout then covers the wait for the headers only; retries happen only
   * before a success, never in the middle of a body. A failure's body is read as usual.
   */
  stream?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  body: any;
}

/** What a provider-specific classifier says about a response. */
export interface Verdict {
  ok: boolean;
  retryable?: boolean;
  retryAfterMs?: number;
  message?: string;
  code?: string;
  /** The request field the provider named as wrong, when it named one. */
  element?: string;
  /** The class of failure, when the provider's answer says more than its status and code. */
  kind?: ErrorKind;
}

export type Classifier = (res: HttpResponse) => Verdict | undefined;

export interface Governor {
  /** Resolves when one more request may be sent. */
  take(): Promise<void>;
  /** Tells the governor the provider pushed back (429) and for how long, if it said. */
  penalise?(ms?: number): void;
}

/**
 * `governor` for a client that stops: a wait for room ends when `signal` aborts, with the signal's
 * reason. Nothing was sent yet, so nothing is lost; a stopped client's calls do not sit out a
 * long provider pause (a 429's Retry-After) while they hold their keys.
 */
export function stoppableGovernor(governor: Governor | undefined, signal: AbortSignal): Governor | undefined {
  if (!governor) return undefined;
  return {
    take: () => {
      if (signal.aborted) return Promise.reject(signal.reason);
      const taken = governor.take();
      let abort!: () => void;
      const stopped = new Promise<never>((_, reject) => {
        abort = () => reject(signal.reason);
        signal.addEventListener('abort', abort, { once: true });
      });
      return Promise.race([taken, stopped]).finally(() => signal.removeEventListener('abort', abort));
    },
    penalise: governor.penalise && ((ms) => governor.penalise!(ms)),
  };
}

/**
 * What every rate governor shares: callers served in the order they asked, a pause the provider
 * imposed (`blockedUntil`, set by `penalise`) waited out, and a wait-and-look loop around the
 * governor's own rule, `tryTake` (room for one request), or a rule of its own passed to `pace`
 * (room for a request of a given cost, as Shopify's calculated-cost bucket needs).
 */
export abstract class PacedGovernor implements Governor {
  protected blockedUntil = 0;
  private queue: Promise<void> = Promise.resolve();
  /** Total time callers were made to wait (ms). */
  waitedMs = 0;

  constructor(
    protected readonly now: () => number,
    protected readonly sleep: (ms: number) => Promise<void>,
  ) {}

  take(): Promise<void> {
    return this.pace((now) => this.tryTake(now));
  }

  /**
   * Waits, in turn with every other caller, until no provider pause is on and `rule` finds room
   * (returns 0; else how long to wait, ms, before looking again). Each wait is told to `onWait`.
   */
  protected pace(rule: (now: number) => number, onWait?: (ms: number) => void): Promise<void> {
    // Chained so waiting callers are served in order.
    const next = this.queue.then(() => this.acquire(rule, onWait));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async acquire(rule: (now: number) => number, onWait?: (ms: number) => void): Promise<void> {
    for (;;) {
      const now = this.now();
      const wait = now < this.blockedUntil ? this.blockedUntil - now : rule(now);
      if (wait <= 0) return;
      onWait?.(wait);
      this.waitedMs += wait;
      await this.sleep(wait);
    }
  }

  /** Takes room for one request if there is some (returns 0); else how long to wait (ms) before looking again. */
  protected abstract tryTake(now: number): number;

  abstract penalise(ms?: number): void;
}

/** A token bucket: `ratePerSecond` sustained, `burst` at once; shared by every node of one account. */
export class TokenBucket extends PacedGovernor {
  private tokens: number;
  private last: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    now: () => number = Date.now,
    sleep: (ms: number) => Promise<void> = delay,
  ) {
    super(now, sleep);
    this.tokens = burst;
    this.last = now();
  }

  protected tryTake(now: number): number {
    // A pushed-back pause is not refill time: refill counts from the end of the pause.
    this.last = Math.max(this.last, this.blockedUntil);
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
  }

  penalise(ms = 1000): void {
    this.tokens = 0;
    this.blockedUntil = Math.max(this.blockedUntil, this.now() + ms);
  }
}

/** A base URL spelled one way (scheme and host lower case, no default port, no trailing slash), to tell one server from another. */
export function canonicalUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return url.trim().replace(/\/+$/, '');
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Retry-After as seconds or an HTTP date (RFC 9110 §10.2.3), in milliseconds from now. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Exponential backoff with full jitter (a random delay up to the exponential bound). */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const bound = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(bound * random());
}

export function defaultVerdict(res: HttpResponse): Verdict {
  if (res.status >= 200 && res.status < 300) return { ok: true };
  const retryable = RETRYABLE_STATUS.has(res.status);
  return { ok: false, retryable, retryAfterMs: parseRetryAfter(res.headers.get('retry-after')) };
}

export interface HttpClientOptions {
  system: string;
  baseUrl?: string;
  policy?: Partial<RetryPolicy>;
  governor?: Governor;
  /** Provider rules, consulted before the default status-code rules. */
  classify?: Classifier;
  /** Reads the provider's own error text from a failed response body. */
  describe?: (res: HttpResponse) => { message?: string; code?: string; element?: string } | undefined;
  headers?: () => Record<string, string> | Promise<Record<string, string>>;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  fetch?: typeof fetch;
}

export class HttpClient {
  readonly policy: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly doFetch: typeof fetch;

  constructor(private readonly opts: HttpClientOptions) {
    this.policy = { ...DEFAULT_POLICY, ...opts.policy };
    this.sleep = opts.sleep ?? delay;
    this.doFetch = opts.fetch ?? fetch;
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const { system } = this.opts;
    const maxAttempts = req.maxAttempts ?? this.policy.maxAttempts;
    let lastError: ConnectorError | undefined;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let waitMs: number | undefined;
      try {
        const res = await this.once(req);
        const verdict = this.opts.classify?.(res) ?? defaultVerdict(res);
        if (verdict.ok) return res;
        const described = this.opts.describe?.(res);
        const providerMessage = verdict.message ?? described?.message ?? textOf(res.body);
        lastError = new ConnectorError(system, req.operation, `HTTP ${res.status}${providerMessage ? `: ${providerMessage}` : ''}`, {
          status: res.status,
          kind: verdict.kind,
          retryable: !!verdict.retryable,
          retryAfterMs: verdict.retryAfterMs,
          providerMessage,
          providerCode: verdict.code ?? described?.code ?? codeOf(res.body),
          providerElement: verdict.element ?? described?.element,
          attempts: attempt,
          body: res.body,
        });
        if (res.status === 429) this.opts.governor?.penalise?.(verdict.retryAfterMs);
        if (!verdict.retryable) throw lastError;
        waitMs = verdict.retryAfterMs;
      } catch (err) {
        if (err instanceof ConnectorError) {
          // A stopped client: nothing to try again (and no retry to show).
          if (!err.retryable || err.kind === 'stopped') throw err.attempts === undefined ? err.with({ attempts: attempt }) : err;
          lastError = err;
        } else {
          const e = err as Error & { cause?: { code?: string } };
          const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
          const reason = timedOut ? `no answer within ${this.policy.timeoutMs} ms` : `${e.cause?.code ?? e.message}`;
          lastError = new ConnectorError(system, req.operation, reason, { kind: timedOut ? 'timeout' : 'connection', retryable: true, attempts: attempt });
        }
      }
      if (attempt === maxAttempts) break;
      const wait = waitMs ?? backoffMs(attempt, this.policy, this.opts.random);
      reportRetry({ system, operation: req.operation, attempt, waitMs: wait }, lastError);
      await this.sleep(Math.min(wait, this.policy.maxDelayMs));
    }
    throw lastError!.with({ attempts: maxAttempts });
  }

  private async once(req: HttpRequest): Promise<HttpResponse> {
    await this.opts.governor?.take();
    const url = new URL(req.url, this.opts.baseUrl);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json', ...(await this.opts.headers?.()), ...req.headers };
    let body: string | undefined;
    if (req.body !== undefined) {
      body = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
      headers['content-type'] ??= 'application/json';
    }
    if (req.stream) return this.onceStreamed(url, { method: req.method, headers, body });
    const res = await this.doFetch(url, { method: req.method, headers, body, signal: AbortSignal.timeout(this.policy.timeoutMs) });
    return answer(res);
  }

  /** The request with a timeout on the headers only; a success keeps its body unread. */
  private async onceStreamed(url: URL, init: RequestInit): Promise<HttpResponse> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${this.policy.timeoutMs} ms`, 'TimeoutError')), this.policy.timeoutMs);
    try {
      const res = await this.doFetch(url, { ...init, signal: controller.signal });
      if (res.ok) return { status: res.status, headers: res.headers, body: res.body ?? undefined };
      return await answer(res);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A response with its body read: JSON when the content type says so, else text. */
async function answer(res: Response): Promise<HttpResponse> {
  const text = await res.text();
  let parsed: unknown = text;
  if (text && (res.headers.get('content-type') ?? '').includes('json')) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : parsed };
}

function textOf(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body.slice(0, 300);
  const b = body as Record<string, any>;
  return b.error?.message ?? b.message ?? (typeof b.error === 'string' ? b.error : undefined);
}

/** A provider code in the common error shapes (`{ error: { code } }`, `{ code }`), if any. */
function codeOf(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, any>;
  const code = b.error?.code ?? b.code;
  return typeof code === 'string' ? code : undefined;
}
