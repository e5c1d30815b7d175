/**
 * The body every orders-poller node shares (Amazon, bol.com, Shopify, Square, the next one, and
 * bol's invoices): a durable inbox opened before the first poll, unfinished entries re-emitted after
 * a restart, a poll on any input message, the badge (its texts from the node's own catalog,
 * `status.*`) and the failures as ConnectorErrors. When polls run (on start and `interval` seconds
 * after the previous one, 0: only when a message arrives; one at a time), how failures reach
 * Catch and how a close waits is the shared schedule, core/poll-schedule.ts. A connector supplies
 * only its poll (list → inbox → cursor) and what becomes of an inbox entry, one of:
 * - mapped (Amazon, bol): each entry is mapped and validated into a canonical Order and sent with
 *   `msg.tillwire` and `msg.tillwireInbox` (for `tillwire-ack`); an entry that cannot be mapped is
 *   recorded in the dead-letter store with the channel's own payload;
 * - processed (Shopify, Square): the connector's own delivery, the one its webhook node uses, on a
 *   started inbox that retries a failed delivery and gives it up after the node's *Attempts*
 *   (core/inbound-inbox.ts); a source shared with the webhook node says which entries are the
 *   poller's (`owns`).
 */
import type { NodeMessage, NodeRED, RuntimeNode } from './node-red';
import { bindStore, StatusBoard, shortText, asError, onInput, INBOX_REF, type Texts } from './node-kit';
import { schedulePolls } from './poll-schedule';
import { processingFailures, startInboundInbox, type InboundInbox, type PoisonedForm } from './inbound-inbox';
import { DurableInbox, type Deliver } from '../runtime/inbox';
import type { InboxEntry, Store } from '../runtime/store';
import { recordFailure } from '../runtime/dead-letter';
import { asConnectorError, briefly } from '../runtime/errors';
import { PollStopped } from '../runtime/poll-stopped';
import { OrderIndexWriter } from '../runtime/order-index';
import { validateDocument, businessKey } from '../model/validate';
import type { Order } from '../model/types.generated';

export interface PollerConnection {
  client?: unknown;
  problem?: string;
}

export interface PollContext {
  store: Store;
  cursorKey: string;
  /** Writes one order state to the inbox (delivered once); resolves when it is stored. */
  accept: (eventId: string, payload: unknown) => Promise<{ duplicate: boolean }>;
  /** Aborted when the node closes: start no new request (throw PollStopped when giving up). */
  signal: AbortSignal;
}

/** What the badge counts: entries sent on, and entries that ended in the dead-letter store. */
export interface PollCounts {
  emitted: number;
  failed: number;
}

/** Each inbox entry is one channel order, mapped here into a canonical Order. */
export interface MappedEntries<P> {
  /** A stored entry as a canonical Order (throws with the reason when it cannot be one). */
  map(payload: P): Order;
  topic(doc: Order): string;
  /** Envelope details of an entry: `source` fields beyond system/eventId/receivedAt, and when it happened. */
  describe(payload: P): { source: Record<string, unknown>; occurredAt?: string };
  /** The order's key when mapping failed (so the dead letter is still findable by order). */
  fallbackKey(payload: P): string;
}

/** What a processed entry's delivery gets from the poller. */
export interface DeliverContext {
  store: Store;
  source: string;
  counts: PollCounts;
  /** Finishes an entry through its inbox. */
  complete: (id: string) => Promise<void>;
  /** Shows the counts on the badge again. */
  refresh: () => void;
}

/** The connector delivers each inbox entry itself, on a started inbox (retries, *Attempts*). */
export interface ProcessedEntries {
  processed: {
    /** Deliveries of one entry before it is given up (the node's *Attempts*). */
    maxAttempts: number;
    /** One entry, in the failure log: 'polled Shopify event'. */
    what: string;
    /** Which entries of a shared source are this poller's (default all). */
    owns?: (entry: InboxEntry) => boolean;
    /** What the dead-letter store keeps of an entry given up. */
    poisoned: (entry: InboxEntry) => PoisonedForm;
    /** The delivery callback: rejects when the entry could not be handled (it is retried). */
    deliver(ctx: DeliverContext): Deliver;
  };
}

export interface PollerBase<R, A> {
  /** 'amazon', 'bol': the system in envelopes, poll errors and the default inbox source and cursor key. */
  system: string;
  /**
   * The node's status texts (its statusTexts); its catalog has `status.order`,
   * `status.orders`, `status.failed`, `status.polling`, `status.error`, `status.noAccount` and
   * `status.noCredentials`.
   */
  texts: Texts;
  connection: PollerConnection | undefined;
  store: string;
  /** Seconds between polls; 0 or less: only when a message arrives (no poll on start either). */
  intervalSeconds: number;
  /** The inbox source (default `<system>-orders:<node id>`). */
  source?: string;
  /** Where the poll cursor is kept (default `<system>-orders:<node id>:cursor`). */
  cursorKey?: string;
  /** One poll: list changed orders, accept each state into the inbox, then move the cursor. */
  poll(ctx: PollContext, asked?: A): Promise<R>;
  /**
   * What an input message asks of the poll beyond "poll now" (Square's backfill from `msg.since`),
   * or undefined; throws when the message asks for something wrong. A message that asks for
   * something gets a poll of its own after the one running; a plain trigger shares the running one.
   */
  asked?(msg: NodeMessage): A | undefined;
  /** What to send after a poll (e.g. a poll report on a second output); `trigger` is the input message. */
  report?(result: R, trigger?: NodeMessage): Array<NodeMessage | null> | undefined;
  /** Extra words for the badge after "N orders", e.g. "3 held" (from the node's catalog). */
  badge?(): string | undefined;
}

export type OrderPollerSpec<P, R = void, A = undefined> = PollerBase<R, A> & (MappedEntries<P> | ProcessedEntries);

export function runOrderPoller<P, R = void, A = undefined>(RED: NodeRED, node: RuntimeNode, spec: OrderPollerSpec<P, R, A>): void {
  const t = spec.texts;
  const board = new StatusBoard(node);
  const binding = bindStore(RED, node, spec.store, board);
  const connection = spec.connection;
  const source = spec.source ?? `${spec.system}-orders:${node.id}`;
  const cursorKey = spec.cursorKey ?? `${spec.system}-orders:${node.id}:cursor`;
  const intervalMs = Number.isFinite(spec.intervalSeconds) && spec.intervalSeconds > 0 ? spec.intervalSeconds * 1000 : 0;
  const processed = 'processed' in spec ? spec.processed : undefined;
  const failures = processed ? processingFailures(node, processed.what) : undefined;
  const counts: PollCounts = { emitted: 0, failed: 0 };
  const problem = !connection ? t('status.noAccount') : (connection.problem ?? (connection.client ? undefined : t('status.noCredentials')));
  let opening: Promise<{ store: Store; inbox: DurableInbox }> | undefined;
  let inbound: InboundInbox | undefined;

  const refresh = () => {
    const extra = spec.badge?.();
    const orders = counts.emitted === 1 ? t('status.order', { count: 1 }) : t('status.orders', { count: counts.emitted });
    board.set({
      fill: 'green',
      shape: 'dot',
      text: `${orders}${extra ? ` · ${extra}` : ''}${counts.failed ? t('status.failed', { count: counts.failed }) : ''}`,
    });
  };

  const index = new OrderIndexWriter(
    () => binding.acquire(),
    (m) => node.warn(m),
  );

  /** A mapped entry: canonical Order out, the order index told; or the dead-letter store with the channel's payload. */
  async function emitMapped(mapped: MappedEntries<P>, s: Store, entry: InboxEntry): Promise<void> {
    // Closing: leave the entry in the inbox; the next start emits it.
    if (polls.closed) return;
    const payload = entry.payload as P;
    const { source: details, occurredAt } = mapped.describe(payload);
    const envelope: Record<string, any> = {
      schemaVersion: 1,
      eventId: entry.eventId,
      correlationId: entry.eventId,
      source: { system: spec.system, ...details, eventId: entry.eventId, receivedAt: entry.receivedAt },
      ...(occurredAt ? { occurredAt } : {}),
      attempts: entry.attempts,
    };
    try {
      const doc = mapped.map(payload);
      const v = validateDocument('order', doc);
      if (!v.valid) throw new Error(`not a valid canonical order: ${v.errors.join('; ')}`);
      envelope.idempotencyKey = businessKey(doc as unknown as Record<string, unknown>);
      counts.emitted++;
      refresh();
      node.send({ topic: mapped.topic(doc), payload: doc, tillwire: envelope, [INBOX_REF]: { source, id: entry.id } });
      // After the send, so the order never waits for it; the writer never throws (a failure is logged and counted).
      await index.seen(doc);
    } catch (err) {
      const e = asError(err);
      counts.failed++;
      envelope.idempotencyKey = mapped.fallbackKey(payload);
      await recordFailure(
        s,
        { topic: `${spec.system}.order`, payload, tillwire: envelope },
        {
          error: { message: e.message, name: e.name },
          flowId: node.z ?? null,
          nodeId: node.id,
          nodeType: node.type,
          nodeName: node.name ?? null,
        },
      );
      await s.inboxComplete(entry.id);
      refresh();
    }
  }

  /** The inbox on the store, entries left unfinished by the last run re-emitted (once at a time). */
  function open(): Promise<{ store: Store; inbox: DurableInbox }> {
    opening ??= (async () => {
      const s = await binding.acquire();
      if (polls.closed) throw new PollStopped();
      let inbox: DurableInbox;
      if (processed) {
        const started: InboundInbox = startInboundInbox({
          node,
          store: s,
          source,
          maxAttempts: processed.maxAttempts,
          deliver: guarded(processed.deliver({ store: s, source, counts, refresh, complete: (id) => started.inbox.complete(id) })),
          owns: processed.owns,
          poisoned: processed.poisoned,
          failures: failures!,
          onGivenUp: () => {
            counts.failed++;
            refresh();
          },
        });
        inbound = started;
        inbox = started.inbox;
      } else {
        const mapped = spec as MappedEntries<P>;
        inbox = new DurableInbox(s, source, (entry) => {
          emitMapped(mapped, s, entry).catch((err) =>
            node.error(asError(err), { topic: 'inbox.error', payload: entry.payload, [INBOX_REF]: { source, id: entry.id } }),
          );
        });
      }
      try {
        const recovered = await inbox.recover();
        if (recovered) node.log(`re-emitted ${recovered} order(s) received before the last stop but not finished`);
      } catch (err) {
        await inbound?.stop();
        inbound = undefined;
        throw err;
      }
      return { store: s, inbox };
    })();
    opening.catch(() => (opening = undefined));
    return opening;
  }

  /** A processed delivery after the node closed leaves its entry pending: the next start emits it. */
  function guarded(deliver: Deliver): Deliver {
    return (entry, redelivery) => (polls.closed ? undefined : deliver(entry, redelivery));
  }

  async function poll(signal: AbortSignal, asked?: A): Promise<R> {
    const { store, inbox } = await open();
    board.set({ fill: 'blue', shape: 'dot', text: t('status.polling') });
    // Retries and throttle waits of the poll's calls show on the badge (yellow ring).
    const result = await board.watch(() => spec.poll({ store, cursorKey, accept: (eventId, payload) => inbox.accept(eventId, payload), signal }, asked));
    refresh();
    return result;
  }

  /** A ConnectorError, so a Catch node gets its kind and fields (docs/errors.md). */
  const asPollError = (err: unknown) => asConnectorError(err, spec.system, 'poll orders');

  const polls = schedulePolls<R, A>(node, board, {
    poll,
    intervalMs,
    enabled: !problem,
    topic: `${spec.system}.poll`,
    ready: async () => {
      await open();
      if (!polls.closed) refresh();
    },
    describeFailure: (err) => {
      const error = asPollError(err);
      return { error, text: t('status.error', { error: briefly(error) }) };
    },
    onScheduled: (result) => {
      const out = spec.report?.(result);
      if (out) node.send(out);
    },
    onClose: () => failures?.close(),
    // What the poll stored stays in the inbox; the inbox gives back the entries in flight (not counted as failed).
    afterClose: async () => {
      await (opening ?? Promise.resolve()).catch(() => undefined);
      await inbound?.stop();
    },
  });

  if (problem) board.set({ fill: 'red', shape: 'ring', text: shortText(problem) });

  // Any input message polls now (an inject node, or a notification relayed by a flow).
  onInput(node, async (msg: NodeMessage, send) => {
    if (problem) throw new Error(problem);
    const asked = spec.asked?.(msg);
    const result = await polls.now(asked);
    const out = spec.report?.(result, msg);
    if (out) send(out);
  });
}
