/**
 * node-red-node-test-helper wired to the Node-RED runtime under test: the one `npm start` runs on
 * this Node (scripts/node-red-runtime.ts: 5 on Node 22.9+, else 4.1), or TILLWIRE_NODE_RED's.
 */
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import { nodeRedRuntime } from '../../scripts/node-red-runtime';

export const runtimePath = require.resolve(nodeRedRuntime(path.resolve(__dirname, '../..')).dir);
helper.init(runtimePath);

export { helper };

export function startServer(): Promise<void> {
  return new Promise((resolve) => helper.startServer(() => resolve()));
}

export async function stopAll(): Promise<void> {
  await helper.unload();
  await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
}

/** Resolves with the next `n` messages a helper node receives. */
export function collect(node: any, n: number, timeoutMs = 10_000): Promise<any[]> {
  const got: any[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`expected ${n} messages, got ${got.length}`)), timeoutMs);
    node.on('input', (msg: any) => {
      got.push(msg);
      if (got.length === n) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

/** Resolves once `predicate` holds, checking after each event loop turn (bounded). */
export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * node-red-node-test-helper 0.3.6 gives the loaded nodes a RED.httpNode (its runtime's node app)
 * that the server behind helper.url() does not serve. Load `httpNodeProbe` with the nodes, call
 * `serveHttpNode()` after startServer, and webhook routes answer at helper.url() as in Node-RED.
 */
let currentHttpNode: any;
export function httpNodeProbe(RED: any): void {
  currentHttpNode = RED.httpNode;
}
export function serveHttpNode(): void {
  (helper as any)._app.use((req: any, res: any, next: any) => (currentHttpNode ? currentHttpNode(req, res, next) : next()));
}
export function httpNodeApp(): any {
  return currentHttpNode;
}
