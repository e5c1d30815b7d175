/**
 * Issue 8, finding 7, on the real runtime: a Node-RED process (started as `npm start` starts it)
 * runs store tills (durable inbox) → dedupe (confirm on complete) → a slow ERP call → inbox done.
 * It is killed with SIGKILL while the ERP call is open. After a restart the inbox emits the sale
 * again; its dedupe claim belongs to the killed process, so it must not hold the sale back.
 * On a SQLite file, and on PostgreSQL where the second instance has a user directory of its own.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { startMosquitto, RunningMosquitto } from '../support/mosquitto';
import { freePort, startNodeRed, RunningNodeRed, deployCredentialsAndWait } from '../support/node-red-process';
import { Client } from 'pg';
import { POSTGRES_URL, uniqueName } from '../support/services';
import { e2eFlows, E2E, odooRefs, startRed, startServices } from '../e2e/harness';

jest.setTimeout(180_000);

const template = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/canonical/sale.json'), 'utf8'));

/** An ERP that records every call; while `hold` is set it never answers (a call in progress). */
class SlowErp {
  readonly calls: string[] = [];
  hold = true;
  private readonly open = new Set<http.ServerResponse>();
  private server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      this.calls.push(JSON.parse(body).saleId);
      if (this.hold) {
        this.open.add(res);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  url = '';
  async start(): Promise<void> {
    const port = await freePort();
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${port}/orders`;
  }
  async stop(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

type Backend = { backend: 'sqlite' } | { backend: 'postgres'; schema: string };

function flows(brokerUrl: string, erpUrl: string, brand: string, store: Backend) {
  const z = 'crash-tab';
  return [
    { id: z, type: 'tab', label: 'crash' },
    store.backend === 'sqlite'
      ? { id: 'crash-store', type: 'tillwire-store', name: 'store', backend: 'sqlite', file: 'tillwire.db' }
      : { id: 'crash-store', type: 'tillwire-store', name: 'store', backend: 'postgres', schema: store.schema },
    { id: 'crash-broker', type: 'tillwire-mqtt-broker', url: brokerUrl, clientId: uniqueName('tw'), protocolVersion: 5, sessionExpiry: 300 },
    {
      id: 'crash-tills',
      type: 'tillwire-pos-mqtt-in',
      z,
      broker: 'crash-broker',
      store: 'crash-store',
      topic: `tillwire/${brand}/stores/+/tills/+/+`,
      gapGraceSeconds: 60,
      maxInFlight: 100,
      wires: [['crash-dedupe'], [], []],
    },
    {
      id: 'crash-dedupe',
      type: 'tillwire-dedupe',
      z,
      store: 'crash-store',
      key: 'tillwire.idempotencyKey',
      keyType: 'msg',
      scope: '',
      confirm: 'complete',
      duplicates: 'output',
      outputs: 2,
      waitSeconds: 120,
      retentionHours: 168,
      wires: [['crash-erp'], ['crash-dup-done']],
    },
    {
      id: 'crash-erp',
      type: 'http request',
      z,
      name: 'slow ERP',
      method: 'POST',
      ret: 'obj',
      paytoqs: 'ignore',
      url: erpUrl,
      tls: '',
      persist: false,
      proxy: '',
      insecureHTTPParser: false,
      authType: '',
      senderr: true,
      headers: [],
      wires: [['crash-ack']],
    },
    { id: 'crash-ack', type: 'tillwire-ack', z, store: 'crash-store', wires: [[]] },
    { id: 'crash-dup-done', type: 'tillwire-ack', z, name: 'duplicates', store: 'crash-store', wires: [[]] },
    { id: 'crash-complete', type: 'complete', z, scope: ['crash-erp'], uncaught: false, wires: [['crash-dedupe']] },
    { id: 'crash-catch', type: 'catch', z, scope: ['crash-erp'], uncaught: false, wires: [['crash-dedupe']] },
  ];
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, describe: () => string | Promise<string>): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms: ${await describe()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The states of the inbox entries, oldest first, read beside the running Node-RED. */
async function inboxStates(where: { userDir: string; store?: Backend }): Promise<string[]> {
  if (where.store?.backend === 'postgres') {
    const c = new Client({ connectionString: POSTGRES_URL });
    await c.connect();
    try {
      return (await c.query(`SELECT state FROM "${where.store.schema}".tw_inbox ORDER BY id`)).rows.map((r) => r.state);
    } finally {
      await c.end();
    }
  }
  const db = new Database(path.join(where.userDir, 'tillwire.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(`SELECT state FROM tw_inbox ORDER BY id`).all() as { state: string }[]).map((r) => r.state);
  } finally {
    db.close();
  }
}

const backends: Array<[string, () => Backend]> = [
  ['SQLite', () => ({ backend: 'sqlite' })],
  ['PostgreSQL', () => ({ backend: 'postgres', schema: uniqueName('tw_crash') })],
];

describe.each(backends)('dedupe across a crash (real Node-RED, real Mosquitto, store on %s)', (_name, backend) => {
  let broker: RunningMosquitto;
  let erp: SlowErp;
  let till: mqtt.MqttClient;
  let store: Backend;
  const running: RunningNodeRed[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    till = await mqtt.connectAsync(broker.url, { clientId: uniqueName('till'), protocolVersion: 5 });
  });
  afterAll(async () => {
    await till?.endAsync();
    await broker?.stop();
  });
  beforeEach(async () => {
    store = backend();
    erp = new SlowErp();
    await erp.start();
  });
  afterEach(async () => {
    for (const red of running.splice(0)) await red.kill();
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    await erp.stop();
    if (store.backend === 'postgres') {
      const c = new Client({ connectionString: POSTGRES_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${store.schema}" CASCADE`);
      await c.end();
    }
  });

  async function killMidCall(brand: string): Promise<{ userDir: string; port: number; saleId: string }> {
    const port = await freePort();
    const red = await startNodeRed({ via: 'red', flows: flows(broker.url, erp.url, brand, store), port, env: { TILLWIRE_LOG_LEVEL: 'warn' } });
    running.push(red);
    dirs.push(red.userDir);
    // the PostgreSQL address is a credential: entered as a user would, kept in the user directory
    if (store.backend === 'postgres') await deployCredentialsAndWait(red, { 'crash-store': { url: POSTGRES_URL } });
    const doc = { ...JSON.parse(JSON.stringify(template)), storeId: 'S1', terminalId: 'T1', sequence: 1, saleId: `T1-${brand}` };
    // The till node subscribes once its store is open; a till re-sends until then (the inbox
    // keeps one copy of a sale however often it arrives).
    const end = Date.now() + 30_000;
    while (erp.calls.length === 0) {
      if (Date.now() > end) throw new Error(`the ERP call never started:\n${red.output()}`);
      await till.publishAsync(`tillwire/${brand}/stores/S1/tills/T1/sales`, JSON.stringify(doc), { qos: 1 });
      await waitFor(
        () => erp.calls.length > 0,
        1_000,
        () => '',
      ).catch(() => undefined);
    }
    expect(erp.calls).toEqual([doc.saleId]);
    await red.kill();
    running.splice(running.indexOf(red), 1);
    expect(await inboxStates({ userDir: red.userDir, store })).toEqual(['pending']);
    return { userDir: red.userDir, port, saleId: doc.saleId };
  }

  it('restarted on the same user directory, the re-emitted sale reaches the ERP at once and its inbox entry is finished', async () => {
    const { userDir, port, saleId } = await killMidCall(uniqueName('same'));
    erp.hold = false;
    const red = await startNodeRed({ via: 'red', userDir, port, env: { TILLWIRE_LOG_LEVEL: 'warn' } });
    running.push(red);
    await waitFor(
      () => erp.calls.length === 2,
      15_000,
      () => `ERP calls ${JSON.stringify(erp.calls)}; the re-emitted sale was held back:\n${red.output()}`,
    );
    expect(erp.calls).toEqual([saleId, saleId]);
    const where = { userDir, store };
    await waitFor(
      async () => (await inboxStates(where))[0] === 'done',
      15_000,
      async () => `inbox ${JSON.stringify(await inboxStates(where))}`,
    );
  });

  it("another instance (a user directory of its own) takes over: the sale reaches the ERP once the dead process's lease has run out", async () => {
    const { userDir, saleId } = await killMidCall(uniqueName('moved'));
    const moved = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-nodered-moved-'));
    dirs.push(moved);
    fs.cpSync(userDir, moved, { recursive: true }); // same flows and credentials; on SQLite, the same data
    erp.hold = false;
    const red = await startNodeRed({ via: 'red', userDir: moved, env: { TILLWIRE_LOG_LEVEL: 'warn' } });
    running.push(red);
    // the claim's lease (30 s) after the killed process's last heartbeat, plus the waiting copy's next try
    await waitFor(
      () => erp.calls.length === 2,
      60_000,
      () => `ERP calls ${JSON.stringify(erp.calls)}; the re-emitted sale was dropped:\n${red.output()}`,
    );
    expect(erp.calls).toEqual([saleId, saleId]);
    const where = { userDir: moved, store };
    await waitFor(
      async () => (await inboxStates(where))[0] === 'done',
      15_000,
      async () => `inbox ${JSON.stringify(await inboxStates(where))}`,
    );
  });
});

/**
 * The shipped "Store sales (MQTT) → Odoo" template, dedupe included, killed while Odoo is creating
 * the order (a proxy in front of the Odoo simulator holds that call), restarted on the same user
 * directory: the sale ends as exactly one confirmed Odoo order and its inbox entry is finished.
 */
describe('the Store sales → Odoo template across a crash', () => {
  let e: E2E;
  let proxy: http.Server;
  let held: http.ServerResponse[] = [];
  let hold = true;
  let creates = 0;

  beforeAll(async () => {
    e = await startServices();
    for (const line of template.lines) e.odoo.addProduct({ sku: line.sku, stock: 100 });
    const target = new URL(e.odooUrl);
    proxy = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const isCreate = /"sale\.order"\s*,\s*"create"/.test(body.toString());
        if (isCreate) creates++;
        if (isCreate && hold) {
          held.push(res); // Odoo never sees it: the process dies while waiting
          return;
        }
        const upstream = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        upstream.on('error', () => res.destroy());
        upstream.end(body);
      });
    });
    const port = await freePort();
    await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
    e.odooUrl = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    for (const res of held) res.destroy();
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
    await e.red?.kill();
    if (e.userDir) fs.rmSync(e.userDir, { recursive: true, force: true });
    await e.odoo.stop();
    await e.broker.stop();
  });

  it('killed while Odoo creates the order: after the restart exactly one confirmed order, inbox finished', async () => {
    const red = await startRed(e, e2eFlows());
    const till = await mqtt.connectAsync(e.broker.url, { clientId: uniqueName('till'), protocolVersion: 5 });
    const doc = { ...JSON.parse(JSON.stringify(template)), storeId: 'S9', terminalId: 'T1', sequence: 1, saleId: 'T1-000001' };
    const key = `sale:S9:T1:T1-000001`;
    try {
      const end = Date.now() + 30_000;
      while (creates === 0) {
        if (Date.now() > end) throw new Error(`Odoo was never asked to create the order:\n${red.output()}`);
        await till.publishAsync(`tillwire/tpl/stores/S9/tills/T1/sales`, JSON.stringify(doc), { qos: 1 });
        await waitFor(
          () => creates > 0,
          1_000,
          () => '',
        ).catch(() => undefined);
      }
    } finally {
      await till.endAsync();
    }
    await red.kill();
    for (const res of held) res.destroy();
    held = [];
    hold = false;
    expect(odooRefs(e.odoo)).toEqual([]);
    const again = await startRed(e);
    await waitFor(
      () => odooRefs(e.odoo).length === 1,
      30_000,
      () => `Odoo orders ${JSON.stringify(odooRefs(e.odoo))}:\n${again.output()}`,
    );
    const where = { userDir: e.userDir! };
    await waitFor(
      async () => (await inboxStates(where))[0] === 'done',
      15_000,
      async () => `inbox ${JSON.stringify(await inboxStates(where))}`,
    );
    expect(odooRefs(e.odoo)).toEqual([key]);
    expect(e.odoo.records('sale.order', [['state', '=', 'sale']], ['id'])).toHaveLength(1);
  });
});
