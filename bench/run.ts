/**
 * `npm run bench [-- <scenario>…] [--profile] [--decimal-comma]`: every scenario, or the ones named
 * (`sales`, `settlement`, `inventory`, `inventory-snapshot`; bench/README.md). Each writes bench/results/<timestamp>[-<scenario>].json and .md.
 *
 * sales: store sales from till publish to Odoo acceptance, on this machine, in one run:
 *   (a) the raw broker ceiling (mqtt.js QoS 1 in and out of the same Mosquitto, nothing else);
 *   (b) Tillwire: the "Store sales (MQTT) → Odoo" template in a real Node-RED process, with
 *       durability on (inbox write before PUBACK, SQLite store, sales register);
 *   (c) the hand-wired peer (bench/flows.ts) in a real Node-RED process.
 * Reports sales/s, p50/p99 latency (publish → Odoo confirmed), Node-RED peak RSS, and the ratios
 * Tillwire/raw and Tillwire/peer. BENCH_SALES sets the size (default 20,000).
 * Results: bench/results/<timestamp>.json and .md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { OdooSimulator } from '../simulators/odoo/simulator';
import { startMosquitto } from '../test/support/mosquitto';
import { startNodeRed, freePort, ROOT } from '../test/support/node-red-process';
import { e2eFlows, startRed, E2E } from '../test/e2e/harness';
import { percentile, peakRssMiB, publish, sales, until, watchConfirmations, Sale } from './common';
import { rawBroker } from './raw-broker';
import { peerFlows } from './flows';
import { settlementBench } from './settlement';
import { inventoryBench } from './inventory';
import { inventorySnapshotBench } from './inventory-snapshot';

const N = Number(process.env.BENCH_SALES ?? 20_000);
const API_KEY = 'tillwire-demo-key';
/** Requests the Odoo connection keeps in flight (the config node's "max concurrent"). */
const ODOO_CONCURRENCY = Number(process.env.BENCH_ODOO_CONCURRENCY ?? 8);

interface Result {
  name: string;
  sales: number;
  seconds: number;
  perSecond: number;
  p50ms?: number;
  p99ms?: number;
  confirmed?: number;
  peakRssMiB?: number;
  note?: string;
}

async function endToEnd(
  name: string,
  list: Sale[],
  odoo: OdooSimulator,
  publishTo: string,
  watch: ReturnType<typeof watchConfirmations>,
  pid: number,
  protocol: 4 | 5 = 5,
): Promise<Result> {
  const sentAt = new Map<string, number>();
  watch.at.clear();
  const start = performance.now();
  await publish(publishTo, list, sentAt, 500, protocol);
  await until(
    () => watch.at.size >= list.length,
    30 * 60_000,
    () => `${name}: ${watch.at.size} of ${list.length} confirmed`,
  );
  const end = Math.max(...watch.at.values());
  const latencies = list.map((s) => watch.at.get(s.key)! - sentAt.get(s.key)!);
  const seconds = (end - start) / 1000;
  const refs = odoo.orders().map((o) => o.client_order_ref);
  return {
    name,
    sales: list.length,
    seconds: round(seconds),
    perSecond: round(list.length / seconds),
    p50ms: round(percentile(latencies, 50)),
    p99ms: round(percentile(latencies, 99)),
    confirmed: new Set(refs).size,
    peakRssMiB: peakRssMiB(pid),
    note: refs.length !== new Set(refs).size ? `${refs.length - new Set(refs).size} duplicate orders` : undefined,
  };
}

const round = (n: number) => Math.round(n * 10) / 10;
const round3 = (n: number) => Number(n.toPrecision(3));

async function salesBench(): Promise<void> {
  console.log(`[bench] ${N} sales, 200 stores × 4 tills; ${os.cpus().length} cores, Node ${process.version}`);
  const broker = await startMosquitto();
  const results: Result[] = [];
  try {
    // (a) raw broker ceiling
    const raw = await rawBroker(broker.url, sales(N, 'raw'));
    results.push({ name: 'raw broker (mqtt.js QoS 1 through Mosquitto)', sales: N, seconds: round(raw.seconds), perSecond: round(raw.perSecond) });
    console.log(`[bench] raw: ${round(raw.perSecond)} msg/s`);

    // (b) Tillwire
    {
      const watch = watchConfirmations();
      const odoo = new OdooSimulator();
      const e: E2E = { broker, odoo, odooUrl: await odoo.start() };
      const red = await startRed(e, e2eFlows({ odooConcurrency: ODOO_CONCURRENCY }));
      try {
        const list = sales(N, 'tillwire');
        results.push(await endToEnd('Tillwire (template, durable inbox, SQLite)', list, odoo, broker.url, watch, red.pid));
        console.log(`[bench] tillwire: ${results[results.length - 1].perSecond} sales/s`);
      } finally {
        watch.stop();
        await red.stop();
        await odoo.stop();
      }
    }

    // (c) the hand-wired peer
    {
      const watch = watchConfirmations();
      const odoo = new OdooSimulator({ apiKey: API_KEY });
      const odooUrl = await odoo.start();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-peer-'));
      const dbFile = path.join(dir, 'peer.db');
      const db = new Database(dbFile);
      db.pragma('journal_mode = WAL');
      db.exec('CREATE TABLE IF NOT EXISTS seen (k TEXT PRIMARY KEY)');
      db.close();
      const red = await startNodeRed({
        via: 'red',
        flows: peerFlows(broker.port, odooUrl, dbFile, API_KEY),
        port: await freePort(),
        env: { TILLWIRE_LOG_LEVEL: 'warn' },
      });
      try {
        const end = Date.now() + 30_000;
        while (
          !(await fetch(`${red.url}/peer/ready`)
            .then((r) => r.json())
            .then(
              (b: any) => b.ready,
              () => false,
            ))
        ) {
          if (Date.now() > end) throw new Error('peer flow did not load its products');
          await new Promise((r) => setTimeout(r, 100));
        }
        const list = sales(N, 'peer');
        results.push(await endToEnd('hand-wired peer (core nodes + node-red-node-sqlite)', list, odoo, broker.url, watch, red.pid));
        console.log(`[bench] peer: ${results[results.length - 1].perSecond} sales/s`);
      } finally {
        watch.stop();
        await red.stop();
        await odoo.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await broker.stop();
  }

  const [raw, tw, peer] = results;
  const ratios = { tillwireVsRaw: round3(tw.perSecond / raw.perSecond), tillwireVsPeer: round3(tw.perSecond / peer.perSecond) };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const report = {
    date: new Date().toISOString(),
    odooConcurrency: ODOO_CONCURRENCY,
    machine: { cores: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    sales: N,
    results,
    ratios,
  };
  fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench', 'results', `${stamp}.json`), JSON.stringify(report, null, 2) + '\n');
  const md = [
    `# Store sales benchmark, ${report.date}`,
    '',
    `${N} sales from 200 stores × 4 tills; ${report.machine.cores} cores (${report.machine.model}), Node ${process.version}; Tillwire's Odoo connection keeps ${ODOO_CONCURRENCY} requests in flight. Command: \`npm run bench\`.`,
    '',
    '| scenario | sales/s | p50 ms | p99 ms | Node-RED peak RSS MiB | orders confirmed |',
    '|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.name} | ${r.perSecond} | ${r.p50ms ?? '–'} | ${r.p99ms ?? '–'} | ${r.peakRssMiB ?? '–'} | ${r.confirmed ?? '–'}${r.note ? ` (${r.note})` : ''} |`,
    ),
    '',
    `Tillwire / raw broker: **${ratios.tillwireVsRaw}**; Tillwire / hand-wired peer: **${ratios.tillwireVsPeer}**.`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(ROOT, 'bench', 'results', `${stamp}.md`), md);
  console.log('\n' + md);
}

const SCENARIOS = ['sales', 'settlement', 'inventory', 'inventory-snapshot'] as const;
const FLAGS = ['--profile', '--decimal-comma'];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => !(SCENARIOS as readonly string[]).includes(a) && !FLAGS.includes(a));
  if (unknown.length) throw new Error(`unknown argument ${unknown.join(', ')}: scenarios are ${SCENARIOS.join(', ')}, flags ${FLAGS.join(', ')}`);
  const named = SCENARIOS.filter((s) => args.includes(s));
  const chosen = named.length ? named : SCENARIOS;
  if (chosen.includes('sales')) await salesBench();
  if (chosen.includes('settlement')) await settlementBench({ root: ROOT, profile: args.includes('--profile'), decimalComma: args.includes('--decimal-comma') });
  if (chosen.includes('inventory')) await inventoryBench({ root: ROOT, profile: args.includes('--profile') });
  if (chosen.includes('inventory-snapshot')) await inventorySnapshotBench({ root: ROOT });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
