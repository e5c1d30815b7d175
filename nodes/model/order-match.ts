/**
 * What settlement reconciliation asks about the orders behind a settlement: which of them Tillwire
 * took in (with their gross) and which an ERP accepted. Defined here so both the ledger (which asks)
 * and the runtime's order index (which answers, runtime/order-index.ts) can use it.
 */
import type { Money } from './types.generated';

/** Which of a batch of order ids Tillwire and the ERP know. */
export interface OrderMatchBatch {
  /** Orders Tillwire knows, with their gross (the order's grandTotal) when it has one. */
  tillwire: ReadonlyArray<{ orderId: string; gross?: Money }>;
  /** Orders the ERP has. */
  erp: ReadonlyArray<string>;
}

/** Looks orders up in Tillwire's store and the ERP; called with at most `batchSize` ids at a time. */
export interface OrderMatcher {
  match(orderIds: readonly string[]): Promise<OrderMatchBatch>;
}
