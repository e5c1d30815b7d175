/**
 * `tillwire-dead-letter`: stores a failed message (typically from a Catch node) with its payload,
 * the error, the attempt count and history, the flow and node that failed, and a timestamp.
 * Entries are listed, edited and deleted through the admin API (admin-api.ts) and re-emitted by
 * `tillwire-replay`.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from './node-red';
import { statusTexts, bindStore, letGoOfInboxEntry, onInput, StatusBoard } from './node-kit';
import { errorInfo, recordFailure } from '../runtime/dead-letter';

interface DeadLetterDef extends NodeDef {
  store: string;
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireDeadLetterNode(this: RuntimeNode, def: DeadLetterDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const binding = bindStore(RED, node, def.store, board);
    let stored = 0;
    if (binding.configured) board.set({ fill: 'grey', shape: 'ring', text: t('status.none') });

    onInput(node, async (msg: NodeMessage, send: SendFn) => {
      const error = errorInfo(msg.error ?? { message: 'sent to the dead-letter store without an error' });
      const sourceId = error.source?.id;
      const source = sourceId ? RED.nodes.getNode(sourceId) : undefined;
      let entry;
      try {
        const store = await binding.acquire();
        entry = await recordFailure(store, msg, {
          error,
          flowId: source?.z ?? msg.error?.source?.z ?? node.z ?? null,
          nodeId: sourceId ?? null,
          nodeType: error.source?.type ?? source?.type ?? null,
          nodeName: error.source?.name ?? source?.name ?? null,
        });
      } catch (err) {
        // Not stored (store unavailable): a message from a durable inbox is delivered again later
        // and fails or succeeds then; its inbox gives it up to this store after its attempts.
        letGoOfInboxEntry(msg);
        throw err;
      }
      const store = await binding.acquire();
      stored++;
      const pending = await store.countDeadLetters({ status: 'pending' });
      board.set({ fill: 'yellow', shape: 'dot', text: t('status.stored', { stored, pending }) });
      msg.deadLetter = { id: entry.id, attempts: entry.attempts };
      send(msg);
    });
  }
  RED.nodes.registerType('tillwire-dead-letter', TillwireDeadLetterNode);
};
