/**
 * What Tillwire relies on from the bol.com Retailer API v10 (docs/connectors/bol-contract.md), in
 * one place: the client and the simulator (simulators/bol) both read these facts from here.
 * No Node-RED import.
 */

/**
 * bol versions the Retailer API per resource since v10 (developers.bol.com/en/docs/retailer-api-migration-guide/):
 * a resource moves to v11 on its own. v11 so far is the Offer API (GA on 19 January 2026, media type
 * application/vnd.retailer.v11+json; https://api.bol.com/retailer/public/Retailer-API/v11/functional/offer-api/releasenotes.html),
 * which Tillwire does not call. The resources we use (orders, shipments, process status) are
 * current on v10 (release 10.24, 18 December 2025; https://api.bol.com/retailer/public/Retailer-API/v10/releasenotes.html)
 * and bol has published no end-of-support date for v10 (`accessibleUntil: null`). When bol moves one
 * of them, give it its own media type here. test/unit/api-versions.test.ts reads this.
 */
export const API_VERSION_SUPPORT = {
  defaultVersion: 'v10',
  versions: [{ version: 'v10', accessibleUntil: null }],
  /** Which version each resource we call is on. */
  resources: { orders: 'v10', shipments: 'v10', 'process-status': 'v10' },
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
export type BolGroup = 'orders:list' | 'orders:get' | 'shipments:create' | 'process-status:get';

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
};
