/**
 * The Odoo connector's work, without Node-RED: one `OdooSync` per connection holds what the
 * concerns share (the client, the per-key lock, the reference cache, the retry policy for the
 * checked writes) and hands each call to its module: orders.ts (sale.order lifecycle),
 * sale-batch.ts (till sales in batches), returns.ts (credit notes), shipments.ts, stock.ts. Here
 * too: the create-once loops and the checked state changes that orders, batches and credit notes use.
 */
import { ConnectorError, RetryPolicy, delay } from '../runtime/http';
import { createOnce, pauseBeforeRetry, RetryPause } from '../runtime/create-once';
import { isRetryable, OdooClient, SYSTEM } from './client';
import { KeyedLock, sharedLock } from '../runtime/keyed-lock';
import { MapOptions, newReferenceCache, ReferenceCache } from './map';
import * as orders from './orders';
import * as returns from './returns';
import * as saleBatch from './sale-batch';
import * as shipments from './shipments';
import * as stock from './stock';

export interface OdooSyncOptions extends MapOptions {
  /** Attempts and backoff for the checked writes (create, confirm); defaults to the client's policy. */
  policy?: Partial<RetryPolicy>;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export class OdooSync {
  /**
   * Serialises the work per key (and a return behind its original order) in this process: one
   * lock per Odoo database, shared with every other connection to it (a redeployed node's too).
   */
  readonly locks: KeyedLock;
  readonly cache: ReferenceCache = newReferenceCache();
  readonly policy: RetryPolicy;
  /** The main warehouse's stock location, once read (stock.ts). */
  defaultLocation?: { id: number; name: string };

  constructor(
    readonly client: OdooClient,
    readonly options: OdooSyncOptions,
  ) {
    this.policy = { ...client.policy, ...options.policy };
    this.locks = sharedLock(client.lockScope);
  }

  /** Writes a canonical sale or order to Odoo, once per key (orders.ts). */
  pushOrder(payload: unknown, key: string): Promise<orders.OrderResult> {
    return orders.pushOrder(this, payload, key);
  }

  /** Till sales as confirmed orders in one batch, once per key; each its result or its own error (sale-batch.ts). */
  pushSales(items: saleBatch.SaleItem[]): Promise<Array<orders.OrderResult | Error>> {
    return saleBatch.pushSales(this, items);
  }

  /** A canonical return as an Odoo credit note, once per key (returns.ts). */
  pushReturn(payload: unknown, key: string): Promise<returns.CreditNoteResult> {
    return returns.pushReturn(this, payload, key);
  }

  /** Done outgoing transfers after `cursor` as canonical shipments (shipments.ts). */
  readShipments(cursor?: shipments.ShipmentCursor, limit = 200, names?: string[]): Promise<shipments.ShipmentsResult> {
    return shipments.readShipments(this, cursor, limit, names);
  }

  /** Stock per SKU and internal location as canonical positions (stock.ts). */
  readStock(skus?: string[], asOf = new Date()): Promise<stock.StockResult> {
    return stock.readStock(this, skus, asOf);
  }

  /** Stock changed since the cursor (none: every SKU), and the cursor to read from next. */
  readStockChanges(cursor: unknown, asOf = new Date()): Promise<stock.StockResult & { cursor?: stock.StockCursor }> {
    return stock.readStockChanges(this, cursor, asOf);
  }

  private pauseFor(operation: string): RetryPause {
    // The outcome is unknown: what Odoo did is checked before the next attempt.
    return { system: SYSTEM, operation, policy: this.policy, random: this.options.random, sleep: this.options.sleep ?? delay };
  }

  /**
   * A state change (`action_confirm`, `action_post`…) sent once, never blindly again: a refusal is
   * fine if the record already reached the state (an earlier attempt whose answer was lost did
   * it), and after a lost answer the state is read before the call is sent again.
   */
  async transition(model: string, method: string, id: number, reached: () => Promise<boolean>): Promise<void> {
    const failed = await this.transitionEach(model, method, [id], async () => ((await reached()) ? [] : [id]));
    const err = failed.get(id);
    if (err) throw err;
  }

  /**
   * `transition` for a list of records in one call: `unreached(ids)` answers those of `ids` that have
   * not reached the state. A lost answer reads the states, then sends the call again only for the
   * records that still need it. Odoo refuses a list as a whole (one transaction), so after a
   * refusal the records still unreached are split in halves and sent again, until each refusal is
   * down to its own record: the others go through, and each failing record gets Odoo's own message.
   * Answers the records that failed, with their error.
   */
  async transitionEach(model: string, method: string, ids: number[], unreached: (ids: number[]) => Promise<number[]>): Promise<Map<number, Error>> {
    const failed = new Map<number, Error>();
    const run = async (list: number[]): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.client.call(model, method, { ids: list }, { retry: false });
          return;
        } catch (err) {
          if (!isRetryable(err)) {
            const left = await unreached(list);
            if (!left.length) return;
            if (list.length === 1) {
              failed.set(list[0], err as Error);
              return;
            }
            const half = Math.ceil(left.length / 2);
            await run(left.slice(0, half));
            if (left.length > half) await run(left.slice(half));
            return;
          }
          if (attempt >= this.policy.maxAttempts) {
            for (const id of list) failed.set(id, (err as ConnectorError).with({ attempts: attempt }));
            return;
          }
          await pauseBeforeRetry(this.pauseFor(`${model}.${method}`), attempt, err);
          list = await unreached(list);
          if (!list.length) return;
        }
      }
    };
    if (ids.length) await run(ids);
    return failed;
  }

  /**
   * `findOrCreate` for several keys in one `create` call (Odoo takes a list of values; the call is
   * one transaction). Each record is still sent once, never blindly again: after a lost answer
   * `lookup(keys)` looks every key of the call up (answering those it finds), and only the keys it
   * did not find are created again. A refusal commits nothing, so the list is split in halves and
   * sent again until each refusal is down to its own record: the others are created and each
   * failing record gets Odoo's own message. `found`: keys the lookup found after a lost answer
   * (that create did make them).
   */
  async createEach<F>(
    model: string,
    entries: Array<{ key: string; values: Record<string, unknown> }>,
    lookup: (keys: string[]) => Promise<Map<string, F>>,
  ): Promise<{ created: Map<string, number>; found: Map<string, F>; failed: Map<string, Error> }> {
    const created = new Map<string, number>();
    const found = new Map<string, F>();
    const failed = new Map<string, Error>();
    const run = async (list: typeof entries): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        let ids: number[];
        try {
          ids = await this.client.create(
            model,
            list.map((e) => e.values),
            { retry: false },
          );
        } catch (err) {
          if (!isRetryable(err)) {
            if (list.length === 1) {
              failed.set(list[0].key, err as Error);
              return;
            }
            const half = Math.ceil(list.length / 2);
            await run(list.slice(0, half));
            await run(list.slice(half));
            return;
          }
          if (attempt >= this.policy.maxAttempts) {
            for (const e of list) failed.set(e.key, (err as ConnectorError).with({ attempts: attempt }));
            return;
          }
          await pauseBeforeRetry(this.pauseFor(`${model}.create`), attempt, err);
          const seen = await lookup(list.map((e) => e.key));
          for (const [key, f] of seen) found.set(key, f);
          list = list.filter((e) => !seen.has(e.key));
          if (!list.length) return;
          continue;
        }
        // Never sent again: a redelivery looks the keys up first.
        if (ids.length !== list.length) {
          const err = new ConnectorError(SYSTEM, `${model}.create`, `Odoo answered ${ids.length} ids for ${list.length} records created`, { retryable: true });
          for (const e of list) failed.set(e.key, err);
          return;
        }
        list.forEach((e, i) => created.set(e.key, ids[i]));
        return;
      }
    };
    if (entries.length) await run(entries);
    return { created, found, failed };
  }

  /**
   * The record for a key, created once if there is none. Odoo has no idempotency keys, so the
   * create is sent once, never blindly again: when its answer is lost (timeout, dropped
   * connection, 5xx) the key is looked up again first, and a create that was committed is found
   * there. `halt(found)` ends the search without creating (e.g. the key is cancelled in Odoo).
   * `uncertain`: a create's answer was lost, so a late twin may exist (see sweep).
   */
  async findOrCreate<F extends { row?: { id: number } }>(
    model: string,
    find: () => Promise<F>,
    values: () => Promise<Record<string, unknown>>,
    halt: (found: F) => boolean = () => false,
  ): Promise<{ found: F; createdId?: number; uncertain: boolean }> {
    let last!: F;
    const out = await createOnce<F, Record<string, unknown>, number>({
      lookup: async () => {
        last = await find();
        return last.row || halt(last) ? last : undefined;
      },
      lookupFirst: true,
      prepare: values,
      create: async (prepared) => (await this.client.create(model, prepared, { retry: false }))[0],
      outcomeUnknown: isRetryable,
      pause: this.pauseFor(`${model}.create`),
    });
    return 'found' in out ? { found: out.found, uncertain: out.afterLostAnswer } : { found: last, createdId: out.created, uncertain: out.afterLostAnswer };
  }
}
