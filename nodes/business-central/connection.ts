/**
 * The connection a `tillwire-bc-config` node owns, built from its properties and credentials: one
 * client, one concurrency Limiter and one TokenBucket shared by every Business Central node that
 * uses the config node. No Node-RED runtime imports (types only).
 */
import type { NodeDef } from '../core/node-red';
import { canonicalUrl, TokenBucket } from '../runtime/http';
import { Limiter } from '../runtime/limiter';
import { BcAuth, BusinessCentralClient, DEFAULT_BASE_URL, DEFAULT_SCOPE, DEFAULT_TOKEN_URL } from './client';
import { parseCustomerRules } from './map';
import { isTimeZone } from '../model/business-date';
import { KeyedLock, sharedLock } from '../runtime/keyed-lock';
import { OrderSettings } from './documents';

export interface BcConfigDef extends NodeDef {
  baseUrl?: string;
  tenant?: string;
  environment?: string;
  companyId?: string;
  authMode?: 'token' | 'client-credentials';
  tokenUrl?: string;
  clientId?: string;
  scope?: string;
  defaultCustomer?: string;
  customerRules?: string;
  shippingAccount?: string;
  localCurrency?: string;
  /** IANA time zone of the company (order and credit-memo dates); default UTC. */
  timeZone?: string;
  maxConcurrent?: number | string;
  ratePerSecond?: number | string;
  timeoutSeconds?: number | string;
  maxAttempts?: number | string;
  /** Advanced, not in the dialog: backoff base and 429 cool-off in ms (tests use small values). */
  retryBaseMs?: number | string;
  cooloffMs?: number | string;
}

/** The config node type whose `connection` is a BcConfigConnection. */
export const BC_CONFIG = 'tillwire-bc-config';

/** What a Business Central node finds on its config node when its settings are usable. */
export interface BcConnection {
  client: BusinessCentralClient;
  settings: OrderSettings;
  locks: KeyedLock;
  limiter: Limiter;
  governor?: TokenBucket;
  description: string;
  /** Unset here: settings that give no connection are a `{ problem }` instead. */
  problem?: undefined;
}

/** What a `tillwire-bc-config` node offers (its `connection`, core/config-node.ts): the connection, or why there is none. */
export type BcConfigConnection = BcConnection | { problem: string };

function num(value: unknown, fallback: number, min = 0): number {
  if (value === '' || value === undefined || value === null) return fallback;
  const n = Number(value);
  return Number.isFinite(n) && n >= min ? n : fallback;
}

/** Builds the connection from the node's properties and credentials; throws a readable error. */
export function connectionFrom(def: BcConfigDef, credentials: Record<string, string | undefined> = {}): BcConnection {
  const mode = def.authMode === 'token' ? 'token' : 'client-credentials';
  const tenant = (def.tenant ?? '').trim();
  const environment = (def.environment ?? '').trim();
  const companyId = (def.companyId ?? '').trim();
  if (!tenant) throw new Error('the tenant (directory id or domain) is required');
  if (!environment) throw new Error('the environment name is required (for example production or sandbox)');
  if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(companyId)) {
    throw new Error('the company id must be the company GUID (GET …/api/v2.0/companies lists them)');
  }
  let auth: BcAuth;
  if (mode === 'token') {
    if (!credentials.token) throw new Error('authentication is "bearer token" but no token is set');
    auth = { mode: 'token', token: credentials.token };
  } else {
    if (!def.clientId?.trim()) throw new Error('authentication is "client credentials" but no client id is set');
    if (!credentials.clientSecret) throw new Error('authentication is "client credentials" but no client secret is set');
    auth = {
      mode: 'client-credentials',
      tokenUrl: def.tokenUrl?.trim() || DEFAULT_TOKEN_URL,
      clientId: def.clientId.trim(),
      clientSecret: credentials.clientSecret,
      scope: def.scope?.trim() || DEFAULT_SCOPE,
    };
  }
  const timeZone = def.timeZone?.trim() || 'UTC';
  if (!isTimeZone(timeZone)) throw new Error(`unknown time zone '${timeZone}' (use an IANA name such as Europe/London, America/New_York or UTC)`);
  const limiter = new Limiter(Math.max(1, Math.floor(num(def.maxConcurrent, 5, 1))));
  const rate = num(def.ratePerSecond, 20);
  const governor = rate > 0 ? new TokenBucket(rate, Math.max(1, Math.ceil(rate))) : undefined;
  const base = num(def.retryBaseMs, 250, 0);
  const client = new BusinessCentralClient({
    baseUrl: def.baseUrl?.trim() || DEFAULT_BASE_URL,
    tenant,
    environment,
    companyId,
    auth,
    limiter,
    governor,
    throttleCooloffMs: num(def.cooloffMs, 2000),
    policy: {
      timeoutMs: num(def.timeoutSeconds, 60, 1) * 1000,
      maxAttempts: Math.floor(num(def.maxAttempts, 6, 1)),
      baseDelayMs: base,
      maxDelayMs: Math.max(base, 30_000),
    },
  });
  const settings: OrderSettings = {
    routing: { defaultCustomer: def.defaultCustomer?.trim() || undefined, rules: parseCustomerRules(def.customerRules) },
    shippingAccount: def.shippingAccount?.trim() || undefined,
    localCurrency: def.localCurrency?.trim().toUpperCase() || undefined,
    timeZone,
  };
  // One lock per company in this process: a redeployed node's write of a key waits for the old
  // node's create of it still under way, then finds it (see sharedLock).
  const locks = sharedLock(['bc', canonicalUrl(def.baseUrl?.trim() || DEFAULT_BASE_URL), tenant, environment, companyId].join('|').toLowerCase());
  return { client, settings, locks, limiter, governor, description: `${tenant}/${environment}` };
}
