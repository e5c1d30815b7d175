/**
 * Badge texts in the runtime's language (nodes/core/status-text.ts, node-kit.ts): a Problem is
 * German on the badge and English as an error; the retry and throttle badge speaks the language of
 * the runtime its board knows, also when the board learnt it only from bindStore (the order pollers
 * make their boards without RED). RED._ here answers from the German catalogs on disk, as Node-RED
 * does with `lang: 'de'` (the real runtime: test/i18n/runtime-locales.test.ts).
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { bindStore, callText, StatusBoard, statusTexts } from '../../nodes/core/node-kit';
import { COMMON_NAMESPACE, interpolate, MODULE } from '../../nodes/core/status-text';
import type { NodeRED, NodeStatus, RuntimeNode } from '../../nodes/core/node-red';
import { reportRetry } from '../../nodes/runtime/call-observer';

const NODES = path.join(__dirname, '../../nodes');
const german = (folder: string, name: string) => JSON.parse(fs.readFileSync(path.join(NODES, folder, 'locales/de', `${name}.json`), 'utf8'));

/** A RED whose `_` is scoped to the bol ship node set and answers in German; other keys as themselves. */
function germanRed(): NodeRED {
  const catalogs: Record<string, any> = { [COMMON_NAMESPACE]: german('core', 'store-config'), [`${MODULE}/tillwire-bol-ship`]: german('bol', 'bol-ship') };
  const _ = (key: string, vars?: Record<string, unknown>) => {
    const [ns, bare] = key.includes(':') ? [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)] : [`${MODULE}/tillwire-bol-ship`, key];
    const text = bare.split('.').reduce((at: any, part) => at?.[part], catalogs[ns]);
    return typeof text === 'string' ? interpolate(text, vars as any) : key;
  };
  const manager = Object.assign(new EventEmitter(), { state: { ok: true, opening: false }, acquire: async () => ({}) });
  return { _, nodes: { getNode: (id: string) => (id === 'st' ? { manager } : undefined) } } as unknown as NodeRED;
}

function fakeNode(): RuntimeNode & { statuses: NodeStatus[] } {
  const statuses: NodeStatus[] = [];
  return { id: 'n1', type: 't', statuses, status: (s: NodeStatus) => statuses.push(s), on() {}, send() {}, error() {}, warn() {}, log() {} } as any;
}

const BOL_SHIP = path.join(NODES, 'bol', 'bol-ship.ts');

describe('status texts in the runtime language', () => {
  it('a problem is German on the badge and English as the error message', () => {
    const t = statusTexts(germanRed(), BOL_SHIP);
    expect(t.problem('status.badCarrierMap', { error: 'Unexpected token' })).toEqual({
      badge: 'die Versanddienstleister-Zuordnung ist kein JSON-Objekt: Unexpected token',
      message: 'carrier map is not a JSON object: Unexpected token',
    });
  });

  it('without a catalog the badge is the English text too, never the key', () => {
    const t = statusTexts({} as NodeRED, BOL_SHIP);
    expect(t('status.counts', { sent: 2, repeats: 1 })).toBe('2 sent · 1 repeats');
    expect(t.problem('status.noAccount')).toEqual({ badge: 'no bol.com account configured', message: 'no bol.com account configured' });
  });

  it('the retry and throttle texts: English without a runtime, German with a German one; operation and kind stay codes', () => {
    const throttle = { type: 'throttle' as const, system: 'shopify', operation: 'inventorySetQuantities', waitMs: 1000 };
    const retry = { type: 'retry' as const, system: 'shopify', operation: 'x', waitMs: 1000, kind: 'timeout' as const };
    expect([callText(throttle), callText(retry), callText({ ...retry, status: 503 })]).toEqual([
      'throttled: inventorySetQuantities',
      'retrying: timeout',
      'retrying: HTTP 503',
    ]);
    const RED = germanRed();
    expect([callText(throttle, RED), callText(retry, RED), callText({ ...retry, status: 503 }, RED)]).toEqual([
      'gedrosselt: inventorySetQuantities',
      'Wiederholung: timeout',
      'Wiederholung: HTTP 503',
    ]);
  });

  it('a board made without RED shows retries in the runtime language once bindStore has bound it', async () => {
    const node = fakeNode();
    const board = new StatusBoard(node);
    bindStore(germanRed(), node, 'st', board);
    await board.watch(async () => reportRetry({ system: 'bol', operation: 'shipment', attempt: 1, waitMs: 10 }, { kind: 'unavailable', status: 503 }));
    expect(node.statuses.at(-1)).toEqual({ fill: 'yellow', shape: 'ring', text: 'Wiederholung: HTTP 503' });
  });
});
