/** Shared pieces of the Amazon tests: a simulator on loopback, a client for it, a business clock. */
import { AmazonSimulator, AmazonSimulatorOptions } from '../../nodes/amazon/simulator';
import { AmazonClient, AmazonClientOptions } from '../../nodes/amazon/client';
import type { Order } from '../../nodes/model/types.generated';

/** A business clock the tests move by hand: no sleeping to make time pass. */
export class ManualClock {
  constructor(public t = Date.parse('2025-04-01T00:00:00Z')) {}
  now = () => this.t;
  advance(ms: number) {
    this.t += ms;
  }
}

export async function startSimulator(opts: AmazonSimulatorOptions = {}): Promise<AmazonSimulator> {
  const sim = new AmazonSimulator(opts);
  await sim.start();
  return sim;
}

export const FAST = { maxAttempts: 6, baseDelayMs: 1, maxDelayMs: 2000, timeoutMs: 5000 };

export function clientFor(sim: AmazonSimulator, extra: Partial<AmazonClientOptions> = {}): AmazonClient {
  return new AmazonClient({
    endpoint: sim.url,
    tokenUrl: sim.tokenUrl,
    credentials: { clientId: sim.clientId, clientSecret: sim.clientSecret, refreshToken: sim.refreshToken },
    policy: FAST,
    now: sim.now,
    ...extra,
  });
}

export async function token(sim: AmazonSimulator): Promise<string> {
  const res = await fetch(sim.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: sim.refreshToken, client_id: sim.clientId, client_secret: sim.clientSecret }).toString(),
  });
  return ((await res.json()) as any).access_token;
}

export async function get(sim: AmazonSimulator, path: string, accessToken?: string) {
  const res = await fetch(sim.url + path, { headers: accessToken ? { 'x-amz-access-token': accessToken } : {} });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** What the customer pays according to the canonical lines and charges alone (not `totals`). */
export function payable(doc: Order): number {
  const lines = doc.lines.reduce((s, l) => s + l.lineTotal.amount, 0);
  const ship = (doc.shipping ?? []).reduce((s, c) => s + c.amount.amount, 0);
  const taxes = [...doc.lines.flatMap((l) => l.taxes ?? []), ...(doc.shipping ?? []).flatMap((c) => c.taxes ?? [])].reduce((s, t) => s + t.amount.amount, 0);
  return lines + ship + (doc.taxesIncluded ? 0 : taxes);
}


/**
 * The simulator in a child process (its own event loop), transpiled on the fly without touching
 * dist/: for timing tests, so the server's work does not stall the client's clock or vice versa.
 */
export async function spawnSimulator(args: string[]): Promise<{ url: string; stop: () => Promise<void>; json: (path: string, method?: string) => Promise<any> }> {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { spawn } = await import('node:child_process');
  const ts = await import('typescript');
  const root = path.join(__dirname, '..', '..');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-amazon-sim-'));
  for (const file of ['nodes/amazon/simulator.ts', 'nodes/sim/catalog.ts', 'nodes/sim/random.ts', 'nodes/model/money.ts', 'nodes/model/currencies.ts']) {
    const js = ts.transpileModule(fs.readFileSync(path.join(root, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    fs.mkdirSync(path.join(out, path.dirname(file)), { recursive: true });
    fs.writeFileSync(path.join(out, file.replace(/\.ts$/, '.js')), js);
  }
  const child = spawn(process.execPath, [path.join(out, 'nodes/amazon/simulator.js'), '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
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
