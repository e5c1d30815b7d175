/**
 * Preloaded into a benchmarked Node-RED (`node --expose-gc -r dist/bench/heap-probe.js red.js …`)
 * by the bench's `--heap` switch, never by the product. It looks every 100 ms for a request the bench
 * left in its directory (`<tmp>/tw-heap-probe-<pid>/request.json`: a label, whether to write a heap
 * snapshot; no signal: red.js stops Node-RED on SIGUSR2, nodemon's restart), and writes
 * `<label>.json`: process.memoryUsage() and the heap spaces before and after a full collection,
 * so retained objects, uncollected garbage and memory outside the JS heap can be told apart; and, when asked, `<label>.heapsnapshot` (after the collection).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';

export const probeDir = (pid: number) => path.join(os.tmpdir(), `tw-heap-probe-${pid}`);

export interface ProbeReading {
  label: string;
  /** process.memoryUsage() as it was, and after two full collections. */
  before: NodeJS.MemoryUsage;
  after: NodeJS.MemoryUsage;
  /** V8's heap spaces after the collections: used and reserved (committed) bytes. */
  spaces: Array<{ name: string; used: number; size: number }>;
  /**
   * The kernel's split of the resident set after the collections (/proc/self/status), bytes:
   * anonymous (heap, malloc), file-backed (code, mapped files), shared memory.
   */
  resident: { anon: number; file: number; shmem: number };
  snapshot?: string;
  /** How long the collections (and the snapshot) held the process, ms. */
  pauseMs: number;
}

function probe(): void {
  const dir = probeDir(process.pid);
  fs.mkdirSync(dir, { recursive: true });
  const gc = (globalThis as { gc?: () => void }).gc;
  const request = path.join(dir, 'request.json');
  const answer = () => {
    if (!fs.existsSync(request)) return;
    const req = JSON.parse(fs.readFileSync(request, 'utf8')) as { label: string; snapshot: boolean };
    fs.rmSync(request);
    const t = performance.now();
    const before = process.memoryUsage();
    gc?.();
    gc?.();
    const after = process.memoryUsage();
    const status = fs.readFileSync('/proc/self/status', 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) * 1024;
    const resident = { anon: kb('RssAnon'), file: kb('RssFile'), shmem: kb('RssShmem') };
    const spaces = v8.getHeapSpaceStatistics().map((s) => ({ name: s.space_name, used: s.space_used_size, size: s.space_size }));
    const snapshot = req.snapshot ? v8.writeHeapSnapshot(path.join(dir, `${req.label}.heapsnapshot`)) : undefined;
    const reading: ProbeReading = { label: req.label, before, after, spaces, resident, snapshot, pauseMs: performance.now() - t };
    fs.writeFileSync(path.join(dir, `${req.label}.json.tmp`), JSON.stringify(reading));
    fs.renameSync(path.join(dir, `${req.label}.json.tmp`), path.join(dir, `${req.label}.json`));
  };
  setInterval(answer, 100).unref();
}

// Only where it was preloaded (`-r …/heap-probe.js` among the node options), not in the bench that imports probeDir.
if (process.execArgv.some((a) => a.endsWith('heap-probe.js'))) probe();
