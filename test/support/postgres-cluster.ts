/**
 * A private PostgreSQL cluster for one test: initdb into a temporary directory, listening on a free
 * loopback port (its Unix socket in the same directory), trust authentication. A test can stop and
 * start it at will without touching the machine's own PostgreSQL on 5432, which other work uses.
 *
 *   const pg = await startPostgresCluster();   // pg.url = postgres://postgres@127.0.0.1:<port>/postgres
 *   await pg.stop(); await pg.start();         // the same data, the same port
 *   await pg.remove();                         // stopped and deleted
 *
 * PostgreSQL refuses to run as root, so when the tests run as root the cluster's commands run as the
 * `postgres` user (runuser), which owns the directory.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './mosquitto';

const run = promisify(execFile);

export interface PostgresCluster {
  port: number;
  dir: string;
  /** Connection URL over TCP on 127.0.0.1 as the superuser `postgres`, database `postgres`. */
  url: string;
  /** Fast shutdown (clients are disconnected), data kept. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and deletes its directory. */
  remove(): Promise<void>;
}

/** The newest installed PostgreSQL's bin directory (Debian layout), or TILLWIRE_PG_BIN. */
export function postgresBin(): string {
  if (process.env.TILLWIRE_PG_BIN) return process.env.TILLWIRE_PG_BIN;
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base) ? fs.readdirSync(base).filter((v) => fs.existsSync(path.join(base, v, 'bin', 'initdb'))) : [];
  if (!versions.length) throw new Error(`no PostgreSQL server binaries under ${base} (set TILLWIRE_PG_BIN)`);
  versions.sort((a, b) => Number(b) - Number(a));
  return path.join(base, versions[0], 'bin');
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = postgresBin();
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-pg-'));
  const data = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    fs.chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const pgRun = (cmd: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args]) : run(path.join(bin, cmd), args);
  await pgRun('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
  const options = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c fsync=off -c max_connections=50`;
  const start = async () => {
    await pgRun('pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  };
  const stop = async () => {
    await pgRun('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
  };
  try {
    await start();
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let removed = false;
  return {
    port,
    dir,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    start,
    async remove() {
      if (removed) return;
      removed = true;
      await stop().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
