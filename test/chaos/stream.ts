/**
 * One fault case of the suite: the e2e harness's real Mosquitto, Odoo simulator and Node-RED
 * process running the "Store sales (MQTT) → Odoo" template, a stream of till sales published
 * while the case does its damage, then the checker's verdict over what the tills sent and what
 * Odoo ended with.
 *
 * Size: CHAOS_SALES transactions per case (default 300, the reduced size `npm test` runs;
 * `npm run chaos` sets 3000). CHAOS_SETTLE_SECONDS (default 120): once Odoo has confirmed no new
 * order for that long, a sale still missing is reported lost.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { planSimulation, publishPlan, type ManifestTransaction, type RunStats, type SimulationPlan } from '../../simulators/pos-mqtt/device-simulator';
import type { OdooFaults } from '../../simulators/odoo/simulator';
import { e2eFlows, startRed, startServices, waitFor, E2E, StartRedOptions } from '../e2e/harness';
import { check, minorFromFloat, summarize, CheckReport, ErpRecord, SentDocument } from './checker';

export const CHAOS_SALES = Number(process.env.CHAOS_SALES ?? 300);
export const SETTLE_MS = Number(process.env.CHAOS_SETTLE_SECONDS ?? 120) * 1000;

export interface StreamOptions {
  /** Seed and brand of the stream (one per case, so cases never share keys). */
  name: string;
  faults?: OdooFaults;
  /** e2eFlows options (Odoo timeout, in-flight bound, Odoo concurrency). */
  flows?: Parameters<typeof e2eFlows>[0];
  /** Changes the deployed flows (e.g. the store on PostgreSQL). */
  editFlows?: (flows: any[]) => void;
  red?: StartRedOptions;
  /** Where the store keeps its tables, for the lost sales' diagnosis (default: the SQLite file in the user directory). */
  storeQuery?: (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;
  /** Publish rate, messages/s; default: the whole stream in about 8 s. */
  rate?: number;
}

export interface Stream {
  e: E2E;
  plan: SimulationPlan;
  /** What the tills sent: the warm-up sale and the stream's unique valid sales. */
  sent: ManifestTransaction[];
  /** Settles when every publish has its PUBACK from the broker. */
  publishing: Promise<RunStats>;
  /** Orders Odoo holds (any state) beside the warm-up sale's. */
  inErp(): number;
  /** Unique valid sales the tills publish in this stream. */
  expected: number;
  /** Lines for the case's report (printed at the end). */
  notes: string[];
  storeQuery?: StreamOptions['storeQuery'];
  red?: StartRedOptions;
  /** Inbox entries still pending when the case was judged (set by finish). */
  unfinished?: number;
}

export async function startStream(o: StreamOptions): Promise<Stream> {
  const e = await startServices(o.faults);
  const flows = e2eFlows({ maxInFlight: 500, ...o.flows });
  o.editFlows?.(flows);
  await startRed(e, flows, o.red);
  // A broker keeps messages only for subscriptions it already has: until Node-RED's first session
  // has subscribed (its store opened, the credentials deployed), a till's sale would be dropped
  // for nobody, which is no fault of the product. One sale through the whole path first.
  const warmup = planSimulation({
    brokerUrl: e.broker.url,
    brand: `${o.name}-warmup`,
    storeIds: ['WARMUP-001'],
    tills: 1,
    count: 1,
    returnRate: 0,
    close: false,
    seed: o.name,
  });
  const key = warmup.manifest.valid[0].key;
  for (let attempt = 0; !e.odoo.orders().some((x) => x.client_order_ref === key); attempt++) {
    if (attempt === 60) throw new Error('the warm-up sale never reached Odoo: the flow is not running');
    await publishPlan(warmup);
    await waitFor(
      () => e.odoo.orders().some((x) => x.client_order_ref === key),
      2000,
      () => '',
    ).catch(() => undefined);
  }
  const plan = planSimulation({
    brokerUrl: e.broker.url,
    brand: o.name,
    stores: 20,
    tills: 2,
    count: CHAOS_SALES,
    duplicateRate: 0.02,
    malformedRate: 0.005,
    keepPayloads: false,
    seed: o.name,
    close: false,
    rate: o.rate ?? Math.max(20, Math.round(CHAOS_SALES / 8)),
  });
  const publishing = publishPlan(plan);
  publishing.catch(() => undefined); // awaited in finish(); a failure there is reported, not unhandled
  const sent = [...warmup.manifest.valid, ...plan.manifest.valid];
  return {
    e,
    plan,
    sent,
    publishing,
    inErp: () => e.odoo.orders().length - 1,
    expected: plan.manifest.valid.length,
    notes: [],
    storeQuery: o.storeQuery,
    red: o.red,
  };
}

/** Waits until Odoo holds `fraction` of the stream's sales (the moment a case strikes). */
export async function reach(s: Stream, fraction: number): Promise<void> {
  const target = Math.ceil(s.expected * fraction);
  await waitFor(
    () => s.inErp() >= target,
    5 * 60_000,
    () => `Odoo holds ${s.inErp()} of the ${target} orders awaited`,
  );
}

export function tillSent(s: Stream): SentDocument[] {
  const currency = s.plan.manifest.currency;
  return s.sent.map((t) => ({ key: t.key, amount: t.grandTotal, currency, source: 'till' }));
}

export function odooRecords(s: Stream): ErpRecord[] {
  return s.e.odoo.orders().map((o) => ({
    key: String(o.client_order_ref),
    name: o.name,
    amount: minorFromFloat(o.amount_total, o.currency),
    currency: o.currency,
    state: o.state,
  }));
}

/**
 * Waits for the last publish, then for Odoo to hold every sale (while it keeps moving; see below,
 * the checker reports what is missing), and returns the checker's report, its summary in `notes`.
 */
export async function finish(s: Stream): Promise<CheckReport> {
  const run = await s.publishing;
  s.notes.push(`published ${run.published} messages (${run.acked} acknowledged by the broker, ${run.failed} failed) in ${(run.elapsedMs / 1000).toFixed(1)} s`);
  if (run.failed) s.notes.push(...run.errors.map((e) => `  publish error: ${e}`));
  const keys = new Set(s.sent.map((t) => t.key));
  // every sale in Odoo and confirmed (an order still in draft is work in progress, not yet a verdict)
  const allThere = () => {
    const confirmed = new Set(
      s.e.odoo
        .orders()
        .filter((o) => o.state === 'sale')
        .map((o) => String(o.client_order_ref)),
    );
    for (const k of keys) if (!confirmed.has(k)) return false;
    return true;
  };
  // Judged when every sale is there, or when Odoo has made no progress for SETTLE_MS (a slow ERP
  // may take long, but a sale still missing once nothing moves any more is lost), at most an hour.
  const t0 = Date.now();
  let seen = -1;
  let movedAt = Date.now();
  const settled = () => {
    if (allThere()) return true;
    const now = s.e.odoo.orders().filter((o) => o.state === 'sale').length;
    if (now !== seen) {
      seen = now;
      movedAt = Date.now();
    }
    return Date.now() - movedAt >= SETTLE_MS;
  };
  await waitFor(settled, 60 * 60_000, () => 'settle').catch(() => undefined);
  s.notes.push(`settled ${((Date.now() - t0) / 1000).toFixed(1)} s after the last publish`);
  // the simulator's order ids are sequential: no new order for a moment means the flow is quiet
  await quiet(s);
  const report = check(tillSent(s), odooRecords(s), { expectedState: 'sale' });
  s.notes.push(summarize(report));
  const query = s.storeQuery ?? sqliteQuery(s);
  // evidence that a stop or redeploy really interrupted work: entries the input node emitted again
  const again = await query('SELECT count(*) AS n FROM tw_inbox WHERE attempts > 0', []).catch(() => [{ n: '?' }]);
  s.notes.push(`inbox entries emitted again after a restart or redeploy: ${again[0]?.n}`);
  // every received sale should be finished (in Odoo or parked as a dead letter): one left open
  // holds a place in the input node's in-flight window until a restart. An entry whose processing
  // failed during an outage is retried after a back-off (doubling, at most the inbox's sweep
  // interval, 20 s): Odoo may be quiet already (its sale went in before), so it gets that long to
  // finish; one still open after it is stuck.
  const openUntil = Date.now() + 60_000;
  while ((await unfinishedEntries(s).catch(() => -1)) > 0 && Date.now() < openUntil) await new Promise((r) => setTimeout(r, 500));
  s.unfinished = await unfinishedEntries(s).catch(() => -1);
  s.notes.push(`inbox entries left unfinished: ${s.unfinished}`);
  if (report.lost.length) {
    const lost = report.lost.map((d) => d.key);
    s.notes.push(...(await whereabouts(s, lost)));
    s.notes.push(...(await afterRestart(s, lost)));
  }
  return report;
}

/**
 * Diagnosis only (the verdict is already taken): restarts Node-RED and says which lost sales arrive
 * then. Those were held back (unfinished inbox entry, unacknowledged in the broker), not destroyed.
 */
async function afterRestart(s: Stream, lost: string[]): Promise<string[]> {
  await s.e.red!.terminate('SIGTERM');
  await startRed(s.e, undefined, s.red);
  const arrived = () => {
    const have = new Set(
      s.e.odoo
        .orders()
        .filter((o) => o.state === 'sale')
        .map((o) => String(o.client_order_ref)),
    );
    return lost.filter((k) => have.has(k));
  };
  await waitFor(
    () => arrived().length === lost.length,
    60_000,
    () => '',
  ).catch(() => undefined);
  const late = arrived();
  return [
    `  after a Node-RED restart (diagnosis only), ${late.length} of the ${lost.length} lost sales arrived${late.length ? `: ${late.slice(0, 10).join(', ')}` : ''}`,
  ];
}

/** For sales the ERP never got: their inbox entries and register rows, and what Node-RED logged. */
async function whereabouts(s: Stream, keys: string[]): Promise<string[]> {
  const query = s.storeQuery ?? sqliteQuery(s);
  const lines = ["  where the lost sales stopped (the store's inbox and register):"];
  try {
    for (const key of keys.slice(0, 10)) {
      const inbox = await query('SELECT id, state, attempts FROM tw_inbox WHERE event_id = ?', [key]);
      const reg = await query('SELECT reg_key FROM tw_register WHERE reg_key = ?', [key]);
      lines.push(
        `    ${key}: inbox ${inbox.length ? inbox.map((r) => `#${r.id} ${r.state} (attempts ${r.attempts})`).join(', ') : 'none'}, register ${reg.length ? 'yes' : 'no'}`,
      );
    }
  } catch (err) {
    lines.push(`    (store not readable: ${(err as Error).message})`);
  }
  // the errors each node logged (a failed step leaves its message unfinished), grouped by node and text
  const errors = new Map<string, number>();
  for (const l of (s.e.red?.output() ?? '').split('\n')) {
    const m = /\[error\] (\[[^\]]+\]) (.*)$/.exec(l);
    if (!m) continue;
    const what = `${m[1]} ${m[2].replace(/127\.0\.0\.1:\d+/g, '<db>').slice(0, 160)}`;
    errors.set(what, (errors.get(what) ?? 0) + 1);
  }
  lines.push(`  errors Node-RED logged since its last start, by node: ${errors.size ? '' : 'none'}`);
  lines.push(...[...errors].map(([what, n]) => `    ${n} × ${what}`));
  return lines;
}

/** Inbox entries received but not finished (pending), read from the store beside the running Node-RED. */
export async function unfinishedEntries(s: Stream): Promise<number> {
  const rows = await (s.storeQuery ?? sqliteQuery(s))("SELECT count(*) AS n FROM tw_inbox WHERE state = 'pending'", []);
  return Number(rows[0]?.n ?? 0);
}

/** Queries the SQLite store file read-only (safe beside a running Node-RED: the store is in WAL mode). */
function sqliteQuery(s: Stream) {
  return async (sql: string, params: unknown[]) => {
    const db = new Database(path.join(s.e.userDir!, 'tillwire.db'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare(sql).all(...params) as Record<string, unknown>[];
    } finally {
      db.close();
    }
  };
}

/** Waits (bounded) until Odoo has taken no new order for 3 s, so a late duplicate is counted too. */
async function quiet(s: Stream): Promise<void> {
  let last = s.inErp();
  let since = Date.now();
  await waitFor(
    () => {
      const now = s.inErp();
      if (now !== last) {
        last = now;
        since = Date.now();
      }
      return Date.now() - since >= 3000;
    },
    60_000,
    () => 'Odoo still taking orders',
  ).catch(() => undefined);
}

export async function stopStream(s: Stream | undefined): Promise<void> {
  if (!s) return;
  await s.publishing.catch(() => undefined);
  await s.e.red?.stop();
  await s.e.odoo.stop();
  await s.e.broker.stop();
}

/** The case's lines, printed so a run's log shows each verdict (also when it passes). */
export function printNotes(title: string, s: Stream | undefined): void {
  if (s) process.stdout.write(`\n[chaos] ${title}\n${s.notes.map((l) => `  ${l}`).join('\n')}\n`);
}
