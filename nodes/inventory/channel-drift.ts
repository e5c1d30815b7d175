/**
 * What a channel shows against what Tillwire last pushed to it (docs/inventory.md, "Drift"). A
 * channel's read-back arrives as a canonical `inventory.ats` document: the channel (system and
 * account), the SKU, `available` = the quantity the channel offers now, `computedAt` = when it was
 * read, and `locationIds` with one location when the channel keeps stock per location (Shopify,
 * Square). It is compared with the channel write node's record in the store (core/channel-write.ts,
 * `stockFigureKey`): the figure and time of the newest push for the SKU. A read taken before that
 * push says nothing about it and is not compared. Nothing is written to the channel or the ledger.
 */
import type { AvailableToSell } from '../model/types.generated';
import { validateDocument } from '../model/validate';
import { stockFigureKey, type PushedFigure } from '../core/channel-write';
import { InventoryInputError } from '../runtime/inventory';
import type { Store } from '../runtime/store';
import { beyond, channelCause, type DriftReport } from './drift';

/** The write node type that keeps each channel's stock record (its `registerChannelWrite` type). */
export const CHANNEL_INVENTORY_NODE: Readonly<Record<string, string>> = {
  shopify: 'tillwire-shopify-inventory',
  amazon: 'tillwire-amazon-inventory',
  square: 'tillwire-square-inventory',
  bol: 'tillwire-bol-inventory',
};

export type ChannelComparison =
  { outcome: 'compared'; pushed?: PushedFigure; drift: DriftReport[] } | { outcome: 'read-before-push'; pushed: PushedFigure; drift: [] };

export function checkReadBack(doc: unknown): AvailableToSell {
  const v = validateDocument('available-to-sell', doc);
  if (!v.valid) throw new InventoryInputError(`the channel read-back is not a valid inventory.ats: ${v.errors.slice(0, 3).join('; ')}`);
  const d = doc as AvailableToSell;
  if (!CHANNEL_INVENTORY_NODE[d.channel.system]) {
    throw new InventoryInputError(
      `channel ${JSON.stringify(d.channel.system)} has no inventory write node; one of ${Object.keys(CHANNEL_INVENTORY_NODE).join(', ')}`,
    );
  }
  if (!Number.isSafeInteger(d.available))
    throw new InventoryInputError(`the channel read-back's available must be a whole number of units, not ${d.available}`);
  if ((d.locationIds?.length ?? 0) > 1) throw new InventoryInputError('a channel read-back names one location at most (the channel location it was read at)');
  return d;
}

/** The newest push record for the read-back's channel, SKU and location (per-location records first, then the pooled one). */
async function lastPushed(store: Store, doc: AvailableToSell): Promise<PushedFigure | undefined> {
  const type = CHANNEL_INVENTORY_NODE[doc.channel.system];
  const accounts = doc.channel.account ? [doc.channel.account] : [undefined, ''];
  const locations = doc.locationIds?.length ? [doc.locationIds[0], undefined] : [undefined];
  let newest: PushedFigure | undefined;
  for (const account of accounts)
    for (const location of locations) {
      const r = (await store.kvGet(stockFigureKey(doc.channel.system, account, type, doc.sku, location))) as PushedFigure | undefined;
      if (r && (!newest || Date.parse(r.sentAt ?? r.at) > Date.parse(newest.sentAt ?? newest.at))) newest = r;
    }
  return newest;
}

export async function compareChannelReading(store: Store, doc: AvailableToSell, tolerance: number): Promise<ChannelComparison> {
  const pushed = await lastPushed(store, doc);
  const readAt = Date.parse(doc.computedAt);
  if (pushed && readAt < Date.parse(pushed.sentAt ?? pushed.at)) return { outcome: 'read-before-push', pushed, drift: [] };
  const ours = pushed?.quantity;
  // A record from before figures were kept has no quantity: nothing to compare with.
  if (pushed && ours === undefined) return { outcome: 'compared', pushed, drift: [] };
  // Never pushed: compared with 0 (a channel showing stock Tillwire never gave it).
  const size = doc.available - (ours ?? 0);
  if (!beyond(size, tolerance)) return { outcome: 'compared', ...(pushed ? { pushed } : {}), drift: [] };
  const { cause, message } = channelCause(doc.available, pushed && { quantity: ours!, at: pushed.sentAt ?? pushed.at });
  return {
    outcome: 'compared',
    ...(pushed ? { pushed } : {}),
    drift: [
      {
        kind: 'channel',
        sku: doc.sku,
        locationId: doc.locationIds?.[0] ?? '',
        reportedBy: { system: doc.channel.system, account: doc.channel.account ?? '' },
        theirs: doc.available,
        ours: ours ?? 0,
        size,
        tolerance,
        cause,
        message,
        documents: [],
        readAt: doc.computedAt,
      },
    ],
  };
}
