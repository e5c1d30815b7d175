/**
 * What Tillwire relies on from the bol.com Retailer API v10 (docs/connectors/bol-contract.md), in
 * one place: the client and the simulator (simulators/bol) both read these facts from here.
 * No Node-RED import.
 */

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
