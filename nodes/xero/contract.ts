/**
 * What Tillwire relies on from the Xero Accounting API for manual journals, in one place: the
 * client (nodes/xero/client.ts) and the simulator (simulators/xero) both read these facts from here.
 * No Node-RED import. Sources, named by each fact:
 *
 * - SPEC: Xero's OpenAPI description of the Accounting API,
 *   https://github.com/XeroAPI/Xero-OpenAPI/blob/master/xero_accounting.yaml (spec version 16.1.0,
 *   July 2026; re-read for this list: PUT creates one or more manual journals, POST updates or
 *   creates one, both take `summarizeErrors` and `Idempotency-Key`; `ManualJournal` has no currency
 *   field): paths `/ManualJournals`,
 *   `/ManualJournals/{ManualJournalID}`, `/Organisation`, `/Accounts`; parameters `requiredHeader`,
 *   `idempotencyKey`, `summarizeErrors`; schemas `ManualJournal`, `ManualJournalLine`,
 *   `TrackingCategory`, `Organisation`, `Account`, `Error`, `Element`, `ValidationError`.
 * - LIMITS: https://developer.xero.com/faq/limits ("What are the Xero API rate limits?": 5 at once,
 *   60 a minute, 5,000 a day per tenant, 10,000 a minute per app, the three X-…Limit-Remaining
 *   headers on every answer, 429 beyond).
 * - OAUTH: developer.xero.com/faq/oauth2 (access and refresh token lifetimes, rotation, grace period).
 * - LOCK: Xero's lock dates (Xero Central "Set up and work with lock dates"); the refusal text
 *   "The document date cannot be before the period lock date, currently set at 30-Nov-2018" as
 *   integrators report it verbatim (the end-of-year form, "…before the end of year lock date,
 *   currently set at 31-Jul-2013", quoted in https://github.com/waynerobinson/xeroizer/issues/92).
 *   Not in the SPEC.
 * - Manual-journal rules not in the SPEC (bank and system accounts refused, base currency only)
 *   come from Xero's manual-journal help and integrators' reports; they are stated here as the
 *   connector and the simulator apply them, and re-checked against a real organisation before a
 *   release.
 */

/** API base; every path below is relative to it. SPEC `servers`. */
export const XERO_API_URL = 'https://api.xero.com/api.xro/2.0';
/** Token endpoint (refresh-token grant, client id and secret as HTTP Basic). SPEC securitySchemes, OAUTH. */
export const XERO_TOKEN_URL = 'https://identity.xero.com/connect/token';

/** Header naming the organisation (tenant) on every call; required. SPEC `requiredHeader`. */
export const TENANT_HEADER = 'xero-tenant-id';
/** Idempotency header on PUT/POST, at most 128 characters. SPEC `idempotencyKey`. */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
export const IDEMPOTENCY_KEY_MAX = 128;

/**
 * Access tokens live 30 minutes. A refresh answers a new refresh token that replaces the old one
 * (rotation); the old one may be used again for a 30-minute grace period when the refresh's answer
 * was lost; an unused refresh token expires after 60 days. OAUTH.
 */
export const ACCESS_TOKEN_SECONDS = 1800;
export const REFRESH_GRACE_SECONDS = 1800;
export const REFRESH_TOKEN_UNUSED_DAYS = 60;

/**
 * Per organisation (tenant connection): 5 calls in progress at once, 60 a minute, 5,000 a day; per
 * app over all organisations 10,000 a minute. Every answer carries the remaining counts in
 * X-DayLimit-Remaining, X-MinLimit-Remaining and X-AppMinLimit-Remaining; a breach answers 429 with
 * Retry-After (seconds) and X-Rate-Limit-Problem naming the limit. LIMITS (the problem header's
 * values `minute`, `day`, `appminute`, `concurrent` as Xero's SDKs surface them; the .NET SDK reads
 * Retry-After and the limit type off a 429 since
 * https://github.com/XeroAPI/Xero-NetStandard/releases/tag/3.22.1 — the header's name and values are
 * not on Xero's limits page itself).
 */
export const RATE_LIMITS = { concurrent: 5, perMinute: 60, perDay: 5000, appPerMinute: 10_000 } as const;
export const LIMIT_HEADERS = {
  dayRemaining: 'x-daylimit-remaining',
  minuteRemaining: 'x-minlimit-remaining',
  appMinuteRemaining: 'x-appminlimit-remaining',
  problem: 'x-rate-limit-problem',
} as const;
export type RateLimitProblem = 'minute' | 'day' | 'appminute' | 'concurrent';

/** Manual journal statuses. SPEC `ManualJournal.Status`. */
export const JOURNAL_STATUSES = ['DRAFT', 'POSTED', 'DELETED', 'VOIDED', 'ARCHIVED'] as const;
export type JournalStatus = (typeof JOURNAL_STATUSES)[number];

/**
 * A ManualJournal as sent: `Narration` (required), `Date` as YYYY-MM-DD, `Status`, `JournalLines`
 * (at least two). Each line's `LineAmount` is signed, debits positive and credits negative, a JSON
 * number with at most 2 decimals (`x-is-money`); at most 2 tracking categories by `Name` and
 * `Option` (each ≤ 100 characters). There is no currency field: a manual journal is in the
 * organisation's base currency (`Organisation.BaseCurrency`). SPEC.
 */
export const MAX_TRACKING_PER_LINE = 2;
export const TRACKING_TEXT_MAX = 100;
export const AMOUNT_DECIMALS = 2;
export const MIN_LINES = 2;

export interface XeroTracking {
  Name: string;
  Option: string;
}

export interface XeroJournalLine {
  LineAmount: number;
  AccountCode: string;
  Description?: string;
  TaxType?: string;
  Tracking?: XeroTracking[];
}

export interface XeroManualJournal {
  ManualJournalID?: string;
  Narration: string;
  /** YYYY-MM-DD when sent; `/Date(ms+0000)/` in answers. */
  Date: string;
  Status?: JournalStatus;
  LineAmountTypes?: 'Exclusive' | 'Inclusive' | 'NoTax';
  Url?: string;
  JournalLines: XeroJournalLine[];
  ValidationErrors?: Array<{ Message: string }>;
  Warnings?: Array<{ Message: string }>;
  StatusAttributeString?: string;
  UpdatedDateUTC?: string;
}

/**
 * A refused request: 400 `{ ErrorNumber: 10, Type: "ValidationException", Message, Elements: [ {
 * …the element as sent…, ValidationErrors: [ { Message } ] } ] }`. SPEC `Error`, `Element`,
 * `ValidationError` and the 400 examples.
 */
export const VALIDATION_EXCEPTION = 'ValidationException';
export const VALIDATION_ERROR_NUMBER = 10;

/** The refusal of a date in a locked period names the lock date as dd-Mmm-yyyy. LOCK. */
export const LOCK_DATE_MESSAGE = /(period|end of year) lock date, currently set at (\d{1,2}-[A-Za-z]{3}-\d{4})/;

/**
 * System accounts (`Account.SystemAccount`, SPEC `Account`) that manual journals may not post to:
 * receivables, payables and retained earnings, as Xero's manual-journal help names them.
 */
export const REFUSED_SYSTEM_ACCOUNTS = ['DEBTORS', 'CREDITORS', 'RETAINEDEARNINGS'] as const;
/** Account type of bank accounts, refused on manual journals (post through a clearing account). */
export const BANK_ACCOUNT_TYPE = 'BANK';

/** Answers' dates: `/Date(1552521600000+0000)/`. SPEC examples. */
export function parseMsDate(value: string | undefined): string | undefined {
  const m = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/.exec(value ?? '');
  return m ? new Date(Number(m[1])).toISOString() : undefined;
}

export function msDate(epochMs: number): string {
  return `/Date(${epochMs}+0000)/`;
}
