/**
 * Available to sell (ATS): how many units of a SKU one channel is offered, from the inventory
 * positions and the channel's rules (rules.ts). Pure, deterministic and integer-only; every figure
 * can be explained step by step (`explainAts`), which is what the admin API and the help show.
 *
 *   free at a location = on hand − reserved [+ in transit, only if the channel counts it]
 *   held at a location = safety stock, then the channel's unsellable states, never more than is free
 *   pooled     = max(0, Σ (free − held) over the channel's locations)
 *   allocated  = ⌊pooled × allocation % / 100⌋
 *   buffered   = max(0, allocated − buffer)
 *   capped     = min(buffered, maximum listed)
 *   available  = capped < threshold ? 0 : capped
 *   bundle     = min over components ⌊component available / quantity⌋, then the threshold
 *
 * Holds are per location: safety stock at a store that has none of the SKU holds nothing back
 * from the warehouse. A deficit is not: reservations beyond a location's stock (or a negative on
 * hand, sales recorded ahead of receipts) are orders the pool must still fill, so they lower the
 * pooled figure. This keeps the canonical rule of the document (available ≤ on hand + in transit
 * − reserved − safety stock held, over its basis).
 * Every step rounds down and none can go below 0 or above the step before, so a channel is never
 * offered more than the pooled sellable stock. A position that cannot be read (a fraction, a
 * negative reservation) counts as nothing at its location and is named in `PositionIndex.problems`:
 * a bad figure may hide stock, never invent it. docs/inventory.md, "Available to sell".
 */
import type { AvailableToSell } from '../model/types.generated';
import type { InventoryPosition } from './position';
import { channelKey, type ChannelRule, type InventoryRules } from './rules';

/** Per position figure, in units: beyond this a figure is a typing error, not stock. */
export const MAX_POSITION_UNITS = 1_000_000_000_000;
const MAX_STATES = 50;

/** The latest position per SKU × location; a position that cannot be read is left out and named. */
export class PositionIndex {
  private readonly bySku = new Map<string, Map<string, InventoryPosition>>();
  /** The last problems found, oldest first, at most 100 (the count is `problemCount`). */
  readonly problems: string[] = [];
  problemCount = 0;

  constructor(positions: Iterable<InventoryPosition> = []) {
    for (const p of positions) this.set(p);
  }

  /** Takes the position as the latest at its SKU × location; returns the problem when it cannot be read. */
  set(p: InventoryPosition): string | undefined {
    const problem = positionProblem(p);
    if (problem) {
      this.problemCount++;
      if (this.problems.length < 100) this.problems.push(problem);
      // the earlier figure at this location is no longer true either
      if (typeof p?.sku === 'string' && typeof p.locationId === 'string') this.bySku.get(p.sku)?.delete(p.locationId);
      return problem;
    }
    let at = this.bySku.get(p.sku);
    if (!at) this.bySku.set(p.sku, (at = new Map()));
    at.set(p.locationId, p);
    return undefined;
  }

  at(sku: string): ReadonlyMap<string, InventoryPosition> | undefined {
    return this.bySku.get(sku);
  }

  skus(): IterableIterator<string> {
    return this.bySku.keys();
  }
}

export function positionProblem(p: InventoryPosition): string | undefined {
  if (!p || typeof p !== 'object') return 'a position must be an object';
  if (typeof p.sku !== 'string' || !p.sku || p.sku.length > 128) return 'a position needs a SKU of 1 to 128 characters';
  if (typeof p.locationId !== 'string' || !p.locationId || p.locationId.length > 255) return `position of ${p.sku}: the location id is missing or too long`;
  const where = `position of ${p.sku} at ${p.locationId}`;
  const bad = (v: unknown, min: number) => !Number.isSafeInteger(v) || (v as number) < min || (v as number) > MAX_POSITION_UNITS;
  if (bad(p.onHand, -MAX_POSITION_UNITS)) return `${where}: on hand must be a whole number of units (got ${String(p.onHand)})`;
  for (const k of ['reserved', 'inTransit', 'safetyStock'] as const) {
    if (bad(p[k], 0)) return `${where}: ${k} must be a whole number of units, not negative (got ${String(p[k])})`;
  }
  if (!p.states || typeof p.states !== 'object' || Array.isArray(p.states)) return `${where}: states must be an object`;
  const states = Object.entries(p.states);
  if (states.length > MAX_STATES) return `${where}: ${states.length} states, more than ${MAX_STATES}`;
  for (const [state, n] of states) if (bad(n, 0)) return `${where}: state ${state} must be a whole number of units, not negative (got ${String(n)})`;
  return undefined;
}

export interface LocationFigure {
  locationId: string;
  /** False when the SKU has no position at the location: it counts 0 there. */
  known: boolean;
  onHand: number;
  reserved: number;
  inTransit: number;
  inTransitCounted: boolean;
  /** on hand − reserved (+ in transit when counted); negative: a deficit the pool must fill. */
  free: number;
  /** The position's safety stock and how much of it was held back (never more than is free). */
  safetyStock: number;
  safetyHeld: number;
  /** The channel's unsellable states held back at the location, with their units. */
  unsellable: Record<string, number>;
  /** free − held: what the location adds to the pool. */
  net: number;
}

export type AtsStepName = 'sellable' | 'allocation' | 'buffer' | 'maximum' | 'threshold' | 'component' | 'bundle';

export interface AtsStep {
  step: AtsStepName;
  /** The figure after this step. */
  figure: number;
  /** The rule's setting the step applied: percent, buffer units, maximum, threshold (absent: no maximum). */
  setting?: number;
  /** For a bundle's component: its SKU, units per bundle and what the channel is offered of it. */
  sku?: string;
  quantity?: number;
  componentAvailable?: number;
}

export interface AtsExplanation {
  sku: string;
  channel: string;
  bundle: boolean;
  /** Per location of the channel (empty for a bundle, whose components carry the stock). */
  locations: LocationFigure[];
  steps: AtsStep[];
  available: number;
}

/** ⌊value × percent / 100⌋ for value ≥ 0, exact beyond 2^53 / 100 (value = 100q + r). */
export function allocate(value: number, percent: number): number {
  return Math.floor(value / 100) * percent + Math.floor(((value % 100) * percent) / 100);
}

/**
 * Computes ATS for channels × SKUs of one set of rules over one position index. `figure` is the
 * number only; `explain` records each step; `document` is the canonical `inventory.ats` document.
 */
export class AtsEngine {
  constructor(
    readonly rules: InventoryRules,
    readonly positions: PositionIndex,
  ) {}

  figure(channel: ChannelRule, sku: string): number {
    return this.compute(channel, sku, undefined, new Map());
  }

  explain(channel: ChannelRule, sku: string): AtsExplanation {
    const trace: AtsExplanation = { sku, channel: channelKey(channel), bundle: this.rules.bundles.has(sku), locations: [], steps: [], available: 0 };
    trace.available = this.compute(channel, sku, trace, new Map());
    return trace;
  }

  document(channel: ChannelRule, sku: string, computedAt: string): AvailableToSell {
    const doc: AvailableToSell = {
      kind: 'inventory.ats',
      sku,
      channel: { system: channel.system, ...(channel.account ? { account: channel.account } : {}) },
      locationIds: [...channel.locations],
      available: this.figure(channel, sku),
      computedAt,
    };
    if (!this.rules.bundles.has(sku)) doc.basis = this.basis(channel, sku);
    return doc;
  }

  /** The pooled position figures over the channel's locations, safety stock as held (the document's `basis`). */
  basis(channel: ChannelRule, sku: string): NonNullable<AvailableToSell['basis']> {
    const out = { onHand: 0, reserved: 0, inTransit: 0, safetyStock: 0 };
    const at = this.positions.at(sku);
    for (const l of channel.locations) {
      const p = at?.get(l);
      if (!p) continue;
      out.onHand += p.onHand;
      out.reserved += p.reserved;
      out.inTransit += p.inTransit;
      out.safetyStock += location(channel, p).safetyHeld;
    }
    return out;
  }

  private compute(channel: ChannelRule, sku: string, trace: AtsExplanation | undefined, memo: Map<string, number>): number {
    const components = this.rules.bundles.get(sku);
    if (components) {
      let figure = Infinity;
      for (const c of components) {
        let componentAvailable = memo.get(c.sku);
        if (componentAvailable === undefined) memo.set(c.sku, (componentAvailable = this.compute(channel, c.sku, undefined, memo)));
        const units = Math.floor(componentAvailable / c.quantity);
        trace?.steps.push({ step: 'component', sku: c.sku, quantity: c.quantity, componentAvailable, figure: units });
        figure = Math.min(figure, units);
      }
      trace?.steps.push({ step: 'bundle', figure });
      return this.threshold(channel, figure, trace);
    }
    const at = this.positions.at(sku);
    let sum = 0;
    for (const locationId of channel.locations) {
      const p = at?.get(locationId);
      const figure = p ? location(channel, p) : undefined;
      sum += figure?.net ?? 0;
      trace?.locations.push(
        figure ?? {
          locationId,
          known: false,
          onHand: 0,
          reserved: 0,
          inTransit: 0,
          inTransitCounted: channel.countInTransit,
          free: 0,
          safetyStock: 0,
          safetyHeld: 0,
          unsellable: {},
          net: 0,
        },
      );
    }
    const pooled = Math.max(0, sum);
    trace?.steps.push({ step: 'sellable', figure: pooled });
    const allocated = allocate(pooled, channel.allocationPercent);
    trace?.steps.push({ step: 'allocation', setting: channel.allocationPercent, figure: allocated });
    const buffered = Math.max(0, allocated - channel.buffer);
    trace?.steps.push({ step: 'buffer', setting: channel.buffer, figure: buffered });
    const capped = channel.maxListed === undefined ? buffered : Math.min(buffered, channel.maxListed);
    trace?.steps.push({ step: 'maximum', ...(channel.maxListed !== undefined ? { setting: channel.maxListed } : {}), figure: capped });
    return this.threshold(channel, capped, trace);
  }

  private threshold(channel: ChannelRule, figure: number, trace: AtsExplanation | undefined): number {
    const out = figure < channel.zeroBelow ? 0 : figure;
    trace?.steps.push({ step: 'threshold', setting: channel.zeroBelow, figure: out });
    return out;
  }
}

/** The SKU and, for a bundle, every SKU it is made of (through nested bundles): the positions its figure reads. */
export function skusBehind(rules: InventoryRules, sku: string): string[] {
  const out = new Set<string>();
  const stack = [sku];
  while (stack.length) {
    const s = stack.pop()!;
    if (out.has(s)) continue;
    out.add(s);
    for (const c of rules.bundles.get(s) ?? []) stack.push(c.sku);
  }
  return [...out];
}

/** A state's units, own properties only: a state named "constructor" or "__proto__" is not Object's. */
function ownUnits(states: Record<string, number>, name: string): number {
  const own = Object.getOwnPropertyDescriptor(states, name);
  return own ? own.value : 0;
}

/** What one position adds to the channel's pool (see the formula above). */
function location(channel: ChannelRule, p: InventoryPosition): LocationFigure {
  const free = p.onHand - p.reserved + (channel.countInTransit ? p.inTransit : 0);
  let room = Math.max(0, free);
  const safetyHeld = Math.min(room, p.safetyStock);
  room -= safetyHeld;
  const unsellable: Record<string, number> = {};
  for (const state of channel.unsellableStates) {
    const held = Math.min(room, ownUnits(p.states, state));
    if (held) unsellable[state] = held;
    room -= held;
  }
  const net = free > 0 ? room : free;
  return {
    locationId: p.locationId,
    known: true,
    onHand: p.onHand,
    reserved: p.reserved,
    inTransit: p.inTransit,
    inTransitCounted: channel.countInTransit,
    free,
    safetyStock: p.safetyStock,
    safetyHeld,
    unsellable,
    net,
  };
}

/** The explanation in sentences, one a line ("why does amazon show 3?"). */
export function describeAts(e: AtsExplanation): string[] {
  const lines: string[] = [];
  for (const l of e.locations) {
    if (!l.known) {
      lines.push(`${l.locationId}: no position for ${e.sku}, counts 0`);
      continue;
    }
    const parts = [`on hand ${l.onHand}`, `− reserved ${l.reserved}`];
    if (l.inTransitCounted) parts.push(`+ in transit ${l.inTransit}`);
    if (l.safetyHeld || l.safetyStock)
      parts.push(`− safety stock ${l.safetyHeld}${l.safetyHeld < l.safetyStock ? ` (of ${l.safetyStock}, never more than is there)` : ''}`);
    for (const [state, n] of Object.entries(l.unsellable)) parts.push(`− ${state} ${n}`);
    lines.push(`${l.locationId}: ${parts.join(' ')} = ${l.net}${l.net < 0 ? ' (a deficit the other locations must fill)' : ''}`);
  }
  for (const s of e.steps) {
    switch (s.step) {
      case 'sellable':
        lines.push(`sellable over the channel's locations (never below 0): ${s.figure}`);
        break;
      case 'allocation':
        lines.push(`× ${s.setting} % allocation, rounded down: ${s.figure}`);
        break;
      case 'buffer':
        lines.push(`− buffer ${s.setting}: ${s.figure}`);
        break;
      case 'maximum':
        lines.push(s.setting === undefined ? `no maximum: ${s.figure}` : `at most ${s.setting}: ${s.figure}`);
        break;
      case 'threshold':
        lines.push(s.setting ? `below ${s.setting} is sent as 0: ${s.figure}` : `no threshold: ${s.figure}`);
        break;
      case 'component':
        lines.push(`component ${s.sku}: ${s.componentAvailable} available ÷ ${s.quantity} per bundle, rounded down: ${s.figure}`);
        break;
      case 'bundle':
        lines.push(`bundle: the least of its components: ${s.figure}`);
        break;
    }
  }
  lines.push(`${e.channel} is offered ${e.available} of ${e.sku}`);
  return lines;
}
