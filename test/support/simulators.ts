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

/** The modules every simulator imports besides its own file. */
const SHARED = ['nodes/sim/catalog.ts', 'nodes/sim/random.ts', 'nodes/sim/http-server.ts', 'nodes/sim/token-bucket.ts', 'nodes/model/money.ts', 'nodes/model/decimal.ts', 'nodes/model/currencies.ts'];

export interface SimulatorProcess {
  url: string;
  stop: () => Promise<void>;
  json: (path: string, method?: string) => Promise<any>;
}

/** Transpiles `simulatorFile` and what simulators import into a scratch directory (never dist/); returns it. */
export function transpileSimulator(simulatorFile: string): string {
  const root = path.join(__dirname, '..', '..');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-sim-'));
  for (const file of [simulatorFile, ...SHARED]) {
    const js = ts.transpileModule(fs.readFileSync(path.join(root, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    fs.mkdirSync(path.join(out, path.dirname(file)), { recursive: true });
    fs.writeFileSync(path.join(out, file.replace(/\.ts$/, '.js')), js);
  }
  return out;
}

/** Runs `simulatorFile` (e.g. nodes/bol/simulator.ts) with its CLI `args` on a free port. */
export async function spawnSimulator(simulatorFile: string, args: string[]): Promise<SimulatorProcess> {
  const out = transpileSimulator(simulatorFile);
  const child = spawn(process.execPath, [path.join(out, simulatorFile.replace(/\.ts$/, '.js')), '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
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
