/**
 * What Tillwire relies on from the QuickBooks Online Accounting API, in one place: the client, the
 * mapping and the simulator (simulators/quickbooks) all read these facts from here. Each fact names
 * where Intuit (or, where marked, a third party) documents it. No Node-RED import.
 */

/** Production and sandbox hosts, and the OAuth 2.0 token endpoint (Intuit, "REST API quick reference"; "Set up OAuth 2.0"). */
export const PRODUCTION_URL = 'https://quickbooks.api.intuit.com';
export const SANDBOX_URL = 'https://sandbox-quickbooks.api.intuit.com';
export const TOKEN_URL = 'https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer';

/**
 * URIs (Intuit, "REST API quick reference"): create `POST /v3/company/{realmId}/journalentry`,
 * read `GET …/journalentry/{id}`, query `GET /v3/company/{realmId}/query?query=<select>`.
 */
export const companyPath = (realmId: string): string => `/v3/company/${encodeURIComponent(realmId)}`;

/**
 * `minorversion`: since 2025-08-01 minor versions 1–74 are ignored and 75 is the default (Intuit
 * developer blog, "Changes to our Accounting API that may impact your application", 2025-01-21;
 * https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/minor-versions).
 * Sent on every call so the answer's shape does not move under us.
 */
export const MINOR_VERSION = 75;

/**
 * Throttling per company (realm) and app: 500 requests a minute and 10 a second, on sandbox and
 * production alike; a throttled request answers HTTP 429 and Intuit says to wait 60 seconds before
 * retrying (https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles). At most
 * 10 requests at once per realm and app, more → 429 "Too Many Requests"
 * (https://developer.intuit.com/hub/blog/2016/08/08/idg-concurrent-api-use-changes-coming-soon).
 * Intuit names no Retry-After header: the minute is the client's pause when the answer names none.
 */
export const LIMITS = { perMinute: 500, perSecond: 10, concurrent: 10 } as const;
export const THROTTLE_PAUSE_MS = 60_000;

/**
 * `requestid` query parameter: the same id for the same company answers the original response
 * instead of doing the work again; at most 50 characters (36 in batch); unique per company (Intuit
 * developer blog "Request ID update for QuickBooks Online integration", 2015-04-06,
 * https://blogs.intuit.com/2015/04/06/15346/; "QuickBooks Online API Best Practices", 2018-09-10).
 */
export const REQUEST_ID_MAX = 50;

/**
 * JournalEntry fields (Intuit .NET SDK reference, `Transaction.DocNumber`: "The maximum length for
 * DocNumber is 21 characters"; QuickBooks Online allows duplicate DocNumbers on journal entries, so
 * the number alone does not prove a match). PrivateNote and a line's Description hold up to 4,000
 * characters (third-party import guides, zed-systems "Import journal entries into QuickBooks Online").
 */
export const DOC_NUMBER_MAX = 21;
export const PRIVATE_NOTE_MAX = 4000;
export const DESCRIPTION_MAX = 4000;

/**
 * `Line[].JournalEntryLineDetail.PostingType` (Intuit PHP SDK `Finance.xsd`, PostingTypeEnum).
 * Amounts are positive; debits and credits must add up to the same total (Intuit QuickBooks
 * Desktop "JournalEntryAdd": "DO NOT supply negative sign for the monetary amounts").
 */
export type PostingType = 'Debit' | 'Credit';
export const LINE_DETAIL_TYPE = 'JournalEntryLineDetail';

/**
 * Multicurrency (Intuit, "Manage multiple currencies",
 * https://developer.intuit.com/app/developer/qbo/docs/workflows/manage-multiple-currencies): `CurrencyRef`
 * names the currency of every amount of the transaction; `ExchangeRate` is the number of
 * home-currency units one unit of that currency is worth. Only a company with multicurrency turned on accepts a foreign CurrencyRef.
 * Intuit publishes no precision for ExchangeRate: the bound of 8 decimals is Tillwire's own, so a
 * rate computed with float noise is refused rather than sent.
 */
export const EXCHANGE_RATE_MAX_DECIMALS = 8;

/**
 * The Fault envelope of every refusal (Intuit, "Fix common QuickBooks Online Accounting API errors"
 * and "Error codes", https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes;
 * a 200 answer may carry a Fault too): `{ Fault: { Error: [{ Message, Detail, code, element }], type }, time }`,
 * `type` one of ValidationFault, SystemFault, AuthenticationFault, AuthorizationFault (older
 * answers spell AUTHENTICATION in upper case).
 */
export interface FaultError {
  Message?: string;
  Detail?: string;
  code?: string;
  element?: string;
}
export interface FaultBody {
  Fault: { Error: FaultError[]; type?: string };
  time?: string;
}

/**
 * Fault codes and what they mean for a caller:
 * - 120, 610, 2500, 6190, 6240, 2170, 6000 and 6210 "Duplicate Document Number Error" (Intuit,
 *   https://developer.intuit.com/hub/blog/2017/06/08/top-quickbooks-online-api-errors-and-how-to-handle-them
 *   and https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/handling-common-errors);
 * - 6140 "Duplicate Document Number Error … DocNumber=… is assigned to TxnType=…" as integrators
 *   quote it for journal entries and other transactions
 *   (https://support.clio.com/hc/en-us/articles/115003454593-Quickbooks-Error-Code-6140-);
 * - 5010: "Stale Object Error" for an outdated SyncToken, and "Account Period Closed" / "The account
 *   period has closed" for a date on or before the books' closing date
 *   (https://github.com/routablehq/python-quickbooks/issues/208 quotes the answer);
 * - 3200 and 003001 from third-party support notes quoting Intuit's answers:
 *   "message=Exception authenticating OAuth; errorCode=003200; statusCode=401" and
 *   "message=ThrottleExceeded; errorCode=003001; statusCode=429" (not in Intuit's own pages).
 */
export const FAULT_CODES = {
  authorizationFailure: '120',
  objectNotFound: '610',
  requiredParamMissing: '2020',
  invalidEnumeration: '2170',
  invalidReferenceId: '2500',
  authenticationFailed: '3200',
  staleObject: '5010',
  accountPeriodClosed: '5010',
  businessValidation: '6000',
  duplicateDocNumber: '6140',
  invalidCompanyStatus: '6190',
  duplicateName: '6240',
  throttleExceeded: '003001',
} as const;

export type FaultKind = 'auth' | 'value' | 'missing-reference' | 'duplicate' | 'conflict' | 'rate-limit';

/** The error kind (runtime/errors.ts) of each Fault code Tillwire acts on. */
export const FAULT_KINDS: Readonly<Record<string, FaultKind>> = {
  '120': 'auth',
  '3200': 'auth',
  '003200': 'auth',
  '6190': 'auth',
  '610': 'missing-reference',
  '2500': 'missing-reference',
  '2020': 'value',
  '2170': 'value',
  '6000': 'value',
  '5010': 'conflict',
  '6140': 'duplicate',
  '6210': 'duplicate', // Intuit's 2017 list names 6210 the duplicate document number (not a closed period)
  '6240': 'duplicate',
  '003001': 'rate-limit',
};

/**
 * OAuth 2.0 (Intuit, "Set up OAuth 2.0"; developer blog "OAuth token management done the right
 * way", 2024-06-03): access tokens last an hour; a refresh answers a new `refresh_token` that
 * replaces the previous one, so the latest must be stored; `x_refresh_token_expires_in` says when
 * it lapses (developer blog "Important changes to refresh token policy", 2025-11-12).
 */
export const ACCESS_TOKEN_LIFETIME_SECONDS = 3600;
