/**
 * `tillwire-inventory-reserve`: the oversell guard on order intake (docs/inventory.md, "The reserve
 * node"). A canonical order reserves its stock in the store's inventory ledger in the transaction
 * that checks it (order-intake.ts): reserved → output 1, short → output 2 ("oversell risk", with
 * the channel, the order and each short SKU). Cancelled orders, shipments, returns and till sales
 * release, consume, restock and take off stock, and leave on output 1. Refused input goes to Catch.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from '../core/node-red';
import { statusTexts, bindStore, onInput, StatusBoard } from '../core/node-kit';
import { applyToLedger, type IntakeSettings } from './order-intake';

interface ReserveDef extends NodeDef {
  store: string;
  /** Location ids orders draw from, in order of preference, comma- or line-separated. */
  locations?: string;
  returnLocation?: string;
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
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
    const counts = { reserved: 0, oversell: 0, booked: 0 };
    const show = () => board.set({ fill: counts.oversell ? 'yellow' : 'green', shape: 'dot', text: t('status.counts', counts) });
    if (settings.locationIds.length === 0) board.set({ fill: 'red', shape: 'ring', text: t('status.noLocations') });
    else if (binding.configured) show();

    onInput(node, async (msg: NodeMessage, send: SendFn) => {
      if (settings.locationIds.length === 0) throw new Error('inventory reserve: no locations set in the node');
      const store = await binding.acquire();
      const outcome = await applyToLedger(store.inventory, msg.payload, settings);
      if (outcome.output === 2) {
        const r = outcome.reservation;
        msg.inventory = r;
        msg.oversell = { channel: { system: r.system, account: r.account }, orderId: r.orderId, skus: r.short };
        counts.oversell++;
        show();
        send([null, msg]);
        return;
      }
      msg.inventory = outcome.reservation ?? outcome.change ?? { note: outcome.note };
      // Which SKUs' positions changed, for tillwire-available-to-sell.
      const moved = outcome.change?.events ?? (outcome.reservation?.outcome === 'reserved' ? outcome.reservation.allocations : []);
      msg.skus = [...new Set(moved.map((e) => e.sku))];
      if (outcome.reservation) counts.reserved++;
      else counts.booked++;
      show();
      send([msg, null]);
    });
  }
  RED.nodes.registerType('tillwire-inventory-reserve', TillwireInventoryReserveNode);
};
