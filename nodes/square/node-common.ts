/**
 * What the two Square nodes share: acting on an ingest result (send, finish, or dead-letter with
 * the raw event), a bounded number of entries in progress, the status counts, and what a given-up
 * entry keeps in the dead-letter store.
 */
import type { RuntimeNode } from '../core/node-red';
import type { PoisonedForm } from '../core/inbound-inbox';
import { recordFailure } from '../runtime/dead-letter';
import type { InboxEntry, Store } from '../runtime/store';
import { Limiter } from '../runtime/limiter';
import { OrderIndexWriter } from '../runtime/order-index';
import { SquareIngest, type SquareInboxPayload } from './ingest';
import type { SquareConnection } from './connection';

export interface Counts {
  emitted: number;
  skipped?: number;
  failed: number;
}

/**
 * Builds the inbox delivery callback of a Square node. `send` emits on the documents output;
 * `complete` finishes an entry through its inbox. The promise it returns rejects on a retryable
 * failure (Square or the store unavailable), so the inbox retries the entry with back-off and,
 * after the node's attempts, parks it in the dead-letter store; a mapping failure is parked at once.
 */
export function squareDelivery(opts: {
  node: RuntimeNode;
  store: Store;
  connection: SquareConnection;
  source: string;
  counts: Counts;
  send: (msg: Record<string, any>) => void;
  complete: (id: string) => Promise<void>;
  refresh: () => void;
}): (entry: InboxEntry) => Promise<void> {
  const { node, store, connection, source, counts } = opts;
  const ingest = new SquareIngest({
    client: connection.client!,
    store,
    source,
    map: { mode: connection.settings.mode, skuMap: connection.settings.skuMap, storeMap: connection.settings.storeMap, timeZone: connection.settings.timeZone },
  });
  const limiter = new Limiter(4);
  const index = new OrderIndexWriter(store, (m) => node.warn(m));
  return (entry: InboxEntry) =>
    limiter.run(async () => {
      const result = await ingest.process(entry);
      if (result.outcome === 'emit') {
        counts.emitted++;
        opts.send(result.msg);
        // The order index learns of a canonical order or a sale Square settles (a return is ignored); it never fails the entry.
        await index.seen(result.msg.payload);
      } else if (result.outcome === 'skip') {
        await opts.complete(entry.id);
        counts.skipped = (counts.skipped ?? 0) + 1;
      } else {
        await recordFailure(
          store,
          {
            payload: result.raw,
            topic: 'square.unmapped',
            tillwire: {
              schemaVersion: 1,
              eventId: entry.eventId,
              attempts: entry.attempts,
              source: { system: 'square', eventId: entry.eventId, receivedAt: entry.receivedAt },
            },
          },
          {
            error: { message: result.error.message, name: result.error.name },
            flowId: node.z ?? null,
            nodeId: node.id,
            nodeType: node.type,
            nodeName: node.name ?? null,
          },
        );
        await opts.complete(entry.id);
        counts.failed++;
      }
      opts.refresh();
    });
}

/** What the dead-letter store keeps of a Square event given up after its attempts: the raw event or order. */
export function poisonedSquare(entry: InboxEntry): PoisonedForm {
  const payload = entry.payload as SquareInboxPayload | null;
  let account: string | undefined;
  let raw: unknown = payload;
  if (payload && 'body' in payload) {
    raw = payload.body;
    try {
      const m = JSON.parse(payload.body)?.merchant_id;
      if (typeof m === 'string') account = m;
    } catch {
      // kept as text
    }
  } else if (payload && 'order' in payload) raw = payload.order;
  return {
    payload: raw,
    topic: 'square.failed',
    source: { system: 'square', ...(account ? { account } : {}), eventId: entry.eventId, receivedAt: entry.receivedAt },
  };
}
