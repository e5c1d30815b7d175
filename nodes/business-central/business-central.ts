/**
 * `tillwire-business-central`: sends canonical sales, orders and returns to Business Central as
 * sales orders (created once, cancelled by deleting them) and credit memos (operation "order");
 * reads posted sales shipments as canonical shipments (operation "shipments"); or reads items'
 * stock as canonical inventory positions (operation "inventory"). The node body is the shared ERP
 * node (core/erp-node.ts); this file fills in Business Central's part (orders.ts, returns.ts,
 * shipments.ts, stock.ts).
 */
import type { NodeDef, NodeRED, RuntimeNode } from '../core/node-red';
import { statusTexts } from '../core/node-kit';
import { batchSizeOf, erpNode, type ErpOperation, type ErpParts } from '../core/erp-node';
import { businessKey } from '../model/validate';
import { permanent, SYSTEM } from './client';
import { BC_CONFIG, type BcConfigConnection, type BcConnection } from './connection';
import { connectionOf } from '../core/config-node';
import { isHashed } from './map';
import { kvTombstones, sendOrder, TombstoneStore } from './orders';
import { sendReturn } from './returns';
import { KEY_PREFIX, readShipments } from './shipments';
import { readInventory } from './stock';

interface BcNodeDef extends NodeDef {
  bc: string;
  operation?: 'order' | 'inventory' | 'shipments';
  store?: string;
  locationId?: string;
  batchSize?: number | string;
}

const OPERATION_NAMES: Record<ErpOperation, string> = { order: 'create sales order', stock: 'read inventory', shipments: 'read posted sales shipments' };

/** Business Central's part of the ERP node, on the chosen connection. */
function bcParts(node: RuntimeNode, locationId: string): ErpParts<BcConnection> {
  return {
    async order(connection, msg, binding) {
      const doc = msg.payload as Record<string, any> | undefined;
      const key: string | undefined = msg.tillwire?.idempotencyKey ?? (doc && typeof doc === 'object' ? businessKey(doc) : undefined);
      if (!key) throw permanent(OPERATION_NAMES.order, 'no idempotency key: msg.tillwire.idempotencyKey is missing and the payload has no business key');
      const isOrder = doc?.kind === 'order';
      // Orders' cancels leave tombstones in the store (BC deletes a cancelled order and keeps no trace).
      let tombstones: TombstoneStore | undefined;
      if (isOrder && binding?.configured) tombstones = kvTombstones(await binding.acquire());
      const result =
        doc?.kind === 'return'
          ? await sendReturn(connection.client, doc, key, connection.settings, connection.locks)
          : await sendOrder(connection.client, doc, key, connection.settings, connection.locks, { tombstones });
      msg.erp = result;
      const r = result as Record<string, any>;
      if (isOrder && r.cancelled && !r.stale && !tombstones) {
        node.warn(
          `Business Central: order ${key} is cancelled, but no Tillwire store is configured on this node, so no tombstone was kept: a late, stale create for it would create the order again. Choose a store in the node.`,
        );
      }
      if (binding && result.number && !r.cancelled && !r.skipped) {
        const store = await binding.acquire();
        msg.erp.recorded = await store.registerSetRef(key, SYSTEM, result.number);
        // A hashed external document number cannot be read back: remember which key it stands for
        // (the shipments read maps BC's posted shipments back to their canonical order with it).
        if (isOrder && isHashed(result.externalDocumentNumber)) await store.kvPut(KEY_PREFIX + result.externalDocumentNumber, key);
      }
      if (result.totals && !result.totals.matches) {
        node.warn(
          `Business Central ${result.number} (${key}): ${result.totals.field} is ${result.totals.actual} ${result.totals.currency}, the document says ${result.totals.expected}` +
            (result.totals.taxBasisMismatch ? ' (the BC customer quotes prices on the other tax basis)' : ''),
        );
      }
      // A return (or net-return sale) that writes nothing yet counts as waiting; a cancel's tombstone counts as sent.
      return r.stale ? 'stale' : r.skipped && r.skipped !== 'cancelled' ? 'waiting' : 'sent';
    },

    // A sales order or invoice BC holds for this event; a cancelled, skipped or stale one is none.
    acceptedRef: (erp) => (typeof erp.number === 'string' && erp.number && !erp.cancelled && !erp.skipped && !erp.stale ? erp.number : undefined),

    async stock(connection, skus) {
      const result = await readInventory(connection.client, skus, { locationId });
      const issues: string[] = [];
      if (result.unknown.length)
        issues.push(`unknown SKU${result.unknown.length > 1 ? 's' : ''} ${result.unknown.map((s) => `'${s}'`).join(', ')}: no such item in Business Central`);
      issues.push(...result.problems);
      return {
        positions: result.positions.map((doc) => ({
          payload: doc as unknown as Record<string, any>,
          erp: { system: SYSTEM, id: doc.attributes.bcItemId, number: doc.attributes.bcItemNumber },
        })),
        summary: { system: SYSTEM, positions: result.positions.length, unknownSkus: result.unknown },
        problem: issues.length
          ? permanent(OPERATION_NAMES.stock, issues.join('; '), { providerCode: result.unknown.length ? 'UnknownSku' : undefined })
          : undefined,
      };
    },

    async shipments(connection, { store, emit }) {
      const result = await readShipments(connection.client, store);
      emit(
        result.shipments.map((doc) => ({
          payload: doc as unknown as Record<string, any>,
          erp: { system: SYSTEM, document: 'salesShipment', number: doc.shipmentId, orderNumber: doc.attributes?.bcOrderNumber },
        })),
      );
      if (!result.advanced)
        node.warn('Business Central shipments: another instance moved the cursor first; downstream dedupe by shipmentId absorbs the overlap');
      // Each posted shipment that could not be sent is its own failure, naming it.
      return result.problems.map((problem) => ({ error: permanent(OPERATION_NAMES.shipments, problem), payload: { problem } }));
    },
  };
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
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
