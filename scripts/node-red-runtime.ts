/**
 * Which Node-RED `npm start` and the tests run: Node-RED 5 (the dev dependency `node-red-5`) when
 * this Node can run it (5 needs Node 22.9 or later), else Node-RED 4.1 (the compatibility lane on
 * Node 20). `TILLWIRE_NODE_RED` names another Node-RED folder explicitly.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface NodeRedRuntime {
  /** Its package folder. */
  dir: string;
  /** Path of red.js. */
  redJs: string;
  /** Its version, from its package.json. */
  version: string;
  /** Why this one: shown by `npm start`. */
  reason: string;
}

/** Node-RED 5's own floor (its package.json `engines`). */
const NR5_MIN_NODE = [22, 9];

export function nodeAtLeast(version: string, [major, minor]: number[]): boolean {
  const [a, b] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

export function nodeRedRuntime(root: string, env: NodeJS.ProcessEnv = process.env, nodeVersion = process.versions.node): NodeRedRuntime {
  const at = (dir: string, reason: string): NodeRedRuntime => {
    const version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version as string;
    return { dir, redJs: path.join(dir, 'red.js'), version, reason };
  };
  const pkgDir = (name: string): string | undefined => {
    try {
      return path.dirname(require.resolve(`${name}/package.json`, { paths: [root] }));
    } catch {
      return undefined;
    }
  };
  if (env.TILLWIRE_NODE_RED) return at(path.resolve(env.TILLWIRE_NODE_RED), 'TILLWIRE_NODE_RED');
  const five = pkgDir('node-red-5');
  if (five && nodeAtLeast(nodeVersion, NR5_MIN_NODE)) return at(five, `Node ${nodeVersion} runs Node-RED 5`);
  const four = pkgDir('node-red');
  if (!four) throw new Error('Node-RED is not installed: run npm ci first');
  const reason = five ? `Node ${nodeVersion} is older than ${NR5_MIN_NODE.join('.')}, which Node-RED 5 needs` : 'node-red-5 is not installed';
  return at(four, reason);
}
