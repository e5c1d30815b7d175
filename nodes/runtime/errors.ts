/**
 * The one error model of every connector (docs/errors.md): a `ConnectorError` says which system
 * and operation failed, the class of failure (`kind`), whether trying again can help
 * (`retryable`), the HTTP status, how many attempts were made, and the provider's own code and
 * message. Nothing downstream reads meaning out of the message text.
 *
 * A node reports a failure with `done(err)` / `node.error(err, msg)`. Node-RED then builds the
 * Catch node's `msg.error` from the error: `message` (from `toString()`), `source`, and the error's
 * own `code` and `cause` properties. So a ConnectorError carries the kind as `code` and the
 * structured fields as `cause`: a Catch node sees `msg.error.code === 'rate-limit'` and
 * `msg.error.cause.retryable`, `msg.error.cause.status`, …
 */

/** The class of a failure: what went wrong, independent of the system it happened in. */
export type ErrorKind =
  /** The request did not reach the system or the connection dropped (no HTTP answer). */
  | 'connection'
  /** No answer in time (ours or a gateway's: 408, 504). */
  | 'timeout'
  /** The system asked us to slow down (429, Shopify THROTTLED, Square RATE_LIMITED…). */
  | 'rate-limit'
  /** The system (or our store) is temporarily unable to serve: 5xx, maintenance. */
  | 'unavailable'
  /** Credentials, token or permission refused. */
  | 'auth'
  /** The request itself is wrong: bad document, bad settings, a business rule refused it. */
  | 'value'
  /** Something the request refers to does not exist there (SKU, order, customer, location). */
  | 'missing-reference'
  /** It exists already (a unique key taken). */
  | 'duplicate'
  /** The record changed or is in a state that does not allow this (stale etag, serialization). */
  | 'conflict'
  /** The node was stopped or redeployed while the call was under way. */
  | 'stopped'
  | 'unknown';

export const ERROR_KINDS: readonly ErrorKind[] = [
  'connection',
  'timeout',
  'rate-limit',
  'unavailable',
  'auth',
  'value',
  'missing-reference',
  'duplicate',
  'conflict',
  'stopped',
  'unknown',
];

/** The HTTP statuses worth trying again, for every connector. */
export const RETRYABLE_STATUS: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504]);

/** Kinds that, unless a provider rule says otherwise, are worth trying again later. */
const RETRYABLE_KINDS: ReadonlySet<ErrorKind> = new Set(['connection', 'timeout', 'rate-limit', 'unavailable']);

/** The kind an HTTP status implies on its own. */
export function kindForStatus(status: number | undefined): ErrorKind | undefined {
  if (status === undefined || (status >= 200 && status < 400)) return undefined;
  switch (status) {
    case 401:
    case 403:
    case 407:
      return 'auth';
    case 404:
    case 410:
      return 'missing-reference';
    case 409:
    case 412:
      return 'conflict';
    case 408:
    case 504:
      return 'timeout';
    case 429:
      return 'rate-limit';
  }
  if (status >= 500 || status === 425) return 'unavailable';
  if (status >= 400) return 'value';
  return undefined;
}

/**
 * Provider error codes (and Tillwire's own) whose class is known, by their last dotted segment:
 * Odoo exception names, Business Central error codes, Shopify / Square / Amazon codes.
 */
const CODE_KINDS: Record<string, ErrorKind> = {
  // Odoo (Python exceptions, JSON-RPC data.name / JSON-2 name)
  UserError: 'value',
  ValidationError: 'value',
  RedirectWarning: 'value',
  ValueError: 'value',
  TypeError: 'value',
  KeyError: 'value',
  AttributeError: 'value',
  IndexError: 'value',
  BadRequest: 'value',
  UnprocessableEntity: 'value',
  MethodNotAllowed: 'value',
  AccessError: 'auth',
  AccessDenied: 'auth',
  Unauthorized: 'auth',
  Forbidden: 'auth',
  SessionExpiredException: 'auth',
  MissingError: 'missing-reference',
  NotFound: 'missing-reference',
  SerializationFailure: 'conflict',
  LockNotAvailable: 'conflict',
  UniqueViolation: 'duplicate',
  // Business Central (OData error.code)
  Request_EntityChanged: 'conflict',
  Internal_EntityWithSameKeyExists: 'duplicate',
  Internal_RecordNotFound: 'missing-reference',
  BadRequest_NotFound: 'missing-reference',
  BadRequest_ResourceNotFound: 'missing-reference',
  Authentication_InvalidCredentials: 'auth',
  Internal_ServiceUnavailable: 'unavailable',
  Application_TooManyRequests: 'rate-limit',
  // OAuth token endpoints
  invalid_client: 'auth',
  invalid_grant: 'auth',
  unauthorized_client: 'auth',
  // Shopify
  THROTTLED: 'rate-limit',
  ACCESS_DENIED: 'auth',
  NOT_FOUND: 'missing-reference',
  IDEMPOTENCY_CONCURRENT_REQUEST: 'conflict',
  OrderCancelled: 'conflict',
  // Square
  RATE_LIMITED: 'rate-limit',
  UNAUTHORIZED: 'auth',
  ACCESS_TOKEN_EXPIRED: 'auth',
  ACCESS_TOKEN_REVOKED: 'auth',
  INSUFFICIENT_SCOPES: 'auth',
  FORBIDDEN: 'auth',
  IDEMPOTENCY_KEY_REUSED: 'duplicate',
  VERSION_MISMATCH: 'conflict',
  CONFLICT: 'conflict',
  SERVICE_UNAVAILABLE: 'unavailable',
  GATEWAY_TIMEOUT: 'timeout',
  // Amazon SP-API
  QuotaExceeded: 'rate-limit',
  InvalidInput: 'value',
  InternalFailure: 'unavailable',
  NoTracking: 'value',
  OrderCanceled: 'conflict',
  // Tillwire's own codes
  NoAnswer: 'connection',
  UnknownSku: 'missing-reference',
  unknown_sku: 'missing-reference',
  UnknownLocation: 'missing-reference',
  NoChannelOrder: 'value',
  WrongChannel: 'value',
  WrongAccount: 'value',
  WrongKind: 'value',
  InvalidDocument: 'value',
  NoBusinessKey: 'value',
  AmbiguousSku: 'value',
  mapping: 'value',
  original_missing: 'missing-reference',
  cancelled: 'conflict',
  AlreadyPosted: 'conflict',
  AlreadyShipped: 'conflict',
  CancelledButPosted: 'conflict',
  BlockedItem: 'value',
  OriginalNotFound: 'missing-reference',
  OriginalUnknown: 'missing-reference',
};

/** The kind a provider's error code names, when it is one we know. */
export function kindForCode(code: string | undefined): ErrorKind | undefined {
  if (!code) return undefined;
  const short = code.slice(code.lastIndexOf('.') + 1);
  const known = CODE_KINDS[code] ?? CODE_KINDS[short];
  if (known) return known;
  // Business Central families: Authorization_…, Authentication_…, BadRequest_…
  if (/^Authori[sz]ation_|^Authentication_/.test(short)) return 'auth';
  if (/^BadRequest_|^Application_/.test(short)) return 'value';
  return undefined;
}

/** A failure's kind from what is known about it: the provider's code first, then the status. */
export function classifyFailure(info: { status?: number; code?: string; kind?: ErrorKind }): { kind: ErrorKind; retryable: boolean } {
  const kind = info.kind ?? kindForCode(info.code) ?? kindForStatus(info.status) ?? 'unknown';
  return { kind, retryable: defaultRetryable(kind, info.status) };
}

/** Whether a failure of this kind (and status) is worth trying again, when no rule says otherwise. */
export function defaultRetryable(kind: ErrorKind, status?: number): boolean {
  if (status !== undefined && RETRYABLE_STATUS.has(status)) return kind !== 'auth' && kind !== 'value' && kind !== 'missing-reference' && kind !== 'duplicate';
  return RETRYABLE_KINDS.has(kind);
}

/** The structured fields of a failure, as `msg.error.cause` carries them. */
export interface FailureFields {
  system: string;
  operation: string;
  kind: ErrorKind;
  retryable: boolean;
  status?: number;
  attempts?: number;
  /** The provider's own wait signal (Retry-After or equivalent), when it gave one. */
  retryAfterMs?: number;
  providerCode?: string;
  providerMessage?: string;
  /** The field of the request the provider named as wrong (QuickBooks Fault `element`), when it named one. */
  providerElement?: string;
  /** The provider's element-level messages (Xero ValidationErrors…), each as the provider wrote it. */
  providerErrors?: string[];
}

export interface ConnectorDetails {
  status?: number;
  /** Defaults from the kind (and status): see `defaultRetryable`. */
  retryable?: boolean;
  /** Defaults from the provider code, then the status. */
  kind?: ErrorKind;
  retryAfterMs?: number;
  providerMessage?: string;
  providerCode?: string;
  providerElement?: string;
  providerErrors?: string[];
  attempts?: number;
  /** The failed answer's body, for the connector's own use; never put on a message. */
  body?: unknown;
}

export class ConnectorError extends Error {
  override name = 'ConnectorError';
  readonly kind: ErrorKind;
  readonly retryable: boolean;
  /** Own property: Node-RED copies it to the Catch node's `msg.error.code`. */
  readonly code: ErrorKind;
  /** Own property: Node-RED copies it to the Catch node's `msg.error.cause`. */
  override readonly cause: FailureFields;
  readonly details: ConnectorDetails & { kind: ErrorKind; retryable: boolean };

  constructor(
    readonly system: string,
    readonly operation: string,
    /** What went wrong, in a few words, without system and operation. */
    readonly description: string,
    details: ConnectorDetails = {},
  ) {
    const classified = classifyFailure({ status: details.status, code: details.providerCode, kind: details.kind });
    const kind = classified.kind;
    const retryable = details.retryable ?? classified.retryable;
    const n = details.attempts ?? 1;
    super(`${system} ${operation}: ${description}${n > 1 ? ` (${retryable ? 'gave up ' : ''}after ${n} attempts)` : ''}`);
    this.kind = kind;
    this.retryable = retryable;
    this.code = kind;
    this.details = { ...details, kind, retryable };
    this.cause = definedOnly({
      system,
      operation,
      kind,
      retryable,
      status: details.status,
      attempts: details.attempts,
      retryAfterMs: details.retryAfterMs,
      providerCode: details.providerCode,
      providerMessage: details.providerMessage,
      providerElement: details.providerElement,
      providerErrors: details.providerErrors,
    });
  }

  get status(): number | undefined {
    return this.details.status;
  }

  get attempts(): number | undefined {
    return this.details.attempts;
  }

  /** The same failure with some fields changed (a re-worded description, more attempts…); kind and retryable stay unless given. */
  with(changes: ConnectorDetails & { description?: string; operation?: string }): ConnectorError {
    const { description, operation, ...details } = changes;
    const defined = Object.fromEntries(Object.entries(details).filter(([, v]) => v !== undefined));
    return new ConnectorError(this.system, operation ?? this.operation, description ?? this.description, { ...this.details, ...defined });
  }

  /** What Node-RED puts in `msg.error.message`: the message without the class name. */
  override toString(): string {
    return this.message;
  }
}

function definedOnly<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

/** A failure retrying cannot fix; without a code, status or kind that says otherwise, a `value` one. */
export function permanentFailure(system: string, operation: string, description: string, extra: ConnectorDetails = {}): ConnectorError {
  const unclassified = !extra.kind && !extra.providerCode && extra.status === undefined;
  return new ConnectorError(system, operation, description, { retryable: false, ...(unclassified ? { kind: 'value' as const } : {}), ...extra });
}

/** Anything thrown, as an Error (a thrown string or value becomes its message). */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Any failure of a connector node as a ConnectorError: a store that is down is retryable
 * (`unavailable`); anything else that is not already one is a defect or bad input that retrying
 * will not fix.
 */
export function asConnectorError(err: unknown, system: string, operation: string): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const e = asError(err);
  if (e.name === 'StoreUnavailableError') return new ConnectorError(system, operation, e.message, { kind: 'unavailable', retryable: true });
  return new ConnectorError(system, operation, e.message, { kind: 'unknown', retryable: false });
}

/** What a Catch node's `msg.error` holds for a failure, as Node-RED builds it from the error. */
/** A few words for a status badge: the kind and status, or the start of the description. */
export function briefly(err: unknown): string {
  if (!(err instanceof ConnectorError)) return err instanceof Error ? err.message : String(err);
  if (err.status !== undefined && err.status !== 200) return `${err.kind} (HTTP ${err.status})`;
  if (err.kind === 'connection' || err.kind === 'timeout' || err.kind === 'rate-limit' || err.kind === 'stopped') return err.kind;
  return err.description;
}
