/** What a `tillwire-amazon-config` node shares with the nodes that use it. */
import type { AmazonClient } from './client';
import type { OrdersApiVersion } from './contract';

/** The config node type whose `connection` is an AmazonConnection. */
export const AMAZON_CONFIG = 'tillwire-amazon-config';

export interface AmazonConnection {
  label: string;
  sellerId: string;
  marketplaceIds: string[];
  /** Orders API version the orders node polls with. */
  apiVersion: OrdersApiVersion;
  client?: AmazonClient;
  /** Why the account cannot be used, when it cannot. */
  problem?: string;
}
