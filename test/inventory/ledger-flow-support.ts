/**
 * What the inventory ledger's flow tests share: a real Node-RED (red.js with the product's
 * settings) with an editor login (a read-only user `ops`, as an operator reading the explain API),
 * its flows and credentials written to a user directory of its own, started once its flows run; the
 * admin API as that user calls it; the function node source that keeps what reaches it for a
 * `/seen` read-out; the observed reserve node; an order document.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adminAuthSettings, adminToken } from '../support/admin-auth';
import { RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { writeDemoCredentials } from '../../scripts/start';

export const PASSWORD = 'stock horse battery';

/** A function node's source that keeps `msg.payload` in the flow context under `name`. */
export const record = (name: string) => `const list = flow.get('${name}') || []; list.push(msg.payload); flow.set('${name}', list); return null;`;

export interface LedgerRuntime {
  red: RunningNodeRed;
  /** A bearer token of `ops` (read only). */
  reader: string;
  /** A GET of the admin API, with `bearer` if given; the body parsed when it is JSON. */
  admin(route: string, bearer?: string): Promise<{ status: number; body: any }>;
  token(username: string, scope: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts Node-RED on `flows` with the users `ops` (read) and any `moreUsers`, and `credentials`
 * (node id → values) encrypted as the product stores them; resolves once the flows run.
 */
export async function startLedgerRuntime(
  flows: unknown[],
  o: { credentials?: Record<string, Record<string, string>>; moreUsers?: Array<{ username: string; permissions: string }> } = {},
): Promise<LedgerRuntime> {
  const secretBefore = process.env.TILLWIRE_CREDENTIAL_SECRET;
  process.env.TILLWIRE_CREDENTIAL_SECRET = 'test-secret';
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-ledger-flow-'));
  const flowFile = path.join(userDir, 'flows.json');
  fs.writeFileSync(flowFile, JSON.stringify(flows));
  if (o.credentials) writeDemoCredentials(userDir, flowFile, o.credentials);
  const red = await startNodeRed({
    via: 'red',
    userDir,
    settings: adminAuthSettings(PASSWORD, [{ username: 'ops', permissions: 'read' }, ...(o.moreUsers ?? [])]),
  });
  const admin = async (route: string, bearer?: string) => {
    const res = await fetch(`${red.url}${route}`, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {}, signal: AbortSignal.timeout(20_000) });
    const text = await res.text();
    try {
      return { status: res.status, body: JSON.parse(text) };
    } catch {
      return { status: res.status, body: text };
    }
  };
  const token = (username: string, scope: string) => adminToken(red.url, username, PASSWORD, scope);
  const reader = await token('ops', 'read');
  const end = Date.now() + 30_000;
  while (((await admin('/tillwire/runtime', reader)).body?.flowsStarted ?? 0) < 1) {
    if (Date.now() > end) throw new Error(`flows did not start\n${red.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    red,
    reader,
    admin,
    token,
    async stop() {
      await red.stop();
      fs.rmSync(userDir, { recursive: true, force: true });
      if (secretBefore === undefined) delete process.env.TILLWIRE_CREDENTIAL_SECRET;
      else process.env.TILLWIRE_CREDENTIAL_SECRET = secretBefore;
    },
  };
}

/** An accepted Shopify order (account shop-eu) of `quantity` units of `sku`, as a canonical document. */
export const shopifyOrder = (sku: string, id: string, quantity: number, unitAmount = 1200) => ({
  kind: 'order',
  id: `shopify-${id}`,
  channel: { system: 'shopify', account: 'shop-eu', id },
  status: 'accepted',
  createdAt: '2026-12-05T09:00:00Z',
  currency: 'EUR',
  lines: [{ lineId: '1', sku, quantity, unitPrice: { amount: unitAmount, currency: 'EUR' }, lineTotal: { amount: unitAmount * quantity, currency: 'EUR' } }],
});

/**
 * The common part of these flows, on tab `tab` with a SQLite store `st`: POST `/doc` (and whatever
 * the test wires to `guard`) into the reserve node `guard`, answered at once; each of its outputs
 * (`booked`: `bookedAs`, default `msg.inventory`; `oversell`; `drift`) and every error of the nodes
 * in `catchScope` (`caught`: the message) kept for GET `/seen` (plus `seenExtra`, source run there).
 */
export function observedReserve(o: {
  label: string;
  guard: Record<string, unknown>;
  catchScope?: string[];
  bookedAs?: string;
  seenExtra?: string;
}): Record<string, unknown>[] {
  const shown = "msg.payload = Object.fromEntries(['booked', 'oversell', 'drift', 'caught'].map((k) => [k, flow.get(k) || []]));\n";
  return [
    { id: 'tab', type: 'tab', label: o.label },
    { id: 'st', type: 'tillwire-store', name: 'ledger', backend: 'sqlite', file: 'tillwire.db', schema: 'tillwire', synchronous: 'normal' },
    { id: 'doc', type: 'http in', z: 'tab', url: '/doc', method: 'post', wires: [['guard', 'ack']] },
    { id: 'ack', type: 'function', z: 'tab', func: 'msg.payload = { accepted: true };\nreturn msg;', outputs: 1, wires: [['res']] },
    { id: 'res', type: 'http response', z: 'tab', statusCode: '', headers: {} },
    { id: 'guard', type: 'tillwire-inventory-reserve', z: 'tab', store: 'st', ...o.guard, wires: [['booked'], ['oversell'], ['drift']] },
    { id: 'booked', type: 'function', z: 'tab', func: `msg.payload = ${o.bookedAs ?? 'msg.inventory'};\n` + record('booked'), outputs: 1, wires: [] },
    { id: 'oversell', type: 'function', z: 'tab', func: record('oversell'), outputs: 1, wires: [] },
    { id: 'drift', type: 'function', z: 'tab', func: record('drift'), outputs: 1, wires: [] },
    { id: 'k', type: 'catch', z: 'tab', scope: o.catchScope ?? ['guard'], uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'function', z: 'tab', func: 'msg.payload = msg.error.message;\n' + record('caught'), outputs: 1, wires: [] },
    { id: 'seen', type: 'http in', z: 'tab', url: '/seen', method: 'get', wires: [['show']] },
    { id: 'show', type: 'function', z: 'tab', func: shown + (o.seenExtra ?? '') + 'return msg;', outputs: 1, wires: [['res']] },
  ];
}
