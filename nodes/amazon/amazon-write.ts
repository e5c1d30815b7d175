/**
 * What the two Amazon write-back nodes share: the account's connection from a
 * `tillwire-amazon-config` node, and its retry events shown on the writing node's badge.
 */
import { createHash } from 'node:crypto';
import type { ChannelConnectionView, WriteContext } from '../core/channel-write';
import type { AmazonClient } from './client';
import type { AmazonConnection } from './connection';

export function amazonConnection(configNode: any): (ChannelConnectionView<AmazonClient> & { amazon: AmazonConnection }) | undefined {
  const conn: AmazonConnection | undefined = configNode?.amazon;
  if (!conn) return undefined;
  return { client: conn.client, problem: conn.problem, account: conn.sellerId || undefined, amazon: conn };
}

/**
 * Shows the account's retries (429s included) on a writing node's badge while it has writes in
 * flight: one listener per node on the account's events, added with the first write in flight and
 * removed after the last (and on close).
 */
export class RetryBadge {
  private inFlight = 0;
  private retrying?: WriteContext<unknown>['retrying'];
  private readonly listener = (info: { operation: string; reason: string }) =>
    this.retrying?.(/\b429\b|QuotaExceeded/.test(info.reason) ? `throttled: ${info.operation}` : `retrying ${info.operation}`);

  constructor(private readonly conn: AmazonConnection) {}

  async run<T>(ctx: Pick<WriteContext<unknown>, 'retrying'>, work: () => Promise<T>): Promise<T> {
    this.retrying = ctx.retrying;
    if (this.inFlight++ === 0) this.conn.events.on('retry', this.listener);
    try {
      return await work();
    } finally {
      if (--this.inFlight === 0) this.close();
    }
  }

  close(): void {
    this.conn.events.off('retry', this.listener);
  }
}

/** The marketplaces a node writes to: its own list when set (each must be the account's), else the account's. */
export function marketplacesFor(setting: unknown, conn: AmazonConnection): { ids: string[]; problem?: string } {
  const own = String(setting ?? '')
    .split(/[\s,]+/)
    .filter(Boolean);
  if (!own.length) return { ids: conn.marketplaceIds };
  const foreign = own.filter((id) => !conn.marketplaceIds.includes(id));
  return foreign.length ? { ids: own, problem: `marketplace ${foreign.join(', ')} is not one of the account's (${conn.marketplaceIds.join(', ')})` } : { ids: own };
}

/** Amazon takes only positive numbers as packageReferenceId: a stable one from the shipment's key. */
export function packageReferenceFor(key: string): string {
  return String(parseInt(createHash('sha256').update(key).digest('hex').slice(0, 12), 16) || 1);
}
