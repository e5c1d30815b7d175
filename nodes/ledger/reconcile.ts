/**
 * `tillwire-reconcile`: control totals.
 * - Mode "till close": a till's till.close document against the sales registered for that till and
 *   day (and, optionally, those an ERP accepted). The report (control-totals.ts) leaves on output 1
 *   when everything matches, on output 2 when there is a variance.
 * - Mode "settlement": a canonical Settlement or a SettlementStream (tillwire-amazon-settlements)
 *   checked by settlement-check.ts against the settlement register. Ready to post → output 1 with
 *   msg.payload the report and msg.settlement what `tillwire-journal` (mode settlement) needs; the
 *   same version again → output 1 as "already-posted" (the journal step builds nothing); held →
 *   output 2 with the variances named, and a dead-letter entry whose replay re-runs the check.
 *   msg.release = { settlementId, system, account, accept: "suspense", reason? } posts a held
 *   settlement with its variance booked to the mapping's suspense account (docs/settlements.md).
 *   A release recorded in the register (the admin route of settlement-routes.ts) applies when the
 *   same version arrives again, e.g. as the replay of its dead letter.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from '../core/node-red';
import { statusTexts, bindStore, onInput, shortText, StatusBoard } from '../core/node-kit';
import type { Store } from '../runtime/store';
import { ENVELOPE, recordFailure } from '../runtime/dead-letter';
import { reconcileTill } from './control-totals';
import { isTillClose } from './till-close';
import { listAll } from './register';
import type { OrderMatcher } from './settlement-reconcile';
import { releaseOf, SettlementRegister, type SettlementRelease } from './settlement-register';
import {
  checkSettlement,
  recordHeld,
  releasedCheck,
  reportOf,
  SettlementInputError,
  settlementInputOf,
  type SettlementCheck,
  type SettlementInput,
} from './settlement-check';
import { orderMatcherFor, OrderIndexWriter } from '../runtime/order-index';
import type { SettledOrder } from '../runtime/store';
import { registerSettlementRoutes } from './settlement-routes';

interface ReconcileDef extends NodeDef {
  store: string;
  mode?: string;
  erpSystem?: string;
}

const MODES = new Set(['till-close', 'settlement']);

/**
 * The order matcher of mode "settlement": the store's order index (runtime/order-index.ts), scoped
 * to the settlement's channel system and account, so an order id another channel also uses does
 * not count as seen.
 */
function matcherFor(store: Store, input: SettlementInput): OrderMatcher {
  const { system, account } = input.stream.header.channel;
  return orderMatcherFor(store, { system, ...(account ? { account } : {}) });
}

/** What the report of a released settlement says of its release (msg.payload.released). */
const releasedReport = (r: SettlementRelease) => ({
  accept: r.accept,
  variance: Number(BigInt(r.variance)),
  by: r.by,
  via: r.via,
  at: r.at,
  reason: r.reason,
});

/** When a settlement's orders count as settled: its deposit date, else when it was issued, else the end of its period. */
function settledAtOf(check: SettlementCheck): string {
  const h = check.settlement.tally.header;
  for (const v of [h.depositDate, h.issuedAt, h.periodEnd])
    if (typeof v === 'string' && !Number.isNaN(Date.parse(v))) return new Date(Date.parse(v)).toISOString();
  return new Date().toISOString();
}

/** The settlement's orders as settled-order rows, from the tally's per-order totals (no line is read again). */
function* settledOrdersOf(check: SettlementCheck): Generator<SettledOrder> {
  const { key, tally } = check.settlement;
  const settledAt = settledAtOf(check);
  for (const o of tally.orderList()) {
    yield {
      system: key.system,
      account: key.account,
      orderId: o.orderId,
      settlementId: key.settlementId,
      charged: o.charged,
      net: o.net,
      currency: tally.currency,
      settledAt,
    };
  }
}

/** Marks a held settlement's dead letter replayed (it was released or a corrected version passed). */
async function settleDeadLetter(store: Store, id: string): Promise<void> {
  const entry = await store.getDeadLetter(id);
  if (entry?.status === 'pending') await store.updateDeadLetter(id, { status: 'replayed' }, entry.version);
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  registerSettlementRoutes(RED);
  function TillwireReconcileNode(this: RuntimeNode, def: ReconcileDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const binding = bindStore(RED, node, def.store, board);
    const mode = def.mode || 'till-close';
    const erpSystem = def.erpSystem?.trim() || undefined;
    const counts = { matched: 0, variance: 0 };
    const settled = { ready: 0, held: 0, already: 0 };
    // The orders of a settlement that passes go into the store for the channel control totals
    // (tillwire-channel-totals). A failed write is reported and counted, never fails the settlement:
    // the totals then show its orders as not settled, and sending the settlement again records them.
    const settledOrders = new OrderIndexWriter(
      () => binding.acquire(),
      (m) => node.warn(m),
    );
    const show = () =>
      board.set({ fill: counts.variance ? 'yellow' : 'green', shape: 'dot', text: t('status.counts', { matched: counts.matched, variance: counts.variance }) });
    const showSettled = () => board.set({ fill: settled.held ? 'yellow' : 'green', shape: 'dot', text: t('status.settlements', settled) });
    if (!MODES.has(mode)) board.set({ fill: 'red', shape: 'ring', text: t('status.unknownMode', { mode }) });
    else if (binding.configured)
      board.set({
        fill: 'grey',
        shape: 'ring',
        text: mode === 'settlement' ? t('status.readySettlement') : erpSystem ? t('status.readyErp', { erp: erpSystem }) : t('status.ready'),
      });

    async function tillClose(msg: NodeMessage, send: SendFn) {
      if (!isTillClose(msg.payload)) throw new Error('reconcile: msg.payload must be a till.close document (kind "till.close")');
      const close = msg.payload;
      const store = await binding.acquire();
      const received = await listAll(store, {
        kind: 'sale',
        storeId: close.storeId,
        terminalId: close.terminalId,
        businessDate: close.businessDate,
      });
      const report = reconcileTill(close, received, { erpSystem });
      msg.tillClose = close;
      msg.payload = report;
      msg.topic = report.status === 'matched' ? 'till.reconciled' : 'till.variance';
      counts[report.status]++;
      show();
      send(report.status === 'matched' ? [msg, null] : [null, msg]);
    }

    /** Ready and already-posted leave on output 1, with what the journal step needs. */
    function forward(msg: NodeMessage, send: SendFn, check: SettlementCheck, extra: Record<string, unknown> = {}) {
      msg.payload = reportOf(check, extra);
      msg.settlement = check.settlement;
      msg.topic = `settlement.${check.outcome}`;
      if (check.outcome === 'already-posted') settled.already++;
      else settled.ready++;
      showSettled();
      send([msg, null]);
    }

    async function hold(msg: NodeMessage, send: SendFn, store: Store, register: SettlementRegister, check: SettlementCheck) {
      const { key, reconciliation: rec } = check.settlement;
      const message = `settlement ${key.settlementId} held: ${check.blocking.map((v) => v.message).join('; ')}`;
      // The entry keeps the settlement's lines when they were few enough: its replay re-runs the check on them.
      const stored: Record<string, unknown> = {
        topic: 'settlement.held',
        payload: check.kept ?? { kind: 'settlement-held', ...key, linesKept: false, lineCount: check.settlement.tally.lineCount },
      };
      if (msg[ENVELOPE]) stored[ENVELOPE] = msg[ENVELOPE];
      const entry = await recordFailure(store, stored, {
        error: {
          message,
          name: 'SettlementHeld',
          code: 'settlement-held',
          source: { id: node.id, type: node.type, name: node.name },
          cause: {
            system: key.system,
            account: key.account,
            settlementId: key.settlementId,
            variance: rec.variance.toString(),
            currency: rec.currency,
            // The version held: a release names it, so it never applies to other lines under this id.
            fingerprint: rec.fingerprint,
          },
        },
        flowId: node.z ?? null,
        nodeId: node.id,
        nodeType: node.type,
        nodeName: node.name ?? null,
      });
      await recordHeld(register, check, entry.id);
      msg.payload = reportOf(check, { deadLetterId: entry.id });
      delete msg.settlement;
      msg.topic = 'settlement.held';
      settled.held++;
      board.set({ fill: 'yellow', shape: 'dot', text: shortText(t('status.held', { id: key.settlementId, ...settled }), 60) });
      send([null, msg]);
    }

    async function release(msg: NodeMessage, send: SendFn, store: Store, register: SettlementRegister) {
      const r = msg.release as Record<string, unknown>;
      const text = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
      const key = { system: text(r?.system), account: text(r?.account), settlementId: text(r?.settlementId) };
      if (!key.system || !key.settlementId)
        throw new SettlementInputError('msg.release needs settlementId and system (and account when the channel names one)');
      if (r.accept !== 'suspense')
        throw new SettlementInputError(`msg.release.accept must be "suspense" (the variance is booked to the mapping's suspense account)`);
      const record = await register.get(key);
      if (!record) throw new SettlementInputError(`settlement ${key.settlementId} (${key.system} ${key.account}) is not in the settlement register`);
      if (record.state !== 'held') throw new SettlementInputError(`settlement ${key.settlementId} is ${record.state}, not held: nothing to release`);
      let payload = msg.payload;
      const entry = record.deadLetterId ? await store.getDeadLetter(record.deadLetterId) : undefined;
      if (!payload || typeof payload !== 'object') {
        payload = entry?.message.payload;
        if ((payload as { kind?: unknown })?.kind !== 'settlement')
          throw new SettlementInputError(`the lines of settlement ${key.settlementId} were not kept: send the settlement again with msg.release`);
      }
      const input = settlementInputOf(payload);
      const check = await checkSettlement(input, { register, matcher: matcherFor(store, input) });
      const got = check.settlement.key;
      if (got.system !== key.system || got.account !== key.account || got.settlementId !== key.settlementId) {
        throw new SettlementInputError(`msg.release names settlement ${key.settlementId} but msg.payload is settlement ${got.settlementId}`);
      }
      // A release accepts the variance someone reviewed: only the version that was held, never other lines under its id.
      if (check.settlement.reconciliation.fingerprint !== record.fingerprint) {
        throw new SettlementInputError(
          `settlement ${key.settlementId}: what was sent with msg.release is not the version that was held (its lines or totals differ); send it without msg.release to have it checked`,
        );
      }
      if (check.outcome !== 'held') {
        if (entry) await settleDeadLetter(store, entry.id);
        await settledOrders.settled(check.settlement.key, settledOrdersOf(check));
        return forward(msg, send, check, { released: { accept: 'suspense', variance: 0 } });
      }
      const ready = releasedCheck(check);
      const { release: granted } = await register.recordRelease(key, {
        fingerprint: record.fingerprint,
        accept: 'suspense',
        by: null,
        via: 'msg.release',
        at: new Date().toISOString(),
        reason: text(r.reason).slice(0, 2000),
        variance: check.settlement.reconciliation.variance.toString(),
      });
      if (!granted) throw new SettlementInputError(`settlement ${key.settlementId} changed while it was being released: send the release again`);
      if (entry) await settleDeadLetter(store, entry.id);
      await settledOrders.settled(check.settlement.key, settledOrdersOf(check));
      forward(msg, send, ready, { released: releasedReport(granted) });
    }

    /** A held version someone released (the admin API records it, then replays its dead letter): posted with its variance to suspense. */
    async function releasedOrHeld(msg: NodeMessage, send: SendFn, store: Store, register: SettlementRegister, check: SettlementCheck) {
      const record = await register.get(check.settlement.key);
      const granted = releaseOf(record, check.settlement.reconciliation.fingerprint);
      if (!granted) return hold(msg, send, store, register, check);
      let ready: SettlementCheck;
      try {
        ready = releasedCheck(check);
      } catch (err) {
        // Something no release can accept came up since (a later version was posted): held again, named.
        if (err instanceof SettlementInputError) return hold(msg, send, store, register, check);
        throw err;
      }
      if (record?.deadLetterId) await settleDeadLetter(store, record.deadLetterId);
      await settledOrders.settled(check.settlement.key, settledOrdersOf(check));
      forward(msg, send, ready, { released: releasedReport(granted) });
    }

    async function settlement(msg: NodeMessage, send: SendFn) {
      const store = await binding.acquire();
      const register = new SettlementRegister(store);
      if (msg.release !== undefined) return release(msg, send, store, register);
      const input = settlementInputOf(msg.payload);
      const check = await checkSettlement(input, { register, matcher: matcherFor(store, input) });
      if (check.outcome === 'held') return releasedOrHeld(msg, send, store, register, check);
      // A corrected version of a held settlement: its dead letter has nothing left to do.
      const record = check.outcome === 'ready' ? await register.get(check.settlement.key) : undefined;
      if (record?.state === 'held' && record.deadLetterId) await settleDeadLetter(store, record.deadLetterId);
      // Already posted too: the rows are the same, and a write that failed the first time is made good.
      await settledOrders.settled(check.settlement.key, settledOrdersOf(check));
      forward(msg, send, check);
    }

    onInput(node, async (msg: NodeMessage, send: SendFn) => {
      if (mode === 'till-close') return tillClose(msg, send);
      if (mode === 'settlement') return settlement(msg, send);
      throw new Error(`reconcile: unknown mode '${mode}'`);
    });
  }
  RED.nodes.registerType('tillwire-reconcile', TillwireReconcileNode);
};
