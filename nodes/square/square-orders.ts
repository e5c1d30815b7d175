/**
 * `tillwire-square-orders`: the SearchOrders poller, Square's safety net for webhooks that never
 * came (and the backfill tool). On each interval, or on any input message, it pages through the
 * orders updated since its stored cursor minus an overlap window, stores each order in the durable
 * inbox as `order:<id>:<version>`, and emits the canonical documents exactly like the webhook node
 * (each order state once, whichever of the two saw it first). Output 2 reports each poll.
 * Processing that fails (Square or the store down) is retried by the inbox while the node runs;
 * after the node's *Attempts* the order goes to the dead-letter store.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from '../core/node-red';
import { asError, bindStore, onInput, StatusBoard } from '../core/node-kit';
import { attemptsSetting, closeWithin, processingFailures, startInboundInbox, type InboundInbox } from '../core/inbound-inbox';
import type { DurableInbox } from '../runtime/inbox';
import type { Store } from '../runtime/store';
import { Counts, poisonedSquare, squareDelivery } from './node-common';
import { SQUARE_CONFIG, type SquareConnection } from './connection';
import { connectionOf } from '../core/config-node';
import { pollOnce, PollReport } from './poller';

interface OrdersDef extends NodeDef {
  square: string;
  store: string;
  interval?: string | number;
  overlap?: string | number;
  lookback?: string | number;
  pageSize?: string | number;
  maxAttempts?: string | number;
}

export = function register(RED: NodeRED) {
  function TillwireSquareOrdersNode(this: RuntimeNode, def: OrdersDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const binding = bindStore(RED, node, def.store, board);
    const connection = connectionOf<SquareConnection>(RED, def.square, SQUARE_CONFIG);
    const source = `square-orders:${def.id}`;
    const num = (v: unknown, d: number) => (v === undefined || v === '' || !Number.isFinite(Number(v)) ? d : Number(v));
    const intervalMs = Math.max(0, num(def.interval, 300)) * 1000;
    const overlapMs = Math.max(0, num(def.overlap, 600)) * 1000;
    const lookbackMs = Math.max(0, num(def.lookback, 24)) * 3_600_000;
    const pageSize = Math.min(1000, Math.max(1, Math.floor(num(def.pageSize, 500))));
    const counts: Counts = { emitted: 0, skipped: 0, failed: 0 };
    const attempts = attemptsSetting(def.maxAttempts);
    if (attempts.problem) node.warn(attempts.problem);
    const failures = processingFailures(node, 'polled Square order');
    let inbound: InboundInbox | undefined;
    let opening: Promise<{ store: Store; inbox: DurableInbox }> | undefined;
    let ready: { store: Store; inbox: DurableInbox } | undefined;
    let running: Promise<PollReport> | undefined;
    let timer: NodeJS.Timeout | undefined;
    let closed = false;
    let last: PollReport | undefined;

    const refresh = () => {
      if (!connection) return board.set({ fill: 'red', shape: 'ring', text: 'no Square connection' });
      if (connection.problem) return board.set({ fill: 'red', shape: 'ring', text: connection.problem });
      board.set({ fill: 'green', shape: 'dot', text: `${counts.emitted} in, ${counts.failed} failed${last ? ` · last poll ${last.orders} orders` : ''}` });
    };
    refresh();

    function open(): Promise<{ store: Store; inbox: DurableInbox }> {
      if (ready) return Promise.resolve(ready);
      opening ??= (async () => {
        if (!connection || connection.problem) throw new Error(connection?.problem ?? 'no Square connection configured');
        const store = await binding.acquire();
        if (closed) throw new Error('closed');
        const started: InboundInbox = startInboundInbox({
          node,
          store,
          source,
          maxAttempts: attempts.maxAttempts,
          deliver: squareDelivery({
            node,
            store,
            connection,
            source,
            counts,
            refresh,
            complete: (id) => started.inbox.complete(id),
            send: (msg) => node.send([msg, null]),
          }),
          poisoned: poisonedSquare,
          failures,
          onGivenUp: () => {
            counts.failed++;
            refresh();
          },
        });
        inbound = started;
        try {
          const recovered = await started.inbox.recover();
          if (recovered) node.log(`re-emitted ${recovered} polled order(s) received before the last stop but not finished`);
        } catch (err) {
          inbound = undefined;
          await started.stop();
          throw err;
        }
        ready = { store, inbox: started.inbox };
        return ready;
      })().finally(() => (opening = undefined));
      return opening;
    }

    /** One poll at a time: a trigger during a poll waits for it and then polls again. */
    function poll(since?: string): Promise<PollReport> {
      const previous = running ?? Promise.resolve(undefined as unknown as PollReport);
      const next = previous
        .catch(() => undefined)
        .then(async () => {
          const { store, inbox } = await open();
          board.set({ fill: 'blue', shape: 'dot', text: 'polling' });
          // Retries and rate limiting of the poll's calls show as a yellow ring while they last.
          const report = await board.watch(() =>
            pollOnce(connection!.client!, store, inbox, {
              cursorKey: `square:poll:${def.id}`,
              locationIds: connection!.settings.locationIds,
              overlapMs,
              initialLookbackMs: lookbackMs,
              pageSize,
              since,
            }),
          );
          last = report;
          refresh();
          return report;
        });
      running = next;
      return next;
    }

    onInput(node, async (msg: NodeMessage, send: SendFn) => {
      const since = typeof msg.since === 'string' ? msg.since : undefined;
      if (since && Number.isNaN(Date.parse(since))) throw new Error(`msg.since '${since}' is not a timestamp`);
      const report = await poll(since);
      send([null, { ...msg, topic: 'square.poll', payload: report }]);
    });

    const schedule = () => {
      if (closed || !intervalMs) return;
      timer = setTimeout(() => {
        poll()
          .then((report) => node.send([null, { topic: 'square.poll', payload: report }]))
          .catch((err) => {
            board.set({ fill: 'red', shape: 'ring', text: asError(err).message.slice(0, 40) });
            node.error(asError(err), { topic: 'square.poll' });
          })
          .finally(schedule);
      }, intervalMs);
      timer.unref?.();
    };
    if (connection && !connection.problem) {
      open().catch(() => undefined); // recover unfinished entries at start; failures show on the badge
      schedule();
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      clearTimeout(timer);
      failures.close();
      // The poll under way first (it may still be storing a page), then the inbox gives back what is in flight.
      closeWithin(async () => {
        await (running ?? Promise.resolve()).catch(() => undefined);
        await (opening ?? Promise.resolve()).catch(() => undefined);
        await inbound?.stop();
      }, done);
    });
  }
  RED.nodes.registerType('tillwire-square-orders', TillwireSquareOrdersNode);
};
