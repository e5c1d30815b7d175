/**
 * What Tillwire relies on from Square's API, in one place: the client, the webhook verification
 * and the simulator (simulators/square) read these facts from here. No Node-RED import.
 */

/** The Square-Version header sent when the config names none. */
export const DEFAULT_SQUARE_VERSION = '2025-08-20';

/**
 * When Square retries a webhook that was not acknowledged: after 1, 2, 4, 8, 16 and 32 minutes,
 * then hourly, for 72 hours in all.
 */
export const WEBHOOK_RETRY_SCHEDULE_MS: readonly number[] = [1, 2, 4, 8, 16, 32].map((m) => m * 60_000).concat(Array.from({ length: 72 }, () => 3_600_000));
