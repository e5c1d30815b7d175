/**
 * Starts the real Node-RED the way `npm start` does (dist/scripts/start.js), on a free port with a
 * throw-away user directory and a copy of the flows, and stops it again.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface RunningNodeRed {
  url: string;
  userDir: string;
  flowFile: string;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startNodeRed(opts: { flows?: unknown[]; env?: Record<string, string> } = {}): Promise<RunningNodeRed> {
  const port = await freePort();
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-nodered-'));
  const flowFile = path.join(userDir, 'flows.json');
  const flows = opts.flows ?? JSON.parse(fs.readFileSync(path.join(ROOT, 'flows', 'flows.json'), 'utf8'));
  fs.writeFileSync(flowFile, JSON.stringify(flows));
  let out = '';
  const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, 'dist', 'scripts', 'start.js')], {
    env: {
      ...process.env,
      TILLWIRE_PORT: String(port),
      TILLWIRE_USER_DIR: userDir,
      TILLWIRE_FLOW_FILE: flowFile,
      TILLWIRE_CREDENTIAL_SECRET: 'test-secret',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Node-RED exited early:\n${out}`);
    if (/is running: http/.test(out)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Node-RED did not start in 60 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    userDir,
    flowFile,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGINT') {
      if (child.exitCode === null) child.kill(signal);
      const code = await exited;
      fs.rmSync(userDir, { recursive: true, force: true });
      return code;
    },
  };
}
