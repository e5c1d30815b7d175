/** What a `tillwire-shopify-config` node offers the nodes that use it. */
import type { ShopifyClient } from './client';

/** The config node type whose `connection` is a ShopifyConnection. */
export const SHOPIFY_CONFIG = 'tillwire-shopify-config';

export interface ShopifyConnection {
  shop: string;
  apiVersion: string;
  problem?: string;
  client?: ShopifyClient;
  /** Webhook secrets to accept: the current one, and the previous one during a rotation. */
  secrets: string[];
}

export function normaliseShop(value: unknown): string {
  return String(value ?? '')
    .trim()
    .replace(/^https?:\/\//, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
}

export function routePath(value: unknown): string {
  const p = String(value ?? '').trim() || '/shopify/webhooks';
  return p.startsWith('/') ? p : `/${p}`;
}
