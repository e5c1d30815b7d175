/**
 * `tillwire-bol-ship`: sends a canonical Shipment (msg.payload, kind "shipment", for an order whose
 * channel is bol) to bol.com's shipment endpoint, once per shipmentId (see ship.ts for how that is
 * kept without an idempotency key at bol), and passes the message on with `msg.bol` =
 * { orderId, processStatusId, status, repeat }. Failures go to Catch: invalid documents and bol's
 * refusals at once, throttling and outages after the client's retries.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from '../core/node-red';
import { bindStore, StatusBoard, shortText, onInput, statusTexts, type Problem } from '../core/node-kit';
import { businessKey, validateDocument } from '../model/validate';
import type { ChannelResult } from '../core/channel-write';
import type { Shipment } from '../model/types.generated';
import { shipOnce, ShipmentRefused } from './ship';
import { asConnectorError, briefly, permanentFailure } from '../runtime/errors';
import { BOL_CONFIG, type BolConnection } from './connection';
import { connectionOf } from '../core/config-node';

interface ShipDef extends NodeDef {
  bol: string;
  store: string;
  transporters?: string;
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireBolShipNode(this: RuntimeNode, def: ShipDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node, RED);
    const binding = bindStore(RED, node, def.store, board);
    const connection = connectionOf<BolConnection>(RED, def.bol, BOL_CONFIG);
    const counts = { sent: 0, repeats: 0, failed: 0 };
    let transporters: Record<string, string> = {};
    // The account's own problem is its config node's text (English), shown as it is.
    let problem: Problem | undefined = !connection
      ? t.problem('status.noAccount')
      : connection.problem
        ? { badge: connection.problem, message: connection.problem }
        : undefined;
    try {
      transporters = def.transporters?.trim() ? JSON.parse(def.transporters) : {};
      if (typeof transporters !== 'object' || Array.isArray(transporters)) throw new Error('not an object');
    } catch (err) {
      problem = t.problem('status.badCarrierMap', { error: (err as Error).message });
    }
    const show = () =>
      board.set({
        fill: 'green',
        shape: 'dot',
        text: t('status.counts', { sent: counts.sent, repeats: counts.repeats }) + (counts.failed ? t('status.failed', { failed: counts.failed }) : ''),
      });
    if (problem) board.set({ fill: 'red', shape: 'ring', text: shortText(problem.badge) });
    else show();

    onInput(node, async (msg: NodeMessage, send: SendFn) => {
      if (problem || !connection?.client) throw permanentFailure('bol', 'shipment', problem?.message ?? t.problem('status.noAccount').message);
      const v = validateDocument('shipment', msg.payload);
      if (!v.valid) {
        counts.failed++;
        show();
        throw permanentFailure('bol', 'shipment', `not a valid canonical shipment: ${v.errors.join('; ')}`, { kind: 'value', providerCode: 'InvalidDocument' });
      }
      const store = await binding.acquire();
      try {
        const result = await board.watch(() =>
          shipOnce({ client: connection.client!, store, account: connection.account, shipment: msg.payload as Shipment, transporters }),
        );
        if (result.repeat) counts.repeats++;
        else counts.sent++;
        show();
        // msg.channelResult as every channel write node reports it; msg.bol keeps bol's own detail.
        const channelResult: ChannelResult = {
          system: 'bol',
          account: connection.account,
          operation: 'shipment',
          outcome: result.repeat ? 'already-sent' : 'sent',
          key: businessKey(msg.payload as Record<string, unknown>) ?? '',
          orderId: result.orderId,
          status: result.status,
        };
        send({ ...msg, bol: result, channelResult });
      } catch (err) {
        counts.failed++;
        // bol's process status FAILURE is its refusal of the shipment: fix it, then replay.
        const e =
          err instanceof ShipmentRefused
            ? permanentFailure('bol', 'shipments:create', err.message, { kind: 'value' })
            : asConnectorError(err, 'bol', 'shipment');
        board.set({ fill: 'red', shape: 'ring', text: shortText(t('status.error', { error: briefly(e) })) });
        throw e;
      }
    });
  }
  RED.nodes.registerType('tillwire-bol-ship', TillwireBolShipNode);
};
