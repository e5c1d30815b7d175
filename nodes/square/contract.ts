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
