/**
 * Reading V8 heap snapshots (.heapsnapshot, as `v8.writeHeapSnapshot` writes them) for the bench's
 * `--heap` switch: the objects and their self size grouped by constructor (what DevTools' summary
 * shows), the growth between two snapshots, and sample retainer paths of one group, which say who
 * holds what grew.
 */
import fs from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface Group {
  name: string;
  count: number;
  bytes: number;
}

export interface Growth extends Group {
  /** Objects and bytes more than in the earlier snapshot. */
  countDelta: number;
  bytesDelta: number;
}

function read(file: string): Snapshot {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Snapshot;
}

/** A snapshot's nodes as a small view: the group name, self size and edges of node `i` (an index, not an offset). */
function view(s: Snapshot) {
  const meta = s.snapshot.meta;
  const nf = meta.node_fields.length;
  const [typeAt, nameAt, sizeAt, edgeCountAt] = ['type', 'name', 'self_size', 'edge_count'].map((f) => meta.node_fields.indexOf(f));
  const types = meta.node_types[0];
  const n = s.nodes.length / nf;
  const group = (i: number) => {
    const type = types[s.nodes[i * nf + typeAt]];
    const name = s.strings[s.nodes[i * nf + nameAt]];
    if (type === 'object' || type === 'native') return name;
    if (type === 'closure') return `${name || '(anonymous)'}()`;
    return `(${type})`;
  };
  const size = (i: number) => s.nodes[i * nf + sizeAt];
  const firstEdge = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) firstEdge[i + 1] = firstEdge[i] + s.nodes[i * nf + edgeCountAt];
  return { n, nf, group, size, firstEdge };
}

/** Every group of a snapshot (objects by constructor, closures by function, the rest by V8 type). */
export function groups(file: string): Map<string, Group> {
  const s = read(file);
  const v = view(s);
  const out = new Map<string, Group>();
  for (let i = 0; i < v.n; i++) {
    const name = v.group(i);
    const g = out.get(name) ?? { name, count: 0, bytes: 0 };
    g.count++;
    g.bytes += v.size(i);
    out.set(name, g);
  }
  return out;
}

/** The groups that grew most in bytes from `earlier` to `later`. */
export function growth(earlier: Map<string, Group>, later: Map<string, Group>, top = 15): Growth[] {
  return [...later.values()]
    .map((g) => ({ ...g, countDelta: g.count - (earlier.get(g.name)?.count ?? 0), bytesDelta: g.bytes - (earlier.get(g.name)?.bytes ?? 0) }))
    .sort((a, b) => b.bytesDelta - a.bytesDelta)
    .slice(0, top);
}

/**
 * Up to `samples` retainer paths of objects of group `name`: from the object up through the first
 * retainer of each holder (weak edges skipped), `depth` steps, as "Group.edge ← Group.edge …".
 */
export function retainerPaths(file: string, name: string, samples = 3, depth = 8): string[] {
  const s = read(file);
  const v = view(s);
  const ef = s.snapshot.meta.edge_fields.length;
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => s.snapshot.meta.edge_fields.indexOf(f));
  const edgeTypes = s.snapshot.meta.edge_types[0];
  // First strong retainer of each node: the holder and the edge's label.
  const holder = new Int32Array(v.n).fill(-1);
  const label: string[] = new Array(v.n);
  for (let from = 0; from < v.n; from++) {
    for (let e = v.firstEdge[from]; e < v.firstEdge[from + 1]; e++) {
      const type = edgeTypes[s.edges[e * ef + eType]];
      if (type === 'weak' || type === 'shortcut') continue;
      const to = s.edges[e * ef + eTo] / v.nf;
      if (holder[to] !== -1) continue;
      holder[to] = from;
      const raw = s.edges[e * ef + eName];
      label[to] = type === 'element' || type === 'hidden' ? `[${raw}]` : s.strings[raw];
    }
  }
  const members: number[] = [];
  for (let i = 0; i < v.n; i++) if (v.group(i) === name) members.push(i);
  const out: string[] = [];
  for (let k = 0; k < Math.min(samples, members.length); k++) {
    const i = members[Math.floor((k * members.length) / samples)];
    const chain: string[] = [name];
    for (let at = i, d = 0; d < depth && holder[at] !== -1; d++) {
      chain.push(`${v.group(holder[at])}.${label[at]}`);
      at = holder[at];
    }
    out.push(chain.join(' ← '));
  }
  return out;
}
