/**
 * `tillwire-odoo`: writes canonical sales and orders to Odoo as confirmed `sale.order`s, exactly
 * once per idempotency key, following the shared order lifecycle (create on first sight, cancel,
 * stale events acknowledged), and returns as posted credit notes (operation "order"), or reads stock as canonical `inventory.position`
 * documents (operation "stock"). Thin: the work is in orders.ts, returns.ts, shipments.ts and stock.ts (through sync.ts); this file reads the config, reports
 * status and sends or fails the message.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from '../core/node-red';
import { bindStore, onInput, shortText, StatusBoard, StoreBinding } from '../core/node-kit';
import { asConnectorError, briefly } from '../runtime/errors';
import { ensureEnvelope } from '../model/envelope';
import { fromMinor } from '../model/money';
import { odooError, SYSTEM } from './client';
import { orderKey } from './map';
import { ShipmentCursor } from './shipments';
import { skuList, SkuListError } from '../core/sku-list';
import { ODOO_CONFIG, type OdooConnection } from './connection';
import { connectionOf } from '../core/config-node';

interface OdooNodeDef extends NodeDef {
  odoo?: string;
  operation?: string;
  store?: string;
  output?: string;
}

export = function register(RED: NodeRED) {
  function TillwireOdooNode(this: RuntimeNode, def: OdooNodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const connection = connectionOf<OdooConnection>(RED, def.odoo, ODOO_CONFIG);
    const operation = def.operation === 'stock' ? 'stock' : def.operation === 'shipments' ? 'shipments' : 'order';
    const cursorKey = `odoo-shipments:${def.id}:cursor`;
    const eachPosition = def.output !== 'array';
    const binding: StoreBinding | undefined = def.store ? bindStore(RED, node, def.store, board) : undefined;
    const problem = !connection ? 'no Odoo connection configured' : connection.problem;
    let sent = 0;
    /** Events acknowledged without a write: stale order events, returns still waiting. */
    let stale = 0;
    let skipped = 0;
    if (problem) board.set({ fill: 'red', shape: 'ring', text: shortText(problem) });
    else board.set({ fill: 'grey', shape: 'ring', text: operation === 'order' ? 'orders' : operation });

    async function order(msg: NodeMessage, send: SendFn): Promise<void> {
      const payload = msg.payload as Record<string, any>;
      const key = (payload && typeof payload === 'object' ? orderKey(msg, payload) : undefined) ?? '';
      if (payload && typeof payload === 'object' && payload.kind === 'return') return creditNote(msg, send, payload, key);
      const result = await connection!.sync!.pushOrder(payload, key);
      msg.erp = result;
      if (result.variance) {
        const v = result.variance;
        node.warn(
          `${result.name}: Odoo's total differs from the ${payload.kind}'s by ${fromMinor(v.amount, v.currency)} ${v.currency} (check the tax map and Odoo's price precision)`,
        );
      }
      if (result.duplicates) {
        node.warn(
          `${result.key}: other confirmed Odoo orders carry the same key (${result.duplicates.join(', ')}); ${result.name} was used, the others were left alone`,
        );
      }
      if (binding && result.name) {
        const store = await binding.acquire();
        await store.registerSetRef(key, 'odoo', result.name);
      }
      if (result.stale) stale++;
      else sent++;
      send(msg);
    }

    async function creditNote(msg: NodeMessage, send: SendFn, payload: Record<string, any>, key: string): Promise<void> {
      const result = await connection!.sync!.pushReturn(payload, key);
      msg.erp = result;
      if (result.variance) {
        const v = result.variance;
        node.warn(
          `${result.name}: the credit note's total differs from the return's by ${fromMinor(v.amount, v.currency)} ${v.currency} (check the original order's taxes)`,
        );
      }
      if (result.duplicates) node.warn(`${key}: other posted credit notes carry the same ref (${result.duplicates.join(', ')}); ${result.name} was used`);
      if (binding && result.name) {
        const store = await binding.acquire();
        await store.registerSetRef(key, 'odoo', result.name);
      }
      if (result.skipped) skipped++;
      else sent++;
      send(msg);
    }

    async function stock(msg: NodeMessage, send: SendFn): Promise<void> {
      let skus: string[] | undefined;
      try {
        skus = skuList(msg.payload);
      } catch (err) {
        if (err instanceof SkuListError) throw odooError('stock.quant', err.message, { retryable: false });
        throw err;
      }
      const result = await connection!.sync!.readStock(skus);
      const info = { system: 'odoo', model: 'stock.quant', positions: result.positions.length, unknownSkus: result.unknown, fractionalSkus: result.fractional };
      if (eachPosition) {
        const out = result.positions.map((position) => {
          const m: NodeMessage = { ...msg, payload: position, topic: 'inventory.adjusted', erp: info };
          delete m.tillwire;
          ensureEnvelope(m, position as unknown as Record<string, unknown>, 'odoo');
          return m;
        });
        if (out.length) send([out]);
      } else {
        msg.payload = result.positions;
        msg.topic = 'inventory.adjusted';
        msg.erp = info;
        send(msg);
      }
      sent += result.positions.length;
      const problems: string[] = [];
      if (result.unknown.length) problems.push(`unknown SKU${result.unknown.length > 1 ? 's' : ''} in Odoo: ${result.unknown.join(', ')}`);
      if (result.fractional.length) problems.push(`stock is not a whole number of units for ${result.fractional.join(', ')}`);
      if (problems.length) throw odooError('stock.quant', problems.join('; '), { retryable: false, providerCode: 'unknown_sku' });
    }

    /**
     * Done outgoing transfers since the cursor kept in the store, one `shipment` message each
     * (topic shipment.created), the cursor advanced compare-and-set after each page is sent.
     */
    async function shipments(msg: NodeMessage, send: SendFn): Promise<void> {
      if (!binding) throw odooError('stock.picking', 'select a Tillwire store in the node: the shipments cursor is kept there', { retryable: false });
      const store = await binding.acquire();
      // `{ pickings: [names] }` re-reads those transfers (after one was fixed in Odoo), cursor untouched.
      const named = Array.isArray((msg.payload as any)?.pickings) ? ((msg.payload as any).pickings as unknown[]).map(String) : undefined;
      const invalid: Array<{ picking: string; errors: string[] }> = [];
      const emit = (result: Awaited<ReturnType<NonNullable<OdooConnection['sync']>['readShipments']>>) => {
        const out = result.shipments.map((doc) => {
          const m: NodeMessage = {
            ...msg,
            payload: doc,
            topic: 'shipment.created',
            erp: { system: 'odoo', model: 'stock.picking', id: Number(doc.attributes?.odooPickingId), name: doc.shipmentId },
          };
          delete m.tillwire;
          ensureEnvelope(m, doc as unknown as Record<string, unknown>, 'odoo');
          return m;
        });
        if (out.length) send([out]);
        sent += out.length;
        invalid.push(...result.invalid);
      };
      if (named) emit(await connection!.sync!.readShipments(undefined, Math.max(1, named.length), named));
      else {
        for (let page = 0; page < 50; page++) {
          const previous = (await store.kvGet(cursorKey)) as ShipmentCursor | undefined;
          const result = await connection!.sync!.readShipments(previous);
          emit(result);
          if (!result.cursor || (previous && result.cursor.id === previous.id && result.cursor.doneAt === previous.doneAt)) break;
          // Another instance moved the cursor first: stop here (what was sent twice dedupes on shipment:odoo:<name>).
          if (!(await store.kvPut(cursorKey, result.cursor, previous))) break;
          if (!result.more) break;
        }
      }
      // Each transfer that could not be sent is its own failure (the cursor has moved past it): a
      // Catch → dead-letter keeps it with `{ pickings: [name] }` as payload, so a replay, once the
      // transfer is fixed in Odoo, reads it again.
      for (const i of invalid) {
        const err = odooError('stock.picking', `${i.picking} not sent as a shipment: ${i.errors.join('; ')}`, { retryable: false, providerCode: 'mapping' });
        const failedMsg: NodeMessage = { ...msg, payload: { pickings: [i.picking] }, topic: 'shipment.unmapped' };
        delete failedMsg.tillwire;
        node.error(err, failedMsg);
      }
      if (invalid.length)
        board.set({ fill: 'yellow', shape: 'ring', text: shortText(`sent ${sent}; ${invalid.length} transfer${invalid.length > 1 ? 's' : ''} not sent`) });
    }

    onInput(node, async (msg: NodeMessage, send: SendFn) => {
      try {
        if (problem || !connection?.sync) throw odooError('connection', problem ?? 'not usable', { kind: 'value', retryable: false });
        await board.watch(() => (operation === 'order' ? order(msg, send) : operation === 'shipments' ? shipments(msg, send) : stock(msg, send)));
        board.set({ fill: 'green', shape: 'dot', text: `sent ${sent}${stale ? `, ${stale} stale` : ''}${skipped ? `, ${skipped} waiting` : ''}` });
      } catch (err) {
        // done(err) hands it to Catch nodes: msg.error.code is the kind, msg.error.cause the fields.
        const e = asConnectorError(err, SYSTEM, operation);
        board.set({ fill: 'red', shape: 'ring', text: shortText(`failed: ${briefly(e)}`) });
        throw e;
      }
    });
  }
  RED.nodes.registerType('tillwire-odoo', TillwireOdooNode);
};
