/**
 * What an ERP connector does with one channel event about an order or a return, decided from the
 * event's canonical status and what the ERP already holds. Shared by every ERP connector so they
 * agree on the rules (docs/connectors/order-lifecycle.md):
 *
 * - Every event carries the whole document (webhook, poll, replay alike), so the first event seen
 *   for an order creates it, whatever its type: a `paid` or `updated` that overtakes `create`
 *   creates the order, and the `create` that follows finds it and changes nothing.
 * - Cancellation is terminal. A cancel for an order the ERP has never seen creates the order and
 *   cancels it, so that a late, stale `create` finds a cancelled order and does not bring it
 *   back. A non-cancel event for an order the ERP holds cancelled is stale: acknowledged, no write.
 * - A return becomes a credit document (Odoo credit note, Business Central sales credit memo)
 *   linked to the original order once the goods are back or the money is, i.e. from status
 *   `received`, `refunded` or `closed`; `requested` and `authorized` wait (nothing is written),
 *   `rejected` writes nothing. One credit document per return key, however often it arrives.
 */
import type { Order, Return } from '../model/types.generated';

export type OrderStatus = Order['status'];
export type ReturnStatus = Return['status'];

/** The order's state in the ERP, as far as the lifecycle cares. */
export type ErpOrderState = 'absent' | 'open' | 'cancelled';

export type OrderAction =
  /** Not in the ERP: create (and confirm) it. */
  | 'create'
  /** Not in the ERP and the event says cancelled: create it, then cancel it (a tombstone). */
  | 'create-cancelled'
  /** In the ERP and open, the event says cancelled: cancel it. */
  | 'cancel'
  /** In the ERP and open, the event is another state of it: nothing to create. */
  | 'exists'
  /** Cancelled in the ERP: the event is older news, or a repeat of the cancel. */
  | 'already-cancelled';

export function orderAction(erp: ErpOrderState, status: OrderStatus): OrderAction {
  const cancel = status === 'cancelled';
  if (erp === 'absent') return cancel ? 'create-cancelled' : 'create';
  if (erp === 'cancelled') return 'already-cancelled';
  return cancel ? 'cancel' : 'exists';
}

export type ReturnAction = 'credit' | 'wait' | 'none';

export function returnAction(status: ReturnStatus): ReturnAction {
  if (status === 'received' || status === 'refunded' || status === 'closed') return 'credit';
  if (status === 'rejected') return 'none';
  return 'wait';
}
