/**
 * The measuring pieces of the store-sales scenario (bench/sales.ts): a paced publisher, waiting
 * for progress with a stall limit, the Node-RED process's RSS at checkpoints, a CPU profile of it
 * (`--cpu-prof`, cut to the measured window), and the report's number formats.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { hotFunctions, hotModules, profileClock, readCpuProfile, type HotFunction, type HotModule } from './cpu-profile';
import { probeDir, type ProbeReading } from './heap-probe';
import { groups, growth, retainerPaths, type Growth } from './heap-snapshot';
import type { Sale } from './common';

/**
 * Publishes with QoS 1 at `perSecond`, each sale at its own moment from the start (not in bursts
 * of a timer tick's worth where the timer allows); returns when every PUBACK is in.
 */
export async function publishPaced(url: string, list: Sale[], sentAt: Map<string, number>, perSecond: number): Promise<void> {
  const client = await mqtt.connectAsync(url, { clientId: `bench-paced-${process.pid}-${Date.now()}`, protocolVersion: 5 });
  const start = performance.now();
  const acks: Promise<unknown>[] = [];
  for (let i = 0; i < list.length; i++) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const s = list[i];
    sentAt.set(s.key, performance.now());
    acks.push(client.publishAsync(s.topic, s.payload, { qos: 1 }));
  }
  await Promise.all(acks);
  await client.endAsync();
}

/**
 * Waits until `progress()` reaches `target`; gives up (returns false) when it has not moved for
 * `stallMs`, so a lost sale ends the row with a verdict instead of a wait without end.
 */
export async function untilDone(progress: () => number, target: number, stallMs = 90_000, everyMs = 50): Promise<boolean> {
  let last = -1;
  let movedAt = Date.now();
  for (;;) {
    const now = progress();
    if (now >= target) return true;
    if (now !== last) {
      last = now;
      movedAt = Date.now();
    } else if (Date.now() - movedAt > stallMs) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function procStatus(pid: number): { rssMiB: number; peakMiB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const mib = (field: string) => Math.round((Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024) * 10) / 10;
  return { rssMiB: mib('VmRSS'), peakMiB: mib('VmHWM') };
}

export interface RssCheckpoint {
  /** Sales finished when the sample was taken. */
  sales: number;
  rssMiB: number;
  /** The process's peak RSS so far (VmHWM). */
  peakMiB: number;
}

/**
 * Samples a process's RSS every 100 ms and keeps one reading as progress passes each checkpoint;
 * `passed` is told of each checkpoint after its reading (the heap probe's cue).
 */
export function rssCheckpoints(
  pid: number,
  checkpoints: number[],
  progress: () => number,
  passed: (sales: number) => void = () => {},
): { stop: () => RssCheckpoint[] } {
  const out: RssCheckpoint[] = [];
  let next = 0;
  const sample = () => {
    const done = progress();
    while (next < checkpoints.length && done >= checkpoints[next]) {
      out.push({ sales: checkpoints[next], ...procStatus(pid) });
      passed(checkpoints[next]);
      next++;
    }
  };
  const timer = setInterval(sample, 100);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return out;
    },
  };
}

export interface ProfileSummary {
  /** The measured window the samples were cut to, s. */
  windowSeconds: number;
  /** CPU time of the process's main thread in the window, s, and its share of the window. */
  busySeconds: number;
  busyPercent: number;
  functions: HotFunction[];
  modules: HotModule[];
}

/**
 * A CPU profile of a Node-RED process: `args` go to its node binary (`--cpu-prof`); V8 writes the
 * profile when the process exits gracefully (Node-RED stops its flows on SIGINT and exits);
 * `summarise` reads it, keeps the samples of the measured window and removes the file.
 */
export function nodeProfiler(enabled: boolean, root: string) {
  const dir = enabled ? fs.mkdtempSync(path.join(os.tmpdir(), 'tw-bench-prof-')) : '';
  return {
    args: enabled ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=500'] : [],
    summarise(window: { from: number; to: number }, top = 20): ProfileSummary | undefined {
      if (!enabled) return undefined;
      try {
        const profile = readCpuProfile(dir);
        const { modules, busyMs } = hotModules(profile, { window });
        const windowSeconds = (window.to - window.from) / 1e6;
        return {
          windowSeconds: round(windowSeconds, 1),
          busySeconds: round(busyMs / 1000, 1),
          busyPercent: round((busyMs / 1000 / windowSeconds) * 100, 0),
          functions: hotFunctions(profile, top, root, { window, busyOnly: true }),
          modules,
        };
      } finally {
        // BENCH_PROFILE_KEEP=1 keeps the .cpuprofile for DevTools or a call-tree read.
        if (process.env.BENCH_PROFILE_KEEP === '1') console.log(`[bench] CPU profile kept in ${dir}`);
        else fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export { profileClock };

export interface HeapSummary {
  /** The probe's reading at each RSS checkpoint (MiB), before and after a full collection. */
  checkpoints: Array<{
    sales: number;
    rssMiB: number;
    heapUsedMiB: number;
    heapTotalMiB: number;
    externalMiB: number;
    arrayBuffersMiB: number;
    afterGc: { rssMiB: number; heapUsedMiB: number; heapTotalMiB: number; externalMiB: number; anonMiB: number; fileMiB: number };
    pauseMs: number;
  }>;
  /** Groups of the JS heap that grew most from the first checkpoint's snapshot to the last's (after collection). */
  growth: Growth[];
  /** Sample retainer paths of the three groups that grew most. */
  retainers: Array<{ name: string; paths: string[] }>;
}

const mib = (bytes: number) => round(bytes / 2 ** 20, 1);

/**
 * The `--heap` switch: `args` preload bench/heap-probe.ts into the Node-RED process (with
 * `--expose-gc`); `at(pid, sales)` asks it for a reading, one at a time (with BENCH_HEAP_SNAPSHOTS=1
 * a heap snapshot too at the first and the last checkpoint: writing one takes seconds and raises
 * the process's RSS for good, so the readings after it are not comparable); `summarise` waits for them, compares the snapshots and removes
 * them (BENCH_HEAP_KEEP=1 keeps them and says where).
 */
export function heapProbe(enabled: boolean, root: string, checkpoints: number[]) {
  let chain: Promise<void> = Promise.resolve();
  const readings: Array<ProbeReading & { sales: number }> = [];
  let pid = 0;
  return {
    args: enabled ? ['--expose-gc', '-r', path.join(root, 'dist', 'bench', 'heap-probe.js')] : [],
    at(processId: number, sales: number): void {
      if (!enabled) return;
      pid = processId;
      const label = `at-${sales}`;
      const snapshot = process.env.BENCH_HEAP_SNAPSHOTS === '1' && (sales === checkpoints[0] || sales === checkpoints[checkpoints.length - 1]);
      chain = chain.then(async () => {
        const dir = probeDir(pid);
        fs.writeFileSync(path.join(dir, 'request.tmp'), JSON.stringify({ label, snapshot }));
        fs.renameSync(path.join(dir, 'request.tmp'), path.join(dir, 'request.json'));
        const file = path.join(dir, `${label}.json`);
        while (!fs.existsSync(file)) await new Promise((r) => setTimeout(r, 50));
        readings.push({ ...(JSON.parse(fs.readFileSync(file, 'utf8')) as ProbeReading), sales });
      });
    },
    async summarise(): Promise<HeapSummary | undefined> {
      if (!enabled) return undefined;
      await chain;
      const dir = probeDir(pid);
      try {
        const snaps = readings.filter((r) => r.snapshot);
        const first = snaps[0]?.snapshot;
        const last = snaps[snaps.length - 1]?.snapshot;
        const grew = first && last && first !== last ? growth(groups(first), groups(last)) : [];
        return {
          checkpoints: readings.map((r) => ({
            sales: r.sales,
            rssMiB: mib(r.before.rss),
            heapUsedMiB: mib(r.before.heapUsed),
            heapTotalMiB: mib(r.before.heapTotal),
            externalMiB: mib(r.before.external),
            arrayBuffersMiB: mib(r.before.arrayBuffers),
            afterGc: {
              rssMiB: mib(r.after.rss),
              heapUsedMiB: mib(r.after.heapUsed),
              heapTotalMiB: mib(r.after.heapTotal),
              externalMiB: mib(r.after.external),
              anonMiB: mib(r.resident.anon),
              fileMiB: mib(r.resident.file + r.resident.shmem),
            },
            pauseMs: Math.round(r.pauseMs),
          })),
          growth: grew,
          retainers: last ? grew.slice(0, 3).map((g) => ({ name: g.name, paths: retainerPaths(last, g.name) })) : [],
        };
      } finally {
        if (process.env.BENCH_HEAP_KEEP === '1') console.log(`[bench] heap snapshots kept in ${dir}`);
        else fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** A ratio as text, to 3 significant digits (2 below 1): 0.372 → "0.37", 1.004 → "1.00", 12.34 → "12.3", 123.4 → "123". */
export function ratioText(r: number): string {
  if (!Number.isFinite(r)) return '–';
  return r >= 100 ? String(Math.round(r)) : r.toPrecision(r < 1 ? 2 : 3);
}

/** Sales a second as text: whole numbers from 100, one decimal below. */
export function rateText(r: number | undefined): string {
  if (r === undefined || !Number.isFinite(r)) return '–';
  return r >= 100 ? Math.round(r).toLocaleString('en-GB') : String(round(r, 1));
}

/** Milliseconds as text: whole from 100 ms, one decimal below ("152,324", "87.5"). */
export function msText(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '–';
  return ms >= 100 ? Math.round(ms).toLocaleString('en-GB') : String(round(ms, 1));
}

/** A whole number with thousands separators ("50,000"). */
export function countText(n: number): string {
  return Math.round(n).toLocaleString('en-GB');
}
