/**
 * `tillwire-odoo`: writes canonical sales and orders to Odoo as confirmed `sale.order`s, exactly
 * once per idempotency key, following the shared order lifecycle (create on first sight, cancel,
 * stale events acknowledged), and returns as posted credit notes (operation "order"); reads done
 * deliveries as canonical shipments (operation "shipments"); or reads stock as canonical
 * `inventory.position` documents (operation "stock"). The node body is the shared ERP node
 * (core/erp-node.ts); this file fills in Odoo's part on the `OdooSync` facade (sync.ts).
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode } from '../core/node-red';
import { asError, statusTexts, type StoreBinding } from '../core/node-kit';
import { summarySecondsOf } from '../core/summary-posting';
import { registerSummaryRoutes } from '../core/summary-routes';
import { batchSizeOf, erpNode, type ErpDocument, type ErpParts, type ErpUnsent, type OrderOutcome, type StockRead } from '../core/erp-node';
import type { OrderResult } from './orders';
import { fromMinor, type Money } from '../model/money';
import { odooError, SYSTEM } from './client';
import { orderKey } from './map';
import type { ShipmentCursor } from './shipments';
import type { StockResult } from './stock';
import { ODOO_CONFIG, type OdooConnection } from './connection';
import { connectionOf } from '../core/config-node';
import type { OdooSync } from './sync';

interface OdooNodeDef extends NodeDef {
  odoo?: string;
  operation?: string;
  store?: string;
  output?: string;
  /** "each" (default): one ERP document per sale; "summary": summarised posting. */
  posting?: string;
  summarySeconds?: number | string;
  batchSize?: number | string;
}

const difference = (v: Money) => `${fromMinor(v.amount, v.currency)} ${v.currency}`;

/** The order's number against the document in the sales register. */
async function recordRef(binding: StoreBinding, key: string, name: string): Promise<void> {
  const store = await binding.acquire();
  await store.registerSetRef(key, SYSTEM, name);
}

/** A stock read as the ERP node sends it: each position with `msg.erp`, and the SKUs it could not read. */
function stockRead(result: StockResult): StockRead {
  const summary = {
    system: SYSTEM,
    model: 'stock.quant',
    positions: result.positions.length,
    unknownSkus: result.unknown,
    fractionalSkus: result.fractional,
  };
  const problems: string[] = [];
  if (result.unknown.length) problems.push(`unknown SKU${result.unknown.length > 1 ? 's' : ''} in Odoo: ${result.unknown.join(', ')}`);
  if (result.fractional.length) problems.push(`stock is not a whole number of units for ${result.fractional.join(', ')}`);
  return {
    positions: result.positions.map((position) => ({ payload: position as unknown as Record<string, any>, erp: summary })),
    summary,
    problem: problems.length ? odooError('stock.quant', problems.join('; '), { retryable: false, providerCode: 'unknown_sku' }) : undefined,
  };
}

/** Odoo's part of the ERP node: what it does with the `OdooSync` of the chosen connection. */
function odooParts(node: RuntimeNode, cursorKey: string): ErpParts<OdooSync> {
  /** `msg.erp` of a sale or order written, and a warning for a total that differs or a key Odoo holds twice. */
  const orderWritten = (msg: NodeMessage, result: OrderResult) => {
    msg.erp = result;
    if (result.variance)
      node.warn(
        `${result.name}: Odoo's total differs from the ${(msg.payload as any).kind}'s by ${difference(result.variance)} (check the tax map and Odoo's price precision)`,
      );
    if (result.duplicates)
      node.warn(
        `${result.key}: other confirmed Odoo orders carry the same key (${result.duplicates.join(', ')}); ${result.name} was used, the others were left alone`,
      );
  };
  return {
    async order(sync, msg, binding) {
      const payload = msg.payload as Record<string, any>;
      const key = (payload && typeof payload === 'object' ? orderKey(msg, payload) : undefined) ?? '';
      let outcome: OrderOutcome;
      let name: string | undefined;
      if (payload && typeof payload === 'object' && payload.kind === 'return') {
        const result = await sync.pushReturn(payload, key);
        msg.erp = result;
        name = result.name ?? undefined;
        if (result.variance)
          node.warn(`${result.name}: the credit note's total differs from the return's by ${difference(result.variance)} (check the original order's taxes)`);
        if (result.duplicates) node.warn(`${key}: other posted credit notes carry the same ref (${result.duplicates.join(', ')}); ${result.name} was used`);
        outcome = result.skipped ? 'waiting' : 'sent';
      } else {
        const result = await sync.pushOrder(payload, key);
        orderWritten(msg, result);
        name = result.name;
        outcome = result.stale ? 'stale' : 'sent';
      }
      if (binding && name) await recordRef(binding, key, name);
      return outcome;
    },

    // Till sales in one batch (sale-batch.ts); each message ends as `order` would end it.
    async saleBatch(sync, msgs, binding) {
      const keys = msgs.map((msg) => {
        const payload = msg.payload as Record<string, any>;
        return (payload && typeof payload === 'object' ? orderKey(msg, payload) : undefined) ?? '';
      });
      const results = await sync.pushSales(msgs.map((msg, i) => ({ payload: msg.payload, key: keys[i] })));
      return Promise.all(
        results.map(async (result, i): Promise<OrderOutcome | Error> => {
          if (result instanceof Error) return result;
          try {
            orderWritten(msgs[i], result);
            if (binding) await recordRef(binding, keys[i], result.name);
            return 'sent';
          } catch (err) {
            return asError(err);
          }
        }),
      );
    },

    // A sale.order Odoo holds (not cancelled) for this event; a credit note or a stale event is none.
    acceptedRef: (erp) => (erp.model === 'sale.order' && !erp.stale && erp.state !== 'cancel' && typeof erp.name === 'string' ? erp.name : undefined),

    async stock(sync, skus) {
      return stockRead(await sync.readStock(skus));
    },

    async stockChanges(sync, cursor) {
      // stock.ts decides whether the stored cursor can be trusted.
      const result = await sync.readStockChanges(cursor);
      return { ...stockRead(result), cursor: result.cursor };
    },

    /**
     * Done outgoing transfers since the cursor kept in the store, the cursor advanced
     * compare-and-set after each page is sent.
     */
    async shipments(sync, { msg, store, emit }) {
      // `{ pickings: [names] }` re-reads those transfers (after one was fixed in Odoo), cursor untouched.
      const named = Array.isArray((msg.payload as any)?.pickings) ? ((msg.payload as any).pickings as unknown[]).map(String) : undefined;
      const unsent: ErpUnsent[] = [];
      const send = (result: Awaited<ReturnType<OdooSync['readShipments']>>) => {
        emit(
          result.shipments.map((doc): ErpDocument => ({
            payload: doc as unknown as Record<string, any>,
            erp: { system: SYSTEM, model: 'stock.picking', id: Number(doc.attributes?.odooPickingId), name: doc.shipmentId },
          })),
        );
        // A transfer that could not be sent fails on its own with `{ pickings: [name] }` as payload,
        // so a replay, once the transfer is fixed in Odoo, reads it again.
        for (const i of result.invalid)
          unsent.push({
            error: odooError('stock.picking', `${i.picking} not sent as a shipment: ${i.errors.join('; ')}`, { retryable: false, providerCode: 'mapping' }),
            payload: { pickings: [i.picking] },
          });
      };
      if (named) send(await sync.readShipments(undefined, Math.max(1, named.length), named));
      else {
        for (let page = 0; page < 50; page++) {
          const previous = (await store.kvGet(cursorKey)) as ShipmentCursor | undefined;
          const result = await sync.readShipments(previous);
          send(result);
          if (!result.cursor || (previous && result.cursor.id === previous.id && result.cursor.doneAt === previous.doneAt)) break;
          // Another instance moved the cursor first: stop here (what was sent twice dedupes on shipment:odoo:<name>).
          if (!(await store.kvPut(cursorKey, result.cursor, previous))) break;
          if (!result.more) break;
        }
      }
      return unsent;
    },
  };
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  registerSummaryRoutes(RED);
  function TillwireOdooNode(this: RuntimeNode, def: OdooNodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    // The chosen config node and its connection (undefined when none is chosen).
    const odoo = (): OdooConnection | undefined => connectionOf<OdooConnection>(RED, def.odoo, ODOO_CONFIG);
    erpNode<OdooSync>(RED, node, {
      system: SYSTEM,
      operation: def.operation === 'stock' ? 'stock' : def.operation === 'shipments' ? 'shipments' : 'order',
      operationNames: { order: 'sale.order', stock: 'stock.quant', shipments: 'stock.picking' },
      storeId: def.store,
      summarySeconds: def.posting === 'summary' ? summarySecondsOf(def.summarySeconds) : undefined,
      stockOutput: def.output === 'array' ? 'array' : 'each',
      batchSize: batchSizeOf(def.batchSize),
      texts: t,
      config: () => {
        const connection = odoo();
        return connection && { connection: connection.sync, problem: connection.problem };
      },
      unusable: (problem) => odooError('connection', problem ?? 'no Odoo connection configured', { kind: 'value', retryable: false }),
      parts: odooParts(node, `odoo-shipments:${def.id}:cursor`),
    });
  }
  RED.nodes.registerType('tillwire-odoo', TillwireOdooNode);
};
