/**
 * Every flow file we ship (the default flows and the templates in examples/) is importable as it
 * stands: valid JSON, each id once, every wire and config reference pointing at a node in the same
 * file, and every Tillwire node type registered by the package.
 */
import fs from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const registered = new Set(Object.keys(pkg['node-red'].nodes));
const files = [
  path.join(root, 'flows', 'flows.json'),
  ...fs
    .readdirSync(path.join(root, 'examples'))
    .filter((f) => f.endsWith('.json'))
    .map((f) => path.join(root, 'examples', f)),
];
// Properties that hold the id of another node (config nodes, scopes).
const REFERENCES = [
  'store',
  'odoo',
  'bc',
  'businessCentral',
  'broker',
  'shopify',
  'amazon',
  'square',
  'bol',
  'register',
  'xero',
  'quickbooks',
  'accounts',
  'nodeFilter',
];

describe.each(files.map((f) => [path.relative(root, f), f]))('%s', (_name, file) => {
  const nodes: Array<Record<string, any>> = JSON.parse(fs.readFileSync(file, 'utf8'));
  const ids = new Set(nodes.map((n) => n.id));

  it('has each node id once', () => {
    expect(nodes.length).toBe(ids.size);
  });

  it('wires, scopes and config references point at nodes in the file', () => {
    const dangling: string[] = [];
    for (const n of nodes) {
      for (const out of n.wires ?? []) for (const target of out) if (!ids.has(target)) dangling.push(`${n.id} → ${target}`);
      for (const target of Array.isArray(n.scope) ? n.scope : []) if (!ids.has(target)) dangling.push(`${n.id} scope ${target}`);
      for (const prop of REFERENCES) if (typeof n[prop] === 'string' && n[prop] !== '' && !ids.has(n[prop])) dangling.push(`${n.id}.${prop} = ${n[prop]}`);
      if (n.z && !ids.has(n.z) && !file.includes('examples')) dangling.push(`${n.id} on missing tab ${n.z}`);
    }
    expect(dangling).toEqual([]);
  });

  it('replays rejected till messages back through the till node (its checks and sales register), never straight to an ERP', () => {
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const tills = nodes.filter((n) => n.type === 'tillwire-pos-mqtt-in');
    const problems: string[] = [];
    for (const till of tills) {
      const back = nodes.filter((n) => n.type === 'tillwire-replay' && n.nodeFilter === till.id);
      if (!back.length) problems.push(`${till.id}: no replay node for its dead letters`);
      for (const r of back)
        if (JSON.stringify(r.wires) !== JSON.stringify([[till.id]])) problems.push(`${r.id} replays ${till.id}'s dead letters to ${r.wires}`);
    }
    // A replay node without a node filter on a till tab would also send the till node's dead letters past it.
    const tillTabs = new Set(tills.map((t) => t.z));
    for (const r of nodes.filter((n) => n.type === 'tillwire-replay' && !n.nodeFilter && tillTabs.has(n.z))) {
      problems.push(
        `${r.id} replays every dead letter of its flow to ${r.wires
          .flat()
          .map((id: string) => byId.get(id)?.type)
          .join(', ')}`,
      );
    }
    expect(problems).toEqual([]);
  });

  it('uses only Tillwire node types the package registers', () => {
    const unknown = nodes.map((n) => String(n.type)).filter((t) => t.startsWith('tillwire-') && !registered.has(t));
    expect(unknown).toEqual([]);
  });
});

it('every node the package registers appears in at least one template under Import ▸ Examples', () => {
  const shown = new Set(
    files.filter((f) => f.includes(`${path.sep}examples${path.sep}`)).flatMap((f) => JSON.parse(fs.readFileSync(f, 'utf8')).map((n: any) => n.type)),
  );
  expect([...registered].filter((type) => !shown.has(type))).toEqual([]);
});
