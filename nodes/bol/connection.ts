/** What a `tillwire-bol-config` node shares with the nodes that use it. */
import type { BolClient } from './client';

export interface BolConnection {
  label: string;
  /** channel.account of every order: the retailer id, or the account's name. */
  account: string;
  client?: BolClient;
  /** Why the account cannot be used, when it cannot. */
  problem?: string;
}
