/**
 * What Tillwire relies on from Square's API, in one place: the client, the webhook verification
 * and the simulator (simulators/square) read these facts from here. No Node-RED import.
 */

/** The Square-Version header sent when the config names none. */
export const DEFAULT_SQUARE_VERSION = '2025-08-20';

/**
 * Square dates its API versions (Square-Version, YYYY-MM-DD, about monthly) but gives a version no
 * end date: an older version keeps working, and what goes away is individual functionality, which
 * Square deprecates, typically at least 12 months before retiring it, in every version at once
 * (https://developer.squareup.com/docs/build-basics/versioning). So the window is open-ended
 * (`accessibleUntil: null`); retirements that hit our calls are followed in docs/connectors/square.md.
 * test/unit/api-versions.test.ts holds the config dialog's default to this one.
 */
export const API_VERSION_SUPPORT = {
  defaultVersion: DEFAULT_SQUARE_VERSION,
  versions: [{ version: DEFAULT_SQUARE_VERSION, accessibleUntil: null }],
} as const;

/**
 * When Square retries a webhook that was not acknowledged: after 1, 2, 4, 8, 16 and 32 minutes,
 * then hourly, for 72 hours in all.
 */
export const WEBHOOK_RETRY_SCHEDULE_MS: readonly number[] = [1, 2, 4, 8, 16, 32].map((m) => m * 60_000).concat(Array.from({ length: 72 }, () => 3_600_000));

// ───────────────────────────────────────────── Payouts API ─────────────────────────────────────────────
// Square's Payouts API (https://developer.squareup.com/reference/square/payouts-api, guides at
// https://developer.squareup.com/docs/payouts/overview and .../docs/payouts-api/list-payout-entries);
// OAuth scope PAYOUTS_READ; no data older than January 2021.
// - ListPayouts `GET /v2/payouts`: query location_id (default: the main location), status, begin_time
//   (inclusive, RFC 3339, on the payout's creation time; default now − 1 year), end_time, sort_order
//   (ASC | DESC), cursor, limit (default and maximum 100).
// - GetPayout `GET /v2/payouts/{payout_id}`.
// - ListPayoutEntries `GET /v2/payouts/{payout_id}/payout-entries`: sort_order, cursor, limit (≤ 100).
// A Payout: id, status, location_id, created_at, updated_at, amount_money (positive a deposit,
// negative a withdrawal, never zero), destination {type, id}, version, type (BATCH | SIMPLE),
// payout_fee [{amount_money, effective_at, type}], arrival_date (YYYY-MM-DD), end_to_end_id.
// A PayoutEntry: id, payout_id, effective_at, type (an ActivityType), gross_amount_money,
// fee_amount_money (Square's fee, positive when taken: net = gross − fee), net_amount_money and one
// type_<type>_details object (type_charge_details {payment_id}, type_refund_details {payment_id,
// refund_id}, type_dispute_details / type_open_dispute_details {payment_id, dispute_id}, …).
// "The total amount of the payout will equal the sum of the payout entries for a batch payout."
// Money is { amount: integer minor units, currency }; the guides' examples spell the code
// `currency_code`, so a reader takes either.
// Rate limits: Square publishes no figures; a request over the limit is answered 429 RATE_LIMITED,
// without Retry-After (client.ts paces and backs off).

/** Payout statuses (PayoutStatus): SENT to the bank, PAID (completed), FAILED (rejected by the bank). */
export const PAYOUT_STATUSES = ['SENT', 'FAILED', 'PAID'] as const;
export type PayoutStatus = (typeof PAYOUT_STATUSES)[number];
/** A payout in one of these states no longer changes by itself: the settlement source emits it then. */
export const FINAL_PAYOUT_STATUSES: readonly PayoutStatus[] = ['PAID', 'FAILED'];

/** Page size of ListPayouts and ListPayoutEntries: default and maximum 100. */
export const PAYOUTS_MAX_PAGE = 100;

/** PayoutFee types: a transfer fee taken from the payout, and its refund. */
export const PAYOUT_FEE_TYPES = ['TRANSFER_FEE', 'TRANSFER_FEE_REFUND'] as const;

/**
 * The PayoutEntry types (ActivityType) the settlement mapping names; Square's list is longer and
 * grows, and a type not named here becomes an `other` line carrying the type as its description.
 */
export const PAYOUT_ENTRY_TYPES = [
  'CHARGE',
  'REFUND',
  'FEE',
  'ADJUSTMENT',
  'HOLD_ADJUSTMENT',
  'RESERVE_HOLD',
  'RESERVE_RELEASE',
  'DISPUTE',
  'OPEN_DISPUTE',
  'RELEASE_ADJUSTMENT',
  'DEPOSIT_FEE',
  'DEPOSIT_FEE_REVERSED',
  'FREE_PROCESSING',
  'SUBSCRIPTION_FEE',
  'SUBSCRIPTION_FEE_REFUND',
  'PAID_SERVICE_FEE',
  'PAID_SERVICE_FEE_REFUND',
  'THIRD_PARTY_FEE',
  'THIRD_PARTY_FEE_REFUND',
  'TAX_ON_FEE',
  'OTHER',
] as const;

/**
 * Reading counts back (operation "read" of the inventory node): BatchRetrieveInventoryCounts,
 * `POST /v2/inventory/counts/batch-retrieve` with `catalog_object_ids`, `location_ids`, `states`
 * (`IN_STOCK`: what can be sold), `limit` (1–1000, default 1000) and `cursor`; the answer is
 * `{ counts: [{ catalog_object_id, catalog_object_type, state, location_id, quantity, calculated_at }],
 * cursor? }`, `quantity` a decimal number as text, and no count for an object never counted at a
 * location (https://developer.squareup.com/reference/square/inventory-api/batch-retrieve-inventory-counts,
 * https://developer.squareup.com/docs/inventory-api/what-it-does). The older
 * `/v2/inventory/batch-retrieve-counts` was retired on 2023-11-15
 * (https://developer.squareup.com/reference/square/inventory-api/DeprecatedBatchRetrieveInventoryCounts).
 * Needs INVENTORY_READ. A 429 RATE_LIMITED is retried (client.ts).
 */
export const INVENTORY_COUNTS_READ = { path: '/v2/inventory/counts/batch-retrieve', state: 'IN_STOCK', maxLimit: 1000, idsPerRequest: 100 } as const;
