/**
 * The available-to-sell rules as finance and operations staff set them in the `tillwire-inventory`
 * dialog: the known stock locations, per channel (system + account) the locations it sells from and
 * how much of their stock it is offered, and the bundles (a bundle SKU made of components × quantity).
 *
 * `compileRules` reads what the dialog (or a flow file) saved, names every problem it finds and,
 * when there are none, returns the rules in the form the engine uses (available-to-sell.ts): the
 * channels keyed by `channelKey`, the bundles' components and, per SKU, the bundles it is part of.
 * Rules with problems are never half used: a channel would otherwise be offered stock by a rule
 * someone mistyped. docs/inventory.md, "Available to sell: the formula and the rules".
 */

/** Limits that keep a mistyped figure from reading as a rule ("absurd sizes"). */
export const RULE_LIMITS = {
  locations: 1_000,
  channels: 100,
  bundles: 20_000,
  componentsPerBundle: 50,
  /** Units of one component in one bundle. */
  componentQuantity: 10_000,
  /** Buffer, maximum listed and threshold, in units. */
  units: 1_000_000_000,
  /** Bundles inside bundles, levels deep. */
  bundleDepth: 5,
  statesPerChannel: 20,
  idLength: 255,
} as const;

const SYSTEM_NAME = /^[a-z][a-z0-9._-]{0,63}$/;

export interface ChannelRule {
  system: string;
  account?: string;
  /** Location ids whose stock the channel sells from (each one of the rules' locations). */
  locations: string[];
  /** Whole percent (0–100) of the pooled sellable stock offered to the channel. */
  allocationPercent: number;
  /** Units always held back from the channel. */
  buffer: number;
  /** The most the channel is ever offered; undefined: no cap. */
  maxListed?: number;
  /** A figure below this is sent as 0 (0: never). */
  zeroBelow: number;
  /** Channel-reported states whose units are not sellable (damaged, quality_control…). */
  unsellableStates: string[];
  /** Count units in transit to a location as sellable there (default no: they may never arrive). */
  countInTransit: boolean;
}

export interface BundleComponent {
  sku: string;
  quantity: number;
}

export interface InventoryRules {
  locations: string[];
  channels: ChannelRule[];
  /** Bundle SKU → its components (a bundle may contain another bundle). */
  bundles: Map<string, BundleComponent[]>;
  /** SKU → every bundle that contains it, directly or through another bundle. */
  partOf: Map<string, string[]>;
}

export interface CompiledRules {
  rules?: InventoryRules;
  problems: string[];
}

/** "amazon/A1B2C3" or "shopify" (no account): how a channel is named in explanations and push plans. */
export function channelKey(c: { system: string; account?: string }): string {
  return c.account ? `${c.system}/${c.account}` : c.system;
}

/**
 * The rules as the dialog saves them: `locations` (ids, as a list or one comma-separated text),
 * `channels` rows and `bundles` rows ({ sku, components: "MUG*2, SAUCER" or a list of { sku, quantity } }).
 * Numbers may come as text from a form field.
 */
export interface InventoryRulesConfig {
  locations?: unknown;
  channels?: unknown;
  bundles?: unknown;
}

export function compileRules(config: InventoryRulesConfig): CompiledRules {
  const problems: string[] = [];
  const locations = idList(config.locations, 'locations', problems, RULE_LIMITS.locations);
  const known = new Set(locations);
  const channels: ChannelRule[] = [];
  const rows = rowList(config.channels, 'channels', problems, RULE_LIMITS.channels);
  const seen = new Map<string, number>();
  rows.forEach((row, i) => {
    if (!row) return;
    const channel = channelRule(row, `channel ${i + 1}`, known, problems);
    if (!channel) return;
    const key = channelKey(channel);
    const first = seen.get(key);
    if (first !== undefined) problems.push(`channel ${i + 1}: ${key} is already set by channel ${first + 1}`);
    else seen.set(key, i);
    channels.push(channel);
  });
  const bundles = new Map<string, BundleComponent[]>();
  rowList(config.bundles, 'bundles', problems, RULE_LIMITS.bundles).forEach((row, i) => {
    if (!row) return;
    const where = `bundle ${i + 1}`;
    const sku = text(row.sku);
    if (!sku) return void problems.push(`${where}: the bundle SKU is missing`);
    if (sku.length > 128) return void problems.push(`${where}: the SKU is longer than 128 characters`);
    if (bundles.has(sku)) return void problems.push(`${where}: ${sku} is already defined as a bundle`);
    const components = componentList(row.components, `${where} (${sku})`, problems);
    if (!components) return;
    if (components.some((c) => c.sku === sku)) return void problems.push(`${where} (${sku}) contains itself`);
    bundles.set(sku, components);
  });
  problems.push(...bundleStructureProblems(bundles));
  if (problems.length) return { problems };
  return { rules: { locations, channels, bundles, partOf: bundlesContaining(bundles) }, problems };
}

function channelRule(row: Record<string, unknown>, where: string, known: Set<string>, problems: string[]): ChannelRule | undefined {
  const system = text(row.system);
  const account = text(row.account) || undefined;
  const before = problems.length;
  if (!SYSTEM_NAME.test(system)) problems.push(`${where}: the system must be a lower-case name such as shopify or amazon (got "${system}")`);
  const label = `${where} (${system || '?'}${account ? '/' + account : ''})`;
  if (account && account.length > RULE_LIMITS.idLength) problems.push(`${label}: the account is longer than ${RULE_LIMITS.idLength} characters`);
  const locations = idList(row.locations, `${label} locations`, problems, RULE_LIMITS.locations);
  if (!locations.length) problems.push(`${label}: no location to sell from`);
  for (const l of locations) if (!known.has(l)) problems.push(`${label}: unknown location "${l}" (not in "All locations")`);
  const allocationPercent = whole(row.allocationPercent, 100, `${label}: allocation`, problems, 100, '%');
  const buffer = whole(row.buffer, 0, `${label}: buffer`, problems, RULE_LIMITS.units);
  const maxListed = blank(row.maxListed) ? undefined : whole(row.maxListed, 0, `${label}: maximum listed`, problems, RULE_LIMITS.units);
  const zeroBelow = whole(row.zeroBelow, 0, `${label}: threshold`, problems, RULE_LIMITS.units);
  const unsellableStates = idList(row.unsellableStates, `${label} unsellable states`, problems, RULE_LIMITS.statesPerChannel);
  if (problems.length > before) return undefined;
  return {
    system,
    ...(account ? { account } : {}),
    locations,
    allocationPercent: allocationPercent!,
    buffer: buffer!,
    ...(maxListed !== undefined ? { maxListed } : {}),
    zeroBelow: zeroBelow!,
    unsellableStates,
    countInTransit: row.countInTransit === true || row.countInTransit === 'true',
  };
}

/** "MUG*2, SAUCER" (a missing quantity is 1) or [{ sku, quantity }]. */
function componentList(value: unknown, where: string, problems: string[]): BundleComponent[] | undefined {
  const parts: Array<{ sku: string; quantity: unknown }> = [];
  if (typeof value === 'string') {
    for (const piece of value.split(',')) {
      const t = piece.trim();
      if (!t) continue;
      const star = t.lastIndexOf('*');
      parts.push(star < 0 ? { sku: t, quantity: 1 } : { sku: t.slice(0, star).trim(), quantity: t.slice(star + 1).trim() });
    }
  } else if (Array.isArray(value)) {
    for (const c of value) parts.push({ sku: text((c as Record<string, unknown>)?.sku), quantity: (c as Record<string, unknown>)?.quantity });
  } else if (value !== undefined && value !== null) {
    problems.push(`${where}: components must be a list or text such as "MUG*2, SAUCER"`);
    return undefined;
  }
  if (!parts.length) return void problems.push(`${where}: no components`);
  if (parts.length > RULE_LIMITS.componentsPerBundle)
    return void problems.push(`${where}: ${parts.length} components, more than ${RULE_LIMITS.componentsPerBundle}`);
  const before = problems.length;
  const out: BundleComponent[] = [];
  for (const p of parts) {
    if (!p.sku) problems.push(`${where}: a component without a SKU`);
    else if (p.sku.length > 128) problems.push(`${where}: component "${p.sku.slice(0, 40)}…" is longer than 128 characters`);
    else if (out.some((c) => c.sku === p.sku)) problems.push(`${where}: component ${p.sku} is listed twice (give one quantity)`);
    const quantity = whole(p.quantity, 1, `${where}: quantity of ${p.sku || '?'}`, problems, RULE_LIMITS.componentQuantity);
    if (quantity === 0) problems.push(`${where}: quantity of ${p.sku} must be at least 1`);
    if (p.sku && quantity) out.push({ sku: p.sku, quantity });
  }
  return problems.length > before ? undefined : out;
}

/**
 * Cycles (A contains B contains A) and nesting deeper than RULE_LIMITS.bundleDepth, each named once.
 * Depth first with a stack of its own, not recursion: a chain of RULE_LIMITS.bundles bundles typed
 * into the dialog must be named as too deep, not overflow the call stack.
 */
function bundleStructureProblems(bundles: Map<string, BundleComponent[]>): string[] {
  const problems: string[] = [];
  const depth = new Map<string, number>();
  const reported = new Set<string>();
  const path: Array<{ sku: string; next: number; deepest: number }> = [];
  const onPath = new Map<string, number>(); // SKU → its index in path
  /** A SKU's depth when known without visiting it (Infinity: it closes a cycle), else undefined. */
  const settled = (sku: string): number | undefined => {
    const known = depth.get(sku);
    if (known !== undefined) return known;
    if (!bundles.has(sku)) return 0;
    const at = onPath.get(sku);
    if (at === undefined) return undefined;
    const cycle = [...path.slice(at).map((f) => f.sku), sku];
    const id = [...cycle.slice(0, -1)].sort().join('\u0000');
    if (!reported.has(id)) {
      reported.add(id);
      problems.push(`bundles form a cycle: ${cycle.join(' → ')}`);
    }
    return Infinity;
  };
  const visit = (root: string): number => {
    const known = settled(root);
    if (known !== undefined) return known;
    let result = 0;
    const enter = (sku: string) => {
      onPath.set(sku, path.length);
      path.push({ sku, next: 0, deepest: 0 });
    };
    enter(root);
    while (path.length) {
      const top = path[path.length - 1];
      const components = bundles.get(top.sku)!;
      if (top.next < components.length) {
        const sku = components[top.next++].sku;
        const d = settled(sku);
        if (d === undefined) enter(sku);
        else top.deepest = Math.max(top.deepest, d);
        continue;
      }
      path.pop();
      onPath.delete(top.sku);
      const d = top.deepest + 1;
      depth.set(top.sku, d);
      if (path.length) path[path.length - 1].deepest = Math.max(path[path.length - 1].deepest, d);
      else result = d;
    }
    return result;
  };
  for (const sku of bundles.keys()) {
    const d = visit(sku);
    if (Number.isFinite(d) && d > RULE_LIMITS.bundleDepth) problems.push(`bundle ${sku} nests ${d} levels deep, more than ${RULE_LIMITS.bundleDepth}`);
  }
  return problems;
}

function bundlesContaining(bundles: Map<string, BundleComponent[]>): Map<string, string[]> {
  const direct = new Map<string, string[]>();
  for (const [bundle, components] of bundles) for (const c of components) direct.set(c.sku, [...(direct.get(c.sku) ?? []), bundle]);
  const out = new Map<string, string[]>();
  for (const sku of direct.keys()) {
    const all = new Set<string>();
    const stack = [...direct.get(sku)!];
    while (stack.length) {
      const b = stack.pop()!;
      if (all.has(b)) continue;
      all.add(b);
      stack.push(...(direct.get(b) ?? []));
    }
    out.set(sku, [...all].sort());
  }
  return out;
}

function text(v: unknown): string {
  return typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '';
}

function blank(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

/** A whole number 0…max from a number or its text; blank takes `fallback`. */
function whole(v: unknown, fallback: number, what: string, problems: string[], max: number, unit = ''): number | undefined {
  if (blank(v)) return fallback;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v.trim()) : NaN;
  if (!Number.isFinite(n)) return void problems.push(`${what} must be a whole number (got "${String(v)}")`);
  if (!Number.isInteger(n)) return void problems.push(`${what} must be a whole number (got ${n})`);
  if (unit === '%' && (n < 0 || n > max)) return void problems.push(`${what} ${n}% is outside 0–${max}%`);
  if (n < 0) return void problems.push(`${what} must not be negative (got ${n})`);
  if (n > max) return void problems.push(`${what} of ${n} is more than ${max}`);
  return n;
}

/** Ids from a list or one comma-separated text; blanks dropped, duplicates named. */
function idList(value: unknown, what: string, problems: string[], max: number): string[] {
  const raw = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : blank(value) ? [] : undefined;
  if (!raw) return (void problems.push(`${what} must be a list or comma-separated text`), []);
  const ids = raw.map(text).filter(Boolean);
  if (ids.length > max) return (void problems.push(`${what}: ${ids.length} entries, more than ${max}`), []);
  const out: string[] = [];
  for (const id of ids) {
    if (id.length > RULE_LIMITS.idLength) problems.push(`${what}: "${id.slice(0, 40)}…" is longer than ${RULE_LIMITS.idLength} characters`);
    else if (out.includes(id)) problems.push(`${what}: "${id}" is listed twice`);
    else out.push(id);
  }
  return out;
}

function rowList(value: unknown, what: string, problems: string[], max: number): Array<Record<string, unknown> | undefined> {
  if (blank(value)) return [];
  if (!Array.isArray(value)) return (void problems.push(`${what} must be a list`), []);
  if (value.length > max) return (void problems.push(`${what}: ${value.length} entries, more than ${max}`), []);
  // a row that is not an object is named here and left as a gap, so later rows keep their numbers
  return value.map((row, i) => {
    if (row && typeof row === 'object' && !Array.isArray(row)) return row as Record<string, unknown>;
    problems.push(`${what} entry ${i + 1} is not an object`);
    return undefined;
  });
}
