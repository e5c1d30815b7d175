/**
 * `tillwire-channel-totals`: control totals across the chain, per channel and day
 * (docs/settlements.md, "Control totals across the chain"). Triggered (an inject, daily), it reads
 * the store's order index, settled orders and settlement register and sends:
 *  1. one report per channel (system and account) and currency of the day (chain-totals.ts);
 *  2. one message listing the settlements not in the ledger (held, or journals neither confirmed
 *     by a ledger nor written as journal files for import) older than the configured hours;
 *     nothing when there are none;
 *  3. one message listing the orders still unsettled after the configured days (cancelled ones
 *     excepted; those settled only in another currency marked `settledIn`); nothing when there are none.
 * Outputs 2 and 3 send only when there is something to act on, so an alert (email, chat) can be wired
 * straight to them. msg.day ('YYYY-MM-DD', default yesterday in the node's time zone) and msg.channel
 * ({ system, account? }) narrow the run; bad ones are rejected naming the problem.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from '../core/node-red';
import { statusTexts, bindStore, onInput, shortText, StatusBoard } from '../core/node-kit';
import { businessDate, isTimeZone } from '../model/business-date';
import type { ChannelOrderRef, SettledUnseenQuery, Store } from '../runtime/store';
import { SettlementRegister } from './settlement-register';
import { addDays, ChainTotalsBuilder, ChainTotalsInputError, checkChannel, checkDay, dayRange, RegisterDigest, unpostedSettlements } from './chain-totals';

interface ChannelTotalsDef extends NodeDef {
  store: string;
  timeZone?: string;
  unsettledDays?: string | number;
  unpostedHours?: string | number;
  listCap?: string | number;
}

/** Orders read per store call. */
const PAGE = 5000;

function positive(value: unknown, fallback: number): number | undefined {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireChannelTotalsNode(this: RuntimeNode, def: ChannelTotalsDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const binding = bindStore(RED, node, def.store, board);
    const timeZone = def.timeZone?.trim() || 'UTC';
    const unsettledDays = positive(def.unsettledDays, 14);
    const unpostedHours = positive(def.unpostedHours, 24);
    const cap = positive(def.listCap, 100);
    const problem = !isTimeZone(timeZone)
      ? `unknown time zone '${timeZone}' (expected an IANA name such as Europe/Berlin or UTC)`
      : unsettledDays === undefined || unpostedHours === undefined || cap === undefined
        ? 'days, hours and list length must be numbers ≥ 0'
        : undefined;
    if (problem) board.set({ fill: 'red', shape: 'ring', text: shortText(problem, 60) });
    else if (binding.configured) board.set({ fill: 'grey', shape: 'ring', text: t('status.ready', { zone: timeZone }) });

    async function registerDigest(store: Store, channel?: { system: string; account?: string }): Promise<RegisterDigest> {
      const digest = new RegisterDigest();
      for await (const r of new SettlementRegister(store).list(channel ?? {})) digest.add(r);
      return digest;
    }

    onInput(node, async (msg: NodeMessage, send: SendFn) => {
      if (problem) throw new Error(`channel totals: ${problem}`);
      const now = Date.now();
      const day = msg.day === undefined ? addDays(businessDate(new Date(now), timeZone), -1) : checkDay(msg.day);
      const channel = checkChannel(msg.channel);
      const store = await binding.acquire();
      const register = await registerDigest(store, channel);
      if (channel) {
        const anyOrder = await store.chainOrders({ ...channel, from: Number.MIN_SAFE_INTEGER, to: Number.MAX_SAFE_INTEGER, limit: 1 });
        if (!anyOrder.length && !register.count) {
          throw new ChainTotalsInputError(
            `msg.channel names no channel Tillwire knows: no order or settlement of ${channel.system}${channel.account !== undefined ? ` account '${channel.account}'` : ''}`,
          );
        }
      }
      const range = dayRange(day, timeZone);
      const builder = new ChainTotalsBuilder({ day, timeZone, ...range }, register.status, cap);
      let after: ChannelOrderRef | undefined;
      for (;;) {
        const page = await store.chainOrders({ ...channel, ...range, after, limit: PAGE });
        for (const o of page) builder.addOrder(o);
        if (page.length < PAGE) break;
        const last = page[page.length - 1].order!;
        after = { system: last.system, account: last.account, orderId: last.orderId };
      }
      // Page by page too: a day's unseen rows can be a whole settlement of hundreds of thousands of orders.
      let afterRow: SettledUnseenQuery['after'];
      for (;;) {
        const page = await store.settledUnseen({ ...channel, ...range, day, after: afterRow, limit: PAGE });
        for (const row of page) builder.addSettledUnseen(row);
        if (page.length < PAGE) break;
        const last = page[page.length - 1];
        afterRow = { system: last.system, account: last.account, orderId: last.orderId, settlementId: last.settlementId };
      }
      const reports = builder.build();

      const unposted = unpostedSettlements(register.pending, now, unpostedHours! * 3_600_000);
      const before = now - unsettledDays! * 86_400_000;
      const unsettled = await store.unsettledOrders({ ...channel, before, limit: cap });

      const base = { day, timeZone, ...(channel ? { channel } : {}) };
      send([
        reports.map((payload) => ({ ...msg, topic: `channel-totals/${payload.system}/${payload.account}`, payload })),
        unposted.length
          ? {
              topic: 'channel-totals/unposted-settlements',
              // Listed up to the node's list length like the orders: a poster down for days leaves many unconfirmed.
              payload: {
                ...base,
                hours: unpostedHours,
                count: unposted.length,
                settlements: unposted.slice(0, cap),
                more: Math.max(0, unposted.length - cap!),
              },
            }
          : null,
        unsettled.count
          ? {
              topic: 'channel-totals/unsettled-orders',
              payload: {
                ...base,
                days: unsettledDays,
                before: new Date(before).toISOString(),
                count: unsettled.count,
                otherCurrency: unsettled.otherCurrency,
                orders: unsettled.orders,
                more: unsettled.count - unsettled.orders.length,
              },
            }
          : null,
      ] as unknown as NodeMessage[]);
      const unbalanced = reports.filter((r) => !r.balanced).length;
      board.set({
        fill: unbalanced || unposted.length || unsettled.count ? 'yellow' : 'green',
        shape: 'dot',
        text: shortText(t('status.done', { day, channels: reports.length, unbalanced, unposted: unposted.length, unsettled: unsettled.count }), 60),
      });
    });
  }
  RED.nodes.registerType('tillwire-channel-totals', TillwireChannelTotalsNode);
};
