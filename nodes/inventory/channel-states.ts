/**
 * The states a channel reports beside what it offers (docs/inventory.md, "The states of a
 * position"): Shopify's damaged, quality-control, safety-stock, reserved and committed units. A
 * channel's read-back (`inventory.ats`) carries them as attributes (`shopify_damaged`: "2") and,
 * when the read node knows it, `erpLocation`, the ledger location the channel's location stands
 * for. They are booked there as the position's states `<system>_<name>`, absolutely, as one
 * `levels` document of the channel per read (source id: SKU, channel location and read time), so
 * explain names the read that set them and an available-to-sell rule can hold them back
 * (*Unsellable states*). A read older than the newest booked for that SKU and location is stale
 * and skipped: a late message must not put older states back. One channel account per SKU and ERP
 * location: a second shop naming the same ERP location is refused, not mixed in, until the first has
 * not read back for a day (a shop renamed or moved: the other takes it over). States are booked
 * only where the ledger holds the SKU at that location (states of stock it does not hold mean
 * nothing there, and a position made of them alone would have the SKU pushed to the channels).
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

export type StatesOutcome = { outcome: 'booked' | 'duplicate'; events: InventoryEvent[] } | { outcome: 'stale' | 'no-position'; events: [] };

/** How far ahead of this clock a read may be dated (clocks differ a little; a read from the future would make every real one stale). */
const FUTURE_SLACK_MS = 5 * 60_000;
/** The most units a state may hold (the ledger's bound for an absolute figure). */
const MAX_UNITS = 1_000_000_000;
/** How long a shop's last read holds its ERP location against another shop's. */
export const STATES_HANDOVER_MS = 24 * 3600_000;

/** The states the read-back carries for the ledger, or undefined (none, or no ERP location named). */
export function channelStatesOf(doc: AvailableToSell, now = Date.now()): ChannelStates | undefined {
  const names = CHANNEL_STATES[doc.channel.system];
  const attributes = doc.attributes ?? {};
  const erpLocation = attributes.erpLocation;
  if (!names || erpLocation === undefined) return undefined;
  const locationId = typeof erpLocation === 'string' ? erpLocation.trim() : '';
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (!locationId || locationId.length > 255 || /[\u0000-\u001f\u007f]/.test(locationId))
    throw new InventoryInputError(`the channel read-back's attributes.erpLocation must be a location id (1 to 255 characters, no control characters)`);
  if (Date.parse(doc.computedAt) - now > FUTURE_SLACK_MS)
    throw new InventoryInputError(`the channel read-back's computedAt ${doc.computedAt} is in the future: its states would make every later read stale`);
  const states: Record<string, number> = {};
  for (const name of names) {
    const field = `${doc.channel.system}_${name}`;
    const text = attributes[field];
    if (text === undefined) continue;
    const units = typeof text === 'string' && /^(0|[1-9]\d{0,9})$/.test(text) ? Number(text) : NaN;
    if (!(units <= MAX_UNITS))
      throw new InventoryInputError(
        `the channel read-back's ${field} must be a whole number of units from 0 to ${MAX_UNITS.toLocaleString('en')}, not ${JSON.stringify(text)}`,
      );
    states[field] = units;
  }
  return Object.keys(states).length ? { locationId, states } : undefined;
}

/** The newest read booked per SKU and ERP location, and the account it came from. */
const recordKey = (doc: AvailableToSell, locationId: string) => `inventory-channel-states:${JSON.stringify([doc.channel.system, doc.sku, locationId])}`;

/**
 * Books the read's states at their ERP location, unless a newer read of them was booked. Callers
 * run one read per channel and SKU at a time (the reserve node's lock), so the newest-read record
 * and the booking do not interleave in one process; two processes reading back the same SKU at
 * the same moment may book the older read last.
 */
export async function bookChannelStates(store: Store, doc: AvailableToSell, found: ChannelStates): Promise<StatesOutcome> {
  const key = recordKey(doc, found.locationId);
  const account = doc.channel.account ?? '';
  const readAt = Date.parse(doc.computedAt);
  const newest = (await store.kvGet(key)) as { computedAt: string; account?: string } | undefined;
  const otherShop = newest !== undefined && (newest.account ?? '') !== account;
  if (otherShop && readAt - Date.parse(newest.computedAt) < STATES_HANDOVER_MS)
    throw new InventoryInputError(
      `${doc.channel.system} states of ${doc.sku} at ${found.locationId} come from account ${JSON.stringify(newest.account ?? '')} (read ${newest.computedAt}); ` +
        `account ${JSON.stringify(account)} names the same ERP location: give each ERP location one ${doc.channel.system} location ` +
        `(a shop that has not read back for a day hands it over)`,
    );
  if (newest && !otherShop && Date.parse(newest.computedAt) > readAt) return { outcome: 'stale', events: [] };
  const [held] = await store.inventory.positions({ skus: [doc.sku], locationIds: [found.locationId] });
  if (!held) return { outcome: 'no-position', events: [] };
  const change = await store.inventory.setLevels(
    { system: doc.channel.system, account, documentId: `states:${doc.sku}@${doc.locationIds?.[0] ?? ''}@${doc.computedAt}` },
    [{ sku: doc.sku, locationId: found.locationId, states: found.states }],
  );
  if (!newest || otherShop || Date.parse(newest.computedAt) < readAt) await store.kvPut(key, { computedAt: doc.computedAt, account });
  return { outcome: change.duplicate ? 'duplicate' : 'booked', events: change.events };
}
