/**
 * The Node-RED side both Shopify inbound nodes share: turn an inbox entry into a canonical message
 * (envelope + `tillwireInbox`) or a dead-letter record with the raw body, and re-emit the entries a
 * previous run left unfinished.
 */
import type { NodeMessage, RuntimeNode } from '../core/node-red';
import { asError, INBOX_REF } from '../core/node-kit';
import { recordFailure } from '../runtime/dead-letter';
import type { InboxEntry, Store } from '../runtime/store';
import { interpret, type StoredEvent } from './ingest';

export interface EmitCounts {
  emitted: number;
  failed: number;
}

export function processor(node: RuntimeNode, store: Store, shop: string, source: string, counts: EmitCounts, onEmit?: () => void) {
  async function process(entry: InboxEntry): Promise<void> {
    const event = entry.payload as StoredEvent;
    const r = interpret(event, shop);
    if (!r.ok) {
      counts.failed++;
      await recordFailure(
        store,
        {
          payload: r.raw,
          topic: 'shopify.unmapped',
          webhookTopic: r.topic,
          tillwire: { schemaVersion: 1, eventId: entry.eventId, attempts: entry.attempts, source: { system: 'shopify', account: shop, eventId: entry.eventId, receivedAt: entry.receivedAt } },
        },
        { error: { message: r.reason, name: 'MappingError' }, flowId: node.z ?? null, nodeId: node.id, nodeType: node.type, nodeName: node.name ?? null },
      );
      await store.inboxComplete(entry.id);
      node.warn(`Shopify event ${entry.eventId} sent to the dead-letter store: ${r.reason}`);
      return;
    }
    const source2: Record<string, string> = { system: 'shopify', account: shop, eventId: r.sourceEventId ?? entry.eventId, receivedAt: entry.receivedAt };
    if (r.channel) source2.channel = r.channel;
    const msg: NodeMessage = {
      topic: r.topic,
      payload: r.doc,
      tillwire: { schemaVersion: 1, eventId: entry.eventId, idempotencyKey: r.key, correlationId: entry.eventId, source: source2, ...(r.occurredAt ? { occurredAt: r.occurredAt } : {}), attempts: entry.attempts },
      [INBOX_REF]: { source, id: entry.id },
    };
    counts.emitted++;
    node.send(msg);
    onEmit?.();
  }
  return (entry: InboxEntry) => {
    process(entry).catch((err) => {
      // Left pending in the inbox: emitted again on the next start.
      node.error(asError(err), { payload: entry.payload, topic: 'inbox.error', [INBOX_REF]: { source, id: entry.id } });
    });
  };
}

/** Re-emits this node's unfinished entries (those `mine` recognises) from a previous run. */
export async function recoverMine(store: Store, source: string, mine: (e: InboxEntry) => boolean, deliver: (e: InboxEntry) => void): Promise<number> {
  let after = '0';
  let n = 0;
  for (;;) {
    const batch = await store.inboxPending(source, 500, after);
    for (const e of batch) {
      after = e.id;
      if (!mine(e)) continue;
      await store.inboxTouch(e.id);
      deliver({ ...e, attempts: e.attempts + 1 });
      n++;
    }
    if (batch.length < 500) return n;
  }
}
