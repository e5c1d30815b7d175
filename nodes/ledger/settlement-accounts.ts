/**
 * `tillwire-settlement-accounts`: the account mapping of settlement journals, edited in its dialog
 * (settlement-mapping.ts explains each account). Offers `connection = { mapping, problems }` to the
 * journal node (mode "settlement"), which shows the problems on its badge and refuses to build a
 * journal while there are any; mappingProblems checks again, per settlement, every account that
 * settlement needs.
 */
import type { NodeDef, NodeRED, RuntimeNode } from '../core/node-red';
import type { ConfigNode } from '../core/config-node';
import { mappingProblems } from './settlement-mapping';
import { SETTLEMENT_ACCOUNTS, settlementMappingFromConfig, type SettlementAccounts, type SettlementAccountsConfig } from './node-config';

export = function register(RED: NodeRED) {
  function TillwireSettlementAccountsNode(this: ConfigNode<SettlementAccounts>, def: NodeDef & SettlementAccountsConfig) {
    RED.nodes.createNode(this as RuntimeNode, def);
    const mapping = settlementMappingFromConfig(def);
    this.connection = { mapping, problems: mappingProblems(mapping) };
  }
  RED.nodes.registerType(SETTLEMENT_ACCOUNTS, TillwireSettlementAccountsNode);
};
