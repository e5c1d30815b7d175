/**
 * The marketplace order poller, directly, on the real store (SQLite in memory) and the real durable
 * inbox:
 * - the poll (Amazon's pollOnce, nodes/amazon/poller.ts, driven by a scripted client): the cursor
 *   moves to the window Amazon reported, the next poll re-reads an overlap before it, Pending
 *   orders are held until priced, repeats are recognised, a failing page keeps the cursor, and a
 *   cursor moved by another instance is not overwritten;
 * - the node body every poller shares (runOrderPoller, nodes/core/order-poller.ts) with a scripted
 *   poll: each stored order emitted once with its envelope and inbox ref, repeat polls emit
 *   nothing, an unmappable entry goes to the dead-letter store, a failed poll is reported and the
 *   next one runs, one poll at a time, and unfinished entries re-emitted after a restart.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { createStore } from '../../nodes/runtime/create-store';
import type { InboxEntry, Store } from '../../nodes/runtime/store';
import { DurableInbox } from '../../nodes/runtime/inbox';
import { ConnectorError } from '../../nodes/runtime/http';
import { pollOnce, type PolledOrder } from '../../nodes/amazon/poller';
import type { AmazonClient, OrdersPage } from '../../nodes/amazon/client';
import { runOrderPoller, type OrderPollerSpec, type PollContext } from '../../nodes/core/order-poller';
import { statusTexts } from '../../nodes/core/status-text';
import type { NodeMessage, NodeRED, RuntimeNode } from '../../nodes/core/node-red';
import type { Order } from '../../nodes/model/types.generated';

let store: Store;
beforeEach(async () => {
  store = createStore({ backend: 'memory' });
  await store.open();
});
afterEach(() => store.close());

const order = (id: string, updated: string, status = 'Unshipped') => ({
  AmazonOrderId: id,
  LastUpdateDate: updated,
  OrderStatus: status,
  ...(status === 'Pending' ? {} : { OrderTotal: { Amount: '10.00', CurrencyCode: 'EUR' } }),
});

/** An Amazon client answering getOrders from a script of pages (or errors), one per call. */
function scriptedAmazon(pages: Array<OrdersPage | Error>) {
  const queries: any[] = [];
  const client = {
    async getOrders(q: any) {
      queries.push(q);
      const next = pages.shift();
      if (!next) throw new Error('no more pages scripted');
      if (next instanceof Error) throw next;
      return next;
    },
    async getOrderItems(id: string) {
      return [{ OrderItemId: `${id}-1`, QuantityOrdered: 1 }];
    },
  } as unknown as AmazonClient;
  return { client, queries };
}

describe('one poll of Amazon orders (cursor, overlap, held, repeats)', () => {
  const CURSOR = 'amazon-orders:test:cursor';
  const START = '2026-12-01T00:00:00.000Z';
  const OVERLAP = 5 * 60_000;
  let delivered: string[];
  let inbox: DurableInbox;
  beforeEach(() => {
    delivered = [];
    inbox = new DurableInbox(store, 'amazon-orders:test', (e) => void delivered.push(e.eventId));
  });
  const poll = (client: AmazonClient) =>
    pollOnce({
      client,
      store,
      cursorKey: CURSOR,
      marketplaceIds: ['A1PA6795UKMFR9'],
      accept: (id, p: PolledOrder) => inbox.accept(id, p),
      overlapMs: OVERLAP,
      startAt: () => START,
      apiVersion: 'v0',
    });

  it('stores priced orders, holds Pending ones, then moves the cursor to the window Amazon reported', async () => {
    const { client, queries } = scriptedAmazon([
      {
        Orders: [order('A', '2026-12-01T08:00:00Z'), order('P', '2026-12-01T08:30:00Z', 'Pending')],
        NextToken: 'page2',
        LastUpdatedBefore: '2026-12-01T09:58:00Z',
      },
      { Orders: [order('B', '2026-12-01T09:00:00Z')] },
    ]);
    const result = await poll(client);
    // the very first poll starts where it is told, with no overlap
    expect(queries[0]).toMatchObject({ LastUpdatedAfter: START });
    expect(queries[1]).toMatchObject({ NextToken: 'page2' });
    expect(result).toMatchObject({ pages: 2, orders: 3, accepted: 2, duplicates: 0, held: ['P'], advanced: true, cursor: '2026-12-01T09:58:00Z' });
    expect(delivered.sort()).toEqual(['order:A:2026-12-01T08:00:00Z', 'order:B:2026-12-01T09:00:00Z']);
    await expect(store.kvGet(CURSOR)).resolves.toEqual({ lastUpdatedBefore: '2026-12-01T09:58:00Z' });
  });

  it('re-reads an overlap before the cursor; what it sees again is not delivered again, a held order once priced is', async () => {
    const first = scriptedAmazon([
      { Orders: [order('A', '2026-12-01T09:56:00Z'), order('P', '2026-12-01T09:57:00Z', 'Pending')], LastUpdatedBefore: '2026-12-01T09:58:00Z' },
    ]);
    await poll(first.client);
    const second = scriptedAmazon([
      // A again (inside the overlap); P priced, so its LastUpdateDate moved on
      { Orders: [order('A', '2026-12-01T09:56:00Z'), order('P', '2026-12-01T10:01:00Z')], LastUpdatedBefore: '2026-12-01T10:03:00Z' },
    ]);
    const result = await poll(second.client);
    expect(second.queries[0].LastUpdatedAfter).toBe('2026-12-01T09:53:00.000Z'); // cursor − 5 min
    expect(result).toMatchObject({ accepted: 1, duplicates: 1, held: [], cursor: '2026-12-01T10:03:00Z' });
    expect(delivered).toEqual(['order:A:2026-12-01T09:56:00Z', 'order:P:2026-12-01T10:01:00Z']);
  });

  it('a repeat of the same window delivers nothing and leaves the cursor where it was', async () => {
    const page = { Orders: [order('A', '2026-12-01T09:00:00Z')], LastUpdatedBefore: '2026-12-01T09:58:00Z' };
    await poll(scriptedAmazon([page]).client);
    const again = await poll(scriptedAmazon([{ ...page }]).client);
    expect(again).toMatchObject({ accepted: 0, duplicates: 1, cursor: '2026-12-01T09:58:00Z' });
    expect(delivered).toEqual(['order:A:2026-12-01T09:00:00Z']);
  });

  it('a failing page keeps the cursor; what earlier pages stored stays stored and is not delivered twice on the retry', async () => {
    const throttled = new ConnectorError('amazon', 'getOrders', 'HTTP 503: unavailable', { status: 503, retryable: true });
    const failing = scriptedAmazon([
      { Orders: [order('A', '2026-12-01T08:00:00Z')], NextToken: 'page2', LastUpdatedBefore: '2026-12-01T09:58:00Z' },
      throttled,
    ]);
    await expect(poll(failing.client)).rejects.toBe(throttled);
    await expect(store.kvGet(CURSOR)).resolves.toBeUndefined();
    expect(delivered).toEqual(['order:A:2026-12-01T08:00:00Z']);

    const retry = scriptedAmazon([
      { Orders: [order('A', '2026-12-01T08:00:00Z')], NextToken: 'page2', LastUpdatedBefore: '2026-12-01T10:00:00Z' },
      { Orders: [order('B', '2026-12-01T09:00:00Z')] },
    ]);
    const result = await poll(retry.client);
    expect(retry.queries[0].LastUpdatedAfter).toBe(START); // the same window again
    expect(result).toMatchObject({ accepted: 1, duplicates: 1, cursor: '2026-12-01T10:00:00Z' });
    expect(delivered).toEqual(['order:A:2026-12-01T08:00:00Z', 'order:B:2026-12-01T09:00:00Z']);
  });

  it('does not overwrite a cursor another instance moved meanwhile (compare-and-set)', async () => {
    const { client } = scriptedAmazon([{ Orders: [order('A', '2026-12-01T09:00:00Z')], LastUpdatedBefore: '2026-12-01T09:58:00Z' }]);
    const slow = client.getOrders.bind(client);
    (client as any).getOrders = async (q: any) => {
      await store.kvPut(CURSOR, { lastUpdatedBefore: '2026-12-01T11:00:00Z' }); // the other instance
      return slow(q);
    };
    const result = await poll(client);
    expect(result.advanced).toBe(false);
    await expect(store.kvGet(CURSOR)).resolves.toEqual({ lastUpdatedBefore: '2026-12-01T11:00:00Z' });
  });
});

/** A Node-RED node as runOrderPoller sees it, recording what it sends and reports. */
function fakeNode(id: string) {
  const node = Object.assign(new EventEmitter(), {
    id,
    type: 'test-orders',
    z: 'flow1',
    name: 'test orders',
    sent: [] as NodeMessage[],
    statuses: [] as Array<{ fill?: string; text?: string }>,
    errors: [] as Array<{ err: Error; msg?: NodeMessage }>,
    send(msg: NodeMessage) {
      this.sent.push(msg);
    },
    status(s: { fill?: string; text?: string }) {
      this.statuses.push(s);
    },
    error(err: Error, msg?: NodeMessage) {
      this.errors.push({ err, msg });
    },
    warn() {},
    log() {},
  });
  return node;
}

/** A RED whose only config node is an open store. */
function fakeRed(s: Store): NodeRED {
  const manager = Object.assign(new EventEmitter(), { state: { ok: true, opening: false }, acquire: async () => s });
  return { nodes: { getNode: (id: string) => (id === 'store1' ? { manager } : undefined) } } as unknown as NodeRED;
}

/** Resolves once `check` holds, looking after each turn of the event loop (no fixed sleep). */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (check()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never happened: ${what}`);
}

function close(node: EventEmitter): Promise<void> {
  const listeners = node.listeners('close') as Array<(removed: boolean, done: () => void) => void>;
  return Promise.all(listeners.map((fn) => new Promise<void>((r) => fn(false, r)))).then(() => undefined);
}

function input(node: EventEmitter): Promise<Error | undefined> {
  return new Promise((resolve) =>
    node.emit(
      'input',
      { payload: 'poll' },
      () => undefined,
      (err?: Error) => resolve(err),
    ),
  );
}

interface TestPayload {
  id: string;
  bad?: boolean;
}

/** A known-valid canonical order (the schema fixture) under another channel id. */
function validOrder(id: string): Order {
  const doc = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'canonical', 'order.json'), 'utf8'));
  return { ...doc, id: `test:${id}`, channel: { ...doc.channel, id } };
}

describe('the order-poller node body (runOrderPoller)', () => {
  /** A poller whose polls are scripted: each one runs the next function given. */
  function start(s: Store, polls: Array<(ctx: PollContext) => Promise<void>>, nodeId = 'poller1') {
    const node = fakeNode(nodeId);
    let pollsRun = 0;
    const spec: OrderPollerSpec<TestPayload> = {
      system: 'test',
      // bol's badge texts (English: the fake RED has no catalogs loaded)
      texts: statusTexts({} as NodeRED, path.join(__dirname, '../../nodes/bol/bol-orders.ts')),
      connection: { client: {} },
      store: 'store1',
      intervalSeconds: 3600, // only the start poll and inputs poll here
      poll: async (ctx) => {
        const step = polls[pollsRun++];
        if (!step) throw new Error('no poll scripted');
        await step(ctx);
      },
      map: (p) => {
        if (p.bad) throw new Error(`order ${p.id} has no price`);
        return validOrder(p.id);
      },
      topic: () => 'test.order',
      describe: (p) => ({ source: { orderId: p.id }, occurredAt: '2026-12-01T08:00:00Z' }),
      fallbackKey: (p) => `test:${p.id}`,
    };
    runOrderPoller(fakeRed(s), node as unknown as RuntimeNode, spec);
    return { node, polls: () => pollsRun };
  }

  it('emits each stored order once with its envelope and inbox ref; a repeat poll emits nothing; an unmappable one is dead-lettered', async () => {
    const { node, polls } = start(store, [
      async (ctx) => {
        await ctx.accept('order:1:a', { id: '1' });
        await ctx.accept('order:2:a', { id: '2', bad: true });
      },
      async (ctx) => {
        await expect(ctx.accept('order:1:a', { id: '1' })).resolves.toMatchObject({ duplicate: true });
      },
    ]);
    await until(() => polls() === 1 && node.sent.length === 1 && node.statuses.some((s) => /1 failed/.test(s.text ?? '')), 'first poll emitted');
    const msg = node.sent[0] as any;
    expect(msg.topic).toBe('test.order');
    expect(msg.payload.id).toBe('test:1');
    expect(msg.tillwire).toMatchObject({
      eventId: 'order:1:a',
      source: { system: 'test', orderId: '1', eventId: 'order:1:a' },
      idempotencyKey: 'order:shopify:tillwire-demo.myshopify.com:1',
    });
    expect(msg.tillwireInbox).toEqual({ source: 'test-orders:poller1', id: expect.any(String) });
    const dead = await store.listDeadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ nodeId: 'poller1', error: { message: 'order 2 has no price' } });
    expect((dead[0].message as any).payload).toEqual({ id: '2', bad: true });

    await expect(input(node)).resolves.toBeUndefined();
    expect(polls()).toBe(2);
    expect(node.sent).toHaveLength(1);
    await close(node);
  });

  it('reports a failed poll (red ring, node.error for Catch) and polls again on the next trigger', async () => {
    const failure = new ConnectorError('test', 'listOrders', 'HTTP 503: down', { status: 503, retryable: true });
    const { node, polls } = start(store, [
      async () => {
        throw failure;
      },
      async (ctx) => {
        await ctx.accept('order:1:a', { id: '1' });
      },
    ]);
    await until(() => node.errors.length === 1, 'the failure reported');
    expect(node.errors[0].err).toBe(failure);
    expect(node.statuses.at(-1)).toMatchObject({ fill: 'red' });
    await expect(input(node)).resolves.toBeUndefined();
    expect(polls()).toBe(2);
    await until(() => node.sent.length === 1, 'the order of the second poll');
    expect(node.statuses.at(-1)).toMatchObject({ fill: 'green' });
    await close(node);
  });

  it('a poll started by a message that fails goes to that message\'s Catch (done), and the badge shows it rather than staying on "polling"', async () => {
    const failure = new ConnectorError('test', 'listOrders', 'HTTP 401: bad token', { status: 401, kind: 'auth', retryable: false });
    const { node, polls } = start(store, [
      async () => undefined,
      async () => {
        throw failure;
      },
    ]);
    await until(() => polls() === 1 && node.statuses.at(-1)?.fill === 'green', 'the start poll');
    await expect(input(node)).resolves.toBe(failure);
    expect(node.statuses.at(-1)).toEqual({ fill: 'red', shape: 'ring', text: 'failed: auth (HTTP 401)' });
    expect(node.errors).toEqual([]); // reported once, through done, not again with node.error
    await close(node);
  });

  it('runs one poll at a time: triggers during a poll wait for it instead of starting another', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const { node, polls } = start(store, [async () => held, async () => undefined]);
    await until(() => polls() === 1, 'the start poll');
    const triggers = [input(node), input(node), input(node)];
    await new Promise((r) => setImmediate(r));
    expect(polls()).toBe(1);
    release();
    await expect(Promise.all(triggers)).resolves.toEqual([undefined, undefined, undefined]);
    expect(polls()).toBe(1);
    await close(node);
  });

  it('re-emits an order stored but not finished before a restart, once', async () => {
    const first = start(store, [(ctx) => ctx.accept('order:1:a', { id: '1' }).then(() => undefined)]);
    await until(() => first.node.sent.length === 1, 'first emission');
    await close(first.node); // never acknowledged by a tillwire-ack node
    const second = start(store, [async () => undefined]);
    await until(() => second.node.sent.length === 1 && second.polls() === 1, 're-emission after restart');
    expect((second.node.sent[0] as any).tillwire.eventId).toBe('order:1:a');
    await close(second.node);
  });
});

describe('the order-poller node body with processed entries (Shopify, Square)', () => {
  /** Resolves once `check` holds, looking every 10 ms for up to 10 s (inbox retries wait on timers). */
  async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`never happened: ${what}`);
  }

  /** Sends an input message; resolves with what the input's send got and the error given to done. */
  function trigger(node: EventEmitter, msg: NodeMessage): Promise<{ sent: unknown[]; err?: Error }> {
    const sent: unknown[] = [];
    return new Promise((resolve) =>
      node.emit(
        'input',
        msg,
        (out: unknown) => sent.push(out),
        (err?: Error) => resolve({ sent, err }),
      ),
    );
  }

  interface Asked {
    since: string;
  }

  /** A poller on the shared source 'shared' that delivers entries with `deliver` and records each poll's `since`. */
  function start(
    s: Store,
    o: {
      polls: Array<(ctx: PollContext) => Promise<void>>;
      deliver: (entry: InboxEntry, ctx: { complete: (id: string) => Promise<void> }) => Promise<void>;
      intervalSeconds?: number;
      maxAttempts?: number;
    },
  ) {
    const node = fakeNode('poller2');
    const asked: Array<string | undefined> = [];
    const spec: OrderPollerSpec<unknown, number, Asked> = {
      system: 'test',
      texts: statusTexts({} as NodeRED, path.join(__dirname, '../../nodes/square/square-orders.ts')),
      connection: { client: {} },
      store: 'store1',
      intervalSeconds: o.intervalSeconds ?? 3600,
      source: 'shared',
      poll: async (ctx, a) => {
        asked.push(a?.since);
        const step = o.polls[asked.length - 1];
        if (!step) throw new Error('no poll scripted');
        await step(ctx);
        return asked.length;
      },
      asked: (msg) => (typeof msg.since === 'string' ? { since: msg.since } : undefined),
      report: (n, msg) => [null, { ...msg, topic: 'test.poll', payload: n }],
      processed: {
        maxAttempts: o.maxAttempts ?? 5,
        what: 'polled test order',
        owns: (entry) => (entry.payload as { via?: string }).via === 'poll',
        poisoned: (entry) => ({ payload: entry.payload, topic: 'test.failed', source: { system: 'test', eventId: entry.eventId } }),
        deliver: (ctx) => async (entry) => {
          await o.deliver(entry, ctx);
          ctx.counts.emitted++;
          node.send([{ payload: entry.eventId }, null]);
          ctx.refresh();
        },
      },
    };
    runOrderPoller(fakeRed(s), node as unknown as RuntimeNode, spec);
    return { node, asked };
  }

  it('with no interval it does not poll on start, but re-emits its own unfinished entries of the shared source and leaves the others', async () => {
    await store.inboxAdd('shared', 'order:mine', { via: 'poll' });
    await store.inboxAdd('shared', 'order:webhook', { headers: {} });
    const { node, asked } = start(store, { polls: [], deliver: async () => undefined, intervalSeconds: 0 });
    // the counts go up once the inbox is open and recovered
    await until(() => node.statuses.some((st) => st.fill === 'green') && node.sent.length > 0, 'the recovered entry');
    await new Promise((r) => setImmediate(r));
    expect(node.sent).toEqual([[{ payload: 'order:mine' }, null]]);
    expect(asked).toEqual([]);
    expect((await store.inboxPending('shared')).map((e) => e.eventId).sort()).toEqual(['order:mine', 'order:webhook']);
    await close(node);
  });

  it('a message asking for a backfill during a poll gets a poll of its own after it; a plain message shares the running one; each reports on output 2', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const { node, asked } = start(store, {
      polls: [() => held, async (ctx) => void (await ctx.accept('order:1', { via: 'poll' }))],
      deliver: async () => undefined,
    });
    await until(() => asked.length === 1, 'the start poll');
    const plain = trigger(node, { payload: 'poll' });
    const backfill = trigger(node, { payload: 'poll', since: '2026-11-01T00:00:00Z' });
    await new Promise((r) => setImmediate(r));
    expect(asked).toEqual([undefined]);
    release();
    const [p, b] = await Promise.all([plain, backfill]);
    expect(asked).toEqual([undefined, '2026-11-01T00:00:00Z']);
    expect(p).toEqual({ sent: [[null, { payload: 1, topic: 'test.poll' }]], err: undefined });
    expect(b).toEqual({ sent: [[null, { payload: 2, topic: 'test.poll', since: '2026-11-01T00:00:00Z' }]], err: undefined });
    // output 2 after the start poll (from the schedule, not an input), then the order the backfill found on output 1
    await until(() => node.sent.length === 2, 'the order the backfill found');
    expect(node.sent).toEqual([
      [null, { payload: 1, topic: 'test.poll' }],
      [{ payload: 'order:1' }, null],
    ]);
    await close(node);
  });

  it('retries a delivery that fails, then gives the entry up to the dead-letter store after its attempts and counts it on the badge', async () => {
    let tries = 0;
    const { node } = start(store, {
      polls: [async (ctx) => void (await ctx.accept('order:1', { via: 'poll' }))],
      deliver: async () => {
        tries++;
        throw new Error('the ERP is down');
      },
      maxAttempts: 2,
    });
    await eventually(async () => (await store.listDeadLetters()).length === 1, 'the entry given up');
    const [dead] = await store.listDeadLetters();
    expect(dead).toMatchObject({ nodeId: 'poller2', error: { name: 'PoisonMessage', message: 'gave up after 2 attempts: the ERP is down' } });
    expect(dead.message).toMatchObject({ topic: 'test.failed', payload: { via: 'poll' } });
    expect(tries).toBe(2);
    await eventually(() => node.statuses.at(-1)?.text === '0 in · 1 failed', 'the badge counting it');
    expect(node.sent).toEqual([[null, { payload: 1, topic: 'test.poll' }]]); // the start poll's report, no order
    await close(node);
  });
});
