/**
 * The `tillwire-odoo-config` node's properties, read and checked without Node-RED: what the editor
 * stores (text, numbers as text) becomes typed settings plus a list of problems a person can act on.
 */
import type { RetryPolicy } from '../runtime/http';
import type { OdooApi } from './client';
import { DEFAULT_DISCOUNT_SKU, DEFAULT_SHIPPING_SKU } from './map';
import { isTimeZone } from '../model/business-date';

export interface OdooConfigDef {
  url?: string;
  database?: string;
  login?: string;
  api?: string;
  version?: string | number;
  defaultPartnerId?: string | number;
  maxConcurrent?: string | number;
  ratePerSecond?: string | number;
  timeout?: string | number;
  attempts?: string | number;
  retryDelay?: string | number;
  maxRetryWait?: string | number;
  taxMap?: string;
  shippingSku?: string;
  discountSku?: string;
  timeZone?: string;
}

export interface OdooSettings {
  url: string;
  database: string;
  login: string;
  apiKey: string;
  api: OdooApi;
  version: number;
  defaultPartnerId?: number;
  maxConcurrent: number;
  /** 0: no rate limit. */
  ratePerSecond: number;
  policy: RetryPolicy;
  taxMap?: Record<string, number>;
  shippingSku: string;
  discountSku: string;
  /** IANA time zone of the company (credit-note dates). */
  timeZone: string;
  /** Empty when the connection can be used. */
  problems: string[];
}

function num(value: unknown, fallback: number): number {
  if (value === undefined || value === null || value === '') return fallback;
  const n = Number(value);
  return Number.isFinite(n) ? n : NaN;
}

export function odooSettingsFrom(def: OdooConfigDef, credentials: { apiKey?: string } | undefined): OdooSettings {
  const problems: string[] = [];
  const url = (def.url ?? '').trim();
  if (!/^https?:\/\/[^/]+/i.test(url)) problems.push(`URL '${url}' must start with http:// or https://`);
  const database = (def.database ?? '').trim();
  if (!database) problems.push('no database name');
  const login = (def.login ?? '').trim();
  const api: OdooApi = def.api === 'json2' ? 'json2' : 'jsonrpc';
  if (api === 'jsonrpc' && !login) problems.push('no login (JSON-RPC needs the user login)');
  const apiKey = credentials?.apiKey ?? '';
  if (!apiKey) problems.push('no API key');
  const version = num(def.version, 17);
  if (!Number.isInteger(version) || version < 14) problems.push(`version '${def.version}' must be an Odoo major version such as 17, 18 or 19`);
  if (api === 'json2' && version < 19) problems.push(`the JSON-2 API needs Odoo 19 or later (version ${version} is set): choose JSON-RPC`);
  const partner = num(def.defaultPartnerId, 0);
  if (!Number.isInteger(partner) || partner < 0) problems.push(`default customer '${def.defaultPartnerId}' must be a partner id (a whole number)`);
  const maxConcurrent = num(def.maxConcurrent, 4);
  if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) problems.push('max concurrent requests must be a whole number ≥ 1');
  const ratePerSecond = num(def.ratePerSecond, 10);
  if (!(ratePerSecond >= 0)) problems.push('requests per second must be ≥ 0 (0 = no limit)');
  const timeoutMs = num(def.timeout, 30) * 1000;
  if (!(timeoutMs > 0)) problems.push('timeout must be more than 0 seconds');
  const maxAttempts = num(def.attempts, 6);
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) problems.push('attempts must be a whole number ≥ 1');
  const baseDelayMs = num(def.retryDelay, 250);
  if (!(baseDelayMs >= 0)) problems.push('retry delay must be ≥ 0 ms');
  const maxDelayMs = num(def.maxRetryWait, 30) * 1000;
  if (!(maxDelayMs >= 0)) problems.push('longest wait between attempts must be ≥ 0 seconds');
  const timeZone = def.timeZone?.trim() || 'UTC';
  if (!isTimeZone(timeZone)) problems.push(`unknown time zone '${timeZone}' (use an IANA name such as Europe/London or UTC)`);
  let taxMap: Record<string, number> | undefined;
  if (def.taxMap?.trim()) {
    try {
      const parsed = JSON.parse(def.taxMap);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      for (const [code, id] of Object.entries(parsed)) {
        if (!Number.isInteger(id) || (id as number) <= 0) throw new Error(`'${code}' must map to an account.tax id (a whole number)`);
      }
      taxMap = parsed as Record<string, number>;
    } catch (err) {
      problems.push(`tax map must be a JSON object of tax code → Odoo tax id, e.g. {"VAT-STD": 1}: ${(err as Error).message}`);
    }
  }
  return {
    url,
    database,
    login,
    apiKey,
    api,
    version,
    defaultPartnerId: partner > 0 ? partner : undefined,
    maxConcurrent,
    ratePerSecond,
    policy: { timeoutMs, maxAttempts, baseDelayMs, maxDelayMs },
    taxMap,
    shippingSku: def.shippingSku?.trim() || DEFAULT_SHIPPING_SKU,
    discountSku: def.discountSku?.trim() || DEFAULT_DISCOUNT_SKU,
    timeZone,
    problems,
  };
}

/** The config node type whose `connection` is an OdooConnection. */
export const ODOO_CONFIG = 'tillwire-odoo-config';

/** What a `tillwire-odoo-config` node offers the nodes using it (its `connection`, core/config-node.ts). */
export interface OdooConnection {
  label: string;
  settings: OdooSettings;
  /** Set when the settings are unusable: nodes show it and fail their messages with it. */
  problem?: string;
  client?: import('./client').OdooClient;
  sync?: import('./sync').OdooSync;
}
