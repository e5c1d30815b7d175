/**
 * A canonical return as a posted Odoo credit note (`account.move` `out_refund`, shared
 * `returnAction` rules) linked to its original order, written once per `ref` (looked up before
 * any create is sent again, like orders).
 */
import { Money } from '../model/money';
import { addDecimals, divideRound, excludeTax, parseDecimal, percentToFraction, rescale } from '../model/decimal';
import { businessDate } from '../model/business-date';
import type { Return } from '../model/types.generated';
import { returnAction, ReturnAction } from '../runtime/order-lifecycle';
import { validateDocument } from '../model/validate';
import { odooError } from './client';
import { escapeLike, lineFieldNames, odooAmount } from './map';
import type { OdooSync } from './sync';
import { minorFromOdoo } from './map';

/** msg.erp for a canonical return (`account.move`, move_type `out_refund`). */
export interface CreditNoteResult {
  system: 'odoo';
  model: 'account.move';
  moveType: 'out_refund';
  /** What the shared lifecycle decided: `credit` writes, `wait` and `none` write nothing. */
  action: ReturnAction;
  returnStatus: string;
  key: string;
  /** Null when nothing was written (`wait`, `none`). */
  id: number | null;
  /** The credit note's number once posted (e.g. RINV/2025/00001). */
  name: string | null;
  /** draft | posted | cancel; null when nothing was written. */
  state: string | null;
  created: boolean;
  /** True for `wait` and `none`, with the reason. */
  skipped?: boolean;
  reason?: string;
  /** The sale.order the credit note is linked to (its `invoice_origin`). */
  originalOrder?: { id: number; name: string; key: string };
  amountTotal?: Money;
  /** amountTotal − the return's refund total, when they differ (excluded taxes, rounding). */
  variance?: Money;
  /** Other credit notes carrying the same ref: drafts are cancelled, posted ones only reported. */
  duplicates?: string[];
  cancelledDrafts?: string[];
}

interface MoveRow {
  id: number;
  name: string;
  state: string;
  amount_total: number;
}

const MOVE_FIELDS = ['id', 'name', 'state', 'amount_total'];

/** How to write a refund of `total` minor units over `qty` units with exact unit prices: one line, or two. */
export function splitExact(qty: number, total: number): Array<{ qty: number; unit: number }> {
  if (total % qty === 0) return [{ qty, unit: total / qty }];
  const base = divideRound(total, qty, 'floor');
  return [
    { qty: qty - 1, unit: base },
    { qty: 1, unit: total - base * (qty - 1) },
  ];
}

/** The client_order_ref(s) the original order or sale of a return may carry. */
export function originalRefs(ret: Return): { label: string; domain: unknown[] } {
  if (ret.originalOrder) {
    const o = ret.originalOrder;
    const keys = o.channel ? [`order:${o.channel.system}:${o.channel.account ?? '-'}:${o.channel.id}`, o.id] : [o.id];
    const uniq = [...new Set(keys)];
    return { label: uniq[0], domain: [['client_order_ref', 'in', uniq]] };
  }
  const s = ret.originalSale!;
  if (s.terminalId) {
    const k = `sale:${s.storeId}:${s.terminalId}:${s.saleId}`;
    return { label: k, domain: [['client_order_ref', '=', k]] };
  }
  return { label: `sale:${s.storeId}:*:${s.saleId}`, domain: [['client_order_ref', '=like', `sale:${escapeLike(s.storeId)}:%:${escapeLike(s.saleId)}`]] };
}

/**
 * A canonical return as an Odoo credit note (`account.move`, `out_refund`) linked to its original
 * sale.order, once per key (the move's `ref`), following the shared `returnAction` rules.
 */
export async function pushReturn(sync: OdooSync, payload: unknown, key: string): Promise<CreditNoteResult> {
  const kind = (payload as { kind?: unknown } | null)?.kind;
  if (kind !== 'return')
    throw odooError(
      'account.move',
      `the payload must be a canonical return (kind 'return'), got ${kind === undefined ? typeof payload : `kind '${String(kind)}'`}`,
      { retryable: false },
    );
  const check = validateDocument('return', payload);
  if (!check.valid) throw odooError('account.move', `invalid return: ${check.errors.join('; ')}`, { retryable: false });
  const ret = payload as Return;
  if (!key) throw odooError('account.move', 'no idempotency key (msg.tillwire.idempotencyKey) and no business key in the payload', { retryable: false });
  const action = returnAction(ret.status);
  const base = { system: 'odoo' as const, model: 'account.move' as const, moveType: 'out_refund' as const, action, returnStatus: ret.status, key };
  if (action !== 'credit') {
    const reason =
      action === 'wait'
        ? `return is ${ret.status}: the credit note is written once the goods are received or the money refunded`
        : 'return was rejected: no credit note';
    return { ...base, id: null, name: null, state: null, created: false, skipped: true, reason };
  }
  // Under the original order's lock too: a refund that follows its order closely (one poll page,
  // one webhook burst) waits for the order's create in this process instead of failing for it.
  const original = originalRefs(ret).label;
  return sync.client.track(sync.locks.run(original, () => sync.locks.run(`return|${key}`, () => creditNote(sync, ret, key, base))));
}

async function findMoves(sync: OdooSync, key: string): Promise<{ row?: MoveRow; others: MoveRow[] }> {
  const rows = await sync.client.searchRead<MoveRow>(
    'account.move',
    [
      ['move_type', '=', 'out_refund'],
      ['ref', '=', key],
    ],
    { fields: MOVE_FIELDS, order: 'id asc', limit: 20 },
  );
  const live = rows.filter((r) => r.state !== 'cancel');
  const row = live.find((r) => r.state === 'posted') ?? live[0];
  return { row, others: live.filter((r) => r !== row) };
}

async function readMove(sync: OdooSync, id: number): Promise<MoveRow> {
  const [row] = await sync.client.read<MoveRow>('account.move', [id], MOVE_FIELDS);
  return row;
}

function post(sync: OdooSync, id: number): Promise<void> {
  return sync.transition('account.move', 'action_post', id, async () => (await readMove(sync, id)).state === 'posted');
}

async function creditNote(
  sync: OdooSync,
  ret: Return,
  key: string,
  base: Pick<CreditNoteResult, 'system' | 'model' | 'moveType' | 'action' | 'returnStatus' | 'key'>,
): Promise<CreditNoteResult> {
  let original: { id: number; name: string; key: string } | undefined;
  const { found, createdId, uncertain } = await sync.findOrCreate(
    'account.move',
    () => findMoves(sync, key),
    async () => {
      const prepared = await prepareCreditNote(sync, ret, key);
      original = prepared.original;
      return prepared.values;
    },
  );
  let row = found.row ?? (await readMove(sync, createdId!));
  const created = createdId !== undefined || uncertain;
  if (row.state === 'draft') {
    await post(sync, row.id);
    row = await readMove(sync, row.id);
  }
  // Late twins of an unanswered create: drafts are cancelled, posted ones reported.
  const others = uncertain ? (await findMoves(sync, key)).others.filter((r) => r.id !== row.id) : found.others.filter((r) => r.id !== row.id);
  const drafts = others.filter((r) => r.state === 'draft');
  if (drafts.length) await sync.client.call('account.move', 'button_cancel', { ids: drafts.map((r) => r.id) });
  const duplicates = others.filter((r) => r.state === 'posted').map((r) => r.name);
  if (!original) {
    const [o] = await sync.client.read<{ invoice_origin: string | false }>('account.move', [row.id], ['invoice_origin']);
    const refs = await sync.client.searchRead<{ id: number; name: string; client_order_ref: string }>('sale.order', [['name', '=', o?.invoice_origin || '']], {
      fields: ['id', 'name', 'client_order_ref'],
      limit: 1,
    });
    if (refs[0]) original = { id: refs[0].id, name: refs[0].name, key: refs[0].client_order_ref };
  }
  const amountTotal = { amount: minorFromOdoo(row.amount_total, ret.currency), currency: ret.currency };
  const expected = ret.totals?.refundTotal.amount ?? ret.lines.reduce((s, l) => s + l.refundAmount.amount, 0);
  return {
    ...base,
    id: row.id,
    name: row.name,
    state: row.state,
    created,
    ...(original ? { originalOrder: original } : {}),
    amountTotal,
    ...(amountTotal.amount !== expected ? { variance: { amount: amountTotal.amount - expected, currency: ret.currency } } : {}),
    ...(duplicates.length ? { duplicates } : {}),
    ...(drafts.length ? { cancelledDrafts: drafts.map((r) => r.name) } : {}),
  };
}

/**
 * The credit note's values: partner and origin from the original sale.order, one line per return
 * line (product by SKU, the refund amount tax included at the original line's taxes). Every
 * missing piece (original order, SKUs, currency) is one permanent error, before anything is written.
 */
async function prepareCreditNote(
  sync: OdooSync,
  ret: Return,
  key: string,
): Promise<{ values: Record<string, unknown>; original: { id: number; name: string; key: string } }> {
  const { label, domain } = originalRefs(ret);
  type SoRow = { id: number; name: string; state: string; partner_id: [number, string]; client_order_ref: string; currency_id: [number, string] | false };
  const skus = [...new Set(ret.lines.map((l) => l.sku))];
  const [orders, products, currencies] = await Promise.all([
    sync.client.searchRead<SoRow>('sale.order', domain, {
      fields: ['id', 'name', 'state', 'partner_id', 'client_order_ref', 'currency_id'],
      order: 'id asc',
      limit: 20,
    }),
    sync.client.searchRead<{ id: number; default_code: string }>('product.product', [['default_code', 'in', skus]], { fields: ['id', 'default_code'] }),
    sync.client.searchRead<{ id: number; name: string }>('res.currency', [['name', '=', ret.currency]], { fields: ['id', 'name'], limit: 1 }),
  ]);
  const so = orders.find((o) => o.state === 'sale') ?? orders.find((o) => o.state !== 'cancel') ?? orders[0];
  const problems: string[] = [];
  if (!so) problems.push(`original order ${label} is not in Odoo yet (send the order first, then replay this return)`);
  const byCode = new Map<string, number[]>();
  for (const p of products) byCode.set(p.default_code, [...(byCode.get(p.default_code) ?? []), p.id]);
  const unknown = skus.filter((s) => !byCode.has(s));
  if (unknown.length)
    problems.push(`unknown SKU${unknown.length > 1 ? 's' : ''} in Odoo (no active product with that Internal Reference): ${unknown.join(', ')}`);
  const ambiguous = skus.filter((s) => (byCode.get(s)?.length ?? 0) > 1);
  if (ambiguous.length) problems.push(`SKU${ambiguous.length > 1 ? 's' : ''} shared by several Odoo products: ${ambiguous.join(', ')}`);
  if (!currencies.length) problems.push(`Odoo has no currency ${ret.currency}`);
  if (so && so.currency_id && so.currency_id[1] !== ret.currency) problems.push(`the return is in ${ret.currency} but ${so.name} is in ${so.currency_id[1]}`);
  if (problems.length) {
    throw odooError('account.move', `${key}: ${problems.join('; ')}`, {
      retryable: false,
      providerCode: !so ? 'original_missing' : unknown.length ? 'unknown_sku' : 'mapping',
    });
  }
  // The taxes of the original order's line for each product, so the credit mirrors the sale.
  const taxField = lineFieldNames(sync.options.version).taxes;
  const soLines = await sync.client.searchRead<Record<string, any>>('sale.order.line', [['order_id', '=', so!.id]], { fields: ['product_id', taxField] });
  const taxesByProduct = new Map<number, number[]>();
  for (const l of soLines) if (l.product_id && !taxesByProduct.has(l.product_id[0])) taxesByProduct.set(l.product_id[0], l[taxField] ?? []);
  const taxIds = [...new Set([...taxesByProduct.values()].flat())];
  const taxes = taxIds.length
    ? await sync.client.read<{ id: number; amount: number; price_include: boolean; amount_type: string }>('account.tax', taxIds, [
        'amount',
        'price_include',
        'amount_type',
      ])
    : [];
  const taxById = new Map(taxes.map((t) => [t.id, t]));
  const lines: Array<[0, 0, Record<string, unknown>]> = [];
  for (const line of ret.lines) {
    const productId = byCode.get(line.sku)![0];
    const lineTaxes = taxesByProduct.get(productId);
    // refundAmount is tax included: taxes Odoo adds on top are taken out first (rates to 1/10000 %).
    const excluded = (lineTaxes ?? []).map((id) => taxById.get(id)).filter((t) => t && !t.price_include && t.amount_type === 'percent');
    let total = line.refundAmount.amount;
    if (excluded.length) {
      // Odoo keeps a tax's percentage to 4 decimals: the sum is read exactly and held to that.
      const percent = rescale(addDecimals(excluded.map((t) => parseDecimal(t!.amount, { what: 'tax percentage' }))), 4, 'half-away-from-zero');
      total = excludeTax(total, percentToFraction(percent), 'half-away-from-zero');
    }
    const text = `Return: ${line.sku}${line.reasonText ? ` (${line.reasonText})` : line.reason ? ` (${line.reason})` : ''}`;
    for (const part of splitExact(line.quantity, total)) {
      lines.push([
        0,
        0,
        {
          product_id: productId,
          name: text,
          quantity: part.qty,
          price_unit: odooAmount(part.unit, ret.currency),
          discount: 0,
          ...(lineTaxes ? { tax_ids: [[6, 0, lineTaxes]] } : {}),
        },
      ]);
    }
  }
  const refunded = (ret.refunds ?? [])
    .map((r) => r.issuedAt)
    .sort()
    .at(-1);
  const values = {
    move_type: 'out_refund',
    partner_id: so!.partner_id[0],
    ref: key,
    invoice_origin: so!.name,
    invoice_date: businessDate(refunded ?? ret.createdAt, sync.options.timeZone ?? 'UTC'),
    currency_id: currencies[0].id,
    invoice_line_ids: lines,
  };
  return { values, original: { id: so!.id, name: so!.name, key: so!.client_order_ref } };
}
