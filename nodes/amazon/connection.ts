/** What a `tillwire-amazon-config` node shares with the nodes that use it. */
import type { AmazonClient } from './client';

export interface AmazonConnection {
  label: string;
  sellerId: string;
  marketplaceIds: string[];
  client?: AmazonClient;
  /** Why the account cannot be used, when it cannot. */
  problem?: string;
}

