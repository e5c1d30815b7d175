/**
 * CPU profiles for the benchmarks: V8's sampling profiler started and stopped around the measured
 * work inside the process (node:inspector), and the functions with the most self time in one.
 */
import inspector from 'node:inspector';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
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

/** The `top` functions by self time (samples that were in the function itself), summed over call sites. */
export function hotFunctions(profile: CpuProfile, top = 15, root = ''): HotFunction[] {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, { name: string; where: string; us: number }>();
  let total = 0;
  // timeDeltas[i] is the time before sample i: the time after it is the next delta.
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? 0;
    const frame = byNode.get(profile.samples[i])!.callFrame;
    const file = frame.url.replace(/^file:\/\//, '').replace(root, '');
    const where = file ? `${file}:${frame.lineNumber + 1}` : '';
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
