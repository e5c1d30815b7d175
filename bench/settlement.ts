/**
 * The settlement scenario of `npm run bench` (`npm run bench -- settlement` runs it alone): an
 * Amazon V2 settlement flat file of BENCH_SETTLEMENT_LINES transaction rows (default 1,000,000;
 * bench/settlement-data.ts) and one a tenth of its size, each read in the same run by
 *   (a) csv-parse alone, with the reader's options, every record dropped (the raw parse);
 *   (b) Tillwire: read → tally → reconcile against the order index of a SQLite store holding
 *       BENCH_SETTLEMENT_ORDERS known orders (default 300,000; written once, before the runs,
 *       through the store's API) → journals (bench/settlement-row.ts).
 * Every row runs in its own process (its peak RSS is its own), BENCH_SETTLEMENT_REPEAT times
 * (default 3, raw and Tillwire alternating which goes first); the median time counts. Reports
 * Tillwire / raw time, peak RSS, and time(large) / time(small) (10× the input should cost ≤ 11×
 * the time). `--decimal-comma` writes the EU form; `--profile` adds one profiled Tillwire run of
 * the large file and lists its hottest functions. The files live in a temporary directory.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fillOrderIndex, writeSettlementFile, type OrderIndexFacts, type SettlementFileFacts } from './settlement-data';
import { ACCOUNT } from './settlement-row';
import type { RowResult } from './settlement-row';
import type { HotFunction } from './cpu-profile';

const run = promisify(execFile);

export interface SettlementBenchOptions {
  root: string;
  profile: boolean;
  decimalComma: boolean;
}

const LINES = Number(process.env.BENCH_SETTLEMENT_LINES ?? 1_000_000);
const ORDERS = Number(process.env.BENCH_SETTLEMENT_ORDERS ?? 300_000);
const REPEAT = Number(process.env.BENCH_SETTLEMENT_REPEAT ?? 3);
const SEED = 20261204;
/** The goals of the scenario (issue 10): Tillwire ≤ 1.5× the raw parse, < 300 MB peak RSS, 10× the input ≤ 11× the time. */
export const GOALS = { timeVsRaw: 1.5, peakRssMB: 300, scaling: 11 } as const;

interface SizeResult {
  lines: number;
  bytes: number;
  orders: number;
  raw: { medianMs: number; medianCpuMs: number; runsMs: number[]; peakRssMiB: number };
  tillwire: { medianMs: number; medianCpuMs: number; runsMs: number[]; peakRssMiB: number; startRssMiB: number; warmupMs: number };
  timeVsRaw: number;
  cpuVsRaw: number;
}

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const mb = (mib: number) => round((mib * 1024 * 1024) / 1e6);

async function row(which: 'csv-parse' | 'tillwire', facts: SettlementFileFacts, index: OrderIndexFacts, env: NodeJS.ProcessEnv = {}): Promise<RowResult> {
  const script = path.join(__dirname, 'settlement-row.js');
  const args = [script, which, facts.file, index.file, String(facts.reserveReleased)];
  const { stdout } = await run(process.execPath, ['--expose-gc', ...args], { env: { ...process.env, ...env }, maxBuffer: 16 << 20 });
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as RowResult;
  check(result, facts);
  return result;
}

/** A row that did not read the whole file, or read it wrong, would make the ratio meaningless. */
function check(r: RowResult, facts: SettlementFileFacts): void {
  const fail = (what: string) => {
    throw new Error(`${r.row} on ${facts.lines} lines: ${what}`);
  };
  if (r.row === 'csv-parse') {
    if (r.records !== facts.lines + 2) fail(`read ${r.records} records, the file has ${facts.lines + 2}`);
    return;
  }
  if (r.lines !== facts.lines || r.problems !== 0) fail(`read ${r.lines} lines and ${r.problems} bad rows of ${facts.lines}`);
  if (r.total !== String(facts.total)) fail(`Σ lines ${r.total}, the file's total is ${facts.total}`);
  if (r.status !== 'consistent' || r.variances?.some((v) => v.includes('(blocking)'))) fail(`reconciled ${r.status}: ${r.variances?.join('; ')}`);
  if (r.journals?.length !== 2) fail(`${r.journals?.length} journals where the settlement spans two months`);
  // The file's orders are the seed's first `facts.orders`, the store's its first ORDERS: only the rest may be unknown.
  const unknown = Math.max(0, facts.orders - ORDERS);
  if (r.matched?.notInTillwire !== unknown || !r.matched.grossDifferences) {
    fail(`the order index matched wrongly: ${JSON.stringify(r.matched)} where ${unknown} orders are unknown and some differ in gross`);
  }
}

export async function settlementBench(opts: SettlementBenchOptions): Promise<void> {
  const sizes = [Math.round(LINES / 10), LINES];
  console.log(
    `[bench settlement] ${sizes.join(' and ')} lines against ${ORDERS} known orders, ${REPEAT} runs each${opts.decimalComma ? ', decimal comma' : ''}`,
  );
  // Other work on the machine blurs wall times more than CPU times: the load is reported with them.
  const loadAtStart = os.loadavg().map((l) => round(l, 2));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-settlement-bench-'));
  const results: SizeResult[] = [];
  let sample: RowResult | undefined;
  let hot: HotFunction[] | undefined;
  let hotMs: number | undefined;
  let indexMs = 0;
  try {
    const files = sizes.map((lines) => {
      const t = performance.now();
      const facts = writeSettlementFile(path.join(dir, `settlement-${lines}.txt`), { lines, seed: SEED, decimalComma: opts.decimalComma });
      console.log(
        `[bench settlement] wrote ${lines} lines (${round(facts.bytes / 1e6)} MB, ${facts.orders} orders) in ${round((performance.now() - t) / 1000)} s`,
      );
      return facts;
    });
    const index = await fillOrderIndex(path.join(dir, 'orders.db'), SEED, ORDERS, ACCOUNT, files[0].currency);
    indexMs = index.ms;
    console.log(
      `[bench settlement] order index: ${ORDERS} orders (${index.notInErp} not in the ERP, ${index.differing} with another gross) written to SQLite in ${round(index.ms / 1000)} s`,
    );
    const runs = files.map(() => ({ raw: [] as RowResult[], tillwire: [] as RowResult[] }));
    for (let rep = 0; rep < REPEAT; rep++) {
      for (const [i, facts] of files.entries()) {
        const order = rep % 2 === 0 ? (['csv-parse', 'tillwire'] as const) : (['tillwire', 'csv-parse'] as const);
        for (const which of order) {
          const r = await row(which, facts, index);
          (which === 'csv-parse' ? runs[i].raw : runs[i].tillwire).push(r);
          console.log(
            `[bench settlement] ${facts.lines} lines, ${which}: ${round(r.ms / 1000, 2)} s (CPU ${round(r.cpuMs / 1000, 2)} s), peak RSS ${r.peakRssMiB} MiB`,
          );
        }
      }
    }
    for (const [i, facts] of files.entries()) {
      const raw = runs[i].raw;
      const tw = runs[i].tillwire;
      const rawMs = median(raw.map((r) => r.ms));
      const twMs = median(tw.map((r) => r.ms));
      results.push({
        lines: facts.lines,
        bytes: facts.bytes,
        orders: facts.orders,
        raw: {
          medianMs: round(rawMs),
          medianCpuMs: round(median(raw.map((r) => r.cpuMs))),
          runsMs: raw.map((r) => round(r.ms)),
          peakRssMiB: Math.max(...raw.map((r) => r.peakRssMiB)),
        },
        tillwire: {
          medianMs: round(twMs),
          medianCpuMs: round(median(tw.map((r) => r.cpuMs))),
          warmupMs: round(median(tw.map((r) => r.warmupMs ?? 0))),
          runsMs: tw.map((r) => round(r.ms)),
          peakRssMiB: Math.max(...tw.map((r) => r.peakRssMiB)),
          startRssMiB: Math.max(...tw.map((r) => r.startRssMiB)),
        },
        timeVsRaw: round(twMs / rawMs, 3),
        cpuVsRaw: round(median(tw.map((r) => r.cpuMs)) / median(raw.map((r) => r.cpuMs)), 3),
      });
    }
    sample = runs[runs.length - 1].tillwire[0];
    if (opts.profile) {
      const profiled = await row('tillwire', files[files.length - 1], index, { BENCH_PROFILE: '1' });
      hot = profiled.hot;
      hotMs = round(profiled.ms);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const [small, large] = results;
  const ratios = {
    timeVsRaw: large.timeVsRaw,
    timeVsRawSmall: small.timeVsRaw,
    cpuVsRaw: large.cpuVsRaw,
    cpuScaling: round(large.tillwire.medianCpuMs / small.tillwire.medianCpuMs, 2),
    peakRssMB: mb(large.tillwire.peakRssMiB),
    scaling: round(large.tillwire.medianMs / small.tillwire.medianMs, 2),
    rawScaling: round(large.raw.medianMs / small.raw.medianMs, 2),
  };
  const met = { timeVsRaw: ratios.timeVsRaw <= GOALS.timeVsRaw, peakRss: ratios.peakRssMB < GOALS.peakRssMB, scaling: ratios.scaling <= GOALS.scaling };
  const date = new Date().toISOString();
  const command = `npm run bench -- settlement${opts.decimalComma ? ' --decimal-comma' : ''}${opts.profile ? ' --profile' : ''}`;
  const report = {
    scenario: 'settlement',
    date,
    command,
    machine: { cores: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadAtStart, loadAtEnd: os.loadavg().map((l) => round(l, 2)) },
    knownOrders: ORDERS,
    matcher: 'the order index of a SQLite store (orderMatcherFor, as the reconcile node asks it), filled through the store API before the runs',
    orderIndexFillMs: round(indexMs),
    repeat: REPEAT,
    decimalComma: opts.decimalComma,
    goals: GOALS,
    results,
    ratios,
    met,
    reconciliation: sample && { orders: sample.orders, status: sample.status, variances: sample.variances, journals: sample.journals },
    profile: hot && { ms: hotMs, hot },
  };
  const stamp = date.replace(/[:.]/g, '-');
  const out = path.join(opts.root, 'bench', 'results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, `${stamp}-settlement.json`), JSON.stringify(report, null, 2) + '\n');
  const yes = (ok: boolean) => (ok ? 'met' : '**missed**');
  const md = [
    `# Settlement benchmark, ${date}`,
    '',
    `An Amazon V2 settlement flat file (${opts.decimalComma ? 'EUR, decimal comma, dates day first' : 'USD, decimal point'}) reconciled against ${ORDERS} known orders ` +
      `(the order index of a SQLite store, as the reconcile node asks it), against csv-parse reading the same file with the same options and nothing else. Each row in its own process, ` +
      `${REPEAT} runs each, median time; ${report.machine.cores} cores (${report.machine.model}), Node ${process.version}; load average (1, 5, 15 min) ` +
      `${loadAtStart.join(', ')} at the start, ${report.machine.loadAtEnd.join(', ')} at the end. Command: \`${command}\`.`,
    '',
    '| lines | file MB | orders in file | csv-parse s (CPU s) | Tillwire s (CPU s) | Tillwire / csv-parse (CPU) | csv-parse peak RSS MiB | Tillwire peak RSS MiB (at start) |',
    '|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.lines} | ${round(r.bytes / 1e6)} | ${r.orders} | ${round(r.raw.medianMs / 1000, 2)} (${round(r.raw.medianCpuMs / 1000, 2)}) | ` +
        `${round(r.tillwire.medianMs / 1000, 2)} (${round(r.tillwire.medianCpuMs / 1000, 2)}) | ${r.timeVsRaw} (${r.cpuVsRaw}) | ` +
        `${r.raw.peakRssMiB} | ${r.tillwire.peakRssMiB} (${r.tillwire.startRssMiB}) |`,
    ),
    '',
    `- Tillwire / raw parse at ${large.lines} lines: **${ratios.timeVsRaw}** (goal ≤ ${GOALS.timeVsRaw}: ${yes(met.timeVsRaw)}); in CPU time ${ratios.cpuVsRaw}.`,
    `- Tillwire peak RSS at ${large.lines} lines: **${ratios.peakRssMB} MB** (goal < ${GOALS.peakRssMB} MB: ${yes(met.peakRss)}).`,
    `- Time at ${large.lines} / time at ${small.lines} lines: **${ratios.scaling}** (goal ≤ ${GOALS.scaling}: ${yes(met.scaling)}); in CPU time ${ratios.cpuScaling}; csv-parse alone: ${ratios.rawScaling}.`,
    `- Outside the clock: writing the ${ORDERS} known orders to the SQLite store through its API, once (${round(indexMs / 1000)} s); once per process, ` +
      `opening the store and compiling the canonical schemas (${large.tillwire.warmupMs} ms).`,
    '',
    `Every run: ${results.map((r) => `${r.lines} lines csv-parse ${r.raw.runsMs.join(', ')} ms, Tillwire ${r.tillwire.runsMs.join(', ')} ms`).join('; ')}.`,
    '',
    ...(sample
      ? [
          `Reconciliation of the ${large.lines}-line settlement: ${sample.status}, ${sample.orders} orders, journals ${sample.journals?.map((j) => `${j.id} (${j.lines} lines)`).join(', ')}; variances:`,
          '',
          ...(sample.variances ?? []).map((v) => `- ${v}`),
          '',
        ]
      : []),
    ...(hot
      ? [
          `## Profile (one more Tillwire run of ${large.lines} lines under V8's profiler: ${round(hotMs! / 1000, 2)} s)`,
          '',
          '| function | where | self ms | % |',
          '|---|---|---|---|',
          ...hot.map((h) => `| ${h.name} | ${h.where || '–'} | ${h.selfMs} | ${h.percent} |`),
          '',
        ]
      : []),
  ].join('\n');
  fs.writeFileSync(path.join(out, `${stamp}-settlement.md`), md);
  console.log('\n' + md);
}
