/**
 * Runs Node-RED the two ways users start it (red.js with the product's settings, or `npm start`)
 * and waits for it to exit on its own: for start-up refusals, where startNodeRed only reports
 * "exited early". A start that gets as far as serving is stopped at once and reported as such.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, nodeRedArgs, nodeRedEnv } from '../support/node-red-process';

export interface Exit {
  code: number | null;
  output: string;
  /** True when Node-RED got as far as listening (it was then stopped by this helper). */
  served: boolean;
}

export async function runToExit(via: 'red' | 'npm-start', env: Record<string, string>): Promise<Exit> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-refuse-'));
  const flowFile = path.join(userDir, 'flows.json');
  fs.writeFileSync(flowFile, '[]');
  const child = spawn(process.execPath, nodeRedArgs(via, userDir), {
    env: await nodeRedEnv(via, { port: await freePort(), userDir, flowFile, env }),
    stdio: ['ignore', 'pipe', 'pipe'],
    // its own process group, so npm start's Node-RED child is stopped with it
    detached: true,
  });
  const killAll = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  let output = '';
  let served = false;
  const onData = (d: Buffer) => {
    output += d;
    // Never leave an editor listening: the moment Node-RED says it serves, stop it.
    if (!served && /Server now running/.test(output)) {
      served = true;
      killAll();
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const timer = setTimeout(killAll, 60_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  killAll(); // npm start's Node-RED child, should it outlive its parent
  fs.rmSync(userDir, { recursive: true, force: true });
  return { code, output, served };
}
