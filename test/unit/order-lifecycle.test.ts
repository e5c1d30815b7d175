/**
 * The order and return lifecycle rules (nodes/runtime/order-lifecycle.ts,
 * docs/connectors/order-lifecycle.md) as full tables: every ERP state against every status the
 * canonical schemas allow. The statuses are read from the schemas, so a status added there without
 * a rule here fails this test.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  orderAction,
  returnAction,
  type ErpOrderState,
  type OrderAction,
  type OrderStatus,
  type ReturnAction,
  type ReturnStatus,
} from '../../nodes/runtime/order-lifecycle';

const schema = (name: string) => JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'nodes', 'model', 'schemas', `${name}.schema.json`), 'utf8'));

// What the ERP does with each order event. Rows: the event's status; columns: the ERP's state.
const ORDER_RULES: Record<OrderStatus, Record<ErpOrderState, OrderAction>> = {
  // any first event creates the order (the whole document travels with every event)
  pending: { absent: 'create', open: 'exists', cancelled: 'already-cancelled' },
  accepted: { absent: 'create', open: 'exists', cancelled: 'already-cancelled' },
  paid: { absent: 'create', open: 'exists', cancelled: 'already-cancelled' },
  partially_fulfilled: { absent: 'create', open: 'exists', cancelled: 'already-cancelled' },
  fulfilled: { absent: 'create', open: 'exists', cancelled: 'already-cancelled' },
  closed: { absent: 'create', open: 'exists', cancelled: 'already-cancelled' },
  // a cancel first seen leaves a cancelled tombstone; cancellation is terminal
  cancelled: { absent: 'create-cancelled', open: 'cancel', cancelled: 'already-cancelled' },
};

// Returns: a credit document once goods or money are back; nothing for a refusal; wait otherwise.
const RETURN_RULES: Record<ReturnStatus, ReturnAction> = {
  requested: 'wait',
  authorized: 'wait',
  received: 'credit',
  refunded: 'credit',
  closed: 'credit',
  rejected: 'none',
};

describe('order lifecycle rules', () => {
  it('has a rule for every order status the canonical schema allows', () => {
    expect(Object.keys(ORDER_RULES).sort()).toEqual([...schema('order').properties.status.enum].sort());
  });

  const cases = Object.entries(ORDER_RULES).flatMap(([status, row]) => Object.entries(row).map(([erp, action]) => [status, erp, action] as const));
  it.each(cases)('an order event "%s" with the order %s in the ERP: %s', (status, erp, action) => {
    expect(orderAction(erp as ErpOrderState, status as OrderStatus)).toBe(action);
  });

  it('never brings a cancelled order back, whatever arrives after the cancel', () => {
    for (const status of Object.keys(ORDER_RULES) as OrderStatus[]) {
      expect(orderAction('cancelled', status)).toBe('already-cancelled');
    }
  });
});

describe('return lifecycle rules', () => {
  it('has a rule for every return status the canonical schema allows', () => {
    expect(Object.keys(RETURN_RULES).sort()).toEqual([...schema('return').properties.status.enum].sort());
  });

  it.each(Object.entries(RETURN_RULES))('a return "%s": %s', (status, action) => {
    expect(returnAction(status as ReturnStatus)).toBe(action);
  });
});
