/**
 * Config nodes that real-runtime tests deploy against the simulators, written once: a QuickBooks
 * company, an Odoo database and a Business Central company as a test wants them (short timeouts,
 * no pacing).
 */
import type { BusinessCentralSimulator } from '../../simulators/business-central/simulator';
import type { OdooSimulator } from '../../simulators/odoo/simulator';
import { SEED } from '../../simulators/odoo/simulator';

/** A `tillwire-quickbooks-config` for a QuickBooks simulator: its token URL and realm, the store keeping the rotated token. */
export function qboConfigNode(qbo: { url: string; tokenUrl: string; realmId: string }, o: { id?: string; store?: string; homeCurrency?: string } = {}) {
  return {
    id: o.id ?? 'q1',
    type: 'tillwire-quickbooks-config',
    environment: 'custom',
    baseUrl: qbo.url,
    tokenUrl: qbo.tokenUrl,
    realmId: qbo.realmId,
    homeCurrency: o.homeCurrency ?? 'USD',
    store: o.store ?? 'st1',
    timeout: 5,
    attempts: 3,
  };
}

/** A `tillwire-odoo-config` for an Odoo simulator (database and login of its seed, JSON-RPC, no pacing, quick retries). */
export function odooConfigNode(odoo: Pick<OdooSimulator, 'url' | 'version'>, o: { id?: string; attempts?: number } = {}) {
  return {
    id: o.id ?? 'oc',
    type: 'tillwire-odoo-config',
    url: odoo.url,
    database: 'tillwire',
    login: 'admin',
    api: 'jsonrpc',
    version: String(odoo.version),
    defaultPartnerId: String(SEED.walkInPartnerId),
    maxConcurrent: '4',
    ratePerSecond: '0',
    timeout: '5',
    attempts: String(o.attempts ?? 2),
    retryDelay: '1',
    maxRetryWait: '0.01',
  };
}

/** A `tillwire-bc-config` for a Business Central simulator (its company, a bearer token credential, no pacing, quick retries). */
export function bcConfigNode(
  bc: Pick<BusinessCentralSimulator, 'baseUrl' | 'tenant' | 'environment' | 'companyId'>,
  o: { id?: string; maxAttempts?: number } = {},
) {
  return {
    id: o.id ?? 'bc1',
    type: 'tillwire-bc-config',
    baseUrl: bc.baseUrl,
    tenant: bc.tenant,
    environment: bc.environment,
    companyId: bc.companyId,
    authMode: 'token',
    defaultCustomer: '10000',
    maxConcurrent: 4,
    ratePerSecond: 0,
    timeoutSeconds: 5,
    maxAttempts: o.maxAttempts ?? 2,
    retryBaseMs: 1,
    cooloffMs: 20,
  };
}

/** The four channel simulators a stock test pushes to and reads back from. */
export interface ChannelSims {
  shopify: { shop: string; url: string; accessToken: string };
  amazon: { url: string; tokenUrl: string; sellerId: string; clientId: string; clientSecret: string; refreshToken: string };
  square: { url: string; accessToken: string };
  bol: { url: string; tokenUrl: string; clientId: string; clientSecret: string };
}

/**
 * The Shopify, Amazon, Square and bol.com config nodes (ids `shc`, `amc`, `sqc`, `boc`) for the
 * simulators, short timeouts, and their credentials for `deployCredentialsAndWait`. `bolAttempts`:
 * 1 makes an injected bol failure fail a push at once (the push engine's retry is then what is tested).
 */
export function channelConfigNodes(s: ChannelSims, o: { marketplaceIds: string; squareLocations: string; bolAttempts?: number }) {
  const nodes = [
    { id: 'shc', type: 'tillwire-shopify-config', shop: s.shopify.shop, apiVersion: '2026-04', baseUrl: s.shopify.url, timeout: '5' },
    {
      id: 'amc',
      type: 'tillwire-amazon-config',
      region: 'custom',
      endpoint: s.amazon.url,
      tokenUrl: s.amazon.tokenUrl,
      sellerId: s.amazon.sellerId,
      marketplaceIds: o.marketplaceIds,
      timeout: '5',
      attempts: '4',
    },
    {
      id: 'sqc',
      type: 'tillwire-square-config',
      environment: 'custom',
      baseUrl: s.square.url,
      locationIds: o.squareLocations,
      ratePerSecond: 0,
      attempts: '4',
    },
    {
      id: 'boc',
      type: 'tillwire-bol-config',
      endpoint: s.bol.url,
      tokenUrl: s.bol.tokenUrl,
      retailerId: '1234567',
      timeout: '5',
      attempts: String(o.bolAttempts ?? 4),
    },
  ];
  const credentials = {
    shc: { accessToken: s.shopify.accessToken },
    amc: { clientId: s.amazon.clientId, clientSecret: s.amazon.clientSecret, refreshToken: s.amazon.refreshToken },
    sqc: { accessToken: s.square.accessToken },
    boc: { clientId: s.bol.clientId, clientSecret: s.bol.clientSecret },
  };
  return { nodes, credentials };
}
