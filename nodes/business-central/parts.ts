/**
 * Business Central's part of the ERP node (core/erp-node.ts `ErpParts`): orders, till sales one at
 * a time or many at once (sale-batch.ts), returns, the inventory and posted-shipments reads, and
 * what follows BC's answer for each message (msg.erp, the sales register, the warnings). Kept out
 * of the node file so tests can drive it against the simulator without a Node-RED runtime.
 */
import type { NodeMessage, RuntimeNode } from '../core/node-red';
import type { StoreBinding } from '../core/node-kit';
import type { ErpOperation, ErpParts, OrderOutcome, StockRead } from '../core/erp-node';
import { businessKey } from '../model/validate';
import { permanent, SYSTEM } from './client';
import type { BcConnection } from './connection';
import { isHashed } from './map';
import { kvTombstones, OrderResult, sendOrder, TombstoneStore } from './orders';
import { CreditResult, sendReturn } from './returns';
import { sendSaleBatch } from './sale-batch';
import { KEY_PREFIX, readShipments } from './shipments';
import { readInventory, readInventoryChanges, type InventoryResult } from './stock';

export const OPERATION_NAMES: Record<ErpOperation, string> = { order: 'create sales order', stock: 'read inventory', shipments: 'read posted sales shipments' };

/** The idempotency key of an order message: msg.tillwire.idempotencyKey, else the payload's business key. */
function keyOf(msg: NodeMessage): string | undefined {
  const doc = msg.payload as Record<string, any> | undefined;
  return msg.tillwire?.idempotencyKey ?? (doc && typeof doc === 'object' ? businessKey(doc) : undefined);
}

/** Business Central's part of the ERP node, on the chosen connection. */
/** An inventory read as the ERP node sends it: each position with `msg.erp`, and the SKUs it could not read. */
function stockRead(result: InventoryResult): StockRead {
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
}

export function bcParts(node: Pick<RuntimeNode, 'warn'>, locationId: string): ErpParts<BcConnection> {
  /**
   * What follows BC's answer for one message, however it was written: `msg.erp`, the ERP number in
   * the sales register (and a hashed key's mapping), the warnings; answers how it counts.
   */
  async function settle(msg: NodeMessage, key: string, result: OrderResult | CreditResult, binding: StoreBinding | undefined, tombstones?: TombstoneStore) {
    const isOrder = (msg.payload as Record<string, any> | undefined)?.kind === 'order';
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
  }

  const parts: ErpParts<BcConnection> = {
    async order(connection, msg, binding) {
      const doc = msg.payload as Record<string, any> | undefined;
      const key = keyOf(msg);
      if (!key) throw permanent(OPERATION_NAMES.order, 'no idempotency key: msg.tillwire.idempotencyKey is missing and the payload has no business key');
      const isOrder = doc?.kind === 'order';
      // Orders' cancels leave tombstones in the store (BC deletes a cancelled order and keeps no trace).
      let tombstones: TombstoneStore | undefined;
      if (isOrder && binding?.configured) tombstones = kvTombstones(await binding.acquire());
      const result =
        doc?.kind === 'return'
          ? await sendReturn(connection.client, doc, key, connection.settings, connection.locks)
          : await sendOrder(connection.client, doc, key, connection.settings, connection.locks, { tombstones });
      return settle(msg, key, result, binding, tombstones);
    },

    // Till sales many at a time (sale-batch.ts: one lookup, one $batch of creates); anything else
    // that reaches it (an order event, a return) goes the one-at-a-time way.
    async saleBatch(connection, msgs, binding) {
      const outcomes: Array<OrderOutcome | Error> = new Array(msgs.length);
      const sales = msgs.flatMap((msg, index) => ((msg.payload as Record<string, any> | undefined)?.kind === 'sale' ? [{ msg, index, key: keyOf(msg) }] : []));
      const results = await sendSaleBatch(
        connection.client,
        sales.map((s) => ({ payload: s.msg.payload, key: s.key })),
        connection.settings,
        connection.locks,
      );
      for (const [n, s] of sales.entries()) {
        const result = results[n];
        try {
          outcomes[s.index] = result instanceof Error ? result : await settle(s.msg, s.key!, result, binding);
        } catch (err) {
          outcomes[s.index] = err as Error;
        }
      }
      for (const [index, msg] of msgs.entries()) {
        if (outcomes[index] !== undefined) continue;
        try {
          outcomes[index] = await parts.order(connection, msg, binding);
        } catch (err) {
          outcomes[index] = err as Error;
        }
      }
      return outcomes;
    },

    // A sales order or invoice BC holds for this event; a cancelled, skipped or stale one is none.
    acceptedRef: (erp) => (typeof erp.number === 'string' && erp.number && !erp.cancelled && !erp.skipped && !erp.stale ? erp.number : undefined),

    async stock(connection, skus) {
      return stockRead(await readInventory(connection.client, skus, { locationId }));
    },

    async stockChanges(connection, cursor) {
      // stock.ts decides whether the stored cursor can be trusted.
      const result = await readInventoryChanges(connection.client, cursor, { locationId });
      return { ...stockRead(result), cursor: result.cursor };
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
  return parts;
}
