/**
 * The connection a `tillwire-xero-config` node owns: its settings and credentials checked into one
 * XeroClient and one poster shared by every Xero node of that organisation, so Xero's limits (5 at
 * once, 60 a minute, 5,000 a day per organisation) hold however many nodes post. The rotated
 * refresh token is kept in the Tillwire store's kv (`kvTokenStore`). No Node-RED runtime imports.
 */
import { createHash } from 'node:crypto';
import type { NodeDef, RuntimeNode } from '../core/node-red';
import type { Store } from '../runtime/store';
import { isKnownCurrency } from '../model/currencies';
import { KeyedLock } from '../runtime/keyed-lock';
import { XeroClient, type RefreshTokenStore } from './client';
import { XERO_API_URL, XERO_TOKEN_URL } from './contract';
import { XeroJournalPoster } from './post';

export interface XeroConfigDef extends NodeDef {
  apiUrl?: string;
  tokenUrl?: string;
  tenantId?: string;
  clientId?: string;
  /** The organisation's base currency; empty: read from Xero. */
  baseCurrency?: string;
  /** POSTED (default) or DRAFT journals. */
  journalStatus?: string;
  timeoutSeconds?: number | string;
  maxAttempts?: number | string;
  /** Advanced, not in the dialog: backoff base in ms (tests use small values). */
  retryBaseMs?: number | string;
}

export interface XeroCredentials {
  clientSecret?: string;
  refreshToken?: string;
}

export interface XeroConnection {
  client: XeroClient;
  poster: XeroJournalPoster;
  description: string;
  /** Unset here: settings that give no connection are a `{ problem }` instead. */
  problem?: undefined;
}

/** The config node type whose `connection` is a XeroConfigConnection. */
export const XERO_CONFIG = 'tillwire-xero-config';
/** What the config node offers: a usable connection, or only what is wrong with its settings. */
export type XeroConfigConnection = XeroConnection | { problem: string };

export type XeroConfigNode = RuntimeNode & { connection?: XeroConfigConnection };

function num(value: unknown, fallback: number, min = 0): number {
  if (value === '' || value === undefined || value === null) return fallback;
  const n = Number(value);
  return Number.isFinite(n) && n >= min ? n : fallback;
}

/**
 * The refresh token kept under a key naming the organisation and the configured token's digest: a
 * token pasted in after a new authorisation starts a new key, so it is used rather than an older
 * kept one, while a restart with the configured (since rotated) token finds the newest.
 */
export function kvTokenStore(kv: () => Promise<Pick<Store, 'kvGet' | 'kvPut'>>, tenantId: string, configured: string): RefreshTokenStore {
  const key = `xero:refresh-token:${tenantId}:${createHash('sha256').update(configured).digest('hex').slice(0, 16)}`;
  return {
    load: async () => {
      const value = await (await kv()).kvGet(key);
      return typeof value === 'string' && value ? value : undefined;
    },
    save: async (token) => {
      await (await kv()).kvPut(key, token);
    },
  };
}

/** Builds the connection; throws an Error naming what is missing or wrong. */
export function connectionFrom(
  def: XeroConfigDef,
  credentials: XeroCredentials,
  opts: { tokenStore?: RefreshTokenStore; fetch?: typeof fetch } = {},
): XeroConnection {
  const tenantId = def.tenantId?.trim() ?? '';
  const clientId = def.clientId?.trim() ?? '';
  if (!tenantId) throw new Error('the tenant id (the organisation, from GET https://api.xero.com/connections) is required');
  if (!clientId) throw new Error('the client id of the Xero app is required');
  if (!credentials.clientSecret) throw new Error('the client secret of the Xero app is required');
  if (!credentials.refreshToken) throw new Error('a refresh token (from authorising the app with offline_access) is required');
  const baseCurrency = def.baseCurrency?.trim().toUpperCase() || undefined;
  if (baseCurrency && !isKnownCurrency(baseCurrency)) throw new Error(`base currency '${baseCurrency}' is not an ISO 4217 code`);
  const status = (def.journalStatus || 'POSTED').toUpperCase();
  if (status !== 'POSTED' && status !== 'DRAFT') throw new Error(`journal status must be POSTED or DRAFT, not '${def.journalStatus}'`);
  const base = num(def.retryBaseMs, 500, 0);
  const client = new XeroClient({
    apiUrl: def.apiUrl?.trim() || XERO_API_URL,
    tokenUrl: def.tokenUrl?.trim() || XERO_TOKEN_URL,
    clientId,
    clientSecret: credentials.clientSecret,
    tenantId,
    refreshToken: credentials.refreshToken,
    tokenStore: opts.tokenStore,
    fetch: opts.fetch,
    policy: {
      timeoutMs: num(def.timeoutSeconds, 60, 1) * 1000,
      maxAttempts: Math.floor(num(def.maxAttempts, 6, 1)),
      baseDelayMs: base,
      maxDelayMs: Math.max(base, 60_000),
    },
  });
  const poster = new XeroJournalPoster(client, { baseCurrency, status, locks: new KeyedLock() });
  return { client, poster, description: tenantId };
}
