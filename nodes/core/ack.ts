/**
 * `tillwire-ack`: marks an inbound event finished in the durable inbox (put it after the last step
 * of a flow, and after the dead-letter node). Until then an inbound connector re-emits the event
 * after a restart, so a crash between receipt and the ERP write loses nothing; the downstream
 * dedupe and idempotent writes make the re-emission harmless.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from './node-red';
import { statusTexts, bindStore, InboxRef, INBOX_REF, inboxEvents, letGoOfInboxEntry, onInput, StatusBoard } from './node-kit';

interface AckDef extends NodeDef {
  store: string;
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireAckNode(this: RuntimeNode, def: AckDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const binding = bindStore(RED, node, def.store, board);
    let finished = 0;
    if (binding.configured) board.set({ fill: 'grey', shape: 'ring', text: t('status.finished', { count: 0 }) });

    onInput(node, async (msg: NodeMessage, send: SendFn) => {
      const ref: InboxRef | undefined = msg[INBOX_REF];
      if (ref && typeof ref.id === 'string') {
        try {
          const store = await binding.acquire();
          await store.inboxComplete(ref.id);
        } catch (err) {
          // Not recorded (store unavailable): the inbox delivers it again later, instead of it
          // holding its in-flight slot until a restart.
          letGoOfInboxEntry(msg);
          throw err;
        }
        inboxEvents.emit('inbox-done', ref.source, ref.id);
        delete msg[INBOX_REF];
        finished++;
        board.tally(() => ({ fill: 'green', shape: 'dot', text: t('status.finished', { count: finished }) }));
      }
      send(msg);
    });
  }
  RED.nodes.registerType('tillwire-ack', TillwireAckNode);
};
