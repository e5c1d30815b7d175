/**
 * The inventory scenario of `npm run bench` (`npm run bench -- inventory` runs it alone): the
 * available-to-sell engine in memory, BENCH_INVENTORY_SKUS SKUs (default 100,000) at two locations,
 * 5 channels with different rules and one bundle per 100 SKUs, from a fixed seed:
 *   (a) a full recompute: every channel × SKU figure, with and without the canonical document;
 *   (b) one stock change at a time, BENCH_INVENTORY_CHANGES of them (default 1,000): Tillwire
 *       recomputes the changed SKU and its bundles and queues only the figures that changed
 *       (pushesNeeded + a PushQueue per channel);
 *   (c) the full-sync pattern on the same changes: every figure recomputed and pushed on each change
 *       (BENCH_INVENTORY_FULL_SYNCS of them, default 5, since each costs a full recompute).
 * Reports the time of (a), p50/p99 per change of (b) and (c), pushes per change, the ratio full-sync
 * / Tillwire per change and the peak RSS. No channel simulator is involved: this measures the
 * engine, not the network (the pushes are counted, not sent).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileRules, type InventoryRules } from '../nodes/inventory/rules';
import { AtsEngine, PositionIndex } from '../nodes/inventory/available-to-sell';
import type { InventoryPosition } from '../nodes/inventory/position';
import { pushesNeeded, PushQueue } from '../nodes/inventory/push-plan';
import { channelKey } from '../nodes/inventory/rules';
import { percentile, peakRssMiB } from './common';
import { inventoryPushBench, type PushBenchResult } from './inventory-push';
import type { HotFunction } from './cpu-profile';

const SKUS = Number(process.env.BENCH_INVENTORY_SKUS ?? 100_000);
const CHANGES = Number(process.env.BENCH_INVENTORY_CHANGES ?? 1_000);
const FULL_SYNCS = Number(process.env.BENCH_INVENTORY_FULL_SYNCS ?? 5);
const SEED = 20261205;
/** BENCH_INVENTORY_PUSH=0 leaves out the real push path (d). */
const PUSH = process.env.BENCH_INVENTORY_PUSH !== '0';

/** mulberry32: a small seeded generator, so every run computes the same figures. */
function generator(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

function rules(skus: string[]): InventoryRules {
  const bundles = [];
  for (let i = 0; i + 1 < skus.length; i += 100) bundles.push({ sku: `KIT-${i}`, components: `${skus[i]}*2, ${skus[i + 1]}` });
  const { rules, problems } = compileRules({
    locations: 'wh, store',
    channels: [
      { system: 'shopify', locations: 'wh, store', buffer: 1 },
      { system: 'amazon', account: 'EU', locations: 'wh', allocationPercent: 60, maxListed: 50, zeroBelow: 3 },
      { system: 'amazon', account: 'US', locations: 'wh', allocationPercent: 30, unsellableStates: 'damaged' },
      { system: 'bol', locations: 'wh', allocationPercent: 50, buffer: 2, unsellableStates: 'damaged, quality_control' },
      { system: 'square', locations: 'store', countInTransit: true },
    ],
    bundles,
  });
  if (!rules) throw new Error(problems.join('\n'));
  return rules;
}

function position(random: (n: number) => number, sku: string, locationId: string): InventoryPosition {
  return {
    sku,
    locationId,
    onHand: random(200),
    reserved: random(10),
    inTransit: random(20),
    safetyStock: random(3),
    states: random(10) === 0 ? { damaged: random(5), quality_control: random(3) } : {},
  };
}

/** Every channel × SKU figure (and document), as the full-sync pattern computes them. */
function fullRecompute(engine: AtsEngine, skus: string[], documents: boolean, push?: (channel: string, sku: string, available: number) => void): number {
  let n = 0;
  const at = new Date().toISOString();
  for (const channel of engine.rules.channels) {
    const key = channelKey(channel);
    for (const sku of skus) {
      const available = documents ? engine.document(channel, sku, at).available : engine.figure(channel, sku);
      push?.(key, sku, available);
      n++;
    }
  }
  return n;
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

export async function inventoryBench(opts: { root: string; profile?: boolean }): Promise<void> {
  const loadAtStart = os.loadavg()[0];
  const random = generator(SEED);
  const skus = Array.from({ length: SKUS }, (_, i) => `SKU-${String(i).padStart(6, '0')}`);
  const r = rules(skus);
  const allSkus = [...skus, ...r.bundles.keys()];
  const index = new PositionIndex();
  for (const sku of skus) for (const l of ['wh', 'store']) index.set(position(random, sku, l));
  const engine = new AtsEngine(r, index);
  console.log(`[bench] inventory: ${SKUS} SKUs + ${r.bundles.size} bundles × ${r.channels.length} channels`);

  // (a) full recompute, after one warm-up
  fullRecompute(engine, allSkus, false);
  let t = performance.now();
  const figures = fullRecompute(engine, allSkus, false);
  const recomputeMs = performance.now() - t;
  t = performance.now();
  fullRecompute(engine, allSkus, true);
  const documentsMs = performance.now() - t;

  // what each channel holds: everything pushed once at the start
  const sent = new Map<string, Map<string, number>>(r.channels.map((c) => [channelKey(c), new Map()]));
  fullRecompute(engine, allSkus, false, (c, sku, a) => sent.get(c)!.set(sku, a));
  const queues = new Map(r.channels.map((c) => [channelKey(c), new PushQueue()]));

  // the same changes for both: a sale, a receipt or a reservation at a random SKU and location
  const changes = Array.from({ length: CHANGES }, () => {
    const sku = skus[random(skus.length)];
    const locationId = random(2) ? 'wh' : 'store';
    return { sku, locationId, delta: random(3) === 0 ? random(20) + 1 : -(random(3) + 1) };
  });
  const apply = (c: (typeof changes)[number]) => {
    const p = index.at(c.sku)!.get(c.locationId)!;
    index.set({ ...p, onHand: p.onHand + c.delta });
  };

  // (b) Tillwire: only the changed SKU and its bundles, only changed figures queued
  const tillwireMs: number[] = [];
  let tillwirePushes = 0;
  for (const c of changes) {
    const start = performance.now();
    apply(c);
    const pushes = pushesNeeded(engine, [c.sku], (channel, sku) => sent.get(channel)!.get(sku));
    for (const p of pushes) {
      queues.get(p.channel)!.offer(p.sku, p.available);
      sent.get(p.channel)!.set(p.sku, p.available); // as if the queue delivered it (counted, not sent)
    }
    tillwirePushes += pushes.length;
    tillwireMs.push(performance.now() - start);
  }

  // (c) the full-sync pattern: every figure recomputed and pushed on each change
  const fullSyncMs: number[] = [];
  let fullSyncPushes = 0;
  const channelCopy = new Map<string, number>();
  for (const c of changes.slice(0, FULL_SYNCS)) {
    const start = performance.now();
    apply(c);
    fullSyncPushes += fullRecompute(engine, allSkus, false, (channel, sku, a) => channelCopy.set(`${channel} ${sku}`, a));
    fullSyncMs.push(performance.now() - start);
  }

  const engineRssMiB = peakRssMiB(process.pid);
  // (d) the real push path: Node-RED, the channel write nodes and HTTP to the four simulators
  const push = PUSH ? await inventoryPushBench(SKUS, generator(SEED + 1), { profile: opts.profile }) : undefined;

  const tw = { p50: percentile(tillwireMs, 50), p99: percentile(tillwireMs, 99) };
  const fs50 = percentile(fullSyncMs, 50);
  const report = {
    scenario: 'inventory',
    date: new Date().toISOString(),
    node: process.version,
    loadAverage: { start: round(loadAtStart, 2), end: round(os.loadavg()[0], 2), cores: os.cpus().length },
    skus: SKUS,
    bundles: r.bundles.size,
    channels: r.channels.length,
    figures,
    fullRecompute: { ms: round(recomputeMs), figuresPerSecond: Math.round(figures / (recomputeMs / 1000)), withDocumentsMs: round(documentsMs) },
    tillwire: { changes: CHANGES, p50Ms: round(tw.p50, 3), p99Ms: round(tw.p99, 3), pushesPerChange: round(tillwirePushes / CHANGES, 2) },
    fullSync: { changes: FULL_SYNCS, p50Ms: round(fs50), pushesPerChange: Math.round(fullSyncPushes / FULL_SYNCS) },
    ratios: {
      timePerChange: Math.round(fs50 / tw.p50),
      timePerChangeAtP99: Math.round(fs50 / tw.p99),
      pushesPerChange: Math.round(fullSyncPushes / FULL_SYNCS / (tillwirePushes / CHANGES)),
    },
    peakRssMiB: round(engineRssMiB),
    push,
  };
  const out = path.join(opts.root, 'bench', 'results');
  fs.mkdirSync(out, { recursive: true });
  const stamp = report.date.replace(/[:.]/g, '-');
  fs.writeFileSync(path.join(out, `${stamp}-inventory.json`), JSON.stringify(report, null, 2) + '\n');
  const md = [
    `# Inventory benchmark ${report.date}`,
    '',
    `${SKUS.toLocaleString('en-US')} SKUs + ${r.bundles.size.toLocaleString('en-US')} bundles × ${r.channels.length} channels = ${figures.toLocaleString('en-US')} figures, in memory, Node ${process.version}, peak RSS ${report.peakRssMiB} MiB.`,
    `Load average (1 min) ${report.loadAverage.start} at the start, ${report.loadAverage.end} at the end, ${report.loadAverage.cores} cores.`,
    '',
    `Full recompute: ${report.fullRecompute.ms} ms (${report.fullRecompute.figuresPerSecond.toLocaleString('en-US')} figures/s); with the canonical documents ${report.fullRecompute.withDocumentsMs} ms.`,
    '',
    '| one stock change | p50 ms | p99 ms | pushes per change |',
    '|---|---|---|---|',
    `| Tillwire (changed SKU and its bundles, changed figures only; ${CHANGES} changes) | ${report.tillwire.p50Ms} | ${report.tillwire.p99Ms} | ${report.tillwire.pushesPerChange} |`,
    `| full sync (recompute and push everything; ${FULL_SYNCS} changes) | ${report.fullSync.p50Ms} | | ${report.fullSync.pushesPerChange.toLocaleString('en-US')} |`,
    '',
    `Full sync / Tillwire per change: ${report.ratios.timePerChange.toLocaleString('en-US')}× the time at p50 (${report.ratios.timePerChangeAtP99.toLocaleString('en-US')}× against Tillwire's p99), ${report.ratios.pushesPerChange.toLocaleString('en-US')}× the pushes.`,
    '',
    ...(push ? pushRows(push) : []),
  ].join('\n');
  fs.writeFileSync(path.join(out, `${stamp}-inventory.md`), md);
  console.log('\n' + md);
}

function pushRows(p: PushBenchResult): string[] {
  const n = (v: number) => v.toLocaleString('en-US');
  const f = p.fullSync;
  const channels = ['shopify', 'amazon', 'square', 'bol'] as const;
  const hot = (title: string, list?: HotFunction[]) =>
    list
      ? [
          title,
          '',
          '| function | where | self ms | % |',
          '|---|---|---|---|',
          ...list.map((h) => `| ${h.name} | ${h.where} | ${h.selfMs} | ${h.percent} |`),
          '',
        ]
      : [];
  return [
    `## Through Node-RED to the channel simulators`,
    '',
    `${n(p.skus)} SKUs × ${p.channels} channels (Shopify, Amazon, Square, bol.com simulators over HTTP) = ${n(p.figures)} figures; the engine (tillwire-available-to-sell) in a real Node-RED`,
    `at ${n(p.engine.ratePerChannel)} pushes/s and ${p.engine.inFlightPerChannel} in flight per channel; the simulators' rate limits lifted above that. Node-RED peak RSS ${p.nodeRedPeakRssMiB} MiB`,
    `(the bench process with the four simulators: ${p.benchProcessPeakRssMiB} MiB). From the reading's POST until every simulator holds the SKU's new figure:`,
    '',
    '| one stock change | p50 ms | p99 ms | max ms |',
    '|---|---|---|---|',
    `| Tillwire (${p.tillwire.changes} changes, one at a time) | ${p.tillwire.p50Ms} | ${p.tillwire.p99Ms} | ${p.tillwire.maxMs} |`,
    '',
    `Full sync (${f.changes} change: recompute and push every figure, ${f.complete ? 'ended' : 'stopped'} after ${n(f.measuredMs)} ms): the changed SKU at every channel ${
      f.changedSkuMs === undefined ? 'not within the window' : `after ${n(f.changedSkuMs)} ms`
    }; the first figure at a simulator after ${f.firstPushMs === undefined ? 'none in the window' : `${n(f.firstPushMs)} ms`} (the engine reading every position and computing every figure); ${n(
      f.figuresAtChannels,
    )} figures reached their channel (${n(f.figuresPerSecond)}/s after the first; ${n(f.figuresBefore)} were there from the single changes), so every figure ${
      f.complete ? 'after' : 'after about (extrapolated at that rate)'
    } ${n(f.everyFigureMs)} ms.`,
    '',
    `Full sync / Tillwire: ${n(p.ratios.everyFigureToP50)}× (every figure / p50), ${n(p.ratios.everyFigureToP99)}× (every figure / p99)${
      p.ratios.changedSkuToP50 === undefined ? '' : `, ${n(p.ratios.changedSkuToP50)}× (the changed SKU / p50)`
    }.`,
    '',
    ...(p.path
      ? [
          "Where a single change's time goes (profiled run, traced: medians in ms after the POST, clocks of the same machine):",
          '',
          `| step | ${channels.join(' | ')} |`,
          '|---|---|---|---|---|',
          `| Node-RED received the POST | ${p.path.received} | | | |`,
          `| reserve node booked the reading (its output) | ${p.path.booked} | | | |`,
          `| engine emitted the push | ${channels.map((c) => p.path!.emitted[c]).join(' | ')} |`,
          `| simulator holds the figure (bench poll) | ${channels.map((c) => p.path!.atSimulator[c]).join(' | ')} |`,
          `| write node's output (written and recorded) | ${channels.map((c) => p.path!.written[c]).join(' | ')} |`,
          `| every simulator holds it | ${p.path.everywhere} | | | |`,
          '',
        ]
      : []),
    ...hot('Node-RED process, functions with the most self time over its life (V8 profiler):', p.nodeRedHot),
    ...hot('Bench process (the four simulators), over the full sync window:', p.benchProcessHot),
  ];
}
