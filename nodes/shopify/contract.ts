/**
 * What Tillwire relies on from Shopify's Admin API, in one place: the config node, the client and
 * the simulator (simulators/shopify) read these facts from here. No Node-RED import.
 */

/** The Admin API version a new account is set to (a config node can name another). */
export const DEFAULT_API_VERSION = '2026-10';

/**
 * The stable Admin API versions Tillwire offers and the day (UTC) until which Shopify keeps each
 * accessible. Shopify supports a stable version for at least 12 months; a request for a version it
 * no longer serves is answered by the oldest one it still does, so a stale version changes answers
 * silently. Dates as Shopify states them (release notes, https://shopify.dev/changelog/release-notes/2026-10
 * and the per-version pages under https://shopify.dev/changelog/release-notes); where Shopify only
 * promises the 12-month minimum, the date is that minimum. test/unit/api-versions.test.ts fails
 * when the default is not accessible for the next 90 days, and when the config dialog offers a
 * version not listed here.
 */
export const API_VERSION_SUPPORT = {
  defaultVersion: DEFAULT_API_VERSION,
  versions: [
    { version: '2026-01', accessibleUntil: '2027-01-16' },
    { version: '2026-04', accessibleUntil: '2027-04-01' }, // the 12-month minimum
    { version: '2026-07', accessibleUntil: '2027-07-01' }, // "at least" this day
    { version: '2026-10', accessibleUntil: '2027-10-16' },
  ],
} as const;

/**
 * From 2026-04 every quantity of `inventorySetQuantities` must carry `changeFromQuantity` (null skips
 * the compare-and-swap check) and `compareQuantity` / `ignoreCompareQuantity` are gone
 * (https://shopify.dev/changelog/finalizing-compare-and-swap-redesign-for-inventory-set-quantities).
 * The `@idempotent` directive is mandatory on the same mutation from this version too.
 */
export const CHANGE_FROM_QUANTITY_SINCE = '2026-04';
/** The version that introduced `changeFromQuantity` (optional there; older versions reject it as unknown). */
export const CHANGE_FROM_QUANTITY_INTRODUCED = '2026-01';

/**
 * In 2026-10 `inventorySetQuantities` answers `IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED` when a request
 * with the same key failed before, asking for a new key (the 2026-10 InventorySetQuantitiesUserErrorCode
 * enum, https://shopify.dev/docs/api/admin-graphql/latest/enums/InventorySetQuantitiesUserErrorCode).
 * The failed attempt applied nothing, so a derived key is safe (nodes/shopify/client.ts).
 */
export const PREVIOUS_ATTEMPT_FAILED_SINCE = '2026-10';

/** Whether `version` (YYYY-MM or `unstable`) is `since` or newer; `unstable` is the newest. */
export function versionAtLeast(version: string, since: string): boolean {
  return version === 'unstable' || version >= since;
}

/**
 * What to tell the user about a configured version on `today`: undefined when it is listed and
 * still accessible (or `unstable`), otherwise a sentence naming the problem and the default.
 */
export function apiVersionWarning(version: string, today: Date): string | undefined {
  if (version === 'unstable') return undefined;
  const entry = API_VERSION_SUPPORT.versions.find((v) => v.version === version);
  if (!entry)
    return `Shopify API version ${version} is not one Tillwire is tested with (${API_VERSION_SUPPORT.versions.map((v) => v.version).join(', ')}); Shopify answers a version it no longer serves with the oldest one it does. The default is ${DEFAULT_API_VERSION}.`;
  if (Date.parse(`${entry.accessibleUntil}T00:00:00Z`) <= today.getTime())
    return `Shopify API version ${version} is out of support since ${entry.accessibleUntil}; Shopify now answers with a newer version. Move to ${DEFAULT_API_VERSION}.`;
  return undefined;
}

/** The REST request bucket on a standard plan: 40 requests, leaking 2 a second (X-Shopify-Shop-Api-Call-Limit). */
export const REST_BUCKET = { size: 40, leakPerSecond: 2 } as const;

/**
 * Shopify Payments payouts (GraphQL Admin API, `shopifyPaymentsAccount`; needs the
 * `shopify_payments_payouts` scope). Where each fact is documented:
 * - `ShopifyPaymentsAccount.payouts(first, after, query, sortKey, reverse)` and
 *   `.balanceTransactions(first, after, query, sortKey, reverse)` are Relay connections (cursor
 *   paging with `pageInfo { hasNextPage endCursor }`); both take Shopify's search syntax in `query`
 *   since 2024-07 (https://shopify.dev/changelog/additions-to-the-graphql-api-for-shopify-payments-payouts-and-balance-transactions).
 *   Payout sort keys include ISSUED_AT and STATUS (https://shopify.dev/docs/api/admin-graphql/latest/enums/PayoutSortKeys);
 *   balance transaction sort keys include PAYOUT_DATE, PAYOUT_STATUS, PROCESSED_AT, TRANSACTION_TYPE
 *   (https://shopify.dev/docs/api/admin-graphql/latest/enums/BalanceTransactionSortKeys).
 * - A payout (`ShopifyPaymentsPayout`): `id`, `legacyResourceId`, `issuedAt` ("the payout only contains
 *   balance transactions that were available at this time"), `net` (MoneyV2), `status`, `summary`,
 *   `transactionType` DEPOSIT | WITHDRAWAL (https://shopify.dev/docs/api/admin-graphql/latest/objects/ShopifyPaymentsPayout,
 *   .../enums/ShopifyPaymentsPayoutTransactionType).
 * - Payout status SCHEDULED, IN_TRANSIT (deprecated), PAID, FAILED ("declined by the bank"), CANCELED
 *   (https://shopify.dev/docs/api/admin-graphql/latest/enums/ShopifyPaymentsPayoutStatus).
 * - The summary (`ShopifyPaymentsPayoutSummary`): gross and fee per kind — charges, refunds, adjustments
 *   (including disputes), reserved funds, retried payouts, advances — each a MoneyV2
 *   (https://shopify.dev/docs/api/admin-graphql/latest/objects/ShopifyPaymentsPayoutSummary).
 * - A balance transaction (`ShopifyPaymentsBalanceTransaction`): `type` (ShopifyPaymentsTransactionType),
 *   `test`, `amount`, `fee`, `net` ("the net amount contributing to the merchant's balance"),
 *   `associatedOrder { id name }`, `associatedPayout { id status }`, `sourceType` (CHARGE, REFUND,
 *   DISPUTE, ADJUSTMENT, ADJUSTMENT_REVERSAL, SYSTEM_ADJUSTMENT, TRANSFER), `sourceId`, `transactionDate`,
 *   `adjustmentReason` (null unless the source is an adjustment)
 *   (https://shopify.dev/docs/api/admin-graphql/latest/objects/ShopifyPaymentsBalanceTransaction, .../enums/ShopifyPaymentsSourceType).
 * - Transaction types (`ShopifyPaymentsTransactionType`,
 *   https://shopify.dev/docs/api/admin-graphql/latest/enums/ShopifyPaymentsTransactionType): CHARGE, REFUND,
 *   REFUND_FAILURE, DISPUTE_WITHDRAWAL, RESERVED_FUNDS*, ADJUSTMENT, TRANSFER, TRANSFER_FAILURE,
 *   TRANSFER_CANCEL, … (there is no PAYOUT type in GraphQL). The payout's own movement is a
 *   transaction of type TRANSFER with sourceType TRANSFER and sourceId the payout's id (Shopify's
 *   example answer, https://shopify.dev/docs/api/admin-graphql/latest/queries/shopifyPaymentsAccount).
 * - `balanceTransactions` takes `query`, `sortKey` (BalanceTransactionSortKeys, default PROCESSED_AT)
 *   and `hideTransfers` (https://shopify.dev/docs/api/admin-graphql/latest/objects/ShopifyPaymentsAccount).
 *   The transactions of one payout are searched with `payments_transfer_id:<payout legacyResourceId>`
 *   (the GraphQL form of REST's `transactions.json?payout_id=`, https://shopify.dev/docs/api/admin-rest/latest/resources/transactions).
 *   NOT confirmed in Shopify's own text: the search field name is the one public Shopify Payments
 *   integrations use. Were it wrong, a real shop's payout would come back with transactions that
 *   do not add up to its net, and reconciliation would hold it rather than post it.
 * - Cost: both connections are charged like every connection (about `first` points plus the
 *   fields), reported in `extensions.cost` and paced by the shop's cost bucket like the orders query.
 * What Tillwire infers rather than reads: the payout's own transfer (type TRANSFER)
 * is the money leaving the balance, not a line of the statement, and is skipped; a WITHDRAWAL's
 * `net` is read as the amount taken from the bank (negative in the settlement).
 */
export const PAYOUT_STATUSES = { SCHEDULED: 'scheduled', IN_TRANSIT: 'in-transit', PAID: 'paid', FAILED: 'failed', CANCELED: 'canceled' } as const;

/** The search that selects one payout's balance transactions. */
export const payoutTransactionsSearch = (legacyPayoutId: string) => `payments_transfer_id:${legacyPayoutId}`;

/**
 * Payout summary fields Tillwire reads (gross and fee per kind), as ShopifyPaymentsPayoutSummary
 * names them, `refundsFeeGross` included (https://shopify.dev/docs/api/admin-graphql/latest/objects/ShopifyPaymentsPayoutSummary).
 */
export const PAYOUT_SUMMARY_FIELDS = [
  'chargesGross',
  'chargesFee',
  'refundsFeeGross',
  'refundsFee',
  'adjustmentsGross',
  'adjustmentsFee',
  'reservedFundsGross',
  'reservedFundsFee',
  'retriedPayoutsGross',
  'retriedPayoutsFee',
] as const;

/**
 * Reading quantities back (operation "read" of the inventory node). `inventoryItems(first, after,
 * query)` is a Relay connection of InventoryItem (`nodes`, `pageInfo { hasNextPage endCursor }`,
 * `first` at most 250) searchable by `sku:` terms joined with OR
 * (https://shopify.dev/docs/api/admin-graphql/latest/queries/inventoryItems); an item's
 * `inventoryLevel(locationId: ID!)` is its level at that location, null when it is not stocked there
 * (https://shopify.dev/docs/api/admin-graphql/latest/objects/InventoryItem), and the level's
 * `quantities(names: [String!]!)` gives `{ name, quantity }` per quantity name
 * (https://shopify.dev/docs/api/admin-graphql/latest/objects/InventoryLevel,
 * https://shopify.dev/docs/api/admin-graphql/latest/objects/InventoryQuantity). The names are the
 * inventory states (https://shopify.dev/docs/apps/build/inventory-management-apps/manage-quantities-states):
 * `available` (sellable, not committed), `committed` (in placed, unfulfilled orders), `on_hand`
 * (available + committed + unavailable), besides `damaged`, `quality_control`, `reserved`,
 * `safety_stock`, `incoming`. `available` may be negative when a product sells when out of stock.
 * Needs the `read_inventory` scope. Query cost is charged like every query (the client's governor).
 */
export const INVENTORY_READ = {
  // `available` is compared; the states that are not for sale ride along (Shopify's inventory states:
  // damaged, quality_control and safety_stock count in on_hand but cannot be sold).
  names: ['available', 'committed', 'on_hand', 'damaged', 'quality_control', 'reserved', 'safety_stock'],
  /** SKUs in one search: the query string stays short and one page usually holds every match. */
  skusPerSearch: 50,
  /** Items per page (Shopify's maximum is 250). */
  first: 100,
} as const;
