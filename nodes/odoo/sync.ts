/**
 * The Odoo connector's work, without Node-RED: one `OdooSync` per connection holds what the
 * concerns share (the client, the per-key lock, the reference cache, the retry policy for the
 * checked writes) and hands each call to its module: orders.ts (sale.order lifecycle), returns.ts
 * (credit notes), shipments.ts, stock.ts. Here too: the create-once loop and the checked state
 * change that orders and credit notes both use.
 */
import { ConnectorError, RetryPolicy, delay } from '../runtime/http';
import { createOnce, pauseBeforeRetry, RetryPause } from '../runtime/create-once';
import { isRetryable, OdooClient, SYSTEM } from './client';
import { KeyedLock } from '../runtime/keyed-lock';
import { MapOptions, newReferenceCache, ReferenceCache } from './map';
import * as orders from './orders';
import * as returns from './returns';
import * as shipments from './shipments';
import * as stock from './stock';

export interface OdooSyncOptions extends MapOptions {
  /** Attempts and backoff for the checked writes (create, confirm); defaults to the client's policy. */
  policy?: Partial<RetryPolicy>;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export class OdooSync {
  /** Serialises the work per key (and a return behind its original order) in this process. */
  readonly locks = new KeyedLock();
  readonly cache: ReferenceCache = newReferenceCache();
  readonly policy: RetryPolicy;
  /** The main warehouse's stock location, once read (stock.ts). */
  defaultLocation?: { id: number; name: string };

  constructor(
    readonly client: OdooClient,
    readonly options: OdooSyncOptions,
  ) {
    this.policy = { ...client.policy, ...options.policy };
  }

  /** Writes a canonical sale or order to Odoo, once per key (orders.ts). */
  pushOrder(payload: unknown, key: string): Promise<orders.OrderResult> {
    return orders.pushOrder(this, payload, key);
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
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.call(model, method, { ids: [id] }, { retry: false });
        return;
      } catch (err) {
        if (!isRetryable(err)) {
          if (await reached()) return;
          throw err;
        }
        if (attempt >= this.policy.maxAttempts) throw (err as ConnectorError).with({ attempts: attempt });
        await pauseBeforeRetry(this.pauseFor(`${model}.${method}`), attempt, err);
        if (await reached()) return;
      }
    }
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
