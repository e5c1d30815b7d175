/**
 * One row of the settlement benchmark, in a process of its own so that its peak RSS is its own:
 *   node dist/bench/settlement-row.js csv-parse <file>
 *   node dist/bench/settlement-row.js tillwire <file> <order index store> <reserve released>
 * csv-parse: the file through csv-parse with the options Tillwire's reader uses, every record
 * taken and dropped (nothing else). tillwire: readSettlementReport → tallySettlement →
 * reconcileSettlement (the store's order index, a SQLite file the parent filled with the known
 * orders, asked through orderMatcherFor as the reconcile node does; the store is opened and the
 * canonical schemas compiled before the clock starts) → buildSettlementJournals. The clock runs from opening the file to the last record
 * (csv-parse) or the journals built (tillwire). Prints one JSON line: the time, the process's peak
 * RSS (VmHWM) and what was read, so the parent can check both rows read the whole file. With
 * BENCH_PROFILE=1 V8's profiler runs while the clock does (so that run's time is not comparable).
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream';
import { parse } from 'csv-parse';
import { flatFileParseOptions, readSettlementReport } from '../nodes/amazon/settlement-report';
import { tallySettlement } from '../nodes/ledger/settlement-tally';
import { reconcileSettlement } from '../nodes/ledger/settlement-reconcile';
import { buildSettlementJournals } from '../nodes/ledger/settlement-journal';
import type { SettlementAccountMapping } from '../nodes/ledger/settlement-mapping';
import { DOCUMENT_TYPES, schemaValidator } from '../nodes/model/validate';
import { createStore } from '../nodes/runtime/create-store';
import { orderMatcherFor } from '../nodes/runtime/order-index';
import { hotFunctions, startProfile, type HotFunction } from './cpu-profile';

export const ACCOUNT = 'bench-seller';

export interface RowResult {
  row: 'csv-parse' | 'tillwire';
  ms: number;
  /** CPU time (user + system, every thread) while the clock ran: steadier than `ms` on a busy machine. */
  cpuMs: number;
  peakRssMiB: number;
  /** RSS when the clock started (modules loaded; for tillwire the store opened). */
  startRssMiB: number;
  /** Records read (csv-parse: every row of the file, column names and summary included). */
  records?: number;
  lines?: number;
  problems?: number;
  total?: string;
  orders?: number;
  status?: string;
  variances?: string[];
  journals?: Array<{ id: string; lines: number }>;
  /** What order matching found (every order in the file asked of the order index). */
  matched?: { checked: number; notInTillwire: number; notInErp: number; grossDifferences: number };
  /** Compiling the settlement and journal schemas, once per process, before the clock. */
  warmupMs?: number;
  /** With BENCH_PROFILE=1: the functions with the most self time while the clock ran. */
  hot?: HotFunction[];
}

const MAPPING: SettlementAccountMapping = {
  accounts: {
    principal: '4000',
    tax: '2200',
    'tax/withheld': '2210',
    shipping: '4100',
    promotion: '4200',
    refund: '4300',
    fee: '6100',
    'fee/fulfilment': '6110',
    'fee/advertising': '6120',
    'fee/storage': '6130',
    adjustment: '4900',
    other: '4990',
  },
  bankAccount: '1210',
  payableAccount: '2100',
  reserveAccount: '1290',
  carriedForwardAccount: '1295',
  clearingAccount: '1299',
  tracking: { channel: 'amazon', marketplace: 'US' },
};

/**
 * Where the clock starts: garbage of the setup collected (the child runs with --expose-gc) and the
 * peak RSS reset to the current RSS (Linux clear_refs 5), so the peak is that of the measured work
 * plus what the setup keeps (the known orders).
 */
function startClock(): { startRssMiB: number; t0: number; cpu0: NodeJS.CpuUsage } {
  (globalThis as { gc?: () => void }).gc?.();
  fs.writeFileSync('/proc/self/clear_refs', '5');
  return { startRssMiB: vm('VmRSS'), t0: performance.now(), cpu0: process.cpuUsage() };
}

function cpuMsSince(cpu0: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(cpu0);
  return (user + system) / 1000;
}

function vm(field: 'VmHWM' | 'VmRSS'): number {
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/** Starts the profiler when asked to; the returned function stops it and names the hot functions. */
async function profiler(): Promise<() => Promise<HotFunction[] | undefined>> {
  if (process.env.BENCH_PROFILE !== '1') return async () => undefined;
  const stop = await startProfile();
  return async () => hotFunctions(await stop(), 20, path.resolve(__dirname, '..', '..') + '/');
}

async function rawParse(file: string): Promise<RowResult> {
  const stop = await profiler();
  const { startRssMiB, t0, cpu0 } = startClock();
  const parser = parse(flatFileParseOptions());
  pipeline(fs.createReadStream(file), parser, () => undefined);
  let records = 0;
  for await (const _record of parser) records++;
  const ms = performance.now() - t0;
  const cpuMs = cpuMsSince(cpu0);
  return { row: 'csv-parse', ms, cpuMs, peakRssMiB: vm('VmHWM'), startRssMiB, records, hot: await stop() };
}

async function tillwire(file: string, storeFile: string, reserveReleased: bigint): Promise<RowResult> {
  // Compiling the canonical schemas and opening the store happen once per process (a running
  // Node-RED has done both before its first settlement): timed apart, outside the clock.
  const w0 = performance.now();
  schemaValidator(DOCUMENT_TYPES.settlement.schema);
  schemaValidator(DOCUMENT_TYPES['journal-entry'].schema);
  // The order index as the reconcile node asks it: the store (SQLite, as npm start's) filled
  // beforehand by the parent, scoped to the settlement's channel and account.
  const store = createStore({ backend: 'sqlite', file: storeFile, synchronous: 'normal' }, undefined, { heartbeatMs: 0 });
  await store.open();
  const matcher = orderMatcherFor(store, { system: 'amazon', account: ACCOUNT });
  const warmupMs = performance.now() - w0;
  const stop = await profiler();
  const { startRssMiB, t0, cpu0 } = startClock();
  const stream = await readSettlementReport(fs.createReadStream(file), { account: ACCOUNT });
  const tally = await tallySettlement(stream);
  if (!stream.postable()) throw new Error(`the benchmark's settlement file has ${stream.tally.problems} bad rows`);
  const rec = await reconcileSettlement(tally, { matcher, previous: { settlementId: 'previous', reserveHeld: reserveReleased, carriedForward: 0n } });
  const posting = buildSettlementJournals(tally, rec, MAPPING);
  const ms = performance.now() - t0;
  const cpuMs = cpuMsSince(cpu0);
  const hot = await stop();
  await store.close();
  return {
    row: 'tillwire',
    ms,
    cpuMs,
    peakRssMiB: vm('VmHWM'),
    startRssMiB,
    lines: tally.lineCount,
    problems: stream.tally.problems,
    total: String(tally.total),
    orders: tally.orderCount,
    status: rec.status,
    variances: rec.variances.map((v) => `${v.kind}${v.blocking ? ' (blocking)' : ''}: ${v.message.slice(0, 160)}`),
    journals: posting.journals.map((j) => ({ id: j.journalId, lines: j.lines.length })),
    matched: rec.orders && {
      checked: rec.orders.checked,
      notInTillwire: rec.orders.notInTillwire.length,
      notInErp: rec.orders.notInErp.length,
      grossDifferences: rec.orders.grossDifferences.length,
    },
    warmupMs,
    hot,
  };
}

async function main(): Promise<void> {
  const [row, file, storeFile, reserve] = process.argv.slice(2);
  const result = row === 'csv-parse' ? await rawParse(file) : row === 'tillwire' ? await tillwire(file, storeFile, BigInt(reserve)) : undefined;
  if (!result) throw new Error(`unknown row ${row}`);
  process.stdout.write(JSON.stringify(result) + '\n');
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
