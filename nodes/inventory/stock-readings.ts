/**
 * Stock readings on the reserve node's input (docs/inventory.md, "ERP snapshots" and "Drift"): an
 * ERP node's `inventory.position` documents (one per message, or all in one array) are booked as
 * snapshots (erp-snapshot.ts); a channel's `inventory.ats` read-back is compared with the last push
 * (channel-drift.ts) and the states it reports booked at their ERP location (channel-states.ts).
 * Readings of one position are booked one at a time in this process; an array's positions are
 * booked in batches, one ledger transaction each.
 */
import type { NodeMessage } from '../core/node-red';
import type { InventoryPosition as PositionDoc } from '../model/types.generated';
import { InventoryInputError, refusalsText } from '../runtime/inventory';
import { KeyedLock } from '../runtime/keyed-lock';
import type { Store } from '../runtime/store';
import { checkReadBack, compareChannelReading, type ChannelComparison } from './channel-drift';
import { bookChannelStates, channelStatesOf, type ChannelStates, type StatesOutcome } from './channel-states';
import type { DriftReport, DriftTolerances } from './drift';
import { bookErpReadings, checkPositionDocument, type ErpReading } from './erp-snapshot';

/** Positions in one array message at most (a full read of a large catalogue fits). */
export const MAX_POSITIONS = 100_000;
/**
 * Positions booked in one ledger transaction. On PostgreSQL a commit costs about what the batch's
 * statements do, so batches make a large reading fast; a reservation waits for at most one batch.
 */
export const READING_BATCH = 500;

export interface ReadingSummary {
  /** Positions booked, found booked before (duplicate) and older than the newest booked (stale). */
  booked: number;
  duplicate: number;
  stale: number;
  /** For a channel read-back: what it was compared with. */
  channel?: ChannelComparison;
  /** For a channel read-back carrying the channel's states: where they were booked, and how. */
  states?: ChannelStates & { outcome: StatesOutcome['outcome'] };
}

export interface ReadingResult {
  summary: ReadingSummary;
  /** The SKUs of the positions booked (for tillwire-available-to-sell). */
  skus: string[];
  drift: DriftReport[];
  /** Positions of an array that were refused (the others were booked): thrown after the sends. */
  problem?: Error;
}

/** Whether the payload is a stock reading this module takes. */
export function isStockReading(payload: unknown): boolean {
  const kind = (Array.isArray(payload) ? payload[0] : payload)?.kind;
  return kind === 'inventory.position' || kind === 'inventory.ats';
}

/** The ERP that made the reading: `msg.erp.system` (set by the ERP node), else the envelope's source. */
function erpOf(msg: NodeMessage): ErpReading {
  const system = msg.erp?.system ?? msg.tillwire?.source?.system;
  if (typeof system !== 'string' || !system) {
    throw new InventoryInputError('an ERP stock reading must name its ERP in msg.erp.system (as the Odoo and Business Central nodes set it)');
  }
  const account = msg.erp?.account ?? '';
  return { system, account: typeof account === 'string' ? account : '' };
}

export class StockReadings {
  private readonly lock = new KeyedLock();

  constructor(private readonly tolerances: DriftTolerances) {}

  async apply(store: Store, msg: NodeMessage): Promise<ReadingResult> {
    const payload = msg.payload;
    if (!Array.isArray(payload) && (payload as { kind?: unknown } | null)?.kind === 'inventory.ats') {
      const doc = checkReadBack(payload);
      // A refusal of the states does not lose the comparison: the drift goes out, then the refusal.
      let refused: Error | undefined;
      const refuse = (err: unknown) => {
        if (!(err instanceof InventoryInputError)) throw err;
        refused = err;
      };
      let found: ChannelStates | undefined;
      try {
        found = channelStatesOf(doc);
      } catch (err) {
        refuse(err);
      }
      const { channel, states } = await this.lock.run(`channel:${doc.channel.system}:${doc.sku}`, async () => {
        const compared = await compareChannelReading(store, doc, this.tolerances.channel);
        let booked: StatesOutcome | undefined;
        if (found) booked = await bookChannelStates(store, doc, found).catch((err) => void refuse(err));
        return { channel: compared, states: booked };
      });
      const summary: ReadingSummary = { booked: 0, duplicate: 0, stale: 0, channel };
      if (states && found) {
        if (states.outcome !== 'no-position') summary[states.outcome]++;
        summary.states = { ...found, outcome: states.outcome };
      }
      return { summary, drift: channel.drift, skus: states?.events.length ? [doc.sku] : [], ...(refused ? { problem: refused } : {}) };
    }
    const erp = erpOf(msg);
    const docs: unknown[] = Array.isArray(payload) ? payload : [payload];
    if (docs.length > MAX_POSITIONS) throw new InventoryInputError(`${docs.length} positions in one reading, at most ${MAX_POSITIONS}`);
    const good: PositionDoc[] = [];
    const refused: string[] = [];
    docs.forEach((d, i) => {
      try {
        good.push(checkPositionDocument(d, Array.isArray(payload) ? `position [${i}]` : 'the stock reading'));
      } catch (err) {
        if (!Array.isArray(payload)) throw err;
        refused.push((err as Error).message);
      }
    });
    const summary: ReadingSummary = { booked: 0, duplicate: 0, stale: 0 };
    const skus = new Set<string>();
    const drifts: DriftReport[][] = [];
    for (const batch of batches(good, erp)) {
      const keys = batch.map((i) => JSON.stringify([erp.system, erp.account, good[i].sku, good[i].locationId]));
      let outcomes: (Awaited<ReturnType<typeof bookErpReadings>>[number] | Error)[];
      try {
        outcomes = await this.lock.runAll(keys, () =>
          bookErpReadings(
            store,
            erp,
            batch.map((i) => good[i]),
            this.tolerances,
          ),
        );
      } catch (err) {
        // The batch's transaction failed as a whole (the store, not a position): each of its positions is named.
        if (!Array.isArray(payload)) throw err;
        outcomes = batch.map(() => err as Error);
      }
      outcomes.forEach((r, n) => {
        const doc = good[batch[n]];
        if (!(r instanceof Error)) {
          summary[r.outcome]++;
          if (r.outcome === 'booked') skus.add(doc.sku);
          drifts[batch[n]] = r.drift;
        } else if (!Array.isArray(payload)) throw r;
        else refused.push(`${doc.sku} at ${doc.locationId}: ${r.message}`);
      });
    }
    const drift = drifts.flatMap((d) => d ?? []);
    return {
      summary,
      drift,
      skus: [...skus],
      ...(refused.length ? { problem: new InventoryInputError(`${refused.length} position(s) of the reading refused: ${refusalsText(refused)}`) } : {}),
    };
  }
}

/**
 * The reading's positions (indexes into `docs`) in batches of distinct positions, in the reading's
 * order: a position read twice has its second reading in a later batch, so it is booked after the first.
 */
function batches(docs: readonly PositionDoc[], erp: ErpReading): number[][] {
  const rounds: number[][] = [];
  const seen = new Map<string, number>();
  docs.forEach((doc, i) => {
    const key = JSON.stringify([erp.system, erp.account, doc.sku, doc.locationId]);
    const round = seen.get(key) ?? 0;
    seen.set(key, round + 1);
    (rounds[round] ??= []).push(i);
  });
  return rounds.flatMap((round) =>
    Array.from({ length: Math.ceil(round.length / READING_BATCH) }, (_, n) => round.slice(n * READING_BATCH, (n + 1) * READING_BATCH)),
  );
}
