/**
 * The read-back of a channel inventory node (operation "read", docs/inventory.md "Drift"): the
 * quantities the channel offers now, for the SKUs asked for or every SKU the node has pushed, each
 * sent on as a canonical `inventory.ats` read-back (the document the reserve node compares with the
 * last figure pushed). The channel's own part is a `ChannelRead` (nodes/<system>/stock-read.ts):
 * it reads one page of SKUs within the client's rate governors and says which SKUs the channel does
 * not know. Nothing is written anywhere.
 */
import type { AvailableToSell } from '../model/types.generated';
import { permanentFailure } from '../runtime/errors';
import type { Store } from '../runtime/store';
import { skuList, SkuListError } from './sku-list';
import type { NodeMessage } from './node-red';

/** What a channel shows for one SKU (at one of its locations, or marketplaces, when it keeps several). */
export interface ChannelReading {
  sku: string;
  /** Units the channel offers now, never below 0 (a channel's negative figure goes in `attributes`). */
  available: number;
  /** The channel location (or marketplace) read, when the channel keeps stock per location. */
  locationId?: string;
  /** The channel's own figures beside it (e.g. `shopifyAvailable`, `bolAmount`), as text. */
  attributes?: Record<string, string>;
}

export interface ReadPage {
  readings: ChannelReading[];
  /** SKUs the channel (or the node's map) does not know: reported by name after the readings are sent. */
  unknown: string[];
}

/** A channel's read of one page of SKUs (at most `pageSize` of them). */
export interface ChannelRead<C> {
  /** The provider operation named in errors (`getListingsItem`…). */
  operation: string;
  pageSize: number;
  read(client: C, skus: string[]): Promise<ReadPage>;
}

/** At most this many SKUs in one read request (as the push engine takes in msg.skus). */
export const MAX_READ_SKUS = 10_000;

/**
 * The SKUs a read asks for: `msg.skus` (an array of SKUs, as the reserve node and the push engine
 * carry them), else `msg.payload` as an ERP stock read takes it (nodes/core/sku-list.ts).
 * Undefined: every SKU the node has pushed. Throws a permanent error naming what is wrong.
 */
export function requestedSkus(system: string, operation: string, msg: NodeMessage): string[] | undefined {
  const fail = (message: string) => permanentFailure(system, operation, message, { providerCode: 'BadSkuList' });
  let skus: string[] | undefined;
  if (msg.skus !== undefined) {
    if (!Array.isArray(msg.skus)) throw fail(`msg.skus must be an array of SKUs, got ${typeof msg.skus}`);
    const bad = msg.skus.find((s: unknown) => typeof s !== 'string' || !s.trim() || s.length > 128);
    if (bad !== undefined) throw fail(`msg.skus must hold SKUs of 1 to 128 characters, got ${JSON.stringify(bad)}`);
    skus = [...new Set((msg.skus as string[]).map((s) => s.trim()))];
  } else {
    try {
      skus = skuList(msg.payload);
    } catch (err) {
      if (err instanceof SkuListError) throw fail(err.message);
      throw err;
    }
  }
  if (skus && skus.length > MAX_READ_SKUS)
    throw fail(`${skus.length} SKUs in one read, more than ${MAX_READ_SKUS}; send "*" to read every SKU the node pushed`);
  return skus;
}

/**
 * Every SKU the node has a stock record of in the store (core/channel-write.ts `stockFigureKey`):
 * the SKUs it pushed, in key order. `prefix` is the records' key up to the SKU.
 */
export async function pushedSkus(store: Store, prefix: string): Promise<string[]> {
  const skus = new Set<string>();
  for (let after: string | undefined; ;) {
    const page = await store.kvList(prefix, { afterKey: after, limit: 1000 });
    for (const e of page) {
      const value = e.value as { sku?: unknown } | undefined;
      // Records carry their SKU; older ones only in the key (SKU, then ':' and the location).
      const rest = e.key.slice(prefix.length);
      skus.add(typeof value?.sku === 'string' ? value.sku : rest.slice(0, rest.lastIndexOf(':')));
    }
    if (page.length < 1000) break;
    after = page[page.length - 1].key;
  }
  return [...skus].filter(Boolean);
}

/** The canonical read-back of one reading: `computedAt` is when the read was asked (a push confirmed after it is not compared). */
export function readBackDocument(system: string, account: string | undefined, reading: ChannelReading, readAt: string): AvailableToSell {
  return {
    kind: 'inventory.ats',
    sku: reading.sku,
    channel: { system, ...(account ? { account } : {}) },
    ...(reading.locationId ? { locationIds: [reading.locationId] } : {}),
    available: reading.available,
    computedAt: readAt,
    ...(reading.attributes && Object.keys(reading.attributes).length ? { attributes: reading.attributes } : {}),
  } as AvailableToSell;
}

/** A malformed channel answer: a permanent error naming the SKU and what is wrong (nothing is guessed). */
export function malformedAnswer(system: string, operation: string, what: string): Error {
  return permanentFailure(system, operation, `the ${system} answer is malformed: ${what}`, { providerCode: 'MalformedAnswer' });
}

/** Splits `items` into pages of `size`. */
export function pagesOf<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
