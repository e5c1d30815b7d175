/**
 * `tillwire-square-payouts`: Square payouts as canonical Settlements (msg.payload, validated, with
 * the envelope), one message per payout when it reaches PAID or FAILED, and once more if it later
 * changes between the two (a paid payout the bank sends back). Polls every `interval` seconds and
 * on any input message; the cursor and the payouts already handed on live in the store
 * (payouts.ts), so a restart or a second instance on the same store emits nothing twice. A payout
 * whose figures cannot be mapped leaves on the second output with msg.error, for a dead-letter node.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode } from '../core/node-red';
import { bindStore, onInput, shortText, statusTexts, StatusBoard } from '../core/node-kit';
import { schedulePolls } from '../core/poll-schedule';
import { connectionOf } from '../core/config-node';
import { ensureEnvelope } from '../model/envelope';
import type { Settlement } from '../model/types.generated';
import { SQUARE_CONFIG, type SquareConnection } from './connection';
import { pollPayouts, type PayoutPollReport } from './payouts';
import type { PayoutMappingError } from './payout-map';
import type { SqPayout } from './types';

interface PayoutsDef extends NodeDef {
  square: string;
  store: string;
  interval?: string | number;
  lookback?: string | number;
  linkOrders?: boolean;
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireSquarePayoutsNode(this: RuntimeNode, def: PayoutsDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const connection = connectionOf<SquareConnection>(RED, def.square, SQUARE_CONFIG);
    const store = bindStore(RED, node, def.store, board);
    const num = (v: unknown, d: number) => (v === undefined || v === '' || !Number.isFinite(Number(v)) ? d : Number(v));
    const intervalMs = Math.max(0, num(def.interval, 3600)) * 1000;
    const lookbackMs = Math.max(0, num(def.lookback, 30)) * 86_400_000;
    let count = 0;

    const settlementMsg = (s: Settlement, payout: SqPayout): NodeMessage => {
      const msg: NodeMessage = {
        topic: `settlement/square/${s.settlementId}`,
        payload: s,
        // Each final state is its own event: a payout sent back after PAID must pass a dedupe keyed on it.
        tillwire: {
          idempotencyKey: `settlement:square:${s.settlementId}:${payout.status}`,
          occurredAt: s.issuedAt,
          source: { system: 'square', account: payout.location_id, eventId: `${payout.id}:${payout.status}:${payout.version ?? ''}` },
        },
      };
      ensureEnvelope(msg, s, 'square');
      return msg;
    };

    const refusedMsg = (err: PayoutMappingError, payout: SqPayout): NodeMessage => ({
      topic: `settlement/square/${payout.id}/problem`,
      payload: payout,
      error: {
        message: err.message,
        name: err.name,
        code: err.code,
        source: { id: node.id, type: node.type, name: node.name },
        cause: { payoutId: payout.id, status: payout.status },
      },
    });

    const poll = async (signal: AbortSignal): Promise<PayoutPollReport> => {
      if (!connection?.client) throw new Error(`Square payouts: ${connection?.problem ?? t('status.noAccount')}`);
      const client = connection.client;
      const s = await store.acquire();
      const report = await board.watch(() =>
        pollPayouts(
          client,
          s,
          {
            cursorKey: `square:payouts:${node.id}`,
            locationIds: connection.settings.locationIds,
            lookbackMs,
            linkOrders: def.linkOrders !== false,
            signal,
          },
          {
            settlement: (settlement, payout) => {
              count++;
              node.send([settlementMsg(settlement, payout), null]);
            },
            refused: (err, payout) => node.send([null, refusedMsg(err, payout)]),
          },
        ),
      );
      board.set(
        count
          ? { fill: 'green', shape: 'dot', text: shortText(t('status.emitted', { count, inTransit: report.inTransit })) }
          : { fill: 'grey', shape: 'ring', text: shortText(t('status.none', { inTransit: report.inTransit })) },
      );
      return report;
    };

    const polls = schedulePolls(node, board, { poll, intervalMs, enabled: Boolean(connection?.client), topic: 'square.payouts.poll' });

    // A poll a message asked for fails to that message's Catch (done(err)).
    onInput(node, async () => {
      await polls.now();
    });

    if (!connection?.client) board.set({ fill: 'red', shape: 'ring', text: shortText(connection?.problem ?? t('status.noAccount')) });
  }
  RED.nodes.registerType('tillwire-square-payouts', TillwireSquarePayoutsNode);
};
