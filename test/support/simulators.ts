/**
 * What the channel simulator tests share: a business clock moved by hand, and a simulator run in a
 * child process (its own event loop), transpiled on the fly without touching dist/, for timing
 * tests, so the server's work does not stall the client's clock or vice versa.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import ts from 'typescript';

/** A business clock the tests move by hand: no sleeping to make time pass. */
export class ManualClock {
  constructor(public t: number) {}
  now = () => this.t;
  advance(ms: number) {
    this.t += ms;
  }
}

export interface SimulatorProcess {
  url: string;
  stop: () => Promise<void>;
  json: (path: string, method?: string) => Promise<any>;
}

/** The project files `file` imports by relative path (its own imports, not theirs). */
function relativeImports(root: string, file: string): string[] {
  const info = ts.preProcessFile(fs.readFileSync(path.join(root, file), 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => path.relative(root, path.resolve(root, path.dirname(file), name)) + '.ts')
    .filter((rel) => fs.existsSync(path.join(root, rel)));
}

/**
 * Transpiles `simulatorFile` and every project module it reaches by relative imports (the kit, the
 * contract, the canonical model) into a scratch directory (never dist/); returns it.
 */
export function transpileSimulator(simulatorFile: string): string {
  const root = path.join(__dirname, '..', '..');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-sim-'));
  const seen = new Set<string>();
  const queue = [simulatorFile];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    queue.push(...relativeImports(root, file));
    const js = ts.transpileModule(fs.readFileSync(path.join(root, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, resolveJsonModule: true },
    }).outputText;
    fs.mkdirSync(path.join(out, path.dirname(file)), { recursive: true });
    fs.writeFileSync(path.join(out, file.replace(/\.ts$/, '.js')), js);
  }
  return out;
}

/** Runs `simulatorFile` (e.g. simulators/bol/simulator.ts) with its CLI `args` on a free port. */
export async function spawnSimulator(simulatorFile: string, args: string[]): Promise<SimulatorProcess> {
  const out = transpileSimulator(simulatorFile);
  const child = spawn(process.execPath, [path.join(out, simulatorFile.replace(/\.ts$/, '.js')), '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(text);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
  return {
    url,
    json: async (p: string, method = 'GET') => (await fetch(url + p, { method })).json(),
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(out, { recursive: true, force: true });
    },
  };
}
