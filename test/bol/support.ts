/** Shared pieces of the bol.com tests: a simulator on loopback, a client for it, a business clock. */
import { BolSimulator, BolSimulatorOptions, MEDIA_TYPE } from '../../nodes/bol/simulator';
import { BolClient, BolClientOptions } from '../../nodes/bol/client';

/** A business clock the tests move by hand: no sleeping to make time pass. */
export class ManualClock {
  constructor(public t = Date.parse('2026-11-01T12:00:00Z')) {}
  now = () => this.t;
  advance(ms: number) {
    this.t += ms;
  }
}

export const FAST = { maxAttempts: 6, baseDelayMs: 1, maxDelayMs: 5000, timeoutMs: 5000 };

export async function startSimulator(opts: BolSimulatorOptions = {}): Promise<BolSimulator> {
  const sim = new BolSimulator(opts);
  await sim.start();
  return sim;
}

export function clientFor(sim: BolSimulator, extra: Partial<BolClientOptions> = {}): BolClient {
  return new BolClient({
    endpoint: sim.url,
    tokenUrl: sim.tokenUrl,
    credentials: { clientId: sim.clientId, clientSecret: sim.clientSecret },
    policy: FAST,
    now: sim.now,
    ...extra,
  });
}

export async function token(sim: BolSimulator): Promise<string> {
  const res = await fetch(`${sim.tokenUrl}?grant_type=client_credentials`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${sim.clientId}:${sim.clientSecret}`).toString('base64')}`, accept: 'application/json' },
  });
  return ((await res.json()) as any).access_token;
}

export async function get(sim: BolSimulator, path: string, accessToken?: string, accept = MEDIA_TYPE) {
  const res = await fetch(sim.url + path, { headers: { accept, ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}) } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/**
 * The simulator in a child process (its own event loop), transpiled on the fly without touching
 * dist/: for the timing test, so the server's work does not stall the client's clock or vice versa.
 */
export async function spawnSimulator(args: string[]): Promise<{ url: string; stop: () => Promise<void>; json: (path: string) => Promise<any> }> {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { spawn } = await import('node:child_process');
  const ts = await import('typescript');
  const root = path.join(__dirname, '..', '..');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-bol-sim-'));
  for (const file of ['nodes/bol/simulator.ts', 'nodes/sim/catalog.ts', 'nodes/sim/random.ts', 'nodes/model/money.ts', 'nodes/model/currencies.ts']) {
    const js = ts.transpileModule(fs.readFileSync(path.join(root, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    fs.mkdirSync(path.join(out, path.dirname(file)), { recursive: true });
    fs.writeFileSync(path.join(out, file.replace(/\.ts$/, '.js')), js);
  }
  const child = spawn(process.execPath, [path.join(out, 'nodes/bol/simulator.js'), '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
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
    json: async (p: string) => (await fetch(url + p)).json(),
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(out, { recursive: true, force: true });
    },
  };
}
