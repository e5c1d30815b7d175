/**
 * CPU profiles for the benchmarks: V8's sampling profiler started and stopped around the measured
 * work inside the process (node:inspector) or a .cpuprofile another process wrote (`--cpu-prof`),
 * the functions with the most self time in one, and that time grouped by module.
 */
import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  /** Monotonic clock, microseconds: the same clock as `process.hrtime` in any process of this machine. */
  startTime?: number;
  endTime?: number;
}

export interface HotFunction {
  name: string;
  /** file:line (1-based), relative to the package where it can be. */
  where: string;
  selfMs: number;
  percent: number;
}

/** Starts V8's profiler; the returned function stops it and gives the profile. */
export async function startProfile(): Promise<() => Promise<CpuProfile>> {
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<any>((resolve, reject) => session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  return async () => {
    const { profile } = await post('Profiler.stop');
    session.disconnect();
    return profile as CpuProfile;
  };
}

/** Now on the profiler's clock (microseconds), to cut a window out of another process's profile. */
export function profileClock(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * The main thread's .cpuprofile, which a process started with `--cpu-prof --cpu-prof-dir=<dir>`
 * wrote on exit. Node names each thread's file CPU.<date>.<time>.<pid>.<thread id>.<n>.cpuprofile;
 * the main thread is thread 0 (the SQLite store's checkpoint worker writes one of its own).
 */
export function readCpuProfile(dir: string): CpuProfile {
  const files = fs.readdirSync(dir).filter((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
  if (files.length !== 1) throw new Error(`expected one main-thread .cpuprofile in ${dir}, found ${files.length} (did the process exit gracefully?)`);
  return JSON.parse(fs.readFileSync(path.join(dir, files[0]), 'utf8')) as CpuProfile;
}

/** Each sample with its node and the time it stands for, optionally only those within [from, to] (profileClock). */
function* samplesOf(
  profile: CpuProfile,
  window?: { from: number; to: number },
): Generator<{ frame: ProfileNode['callFrame']; caller?: ProfileNode['callFrame']; us: number }> {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // A native function (no script) is named by the nearest caller that has one.
  const callerOf = (id: number): ProfileNode['callFrame'] | undefined => {
    for (let p = parent.get(id); p !== undefined; p = parent.get(p)) if (byNode.get(p)!.callFrame.url) return byNode.get(p)!.callFrame;
    return undefined;
  };
  let at = profile.startTime ?? 0;
  // timeDeltas[i] is the time before sample i: the time after it is the next delta.
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window.from || at > window.to)) continue;
    const id = profile.samples[i];
    const frame = byNode.get(id)!.callFrame;
    yield { frame, caller: frame.url ? undefined : callerOf(id), us: profile.timeDeltas[i + 1] ?? 0 };
  }
}

const IDLE = new Set(['(idle)', '(root)']);

/**
 * The `top` functions by self time (samples that were in the function itself), summed over call
 * sites. `percent` is of all samples, or with `busyOnly` of the samples that were not idle (the
 * process waiting for I/O), and only those are ranked.
 */
export function hotFunctions(
  profile: CpuProfile,
  top = 15,
  root = '',
  opts: { window?: { from: number; to: number }; busyOnly?: boolean } = {},
): HotFunction[] {
  const self = new Map<string, { name: string; where: string; us: number }>();
  let total = 0;
  const at = (f: ProfileNode['callFrame']) => `${f.url.replace(/^file:\/\//, '').replace(root, '')}:${f.lineNumber + 1}`;
  for (const { frame, caller, us } of samplesOf(profile, opts.window)) {
    if (opts.busyOnly && IDLE.has(frame.functionName)) continue;
    const where = frame.url ? at(frame) : caller ? `native, from ${caller.functionName || '(anonymous)'} ${at(caller)}` : '';
    const key = `${frame.functionName}|${where}`;
    const entry = self.get(key) ?? { name: frame.functionName || '(anonymous)', where, us: 0 };
    entry.us += us;
    self.set(key, entry);
    total += us;
  }
  return [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({ name: e.name, where: e.where, selfMs: Math.round(e.us / 100) / 10, percent: Math.round((e.us / total) * 1000) / 10 }));
}

export interface HotModule {
  module: string;
  selfMs: number;
  percent: number;
}

/** Which package or part of Node a script belongs to, in words a reader of the report knows. */
export function moduleOf(url: string): string {
  const file = url.replace(/^file:\/\//, '');
  if (file.startsWith('node:internal/deps/undici')) return 'undici (fetch)';
  if (file.startsWith('node:')) {
    const m = file.replace(/^node:(internal\/)?/, '');
    const part = /(^|\/)_?http|http_parser|_http/.test(m)
      ? 'http'
      : /stream_base|^net|tcp|dns/.test(m)
        ? 'net'
        : /stream/.test(m)
          ? 'streams'
          : /timers|task_queues|async_hooks|process/.test(m)
            ? 'timers, promises, async hooks'
            : /buffer|encoding|util/.test(m)
              ? 'buffer, util'
              : m.split('/')[0];
    return `Node.js core: ${part}`;
  }
  const pkgs = [...file.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)].map((m) => m[1]);
  const pkg = pkgs[pkgs.length - 1];
  if (pkg) {
    if (pkg === 'node-red' || pkg.startsWith('@node-red/')) return 'Node-RED runtime';
    if (pkg === 'mqtt' || pkg === 'mqtt-packet') return 'mqtt.js';
    return pkg;
  }
  const tw = /\/dist\/nodes\/([^/]+)\//.exec(file);
  if (tw) return `Tillwire nodes/${tw[1]}`;
  return file ? 'other scripts' : '';
}

/**
 * Self time grouped by module (moduleOf): native functions count for the module that called
 * them (`native, from …`), so SQLite's C++ shows under the module that ran the statement.
 */
export function hotModules(
  profile: CpuProfile,
  opts: { window?: { from: number; to: number } } = {},
): { modules: HotModule[]; busyMs: number; idleMs: number } {
  const by = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const { frame, caller, us } of samplesOf(profile, opts.window)) {
    if (IDLE.has(frame.functionName)) {
      idle += us;
      continue;
    }
    busy += us;
    const name = frame.url
      ? moduleOf(frame.url)
      : frame.functionName === '(garbage collector)'
        ? 'V8 garbage collector'
        : frame.functionName === '(program)'
          ? 'V8 (program: compiler, runtime, native glue)'
          : `native, from ${caller ? moduleOf(caller.url) : 'V8'}`;
    by.set(name, (by.get(name) ?? 0) + us);
  }
  const modules = [...by]
    .sort((a, b) => b[1] - a[1])
    .map(([module, us]) => ({ module, selfMs: Math.round(us / 100) / 10, percent: Math.round((us / busy) * 1000) / 10 }));
  return { modules, busyMs: Math.round(busy / 1000), idleMs: Math.round(idle / 1000) };
}
