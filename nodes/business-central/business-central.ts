/**
 * `tillwire-business-central`: sends canonical sales, orders and returns to Business Central as
 * sales orders (created once, cancelled by deleting them) and credit memos (operation "order");
 * reads posted sales shipments as canonical shipments (operation "shipments"); or reads items'
 * stock as canonical inventory positions (operation "inventory"). The node body is the shared ERP
 * node (core/erp-node.ts); Business Central's part of it is parts.ts.
 */
import type { NodeDef, NodeRED, RuntimeNode } from '../core/node-red';
import { statusTexts } from '../core/node-kit';
import { summarySecondsOf } from '../core/summary-posting';
import { registerSummaryRoutes } from '../core/summary-routes';
import { batchSizeOf, erpNode, type ErpOperation } from '../core/erp-node';
import { permanent, SYSTEM } from './client';
import { BC_CONFIG, type BcConfigConnection, type BcConnection } from './connection';
import { connectionOf } from '../core/config-node';
import { bcParts, OPERATION_NAMES } from './parts';

interface BcNodeDef extends NodeDef {
  bc: string;
  operation?: 'order' | 'inventory' | 'shipments';
  store?: string;
  locationId?: string;
  /** "each" (default): one ERP document per sale; "summary": summarised posting. */
  posting?: string;
  summarySeconds?: number | string;
  batchSize?: number | string;
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  registerSummaryRoutes(RED);
  function TillwireBusinessCentralNode(this: RuntimeNode, def: BcNodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    // The chosen connection (undefined when none is chosen): usable, or only the problem with its settings.
    const config = connectionOf<BcConfigConnection>(RED, def.bc, BC_CONFIG);
    const operation: ErpOperation = def.operation === 'inventory' ? 'stock' : def.operation === 'shipments' ? 'shipments' : 'order';
    erpNode<BcConnection>(RED, node, {
      system: SYSTEM,
      operation,
      operationNames: OPERATION_NAMES,
      storeId: def.store,
      summarySeconds: def.posting === 'summary' ? summarySecondsOf(def.summarySeconds) : undefined,
      batchSize: batchSizeOf(def.batchSize),
      texts: t,
      config: () => config && ('client' in config ? { connection: config } : { problem: config.problem }),
      unusable: (problem) =>
        permanent(
          OPERATION_NAMES[operation],
          problem === undefined
            ? 'no Business Central connection configured: choose one in the node'
            : `the Business Central connection is not usable: ${problem}`,
        ),
      parts: bcParts(node, def.locationId?.trim() || 'BC-ALL'),
    });
  }
  RED.nodes.registerType('tillwire-business-central', TillwireBusinessCentralNode);
};
