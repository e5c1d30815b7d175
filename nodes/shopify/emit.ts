/**
 * The Node-RED side both Shopify inbound nodes share: turn an inbox entry into a canonical message
 * (envelope + `tillwireInbox`) or a dead-letter record with the raw body, and say what a given-up
 * entry keeps in the dead-letter store.
 */
import type { NodeMessage, RuntimeNode } from '../core/node-red';
import { INBOX_REF } from '../core/node-kit';
import type { PoisonedForm } from '../core/inbound-inbox';
import { recordFailure } from '../runtime/dead-letter';
import { OrderIndexWriter } from '../runtime/order-index';
import type { InboxEntry, Store } from '../runtime/store';
import type { StoredWebhook } from '../runtime/webhook';
import { interpret, type PolledEvent, type StoredEvent } from './ingest';

export interface EmitCounts {
  emitted: number;
  failed: number;
}

/** Is this entry of the shop's shared inbox a webhook's (else a poller's)? */
export const isWebhookEntry = (e: InboxEntry) => !!(e.payload as StoredWebhook | null)?.headers;
/** Is this entry of the shop's shared inbox the poller `nodeId`'s? */
export const isPollerEntry = (nodeId: string) => (e: InboxEntry) =>
  (e.payload as PolledEvent | null)?.via === 'poll' && (e.payload as PolledEvent).node === nodeId;

export interface ProcessorOptions {
  node: RuntimeNode;
  store: Store;
  shop: string;
  source: string;
  counts: EmitCounts;
  /** Marks an entry finished through its inbox (so the inbox stops tracking it). */
  complete: (id: string) => Promise<void>;
  onChange?: () => void;
}

/**
 * The inbox delivery callback. It rejects when the entry could not be handled (the dead-letter
 * record or the completion not written: the store is down), so the inbox retries it and, after its
 * attempts, gives it up; a mapping failure is not retried, it is parked at once with the raw body.
 */
export function processor(o: ProcessorOptions) {
  const { node, store, shop, source, counts } = o;
  const index = new OrderIndexWriter(store, (m) => node.warn(m));
  return async (entry: InboxEntry): Promise<void> => {
    const event = entry.payload as StoredEvent;
    const r = interpret(event, shop);
    if (!r.ok) {
      await recordFailure(
        store,
        {
          payload: r.raw,
          topic: 'shopify.unmapped',
          webhookTopic: r.topic,
          tillwire: {
            schemaVersion: 1,
            eventId: entry.eventId,
            attempts: entry.attempts,
            source: { system: 'shopify', account: shop, eventId: entry.eventId, receivedAt: entry.receivedAt },
          },
        },
        { error: { message: r.reason, name: 'MappingError' }, flowId: node.z ?? null, nodeId: node.id, nodeType: node.type, nodeName: node.name ?? null },
      );
      await o.complete(entry.id);
      counts.failed++;
      o.onChange?.();
      node.warn(`Shopify event ${entry.eventId} sent to the dead-letter store: ${r.reason}`);
      return;
    }
    const source2: Record<string, string> = { system: 'shopify', account: shop, eventId: r.sourceEventId ?? entry.eventId, receivedAt: entry.receivedAt };
    if (r.channel) source2.channel = r.channel;
    const msg: NodeMessage = {
      topic: r.topic,
      payload: r.doc,
      tillwire: {
        schemaVersion: 1,
        eventId: entry.eventId,
        idempotencyKey: r.key,
        correlationId: entry.eventId,
        source: source2,
        ...(r.occurredAt ? { occurredAt: r.occurredAt } : {}),
        attempts: entry.attempts,
      },
      [INBOX_REF]: { source, id: entry.id },
    };
    counts.emitted++;
    node.send(msg);
    o.onChange?.();
    // The order index learns of a canonical order (a return is ignored); it never fails the entry.
    await index.seen(r.doc);
  };
}

/** What the dead-letter store keeps of a Shopify event given up after its attempts: its raw body. */
export function poisonedShopify(shop: string) {
  return (entry: InboxEntry): PoisonedForm => {
    const event = entry.payload as StoredEvent | null;
    const webhook = event && !('via' in event) ? (event as StoredWebhook) : undefined;
    return {
      payload: webhook ? webhook.body : ((event as PolledEvent | null)?.body ?? event),
      topic: 'shopify.failed',
      source: { system: 'shopify', account: shop, eventId: entry.eventId, receivedAt: entry.receivedAt },
    };
  };
}
