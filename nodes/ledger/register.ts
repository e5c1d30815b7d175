/**
 * Reading the sales register (runtime/store.ts) for ledger work: every entry of a store day, paged
 * by key so a large store day is read completely whatever the backend's page limit.
 */
import type { RegisterEntry, RegisterFilter, Store } from '../runtime/store';

const PAGE = 5000;

export async function listAll(store: Pick<Store, 'registerList'>, filter: Omit<RegisterFilter, 'limit' | 'afterKey'>): Promise<RegisterEntry[]> {
  const all: RegisterEntry[] = [];
  let afterKey: string | undefined;
  for (;;) {
    const page = await store.registerList({ ...filter, limit: PAGE, ...(afterKey === undefined ? {} : { afterKey }) });
    all.push(...page);
    if (page.length < PAGE) return all;
    afterKey = page[page.length - 1].key;
  }
}

/** The sales registered for a store and business day (every till), ordered by business key. */
export function storeDaySales(store: Pick<Store, 'registerList'>, storeId: string, businessDate: string): Promise<RegisterEntry[]> {
  return listAll(store, { kind: 'sale', storeId, businessDate });
}
