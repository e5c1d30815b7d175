/**
 * `tillwire-shopify-payouts`: Shopify Payments payouts as canonical Settlements, one message per
 * payout (msg.payload = Settlement, validated, with the envelope in msg.tillwire), polled every
 * `interval` seconds and on any input message.
 *
 * Each poll lists the payouts issued since the stored cursor (less two days, for payouts that
 * change status late; first poll: `lookback` days back), by default only PAID ones, reads each new
 * payout's balance transactions and maps them (payouts.ts). A payout is emitted once per issue:
 * its key (payout id, status, issuedAt) is claimed in the store before it is read and confirmed
 * once sent, so a repeat poll, a restart or a second instance of the flow does not emit it again,
 * while a payout later reissued (a new status, e.g. failed after paid, with "all statuses") is.
 * A payout that cannot be mapped (an unknown transaction type, figures that do not add up, a
 * document the validator refuses) leaves on the second output with msg.error, for a dead-letter
 * node; its claim is given back, so it is read again once the cause is fixed.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode } from '../core/node-red';
import { bindStore, onInput, shortText, statusTexts, StatusBoard } from '../core/node-kit';
import { schedulePolls } from '../core/poll-schedule';
import { connectionOf } from '../core/config-node';
import { SHOPIFY_CONFIG, type ShopifyConnection } from './connection';
import { payouts, payoutTransactions, payoutToSettlement, PayoutMappingError, type ShopifyPayout } from './payouts';
import { validateDocument } from '../model/validate';
import { ensureEnvelope } from '../model/envelope';

interface PayoutsDef extends NodeDef {
  shopify: string;
  store: string;
  interval?: string | number;
  lookback?: string | number;
  statuses?: 'paid' | 'all';
}

/** How long an emitted payout's key is remembered (longer than any payout stays in a poll's window). */
const EMITTED_RETENTION_MS = 400 * 86_400_000;
/** Each poll looks this far behind the newest payout seen. */
const OVERLAP_MS = 2 * 86_400_000;

const num = (v: unknown, dflt: number, min: number) => {
  const n = Number(v);
  return v !== '' && v !== undefined && Number.isFinite(n) && n >= min ? n : dflt;
};

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireShopifyPayoutsNode(this: RuntimeNode, def: PayoutsDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node, RED);
    const connection = connectionOf<ShopifyConnection>(RED, def.shopify, SHOPIFY_CONFIG);
    const store = bindStore(RED, node, def.store, board);
    const intervalMs = num(def.interval, 3600, 0) * 1000;
    const lookbackMs = num(def.lookback, 30, 0) * 86_400_000;
    const paidOnly = def.statuses !== 'all';
    const shop = connection?.shop ?? '';
    const cursorKey = `shopify:${shop}:payouts-cursor:${node.id}`;
    const scope = `shopify-payouts:${node.id}`;
    let count = 0;

    const problem = (payout: ShopifyPayout, err: Error): NodeMessage => ({
      topic: `settlement/shopify/${payout.legacyResourceId}/problem`,
      payload: { payoutId: payout.legacyResourceId, issuedAt: payout.issuedAt, status: payout.status, reason: err.message },
      error: {
        message: err.message,
        name: err.name,
        code: err instanceof PayoutMappingError ? err.code : 'invalid',
        source: { id: node.id, type: node.type, name: node.name },
        cause: { payoutId: payout.legacyResourceId },
      },
    });

    const poll = async (signal: AbortSignal) => {
      if (!connection?.client) throw new Error(`Shopify payouts: ${connection?.problem ?? 'no Shopify shop configured (or no access token)'}`);
      const client = connection.client;
      const kv = await store.acquire();
      const cursor = (await kv.kvGet(cursorKey)) as string | undefined;
      const issuedSince = new Date(cursor ? Date.parse(cursor) - OVERLAP_MS : Date.now() - lookbackMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
      let newest = cursor;
      let emitted = 0;
      await board.watch(async () => {
        for await (const payout of payouts(client, { issuedSince, status: paidOnly ? 'paid' : undefined })) {
          if (signal.aborted) return;
          const key = `${payout.legacyResourceId}|${payout.status}|${payout.issuedAt}`;
          const claim = await kv.claim(scope, key);
          if (claim.outcome !== 'claimed') continue;
          let msg: NodeMessage;
          try {
            const settlement = payoutToSettlement(payout, await payoutTransactions(client, payout.legacyResourceId), { shop });
            const checked = validateDocument('settlement', settlement);
            if (!checked.valid) throw new PayoutMappingError(payout.legacyResourceId, 'malformed', checked.errors.join('; '));
            msg = { topic: `settlement/shopify/${settlement.settlementId}`, payload: settlement, tillwire: { occurredAt: settlement.issuedAt } };
            ensureEnvelope(msg, settlement, 'shopify');
          } catch (err) {
            await kv.release(scope, key, claim.token);
            if (!(err instanceof PayoutMappingError)) throw err;
            node.send([null, problem(payout, err)]);
            continue;
          }
          // Closed while reading: the claim is given back, so the next start emits the payout (a
          // message sent now could reach a stopped flow and be lost with its claim confirmed).
          if (signal.aborted) {
            await kv.release(scope, key, claim.token);
            return;
          }
          node.send([msg, null]);
          await kv.confirm(scope, key, claim.token, EMITTED_RETENTION_MS);
          emitted++;
          count++;
          board.set({ fill: 'green', shape: 'dot', text: shortText(t('status.emitted', { count, id: payout.legacyResourceId })) });
          if (!newest || Date.parse(payout.issuedAt) > Date.parse(newest)) newest = payout.issuedAt;
        }
      });
      if (newest && newest !== cursor) await kv.kvPut(cursorKey, newest, cursor);
      if (!emitted && !count) board.set({ fill: 'grey', shape: 'ring', text: t('status.none') });
    };

    const polls = schedulePolls(node, board, { poll, intervalMs, enabled: Boolean(connection?.client), topic: 'shopify.payouts.poll' });

    onInput(node, async () => {
      await polls.safely();
    });

    if (!connection?.client) board.set({ fill: 'red', shape: 'ring', text: shortText(connection?.problem ?? t('status.noShop')) });
  }
  RED.nodes.registerType('tillwire-shopify-payouts', TillwireShopifyPayoutsNode);
};
