/**
 * The channel write-back node body (nodes/core/channel-write.ts) directly, with a scripted writer in
 * place of a channel client, a minimal Node-RED runtime, and the real store (SQLite in memory):
 * what goes on after a write that succeeds, fails with a retryable error, fails permanently, and a
 * document that must never reach the channel.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { createStore } from '../../nodes/runtime/create-store';
import type { Store } from '../../nodes/runtime/store';
import { ConnectorError } from '../../nodes/runtime/http';
import { positionLocation, registerChannelWrite, type ChannelWriteSpec, type WriteContext, type WriteResult } from '../../nodes/core/channel-write';
import type { NodeMessage, NodeRED } from '../../nodes/core/node-red';
import { reportRetry } from '../../nodes/runtime/call-observer';
import { shortText } from '../../nodes/core/node-kit';
import { COMMON_NAMESPACE, interpolate } from '../../nodes/core/status-text';

const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'canonical', `${name}.json`), 'utf8'));
const SHIPMENT = fixture('shipment'); // for shopify order 5902184710234 of tillwire-demo.myshopify.com
const ATS = fixture('available-to-sell'); // TEE-BLK-M computed at 2025-03-14T18:00:02Z

type Step = (ctx: WriteContext<unknown>) => Promise<WriteResult>;

interface TestNode extends EventEmitter {
  sent: NodeMessage[];
  statuses: Array<{ fill?: string; text?: string }>;
}

let store: Store;
beforeEach(async () => {
  store = createStore({ backend: 'memory' });
  await store.open();
});
afterEach(() => store.close());

/**
 * Node-RED's RED._ in a German runtime, as far as the shared texts go: a key of the store config
 * catalog (`<namespace>:common.…`) answered from its German catalog, any other key as itself
 * (i18next's answer for a key it does not know).
 */
const GERMAN_COMMON = JSON.parse(fs.readFileSync(path.join(__dirname, '../../nodes/core/locales/de/store-config.json'), 'utf8'));
function germanRuntime(key: string, vars?: Record<string, unknown>): string {
  if (!key.startsWith(`${COMMON_NAMESPACE}:`)) return key;
  const text = key
    .slice(COMMON_NAMESPACE.length + 1)
    .split('.')
    .reduce((at: any, part) => at?.[part], GERMAN_COMMON);
  return typeof text === 'string' ? interpolate(text, vars as any) : key;
}

/** Registers the node type on a minimal runtime and makes one node of it; `steps` answer its writes in turn. */
function makeNode(steps: Step[], opts: { withStore?: boolean; german?: boolean; accountProblem?: string; configType?: string } = {}) {
  let ctor: any;
  const writes: Array<WriteContext<unknown>> = [];
  const storeManager = Object.assign(new EventEmitter(), {
    state: { ok: true, opening: false },
    acquire: async () => store,
    hold: <T>(work: Promise<T>) => work,
  });
  // The config node as the runtime holds it: its type and the connection it offers.
  const config = {
    type: opts.configType ?? 'test-config',
    connection: { account: 'tillwire-demo.myshopify.com', client: { name: 'client' }, problem: opts.accountProblem },
  };
  const RED = {
    nodes: {
      createNode(node: any, def: any) {
        const events = new EventEmitter();
        Object.assign(node, {
          on: events.on.bind(events),
          emit: events.emit.bind(events),
          id: def.id,
          type: def.type,
          sent: [],
          statuses: [],
          status(s: any) {
            node.statuses.push(s);
          },
          send(m: NodeMessage) {
            node.sent.push(m);
          },
          error() {},
          warn() {},
          log() {},
        });
      },
      getNode: (id: string) => (id === 'acct' ? config : id === 'store1' ? { manager: storeManager } : undefined),
      registerType: (_type: string, c: any) => (ctor = c),
    },
    ...(opts.german ? { _: germanRuntime } : {}),
  } as unknown as NodeRED;
  const spec: ChannelWriteSpec<unknown, { account: string; client: unknown; problem?: string }> = {
    system: 'shopify',
    label: 'Test write',
    operation: 'testWrite',
    configProperty: 'shop',
    configType: 'test-config',
    accepts: ['shipment', 'inventory.ats'],
    connection: (c) => ({ client: c.client, account: c.account, problem: c.problem }),
    accountMatches: (docAccount, conn) => docAccount === conn.account,
    writer: () => ({
      write: async (ctx) => {
        writes.push(ctx);
        const step = steps.shift();
        if (!step) throw new Error('no write scripted');
        return step(ctx);
      },
    }),
  };
  registerChannelWrite(RED, 'test-write', spec);
  const node: TestNode = new ctor({ id: 'w1', type: 'test-write', shop: 'acct', ...(opts.withStore ? { store: 'store1' } : {}) });
  /** One message through the node: resolves with what done() was given. */
  const input = (payload: unknown): Promise<{ err?: any; msg: NodeMessage }> => {
    const msg: NodeMessage = { payload: structuredClone(payload) };
    return new Promise((resolve) =>
      node.emit(
        'input',
        msg,
        (m: NodeMessage) => node.sent.push(m),
        (err?: Error) => resolve({ err, msg }),
      ),
    );
  };
  return { node, input, writes };
}

const sent: Step = async () => ({ operation: 'fulfillmentCreate', outcome: 'sent', fulfillmentId: 'F1' });

describe('channel write-back node body', () => {
  it('a config node of another type counts as none: a red badge, and every message fails without a write', async () => {
    const { node, input, writes } = makeNode([sent], { configType: 'tillwire-square-config' });
    expect(node.statuses.at(-1)).toMatchObject({ fill: 'red', text: expect.stringMatching(/no shopify account configured/) });
    const { err } = await input(SHIPMENT);
    expect(err).toMatchObject({ retryable: false, message: expect.stringMatching(/no shopify account configured/) });
    expect(writes).toEqual([]);
  });

  it('on success sends the message on with channelResult and a green badge', async () => {
    const { node, input, writes } = makeNode([sent]);
    const { err, msg } = await input(SHIPMENT);
    expect(err).toBeUndefined();
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ kind: 'shipment', key: expect.stringMatching(/^shipment:/), client: { name: 'client' } });
    expect(node.sent).toEqual([msg]);
    expect(msg.channelResult).toEqual({
      system: 'shopify',
      account: 'tillwire-demo.myshopify.com',
      key: writes[0].key,
      operation: 'fulfillmentCreate',
      outcome: 'sent',
      fulfillmentId: 'F1',
    });
    expect(node.statuses.at(-1)).toMatchObject({ fill: 'green', text: 'sent 1' });
  });

  it('with a store, a repeat of a written document is answered from the record without a second write', async () => {
    const { input, writes } = makeNode([sent], { withStore: true });
    await input(SHIPMENT);
    const { err, msg } = await input(SHIPMENT);
    expect(err).toBeUndefined();
    expect(writes).toHaveLength(1);
    expect(msg.channelResult).toMatchObject({ outcome: 'already-sent', recorded: true, operation: 'fulfillmentCreate', fulfillmentId: 'F1' });
  });

  it('a retryable failure reaches done() as a retryable ConnectorError with its fields (what a Catch node gets as msg.error.code and .cause), nothing sent or recorded', async () => {
    const throttled = new ConnectorError('shopify', 'fulfillmentCreate', 'HTTP 503: Service Unavailable', { status: 503, retryable: true, attempts: 6 });
    const { node, input, writes } = makeNode([async () => Promise.reject(throttled), sent], { withStore: true });
    const { err, msg } = await input(SHIPMENT);
    expect(err).toBe(throttled);
    expect(err.retryable).toBe(true);
    expect(err.status).toBe(503);
    // Node-RED's Catch node keeps an error's own code and cause: the verdict survives without text parsing
    expect(err.code).toBe('unavailable');
    expect(err.cause).toMatchObject({ system: 'shopify', operation: 'fulfillmentCreate', kind: 'unavailable', retryable: true, status: 503, attempts: 6 });
    expect(msg.channelResult).toBeUndefined();
    expect(node.sent).toEqual([]);
    expect(node.statuses.at(-1)).toMatchObject({ fill: 'red' });
    // nothing was recorded as written: the retry (a replay) writes it
    const retry = await input(SHIPMENT);
    expect(retry.err).toBeUndefined();
    expect(writes).toHaveLength(2);
    expect(retry.msg.channelResult).toMatchObject({ outcome: 'sent' });
  });

  it("a permanent failure reaches done() as permanent with the channel's code and words", async () => {
    const refused = new ConnectorError('shopify', 'fulfillmentCreate', 'HTTP 422: line item already fulfilled', {
      status: 422,
      retryable: false,
      providerCode: 'INVALID',
      providerMessage: 'line item already fulfilled',
    });
    const { node, input } = makeNode([async () => Promise.reject(refused)]);
    const { err, msg } = await input(SHIPMENT);
    expect(err.retryable).toBe(false);
    expect(err.status).toBe(422);
    expect(err.cause).toMatchObject({ retryable: false, status: 422, providerCode: 'INVALID', providerMessage: 'line item already fulfilled' });
    expect(msg.channelResult).toBeUndefined();
    expect(node.sent).toEqual([]);
  });

  it('an unexpected error in the writer is permanent (retrying a defect does not fix it)', async () => {
    const { input } = makeNode([async () => Promise.reject(new TypeError("Cannot read properties of undefined (reading 'id')"))]);
    const { err } = await input(SHIPMENT);
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.retryable).toBe(false);
  });

  it.each([
    ['a document for another channel', { ...SHIPMENT, order: { ...SHIPMENT.order, channel: { ...SHIPMENT.order.channel, system: 'amazon' } } }, 'WrongChannel'],
    [
      'a document for another account',
      { ...SHIPMENT, order: { ...SHIPMENT.order, channel: { ...SHIPMENT.order.channel, account: 'other-shop.myshopify.com' } } },
      'WrongAccount',
    ],
    ['a kind it does not write', fixture('order'), 'WrongKind'],
    ['an invalid document', { ...SHIPMENT, lines: [{ sku: 'TEE-BLK-M', quantity: -2 }] }, 'InvalidDocument'],
    ['a payload that is not a document', 'ship it', 'WrongKind'],
  ])('%s is refused permanently and never written', async (_what, payload, code) => {
    const { input, writes, node } = makeNode([sent]);
    const { err, msg } = await input(payload);
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.retryable).toBe(false);
    expect(err.cause).toMatchObject({ retryable: false, providerCode: code });
    expect(msg.channelResult).toBeUndefined();
    expect(writes).toHaveLength(0);
    expect(node.sent).toEqual([]);
  });

  it('with a store, an older stock figure arriving after a newer one is not written', async () => {
    const stockSent: Step = async () => ({ operation: 'inventorySetQuantities', outcome: 'sent' });
    const { input, writes } = makeNode([stockSent], { withStore: true });
    await input(ATS);
    const older = { ...ATS, available: 150, computedAt: '2025-03-14T17:00:00Z' };
    const { err, msg } = await input(older);
    expect(err).toBeUndefined();
    expect(writes).toHaveLength(1);
    expect(msg.channelResult).toMatchObject({ outcome: 'unchanged', stale: true, newer: ATS.computedAt });
  });

  it('with a store, an older figure arriving while a newer one for the same SKU is still being written waits for it and is not written', async () => {
    let release!: () => void;
    const slowSent: Step = () => new Promise((resolve) => (release = () => resolve({ operation: 'inventorySetQuantities', outcome: 'sent' })));
    const { input, writes } = makeNode([slowSent], { withStore: true });
    const newer = input(ATS);
    await new Promise((r) => setImmediate(r));
    const older = input({ ...ATS, available: 150, computedAt: '2025-03-14T17:00:00Z' });
    await new Promise((r) => setTimeout(r, 20));
    expect(writes).toHaveLength(1); // the older one waits behind the newer one's write
    release();
    expect((await newer).msg.channelResult).toMatchObject({ outcome: 'sent' });
    expect((await older).msg.channelResult).toMatchObject({ outcome: 'unchanged', stale: true, newer: ATS.computedAt });
    expect(writes).toHaveLength(1);
  });

  describe('in a German runtime', () => {
    it('badges are German: ready, sending counts, and a throttled call', async () => {
      const throttledOnce: Step = async () => {
        reportRetry({ system: 'shopify', operation: 'fulfillmentCreate', attempt: 1, waitMs: 10 }, { kind: 'rate-limit', status: 429 });
        return { operation: 'fulfillmentCreate', outcome: 'sent' };
      };
      const { node, input } = makeNode([throttledOnce], { german: true });
      expect(node.statuses[0]).toEqual({ fill: 'grey', shape: 'ring', text: 'bereit' });
      const { err } = await input(SHIPMENT);
      expect(err).toBeUndefined();
      expect(node.statuses.map((s) => s.text)).toEqual(['bereit', 'sende shipment', 'gedrosselt: fulfillmentCreate', 'gesendet 1']);
    });

    it('an unusable account: the badge says so in German, the error of each refused message stays English', async () => {
      const { node, input, writes } = makeNode([sent], { german: true, accountProblem: 'no shop domain' });
      expect(node.statuses.at(-1)).toEqual({ fill: 'red', shape: 'ring', text: shortText('das shopify-Konto ist nicht nutzbar: no shop domain') });
      const { err } = await input(SHIPMENT);
      expect(err).toBeInstanceOf(ConnectorError);
      expect(err.message).toContain('the shopify account is not usable: no shop domain');
      expect(err.retryable).toBe(false);
      expect(writes).toHaveLength(0);
    });

    it('without a catalog (RED._ missing) the badge falls back to English, never a bare key', async () => {
      const { node } = makeNode([sent], { accountProblem: 'no shop domain' });
      expect(node.statuses.at(-1)).toMatchObject({ text: shortText('the shopify account is not usable: no shop domain') });
    });
  });
});

describe('positionLocation (channels that keep stock per location)', () => {
  const spec = { system: 'shopify', operation: 'inventorySetQuantities' };
  const pos = (locationId: string) => ({ sku: 'SKU-1', locationId });
  const refusal = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return e as ConnectorError;
    }
    throw new Error('not refused');
  };

  it('places a position through the map, or at the one location for its ERP location only', () => {
    const places = { map: new Map([['WH1', 'L1']]), own: 'L9', erpLocation: 'WH3', howToMap: 'map it' };
    expect(positionLocation(spec, places, pos('WH1'))).toBe('L1');
    expect(positionLocation(spec, places, pos('WH3'))).toBe('L9');
    const e = refusal(() => positionLocation(spec, places, pos('WH2')));
    expect(e.message).toMatch(
      /^shopify inventorySetQuantities: position of SKU 'SKU-1' at location 'WH2' refused: .*location 'L9' takes the positions of 'WH3' only.*To map it, map it$/,
    );
    expect(e.details).toMatchObject({ kind: 'value', retryable: false, providerCode: 'UnmappedLocation' });
  });

  it('a lone channel location without an ERP location takes no position; inherited property names are not locations', () => {
    expect(refusal(() => positionLocation(spec, { map: new Map(), own: 'L9', erpLocation: '', howToMap: 'x' }, pos('WH1'))).message).toMatch(
      /location 'WH1' refused: that location is not mapped to a shopify location \(/,
    );
    for (const hostile of ['__proto__', 'constructor', 'toString']) {
      expect(refusal(() => positionLocation(spec, { map: new Map([['WH1', 'L1']]), howToMap: 'x' }, pos(hostile))).message).toMatch(/refused/);
    }
  });
});
