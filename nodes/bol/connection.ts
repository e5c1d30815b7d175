/** What a `tillwire-bol-config` node shares with the nodes that use it. */
import type { BolClient } from './client';

/** The config node type whose `connection` is a BolConnection. */
export const BOL_CONFIG = 'tillwire-bol-config';

export interface BolConnection {
  label: string;
  /** channel.account of every order: the retailer id, or the account's name. */
  account: string;
  client?: BolClient;
  /** Why the account cannot be used, when it cannot. */
  problem?: string;
}
