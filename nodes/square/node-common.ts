/**
 * What the two Square nodes share: acting on an ingest result (send, finish, or dead-letter with
 * the raw event), a bounded number of entries in progress, and the status counts.
 */
import type { NodeRED, RuntimeNode } from '../core/node-red';
import { asError, StatusBoard } from '../core/node-kit';
import { recordFailure } from '../runtime/dead-letter';
import type { InboxEntry, Store } from '../runtime/store';
import { Limiter } from '../runtime/limiter';
import { SquareIngest } from './ingest';
import type { SquareConnection } from './settings';

export interface Counts {
  emitted: number;
  skipped: number;
  failed: number;
  rejected: number;
}

export function connectionOf(RED: NodeRED, id: unknown): SquareConnection | undefined {
  return typeof id === 'string' && id ? RED.nodes.getNode(id)?.square : undefined;
}

/** Builds the inbox delivery callback of a Square node. `send` emits on the documents output. */
export function squareDelivery(opts: {
  node: RuntimeNode;
  store: Store;
  connection: SquareConnection;
  source: string;
  counts: Counts;
  send: (msg: Record<string, any>) => void;
  refresh: () => void;
  board: StatusBoard;
}): (entry: InboxEntry) => void {
  const { node, store, connection, source, counts } = opts;
  const ingest = new SquareIngest({
    client: connection.client!,
    store,
    source,
    map: { mode: connection.settings.mode, skuMap: connection.settings.skuMap, storeMap: connection.settings.storeMap, timeZone: connection.settings.timeZone },
  });
  const limiter = new Limiter(4);
  return (entry: InboxEntry) => {
    void limiter
      .run(async () => {
        const result = await ingest.process(entry);
        if (result.outcome === 'emit') {
          counts.emitted++;
          opts.send(result.msg);
        } else if (result.outcome === 'skip') {
          counts.skipped++;
          await store.inboxComplete(entry.id);
        } else {
          counts.failed++;
          await recordFailure(
            store,
            {
              payload: result.raw,
              topic: 'square.unmapped',
              tillwire: { schemaVersion: 1, eventId: entry.eventId, attempts: entry.attempts, source: { system: 'square', eventId: entry.eventId, receivedAt: entry.receivedAt } },
            },
            { error: { message: result.error.message, name: result.error.name }, flowId: node.z ?? null, nodeId: node.id, nodeType: node.type, nodeName: node.name ?? null },
          );
          await store.inboxComplete(entry.id);
        }
        opts.refresh();
      })
      .catch((err) => {
        // Retryable (Square or the store unavailable): the entry stays pending; it is emitted again
        // after a restart, and the SearchOrders poller finds the order on its next pass anyway.
        opts.board.set({ fill: 'yellow', shape: 'ring', text: 'retrying: ' + asError(err).message.slice(0, 30) });
        node.error(asError(err), { payload: entry.payload, topic: 'inbox.error', tillwireInbox: { source, id: entry.id } });
      });
  };
}
