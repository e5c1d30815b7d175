/**
 * What Tillwire relies on from Shopify's Admin API, in one place: the config node, the client and
 * the simulator (simulators/shopify) read these facts from here. No Node-RED import.
 */

/** The Admin API version a new account is set to (a config node can name another). */
export const DEFAULT_API_VERSION = '2025-01';

/** The REST request bucket on a standard plan: 40 requests, leaking 2 a second (X-Shopify-Shop-Api-Call-Limit). */
export const REST_BUCKET = { size: 40, leakPerSecond: 2 } as const;
