/**
 * A real Mosquitto (/usr/sbin/mosquitto) for one test file: started on a free loopback port with a
 * temporary copy of config/mosquitto/tillwire.conf (listener port and persistence directory
 * replaced, other settings optionally overridden), so tests do not depend on the machine's own
 * broker on 1883, whose settings are the defaults.
 *
 *   const broker = await startMosquitto();                      // tillwire.conf as shipped
 *   const defaults = await startMosquitto({ settings: { max_queued_messages: null } }); // drop a line
 *   ...
 *   await broker.terminate('SIGKILL'); await broker.restart();   // crash and restart, same data
 *   await broker.stop();                                          // SIGTERM, wait, delete temp dir
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from './root';
export { freePort } from './free-port';
import { freePort } from './free-port';

export const MOSQUITTO_BIN = process.env.TILLWIRE_MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';
export const TILLWIRE_CONF = path.join(projectRoot(), 'config', 'mosquitto', 'tillwire.conf');

export interface MosquittoOptions {
  /** Configuration to copy; default config/mosquitto/tillwire.conf. */
  configFile?: string;
  /**
   * Options to replace (every line of that option is replaced by one line with the value), add
   * (when absent), or remove (value null). E.g. `{ autosave_interval: '1', max_queued_messages: null }`.
   */
  settings?: Record<string, string | number | null>;
  /** Extra configuration lines appended at the end (e.g. `acl_file ...`). */
  extra?: string[];
  /** Port to listen on; default a free one. */
  port?: number;
  /** How long to wait for the broker to accept connections; default 10 s. */
  startTimeoutMs?: number;
}

export interface RunningMosquitto {
  host: '127.0.0.1';
  port: number;
  url: string;
  /** Temporary directory holding mosquitto.conf and the persistence database. */
  dir: string;
  configFile: string;
  pid(): number | undefined;
  /** Everything the broker logged so far. */
  output(): string;
  /** Stops the process only (data kept for `restart`); SIGTERM saves the database, SIGKILL does not. */
  terminate(signal?: NodeJS.Signals): Promise<number | null>;
  /** Starts the broker again on the same port with the same configuration and data. */
  restart(): Promise<void>;
  /** SIGTERM, wait for the exit, delete the temporary directory. */
  stop(): Promise<void>;
}

/** The configuration text with the listener, persistence location and given settings replaced. */
export function renderConfig(source: string, port: number, dir: string, settings: MosquittoOptions['settings'] = {}, extra: string[] = []): string {
  const forced: Record<string, string | number | null> = {
    ...settings,
    persistence_location: dir.endsWith(path.sep) ? dir : dir + path.sep,
    pid_file: null,
    log_dest: 'stderr',
  };
  const lines = source.split(/\r?\n/);
  let listeners = 0;
  const out: string[] = [];
  const done = new Set<string>();
  for (const line of lines) {
    const m = /^([A-Za-z_]+)(\s+.*)?$/.exec(line);
    if (!m) {
      out.push(line);
      continue;
    }
    const key = m[1];
    if (key === 'listener') {
      // Only the first listener is kept, moved to the test port on loopback.
      if (listeners++ === 0) out.push(`listener ${port} 127.0.0.1`);
      continue;
    }
    if (Object.prototype.hasOwnProperty.call(forced, key)) {
      if (!done.has(key) && forced[key] !== null) out.push(`${key} ${forced[key]}`);
      done.add(key);
      continue;
    }
    out.push(line);
  }
  if (listeners === 0) out.push(`listener ${port} 127.0.0.1`);
  for (const [key, value] of Object.entries(forced)) {
    if (!done.has(key) && value !== null) out.push(`${key} ${value}`);
  }
  out.push(...extra);
  return out.join('\n') + '\n';
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<RunningMosquitto> {
  const port = opts.port ?? (await freePort());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-mosquitto-'));
  // Started as root, Mosquitto drops privileges to the "mosquitto" user, which must be able to
  // write its database here.
  fs.chmodSync(dir, 0o777);
  const configFile = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(configFile, renderConfig(fs.readFileSync(opts.configFile ?? TILLWIRE_CONF, 'utf8'), port, dir, opts.settings, opts.extra));
  fs.chmodSync(configFile, 0o644);

  let out = '';
  let child: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);

  const launch = async () => {
    const proc = spawn(MOSQUITTO_BIN, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve(code ?? (signal ? null : code))));
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`mosquitto exited at start:\n${out}`);
      if (await canConnect(port)) return;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`mosquitto did not accept connections on 127.0.0.1:${port} in time:\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  const terminate = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return proc?.exitCode ?? null;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };

  try {
    await launch();
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    host: '127.0.0.1',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    configFile,
    pid: () => child?.pid,
    output: () => out,
    terminate,
    async restart() {
      await terminate('SIGTERM');
      await launch();
    },
    async stop() {
      await terminate('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
