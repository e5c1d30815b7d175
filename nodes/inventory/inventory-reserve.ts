/**
 * `tillwire-inventory-reserve`: the oversell guard on order intake (docs/inventory.md, "The reserve
 * node"). A canonical order reserves its stock in the store's inventory ledger in the transaction
 * that checks it (order-intake.ts): reserved → output 1, short → output 2 ("oversell risk", with
 * the channel, the order and each short SKU). Cancelled orders, shipments, returns and till sales
 * release, consume, restock and take off stock, and leave on output 1. ERP stock readings
 * (`inventory.position`) are booked as snapshots and channel read-backs (`inventory.ats`) compared
 * with the last push (stock-readings.ts): each drift beyond the tolerances leaves on output 3.
 * Stock movements (`inventory.adjustment`: receipts, damage, counts, transfers) are booked as
 * adjustments of on hand (stock-adjustments.ts) and leave on output 1.
 * Refused input goes to Catch. Registers the explain route of the admin API (inventory-routes.ts).
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from '../core/node-red';
import { statusTexts, bindStore, onInput, StatusBoard } from '../core/node-kit';
import { applyToLedger, type IntakeSettings } from './order-intake';
import { toleranceOf } from './drift';
import { registerInventoryRoutes } from './inventory-routes';
import { isStockReading, StockReadings } from './stock-readings';
import { bookAdjustments, isAdjustment } from './stock-adjustments';

interface ReserveDef extends NodeDef {
  store: string;
  /** Location ids orders draw from, in order of preference, comma- or line-separated. */
  locations?: string;
  returnLocation?: string;
  /** Units of difference reported as drift only beyond these (empty: any difference). */
  driftOnHand?: string | number;
  driftReserved?: string | number;
  driftChannel?: string | number;
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  registerInventoryRoutes(RED);
  function TillwireInventoryReserveNode(this: RuntimeNode, def: ReserveDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const binding = bindStore(RED, node, def.store, board);
    const settings: IntakeSettings = {
      locationIds: [
        ...new Set(
          (def.locations ?? '')
            .split(/[,\r\n]+/)
            .map((l) => l.trim())
            .filter(Boolean),
        ),
      ],
      ...(def.returnLocation?.trim() ? { returnLocationId: def.returnLocation.trim() } : {}),
    };
    let readings: StockReadings | undefined;
    let badTolerance: string | undefined;
    try {
      readings = new StockReadings({
        onHand: toleranceOf(def.driftOnHand, 'the on-hand drift tolerance'),
        reserved: toleranceOf(def.driftReserved, 'the reserved drift tolerance'),
        channel: toleranceOf(def.driftChannel, 'the channel drift tolerance'),
      });
    } catch (err) {
      badTolerance = (err as Error).message;
    }
    const counts = { reserved: 0, oversell: 0, booked: 0, drift: 0 };
    const show = () =>
      board.set({
        fill: counts.oversell || counts.drift ? 'yellow' : 'green',
        shape: 'dot',
        text: t('status.counts', counts) + (counts.drift ? t('status.drift', counts) : ''),
      });
    if (settings.locationIds.length === 0) board.set({ fill: 'red', shape: 'ring', text: t('status.noLocations') });
    else if (badTolerance) board.set({ fill: 'red', shape: 'ring', text: t('status.badTolerance') });
    else if (binding.configured) show();

    onInput(node, async (msg: NodeMessage, send: SendFn) => {
      if (settings.locationIds.length === 0) throw new Error('inventory reserve: no locations set in the node');
      if (!readings) throw new Error(`inventory reserve: ${badTolerance}`);
      const store = await binding.acquire();
      if (isStockReading(msg.payload)) {
        const r = await readings.apply(store, msg);
        msg.inventory = r.summary;
        msg.skus = r.skus;
        counts.booked += r.summary.booked;
        counts.drift += r.drift.length;
        show();
        // One message per drift (payload: the report), for a flow to alert on; the reading goes on on output 1.
        const drift = r.drift.map((d) => ({ topic: 'inventory.drift', payload: d }));
        send([msg, null, drift.length ? drift : null]);
        if (r.problem) throw r.problem;
        return;
      }
      if (isAdjustment(msg.payload)) {
        const r = await bookAdjustments(store.inventory, msg.payload);
        msg.inventory = r.summary;
        msg.skus = r.skus;
        counts.booked += r.summary.booked;
        show();
        // As an array of positions: what was booked goes on on output 1, the refused ones then go to Catch.
        send([msg, null, null]);
        if (r.problem) throw r.problem;
        return;
      }
      // A Change node sets a string by default: "true" is not the operator's decision, and says so.
      if (msg.reconsider !== undefined && typeof msg.reconsider !== 'boolean')
        node.warn(`msg.reconsider is ${JSON.stringify(msg.reconsider)}, not the boolean true: the order is not decided again (set it as a boolean)`);
      const outcome = await applyToLedger(store.inventory, msg.payload, settings, { reconsider: msg.reconsider === true });
      if (outcome.output === 2) {
        const r = outcome.reservation;
        msg.inventory = r;
        msg.oversell = { channel: { system: r.system, account: r.account }, orderId: r.orderId, skus: r.short };
        counts.oversell++;
        show();
        send([null, msg, null]);
        return;
      }
      msg.inventory = outcome.reservation
        ? { ...outcome.reservation, ...(outcome.note ? { note: outcome.note } : {}) }
        : (outcome.change ?? { note: outcome.note });
      if (outcome.unknownLocation) {
        const warning = `till sale booked at unknown location ${outcome.unknownLocation}: no order draws from it and the ledger held nothing there`;
        msg.inventory = { ...msg.inventory, unknownLocation: outcome.unknownLocation, warning };
        node.warn(warning);
      }
      // Which SKUs' positions changed, for tillwire-available-to-sell.
      const moved = outcome.change?.events ?? (outcome.reservation?.outcome === 'reserved' ? outcome.reservation.allocations : []);
      msg.skus = [...new Set(moved.map((e) => e.sku))];
      if (outcome.reservation?.outcome === 'reserved') counts.reserved++;
      else counts.booked++;
      show();
      send([msg, null, null]);
    });
  }
  RED.nodes.registerType('tillwire-inventory-reserve', TillwireInventoryReserveNode);
};
