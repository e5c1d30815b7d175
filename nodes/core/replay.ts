/**
 * `tillwire-replay`: re-emits dead-letter entries — one, a list, a filter, or all pending entries of
 * a flow — optionally with an edited payload. Each replayed message carries its entry id, so if it
 * fails again the dead-letter node appends to that entry's history instead of creating a new one.
 * Triggered by an input message or by the button on the node (POST /tillwire/replay/:nodeId).
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from './node-red';
import { statusTexts, bindStore, onInput, StatusBoard } from './node-kit';
import { replay, ReplayRequest, requestFrom } from '../runtime/dead-letter';

interface ReplayDef extends NodeDef {
  store: string;
  flowFilter?: string;
  nodeFilter?: string;
  limit?: number | string;
}

type ReplayNode = RuntimeNode & { replayNow?: (body: unknown) => Promise<number> };

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireReplayNode(this: ReplayNode, def: ReplayDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const binding = bindStore(RED, node, def.store, board);
    const defaults: ReplayRequest = {};
    if (def.flowFilter) defaults.flowId = def.flowFilter;
    if (def.nodeFilter) defaults.nodeId = def.nodeFilter;
    const limit = Number(def.limit);
    if (Number.isInteger(limit) && limit > 0) defaults.limit = limit;
    let total = 0;

    async function run(request: ReplayRequest, send: (msg: NodeMessage) => void): Promise<number> {
      const store = await binding.acquire();
      board.set({ fill: 'blue', shape: 'dot', text: t('status.replaying') });
      const n = await replay(store, request, (msg) => send(msg));
      total += n;
      board.set({ fill: 'green', shape: 'dot', text: t('status.replayed', { count: n, total }) });
      return n;
    }

    node.replayNow = (body: unknown) => run(requestFrom(body, defaults), (m) => node.send(m));
    onInput(node, async (msg: NodeMessage, send: SendFn) => {
      await run(requestFrom(msg.payload, defaults), (m) => send(m));
    });
  }
  RED.nodes.registerType('tillwire-replay', TillwireReplayNode);
};
