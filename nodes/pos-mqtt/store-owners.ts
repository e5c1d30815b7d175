/**
 * Which brand owns a store id. A till sale is keyed `sale:<store>:<till>:<saleId>`, without the
 * brand, so two brands using one store id would collide in the sales register. The rule
 * (docs/store-devices.md, "Store ids across brands"): the first brand whose valid message names a
 * store id owns it, recorded durably in the store's key-value table; messages for that store id on
 * another brand's topics are refused with both brands named. An operator re-assigns a store through
 * the admin API (PUT /tillwire/store-owners/:storeId).
 *
 * The hot path is a map look-up: an owner seen lately is trusted for `ttlMs`, after which it is
 * read again (so a re-assignment made by another instance sharing the store is seen within that
 * time). A refusal always re-reads the store first, so it never rests on a stale cache.
 */
import type { Store } from '../runtime/store';

export interface StoreOwner {
  brand: string;
  /** When the brand's first message claimed the store id (ISO 8601), or when it was re-assigned. */
  since: string;
  /** `claimed` by a first message, or `assigned` by an operator. */
  how: 'claimed' | 'assigned';
}

export const OWNER_PREFIX = 'store-owner:';

export function ownerKey(storeId: string): string {
  return OWNER_PREFIX + storeId;
}

function asOwner(value: unknown): StoreOwner | undefined {
  const v = value as Partial<StoreOwner> | undefined;
  return v && typeof v === 'object' && typeof v.brand === 'string' ? (v as StoreOwner) : undefined;
}

export class StoreOwners {
  private readonly cache = new Map<string, { brand: string; until: number }>();

  constructor(
    private readonly store: Store,
    private readonly ttlMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The brand owning `storeId`; `brand` claims it when no brand does yet. */
  async ownerFor(storeId: string, brand: string): Promise<string> {
    const hit = this.cache.get(storeId);
    if (hit && hit.brand === brand && hit.until > this.now()) return brand;
    const key = ownerKey(storeId);
    let owner = asOwner(await this.store.kvGet(key));
    if (!owner) {
      const claim: StoreOwner = { brand, since: new Date(this.now()).toISOString(), how: 'claimed' };
      // Written only if still absent: of two instances claiming at once, one wins and both read it.
      owner = (await this.store.kvPut(key, claim, undefined)) ? claim : asOwner(await this.store.kvGet(key));
    }
    const found = owner?.brand ?? brand;
    this.remember(storeId, found);
    return found;
  }

  async get(storeId: string): Promise<StoreOwner | undefined> {
    return asOwner(await this.store.kvGet(ownerKey(storeId)));
  }

  /** Gives `storeId` to `brand` (an operator's decision); returns the previous owner. */
  async assign(storeId: string, brand: string): Promise<StoreOwner | undefined> {
    const previous = await this.get(storeId);
    await this.store.kvPut(ownerKey(storeId), { brand, since: new Date(this.now()).toISOString(), how: 'assigned' } satisfies StoreOwner);
    this.remember(storeId, brand);
    return previous;
  }

  private remember(storeId: string, brand: string): void {
    // Bounded: a flood of made-up store ids cannot grow the map without limit.
    if (this.cache.size >= 10_000 && !this.cache.has(storeId)) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(storeId, { brand, until: this.now() + this.ttlMs });
  }
}

const perStore = new WeakMap<Store, StoreOwners>();

/** One owner table per open store, shared by every node (and the admin API) using that store. */
export function storeOwners(store: Store): StoreOwners {
  let owners = perStore.get(store);
  if (!owners) {
    owners = new StoreOwners(store);
    perStore.set(store, owners);
  }
  return owners;
}

/** The dead-letter reason for a message on a brand's topic for a store id another brand owns. */
export function foreignStoreReason(storeId: string, brand: string, owner: string): string {
  return (
    `store id '${storeId}' belongs to brand '${owner}' (its messages came first), so this message on brand '${brand}'s topic is refused: ` +
    `store ids must be unique across brands, because a sale is recorded by store, till and saleId without the brand. ` +
    `Give the store another id under '${brand}', or, if '${brand}' should own '${storeId}', re-assign it (PUT /tillwire/store-owners/${storeId} with { "brand": "${brand}" }) and replay this entry`
  );
}
