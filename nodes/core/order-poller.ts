/**
 * The body every marketplace orders-poller node shares (Amazon, bol.com, the next one): a durable
 * inbox per node, a poll on start, every `interval` seconds and on any input message (one poll at a
 * time), unfinished entries re-emitted after a restart, each inbox entry mapped and validated into
 * a canonical Order and sent with `msg.tillwire` and `msg.tillwireInbox` (for `tillwire-ack`), an
 * entry that cannot be mapped recorded in the dead-letter store with the channel's own payload, and
 * the status badge. A connector supplies only its poll (list → inbox → cursor) and its mapping.
 */
import type { NodeMessage, NodeRED, RuntimeNode } from './node-red';
import { bindStore, commonText, StatusBoard, shortText, asError, onInput, INBOX_REF } from './node-kit';
import { DurableInbox } from '../runtime/inbox';
import type { InboxEntry, Store } from '../runtime/store';
import { recordFailure } from '../runtime/dead-letter';
import { asConnectorError, briefly } from '../runtime/errors';
import { PollStopped } from '../runtime/poll-stopped';
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

export interface OrderPollerSpec<P> {
  /** 'amazon', 'bol': the system in envelopes and the prefix of inbox source and cursor key. */
  system: string;
  /** How a person names the account, for the badge: 'Amazon account', 'bol.com account'. */
  accountLabel: string;
  connection: PollerConnection | undefined;
  store: string;
  intervalSeconds: number;
  /** One poll: list changed orders, accept each state into the inbox, then move the cursor. */
  poll(ctx: PollContext): Promise<void>;
  /** A stored entry as a canonical Order (throws with the reason when it cannot be one). */
  map(payload: P): Order;
  topic(doc: Order): string;
  /** Envelope details of an entry: `source` fields beyond system/eventId/receivedAt, and when it happened. */
  describe(payload: P): { source: Record<string, unknown>; occurredAt?: string };
  /** The order's key when mapping failed (so the dead letter is still findable by order). */
  fallbackKey(payload: P): string;
  /** Extra words for the badge after "N orders", e.g. "3 held". */
  badge?(): string | undefined;
}

export function runOrderPoller<P>(RED: NodeRED, node: RuntimeNode, spec: OrderPollerSpec<P>): void {
  const board = new StatusBoard(node);
  const binding = bindStore(RED, node, spec.store, board);
  const connection = spec.connection;
  const source = `${spec.system}-orders:${node.id}`;
  const cursorKey = `${spec.system}-orders:${node.id}:cursor`;
  const intervalMs = Math.max(1, spec.intervalSeconds) * 1000;
  const counts = { emitted: 0, failed: 0 };
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let inbox: DurableInbox | undefined;
  let store: Store | undefined;
  const stopping = new AbortController();

  const showOk = () => {
    const extra = spec.badge?.();
    const orders = counts.emitted === 1 ? commonText(RED, 'poll.order', { count: 1 }) : commonText(RED, 'poll.orders', { count: counts.emitted });
    board.set({
      fill: 'green',
      shape: 'dot',
      text: `${orders}${extra ? ` · ${extra}` : ''}${counts.failed ? commonText(RED, 'poll.failed', { count: counts.failed }) : ''}`,
    });
  };

  async function process(s: Store, entry: InboxEntry): Promise<void> {
    // Closing: leave the entry in the inbox; the next start emits it.
    if (closed) return;
    const payload = entry.payload as P;
    const { source: details, occurredAt } = spec.describe(payload);
    const envelope: Record<string, any> = {
      schemaVersion: 1,
      eventId: entry.eventId,
      correlationId: entry.eventId,
      source: { system: spec.system, ...details, eventId: entry.eventId, receivedAt: entry.receivedAt },
      ...(occurredAt ? { occurredAt } : {}),
      attempts: entry.attempts,
    };
    try {
      const doc = spec.map(payload);
      const v = validateDocument('order', doc);
      if (!v.valid) throw new Error(`not a valid canonical order: ${v.errors.join('; ')}`);
      envelope.idempotencyKey = businessKey(doc as unknown as Record<string, unknown>);
      counts.emitted++;
      showOk();
      node.send({ topic: spec.topic(doc), payload: doc, tillwire: envelope, [INBOX_REF]: { source, id: entry.id } });
    } catch (err) {
      const e = asError(err);
      counts.failed++;
      envelope.idempotencyKey = spec.fallbackKey(payload);
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
      showOk();
    }
  }

  async function poll(): Promise<void> {
    if (!connection?.client || !inbox || !store) return;
    // Retries and throttle waits of the poll's calls show on the badge (yellow ring).
    await board.watch(() => spec.poll({ store: store!, cursorKey, accept: (eventId, payload) => inbox!.accept(eventId, payload), signal: stopping.signal }));
    showOk();
  }

  /** One poll at a time; a trigger while one runs waits for it. */
  function pollNow(): Promise<void> {
    running ??= poll().finally(() => (running = undefined));
    return running;
  }

  function failed(err: unknown) {
    if (closed || err instanceof PollStopped) return;
    // A ConnectorError, so a Catch node gets its kind and fields (docs/errors.md).
    const e = asConnectorError(err, spec.system, 'poll orders');
    board.set({ fill: 'red', shape: 'ring', text: shortText(commonText(RED, 'poll.error', { error: briefly(e) })) });
    node.error(e, { topic: `${spec.system}.poll`, payload: { error: e.message } });
  }

  function schedule() {
    if (closed) return;
    timer = setTimeout(() => {
      pollNow().then(schedule, (err) => {
        failed(err);
        schedule();
      });
    }, intervalMs);
    timer.unref?.();
  }

  async function start(): Promise<void> {
    try {
      const s = await binding.acquire();
      if (closed) return;
      store = s;
      inbox = new DurableInbox(s, source, (entry) => {
        process(s, entry).catch((err) => node.error(asError(err), { topic: 'inbox.error', payload: entry.payload, [INBOX_REF]: { source, id: entry.id } }));
      });
      const recovered = await inbox.recover();
      if (recovered) node.log(`re-emitted ${recovered} order(s) received before the last stop but not finished`);
      showOk();
      await pollNow().catch(failed);
      schedule();
    } catch {
      // The store is not open yet (its binding shows why): try again shortly.
      if (!closed) {
        timer = setTimeout(() => void start(), 5000);
        timer.unref?.();
      }
    }
  }

  if (!connection) board.set({ fill: 'red', shape: 'ring', text: commonText(RED, 'poll.noAccount', { account: spec.accountLabel }) });
  else if (connection.problem) board.set({ fill: 'red', shape: 'ring', text: shortText(connection.problem) });
  else {
    void start();
  }

  // Any input message polls now (an inject node, or a notification relayed by a flow).
  onInput(node, async (_msg: NodeMessage) => {
    if (!connection?.client) throw new Error(connection?.problem ?? `no ${spec.accountLabel} configured`);
    if (!inbox) throw new Error('the store is not ready yet');
    await pollNow();
  });

  node.on('close', (_removed: boolean, done: () => void) => {
    closed = true;
    clearTimeout(timer);
    stopping.abort();
    // Requests already on the wire finish (each bounded by its timeout); none starts after this.
    // A deploy does not wait for a throttled poll to drain: what it stored stays in the inbox.
    const waited = Promise.race([running ?? Promise.resolve(), new Promise((resolve) => setTimeout(resolve, 3000).unref?.())]);
    waited.then(
      () => done(),
      () => done(),
    );
  });
}
