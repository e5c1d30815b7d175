/**
 * The `tillwire-square-config` node's settings, read and checked without Node-RED (so they are
 * unit-testable): environment and base URL, API version, locations, mapping tables, rate.
 */
import { isTimeZone } from '../model/business-date';
import { SQUARE_PRODUCTION, SQUARE_SANDBOX, SquareClient } from './client';
import type { SquareMode } from './map';
import { DEFAULT_SQUARE_VERSION } from './contract';

export interface SquareConfigDef {
  name?: string;
  environment?: 'production' | 'sandbox' | 'custom';
  baseUrl?: string;
  apiVersion?: string;
  locationIds?: string;
  /** The seller account's merchant id (webhooks for another merchant are refused). */
  merchantId?: string;
  mode?: SquareMode;
  timeZone?: string;
  skuMap?: string;
  storeMap?: string;
  ratePerSecond?: string | number;
  attempts?: string | number;
  timeout?: string | number;
}

export interface SquareCredentials {
  accessToken?: string;
  signatureKey?: string;
  notificationUrl?: string;
}

export interface SquareSettings {
  baseUrl: string;
  apiVersion: string;
  locationIds: string[];
  /** Empty when not configured: webhooks of any merchant signed with the key are accepted. */
  merchantId: string;
  mode: SquareMode;
  timeZone: string;
  skuMap: Record<string, string>;
  storeMap: Record<string, string>;
  ratePerSecond: number;
  attempts: number;
  timeoutMs: number;
  accessToken: string;
  signatureKey: string;
  notificationUrl: string;
  problems: string[];
}

function table(text: string | undefined, what: string, problems: string[]): Record<string, string> {
  if (!text || !text.trim()) return {};
  try {
    const v = JSON.parse(text);
    if (!v || typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string' || !x))
      throw new Error('not an object of strings');
    return v;
  } catch (err) {
    problems.push(`${what} is not a JSON object of strings (${(err as Error).message})`);
    return {};
  }
}

export function squareSettingsFrom(def: SquareConfigDef, creds: SquareCredentials = {}): SquareSettings {
  const problems: string[] = [];
  const env = def.environment ?? 'sandbox';
  const baseUrl = (env === 'production' ? SQUARE_PRODUCTION : env === 'sandbox' ? SQUARE_SANDBOX : (def.baseUrl ?? '').trim()).replace(/\/+$/, '');
  if (!/^https?:\/\/.+/.test(baseUrl)) problems.push('the base URL must start with http:// or https://');
  const apiVersion = (def.apiVersion ?? '').trim() || DEFAULT_SQUARE_VERSION;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(apiVersion)) problems.push(`API version '${apiVersion}' is not YYYY-MM-DD`);
  const locationIds = (def.locationIds ?? '').split(/[\s,]+/).filter(Boolean);
  if (!locationIds.length) problems.push('no location ids');
  if (locationIds.length > 10) problems.push('SearchOrders takes at most 10 location ids per connection');
  const merchantId = (def.merchantId ?? '').trim();
  if (merchantId && !/^[A-Za-z0-9_-]{1,64}$/.test(merchantId)) problems.push(`merchant id '${merchantId.slice(0, 70)}' is not like ML82H4QPKMGXY`);
  const mode = def.mode ?? 'sale';
  if (!['sale', 'order', 'auto'].includes(mode)) problems.push(`unknown mode '${mode}'`);
  const timeZone = (def.timeZone ?? '').trim() || 'UTC';
  if (!isTimeZone(timeZone)) problems.push(`unknown time zone '${timeZone}'`);
  const accessToken = creds.accessToken ?? '';
  if (!accessToken) problems.push('no access token');
  const num = (v: unknown, d: number) => (v === undefined || v === '' || !Number.isFinite(Number(v)) ? d : Number(v));
  return {
    baseUrl,
    apiVersion,
    locationIds,
    merchantId,
    mode,
    timeZone,
    skuMap: table(def.skuMap, 'the SKU map', problems),
    storeMap: table(def.storeMap, 'the store map', problems),
    ratePerSecond: Math.max(0, num(def.ratePerSecond, 10)),
    attempts: Math.max(1, Math.floor(num(def.attempts, 6))),
    timeoutMs: Math.max(1, num(def.timeout, 30)) * 1000,
    accessToken,
    signatureKey: creds.signatureKey ?? '',
    notificationUrl: creds.notificationUrl ?? '',
    problems,
  };
}

/** What the config node offers the Square nodes. */
/** The config node type whose `connection` is a SquareConnection. */
export const SQUARE_CONFIG = 'tillwire-square-config';

export interface SquareConnection {
  label: string;
  settings: SquareSettings;
  client?: SquareClient;
  problem?: string;
}
