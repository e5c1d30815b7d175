/**
 * `npm start`: runs Node-RED with Tillwire on embedded defaults: Node-RED 5 on Node 22.9 or later,
 * else 4.1 (scripts/node-red-runtime.ts); it prints which.
 *  1. links this package into the Node-RED user directory, so Node-RED loads it as an installed
 *     module (its examples appear under Import > Examples);
 *  2. starts the demo services the flows talk to (scripts/demo-services.ts: an embedded MQTT broker,
 *     the Odoo and Business Central simulators, a few store tills, the channel and ledger
 *     simulators), unless TILLWIRE_DEMO=0, and on a
 *     first run writes the simulators' credentials for the demo flows (encrypted, see below);
 *  3. starts Node-RED with dist/settings.js, which deploys the flows in flows/, and the heap
 *     ceiling of scripts/node-red-runtime.ts (HEAP_CEILING_MIB);
 *  4. prints the editor URL once it answers; Ctrl-C stops Node-RED cleanly (its nodes close).
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { DemoServices, seedDemoStock, startDemoServices } from './demo-services';
import { nodeRedNodeArgs, nodeRedRuntime } from './node-red-runtime';
import { adminAuth, credentialSecret, credentialsFile, editorHost, openEditorWarning } from '../nodes/runtime/runtime-settings';
import { createPrivateDir, OWNER_ONLY_FILE } from '../nodes/runtime/private-files';

/** The project root: the nearest folder above this file with our package.json (dist/scripts or scripts). */
function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
const root = findRoot(__dirname);
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const userDir = path.resolve(process.env.TILLWIRE_USER_DIR ?? path.join(root, '.node-red'));
const host = editorHost();
const port = Number(process.env.TILLWIRE_PORT ?? process.env.PORT ?? 1880);

export function linkPackage(projectRoot: string, dir: string, name: string): string {
  const target = path.join(dir, 'node_modules', ...name.split('/'));
  fs.mkdirSync(path.dirname(target), { recursive: true });
  try {
    const current = fs.readlinkSync(target);
    if (path.resolve(path.dirname(target), current) === projectRoot) return target;
    fs.unlinkSync(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EINVAL') throw new Error(`${target} exists and is not a link; remove it to run from this checkout`, { cause: err });
    if (code !== 'ENOENT') throw err;
  }
  fs.symlinkSync(projectRoot, target, 'junction');
  // Node-RED lists user-installed modules from the user directory's package.json.
  const manifest = path.join(dir, 'package.json');
  const json = fs.existsSync(manifest) ? JSON.parse(fs.readFileSync(manifest, 'utf8')) : { name: 'tillwire-user-dir', private: true };
  json.dependencies = { ...(json.dependencies ?? {}), [name]: `file:${projectRoot}` };
  fs.writeFileSync(manifest, JSON.stringify(json, null, 2) + '\n');
  return target;
}

function waitForEditor(deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const req = http.get({ host, port, path: '/settings', timeout: 2000 }, (res) => {
        res.resume();
        if (res.statusCode && res.statusCode < 500) return resolve();
        retry();
      });
      req.on('error', retry);
      req.on('timeout', () => req.destroy());
    };
    const retry = () => (Date.now() > deadline ? reject(new Error('Node-RED did not answer in time')) : setTimeout(attempt, 250));
    attempt();
  });
}

/** The simulators' credentials for the demo flows' config nodes (flows/flows.json). */
function demoCredentials(editorPort: number): Record<string, Record<string, string>> {
  return {
    'demo-so-odoo-cfg': { apiKey: 'tillwire-demo-key' },
    'demo-sb-bc-cfg': { token: 'tillwire-demo-token' },
    'demo-ch-shopify-cfg': { accessToken: 'shpat_tillwire_demo', webhookSecret: 'tillwire-demo-app-secret' },
    'demo-ch-amazon-cfg': {
      clientId: 'amzn1.application-oa2-client.tillwire',
      clientSecret: 'tillwire-demo-secret',
      refreshToken: 'Atzr|tillwire-demo-refresh-token',
    },
    'demo-ch-bol-cfg': { clientId: 'tillwire-bol-client', clientSecret: 'tillwire-bol-secret' },
    // The ledger simulators (demo-services.ts startLedgers): Xero's app secret and a refresh token, QuickBooks' app and token.
    'demo-st-xero-cfg': { clientSecret: 'tillwire-xero-secret', refreshToken: 'tillwire-xero-refresh-0' },
    'demo-st-xero-eu-cfg': { clientSecret: 'tillwire-xero-secret', refreshToken: 'tillwire-xero-refresh-0' },
    'demo-st-qbo-cfg': { clientId: 'tillwire-qbo-client', clientSecret: 'tillwire-qbo-secret', refreshToken: 'AB11-initial-refresh-token' },
    // Square signs over the notification URL exactly as registered: the demo simulator's (demo-services.ts).
    'demo-ch-square-cfg': {
      accessToken: 'sq-sim-access-token',
      signatureKey: 'sq-sim-signature-key',
      notificationUrl: `http://127.0.0.1:${editorPort}/square/webhook`,
    },
  };
}

/**
 * Credentials never live in a flows file, so on a first start (no credentials file yet) the demo's
 * are written to the credentials file before Node-RED starts: its config nodes have them from the
 * first deploy on, with or without an editor login. The file is the one Node-RED writes itself,
 * encrypted with the same credential secret the settings use: {"$": the 16-byte IV in hex, then the
 * AES-256-CTR ciphertext of the credentials JSON in base64}, the key being the SHA-256 of the secret.
 */
export function writeDemoCredentials(userDir: string, flowFile: string, credentials: Record<string, Record<string, string>>): boolean {
  const file = credentialsFile(userDir, flowFile);
  if (fs.existsSync(file) || !fs.existsSync(flowFile)) return false;
  let nodes: Array<{ id?: string }>;
  try {
    nodes = JSON.parse(fs.readFileSync(flowFile, 'utf8'));
  } catch {
    return false; // Node-RED reports a flows file it cannot read
  }
  const ids = new Set((Array.isArray(nodes) ? nodes : []).map((n) => n.id));
  const wanted = Object.fromEntries(Object.entries(credentials).filter(([id]) => ids.has(id)));
  if (!Object.keys(wanted).length) return false;
  const key = crypto.createHash('sha256').update(credentialSecret(userDir)).digest();
  const iv = crypto.randomBytes(16);
  const cipher = crypto.createCipheriv('aes-256-ctr', key, iv);
  const sealed = iv.toString('hex') + cipher.update(JSON.stringify(wanted), 'utf8', 'base64') + cipher.final('base64');
  fs.writeFileSync(file, JSON.stringify({ $: sealed }), { mode: OWNER_ONLY_FILE, flag: 'wx' });
  return true;
}

/**
 * Redeploys the running flows with credentials for the given node ids (admin API v2, credentials
 * inline per node). Returns false when none of the ids is deployed.
 */
export async function deployCredentials(base: string, credentials: Record<string, Record<string, string>>): Promise<boolean> {
  const headers = { 'content-type': 'application/json', 'Node-RED-API-Version': 'v2' };
  const current = (await (await fetch(`${base}/flows`, { headers })).json()) as { rev: string; flows: Array<Record<string, unknown>> };
  if (!current.flows.some((n) => credentials[String(n.id)])) return false;
  const flows = current.flows.map((n) => (credentials[String(n.id)] ? { ...n, credentials: credentials[String(n.id)] } : n));
  const res = await fetch(`${base}/flows`, {
    method: 'POST',
    headers: { ...headers, 'Node-RED-Deployment-Type': 'full' },
    body: JSON.stringify({ rev: current.rev, flows }),
  });
  if (!res.ok) throw new Error(`deploying credentials failed: HTTP ${res.status} ${await res.text()}`);
  return true;
}

async function main(): Promise<void> {
  // The settings refuse an open editor on a network address; checked here first too, so a refusal
  // comes before the demo services start (the settings print the warnings).
  openEditorWarning(host, !!adminAuth());
  createPrivateDir(userDir);
  linkPackage(root, userDir, pkg.name);
  let demo: DemoServices | undefined;
  if (process.env.TILLWIRE_DEMO !== '0') {
    try {
      demo = await startDemoServices(userDir);
    } catch (err) {
      console.error(`[tillwire] demo services did not start (${(err as Error).message}); the demo flows will show errors`);
    }
  }
  const flowFile = path.resolve(process.env.TILLWIRE_FLOW_FILE ?? path.join(root, 'flows', 'flows.json'));
  if (demo && writeDemoCredentials(userDir, flowFile, demoCredentials(port))) {
    console.log(`[tillwire] wrote the simulators' credentials for the demo flows (encrypted) to ${credentialsFile(userDir, flowFile)}`);
  }
  if (demo) {
    await seedDemoStock(userDir).catch((err: Error) =>
      console.error(`[tillwire] the demo's opening stock was not written (${err.message}); the Stock → every channel tab offers 0`),
    );
  }
  const runtime = nodeRedRuntime(root);
  console.log(`[tillwire] Node-RED ${runtime.version} on Node ${process.versions.node} (${runtime.reason})`);
  const child = spawn(process.execPath, [...nodeRedNodeArgs(), runtime.redJs, '--settings', path.join(root, 'dist', 'settings.js'), '--userDir', userDir], {
    stdio: 'inherit',
    env: { ...process.env, ...demo?.env, TILLWIRE_USER_DIR: userDir },
  });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n[tillwire] stopping Node-RED (${signal})…`);
    child.kill(signal);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  child.on('exit', (code, signal) => {
    const exit = () => process.exit(code ?? (signal ? 0 : 1));
    // The simulators stop in well under a second; never let one keep the process alive.
    setTimeout(exit, 10_000).unref();
    (demo ? demo.stop() : Promise.resolve()).then(exit, exit);
  });
  waitForEditor(Date.now() + 120_000).then(
    () =>
      console.log(
        `\n[tillwire] Node-RED with Tillwire ${pkg.version} (Node-RED ${runtime.version}) is running: http://${host}:${port}/\n[tillwire] Ctrl-C stops it.\n`,
      ),
    (err) => console.error(`[tillwire] ${err.message}`),
  );
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`[tillwire] ${err.message}`);
    process.exit(1);
  });
}
