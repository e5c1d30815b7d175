/**
 * The states a channel reports beside what it offers (docs/inventory.md, "The states of a
 * position"): Shopify's damaged, quality-control, safety-stock, reserved and committed units. A
 * channel's read-back (`inventory.ats`) carries them as attributes (`shopify_damaged`: "2") and,
 * when the read node knows it, `erpLocation`, the ledger location the channel's location stands
 * for. They are booked there as the position's states `<system>_<name>`, absolutely, as one
 * `levels` document of the channel per read (source id: SKU, channel location and read time), so
 * explain names the read that set them and an available-to-sell rule can hold them back
 * (*Unsellable states*). A read older than the newest booked for that channel, SKU and location is
 * stale and skipped: a late message must not put older states back.
 */
import type { AvailableToSell } from '../model/types.generated';
import { InventoryInputError, type InventoryEvent } from '../runtime/inventory';
import type { Store } from '../runtime/store';

/** The states each channel's read-back reports, by the channel's own names. */
export const CHANNEL_STATES: Readonly<Record<string, readonly string[]>> = {
  shopify: ['committed', 'damaged', 'quality_control', 'reserved', 'safety_stock'],
};

export interface ChannelStates {
  locationId: string;
  /** State name in the ledger (`shopify_damaged`) → units. */
  states: Record<string, number>;
}

export type StatesOutcome = { outcome: 'booked' | 'duplicate'; events: InventoryEvent[] } | { outcome: 'stale'; events: [] };

/** The states the read-back carries for the ledger, or undefined (none, or no ERP location named). */
export function channelStatesOf(doc: AvailableToSell): ChannelStates | undefined {
  const names = CHANNEL_STATES[doc.channel.system];
  const attributes = doc.attributes ?? {};
  const locationId = typeof attributes.erpLocation === 'string' ? attributes.erpLocation.trim() : '';
  if (!names || !locationId) return undefined;
  const states: Record<string, number> = {};
  for (const name of names) {
    const text = attributes[`${doc.channel.system}_${name}`];
    if (text === undefined) continue;
    const units = typeof text === 'string' && /^\d{1,10}$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(units))
      throw new InventoryInputError(`the channel read-back's ${doc.channel.system}_${name} must be a whole number of units, not ${JSON.stringify(text)}`);
    states[`${doc.channel.system}_${name}`] = units;
  }
  return Object.keys(states).length ? { locationId, states } : undefined;
}

const recordKey = (doc: AvailableToSell, locationId: string) =>
  `inventory-channel-states:${JSON.stringify([doc.channel.system, doc.channel.account ?? '', doc.sku, locationId])}`;

/**
 * Books the read's states at their ERP location, unless a newer read of them was booked. Callers
 * run one read per channel and SKU at a time (the reserve node's lock), so the newest-read record
 * and the booking do not interleave in one process.
 */
export async function bookChannelStates(store: Store, doc: AvailableToSell, found: ChannelStates): Promise<StatesOutcome> {
  const key = recordKey(doc, found.locationId);
  const readAt = Date.parse(doc.computedAt);
  const newest = (await store.kvGet(key)) as { computedAt: string } | undefined;
  if (newest && Date.parse(newest.computedAt) > readAt) return { outcome: 'stale', events: [] };
  const change = await store.inventory.setLevels(
    {
      system: doc.channel.system,
      account: doc.channel.account ?? '',
      documentId: `states:${doc.sku}@${doc.locationIds?.[0] ?? ''}@${doc.computedAt}`,
    },
    [{ sku: doc.sku, locationId: found.locationId, states: found.states }],
  );
  if (!newest || Date.parse(newest.computedAt) < readAt) await store.kvPut(key, { computedAt: doc.computedAt });
  return { outcome: change.duplicate ? 'duplicate' : 'booked', events: change.events };
}
