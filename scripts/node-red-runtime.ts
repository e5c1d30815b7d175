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

/**
 * The V8 heap ceiling Node-RED runs with under `npm start`, the container image (its NODE_OPTIONS)
 * and the tests and benchmarks, MiB. Not for the memory it caps (Tillwire's live heap stays
 * under 100 MiB through a 50,000-sale burst) but for how V8 grows the heap: with a ceiling of 2 GiB
 * or more (the default on a machine with 8 GiB or more) it lets the heap grow to four times the
 * live objects before it collects, and a burst of till sales leaves Node-RED's RSS rising with the
 * garbage (430 → 490 MiB over 50,000 sales); below 2 GiB it grows by less than twice (bench/README.md
 * "Memory"). A user's own NODE_OPTIONS --max-old-space-size wins.
 */
export const HEAP_CEILING_MIB = 1024;

/** The node options Node-RED is started with (before red.js): the heap ceiling, unless NODE_OPTIONS sets one. */
export function nodeRedNodeArgs(env: NodeJS.ProcessEnv = process.env): string[] {
  return /--max[-_]old[-_]space[-_]size/.test(env.NODE_OPTIONS ?? '') ? [] : [`--max-old-space-size=${HEAP_CEILING_MIB}`];
}
