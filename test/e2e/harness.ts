/**
 * End-to-end harness: the real Mosquitto (config/mosquitto/tillwire.conf), the Odoo simulator,
 * and a real Node-RED process running the "Store sales (MQTT) → Odoo" template, with a few core
 * nodes added so the test can read the gap and control-total outputs over HTTP.
 */
import fs from 'node:fs';
import path from 'node:path';
import { OdooSimulator, OdooFaults } from '../../simulators/odoo/simulator';
import { startMosquitto, RunningMosquitto } from '../support/mosquitto';
import { ROOT, startNodeRed, RunningNodeRed, freePort, deployCredentialsAndWait } from '../support/node-red-process';

export const TEMPLATE = path.join(ROOT, 'examples', 'Store sales (MQTT) → Odoo.json');

export interface E2E {
  broker: RunningMosquitto;
  odoo: OdooSimulator;
  odooUrl: string;
  red?: RunningNodeRed;
  userDir?: string;
  port?: number;
}

export async function startServices(faults?: OdooFaults): Promise<E2E> {
  const broker = await startMosquitto();
  const odoo = new OdooSimulator({ faults });
  const odooUrl = await odoo.start();
  return { broker, odoo, odooUrl };
}

/** The shipped "Store sales (MQTT) → Business Central" template on one tab, as a user deploys it on Mosquitto (MQTT 5, as its notes advise). */
export function bcTemplateFlows(tabId = 'bc-tab'): any[] {
  const template: any[] = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', 'Store sales (MQTT) → Business Central.json'), 'utf8'));
  const tab = { id: tabId, type: 'tab', label: 'store sales → BC' };
  return [
    tab,
    ...template.map((n) => {
      const node = { ...n };
      if (!['tillwire-store', 'tillwire-mqtt-broker', 'tillwire-bc-config'].includes(node.type)) node.z = tab.id;
      if (node.type === 'tillwire-mqtt-broker') node.protocolVersion = 5;
      return node;
    }),
  ];
}

/** The template on a tab, tuned for load, with HTTP read-outs of gaps and till reports. */
export function e2eFlows(opts: { odooTimeoutSeconds?: number; maxInFlight?: number; odooConcurrency?: number } = {}): any[] {
  const template: any[] = JSON.parse(fs.readFileSync(TEMPLATE, 'utf8'));
  const tab = { id: 'e2e-tab', type: 'tab', label: 'e2e' };
  const flows: any[] = [tab];
  for (const n of template) {
    const node = { ...n };
    if (!['tillwire-store', 'tillwire-mqtt-broker', 'tillwire-odoo-config'].includes(node.type)) node.z = tab.id;
    if (node.type === 'tillwire-mqtt-broker') node.protocolVersion = 5;
    if (node.type === 'tillwire-odoo-config') {
      node.maxConcurrent = opts.odooConcurrency ?? 8;
      node.ratePerSecond = 0;
      node.timeout = opts.odooTimeoutSeconds ?? 30;
      node.retryDelay = 50;
      node.maxRetryWait = 2;
      node.attempts = 8;
    }
    if (node.type === 'tillwire-pos-mqtt-in') {
      node.gapGraceSeconds = 2;
      node.maxInFlight = opts.maxInFlight ?? 2000;
      node.wires = [node.wires[0], ['e2e-gaps'], ['e2e-reconcile']];
    }
    if (node.type === 'debug') node.active = false; // 50,000 messages to the sidebar help nobody
    flows.push(node);
  }
  const store = template.find((n) => n.type === 'tillwire-store').id;
  flows.push(
    {
      id: 'e2e-gaps',
      type: 'function',
      z: tab.id,
      name: 'keep gaps',
      func: "const g = global.get('gaps') || []; g.push(msg.payload); global.set('gaps', g); return null;",
      outputs: 1,
      wires: [[]],
    },
    {
      id: 'e2e-reconcile',
      type: 'tillwire-reconcile',
      z: tab.id,
      name: '',
      store,
      mode: 'till-close',
      erpSystem: '',
      wires: [['e2e-reports'], ['e2e-reports']],
    },
    {
      id: 'e2e-reports',
      type: 'function',
      z: tab.id,
      name: 'keep reports',
      func: "const r = global.get('reports') || []; r.push(msg.payload); global.set('reports', r); return null;",
      outputs: 1,
      wires: [[]],
    },
    { id: 'e2e-http', type: 'http in', z: tab.id, name: '', url: '/e2e/:what', method: 'get', upload: false, wires: [['e2e-read']] },
    {
      id: 'e2e-read',
      type: 'function',
      z: tab.id,
      name: 'read',
      func: 'msg.payload = global.get(msg.req.params.what) || []; return msg;',
      outputs: 1,
      wires: [['e2e-out']],
    },
    { id: 'e2e-out', type: 'http response', z: tab.id, name: '', statusCode: '', headers: {}, wires: [] },
  );
  return flows;
}

export interface StartRedOptions {
  /** 'red' (default) runs red.js itself; 'npm-start' runs it as `npm start` does (signals go through its wrapper). */
  via?: 'red' | 'npm-start';
  /** More credentials to deploy on the first start, by node id (e.g. a PostgreSQL store's URL). */
  credentials?: Record<string, Record<string, string>>;
  /** Options for the node binary (StartOptions.nodeArgs), e.g. the benchmark's `--cpu-prof`. */
  nodeArgs?: string[];
}

export async function startRed(e: E2E, flows?: any[], opts: StartRedOptions = {}): Promise<RunningNodeRed> {
  e.port ??= await freePort();
  const red = await startNodeRed({
    via: opts.via ?? 'red',
    flows: e.userDir ? undefined : flows,
    userDir: e.userDir,
    port: e.port,
    nodeArgs: opts.nodeArgs,
    // TILLWIRE_DEMO=0: under npm start, no demo services replace the test's broker and Odoo.
    env: { TILLWIRE_MQTT_URL: e.broker.url, TILLWIRE_ODOO_URL: e.odooUrl, TILLWIRE_LOG_LEVEL: 'warn', TILLWIRE_DEMO: '0' },
  });
  e.userDir = red.userDir;
  e.red = red;
  if (!fs.existsSync(path.join(red.userDir, 'flows_cred.json'))) {
    const cfg = (flows ?? []).find((n) => n.type === 'tillwire-odoo-config');
    const credentials = { ...(cfg ? { [cfg.id]: { apiKey: 'tillwire-demo-key' } } : {}), ...opts.credentials };
    if (Object.keys(credentials).length) await deployCredentialsAndWait(red, credentials);
  }
  return red;
}

export async function getJson(url: string): Promise<any> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

/** Polls `check` until it returns true; throws with `describe()` after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, describe: () => string | Promise<string>): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out: ${await describe()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export function odooRefs(odoo: OdooSimulator): string[] {
  return odoo.orders().map((o) => String(o.client_order_ref));
}
