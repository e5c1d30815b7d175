/**
 * Sales credit memos in Business Central: a canonical return (`sendReturn`), or a till sale whose
 * total is negative (`sendCreditForSale`, reached through `sendOrder`), once per key, linked to the
 * original order or invoice. No Node-RED imports.
 */
import { validateDocument } from '../model/validate';
import type { Money } from '../model/money';
import { KeyedLock } from '../runtime/keyed-lock';
import { returnAction, ReturnAction, ReturnStatus } from '../runtime/order-lifecycle';
import { BcCreditMemo, BusinessCentralClient, permanent, SYSTEM } from './client';
import { CanonicalSalesDocument, CreditItemLine, CreditMemoInput, customerFor, externalDocumentNumber, MappedCreditMemo, toCreditMemo, orderDate } from './map';
import type { ConnectorError } from '../runtime/http';
import { OrderSettings, OrderTotals, expectedTotal, pick, createInBc, checkItems, FoundDocument, totalsOfBasis } from './documents';
import type { LifecycleOptions } from './orders';

export interface CreditResult {
  system: typeof SYSTEM;
  document: 'salesCreditMemo';
  id?: string;
  number?: string;
  created: boolean;
  externalDocumentNumber: string;
  customerNumber?: string;
  /** What the shared lifecycle decided: 'credit', 'wait' (nothing yet) or 'none' (rejected). */
  action: ReturnAction;
  /** The return's own status (returns), or 'net-return' (a till sale with a negative total). */
  channelStatus?: string;
  /** Set when nothing was written: why. */
  skipped?: 'waiting' | 'rejected';
  reason?: string;
  /** The original order or sale, as found in BC (the credit memo's link). */
  original?: {
    key: string;
    externalDocumentNumber: string;
    document: 'salesOrder' | 'salesInvoice';
    id: string;
    number: string;
    /** True when the credit memo applies to the posted invoice (BC `invoiceId`). */
    applied: boolean;
  };
  /** The original could not be identified (a till sale without its terminal id): not linked. */
  unlinked?: string;
  recovered?: boolean;
  duplicates?: number;
  totals?: OrderTotals;
}

interface ReturnLineDoc {
  lineId?: string;
  sku: string;
  quantity: number;
  refundAmount: Money;
  reason?: string;
}

interface ReturnDoc {
  kind: 'return';
  returnId: string;
  channel: { system: string; account?: string; id: string };
  originalOrder?: { id: string; channel?: { system: string; account?: string; id: string } };
  originalSale?: { saleId: string; storeId: string; terminalId?: string };
  status: ReturnStatus;
  createdAt: string;
  currency: string;
  lines: ReturnLineDoc[];
  totals?: { refundTotal: Money };
}

/** Checks the payload is a valid canonical return; a permanent error otherwise. */
export function asReturn(payload: unknown): ReturnDoc {
  const kind = (payload as { kind?: unknown } | null)?.kind;
  if (kind !== 'return')
    throw permanent('map return', `msg.payload must be a canonical return, got ${kind === undefined ? typeof payload : `kind '${String(kind)}'`}`);
  const result = validateDocument('return', payload);
  if (!result.valid) throw permanent('map return', `invalid return: ${result.errors.join('; ')}`);
  return payload as ReturnDoc;
}

/** The original's idempotency key, or why it cannot be known. */
function originalKey(ref: { order?: ReturnDoc['originalOrder']; sale?: { saleId: string; storeId?: string; terminalId?: string }; storeId?: string }): {
  key?: string;
  describe: string;
} {
  if (ref.order) {
    const ch = ref.order.channel;
    if (!ch) return { describe: `order ${ref.order.id} (no channel reference, so its Business Central external document number cannot be derived)` };
    return { key: `order:${ch.system}:${ch.account ?? '-'}:${ch.id}`, describe: `order ${ref.order.id}` };
  }
  const sale = ref.sale!;
  const storeId = sale.storeId ?? ref.storeId;
  if (!storeId || !sale.terminalId)
    return { describe: `sale ${sale.saleId}${storeId ? ` of store ${storeId}` : ''} (no terminal id, so its key cannot be derived)` };
  return { key: `sale:${storeId}:${sale.terminalId}:${sale.saleId}`, describe: `sale ${sale.saleId}` };
}

async function findOriginal(
  client: BusinessCentralClient,
  key: string | undefined,
  describe: string,
  required: boolean,
): Promise<{ doc?: FoundDocument; edn?: string }> {
  if (!key) {
    if (required) throw permanent('create sales credit memo', `the original ${describe}: nothing was created`, { providerCode: 'OriginalUnknown' });
    return {};
  }
  const edn = externalDocumentNumber(key);
  const found = await client.findSalesDocuments(edn);
  if (!found.length) throw originalNotFound(key, describe);
  return { doc: originalOf(found), edn };
}

/** The permanent error of a return whose original is not in BC. */
export function originalNotFound(key: string, describe: string): ConnectorError {
  return permanent(
    'create sales credit memo',
    `the original ${describe} (${key}, external document no. ${externalDocumentNumber(key)}) is not in Business Central: nothing was created (send the original first, then replay)`,
    {
      providerCode: 'OriginalNotFound',
    },
  );
}

/** Of the documents carrying the original's number, the one a credit memo links to: the posted invoice when there is one (it can apply to it). */
export function originalOf(found: FoundDocument[]): FoundDocument {
  return found.find((d) => d.document === 'salesInvoice') ?? pick(found);
}

export interface CreditPlan {
  key: string;
  operation: string;
  currency: string;
  date: string;
  lines: CreditItemLine[];
  accountLines?: CreditMemoInput['accountLines'];
  comments: string[];
  expected: { field: OrderTotals['field']; amount: number; pricesIncludeTax: boolean };
  original?: { key: string; edn: string; doc: FoundDocument };
  unlinked?: string;
  fallbackCustomer: () => string;
  action: ReturnAction;
  channelStatus: string;
}

/** The original a credit memo names, as its result tells it. */
function originalRef(plan: CreditPlan): CreditResult['original'] {
  return plan.original
    ? {
        key: plan.original.key,
        externalDocumentNumber: plan.original.edn,
        document: plan.original.doc.document,
        id: String(plan.original.doc.id),
        number: String(plan.original.doc.number),
        applied: plan.original.doc.document === 'salesInvoice',
      }
    : undefined;
}

/** The `salesCreditMemos` deep-insert body of a plan (customer from the original, else the fallback). */
export function creditBody(plan: CreditPlan, localCurrency: string): MappedCreditMemo {
  const original = originalRef(plan);
  const customerNumber = plan.original?.doc.customerNumber ? String(plan.original.doc.customerNumber) : plan.fallbackCustomer();
  return toCreditMemo({
    key: plan.key,
    customerNumber,
    currency: plan.currency,
    localCurrency,
    date: plan.date,
    lines: plan.lines,
    accountLines: plan.accountLines,
    invoiceId: original?.applied ? original.id : undefined,
    comments: plan.comments,
  });
}

/** What a credit memo BC holds (created now, or found) says of a plan. */
export function creditResult(plan: CreditPlan, memo: BcCreditMemo, extra: { created: boolean; recovered?: boolean; duplicates?: number }): CreditResult {
  // A credit memo checked on its gross total is on a tax-included basis, whatever the original's.
  const expected = plan.expected.field === 'totalAmountIncludingTax' ? { ...plan.expected, pricesIncludeTax: true } : plan.expected;
  return {
    system: SYSTEM,
    document: 'salesCreditMemo',
    externalDocumentNumber: externalDocumentNumber(plan.key),
    action: plan.action,
    channelStatus: plan.channelStatus,
    id: String(memo.id),
    number: String(memo.number),
    created: extra.created,
    customerNumber: memo.customerNumber,
    original: originalRef(plan),
    unlinked: plan.unlinked,
    recovered: extra.recovered,
    duplicates: extra.duplicates,
    totals: totalsOfBasis(plan.currency, expected, memo),
  };
}

async function createCredit(client: BusinessCentralClient, plan: CreditPlan, settings: OrderSettings, locks: KeyedLock): Promise<CreditResult> {
  const edn = externalDocumentNumber(plan.key);
  return locks.run(edn, async () => {
    const existing = await client.findCreditMemos(edn);
    if (existing.length) return creditResult(plan, pickMemo(existing), { created: false, duplicates: existing.length > 1 ? existing.length : undefined });
    const localCurrency = settings.localCurrency?.trim().toUpperCase() || (await client.localCurrency());
    const mapped = creditBody(plan, localCurrency);
    await checkItems(client, plan.operation, mapped.items, mapped.invalidSkus, 'credit memo');
    const out = await createInBc(
      client,
      plan.operation,
      () => client.findCreditMemos(edn),
      () => client.createSalesCreditMemo(mapped.body),
    );
    const memo = out.recovered ? pickMemo(out.found!) : out.doc;
    return creditResult(plan, memo, {
      created: true,
      recovered: out.recovered,
      duplicates: out.found && out.found.length > 1 ? out.found.length : undefined,
    });
  });
}

export function pickMemo(found: BcCreditMemo[]): BcCreditMemo {
  return [...found].sort((a, b) => String(a.number).localeCompare(String(b.number), 'en', { numeric: true }))[0];
}

/**
 * A canonical return becomes one BC sales credit memo (shared lifecycle `returnAction`): from
 * status received/refunded/closed it is created once per return key (externalDocumentNumber =
 * the key, looked up before every create), for the original order's BC customer, applied to the
 * original's posted invoice when it is invoiced (`invoiceId`) and naming the original in a comment
 * line either way; lines by item number, quantity and the exact refund amount. requested and
 * authorized wait (nothing written, `skipped: 'waiting'`); rejected writes nothing. An original
 * that is not in BC is a permanent error naming it (dead-letter it, replay once it is there).
 */
export async function sendReturn(
  client: BusinessCentralClient,
  payload: unknown,
  key: string,
  settings: OrderSettings,
  locks: KeyedLock = new KeyedLock(),
): Promise<CreditResult> {
  const doc = asReturn(payload);
  if (!key) throw permanent('map return', 'the message has no idempotency key (msg.tillwire.idempotencyKey)');
  const edn = externalDocumentNumber(key);
  const action = returnAction(doc.status);
  const base = {
    system: SYSTEM as typeof SYSTEM,
    document: 'salesCreditMemo' as const,
    created: false,
    externalDocumentNumber: edn,
    action,
    channelStatus: doc.status,
  };
  if (action === 'wait') {
    return {
      ...base,
      skipped: 'waiting',
      reason: `return ${doc.returnId} is ${doc.status}: the credit memo is made once the goods are received or the money is refunded`,
    };
  }
  if (action === 'none') return { ...base, skipped: 'rejected', reason: `return ${doc.returnId} was rejected: nothing is credited` };

  const ref = originalKey({ order: doc.originalOrder, sale: doc.originalOrder ? undefined : doc.originalSale });
  const found = await findOriginal(client, ref.key, ref.describe, true);
  const lineSum = doc.lines.reduce((a, l) => a + l.refundAmount.amount, 0);
  const refundTotal = doc.totals?.refundTotal.amount ?? lineSum;
  const extra = refundTotal - lineSum;
  const accountLines =
    extra > 0 && settings.shippingAccount
      ? [{ account: settings.shippingAccount, amount: extra, description: `Refund beyond the returned lines (${doc.returnId})` }]
      : undefined;
  return createCredit(
    client,
    {
      key,
      operation: 'create sales credit memo',
      currency: doc.currency,
      date: orderDate(doc.createdAt, settings.timeZone ?? 'UTC'),
      lines: doc.lines.map((l) => ({
        sku: l.sku,
        quantity: l.quantity,
        amount: l.refundAmount.amount,
        description: l.reason ? `Return: ${l.reason.replace(/_/g, ' ')}` : undefined,
      })),
      accountLines,
      comments: [`Return ${doc.returnId} of ${found.doc!.document === 'salesInvoice' ? 'invoice' : 'order'} ${found.doc!.number} (${found.edn})`],
      // refundTotal: a refund beyond the lines (shipping) without a shipping account shows as a mismatch.
      expected: { field: 'totalAmountIncludingTax', amount: refundTotal, pricesIncludeTax: true },
      original: { key: ref.key!, edn: found.edn!, doc: found.doc! },
      fallbackCustomer: () => String(found.doc!.customerNumber),
      action,
      channelStatus: doc.status,
    },
    settings,
    locks,
  );
}

/**
 * A till sale whose total is negative (a net return, perhaps with an exchange) becomes a sales
 * credit memo for the credited amount, linked to the original sale when `returnOf` names it
 * (applied to its posted invoice when it has one). Returned lines are credited with positive
 * quantities; items bought in the same transaction net off as negative quantities.
 */
export async function sendCreditForSale(
  client: BusinessCentralClient,
  doc: Extract<CanonicalSalesDocument, { kind: 'sale' }>,
  key: string,
  settings: OrderSettings,
  locks: KeyedLock,
  _opts: LifecycleOptions,
): Promise<CreditResult> {
  const ref = saleOriginal(doc);
  let original: CreditPlan['original'];
  if (ref?.key) {
    const found = await findOriginal(client, ref.key, ref.describe, false);
    original = { key: ref.key, edn: found.edn!, doc: found.doc! };
  }
  return createCredit(client, saleCreditPlan(doc, key, settings, original), settings, locks);
}

/** The original sale a net-return sale names (`returnOf`): its key, or only a description when its key cannot be derived; undefined when it names none. */
export function saleOriginal(doc: Extract<CanonicalSalesDocument, { kind: 'sale' }>): { key?: string; describe: string } | undefined {
  const returnOf = (doc as unknown as { returnOf?: { saleId: string; storeId?: string; terminalId?: string } }).returnOf;
  if (!returnOf) return undefined;
  return originalKey({ sale: { ...returnOf, storeId: returnOf.storeId ?? doc.storeId } });
}

/**
 * The credit memo of a till sale whose total is negative, its original found (or not named, or
 * not identifiable: then it is credited unlinked). Returned lines are credited with positive
 * quantities; items bought in the same transaction net off as negative quantities.
 */
export function saleCreditPlan(
  doc: Extract<CanonicalSalesDocument, { kind: 'sale' }>,
  key: string,
  settings: OrderSettings,
  original: CreditPlan['original'],
): CreditPlan {
  const returnOf = (doc as unknown as { returnOf?: { saleId: string } }).returnOf;
  const ref = saleOriginal(doc);
  const unlinked = ref && !ref.key ? `the original ${ref.describe}: the credit memo names it in a comment only` : undefined;
  const exp = expectedTotal(doc);
  return {
    key,
    operation: 'create sales credit memo',
    currency: doc.currency,
    date: doc.businessDate,
    lines: doc.lines.map((l) => ({
      sku: l.sku,
      quantity: -l.quantity,
      unitPrice: l.unitPrice.amount,
      amount: -l.lineTotal.amount,
      description: l.description ?? l.title,
    })),
    comments: returnOf
      ? [`Return of sale ${returnOf.saleId}${original ? ` (${original.doc.document === 'salesInvoice' ? 'invoice' : 'order'} ${original.doc.number})` : ''}`]
      : [],
    expected: { field: exp.field, amount: -exp.amount, pricesIncludeTax: exp.pricesIncludeTax },
    original,
    unlinked,
    fallbackCustomer: () => customerFor(doc, settings.routing),
    action: 'credit',
    channelStatus: 'net-return',
  };
}
