/**
 * `npm run bench -- sales [--profile]`: store sales from till publish to the ERP on this machine,
 * every row of issue 12's goal table from one run (bench/README.md "sales"):
 *
 *   raw      mqtt.js QoS 1 in and out of the same Mosquitto, nothing else (the broker ceiling);
 *   tillwire the "Store sales (MQTT) → Odoo" template, one Odoo order per sale, BENCH_SALES sales
 *            in one burst (default 50,000), Node-RED's RSS sampled at 20 %, 50 % and 100 % of them;
 *   peer     the hand-wired flow of core nodes (bench/flows.ts) against the Odoo simulator;
 *   ingest   Tillwire's till path alone: tillwire-pos-mqtt-in → tillwire-ack, no ERP, until every
 *            sale is in the store's sales register;
 *   summary  the template with the Odoo node in summarised posting mode (when this build has it);
 *   paced    the template again, sales published at half the tillwire row's rate: p50/p99 of till
 *            publish → Odoo confirmed;
 *   bc       the "Store sales (MQTT) → Business Central" template against the BC simulator;
 *   bc-peer  the hand-wired flow pointed at the BC simulator.
 *
 * Every Tillwire row checks against the simulator (and the register) that each sale arrived once
 * and only once; a row that lost or doubled a sale fails the benchmark (after the report is
 * written). `--profile` records a CPU profile of each Tillwire row's Node-RED process, cut to the
 * measured window. `BENCH_SALES_ROWS=tillwire,peer` runs only the rows named (while developing).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { OdooSimulator } from '../simulators/odoo/simulator';
import { BusinessCentralSimulator } from '../simulators/business-central/simulator';
import { externalDocumentNumber } from '../nodes/business-central/map';
import { startMosquitto, RunningMosquitto } from '../test/support/mosquitto';
import { startNodeRed, freePort, deployCredentialsAndWait, RunningNodeRed, ROOT } from '../test/support/node-red-process';
import { e2eFlows, startRed, E2E } from '../test/e2e/harness';
import { percentile, publish, sales, watchConfirmations, Sale } from './common';
import { rawBroker } from './raw-broker';
import { peerFlows, bcPeerFlows } from './flows';
import {
  countText,
  heapProbe,
  HeapSummary,
  msText,
  nodeProfiler,
  profileClock,
  ProfileSummary,
  publishPaced,
  rateText,
  ratioText,
  round,
  RssCheckpoint,
  rssCheckpoints,
  untilDone,
} from './sales-measure';

const ROWS = ['raw', 'tillwire', 'peer', 'ingest', 'summary', 'paced', 'bc', 'bc-peer'] as const;
type RowId = (typeof ROWS)[number];

const API_KEY = 'tillwire-demo-key';
/** The paced row publishes this long before the sales whose latency it reports (steady state). */
const PACED_WARM_UP_MS = 3000;

export interface SalesOptions {
  root: string;
  profile: boolean;
  /** `--heap`: the heap probe in the tillwire and ingest rows' Node-RED (bench/README.md). */
  heap: boolean;
}

interface Settings {
  /** Sales in the burst rows (raw, tillwire, peer, ingest, summary). */
  n: number;
  /** Sales in the Business Central rows. */
  bc: number;
  /** How long the paced row publishes, s. */
  pacedSeconds: number;
  /** Requests Tillwire's ERP connection keeps in flight. */
  concurrency: number;
  /** The summary interval of the summarised posting row, s. */
  summarySeconds: number;
  rows: RowId[];
}

function settings(): Settings {
  const n = Number(process.env.BENCH_SALES ?? 50_000);
  const rows = (process.env.BENCH_SALES_ROWS ?? ROWS.join(','))
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const unknown = rows.filter((r) => !(ROWS as readonly string[]).includes(r));
  if (unknown.length) throw new Error(`BENCH_SALES_ROWS: unknown row ${unknown.join(', ')} (rows: ${ROWS.join(', ')})`);
  return {
    n,
    bc: Number(process.env.BENCH_SALES_BC ?? Math.min(n, 10_000)),
    pacedSeconds: Number(process.env.BENCH_PACED_SECONDS ?? 20),
    concurrency: Number(process.env.BENCH_ODOO_CONCURRENCY ?? 8),
    summarySeconds: Number(process.env.BENCH_SUMMARY_SECONDS ?? 5),
    rows: rows as RowId[],
  };
}

export interface Row {
  id: RowId;
  name: string;
  sales: number;
  seconds?: number;
  perSecond?: number;
  p50ms?: number;
  p99ms?: number;
  peakRssMiB?: number;
  rss?: RssCheckpoint[];
  /** ERP requests the simulator answered, per sale. */
  erpCallsPerSale?: number;
  /** How the row checked that nothing was lost or doubled, and what it found. */
  check?: string;
  /** Set when the row lost or doubled a sale, or did not finish. */
  failed?: string;
  /** Set when this build cannot run the row (the row is then not a failure). */
  unavailable?: string;
  note?: string;
  /**
   * The summary row: sales a second from the first publish to the last sale durably in its summary
   * (`tw_summary_sale.assigned_at`): the rate summarised posting takes sales in; what follows is
   * the interval's end and the posting.
   */
  summarisedPerSecond?: number;
  profile?: ProfileSummary;
  heap?: HeapSummary;
}

interface Ctx {
  s: Settings;
  broker: RunningMosquitto;
  profile: boolean;
  heap: boolean;
  root: string;
}

/** The Node-RED process's peak RSS (VmHWM), MiB, while it runs. */
function peakRss(pid: number): number {
  const kb = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  return round(kb / 1024);
}

/**
 * The moment (performance.now()) of the last entry of `at` and the latencies from `sentAt`; with
 * `fromMs`, the latencies of the sales published that long after `start` or later only.
 */
function timing(list: Sale[], at: Map<string, number>, sentAt: Map<string, number>, start: number, fromMs = 0) {
  const end = Math.max(...list.map((s) => at.get(s.key) ?? -Infinity));
  const latencies = list.filter((s) => at.has(s.key) && sentAt.get(s.key)! - start >= fromMs).map((s) => at.get(s.key)! - sentAt.get(s.key)!);
  const seconds = (end - start) / 1000;
  return {
    seconds: round(seconds, 2),
    perSecond: round(list.length / seconds),
    p50ms: round(percentile(latencies, 50)),
    p99ms: round(percentile(latencies, 99)),
  };
}

/** Each sale exactly once among `refs` (the ERP documents' idempotency keys): a verdict, or a failure. */
function exactlyOnce(what: string, list: Sale[], refs: string[], refOf: (s: Sale) => string = (s) => s.key): { check: string; failed?: string } {
  const count = new Map<string, number>();
  for (const r of refs) count.set(r, (count.get(r) ?? 0) + 1);
  const missing = list.filter((s) => !count.has(refOf(s))).length;
  const doubled = [...count.values()].filter((c) => c > 1).length;
  const expected = new Set(list.map(refOf));
  const strangers = [...count.keys()].filter((r) => !expected.has(r)).length;
  const check = `${countText(list.length - missing)} of ${countText(list.length)} sales in ${what}, ${doubled} more than once, ${strangers} unknown`;
  return missing || doubled || strangers ? { check, failed: check } : { check };
}

/** Odoo's order-per-sale rows: every sale one confirmed order, once. */
function odooOnce(list: Sale[], odoo: OdooSimulator): { check: string; failed?: string } {
  const orders = odoo.orders();
  const verdict = exactlyOnce(
    'confirmed Odoo orders',
    list,
    orders.filter((o) => o.state === 'sale').map((o) => String(o.client_order_ref)),
  );
  const others = orders.filter((o) => o.state !== 'sale').length;
  if (!others) return verdict;
  const check = `${verdict.check}; ${others} orders not confirmed`;
  return { check, failed: check };
}

/** Requests a sale, to two significant digits below 1 (summarised posting makes a few hundred for 50,000 sales: not 0). */
function erpCalls(requests: number, n: number): number {
  const perSale = requests / n;
  return perSale > 0 && perSale < 1 ? Number(perSale.toPrecision(2)) : round(perSale, 2);
}

// ---- rows --------------------------------------------------------------------------------------

async function rawRow(ctx: Ctx): Promise<Row> {
  const raw = await rawBroker(ctx.broker.url, sales(ctx.s.n, 'raw'));
  return { id: 'raw', name: 'raw broker (mqtt.js QoS 1 through Mosquitto)', sales: ctx.s.n, seconds: round(raw.seconds, 2), perSecond: round(raw.perSecond) };
}

/**
 * The Odoo template with `n` sales published as fast as the broker takes them (`pace` undefined)
 * or at `pace` a second; RSS checkpoints at 20 %, 50 % and 100 % of the confirmations.
 */
async function odooTemplateRow(ctx: Ctx, id: RowId, name: string, list: Sale[], pace?: number): Promise<Row> {
  const watch = watchConfirmations();
  const odoo = new OdooSimulator();
  const e: E2E = { broker: ctx.broker, odoo, odooUrl: await odoo.start() };
  const prof = nodeProfiler(ctx.profile, ctx.root);
  const checkpoints = [0.2, 0.5, 1].map((f) => Math.round(f * list.length));
  const heap = heapProbe(ctx.heap && !pace, ctx.root, checkpoints);
  let red: RunningNodeRed | undefined;
  const row: Row = { id, name, sales: list.length };
  try {
    red = await startRed(e, e2eFlows({ odooConcurrency: ctx.s.concurrency }), { nodeArgs: [...prof.args, ...heap.args] });
    const requestsBefore = odoo.stats.requests;
    const pid = red.pid;
    const rss = rssCheckpoints(
      pid,
      checkpoints,
      () => watch.at.size,
      (n) => heap.at(pid, n),
    );
    const sentAt = new Map<string, number>();
    const from = profileClock();
    const start = performance.now();
    const published = pace ? publishPaced(ctx.broker.url, list, sentAt, pace) : publish(ctx.broker.url, list, sentAt, 500, 5);
    await published;
    const done = await untilDone(() => watch.at.size, list.length);
    const to = profileClock();
    row.rss = rss.stop();
    row.peakRssMiB = peakRss(red.pid);
    row.heap = await heap.summarise();
    Object.assign(row, timing(list, watch.at, sentAt, start, pace ? PACED_WARM_UP_MS : 0));
    row.erpCallsPerSale = erpCalls(odoo.stats.requests - requestsBefore, list.length);
    Object.assign(row, odooOnce(list, odoo));
    if (!done) row.failed = `stalled: ${row.check}`;
    if (pace) {
      const whole = timing(list, watch.at, sentAt, start);
      row.note = `published at ${rateText(pace)} sales/s; p50/p99 of the sales published after the first ${PACED_WARM_UP_MS / 1000} s (the start: the first sale of each of the 800 tills, JIT, the ERP's product look-ups); with those: p50 ${msText(whole.p50ms)} ms, p99 ${msText(whole.p99ms)} ms`;
    }
    await red.stop();
    red = undefined;
    row.profile = prof.summarise({ from, to });
  } finally {
    watch.stop();
    await red?.stop();
    await odoo.stop();
  }
  return row;
}

async function peerRow(ctx: Ctx, id: 'peer' | 'bc-peer', list: Sale[]): Promise<Row> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-peer-'));
  const dbFile = path.join(dir, 'peer.db');
  const db = new Database(dbFile);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE IF NOT EXISTS seen (k TEXT PRIMARY KEY)');
  db.close();
  const row: Row = { id, name: '', sales: list.length };
  const sentAt = new Map<string, number>();
  try {
    if (id === 'peer') {
      const watch = watchConfirmations();
      const odoo = new OdooSimulator({ apiKey: API_KEY });
      const odooUrl = await odoo.start();
      let red: RunningNodeRed | undefined;
      try {
        red = await startNodeRed({
          via: 'red',
          flows: peerFlows(ctx.broker.port, odooUrl, dbFile, API_KEY),
          port: await freePort(),
          env: { TILLWIRE_LOG_LEVEL: 'warn' },
          // A user's own Node-RED: the node binary's defaults, not the heap ceiling npm start sets.
          plainNode: true,
        });
        await peerReady(red);
        const before = odoo.stats.requests;
        const start = performance.now();
        await publish(ctx.broker.url, list, sentAt, 500, 5);
        const done = await untilDone(() => watch.at.size, list.length);
        Object.assign(row, timing(list, watch.at, sentAt, start));
        row.name = 'hand-wired peer (core nodes + node-red-node-sqlite) → Odoo';
        row.peakRssMiB = peakRss(red.pid);
        row.erpCallsPerSale = erpCalls(odoo.stats.requests - before, list.length);
        // The peer is not held to exactly once (it acknowledges on receipt); its count is shown.
        row.check = exactlyOnce(
          'confirmed Odoo orders',
          list,
          odoo.orders().map((o) => String(o.client_order_ref)),
        ).check;
        if (!done) row.failed = `stalled: ${row.check}`;
      } finally {
        watch.stop();
        await red?.stop();
        await odoo.stop();
      }
    } else {
      const bc = await startBc();
      const watch = watchBcOrders();
      let red: RunningNodeRed | undefined;
      try {
        red = await startNodeRed({
          via: 'red',
          flows: bcPeerFlows(ctx.broker.port, bc.sim.companyUrl, dbFile, bc.sim.token),
          port: await freePort(),
          env: { TILLWIRE_LOG_LEVEL: 'warn' },
          // A user's own Node-RED: the node binary's defaults, not the heap ceiling npm start sets.
          plainNode: true,
        });
        await peerReady(red);
        const before = bc.requests();
        const start = performance.now();
        await publish(ctx.broker.url, list, sentAt, 500, 5);
        const done = await untilDone(() => watch.at.size, list.length);
        Object.assign(row, timing(list, bcByKey(list, watch.at), sentAt, start));
        row.name = 'hand-wired peer (core nodes + node-red-node-sqlite) → Business Central';
        row.peakRssMiB = peakRss(red.pid);
        row.erpCallsPerSale = erpCalls(bc.requests() - before, list.length);
        row.check = bcOnce(list, bc.sim).check;
        if (!done) row.failed = `stalled: ${row.check}`;
      } finally {
        watch.stop();
        await red?.stop();
        await bc.sim.close();
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return row;
}

async function peerReady(red: RunningNodeRed): Promise<void> {
  const ready = () =>
    fetch(`${red.url}/peer/ready`)
      .then((r) => r.json())
      .then(
        (b: any) => b.ready === true,
        () => false,
      );
  const ok = await untilDoneAsync(ready, 30_000);
  if (!ok) throw new Error('the peer flow did not get ready (log in, products) within 30 s');
}

async function untilDoneAsync(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

/**
 * The template's till path alone: tillwire-pos-mqtt-in (with the template's store and the load
 * tuning of the e2e harness) wired straight to tillwire-ack. Done when the store's sales register
 * (read-only from the SQLite file) holds every sale; the end is the last register entry's own
 * `recorded_at`, so the polling interval does not count.
 */
async function ingestRow(ctx: Ctx): Promise<Row> {
  const list = sales(ctx.s.n, 'ingest');
  const flows = e2eFlows({ odooConcurrency: ctx.s.concurrency }).filter((n) =>
    ['tab', 'tillwire-store', 'tillwire-mqtt-broker', 'tillwire-pos-mqtt-in', 'tillwire-ack'].includes(n.type),
  );
  const pos = flows.find((n) => n.type === 'tillwire-pos-mqtt-in');
  const ack = flows.find((n) => n.type === 'tillwire-ack');
  pos.wires = [[ack.id], [], []];
  ack.wires = [[]];
  const odoo = new OdooSimulator();
  const e: E2E = { broker: ctx.broker, odoo, odooUrl: await odoo.start() };
  const prof = nodeProfiler(ctx.profile, ctx.root);
  const checkpoints = [0.2, 0.5, 1].map((f) => Math.round(f * list.length));
  const heap = heapProbe(ctx.heap, ctx.root, checkpoints);
  let red: RunningNodeRed | undefined;
  const row: Row = { id: 'ingest', name: 'Tillwire ingest alone (pos-mqtt-in → ack: durable inbox, validated, registered)', sales: list.length };
  let db: Database.Database | undefined;
  try {
    red = await startRed(e, flows, { nodeArgs: [...prof.args, ...heap.args] });
    const dbFile = path.join(red.userDir, 'tillwire.db');
    const count = () => {
      if (!db) {
        if (!fs.existsSync(dbFile)) return 0;
        db = new Database(dbFile, { readonly: true, fileMustExist: true });
      }
      return (db.prepare('SELECT count(*) AS n FROM tw_register').get() as { n: number }).n;
    };
    const pid = red.pid;
    const rss = rssCheckpoints(pid, checkpoints, count, (n) => heap.at(pid, n));
    const from = profileClock();
    const startMs = Date.now();
    await publish(ctx.broker.url, list, new Map(), 500, 5);
    const done = await untilDone(count, list.length, 90_000, 25);
    const to = profileClock();
    row.rss = rss.stop();
    row.peakRssMiB = peakRss(red.pid);
    row.heap = await heap.summarise();
    const regs = db!.prepare('SELECT reg_key AS k, recorded_at AS at FROM tw_register').all() as Array<{ k: string; at: number }>;
    const seconds = (Math.max(...regs.map((r) => r.at)) - startMs) / 1000;
    row.seconds = round(seconds, 2);
    row.perSecond = round(list.length / seconds);
    Object.assign(
      row,
      exactlyOnce(
        'the sales register',
        list,
        regs.map((r) => r.k),
      ),
    );
    if (!done) row.failed = `stalled: ${row.check}`;
    db!.close();
    db = undefined;
    await red.stop();
    red = undefined;
    row.profile = prof.summarise({ from, to });
  } finally {
    db?.close();
    await red?.stop();
    await odoo.stop();
  }
  return row;
}

/** Whether this build's Odoo node has summarised posting (its editor defaults name `posting`). */
function summaryAvailable(root: string): boolean {
  const html = fs.readFileSync(path.join(root, 'dist', 'nodes', 'odoo', 'odoo.html'), 'utf8');
  const defaults = /defaults:\s*\{([\s\S]*?)\n\s*\},/.exec(html)?.[1] ?? '';
  return /\bposting\s*:/.test(defaults);
}

const cents = (amount: number) => Math.round(amount * 100);

/**
 * The template with the Odoo node in summarised posting mode (`posting: "summary"`). Done when
 * the confirmed summary orders (client_order_ref `summary:…`) add up to the published sales'
 * grand totals; zero loss: exactly that sum, each sale once in the register.
 */
async function summaryRow(ctx: Ctx): Promise<Row> {
  const list = sales(ctx.s.n, 'summary');
  const row: Row = { id: 'summary', name: `Tillwire summarised posting (Odoo, one order per store, day and ${ctx.s.summarySeconds} s)`, sales: list.length };
  if (!summaryAvailable(ctx.root)) {
    row.unavailable = 'not available in this build (the Odoo node has no `posting` property)';
    return row;
  }
  const expected = list.reduce((sum, s) => sum + (JSON.parse(s.payload.toString('utf8')).totals.grandTotal.amount as number), 0);
  const flows = e2eFlows({ odooConcurrency: ctx.s.concurrency });
  const node = flows.find((n) => n.type === 'tillwire-odoo');
  node.posting = 'summary';
  node.summarySeconds = ctx.s.summarySeconds;
  const odoo = new OdooSimulator();
  const e: E2E = { broker: ctx.broker, odoo, odooUrl: await odoo.start() };
  const prof = nodeProfiler(ctx.profile, ctx.root);
  let red: RunningNodeRed | undefined;
  try {
    red = await startRed(e, flows, { nodeArgs: prof.args });
    const before = odoo.stats.requests;
    // Confirmed summary orders and their sum, read from the simulator every second.
    const posted = () => odoo.orders().filter((o) => String(o.client_order_ref).startsWith('summary:') && o.state === 'sale');
    let total = 0;
    let confirmedAt = 0;
    const from = profileClock();
    const start = performance.now();
    const startMs = Date.now();
    await publish(ctx.broker.url, list, new Map(), 500, 5);
    // Progress is each change of the confirmed sum (a stall is no change for the stall time); done
    // is the exact sum (not "at least": a summary of returns can bring a sum back down).
    let changes = 0;
    const DONE = Number.MAX_SAFE_INTEGER;
    const done = await untilDone(
      () => {
        const sum = posted().reduce((a, o) => a + cents(o.amount_total), 0);
        if (sum !== total) {
          confirmedAt = performance.now();
          changes++;
        }
        total = sum;
        return sum === expected ? DONE : changes;
      },
      DONE,
      Math.max(90_000, ctx.s.summarySeconds * 3000),
      1000,
    );
    const to = profileClock();
    row.peakRssMiB = peakRss(red.pid);
    const seconds = (confirmedAt - start) / 1000;
    row.seconds = round(seconds, 2);
    row.perSecond = round(list.length / seconds);
    row.erpCallsPerSale = erpCalls(odoo.stats.requests - before, list.length);
    const orders = posted();
    const refs = orders.map((o) => String(o.client_order_ref));
    const doubled = refs.length - new Set(refs).size;
    const dbFile = path.join(red.userDir, 'tillwire.db');
    const db = new Database(dbFile, { readonly: true, fileMustExist: true });
    const regs = (db.prepare('SELECT reg_key AS k FROM tw_register').all() as Array<{ k: string }>).map((r) => r.k);
    const lastAssigned = Number((db.prepare('SELECT MAX(assigned_at) AS at FROM tw_summary_sale').get() as { at: number }).at);
    db.close();
    const summarisedSeconds = (lastAssigned - startMs) / 1000;
    row.summarisedPerSecond = round(list.length / summarisedSeconds);
    const register = exactlyOnce('the sales register', list, regs);
    row.check = `${orders.length} confirmed summary orders (${doubled} summary keys twice) totalling ${(total / 100).toFixed(2)} of ${(expected / 100).toFixed(2)} published; ${register.check}`;
    // Read to the second: the sum is polled each second, so the time is an upper bound by up to 1 s.
    row.note = `time to the last summary confirmed (polled each second); the last sale was in its summary after ${round(summarisedSeconds, 2)} s (${rateText(row.summarisedPerSecond)} sales/s), the rest is the last interval's end (up to ${ctx.s.summarySeconds} s) and its posting`;
    if (!done || total !== expected || doubled || register.failed) row.failed = row.check;
    await red.stop();
    red = undefined;
    row.profile = prof.summarise({ from, to });
  } finally {
    await red?.stop();
    await odoo.stop();
  }
  return row;
}

// ---- Business Central ----------------------------------------------------------------------------

/** The BC simulator with its throttling lifted far above what either flow sends (neither is held back by it). */
async function startBc(): Promise<{ sim: BusinessCentralSimulator; requests: () => number }> {
  const sim = await new BusinessCentralSimulator({
    port: 0,
    throttle: { maxRequests: 1e9, maxConcurrent: 10_000, maxQueue: 100_000 },
  }).start();
  return { sim, requests: () => sim.state().requests.total };
}

/** When each BC sales order was created (by externalDocumentNumber), taken inside the simulator. */
function watchBcOrders(): { at: Map<string, number>; stop: () => void } {
  const at = new Map<string, number>();
  const proto = BusinessCentralSimulator.prototype as any;
  const original = proto.createSalesOrder;
  proto.createSalesOrder = function (this: BusinessCentralSimulator, body: Record<string, unknown>) {
    const row = original.call(this, body);
    const edn = String(row.data.externalDocumentNumber);
    if (!at.has(edn)) at.set(edn, performance.now());
    return row;
  };
  return { at, stop: () => (proto.createSalesOrder = original) };
}

/** `at` by externalDocumentNumber → by sale key (the template and the peer both write the key's BC form). */
function bcByKey(list: Sale[], at: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of list) {
    const t = at.get(externalDocumentNumber(s.key));
    if (t !== undefined) out.set(s.key, t);
  }
  return out;
}

function bcOnce(list: Sale[], sim: BusinessCentralSimulator): { check: string; failed?: string } {
  const refs = Object.entries(sim.state().orders).flatMap(([edn, docs]) => docs.map(() => edn));
  return exactlyOnce('Business Central sales orders', list, refs, (s) => externalDocumentNumber(s.key));
}

/** The BC rows publish sales only: the peer writes sales orders only, so credit memos for returns would be work on one side of the ratio. */
function bcSales(n: number, brand: string): Sale[] {
  return sales(n, brand, 0);
}

async function bcTemplateRow(ctx: Ctx): Promise<Row> {
  const list = bcSales(ctx.s.bc, 'bc');
  const template: any[] = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', 'Store sales (MQTT) → Business Central.json'), 'utf8'));
  const flows = tuneTemplate(template, 'bc-tab', ctx.s.concurrency);
  const bc = await startBc();
  const watch = watchBcOrders();
  const prof = nodeProfiler(ctx.profile, ctx.root);
  let red: RunningNodeRed | undefined;
  const row: Row = { id: 'bc', name: 'Tillwire template "Store sales (MQTT) → Business Central"', sales: list.length };
  try {
    red = await startNodeRed({
      via: 'red',
      flows,
      nodeArgs: prof.args,
      env: { TILLWIRE_MQTT_URL: ctx.broker.url, TILLWIRE_BC_URL: bc.sim.url, TILLWIRE_LOG_LEVEL: 'warn', TILLWIRE_DEMO: '0' },
    });
    const cfg = flows.find((n) => n.type === 'tillwire-bc-config');
    await deployCredentialsAndWait(red, { [cfg.id]: { token: bc.sim.token } });
    const before = bc.requests();
    const sentAt = new Map<string, number>();
    const from = profileClock();
    const start = performance.now();
    await publish(ctx.broker.url, list, sentAt, 500, 5);
    const done = await untilDone(() => watch.at.size, list.length);
    const to = profileClock();
    row.peakRssMiB = peakRss(red.pid);
    Object.assign(row, timing(list, bcByKey(list, watch.at), sentAt, start));
    row.erpCallsPerSale = erpCalls(bc.requests() - before, list.length);
    Object.assign(row, bcOnce(list, bc.sim));
    if (!done) row.failed = `stalled: ${row.check}`;
    await red.stop();
    red = undefined;
    row.profile = prof.summarise({ from, to });
  } finally {
    watch.stop();
    await red?.stop();
    await bc.sim.close();
  }
  return row;
}

/** A template on a tab of its own with the e2e harness's load tuning (MQTT 5, no rate limit, `concurrency` in flight, debug nodes off). */
function tuneTemplate(template: any[], tab: string, concurrency: number): any[] {
  const flows: any[] = [{ id: tab, type: 'tab', label: 'bench' }];
  for (const n of template) {
    const node = { ...n };
    if (!node.type.endsWith('-config') && !['tillwire-store', 'tillwire-mqtt-broker'].includes(node.type)) node.z = tab;
    if (node.type === 'tillwire-mqtt-broker') node.protocolVersion = 5;
    if (node.type === 'tillwire-bc-config') Object.assign(node, { maxConcurrent: concurrency, ratePerSecond: 0, retryBaseMs: 50, cooloffMs: 50 });
    if (node.type === 'tillwire-pos-mqtt-in') Object.assign(node, { gapGraceSeconds: 2, maxInFlight: 2000 });
    if (node.type === 'debug') node.active = false;
    flows.push(node);
  }
  return flows;
}

// ---- the scenario and its report -----------------------------------------------------------------

export async function salesBench(opts: SalesOptions): Promise<void> {
  const s = settings();
  const load = { start: os.loadavg().map((l) => round(l, 1)), end: [] as number[] };
  console.log(`[bench] sales: ${countText(s.n)} sales a burst row, ${countText(s.bc)} a BC row; rows ${s.rows.join(', ')}; load ${load.start.join(' ')}`);
  const ctx: Ctx = { s, broker: undefined as unknown as RunningMosquitto, profile: opts.profile, heap: opts.heap, root: opts.root + '/' };
  const rows: Row[] = [];
  // Each row has a Mosquitto of its own: the templates' MQTT clients keep persistent sessions under
  // a fixed client id, so a shared broker would queue every later row's sales for an earlier row's
  // session and hand them to the next Node-RED that resumes it.
  const run = async (id: RowId, f: () => Promise<Row>) => {
    if (!s.rows.includes(id)) return;
    // The rows before wrote gigabytes: their pages still waiting to be written back would stall this
    // row's own disk writes (the paced row's p99 went from 137 ms alone to 1,607 ms after the others).
    spawnSync('sync');
    const t = Date.now();
    ctx.broker = await startMosquitto();
    let row: Row;
    try {
      row = await f();
    } catch (err) {
      // A row that could not run is a failure of the run, but the other rows still report.
      row = { id, name: id, sales: 0, failed: `did not run: ${(err as Error).message.split('\n')[0]}` };
    } finally {
      await ctx.broker.stop();
    }
    rows.push(row);
    console.log(
      `[bench] ${id}: ${row.unavailable ?? `${rateText(row.perSecond)} sales/s`}${row.p99ms !== undefined ? `, p99 ${msText(row.p99ms)} ms` : ''}${row.failed ? ` FAILED: ${row.failed}` : ''} (${round((Date.now() - t) / 1000)} s)`,
    );
  };
  const started = Date.now();
  await run('raw', () => rawRow(ctx));
  await run('tillwire', () => odooTemplateRow(ctx, 'tillwire', 'Tillwire template "Store sales (MQTT) → Odoo", one order per sale', sales(s.n, 'tillwire')));
  await run('peer', () => peerRow(ctx, 'peer', sales(s.n, 'peer')));
  await run('ingest', () => ingestRow(ctx));
  await run('summary', () => summaryRow(ctx));
  await run('paced', async () => {
    const max = rows.find((r) => r.id === 'tillwire')?.perSecond;
    const pace = Number(process.env.BENCH_PACED_RATE ?? (max ? max / 2 : NaN));
    if (!Number.isFinite(pace)) throw new Error('the paced row needs the tillwire row (or BENCH_PACED_RATE)');
    const n = Math.max(200, Math.round(pace * (s.pacedSeconds + PACED_WARM_UP_MS / 1000)));
    return odooTemplateRow(ctx, 'paced', `Tillwire template (Odoo), paced at 50 % of the tillwire row`, sales(n, 'paced'), pace);
  });
  await run('bc', () => bcTemplateRow(ctx));
  await run('bc-peer', () => peerRow(ctx, 'bc-peer', bcSales(s.bc, 'bcpeer')));
  load.end = os.loadavg().map((l) => round(l, 1));
  writeReport(opts, s, rows, load, round((Date.now() - started) / 1000));
  const failed = rows.filter((r) => r.failed);
  if (failed.length) throw new Error(`sales benchmark failed: ${failed.map((r) => `${r.id}: ${r.failed}`).join('; ')}`);
}

interface Goal {
  row: string;
  measured: string;
  goal: string;
  met?: boolean;
}

function goals(rows: Row[]): Goal[] {
  const r = (id: RowId) => rows.find((x) => x.id === id && !x.unavailable && x.perSecond !== undefined);
  const ratio = (a?: Row, b?: Row) => (a && b ? a.perSecond! / b.perSecond! : undefined);
  const out: Goal[] = [];
  const tw = ratio(r('tillwire'), r('peer'));
  out.push({
    row: 'Tillwire template, one ERP order per sale, Odoo simulator / hand-wired peer',
    measured: tw === undefined ? 'not run' : `${ratioText(tw)}×`,
    goal: '≥ 3×',
    met: tw === undefined ? undefined : tw >= 3,
  });
  const ingest = ratio(r('ingest'), r('raw'));
  out.push({
    row: 'Tillwire ingest alone (till publish → durable inbox → validated → registered, no ERP) / raw QoS 1 broker',
    measured: ingest === undefined ? 'not run' : `${ratioText(ingest * 100)} %`,
    goal: '≥ 25 %',
    met: ingest === undefined ? undefined : ingest >= 0.25,
  });
  const summaryRow = rows.find((x) => x.id === 'summary');
  const summary = ratio(r('summary'), r('peer'));
  // Also the rate sales are taken into their summaries: the end-to-end time holds up to one interval of waiting.
  const intake = summaryRow?.summarisedPerSecond && r('peer') ? summaryRow.summarisedPerSecond / r('peer')!.perSecond! : undefined;
  out.push({
    row: 'Tillwire summarised posting / hand-wired peer',
    measured: summaryRow?.unavailable
      ? 'not available in this build'
      : summary === undefined
        ? 'not run'
        : `${ratioText(summary)}× to the last summary confirmed${intake === undefined ? '' : ` (${ratioText(intake)}× to the last sale in its summary)`}`,
    goal: '≥ 10×',
    met: summary === undefined ? undefined : summary >= 10,
  });
  const paced = r('paced');
  out.push({
    row: 'p99 till publish → ERP confirmed, paced at 50 % of the measured maximum',
    measured: paced ? `p99 ${msText(paced.p99ms)} ms (p50 ${msText(paced.p50ms)} ms) at ${rateText(paced.sales / paced.seconds!)} sales/s` : 'not run',
    goal: '< 250 ms',
    met: paced ? paced.p99ms! < 250 : undefined,
  });
  const burst = r('tillwire');
  out.push({
    row: `Node-RED peak RSS during a ${burst ? countText(burst.sales) : '–'}-sale burst (at ${burst?.rss?.map((c) => countText(c.sales)).join(' / ') ?? '–'} confirmed)`,
    measured: burst?.rss?.length ? `${burst.rss.map((c) => `${Math.round(c.peakMiB)}`).join(' / ')} MiB` : 'not run',
    goal: '< 300 MiB, flat as the burst grows (50,000 sales)',
    met: burst?.rss?.length ? burst.rss.every((c) => c.peakMiB < 300) && burst.sales >= 50_000 : undefined,
  });
  const bc = ratio(r('bc'), r('bc-peer'));
  out.push({
    row: 'Business Central template / the same peer against the BC simulator',
    measured: bc === undefined ? 'not run' : `${ratioText(bc)}×`,
    goal: '≥ 3×',
    met: bc === undefined ? undefined : bc >= 3,
  });
  return out;
}

function writeReport(opts: SalesOptions, s: Settings, rows: Row[], load: { start: number[]; end: number[] }, seconds: number): void {
  const date = new Date().toISOString();
  const stamp = date.replace(/[:.]/g, '-');
  const machine = { cores: os.cpus().length, model: os.cpus()[0]?.model, node: process.version };
  const goalRows = goals(rows);
  // NODE_OPTIONS reaches the Node-RED processes too (a heap size in it replaces npm start's ceiling).
  const env = Object.entries(process.env)
    .filter(([k, v]) => k.startsWith('BENCH_') || (k === 'NODE_OPTIONS' && v))
    .map(([k, v]) => `${k}=${v} `)
    .join('');
  const command = `${env}npm run bench -- sales${opts.profile ? ' --profile' : ''}${opts.heap ? ' --heap' : ''}`;
  const report = { date, command, machine, loadAverage: load, seconds, settings: s, goals: goalRows, rows };
  const dir = path.join(opts.root, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${stamp}-sales.json`), JSON.stringify(report, null, 2) + '\n');
  const met = (g: Goal) => (g.met === undefined ? '–' : g.met ? 'yes' : 'no');
  const md = [
    `# Store sales benchmark, ${date}`,
    '',
    `\`${command}\` on ${machine.cores} cores (${machine.model}), Node ${process.version}; load average ${load.start.join(', ')} at the start, ${load.end.join(', ')} at the end (1, 5, 15 min); ${Math.round(seconds / 60)} min in all. ` +
      `Burst rows ${countText(s.n)} sales, Business Central rows ${countText(s.bc)} (sales only), the paced row ${s.pacedSeconds} s of sales after ${PACED_WARM_UP_MS / 1000} s not timed; 200 stores × 4 tills; Tillwire's ERP connection keeps ${s.concurrency} requests in flight, no rate limit.`,
    '',
    '## Goals (issue 12)',
    '',
    '| row | measured | goal | met |',
    '|---|---|---|---|',
    ...goalRows.map((g) => `| ${g.row} | ${g.measured} | ${g.goal} | ${met(g)} |`),
    '',
    '## Rows',
    '',
    '| row | sales | s | sales/s | p50 ms | p99 ms | ERP calls a sale | Node-RED peak RSS MiB | exactly once |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) =>
      r.unavailable
        ? `| ${r.name} | – | – | ${r.unavailable} | – | – | – | – | – |`
        : `| ${r.name} | ${countText(r.sales)} | ${r.seconds ?? '–'} | ${rateText(r.perSecond)} | ${msText(r.p50ms)} | ${msText(r.p99ms)} | ${r.erpCallsPerSale ?? '–'} | ${r.peakRssMiB ?? '–'} | ${r.failed ? `**FAILED**: ${r.failed}` : (r.check ?? '–')}${r.note ? ` (${r.note})` : ''} |`,
    ),
    '',
    ...rows
      .filter((r) => r.rss?.length)
      .map(
        (r) =>
          `RSS of ${r.id} as it went: ${r.rss!.map((c) => `${countText(c.sales)} done: ${Math.round(c.rssMiB)} MiB (peak ${Math.round(c.peakMiB)})`).join('; ')}.`,
      ),
    '',
    ...rows.filter((r) => r.profile).flatMap((r) => profileSection(r)),
    ...rows.filter((r) => r.heap).flatMap((r) => heapSection(r)),
  ].join('\n');
  fs.writeFileSync(path.join(dir, `${stamp}-sales.md`), md);
  console.log('\n' + md);
}

function profileSection(r: Row): string[] {
  const p = r.profile!;
  return [
    `## Profile: ${r.id} (${r.name})`,
    '',
    `Node-RED's main thread was busy ${p.busySeconds} s of the ${p.windowSeconds} s measured (${p.busyPercent} %). Percentages are of the busy time.`,
    '',
    '| module | self ms | % |',
    '|---|---|---|',
    ...p.modules.slice(0, 15).map((m) => `| ${m.module} | ${Math.round(m.selfMs)} | ${m.percent} |`),
    '',
    '| function | where | self ms | % |',
    '|---|---|---|---|',
    ...p.functions.map((f) => `| \`${f.name}\` | ${f.where || '–'} | ${Math.round(f.selfMs)} | ${f.percent} |`),
    '',
  ];
}

function heapSection(r: Row): string[] {
  const h = r.heap!;
  return [
    `## Heap: ${r.id} (${r.name})`,
    '',
    `At each checkpoint (\`--heap\`), MiB: the process as it was, then after two full collections (\`gc()\`), with the kernel's split of the resident set (anonymous: JS heap, malloc, SQLite's cache; file: code and mapped files). The probe's pauses (and snapshots, BENCH_HEAP_SNAPSHOTS=1) cost time and RSS, so this run's times and peaks are not results.`,
    '',
    '| sales done | RSS | heap used | heap total | external | array buffers | after GC: RSS | heap used | heap total | external | anon | file | pause ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...h.checkpoints.map(
      (c) =>
        `| ${countText(c.sales)} | ${c.rssMiB} | ${c.heapUsedMiB} | ${c.heapTotalMiB} | ${c.externalMiB} | ${c.arrayBuffersMiB} | ${c.afterGc.rssMiB} | ${c.afterGc.heapUsedMiB} | ${c.afterGc.heapTotalMiB} | ${c.afterGc.externalMiB} | ${c.afterGc.anonMiB} | ${c.afterGc.fileMiB} | ${c.pauseMs} |`,
    ),
    '',
    ...(h.growth.length
      ? [
          'What grew in the JS heap from the first snapshot to the last (live objects only):',
          '',
          '| group | objects | KiB | objects more | KiB more |',
          '|---|---|---|---|---|',
          ...h.growth.map(
            (g) => `| \`${g.name}\` | ${countText(g.count)} | ${countText(g.bytes / 1024)} | ${countText(g.countDelta)} | ${countText(g.bytesDelta / 1024)} |`,
          ),
          '',
          ...h.retainers.flatMap((x) => [`Held (sample retainer paths of \`${x.name}\`):`, '', ...x.paths.map((p) => `- ${p}`), '']),
        ]
      : []),
  ];
}
