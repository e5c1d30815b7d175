/**
 * The ERP node body (nodes/core/erp-node.ts) directly, with scripted ERP parts, a minimal Node-RED
 * runtime and the real store (in memory): what the badge counts, what is sent on, and how each kind
 * of failure reaches done(err) or a node.error of its own. The two ERP nodes on their simulators are
 * in test/odoo/ and test/business-central/.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { createStore } from '../../nodes/runtime/create-store';
import type { Store } from '../../nodes/runtime/store';
import { ConnectorError, permanentFailure } from '../../nodes/runtime/errors';
import { batchSizeOf, ERP_STATUS_KEYS, erpNode, type ErpConfig, type ErpNodeSpec, type ErpParts } from '../../nodes/core/erp-node';
import { interpolate, type Vars } from '../../nodes/core/status-text';
import type { NodeMessage, NodeRED } from '../../nodes/core/node-red';

interface TestNode extends EventEmitter {
  sent: NodeMessage[];
  statuses: Array<{ fill?: string; shape?: string; text?: string }>;
  errors: Array<{ err: any; msg: NodeMessage }>;
}

const ENGLISH: Record<string, string> = {
  'status.noConnection': 'no Test connection configured',
  'status.ready.order': 'ready: orders',
  'status.ready.stock': 'ready: stock',
  'status.ready.shipments': 'ready: shipments',
  'status.sent': 'sent __count__',
  'status.stale': ', __count__ stale',
  'status.waiting': ', __count__ waiting',
  'status.failed': ', failed __count__',
  'status.error': 'failed: __error__',
};

let store: Store;
beforeEach(async () => {
  store = createStore({ backend: 'memory' });
  await store.open();
});
afterEach(() => store.close());

const notScripted = async (): Promise<never> => {
  throw new Error('not scripted');
};

function makeNode(
  spec: Partial<Omit<ErpNodeSpec<string>, 'parts'>> & Pick<ErpNodeSpec<string>, 'operation'> & { parts?: Partial<ErpParts<string>> },
  opts: { withStore?: boolean; config?: ErpConfig<string> | undefined } = {},
): TestNode {
  const node = Object.assign(new EventEmitter(), { sent: [], statuses: [], errors: [] }) as unknown as TestNode;
  Object.assign(node, {
    id: 'n1',
    type: 'tillwire-test-erp',
    status: (s: any) => node.statuses.push(s),
    send: (m: NodeMessage) => node.sent.push(m),
    error: (err: unknown, msg: NodeMessage) => node.errors.push({ err, msg }),
    warn() {},
    log() {},
  });
  const manager = Object.assign(new EventEmitter(), { state: { ok: true, opening: false }, acquire: async () => store });
  const RED = { nodes: { getNode: (id: string) => (id === 'store1' ? { manager } : undefined) }, _: (key: string) => key } as unknown as NodeRED;
  const parts: ErpParts<string> = {
    order: notScripted,
    stock: notScripted,
    stockChanges: notScripted,
    shipments: notScripted,
    acceptedRef: () => undefined,
    ...spec.parts,
  };
  const config = 'config' in opts ? opts.config : { connection: 'conn' };
  erpNode<string>(RED, node as any, {
    system: 'test-erp',
    operationNames: { order: 'sales order', stock: 'stock read', shipments: 'shipment read' },
    storeId: opts.withStore === false ? undefined : 'store1',
    texts: Object.assign((key: string, vars?: Vars) => interpolate(ENGLISH[key] ?? key, vars), {
      problem: (key: string, vars?: Vars) => ({ badge: interpolate(ENGLISH[key] ?? key, vars), message: interpolate(ENGLISH[key] ?? key, vars) }),
    }),
    config: () => config,
    unusable: (problem) => permanentFailure('test-erp', 'connection', problem ?? 'no Test connection configured'),
    ...spec,
    parts,
  });
  return node;
}

/** Delivers one message as Node-RED would; resolves with what done() got. */
function receive(node: TestNode, msg: NodeMessage): Promise<Error | undefined> {
  return new Promise((resolve) =>
    node.emit(
      'input',
      msg,
      (m: NodeMessage | NodeMessage[][]) => (Array.isArray(m) ? node.sent.push(...m.flat()) : node.sent.push(m)),
      (err?: Error) => resolve(err),
    ),
  );
}

const last = (node: TestNode) => node.statuses.at(-1);
/** The badge once its tally has caught up (the counts change it at most every 250 ms, ending on the latest). */
async function settled(node: TestNode): Promise<unknown> {
  const deadline = Date.now() + 2000;
  for (let seen = node.statuses.length; Date.now() < deadline; seen = node.statuses.length) {
    await new Promise((r) => setTimeout(r, 300));
    if (node.statuses.length === seen) break;
  }
  return last(node);
}

describe('ERP node body: order operation', () => {
  it('sends each message on and counts written, stale and waiting apart on the badge', async () => {
    const outcomes = ['sent', 'stale', 'waiting', 'sent'] as const;
    let i = 0;
    const node = makeNode({
      operation: 'order',
      parts: {
        order: async (connection, msg, binding) => {
          expect(connection).toBe('conn');
          expect(binding?.configured).toBe(true);
          msg.erp = { n: i };
          return outcomes[i++];
        },
      },
    });
    expect(last(node)).toEqual({ fill: 'grey', shape: 'ring', text: 'ready: orders' });
    for (let n = 0; n < 4; n++) expect(await receive(node, { payload: { kind: 'order' } })).toBeUndefined();
    expect(node.sent.map((m) => m.erp)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }]);
    expect(await settled(node)).toEqual({ fill: 'green', shape: 'dot', text: 'sent 2, 1 stale, 1 waiting' });
  });

  it('a failure goes to done(err) as the part threw it, nothing is sent, the badge turns red and counts it', async () => {
    const denied = permanentFailure('test-erp', 'sales order', "unknown SKU 'GHOST-1'", { kind: 'missing-reference' });
    const node = makeNode({ operation: 'order', parts: { order: async () => Promise.reject(denied) } });
    const err = await receive(node, { payload: { kind: 'sale' } });
    expect(err).toBe(denied);
    expect(node.sent).toEqual([]);
    expect(last(node)).toEqual({ fill: 'red', shape: 'ring', text: "failed: unknown SKU 'GHOST-1'" });
  });

  it('a failure that is not a ConnectorError becomes one with the operation name and kind unknown', async () => {
    const node = makeNode({ operation: 'order', parts: { order: async () => Promise.reject(new TypeError('boom')) } });
    const err = (await receive(node, { payload: {} })) as ConnectorError;
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.cause).toEqual({ system: 'test-erp', operation: 'sales order', kind: 'unknown', retryable: false });
  });
});

describe('ERP node body: till sales in batches', () => {
  /** A saleBatch part whose calls wait until the test releases them; records each call's sale ids. */
  function batching(batchSize?: number) {
    const saleId = (m: NodeMessage) => (m.payload as { saleId: string }).saleId;
    const calls: string[][] = [];
    const release: Array<() => void> = [];
    const node = makeNode({
      operation: 'order',
      batchSize,
      parts: {
        order: async (_c, msg) => {
          msg.erp = { one: saleId(msg) };
          return 'sent';
        },
        saleBatch: async (connection, msgs, binding) => {
          expect(connection).toBe('conn');
          expect(binding?.configured).toBe(true);
          calls.push(msgs.map(saleId));
          await new Promise<void>((resolve) => release.push(resolve));
          return msgs.map((m) => {
            if (saleId(m).startsWith('bad')) return permanentFailure('test-erp', 'sales order', `unknown SKU in ${saleId(m)}`);
            m.erp = { batch: calls.length, saleId: saleId(m) };
            return 'sent';
          });
        },
      },
    });
    const until = async (cond: () => boolean) => {
      while (!cond()) await new Promise((r) => setImmediate(r));
    };
    return { node, calls, release, until };
  }

  it('the first sale goes at once; those arriving meanwhile go as one batch; each message ends on its own (a bad one fails alone)', async () => {
    const { node, calls, release, until } = batching();
    const ids = ['s1', 's2', 'bad3', 's4', 's5'];
    const done = ids.map((saleId) => receive(node, { payload: { kind: 'sale', saleId } }));
    await until(() => calls.length === 2 && release.length === 2);
    // Two batches in flight at most: the second sale found a free slot, the rest wait.
    expect(calls).toEqual([['s1'], ['s2']]);
    release.splice(0).forEach((r) => r());
    await until(() => calls.length === 3);
    expect(calls[2]).toEqual(['bad3', 's4', 's5']);
    release.splice(0).forEach((r) => r());
    const errors = await Promise.all(done);
    expect(errors.map((e) => e?.message)).toEqual([undefined, undefined, expect.stringMatching(/unknown SKU in bad3/), undefined, undefined]);
    expect(errors[2]).toBeInstanceOf(ConnectorError);
    expect(node.sent.map((m) => m.erp.saleId).sort()).toEqual(['s1', 's2', 's4', 's5']);
    expect(await settled(node)).toEqual({ fill: 'green', shape: 'dot', text: 'sent 4, failed 1' });
  });

  it('channel orders and return documents go one at a time through `order`, never into a batch', async () => {
    const { node, calls } = batching();
    expect(await receive(node, { payload: { kind: 'order', saleId: 'o1' } })).toBeUndefined();
    expect(await receive(node, { payload: { kind: 'return', saleId: 'r1' } })).toBeUndefined();
    expect(calls).toEqual([]);
    expect(node.sent.map((m) => m.erp)).toEqual([{ one: 'o1' }, { one: 'r1' }]);
  });

  it('the batch size as the editor stores it: a whole number 1…1000, anything else the default 100', () => {
    expect([batchSizeOf(''), batchSizeOf(undefined), batchSizeOf('25'), batchSizeOf(1), batchSizeOf(0), batchSizeOf('2.5'), batchSizeOf(5000)]).toEqual([
      100, 100, 25, 1, 100, 100, 1000,
    ]);
  });

  it('batch size 1: every sale one at a time through `order`', async () => {
    const { node, calls } = batching(1);
    await Promise.all(['s1', 's2', 's3'].map((saleId) => receive(node, { payload: { kind: 'sale', saleId } })));
    expect(calls).toEqual([]);
    expect(node.sent.map((m) => m.erp)).toEqual([{ one: 's1' }, { one: 's2' }, { one: 's3' }]);
  });

  it('a batch that fails as a whole fails each of its messages with that error', async () => {
    const down = new ConnectorError('test-erp', 'sales order', 'ERP unavailable', { status: 503, attempts: 6 });
    const node = makeNode({ operation: 'order', parts: { saleBatch: async () => Promise.reject(down) } });
    const errors = await Promise.all(['s1', 's2'].map((saleId) => receive(node, { payload: { kind: 'sale', saleId } })));
    expect(errors).toEqual([down, down]);
    expect(last(node)?.fill).toBe('red');
  });
});

describe('ERP node body: connection', () => {
  it('no config node chosen: red ring saying so, every message fails through the node’s own wording', async () => {
    const node = makeNode({ operation: 'order' }, { config: undefined });
    expect(last(node)).toEqual({ fill: 'red', shape: 'ring', text: 'no Test connection configured' });
    const err = (await receive(node, { payload: {} })) as ConnectorError;
    expect(err.message).toBe('test-erp connection: no Test connection configured');
    expect(err.cause).toMatchObject({ kind: 'value', retryable: false });
  });

  it('unusable settings: the problem on the badge (shortened) and in every failure', async () => {
    const problem = 'no API key; the JSON-2 API needs version 19 or later';
    const node = makeNode({ operation: 'stock' }, { config: { problem } });
    expect(last(node)).toEqual({ fill: 'red', shape: 'ring', text: `${problem.slice(0, 39)}…` });
    expect(((await receive(node, { payload: '*' })) as ConnectorError).message).toBe(`test-erp connection: ${problem}`);
  });
});

describe('ERP node body: stock operation', () => {
  const positions = [
    { payload: { kind: 'inventory.position', sku: 'A', occurredAt: '2025-03-14T18:00:00Z' }, erp: { sku: 'A' } },
    { payload: { kind: 'inventory.position', sku: 'B', occurredAt: '2025-03-14T18:00:00Z' }, erp: { sku: 'B' } },
  ];

  it('one message per position with a fresh envelope (the trigger’s correlation id kept); the SKUs asked for reach the part', async () => {
    let asked: string[] | undefined;
    const node = makeNode({
      operation: 'stock',
      parts: {
        stock: async (_c, skus) => {
          asked = skus;
          return { positions, summary: {} };
        },
      },
    });
    await receive(node, { payload: 'A, B', tillwire: { eventId: 'trigger', correlationId: 'tick-1', idempotencyKey: 'x' } });
    expect(asked).toEqual(['A', 'B']);
    expect(node.sent.map((m) => [m.topic, (m.payload as any).sku, m.erp.sku])).toEqual([
      ['inventory.adjusted', 'A', 'A'],
      ['inventory.adjusted', 'B', 'B'],
    ]);
    for (const m of node.sent) expect(m.tillwire).toMatchObject({ correlationId: 'tick-1', source: { system: 'test-erp' } });
    expect(node.sent[0].tillwire.eventId).not.toBe('trigger');
    expect(last(node)).toEqual({ fill: 'green', shape: 'dot', text: 'sent 2' });
  });

  it('array output: one message with every position and the summary as msg.erp', async () => {
    const node = makeNode({ operation: 'stock', stockOutput: 'array', parts: { stock: async () => ({ positions, summary: { positions: 2 } }) } });
    await receive(node, { payload: '' });
    expect(node.sent).toHaveLength(1);
    expect(node.sent[0]).toMatchObject({ topic: 'inventory.adjusted', erp: { positions: 2 }, payload: positions.map((p) => p.payload) });
  });

  it('SKUs the ERP does not know: the positions found are sent, then the message fails naming them', async () => {
    const problem = permanentFailure('test-erp', 'stock read', 'unknown SKU in the ERP: GHOST', { providerCode: 'unknown_sku', kind: 'missing-reference' });
    const node = makeNode({ operation: 'stock', parts: { stock: async () => ({ positions: positions.slice(0, 1), summary: {}, problem }) } });
    expect(await receive(node, { payload: ['A', 'GHOST'] })).toBe(problem);
    expect(node.sent.map((m) => (m.payload as any).sku)).toEqual(['A']);
  });

  it('a payload that is no SKU list is a named value error of the stock read; the ERP is not asked', async () => {
    const node = makeNode({ operation: 'stock' });
    const err = (await receive(node, { payload: { hello: 'world' } })) as ConnectorError;
    expect(err.cause).toEqual({ system: 'test-erp', operation: 'stock read', kind: 'value', retryable: false });
    expect(err.message).toMatch(/msg\.payload must be "\*"/);
  });
});

describe('ERP node body: stock read of changes', () => {
  const positions = [{ payload: { kind: 'inventory.position', sku: 'A' }, erp: { sku: 'A' } }];
  const KEY = 'test-erp-stock-changes:n1:cursor';

  it('the cursor moves past what was sent even when some SKUs could not be sent; their problem follows', async () => {
    const problem = permanentFailure('test-erp', 'stock read', 'stock is not a whole number of units for B', { kind: 'value' });
    const seen: unknown[] = [];
    const node = makeNode({
      operation: 'stock',
      parts: {
        stockChanges: async (_c, cursor) => {
          seen.push(cursor);
          return { positions, summary: {}, problem, cursor: { at: seen.length } };
        },
      },
    });
    expect(await receive(node, { payload: { changes: true } })).toBe(problem);
    expect(node.sent.map((m) => (m.payload as any).sku)).toEqual(['A']);
    expect(await store.kvGet(KEY)).toEqual({ at: 1 });
    // The next read starts from there, not from the start again.
    await receive(node, { payload: { changes: true } });
    expect(seen).toEqual([undefined, { at: 1 }]);
    expect(await store.kvGet(KEY)).toEqual({ at: 2 });
  });

  it('a stored cursor in another text form (edited by hand) is still moved; one another instance moved is kept', async () => {
    const node = makeNode({ operation: 'stock', parts: { stockChanges: async () => ({ positions: [], summary: {}, cursor: { at: 9 } }) } });
    const sql = store as unknown as { driver: { query(q: string, p: unknown[]): Promise<unknown> }; t: { kv: string } };
    await store.kvPut(KEY, { at: 1 });
    await sql.driver.query(`UPDATE ${sql.t.kv} SET value = ? WHERE kv_key = ?`, ['{"at":  1}', KEY]);
    await receive(node, { payload: { changes: true } });
    expect(await store.kvGet(KEY)).toEqual({ at: 9 });
    // Another instance moves it while this read runs: theirs stays.
    const racing = makeNode({
      operation: 'stock',
      parts: {
        stockChanges: async () => {
          await store.kvPut(KEY, { at: 20 });
          return { positions: [], summary: {}, cursor: { at: 10 } };
        },
      },
    });
    await receive(racing, { payload: { changes: true } });
    expect(await store.kvGet(KEY)).toEqual({ at: 20 });
  });

  it('{ changes: true } beside SKUs is refused: one or the other', async () => {
    const node = makeNode({ operation: 'stock' });
    const err = (await receive(node, { payload: { changes: true, skus: ['A'] } })) as ConnectorError;
    expect(err.message).toContain('asks for { changes: true } and for SKUs at once');
  });
});

describe('ERP node body: shipments operation', () => {
  it('needs a store for its cursor: without one, a permanent error saying so', async () => {
    const node = makeNode({ operation: 'shipments' }, { withStore: false });
    const err = (await receive(node, { payload: 'tick' })) as ConnectorError;
    expect(err.message).toBe('test-erp shipment read: select a Tillwire store in the node: the shipments cursor is kept there');
    expect(err.cause).toMatchObject({ kind: 'value', retryable: false });
  });

  it('emitted shipments go on at once; each one that could not be sent fails on its own (Catch), the badge turns yellow', async () => {
    const sentBeforeCursor: number[] = [];
    const node = makeNode({
      operation: 'shipments',
      parts: {
        shipments: async (_c, { store: s, emit }) => {
          expect(s).toBe(store);
          emit([{ payload: { kind: 'shipment', shipmentId: 'SH-1' }, erp: { name: 'SH-1' } }]);
          sentBeforeCursor.push(node.sent.length);
          return [{ error: permanentFailure('test-erp', 'shipment read', 'SH-2 not sent as a shipment: no order'), payload: { pickings: ['SH-2'] } }];
        },
      },
    });
    expect(await receive(node, { payload: 'tick', tillwire: { correlationId: 'c' } })).toBeUndefined();
    expect(sentBeforeCursor).toEqual([1]);
    expect(node.sent[0]).toMatchObject({ topic: 'shipment.created', payload: { shipmentId: 'SH-1' }, erp: { name: 'SH-1' } });
    expect(node.errors).toHaveLength(1);
    expect(node.errors[0].err.message).toBe('test-erp shipment read: SH-2 not sent as a shipment: no order');
    expect(node.errors[0].msg).toMatchObject({ topic: 'shipment.unmapped', payload: { pickings: ['SH-2'] } });
    expect(node.errors[0].msg.tillwire).toBeUndefined();
    expect(last(node)).toEqual({ fill: 'yellow', shape: 'ring', text: 'sent 1, failed 1' });
  });
});

describe('ERP node catalogs', () => {
  const NODES = path.join(__dirname, '../../nodes');
  const catalogs = [
    'odoo/locales/en-US/odoo.json',
    'odoo/locales/de/odoo.json',
    'business-central/locales/en-US/business-central.json',
    'business-central/locales/de/business-central.json',
  ];
  it.each(catalogs)('%s has every status text the ERP node body shows', (file) => {
    const catalog = JSON.parse(fs.readFileSync(path.join(NODES, file), 'utf8'));
    const missing = ERP_STATUS_KEYS.filter((key) => typeof key.split('.').reduce((at: any, part) => at?.[part], catalog) !== 'string');
    expect(missing).toEqual([]);
  });
});
