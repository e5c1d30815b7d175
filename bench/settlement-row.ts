/**
 * One row of the settlement benchmark, in a process of its own so that its peak RSS is its own:
 *   node dist/bench/settlement-row.js csv-parse <file>
 *   node dist/bench/settlement-row.js tillwire <file> <seed> <known orders>
 * csv-parse: the file through csv-parse with the options Tillwire's reader uses, every record
 * taken and dropped (nothing else). tillwire: readSettlementReport → tallySettlement →
 * reconcileSettlement (an in-memory OrderMatcher over the known orders, built before the clock
 * starts, as are the canonical schemas) → buildSettlementJournals. The clock runs from opening the file to the last record
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
import { reconcileSettlement, type OrderMatcher } from '../nodes/ledger/settlement-reconcile';
import { buildSettlementJournals } from '../nodes/ledger/settlement-journal';
import type { SettlementAccountMapping } from '../nodes/ledger/settlement-mapping';
import { DOCUMENT_TYPES, schemaValidator } from '../nodes/model/validate';
import { knownOrders, type KnownOrders } from './settlement-data';
import { hotFunctions, startProfile, type HotFunction } from './cpu-profile';

export const ACCOUNT = 'bench-seller';

export interface RowResult {
  row: 'csv-parse' | 'tillwire';
  ms: number;
  /** CPU time (user + system, every thread) while the clock ran: steadier than `ms` on a busy machine. */
  cpuMs: number;
  peakRssMiB: number;
  /** RSS when the clock started (modules loaded; for tillwire the known orders built). */
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
  knownOrders?: number;
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

/** Tillwire's store in memory: which orders it knows, with their gross, and which the ERP has. */
export function memoryMatcher(known: KnownOrders, currency: string): OrderMatcher {
  return {
    async match(ids) {
      const tillwire: Array<{ orderId: string; gross: { amount: number; currency: string } }> = [];
      const erp: string[] = [];
      for (const id of ids) {
        const gross = known.gross.get(id);
        if (gross === undefined) continue;
        tillwire.push({ orderId: id, gross: { amount: gross, currency } });
        if (!known.notInErp.has(id)) erp.push(id);
      }
      return { tillwire, erp };
    },
  };
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

async function tillwire(file: string, seed: number, count: number, currency: string, reserveReleased: bigint): Promise<RowResult> {
  // Compiling the canonical schemas happens once per process (a running Node-RED has done it
  // before its first settlement): timed apart, outside the clock, like loading the modules.
  const w0 = performance.now();
  schemaValidator(DOCUMENT_TYPES.settlement.schema);
  schemaValidator(DOCUMENT_TYPES['journal-entry'].schema);
  const warmupMs = performance.now() - w0;
  const known = knownOrders(seed, count, ACCOUNT);
  const matcher = memoryMatcher(known, currency);
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
    knownOrders: known.gross.size,
    warmupMs,
    hot,
  };
}

async function main(): Promise<void> {
  const [row, file, seed, count, currency, reserve] = process.argv.slice(2);
  const result =
    row === 'csv-parse' ? await rawParse(file) : row === 'tillwire' ? await tillwire(file, Number(seed), Number(count), currency, BigInt(reserve)) : undefined;
  if (!result) throw new Error(`unknown row ${row}`);
  process.stdout.write(JSON.stringify(result) + '\n');
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
