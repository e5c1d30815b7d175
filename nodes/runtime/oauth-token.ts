/**
 * An OAuth2 access token obtained from a token endpoint, cached and renewed `refreshBeforeMs`
 * before it expires, with one request in flight at a time however many callers wait. The grant is
 * the caller's (Amazon LWA refresh_token, bol.com client_credentials…): it supplies the request;
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
  /** Lifetime assumed when the answer has no `expires_in`. */
  defaultLifetimeSeconds: number;
  refreshBeforeMs: number;
  /**
   * Called with each successful answer before its token is handed out: a grant that rotates its
   * refresh token (Xero, Intuit) keeps the new one here. A failure fails the token request.
   */
  onAnswer?: (answer: Record<string, unknown>) => void | Promise<void>;
  timeoutMs?: number;
  now?: () => number;
  fetch?: typeof fetch;
}

export class OAuthTokenSource {
  private token?: { value: string; expiresAt: number };
  private pending?: Promise<string>;
  /** Tokens fetched so far. */
  refreshes = 0;

  constructor(private readonly oauth: OAuthTokenOptions) {}

  private now(): number {
    return (this.oauth.now ?? Date.now)();
  }

  async get(): Promise<string> {
    const t = this.token;
    if (t && t.expiresAt - this.oauth.refreshBeforeMs > this.now()) return t.value;
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
    await this.oauth.onAnswer?.(json);
    const lifetime = Number(json.expires_in ?? this.oauth.defaultLifetimeSeconds);
    this.token = { value: json.access_token, expiresAt: this.now() + lifetime * 1000 };
    this.refreshes++;
    return json.access_token;
  }
}
