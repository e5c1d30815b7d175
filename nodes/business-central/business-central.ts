/**
 * `tillwire-business-central`: sends canonical sales and orders to Business Central as sales
 * orders, exactly once per idempotency key (operation "order"), or reads items' stock as canonical
 * inventory positions (operation "inventory"). Thin on purpose: the work is in orders.ts,
 * returns.ts, shipments.ts and stock.ts.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from '../core/node-red';
import { bindStore, onInput, shortText, StatusBoard, StoreBinding } from '../core/node-kit';
import { ensureEnvelope } from '../model/envelope';
import { businessKey } from '../model/validate';
import { asConnectorError, briefly } from '../runtime/errors';
import { permanent, SYSTEM } from './client';
import { BC_CONFIG, type BcConfigConnection, type BcConnection } from './connection';
import { connectionOf } from '../core/config-node';
import { isHashed } from './map';
import { kvTombstones, sendOrder, TombstoneStore } from './orders';
import { sendReturn } from './returns';
import { KEY_PREFIX, readShipments } from './shipments';
import { readInventory } from './stock';
import { skuList, SkuListError } from '../core/sku-list';

interface BcNodeDef extends NodeDef {
  bc: string;
  operation?: 'order' | 'inventory' | 'shipments';
  store?: string;
  locationId?: string;
}

export = function register(RED: NodeRED) {
  function TillwireBusinessCentralNode(this: RuntimeNode, def: BcNodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const config = connectionOf<BcConfigConnection>(RED, def.bc, BC_CONFIG);
    const operation = def.operation === 'inventory' || def.operation === 'shipments' ? def.operation : 'order';
    const locationId = def.locationId?.trim() || 'BC-ALL';
    const binding: StoreBinding | undefined = operation !== 'inventory' && def.store ? bindStore(RED, node, def.store, board) : undefined;
    let sent = 0;
    let failed = 0;

    const problem = !config ? 'no Business Central connection configured' : config.problem;
    if (problem) board.set({ fill: 'red', shape: 'ring', text: shortText(problem) });
    else board.set({ fill: 'grey', shape: 'ring', text: `ready: ${operation === 'order' ? 'orders' : operation}` });

    const showSent = () => board.set({ fill: 'green', shape: 'dot', text: `sent ${sent}${failed ? `, failed ${failed}` : ''}` });

    async function order(msg: NodeMessage, send: SendFn): Promise<void> {
      const connection = config as BcConnection;
      const doc = msg.payload as Record<string, any> | undefined;
      const key: string | undefined = msg.tillwire?.idempotencyKey ?? (doc && typeof doc === 'object' ? businessKey(doc) : undefined);
      if (!key) throw permanent('create sales order', 'no idempotency key: msg.tillwire.idempotencyKey is missing and the payload has no business key');
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
      send(msg);
    }

    async function inventory(msg: NodeMessage, send: SendFn): Promise<void> {
      const connection = config as BcConnection;
      let skus: string[] | undefined;
      try {
        skus = skuList(msg.payload);
      } catch (err) {
        if (err instanceof SkuListError) throw permanent('read inventory', err.message);
        throw err;
      }
      const result = await readInventory(connection.client, skus, { locationId });
      for (const doc of result.positions) {
        const out: NodeMessage = {
          ...msg,
          topic: 'inventory.adjusted',
          payload: doc,
          erp: { system: SYSTEM, id: doc.attributes.bcItemId, number: doc.attributes.bcItemNumber },
        };
        delete out._msgid;
        delete out.tillwire;
        ensureEnvelope(out, doc, SYSTEM);
        if (msg.tillwire?.correlationId) out.tillwire.correlationId = msg.tillwire.correlationId;
        send(out);
      }
      const issues: string[] = [];
      if (result.unknown.length)
        issues.push(`unknown SKU${result.unknown.length > 1 ? 's' : ''} ${result.unknown.map((s) => `'${s}'`).join(', ')}: no such item in Business Central`);
      issues.push(...result.problems);
      if (issues.length) throw permanent('read inventory', issues.join('; '), { providerCode: result.unknown.length ? 'UnknownSku' : undefined });
    }

    async function shipments(msg: NodeMessage, send: SendFn): Promise<void> {
      const connection = config as BcConnection;
      if (!binding?.configured)
        throw permanent('read posted sales shipments', 'reading shipments needs a Tillwire store (it keeps the read cursor): choose one in the node');
      const store = await binding.acquire();
      const result = await readShipments(connection.client, store);
      for (const doc of result.shipments) {
        const out: NodeMessage = {
          ...msg,
          topic: 'shipment.created',
          payload: doc,
          erp: { system: SYSTEM, document: 'salesShipment', number: doc.shipmentId, orderNumber: doc.attributes?.bcOrderNumber },
        };
        delete out._msgid;
        delete out.tillwire;
        ensureEnvelope(out, doc, SYSTEM);
        if (msg.tillwire?.correlationId) out.tillwire.correlationId = msg.tillwire.correlationId;
        send(out);
      }
      if (!result.advanced)
        node.warn('Business Central shipments: another instance moved the cursor first; downstream dedupe by shipmentId absorbs the overlap');
      // Each posted shipment that could not be sent is its own failure (the cursor has moved past
      // it), so a Catch → dead-letter keeps one entry per shipment, naming it.
      for (const problem of result.problems) {
        const failedMsg: NodeMessage = { ...msg, payload: { problem }, topic: 'shipment.unmapped' };
        delete failedMsg.tillwire;
        node.error(permanent('read posted sales shipments', problem), failedMsg);
      }
    }

    onInput(node, async (msg: NodeMessage, send: SendFn) => {
      const op = operation === 'order' ? 'create sales order' : operation === 'shipments' ? 'read posted sales shipments' : 'read inventory';
      try {
        if (!config) throw permanent(op, 'no Business Central connection configured: choose one in the node');
        if (config.problem !== undefined) throw permanent(op, `the Business Central connection is not usable: ${config.problem}`);
        // Retries and throttling of the calls show on the badge (yellow ring) while they last.
        await board.watch(() => (operation === 'order' ? order(msg, send) : operation === 'shipments' ? shipments(msg, send) : inventory(msg, send)));
        sent++;
        showSent();
      } catch (err) {
        failed++;
        // done(err) hands it to Catch nodes: msg.error.code is the kind, msg.error.cause the fields.
        const e = asConnectorError(err, SYSTEM, op);
        board.set({ fill: 'red', shape: 'ring', text: shortText(`failed ${failed}: ${briefly(e)}`) });
        throw e;
      }
    });
  }
  RED.nodes.registerType('tillwire-business-central', TillwireBusinessCentralNode);
};
