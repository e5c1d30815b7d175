/**
 * `tillwire-business-central`: sends canonical sales and orders to Business Central as sales
 * orders, exactly once per idempotency key (operation "order"), or reads items' stock as canonical
 * inventory positions (operation "inventory"). Thin on purpose: the work is in operations.ts.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from '../core/node-red';
import { asError, bindStore, onInput, shortText, StatusBoard, StoreBinding } from '../core/node-kit';
import { ensureEnvelope } from '../model/envelope';
import { businessKey } from '../model/validate';
import { ConnectorError } from '../runtime/http';
import { permanent, SYSTEM, tagged } from './client';
import type { BcConfigNode } from './connection';
import { readInventory, sendOrder, skusFrom } from './operations';

interface BcNodeDef extends NodeDef {
  bc: string;
  operation?: 'order' | 'inventory';
  store?: string;
  locationId?: string;
}

function asConnectorError(err: unknown, operation: string): Error {
  const e = asError(err);
  if (e instanceof ConnectorError) return tagged(e);
  if (e.name === 'StoreUnavailableError') {
    return tagged(new ConnectorError(SYSTEM, operation, e.message, { retryable: true }));
  }
  // Anything else is a defect or bad input that retrying will not fix.
  return tagged(new ConnectorError(SYSTEM, operation, e.message, { retryable: false }));
}

export = function register(RED: NodeRED) {
  function TillwireBusinessCentralNode(this: RuntimeNode, def: BcNodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const config = (def.bc ? RED.nodes.getNode(def.bc) : undefined) as BcConfigNode | undefined;
    const operation = def.operation === 'inventory' ? 'inventory' : 'order';
    const locationId = def.locationId?.trim() || 'BC-ALL';
    const binding: StoreBinding | undefined = operation === 'order' && def.store ? bindStore(RED, node, def.store, board) : undefined;
    let sent = 0;
    let failed = 0;

    const problem = !config ? 'no Business Central connection configured' : config.problem;
    if (problem) board.set({ fill: 'red', shape: 'ring', text: shortText(problem) });
    else board.set({ fill: 'grey', shape: 'ring', text: operation === 'order' ? 'ready: orders' : 'ready: inventory' });

    const showSent = () => board.set({ fill: 'green', shape: 'dot', text: `sent ${sent}${failed ? `, failed ${failed}` : ''}` });
    const observer = {
      onRetry(info: { reason: string }) {
        const throttled = /HTTP (429|503)\b/.test(info.reason);
        board.set({ fill: 'yellow', shape: 'ring', text: throttled ? 'throttled: retrying' : shortText(`retrying: ${info.reason.replace(/^business-central /, '')}`) });
      },
    };

    async function order(msg: NodeMessage, send: SendFn): Promise<void> {
      const connection = config!.connection!;
      const doc = msg.payload as Record<string, any> | undefined;
      const key: string | undefined = msg.tillwire?.idempotencyKey ?? (doc && typeof doc === 'object' ? businessKey(doc) : undefined);
      if (!key) throw permanent('create sales order', 'no idempotency key: msg.tillwire.idempotencyKey is missing and the payload has no business key');
      const result = await connection.client.observe(observer, () => sendOrder(connection.client, doc, key, connection.settings, connection.locks));
      msg.erp = result;
      if (binding && result.number) {
        const store = await binding.acquire();
        msg.erp.recorded = await store.registerSetRef(key, SYSTEM, result.number);
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
      const connection = config!.connection!;
      const skus = skusFrom(msg.payload);
      const result = await connection.client.observe(observer, () => readInventory(connection.client, skus, { locationId }));
      for (const doc of result.positions) {
        const out: NodeMessage = { ...msg, topic: 'inventory.adjusted', payload: doc, erp: { system: SYSTEM, id: doc.attributes.bcItemId, number: doc.attributes.bcItemNumber } };
        delete out._msgid;
        delete out.tillwire;
        ensureEnvelope(out, doc, SYSTEM);
        if (msg.tillwire?.correlationId) out.tillwire.correlationId = msg.tillwire.correlationId;
        send(out);
      }
      const issues: string[] = [];
      if (result.unknown.length) issues.push(`unknown SKU${result.unknown.length > 1 ? 's' : ''} ${result.unknown.map((s) => `'${s}'`).join(', ')}: no such item in Business Central`);
      issues.push(...result.problems);
      if (issues.length) throw permanent('read inventory', issues.join('; '), { providerCode: result.unknown.length ? 'UnknownSku' : undefined });
    }

    onInput(node, async (msg: NodeMessage, send: SendFn) => {
      const op = operation === 'order' ? 'create sales order' : 'read inventory';
      try {
        if (!config) throw permanent(op, 'no Business Central connection configured: choose one in the node');
        if (!config.connection) throw permanent(op, `the Business Central connection is not usable: ${config.problem ?? 'it was closed'}`);
        if (operation === 'order') await order(msg, send);
        else await inventory(msg, send);
        sent++;
        showSent();
      } catch (err) {
        failed++;
        const e = asConnectorError(err, op);
        board.set({ fill: 'red', shape: 'ring', text: shortText(`failed ${failed}: ${e.message.replace(/^business-central /, '')}`) });
        throw e;
      }
    });
  }
  RED.nodes.registerType('tillwire-business-central', TillwireBusinessCentralNode);
};
