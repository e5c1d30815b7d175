/**
 * What Tillwire relies on from Amazon's Selling Partner API, in one place: the client, the mapping
 * and the simulator (simulators/amazon) all read these facts from here, so the simulator cannot
 * drift from what production code expects. No Node-RED import.
 */

/**
 * Orders API versions Tillwire speaks, with the last day each may be used. v0 is deprecated:
 * Amazon's changelog ("New: Introducing the Orders API v2026-01-01",
 * https://developer-docs.amazon.com/sp-api/changelog/new-introducing-the-orders-api-v2026-01-01)
 * says integrations must migrate by March 27, 2027, when v0's getOrders, getOrder and
 * getOrderItems are removed. 2026-01-01 has no announced end.
 */
export const ORDERS_V0_REMOVAL = '2027-03-27';
export type OrdersApiVersion = '2026-01-01' | 'v0';
export const API_VERSIONS: Array<{ version: OrdersApiVersion; supportedUntil: string | null }> = [
  { version: '2026-01-01', supportedUntil: null },
  { version: 'v0', supportedUntil: ORDERS_V0_REMOVAL },
];
export const DEFAULT_API_VERSION: OrdersApiVersion = '2026-01-01';

/**
 * Why an account cannot use this Orders API version on `today` (YYYY-MM-DD), or undefined: an
 * unknown version, or one past its supportedUntil day (Amazon's calls fail after removal).
 */
export function versionProblem(value: unknown, today: string): string | undefined {
  const found = API_VERSIONS.find((v) => v.version === value);
  if (!found) return `unknown Orders API version ${JSON.stringify(value)}: use ${API_VERSIONS.map((v) => v.version).join(' or ')}`;
  if (found.supportedUntil && today > found.supportedUntil)
    return `Orders API ${found.version} was removed by Amazon on ${found.supportedUntil}: choose ${DEFAULT_API_VERSION}`;
  return undefined;
}

/** The version a config value names, or undefined when it is not one Tillwire speaks. */
export function ordersApiVersion(value: unknown): OrdersApiVersion | undefined {
  return API_VERSIONS.find((v) => v.version === value)?.version;
}

/**
 * Orders API 2026-01-01 (published model models/orders-api-model/orders_2026-01-01.json in
 * github.com/amzn/selling-partner-api-models; migration guide
 * https://developer-docs.amazon.com/sp-api/docs/orders-api-migration-guide):
 * - searchOrders `GET /orders/2026-01-01/orders`: exactly one of `createdAfter` /
 *   `lastUpdatedAfter` (with the matching optional Before, at least two minutes before now),
 *   `marketplaceIds` (up to 50), `fulfillmentStatuses`, `maxResultsPerPage` 1–100 (default 100),
 *   `paginationToken` (the previous page's `pagination.nextToken`; the other parameters repeated;
 *   it expires after 24 hours), `includedData`. Answers `{ orders, pagination?: { nextToken },
 *   lastUpdatedBefore | createdBefore }`.
 * - getOrder `GET /orders/2026-01-01/orders/{orderId}?includedData=…` → `{ order }`.
 * - Items are always inline (`orderItems`); money, status, buyer and payment only when asked for
 *   with `includedData` (PROCEEDS, FULFILLMENT, BUYER, PAYMENT, PROMOTION, …). No Restricted
 *   Data Token: PII access follows the application's roles.
 * - Money is `{ amount: decimal text, currencyCode }`; statuses are upper case
 *   (`fulfillment.fulfillmentStatus`, table below).
 */
export const ORDERS_2026_PATH = '/orders/2026-01-01/orders';
export const ORDERS_2026_INCLUDED_DATA = ['PROCEEDS', 'FULFILLMENT', 'BUYER', 'PAYMENT', 'PROMOTION'] as const;

/** 2026-01-01 `FulfillmentStatus` → v0 `OrderStatus` (the same states, respelled). */
export const FULFILLMENT_STATUS_TO_V0: Readonly<Record<string, string>> = {
  PENDING_AVAILABILITY: 'PendingAvailability',
  PENDING: 'Pending',
  UNSHIPPED: 'Unshipped',
  PARTIALLY_SHIPPED: 'PartiallyShipped',
  SHIPPED: 'Shipped',
  CANCELLED: 'Canceled',
  UNFULFILLABLE: 'Unfulfillable',
};

/**
 * Published default usage plans per operation: requests per second and burst. searchOrders
 * (0.0056/s, burst 20) and getOrderV2026 (Amazon's `getOrder` of 2026-01-01: 0.5/s, burst 30) are
 * from the 2026-01-01 model's operation descriptions; they are separate buckets from v0's.
 */
export const USAGE_PLANS: Readonly<Record<string, { rate: number; burst: number }>> = {
  searchOrders: { rate: 0.0056, burst: 20 },
  getOrderV2026: { rate: 0.5, burst: 30 },
  getOrders: { rate: 0.0167, burst: 20 },
  getOrder: { rate: 0.5, burst: 30 },
  getOrderItems: { rate: 0.5, burst: 30 },
  confirmShipment: { rate: 2, burst: 10 },
  getListingsItem: { rate: 5, burst: 10 },
  patchListingsItem: { rate: 5, burst: 5 },
  // Reports API 2021-06-30 (models/reports-api-model/reports_2021-06-30.json, each operation's "Usage Plan" table).
  getReports: { rate: 0.0222, burst: 10 },
  createReport: { rate: 0.0167, burst: 15 },
  getReportDocument: { rate: 0.0167, burst: 15 },
};

/** The body of a 429 (Amazon sends it with no Retry-After header). */
export const QUOTA_EXCEEDED = {
  errors: [{ code: 'QuotaExceeded', message: 'You exceeded your quota for the requested resource.', details: '' }],
};

export interface Marketplace {
  /** Amazon's marketplace id. */
  id: string;
  /** ISO 3166-1 alpha-2 country (Amazon's own table writes the United Kingdom as UK; this is GB). */
  country: string;
  /** The ISO 4217 currency the marketplace sells in. */
  currency: string;
  /**
   * True when an item's `ItemPrice` already includes its `ItemTax` (VAT/GST/consumption-tax
   * markets: prices are shown to consumers with tax); false when tax is added on top (US, CA).
   */
  taxesIncluded: boolean;
}

/**
 * Every marketplace of SP-API's marketplace id table (developer-docs.amazon.com/sp-api/docs/
 * marketplace-ids): ids and countries from it; the currency is the country's. Amazon documents
 * no tax-inclusive flag: it is inferred from how each country's consumer prices are displayed
 * (docs/connectors/amazon.md says which are confirmed by orders and which are not).
 */
export const MARKETPLACES: readonly Marketplace[] = [
  // North America
  { id: 'A2EUQ1WTGCTBG2', country: 'CA', currency: 'CAD', taxesIncluded: false },
  { id: 'ATVPDKIKX0DER', country: 'US', currency: 'USD', taxesIncluded: false },
  { id: 'A1AM78C64UM0Y8', country: 'MX', currency: 'MXN', taxesIncluded: true },
  { id: 'A2Q3Y263D00KWC', country: 'BR', currency: 'BRL', taxesIncluded: true },
  // Europe, Middle East, Africa, India
  { id: 'A28R8C7NBKEWEA', country: 'IE', currency: 'EUR', taxesIncluded: true },
  { id: 'A1RKKUPIHCS9HS', country: 'ES', currency: 'EUR', taxesIncluded: true },
  { id: 'A1F83G8C2ARO7P', country: 'GB', currency: 'GBP', taxesIncluded: true },
  { id: 'A13V1IB3VIYZZH', country: 'FR', currency: 'EUR', taxesIncluded: true },
  { id: 'AMEN7PMS3EDWL', country: 'BE', currency: 'EUR', taxesIncluded: true },
  { id: 'A1805IZSGTT6HS', country: 'NL', currency: 'EUR', taxesIncluded: true },
  { id: 'A1PA6795UKMFR9', country: 'DE', currency: 'EUR', taxesIncluded: true },
  { id: 'APJ6JRA9NG5V4', country: 'IT', currency: 'EUR', taxesIncluded: true },
  { id: 'A2NODRKZP88ZB9', country: 'SE', currency: 'SEK', taxesIncluded: true },
  { id: 'AE08WJ6YKNBMC', country: 'ZA', currency: 'ZAR', taxesIncluded: true },
  { id: 'A1C3SOZRARQ6R3', country: 'PL', currency: 'PLN', taxesIncluded: true },
  { id: 'ARBP9OOSHTCHU', country: 'EG', currency: 'EGP', taxesIncluded: true },
  { id: 'A33AVAJ2PDY3EV', country: 'TR', currency: 'TRY', taxesIncluded: true },
  { id: 'A17E79C6D8DWNP', country: 'SA', currency: 'SAR', taxesIncluded: true },
  { id: 'A2VIGQ35RCS4UG', country: 'AE', currency: 'AED', taxesIncluded: true },
  { id: 'A21TJRUUN4KGV', country: 'IN', currency: 'INR', taxesIncluded: true },
  // Far East
  { id: 'A19VAU5U5O7RUS', country: 'SG', currency: 'SGD', taxesIncluded: true },
  { id: 'A39IBJ37TRP1C6', country: 'AU', currency: 'AUD', taxesIncluded: true },
  { id: 'A1VC38T7YXB528', country: 'JP', currency: 'JPY', taxesIncluded: true },
];

const BY_ID = new Map(MARKETPLACES.map((m) => [m.id, m]));

/** The marketplace with this id, or undefined when it is not one of Amazon's. */
export function findMarketplace(id: unknown): Marketplace | undefined {
  return typeof id === 'string' ? BY_ID.get(id) : undefined;
}

/** The marketplace with this id; an id that is not in the table is an error naming it. */
export function marketplaceById(id: unknown): Marketplace {
  const found = findMarketplace(id);
  if (!found) throw new Error(`unknown Amazon marketplace id ${JSON.stringify(id)}: not in SP-API's marketplace table (nodes/amazon/contract.ts)`);
  return found;
}

// ─── Reports API and the settlement report ──────────────────────────────────────────────────────

/**
 * Reports API 2021-06-30 (published model
 * https://github.com/amzn/selling-partner-api-models/blob/main/models/reports-api-model/reports_2021-06-30.json,
 * whose ReportDocument has `reportDocumentId`, `url` and `compressionAlgorithm` with the one value
 * GZIP; guide https://developer-docs.amazon.com/sp-api/docs/retrieve-a-report):
 * - getReports `GET /reports/2021-06-30/reports`: `reportTypes` (1–10) or `nextToken` is required;
 *   with reportTypes, `processingStatuses` (CANCELLED, DONE, FATAL, IN_PROGRESS, IN_QUEUE),
 *   `marketplaceIds`, `createdSince` (default 90 days ago; reports are kept at most 90 days),
 *   `createdUntil` (default now) and `pageSize` (1–100, default 10). A following page is asked
 *   for with `nextToken` as the ONLY parameter (any other parameter with it fails).
 *   Answers `{ reports: [Report], nextToken? }`; Report: reportId, reportType, dataStartTime,
 *   dataEndTime, createdTime, processingStatus, processingStartTime, processingEndTime,
 *   reportDocumentId (when DONE), marketplaceIds, reportScheduleId.
 * - getReportDocument `GET /reports/2021-06-30/documents/{reportDocumentId}` →
 *   `{ reportDocumentId, url, compressionAlgorithm? }`: `url` is pre-signed and expires after five
 *   minutes; when `compressionAlgorithm` is present (only `GZIP` is defined) the downloaded bytes
 *   must be decompressed. The download itself is a plain GET of the URL, without SP-API headers.
 */
export const REPORTS_PATH = '/reports/2021-06-30/reports';
export const REPORT_DOCUMENTS_PATH = '/reports/2021-06-30/documents';
export const REPORT_PROCESSING_STATUSES = ['CANCELLED', 'DONE', 'FATAL', 'IN_PROGRESS', 'IN_QUEUE'] as const;
export type ReportProcessingStatus = (typeof REPORT_PROCESSING_STATUSES)[number];
export const GET_REPORTS_PAGE_SIZE = { min: 1, max: 100, default: 10 } as const;
export const REPORT_RETENTION_DAYS = 90;
export const REPORT_DOCUMENT_URL_LIFETIME_MS = 5 * 60_000;
export const COMPRESSION_ALGORITHMS = ['GZIP'] as const;

/**
 * The settlement report (https://developer-docs.amazon.com/sp-api/docs/report-type-values-settlement):
 * Amazon creates it on its own schedule; it cannot be requested (createReport) or scheduled, only
 * found with getReports. Tab-delimited flat file. The V1 flat file and the XML settlement report
 * are deprecated (SP-API deprecation schedule), so V2 is the one read.
 */
export const SETTLEMENT_REPORT_TYPE = 'GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2';

/**
 * The V2 file's columns in Amazon's order (the report type page's attribute list, also at
 * https://developer-docs.amazon.com/sp-api/docs/settlement-reports-attributes; field meanings on
 * Amazon's settlement report field definitions). Files seen in the wild carry a 24th column,
 * `promotion-id` (third-party settlement tools' sample files): a reader takes columns by the names
 * in the header row and accepts extra ones; the simulator can write either form.
 */
export const SETTLEMENT_COLUMNS = [
  'settlement-id',
  'settlement-start-date',
  'settlement-end-date',
  'deposit-date',
  'total-amount',
  'currency',
  'transaction-type',
  'order-id',
  'merchant-order-id',
  'adjustment-id',
  'shipment-id',
  'marketplace-name',
  'amount-type',
  'amount-description',
  'amount',
  'fulfillment-id',
  'posted-date',
  'posted-date-time',
  'order-item-code',
  'merchant-order-item-id',
  'merchant-adjustment-item-id',
  'sku',
  'quantity-purchased',
] as const;
export const SETTLEMENT_OPTIONAL_COLUMNS = ['promotion-id'] as const;

/**
 * Layout and formats of the settlement file:
 * - Row 1 names the columns; row 2 is the settlement's summary, with only settlement-id,
 *   settlement-start-date, settlement-end-date, deposit-date, total-amount and currency filled;
 *   every later row is one signed amount (amount-type, amount-description, amount) of a
 *   transaction. Amazon does not state that total-amount is the sum of the rows' amounts: settlement
 *   tools rely on it and treat a difference as a missing line (A2X and Link My Books help pages on
 *   settlements that do not add up), which is how Tillwire treats it too.
 * - `settlement-id` is numeric, 1–20 digits (Amazon's field definitions).
 * - Dates: Amazon's field definitions show ISO 8601 with an offset (`2003-10-03T16:00:00-07:00`);
 *   files downloaded today write `2026-03-06 08:52:26 UTC`, and files of European marketplaces
 *   are reported by sellers and settlement tools with the day first, `06.03.2026 08:52:26 UTC`
 *   (not in Amazon's own documentation, and no public sample file with it was found: unconfirmed;
 *   public samples seen show ISO `2026-03-02T14:23:00+00:00` and `2025-06-09 05:23:19 UTC`).
 *   `posted-date` is a date alone in the same order. All three forms are read.
 * - Amounts are written in the marketplace's number format: a decimal point (`95.00`) or, in
 *   European marketplaces, a decimal comma (`95,00`; third-party settlement guides only, Amazon
 *   does not say); no grouping marks. Fees, refunds and reserves
 *   held are negative. One currency per file (`currency`, field definitions: "All order,
 *   adjustment, fee, and event data will have the same currency").
 * - Amazon sells in no 3-decimal currency (the marketplace table above): a settlement has 0 (JPY)
 *   or 2 decimals, but the reader applies whatever exponent the file's currency has.
 * - Reserves: amount-description `Current Reserve Amount` (held in this settlement, negative) and
 *   `Previous Reserve Amount Balance` (the previous hold released, positive) (A2X and Link My Books
 *   help pages on Amazon reserves).
 */
export const SETTLEMENT_RESERVE_HELD = 'Current Reserve Amount';
export const SETTLEMENT_RESERVE_RELEASED = 'Previous Reserve Amount Balance';

/**
 * Reading a listing's quantity back (operation "read" of the inventory node): Listings Items
 * 2021-08-01 `getListingsItem`, `GET /listings/2021-08-01/items/{sellerId}/{sku}?marketplaceIds=…&includedData=…`
 * (https://developer-docs.amazon.com/sp-api/docs/listings-items-api-v2021-08-01-reference,
 * https://developer-docs.amazon.com/sp-api/docs/retrieve-details-about-a-listing). With
 * `includedData=fulfillmentAvailability` the item carries `fulfillmentAvailability: [{ fulfillmentChannelCode,
 * quantity? }]`: `DEFAULT` is the seller's own (merchant-fulfilled) quantity, the one
 * patchListingsItem sets through `/attributes/fulfillment_availability`; Amazon-fulfilled codes carry
 * no quantity there. A SKU the seller has no listing for answers 404. Usage plan: USAGE_PLANS.getListingsItem
 * (5 requests/s, burst 10), 429 `QuotaExceeded` above it.
 */
export const LISTING_QUANTITY_READ = { includedData: ['summaries', 'fulfillmentAvailability'], merchantChannelCode: 'DEFAULT' } as const;
