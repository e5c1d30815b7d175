/**
 * What the two Shopify write-back nodes share: what the shop's connection (a
 * `tillwire-shopify-config` node's) offers the write body and matching a document's account to the shop.
 */
import type { ChannelConnectionView } from '../core/channel-write';
import type { ShopifyClient } from './client';
import { normaliseShop, type ShopifyConnection } from './connection';

export function shopifyConnection(conn: ShopifyConnection): ChannelConnectionView<ShopifyClient> {
  return { client: conn.client, problem: conn.problem ?? (conn.client ? undefined : 'no access token in the shop configuration'), account: conn.shop };
}

/** A document's account matches when it names this shop (domain, with or without https://). */
export function sameShop(docAccount: string, connection: ChannelConnectionView<ShopifyClient>): boolean {
  return normaliseShop(docAccount) === connection.account;
}

/** A Shopify location id as a gid (`12345` → `gid://shopify/Location/12345`). */
export function locationGid(value: string): string {
  const v = value.trim();
  return /^\d+$/.test(v) ? `gid://shopify/Location/${v}` : v;
}

/**
 * A JSON object Tillwire location id → Shopify location id (or gid), from the node's settings;
 * `invalid`: why the text is not one (the node's badge and error name it).
 */
export function parseLocationMap(text: unknown): { map: Record<string, string>; invalid?: string } {
  const t = typeof text === 'string' ? text.trim() : '';
  if (!t) return { map: {} };
  try {
    const v = JSON.parse(t);
    if (!v || typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string' || !x))
      throw new Error('not an object of strings');
    return { map: Object.fromEntries(Object.entries(v as Record<string, string>).map(([k, x]) => [k, locationGid(x)])) };
  } catch (err) {
    return { map: {}, invalid: (err as Error).message };
  }
}
