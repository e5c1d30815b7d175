/**
 * An OAuth2 access token obtained from a token endpoint, cached and renewed `refreshBeforeMs`
 * before it expires, with one request in flight at a time however many callers wait. The grant is
 * the caller's (Amazon LWA refresh_token, bol.com and Business Central client_credentials…): it supplies the request;
 * this class does the exchange, reads `access_token` / `expires_in` (RFC 6749 §5.1) and turns a
 * refusal (`error`, `error_description`, §5.2) into a ConnectorError. No Node-RED import.
 */
import { ConnectorError, RETRYABLE_STATUS } from './errors';

export interface OAuthTokenOptions {
  /** For errors: the system and the operation name, e.g. 'amazon', 'lwa-token'. */
  system: string;
  operation: string;
  /** The token request (URL and fetch init without signal) for the grant in use. */
  request: () => { url: string | URL; init: RequestInit };
  /** Lifetime assumed when the answer has no usable `expires_in` (missing, not a number, not positive). */
  defaultLifetimeSeconds: number;
  refreshBeforeMs: number;
  /**
   * At most this fraction of a token's lifetime is given up by refreshing early (e.g. 0.1): a
   * token that lives less than `refreshBeforeMs` is then still used, not fetched anew for every
   * call. Unset: always `refreshBeforeMs` early.
   */
  maxEarlyFraction?: number;
  timeoutMs?: number;
  now?: () => number;
  fetch?: typeof fetch;
  /**
   * Called with every accepted answer before its token is used, e.g. to keep a rotated
   * `refresh_token` (Intuit, Xero): the provider may already have retired the previous one, so the
   * caller persists the new one here. Its failure fails this `get()`; the token stays cached.
   */
  accepted?: (answer: Record<string, unknown>) => void | Promise<void>;
}

export class OAuthTokenSource {
  private token?: { value: string; refreshAt: number };
  private pending?: Promise<string>;
  /** Tokens fetched so far. */
  refreshes = 0;

  constructor(private readonly oauth: OAuthTokenOptions) {}

  private now(): number {
    return (this.oauth.now ?? Date.now)();
  }

  async get(): Promise<string> {
    const t = this.token;
    if (t && this.now() < t.refreshAt) return t.value;
    this.pending ??= this.refresh().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** Forgets the cached token (the provider said it is expired or invalid). */
  invalidate(): void {
    this.token = undefined;
  }

  private async refresh(): Promise<string> {
    const { system, operation } = this.oauth;
    const { url, init } = this.oauth.request();
    let res: Response;
    try {
      res = await (this.oauth.fetch ?? fetch)(url, { ...init, signal: AbortSignal.timeout(this.oauth.timeoutMs ?? 30_000) });
    } catch (err) {
      throw new ConnectorError(system, operation, `token endpoint unreachable: ${(err as Error).message}`, { kind: 'connection', retryable: true });
    }
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok || typeof json?.access_token !== 'string') {
      const code = typeof json?.error === 'string' ? json.error : undefined;
      const message = json?.error_description ?? code ?? text.slice(0, 200);
      throw new ConnectorError(system, operation, `HTTP ${res.status}: ${code ? `${code}: ` : ''}${message}`, {
        status: res.status,
        // An answer without a token is a credentials problem whatever its status says.
        ...(res.ok ? { kind: 'auth' as const } : {}),
        retryable: RETRYABLE_STATUS.has(res.status),
        providerCode: code,
        providerMessage: message,
        body: json ?? text,
      });
    }
    const stated = Number(json.expires_in);
    const lifetimeMs = (Number.isFinite(stated) && stated > 0 ? stated : this.oauth.defaultLifetimeSeconds) * 1000;
    const { refreshBeforeMs, maxEarlyFraction } = this.oauth;
    const earlyMs = maxEarlyFraction === undefined ? refreshBeforeMs : Math.min(refreshBeforeMs, lifetimeMs * maxEarlyFraction);
    this.token = { value: json.access_token, refreshAt: this.now() + lifetimeMs - earlyMs };
    this.refreshes++;
    await this.oauth.accepted?.(json);
    return json.access_token;
  }
}
