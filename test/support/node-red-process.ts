/**
 * Starts the real Node-RED the way `npm start` does (dist/scripts/start.js), on a free port with a
 * throw-away user directory and a copy of the flows, and stops it again.
 */
import { nodeRedNodeArgs, nodeRedRuntime } from '../../scripts/node-red-runtime';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from './root';
import { deployCredentials, linkPackage } from '../../scripts/start';
export { freePort } from './free-port';
import { freePort } from './free-port';

export const ROOT = projectRoot();

/** Node-RED's red.js: the one `npm start` runs on this Node (scripts/node-red-runtime.ts). */
function redJs(): string {
  return nodeRedRuntime(ROOT).redJs;
}

export interface RunningNodeRed {
  url: string;
  /** Where the admin API answers (url + httpAdminRoot). */
  adminUrl: string;
  port: number;
  /** The Node-RED (or npm start) process id. */
  pid: number;
  userDir: string;
  flowFile: string;
  output: () => string;
  /** Stops it and removes the user directory. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Kills it with SIGKILL at once, keeping the user directory for a restart. */
  kill(): Promise<void>;
  /**
   * Sends `signal` (a graceful SIGTERM or SIGINT) and waits for the exit, keeping the user
   * directory for a restart; resolves with the exit code (null if a signal ended it).
   */
  terminate(signal: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  flows?: unknown[];
  env?: Record<string, string>;
  /**
   * 'npm-start' runs dist/scripts/start.js as a user would; 'red' runs Node-RED's red.js itself
   * (same settings, same linked package), so a test can SIGKILL the runtime and nothing else.
   */
  via?: 'npm-start' | 'red';
  /** Reuse a user directory (a restart after a kill keeps its store and flows). */
  userDir?: string;
  port?: number;
  /**
   * Settings laid over the product's (via 'red' only), e.g. `{ httpNodeRoot: '/hooks' }`: a user's
   * own settings file. `adminUrl` then follows `httpAdminRoot`.
   */
  settings?: Record<string, unknown>;
  /** Start from Node-RED's own defaults instead of the product's settings (a user's own Node-RED). */
  nodeRedDefaults?: boolean;
  /** Node's own defaults for the node binary, without the heap ceiling `npm start` sets (a user's own Node-RED: the bench's peers). */
  plainNode?: boolean;
  /** Options for the node binary itself, before the script (e.g. `--cpu-prof`; NODE_OPTIONS refuses some). */
  nodeArgs?: string[];
}

/**
 * The command line of Node-RED started as users start it: red.js with a settings file and the node
 * options `npm start` gives it (the heap ceiling; not for a user's own Node-RED, `ownNodeRed`), or `npm start`.
 */
export function nodeRedArgs(via: 'npm-start' | 'red', userDir: string, settingsFile = path.join(ROOT, 'dist', 'settings.js'), ownNodeRed = false): string[] {
  return via === 'red'
    ? [...(ownNodeRed ? [] : nodeRedNodeArgs()), redJs(), '--settings', settingsFile, '--userDir', userDir]
    : [path.join(ROOT, 'dist', 'scripts', 'start.js')];
}

/**
 * The environment of such a process: the product's variables for its port, user directory and flows,
 * and (for `npm start`) a port of its own for every demo service, so runs never collide.
 */
export async function nodeRedEnv(
  via: 'npm-start' | 'red',
  o: { port: number; userDir: string; flowFile: string; env?: Record<string, string> },
): Promise<NodeJS.ProcessEnv> {
  const demoPorts: Record<string, string> = {};
  if (via !== 'red') {
    for (const service of ['MQTT', 'ODOO', 'BC', 'SHOPIFY', 'AMAZON', 'SQUARE', 'BOL', 'XERO', 'XERO_EU', 'QBO'])
      demoPorts[`TILLWIRE_DEMO_${service}_PORT`] = String(await freePort());
  }
  return {
    ...process.env,
    ...demoPorts,
    TILLWIRE_PORT: String(o.port),
    TILLWIRE_USER_DIR: o.userDir,
    TILLWIRE_FLOW_FILE: o.flowFile,
    TILLWIRE_CREDENTIAL_SECRET: 'test-secret',
    ...o.env,
  };
}

export async function startNodeRed(opts: StartOptions = {}): Promise<RunningNodeRed> {
  const port = opts.port ?? (await freePort());
  const userDir = opts.userDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tw-nodered-'));
  const flowFile = path.join(userDir, 'flows.json');
  if (opts.flows || !fs.existsSync(flowFile)) {
    const flows = opts.flows ?? JSON.parse(fs.readFileSync(path.join(ROOT, 'flows', 'flows.json'), 'utf8'));
    fs.writeFileSync(flowFile, JSON.stringify(flows));
  }
  let out = '';
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  let settingsFile = path.join(ROOT, 'dist', 'settings.js');
  if (opts.nodeRedDefaults) {
    settingsFile = path.join(userDir, 'settings-user.js');
    const own = { uiHost: '127.0.0.1', uiPort: port, flowFile: 'flows.json', credentialSecret: 'test-secret', ...opts.settings };
    fs.writeFileSync(settingsFile, `module.exports = ${JSON.stringify(own)};\n`);
  } else if (opts.settings) {
    settingsFile = path.join(userDir, 'settings-overlay.js');
    fs.writeFileSync(
      settingsFile,
      `module.exports = { ...require(${JSON.stringify(path.join(ROOT, 'dist', 'settings.js'))}), ...${JSON.stringify(opts.settings)} };\n`,
    );
  }
  const adminPath = String(opts.settings?.httpAdminRoot ?? '').replace(/\/+$/, '');
  const args = nodeRedArgs(opts.via ?? 'npm-start', userDir, settingsFile, opts.nodeRedDefaults || opts.plainNode);
  if (opts.via === 'red') linkPackage(ROOT, userDir, pkg.name);
  // npm start says when it is ready (after its own set-up); red.js when its API answers. Either
  // way the flows must have started too (Node-RED serves its API before it starts them).
  let lastProbe = 'not asked yet';
  const ready = async () => {
    if (opts.via !== 'red' && !/is running: http/.test(out)) return false;
    const p = await probeFlows(`http://127.0.0.1:${port}${adminPath}`);
    lastProbe = p.seen;
    return p.started > 0;
  };
  // A node report on SIGUSR2 (Node's diagnostic report): a start that hangs says where it hangs.
  const reportArgs = opts.via === 'red' ? ['--report-on-signal', `--report-directory=${userDir}`] : [];
  const child: ChildProcess = spawn(process.execPath, [...reportArgs, ...(opts.nodeArgs ?? []), ...args], {
    env: await nodeRedEnv(opts.via ?? 'npm-start', { port, userDir, flowFile, env: opts.env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  // As long as `npm start` gives the editor (scripts/start.ts): a start takes 2 s here, but a
  // machine still busy writing out what a test pass before it left may make it far slower.
  const spawnedAt = new Date();
  const deadline = spawnedAt.getTime() + 120_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`Node-RED exited early (${child.exitCode ?? child.signalCode}):\n${out}`);
    if (await ready()) break;
    if (Date.now() > deadline) {
      const report = reportArgs.length ? await nodeReport(child, userDir) : '';
      child.kill('SIGKILL');
      throw new Error(
        `Node-RED, started at ${spawnedAt.toISOString()}, did not start its flows in 120 s (its admin API, last asked: ${lastProbe}):\n${out}${report}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    adminUrl: url + adminPath,
    port,
    pid: child.pid!,
    userDir,
    flowFile,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      fs.rmSync(userDir, { recursive: true, force: true });
      return code;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async terminate(signal: NodeJS.Signals) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * How often the flows have started (once at start, once per deploy), from Tillwire's admin API; 0
 * while unknown, Infinity when the admin API asks for a login (a test that sets one up waits its
 * own way).
 */
async function flowsStarted(adminUrl: string): Promise<number> {
  return (await probeFlows(adminUrl)).started;
}

/** flowsStarted, and what the API answered (for a start that times out). */
async function probeFlows(adminUrl: string): Promise<{ started: number; seen: string }> {
  try {
    const res = await fetch(`${adminUrl}/tillwire/runtime`, { signal: AbortSignal.timeout(5000) });
    if (res.status === 401 || res.status === 403) return { started: Number.POSITIVE_INFINITY, seen: `HTTP ${res.status}` };
    if (!res.ok) return { started: 0, seen: `HTTP ${res.status}` };
    const body = (await res.json()) as { flowsStarted: number };
    return { started: body.flowsStarted, seen: `HTTP 200, flowsStarted ${body.flowsStarted}` };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { started: 0, seen: `${e.name}: ${e.cause?.code ?? e.message}` };
  }
}

/** The JavaScript stack and open handles of a Node-RED that does not start (Node's diagnostic report). */
async function nodeReport(child: ChildProcess, dir: string): Promise<string> {
  child.kill('SIGUSR2');
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    const file = fs.readdirSync(dir).find((f) => /^report\..*\.json$/.test(f));
    if (file) {
      try {
        const r = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
        const handles = (r.libuv ?? []).map((h: { type: string; is_active: boolean }) => `${h.type}${h.is_active ? '' : ' (inactive)'}`);
        return `\n--- node report ---\n${r.javascriptStack?.message}\n${(r.javascriptStack?.stack ?? []).join('\n')}\nhandles: ${handles.join(', ')}`;
      } catch {
        // still being written
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return '\n--- no node report within 5 s: its main thread is busy (a loop in JavaScript, or a blocking call) ---';
}

/**
 * Deploys credentials (a full deploy, as scripts/start.ts does) and waits until the flows have
 * started again: Node-RED answers the deploy once the old flows have stopped, and starts the new
 * ones after it (their HTTP routes answer 404 until then). False when no node took a credential.
 */
export async function deployCredentialsAndWait(nr: RunningNodeRed, credentials: Record<string, Record<string, string>>, timeoutMs = 30_000): Promise<boolean> {
  const before = await flowsStarted(nr.adminUrl);
  if (!(await deployCredentials(nr.adminUrl, credentials))) return false;
  const deadline = Date.now() + timeoutMs;
  while ((await flowsStarted(nr.adminUrl)) <= before) {
    if (Date.now() > deadline) throw new Error(`the flows did not start again within ${timeoutMs} ms of the deploy:\n${nr.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}
