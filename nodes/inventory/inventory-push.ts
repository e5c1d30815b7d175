/**
 * `tillwire-available-to-sell`: turns changes in the inventory ledger into pushes to every channel
 * (docs/inventory.md, "The push engine"; the engine is channel-pushes.ts). Input, one of:
 *
 * - `msg.skus`: the SKUs whose positions changed (the reserve node's output 1 carries them);
 * - `msg.inventory.events` or `.allocations` (a reserve node's output written before it set `msg.skus`);
 * - `msg.topic` "recompute" (or `msg.payload` "recompute"): every SKU the ledger holds;
 * - the answer to one of its own pushes, recognised by `msg.push.node` = this node's id: the channel
 *   write node's output (`msg.channelResult`: delivered) or its Catch (`msg.error`: failed, retried).
 *
 * Output: one message per push, `msg.payload` the canonical `inventory.ats` document,
 * `msg.channel` / `msg.topic` the channel as the rules name it ("shopify", "amazon/A1…") for a
 * Switch node, `msg.push` { node, channel, sku, available, seq, attempt }. Anything else goes to Catch.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode } from '../core/node-red';
import { connectionOf } from '../core/config-node';
import { bindStore, onInput, shortText, statusTexts, StatusBoard } from '../core/node-kit';
import { ChannelPushes, changedSkus } from './channel-pushes';
import type { CompiledRules } from './rules';

interface PushDef extends NodeDef {
  store: string;
  rules: string;
  /** Pushes per second per channel. */
  rate?: string | number;
  /** Pushes per channel awaiting their answer at once. */
  inFlight?: string | number;
  /** Seconds to wait for a push's answer before it counts as failed. */
  confirm?: string | number;
  /** Recompute everything when deployed. */
  recomputeOnStart?: boolean;
}

const number = (v: unknown, fallback: number, min: number, max: number) => {
  const n = v === undefined || v === '' ? fallback : Number(v);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
};

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireAvailableToSellNode(this: RuntimeNode, def: PushDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const binding = bindStore(RED, node, def.store, board);
    const compiled = connectionOf<CompiledRules>(RED, def.rules, 'tillwire-inventory');
    const rules = compiled?.rules;
    if (!rules) {
      board.set({ fill: 'red', shape: 'ring', text: t(compiled ? 'status.badRules' : 'status.noRules') });
      onInput(node, async () => {
        throw new Error(
          compiled ? `available to sell: the rules have problems: ${compiled.problems.join('; ')}` : 'available to sell: no tillwire-inventory rules chosen',
        );
      });
      return;
    }
    const show = () => {
      const c = engine.counts;
      board.set({
        fill: c.failed > c.confirmed && engine.waiting ? 'yellow' : 'green',
        shape: engine.waiting || engine.inFlight ? 'ring' : 'dot',
        text: shortText(
          t('status.counts', { confirmed: c.confirmed, waiting: engine.waiting + engine.inFlight, failed: c.failed }) +
            (c.skipped ? t('status.skipped', { skipped: c.skipped }) : ''),
          90,
        ),
      });
    };
    const engine = new ChannelPushes(
      {
        rules,
        ledger: async () => (await binding.acquire()).inventory,
        records: async (prefix, afterKey) => (await binding.acquire()).kvList(prefix, { afterKey, limit: 1000 }),
        emit: ({ channel, doc, ticket }) =>
          node.send({
            payload: doc,
            channel,
            topic: channel,
            push: { node: node.id, channel, sku: ticket.sku, available: ticket.available, seq: ticket.seq, attempt: ticket.attempt },
          } as NodeMessage),
        onError: (err) => node.error(`available to sell: ${err.message}; tried again shortly`),
        onChange: show,
        // The badge counts them; the log names them (a typo, or a SKU of a location no channel sells from).
        onSkipped: (skus) =>
          node.warn(
            `available to sell: not pushed to any channel, no position at the rules' locations and never sent before: ${skus.slice(0, 10).join(', ')}` +
              (skus.length > 10 ? ` and ${skus.length - 10} more` : ''),
          ),
      },
      {
        ratePerSecond: number(def.rate, 5, 0.1, 1000),
        maxInFlight: Math.floor(number(def.inFlight, 4, 1, 100)),
        confirmMs: number(def.confirm, 120, 1, 3600) * 1000,
      },
    );
    if (binding.configured) board.set({ fill: 'grey', shape: 'ring', text: t('status.ready', { channels: engine.channels.length }) });
    if (def.recomputeOnStart !== false && binding.configured) engine.recomputeAll();

    onInput(node, async (msg: NodeMessage) => {
      const push = msg.push as { node?: unknown; channel?: unknown; sku?: unknown; seq?: unknown; available?: unknown } | undefined;
      if (push && push.node === node.id) {
        // The channel write node's answer to one of this node's pushes: it ends here.
        const ok = !msg.error && msg.channelResult !== undefined;
        // A ConnectorError says whether retrying can help (docs/errors.md): an unknown SKU cannot.
        const permanent = (msg.error as { cause?: { retryable?: unknown } } | undefined)?.cause?.retryable === false;
        if (!engine.confirm(String(push.channel), String(push.sku), Number(push.seq), Number(push.available), ok, permanent)) {
          throw new Error(`available to sell: an answer for channel '${String(push.channel)}', which the rules do not have`);
        }
        return;
      }
      if (msg.topic === 'recompute' || msg.payload === 'recompute') {
        engine.recomputeAll();
        return;
      }
      const skus = changedSkus(msg);
      if (!skus) {
        throw new Error(
          'available to sell: takes msg.skus (the SKUs that changed, as the inventory reserve node sends them), topic "recompute", or the answers to its own pushes',
        );
      }
      engine.changed(skus);
    });
    node.on('close', (_removed: boolean, done: () => void) => {
      engine.close();
      done();
    });
  }
  RED.nodes.registerType('tillwire-available-to-sell', TillwireAvailableToSellNode);
};
