/**
 * The store-till input path as a retailer runs it: a real Mosquitto (config/mosquitto/tillwire.conf)
 * and a real Node-RED process started with the product's settings, running
 *   tillwire-pos-mqtt-in → (record what came out) → tillwire-ack
 * on a SQLite store in the Node-RED user directory. The test reads what a user would look at:
 * what the flow received (an HTTP read-out), the dead-letter list (the admin API the editor uses),
 * and the store file itself (inbox, sales register).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { startMosquitto, RunningMosquitto, MosquittoOptions } from '../support/mosquitto';
import { startNodeRed, RunningNodeRed, freePort } from '../support/node-red-process';

export const SALE_TEMPLATE = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/canonical/sale.json'), 'utf8'));

export function saleDoc(store: string, till: string, seq: number, saleId = `${store}-${till}-${String(seq).padStart(6, '0')}`): Record<string, any> {
  const doc = JSON.parse(JSON.stringify(SALE_TEMPLATE));
  Object.assign(doc, { storeId: store, terminalId: till, sequence: seq, saleId });
  return doc;
}

export function salesTopic(brand: string, store: string, till: string, kind: 'sales' | 'returns' | 'close' = 'sales'): string {
  return `tillwire/${brand}/stores/${store}/tills/${till}/${kind}`;
}

export interface Received {
  key: string;
  eventId: string;
  saleId?: string;
  sequence?: number;
  topic: string;
}

export interface TillRuntime {
  broker: RunningMosquitto;
  red: RunningNodeRed;
  till: mqtt.MqttClient;
  dbFile: string;
  /** What left the node's first output (sales and returns) and third output (till closes), in order. */
  received(): Promise<Received[]>;
  deadLetters(): Promise<
    Array<{ id: string; error: { message: string }; message: any; topic: string | null; status: string; attempts: number; version: number }>
  >;
  /** A call to Node-RED's admin API (where the editor's dead-letter panel and operators call). */
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  pendingInbox(): number;
  registered(): string[];
  /** Bytes the store uses on disk (database and its write-ahead log). */
  storeBytes(): number;
  publish(topic: string, payload: string | Buffer): Promise<void>;
  /** Stops Node-RED (keeping its user directory) and starts it again; `meanwhile` runs while it is down. */
  restart(meanwhile?: () => void | Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  /** Extra properties of the tillwire-pos-mqtt-in node (limits...). */
  pos?: Record<string, unknown>;
  mosquitto?: MosquittoOptions;
  /**
   * Adds a `tillwire-replay` node (id `tills-replay`) for the node's own dead letters, wired back to
   * its input, as the store-sales templates do.
   */
  replay?: boolean;
}

function flows(pos: Record<string, unknown>, replay = false): unknown[] {
  const z = 'tills-tab';
  return [
    { id: z, type: 'tab', label: 'tills' },
    { id: 'tills-store', type: 'tillwire-store', name: 'store', backend: 'sqlite', file: 'tillwire.db', schema: 'tillwire', synchronous: 'normal' },
    {
      id: 'tills-broker',
      type: 'tillwire-mqtt-broker',
      name: 'tills',
      url: '${TILLWIRE_MQTT_URL}',
      clientId: '',
      protocolVersion: 5,
      sessionExpiry: 3600,
      keepalive: 30,
      rejectUnauthorized: true,
    },
    {
      id: 'tills-in',
      type: 'tillwire-pos-mqtt-in',
      z,
      name: 'tills',
      broker: 'tills-broker',
      store: 'tills-store',
      topic: 'tillwire/+/stores/+/tills/+/+',
      shareGroup: '',
      gapGraceSeconds: 600,
      maxInFlight: 1000,
      wires: [['tills-record'], [], ['tills-record']],
      ...pos,
    },
    {
      id: 'tills-record',
      type: 'function',
      z,
      name: 'record',
      outputs: 1,
      func: "const r = global.get('received') || []; r.push({ key: msg.tillwire.idempotencyKey, eventId: msg.tillwire.eventId, saleId: msg.payload.saleId, sequence: msg.payload.sequence, topic: msg.topic }); global.set('received', r); return msg;",
      wires: [['tills-ack']],
    },
    { id: 'tills-ack', type: 'tillwire-ack', z, name: '', store: 'tills-store', wires: [[]] },
    { id: 'tills-http', type: 'http in', z, name: '', url: '/test/received', method: 'get', upload: false, wires: [['tills-read']] },
    {
      id: 'tills-read',
      type: 'function',
      z,
      name: 'read',
      func: "msg.payload = global.get('received') || []; return msg;",
      outputs: 1,
      wires: [['tills-res']],
    },
    { id: 'tills-res', type: 'http response', z, name: '', statusCode: '', headers: {}, wires: [] },
    ...(replay
      ? [
          {
            id: 'tills-replay',
            type: 'tillwire-replay',
            z,
            name: 'replay rejected till messages',
            store: 'tills-store',
            flowFilter: '',
            nodeFilter: 'tills-in',
            limit: '',
            wires: [['tills-in']],
          },
        ]
      : []),
  ];
}

async function json(url: string): Promise<any> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

function readDb<T>(file: string, read: (db: Database.Database) => T, fallback: T): T {
  if (!fs.existsSync(file)) return fallback;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } catch (err) {
    if (/no such table/.test(String(err))) return fallback;
    throw err;
  } finally {
    db.close();
  }
}

export async function startTillRuntime(opts: RuntimeOptions = {}): Promise<TillRuntime> {
  const broker = await startMosquitto(opts.mosquitto);
  const port = await freePort();
  const env = { TILLWIRE_MQTT_URL: broker.url, TILLWIRE_LOG_LEVEL: 'warn' };
  let red = await startNodeRed({ via: 'red', flows: flows(opts.pos ?? {}, opts.replay), port, env });
  const userDir = red.userDir;
  const dbFile = path.join(userDir, 'tillwire.db');
  const till = await mqtt.connectAsync(broker.url, { clientId: `till-${process.pid}-${port}`, protocolVersion: 5, reconnectPeriod: 200 });

  const rt: TillRuntime = {
    broker,
    get red() {
      return red;
    },
    till,
    dbFile,
    received: () => json(`${red.url}/test/received`),
    deadLetters: async () => (await json(`${red.url}/tillwire/dead-letters?limit=1000`)).entries,
    admin: async (method, apiPath, body) => {
      const res = await fetch(`${red.adminUrl}${apiPath}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: any = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body: parsed };
    },
    pendingInbox: () => readDb(dbFile, (db) => Number((db.prepare(`SELECT COUNT(*) AS n FROM tw_inbox WHERE state = 'pending'`).get() as any).n), 0),
    registered: () =>
      readDb(dbFile, (db) => (db.prepare('SELECT reg_key FROM tw_register ORDER BY reg_key').all() as any[]).map((r) => r.reg_key), [] as string[]),
    storeBytes: () => ['', '-wal', '-shm'].reduce((n, ext) => n + (fs.existsSync(dbFile + ext) ? fs.statSync(dbFile + ext).size : 0), 0),
    publish: async (topic, payload) => {
      await till.publishAsync(topic, payload, { qos: 1 });
    },
    restart: async (meanwhile) => {
      await red.kill();
      await meanwhile?.();
      red = await startNodeRed({ via: 'red', userDir, port, env });
      await waitUntil(
        async () =>
          await fetch(`${red.url}/test/received`).then(
            (r) => r.ok,
            () => false,
          ),
        30_000,
        'Node-RED back',
      );
    },
    stop: async () => {
      await till.endAsync().catch(() => undefined);
      await red.stop();
      await broker.stop();
    },
  };
  return rt;
}

/** Polls `check` until it holds; fails with `what` and the last value after `timeoutMs`. */
export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string | (() => Promise<string> | string)): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : await what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Waits until Node-RED's subscription is in place: a new marker sale on a store of its own is received.
 */
let markers = 0;
export async function ready(rt: TillRuntime, brand: string): Promise<void> {
  const n = ++markers;
  const doc = saleDoc('READY', 'T0', n);
  await waitUntil(
    async () => {
      await rt.publish(salesTopic(brand, 'READY', 'T0'), JSON.stringify(doc));
      return (await rt.received()).some((r) => r.saleId === doc.saleId);
    },
    30_000,
    'the subscription of tillwire-pos-mqtt-in',
  );
}

/**
 * One till runtime for a test file: started (and its subscription awaited) before the file's tests,
 * stopped after them. The returned object stands for the running one.
 */
export function tillRuntimeForFile(brand: string, opts: RuntimeOptions = {}): TillRuntime {
  let running: TillRuntime | undefined;
  beforeAll(async () => {
    running = await startTillRuntime(opts);
    await ready(running, brand);
  });
  afterAll(async () => {
    await running?.stop();
  });
  return new Proxy({} as TillRuntime, {
    get(_target, prop) {
      if (!running) throw new Error('the till runtime is not started (use it inside a test)');
      const value = (running as any)[prop];
      return typeof value === 'function' ? value.bind(running) : value;
    },
  });
}
