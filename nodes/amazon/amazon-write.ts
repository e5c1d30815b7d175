/**
 * What the two Amazon write-back nodes share: what the account's connection (a
 * `tillwire-amazon-config` node's) offers the write body, its marketplaces and package references.
 */
import { createHash } from 'node:crypto';
import type { ChannelConnectionView } from '../core/channel-write';
import type { AmazonClient } from './client';
import type { AmazonConnection } from './connection';

export function amazonConnection(conn: AmazonConnection): ChannelConnectionView<AmazonClient> {
  return { client: conn.client, problem: conn.problem, account: conn.sellerId || undefined };
}

/**
 * The marketplaces a node writes to: its own list when set (each must be the account's, `foreign`
 * names those that are not), else the account's.
 */
export function marketplacesFor(setting: unknown, conn: AmazonConnection): { ids: string[]; foreign?: string[] } {
  const own = String(setting ?? '')
    .split(/[\s,]+/)
    .filter(Boolean);
  if (!own.length) return { ids: conn.marketplaceIds };
  const foreign = own.filter((id) => !conn.marketplaceIds.includes(id));
  return foreign.length ? { ids: own, foreign } : { ids: own };
}

/** Amazon takes only positive numbers as packageReferenceId: a stable one from the shipment's key. */
export function packageReferenceFor(key: string): string {
  return String(parseInt(createHash('sha256').update(key).digest('hex').slice(0, 12), 16) || 1);
}
