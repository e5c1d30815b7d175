/**
 * What Tillwire relies on from the bol.com Retailer API v10 (docs/connectors/bol-contract.md), in
 * one place: the client and the simulator (simulators/bol) both read these facts from here.
 * No Node-RED import.
 */

/**
 * bol versions the Retailer API per resource since v10 (developers.bol.com/en/docs/retailer-api-migration-guide/):
 * a resource moves to v11 on its own. v11 so far is the Offer API (GA on 19 January 2026, media type
 * application/vnd.retailer.v11+json; https://api.bol.com/retailer/public/Retailer-API/v11/functional/offer-api/releasenotes.html).
 * Tillwire sets offer stock through v10's offer endpoint, deprecated but still in the v10 specification
 * (OFFER_STOCK_MAX). The other resources we use (orders, shipments, process status, invoices) are current on v10 (release 10.24, 18 December 2025; https://api.bol.com/retailer/public/Retailer-API/v10/releasenotes.html)
 * and bol has published no end-of-support date for v10 (`accessibleUntil: null`). When bol moves one
 * of them, give it its own media type here. test/unit/api-versions.test.ts reads this.
 */
export const API_VERSION_SUPPORT = {
  defaultVersion: 'v10',
  versions: [{ version: 'v10', accessibleUntil: null }],
  /** Which version each resource we call is on. */
  resources: { orders: 'v10', shipments: 'v10', 'process-status': 'v10', invoices: 'v10', offers: 'v10' },
} as const;

/** The media type every /retailer call must accept and sends. */
export const MEDIA_TYPE = 'application/vnd.retailer.v10+json';
/** The media type of an error (problem) answer. */
export const PROBLEM_TYPE = 'application/vnd.retailer.v10+problem+json';
/** Orders per page of GET /retailer/orders. */
export const PAGE_SIZE = 50;
/** An access token's lifetime as bol states it (expires_in). */
export const TOKEN_LIFETIME_SECONDS = 299;

/** The endpoint groups bol limits separately. */
export type BolGroup = 'orders:list' | 'orders:get' | 'shipments:create' | 'process-status:get' | 'offers:stock' | 'offers:get' | BolInvoiceGroup;

/**
 * Requests per window per endpoint group. bol does not publish its production numbers: it sends
 * them on every limited answer (x-ratelimit-limit/-remaining/-reset) and a 429 carries
 * Retry-After. These are the starting values the client paces itself by until bol's headers say
 * otherwise, and what the simulator enforces.
 */
export const RATE_LIMITS: Readonly<Record<string, { limit: number; windowSeconds: number }>> = {
  // keyed by BolGroup
  'orders:list': { limit: 40, windowSeconds: 2 },
  'orders:get': { limit: 100, windowSeconds: 4 },
  'shipments:create': { limit: 50, windowSeconds: 2 },
  'process-status:get': { limit: 100, windowSeconds: 2 },
  // Not published either; bol's rate-limit page asks to send only stock that changed.
  'offers:stock': { limit: 50, windowSeconds: 2 },
  // Not published either; the read-back reads one offer per SKU, so the same starting pace.
  'offers:get': { limit: 50, windowSeconds: 2 },
  // Invoices are read a few times a month: deliberately low starting paces.
  'invoices:list': { limit: 24, windowSeconds: 60 },
  'invoices:get': { limit: 24, windowSeconds: 60 },
  'invoices:specification': { limit: 24, windowSeconds: 60 },
};

/**
 * The process status of every asynchronous (PUT/POST/DELETE) call is read from the Shared API in v10:
 * `GET /shared/process-status/{process-status-id}` (OpenAPI "v10 - Shared API", operation
 * get-process-status, https://api.bol.com/retailer/public/apispec/Shared%20API%20-%20v10; the v10
 * demo's links point at `/shared-demo/process-status/{id}`). Statuses are kept for a limited time,
 * then answer 404.
 */
export const PROCESS_STATUS_PATH = '/shared/process-status';

// ────────────────────────────────────────── offer stock ─────────────────────────────────────────
// docs/connectors/bol-contract.md, "Offer stock", has each point with its source and status.

/**
 * `PUT /retailer/offers/{offer-id}/stock` with `{ amount, managedByRetailer }`, both required;
 * `amount` an integer from 0 to 999 (v10 OpenAPI, operation update-offer-stock, schema
 * UpdateOfferStockRequest: https://api.bol.com/retailer/public/apispec/Retailer%20API%20-%20v10).
 * The answer is 202 with a process status (eventType UPDATE_OFFER_STOCK); 400 with violations when
 * the body breaks the schema. The v10 offer endpoints are marked deprecated in favour of the v11
 * Offer API (synchronous, GA January 2026); no removal date is published.
 */
export const OFFER_STOCK_MAX = 999;
export const OFFER_STOCK_EVENT = 'UPDATE_OFFER_STOCK';

/**
 * Reading an offer's stock back (operation "read" of the inventory node): `GET /retailer/offers/{offer-id}`
 * answers the RetailerOffer (v10 OpenAPI, operation get-offer,
 * https://api.bol.com/retailer/public/apispec/Retailer%20API%20-%20v10; demo answers at
 * https://api.bol.com/retailer/public/Retailer-API/demo/v10-OFFERS.html) with `stock { amount,
 * correctedStock, managedByRetailer }`: `amount` the figure the retailer last set, `correctedStock`
 * what bol offers now, the amount less open orders (all of them when bol manages the stock, those
 * placed after the last update when the retailer does). 404 for an offer id bol does not know. The
 * offers export is not the current stock; this endpoint is (bol's offers guide,
 * https://api.bol.com/retailer/public/Retailer-API/v10/functional/retailer-api/offers-process.html).
 */
export const OFFER_READ = { path: '/retailer/offers', group: 'offers:get' } as const;

// ─────────────────────────────────────────── invoices ───────────────────────────────────────────
// docs/connectors/bol-contract.md, "Invoices", has each point with its source and status.

/** The invoice groups bol limits separately (one per endpoint). */
export type BolInvoiceGroup = 'invoices:list' | 'invoices:get' | 'invoices:specification';

/**
 * GET /retailer/invoices: `period-start-date` and `period-end-date` (yyyy-MM-dd) together, at most
 * 31 days apart; without them the past 4 weeks (v10 OpenAPI, operation "Get all invoices").
 */
export const INVOICE_LIST_MAX_DAYS = 31;

/** invoiceType values (api.bol.com …/v10/functional/retailer-api/invoices.html). */
export const INVOICE_TYPES = { retailer: 'ALL_IN_ONE', advertising: 'ADVERTISING_VIA_BOL' } as const;

/**
 * Media types of GET /retailer/invoices/{id} and …/specification in v10 (v10 OpenAPI, as
 * reproduced by generated clients): the invoice as JSON or PDF; the specification as JSON or a
 * spreadsheet. Which ones an invoice offers is listed per invoice in the list (`invoiceMediaTypes`,
 * `specificationMediaTypes`). Tillwire reads the JSON forms.
 */
export const INVOICE_MEDIA_TYPES = { json: 'application/vnd.retailer.v10+json', pdf: 'application/vnd.retailer.v10+pdf' } as const;
export const SPECIFICATION_MEDIA_TYPES = {
  json: 'application/vnd.retailer.v10+json',
  spreadsheet: 'application/vnd.retailer.v10+openxmlformats-officedocument.spreadsheetml.sheet',
} as const;

/** Lines per page of GET /retailer/invoices/{id}/specification (`page` ≥ 1; "a maximum of 25,000 lines"). */
export const SPECIFICATION_PAGE_SIZE = 25_000;
/** Pages Tillwire reads of one specification at most (10,000,000 lines): a bound, not bol's. */
export const SPECIFICATION_MAX_PAGES = 400;

/**
 * payableAmount in the invoice's legalMonetaryTotal is from bol's side: positive when the retailer
 * owes bol, negative when bol owes the retailer (…/invoices.html, "Settlement"). Specification
 * amounts follow the same side: turnover negative (bol owes it), costs positive. A settlement is
 * seen from the seller, so every amount changes sign.
 */
export const BOL_SIDE_SIGN = -1;

/**
 * How one specification line is written in the JSON form. bol's OpenAPI gives the answer no schema
 * (the operation "Get an invoice specification by invoice id" answers a plain string in the v10
 * spec, https://api.bol.com/retailer/public/apispec/Retailer%20API%20-%20v10), so the names come
 * from integrators' public client code on GitHub that reads real answers (Accept
 * application/vnd.retailer.v6+json; no v10 sample was found, so the v10 shape is taken to be the
 * same): the lines under `invoiceSpecification`; per line `id`, `invoiceLineRef`, `invoicedQuantity.value`,
 * `lineExtensionAmount.value` (excluding VAT), `item.Name.value` (the line type),
 * `item.Description[0].value`, `item.ClassifiedTaxCategory[0].Percent.value`,
 * `item.AdditionalItemProperty[{ Name.value, Value.value }]` and the VAT in
 * `taxTotal.TaxAmount.value` — capital T, UBL's element name, unlike the lower-case top-level
 * fields. bol's own page of the older API shows the same line in its XML form (`InvoiceSpecification`
 * with `ID` like `514884517#1#TURNOVER`, `InvoiceLineRef`, `InvoicedQuantity`, `LineExtensionAmount`,
 * `TaxTotal/TaxAmount`, `Item/Description`, `Item/Name`, `Item/ClassifiedTaxCategory`,
 * `Item/AdditionalItemProperty`; https://developers.bol.com/retrieve-an-invoice-specification/). Those clients read the order id as the first AdditionalItemProperty by position; the
 * property names below (EAN apart) are assumed, as is the date's.
 */
export const SPECIFICATION_FIELDS = {
  lines: 'invoiceSpecification',
  vat: 'TaxAmount',
  properties: { ean: 'EAN', orderId: 'ORDER_ID', orderItemId: 'ORDER_ITEM_ID', date: 'TRANSACTION_DATE' },
} as const;

/**
 * The line types of a retailer (ALL_IN_ONE) invoice (developers.bol.com/invoice-line-types/ and the
 * v3 invoices page's appendix; TURNOVER and CORRECTION_TURNOVER also appear in third-party
 * descriptions of v10 specifications). invoice-map.ts says what each is in the canonical model.
 */
export const INVOICE_LINE_TYPES = [
  'TURNOVER',
  'CORRECTION_TURNOVER',
  'COMMISSION',
  'CORRECTION_COMMISSION',
  'SHIPMENT_LABEL',
  'SHIPMENT_LABEL_POST',
  'CORRECTION_SHIPMENT_LABEL',
  'PLAZA_RETURN_SHIPPING_LABEL',
  'CORRECTION_PLAZA_RETURN_SHIPPING_LABEL',
  'PICK_PACK',
  'CORRECTION_PICK_PACK',
  'OUTBOUND',
  'CORRECTION_OUTBOUND',
  'INBOUND',
  'FIRST_MILE',
  'CORRECTION_FIRST_MILE',
  'LOGISTICAL_CHARGE',
  'STOCK',
  'NCK_STOCK',
  'RETAILER_AUTHORIZATION',
  'CORRECTION_RETAILER_AUTHORIZATION',
  'COMPENSATION',
  'COMPENSATION_LOST_GOODS',
  'CORRECTION_CORRECTION',
] as const;
export type InvoiceLineType = (typeof INVOICE_LINE_TYPES)[number];
