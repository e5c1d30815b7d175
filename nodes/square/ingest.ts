/**
 * What happens to one Square inbox entry, for both the webhook node and the SearchOrders poller
 * (no Node-RED import): find the order (a webhook only carries its id, so it is fetched), map it,
 * make sure each (order, state) is emitted once whichever path saw it first, register store sales,
 * and build the canonical message. Mapping failures are returned, not thrown, so the node can put
 * them in the dead-letter store with the raw event.
 */
import { ConnectorError } from '../runtime/http';
import type { InboxEntry, Store } from '../runtime/store';
import type { SquareClient } from './client';
import { mapSquareOrder, SquareMapOptions, SquareMappingError, sourceOrderIdOf } from './map';
import type { SqOrder, SqWebhookEvent } from './types';

/** What the poller stores in the inbox; the webhook node stores runtime/webhook's StoredWebhook. */
export interface PolledOrder {
  via: 'poll';
  order: SqOrder;
}

export interface StoredSquareWebhook {
  topic?: string;
  headers: Record<string, string>;
  body: string;
}

export type SquareInboxPayload = PolledOrder | StoredSquareWebhook;

export type IngestResult =
  { outcome: 'emit'; msg: Record<string, any> } | { outcome: 'skip'; reason: string } | { outcome: 'failed'; error: Error; raw: unknown };

export interface IngestDeps {
  client: SquareClient;
  store: Store;
  map: SquareMapOptions;
  /** The inbox source of the node (for the message's inbox reference). */
  source: string;
}

/** The poller's inbox event id for an order at a version. */
export function pollEventId(order: Pick<SqOrder, 'id' | 'version'>): string {
  return `order:${order.id}:${order.version}`;
}

/** The order id a webhook event is about, or undefined for events Tillwire does not handle. */
export function orderIdOfEvent(event: SqWebhookEvent): string | undefined {
  const o = event.data?.object ?? {};
  if (event.type.startsWith('order.')) {
    return o.order_created?.order_id ?? o.order_updated?.order_id ?? o.order_fulfillment_updated?.order_id ?? event.data?.id;
  }
  if (event.type.startsWith('refund.')) return o.refund?.order_id;
  return undefined;
}

export class SquareIngest {
  constructor(private readonly deps: IngestDeps) {}

  async process(entry: InboxEntry): Promise<IngestResult> {
    const payload = entry.payload as SquareInboxPayload;
    let order: SqOrder | undefined;
    let event: SqWebhookEvent | undefined;
    const raw = 'body' in payload ? payload.body : payload.order;
    try {
      if ('order' in payload) {
        order = payload.order;
      } else {
        event = JSON.parse(payload.body) as SqWebhookEvent;
        const id = orderIdOfEvent(event);
        if (!id) return { outcome: 'skip', reason: `event ${event.type} carries no order` };
        order = await this.deps.client.retrieveOrder(id);
        if (event.type.startsWith('refund.') && !order.returns?.length) {
          throw new SquareMappingError(`refund ${event.data.id} is not itemized (no return order): it cannot be mapped to returned lines`);
        }
      }
      const srcId = sourceOrderIdOf(order);
      const sourceOrder = srcId ? await this.deps.client.retrieveOrder(srcId).catch(notFound) : undefined;
      const mapped = mapSquareOrder(order, { ...this.deps.map, sourceOrder });
      if (mapped.kind === 'skip') return { outcome: 'skip', reason: mapped.reason };
      const state = mapped.kind === 'sale' ? 'completed' : String(mapped.doc.status);
      if (!(await this.firstSight(order, state, entry.id))) {
        return { outcome: 'skip', reason: `order ${order.id} in state ${state} was already emitted` };
      }
      const doc = mapped.doc;
      if (mapped.kind === 'sale') {
        await this.deps.store.registerPut({
          key: mapped.key,
          kind: 'sale',
          storeId: doc.storeId,
          terminalId: doc.terminalId,
          businessDate: doc.businessDate,
          // Square has no per-terminal sequence: the register says so rather than invent one.
          sequence: null,
          amount: doc.totals.grandTotal.amount,
          currency: doc.currency,
          document: doc,
        });
      }
      const msg: Record<string, any> = {
        topic: mapped.topic,
        payload: doc,
        tillwire: {
          schemaVersion: 1,
          eventId: entry.eventId,
          idempotencyKey: mapped.key,
          correlationId: mapped.key,
          source: {
            system: 'square',
            channel: order.location_id,
            ...(event?.merchant_id ? { account: event.merchant_id } : {}),
            eventId: event?.event_id ?? entry.eventId,
            receivedAt: entry.receivedAt,
          },
          occurredAt: doc.occurredAt ?? order.updated_at,
          attempts: entry.attempts,
        },
        tillwireInbox: { source: this.deps.source, id: entry.id },
        square: {
          orderId: order.id,
          version: order.version,
          state: order.state,
          ...(event ? { eventType: event.type, eventId: event.event_id } : { via: 'poll' }),
        },
      };
      return { outcome: 'emit', msg };
    } catch (err) {
      if (err instanceof SquareMappingError || err instanceof SyntaxError) return { outcome: 'failed', error: err, raw };
      if (err instanceof ConnectorError && !err.retryable) return { outcome: 'failed', error: err, raw };
      throw err; // retryable: the entry stays pending and is retried (restart, or the poller's next pass)
    }
  }

  /**
   * True once per (order, state): the first inbox entry to reach it wins, and a redelivery of that
   * same entry (after a crash between this mark and the send) wins again. An older version than one
   * already emitted is never emitted (a late page or webhook cannot move an order back).
   */
  private async firstSight(order: SqOrder, state: string, entryId: string): Promise<boolean> {
    const store = this.deps.store;
    const latestKey = `square:latest:${order.id}`;
    for (let i = 0; i < 10; i++) {
      const latest = (await store.kvGet(latestKey)) as { version: number } | undefined;
      if (latest && latest.version > order.version) return false;
      if (latest && latest.version === order.version) break;
      if (await store.kvPut(latestKey, { version: order.version }, latest)) break;
    }
    const key = `square:emitted:${order.id}:${state}`;
    if (await store.kvPut(key, { entry: entryId, version: order.version }, undefined)) return true;
    const seen = (await store.kvGet(key)) as { entry?: string } | undefined;
    return seen?.entry === entryId;
  }
}

function notFound(err: unknown): undefined {
  if (err instanceof ConnectorError && err.status === 404) return undefined;
  throw err;
}
