/**
 * Till sales to Business Central many at a time (the ERP node's `saleBatch`), with the guarantees
 * of the one-at-a-time path (orders.ts `sendOrder`) kept per sale:
 *
 * - one lookup of every key of the batch (`findByKeys`: one `$batch` of GETs) finds what BC holds
 *   already, and those sales are answered from it (created: false);
 * - the others are created in `$batch`es of deep-insert POSTs (at most BATCH_MAX_REQUESTS each,
 *   see contract.ts; spread over the connection's concurrent requests, since BC runs one batch's
 *   requests one after another), each inner request answered on its own: a sale BC refuses fails
 *   alone with BC's message, the others are created;
 * - send once per record: a batch whose answer is lost (no answer, timeout, 408/5xx on the batch
 *   itself), an inner request answered 408/429/5xx or not answered at all is never sent again
 *   before a lookup of its key; found = created (recovered), only the others are sent again;
 * - BC's create answer is the read-back: it carries the totals BC computed, compared with the
 *   sale's own as `sendOrder` does (`msg.erp.totals`); recovered sales are compared with the
 *   lookup's copy. So a batch costs two calls when every sale is new, not three per sale.
 *
 * A sale whose total is negative becomes a credit memo linked to its original sale (returns.ts),
 * as `sendOrder` does; the same key twice in one batch, and a net return whose original is created
 * in the same batch, wait for a second pass (its lookup then finds what the first pass made). The
 * batch holds every key's turn in `locks` (a net return's original's too), so a one-at-a-time call
 * or another batch for the same key waits.
 * No Node-RED imports.
 */
import { ConnectorError } from '../runtime/http';
import { KeyedLock } from '../runtime/keyed-lock';
import { pauseBeforeRetry } from '../runtime/create-once';
import { BatchRequest, BatchResponse, batchFailure, BcCreditMemo, BcSalesDocument, BusinessCentralClient, outcomeUnknown, permanent, SYSTEM } from './client';
import { BATCH_MAX_REQUESTS } from './contract';

/** The fewest creates a $batch is split down to when the creates are spread over the connection's slots. */
const MIN_CHUNK = 10;
import { asSalesDocument, FoundDocument, itemProblem, OrderSettings, pick } from './documents';
import { CanonicalSalesDocument, customerFor, externalDocumentNumber, toSalesOrder } from './map';
import { OrderResult, resultOf } from './orders';
import { creditBody, CreditPlan, CreditResult, creditResult, originalNotFound, originalOf, pickMemo, saleCreditPlan, saleOriginal } from './returns';

type Sale = Extract<CanonicalSalesDocument, { kind: 'sale' }>;
export type SaleOutcome = OrderResult | CreditResult | Error;

/** One sale of the batch on its way. */
interface Work {
  index: number;
  key: string;
  edn: string;
  doc: Sale;
  /** A net return (negative total): a credit memo, linked to this original when it names one. */
  credit?: { original?: { key?: string; describe: string } };
}

/** A create the batch sends: what to POST, and what its answer (or a lookup's find) makes of it. */
interface Create {
  work: Work;
  set: 'salesOrders' | 'salesCreditMemos';
  body: Record<string, unknown>;
  created(doc: BcSalesDocument): OrderResult | CreditResult;
  found(docs: BcSalesDocument[]): OrderResult | CreditResult;
}

const CREATE_OPERATION = 'create sales documents ($batch)';

/**
 * Sends `sales` (each a canonical till sale and its idempotency key) to BC as described above, and
 * answers each one's result or its own Error, in the order given.
 */
export async function sendSaleBatch(
  client: BusinessCentralClient,
  sales: ReadonlyArray<{ payload: unknown; key: string | undefined }>,
  settings: OrderSettings,
  locks: KeyedLock = new KeyedLock(),
): Promise<SaleOutcome[]> {
  const out: Array<SaleOutcome | undefined> = new Array(sales.length);
  let todo: Work[] = [];
  sales.forEach(({ payload, key }, index) => {
    try {
      const doc = asSalesDocument(payload);
      if (doc.kind !== 'sale') throw permanent('map order', `a batch takes till sales only, got kind '${doc.kind}'`);
      if (!key) throw permanent('map order', 'the message has no idempotency key (msg.tillwire.idempotencyKey)');
      const credit = doc.totals.grandTotal.amount < 0 ? { original: saleOriginal(doc) } : undefined;
      todo.push({ index, key, edn: externalDocumentNumber(key), doc, credit });
    } catch (err) {
      out[index] = err as Error;
    }
  });

  while (todo.length) {
    const { pass, later } = nextPass(todo);
    // A net return also holds its original's key: a batch still creating that original (in the
    // node's other batch slot, or one at a time) finishes before this pass looks it up.
    await locks.runAll(
      pass.flatMap((w) => (w.credit?.original?.key ? [w.edn, externalDocumentNumber(w.credit.original.key)] : [w.edn])),
      () => runPass(client, pass, settings, out),
    );
    todo = later;
  }
  return out.map((o) => o ?? permanent('map order', 'no outcome (a defect)'));
}

/**
 * The sales one pass can take: the first of each key, and no net return whose original is a sale
 * of this pass (the original may be created by it). The rest wait for the next pass.
 */
function nextPass(todo: Work[]): { pass: Work[]; later: Work[] } {
  const pass: Work[] = [];
  const later: Work[] = [];
  const keys = new Set<string>();
  for (const w of todo) {
    if (keys.has(w.edn)) later.push(w);
    else {
      keys.add(w.edn);
      pass.push(w);
    }
  }
  const saleKeys = new Set(pass.filter((w) => !w.credit).map((w) => w.key));
  const waiting = pass.filter((w) => w.credit?.original?.key && saleKeys.has(w.credit.original.key));
  return { pass: pass.filter((w) => !waiting.includes(w)), later: [...waiting, ...later].sort((a, b) => a.index - b.index) };
}

/** Each sale its own copy of a failure that ends them all (so no two messages share one Error). */
function each(err: unknown): () => Error {
  return () => (err instanceof ConnectorError ? err.with({}) : (err as Error));
}

async function runPass(client: BusinessCentralClient, pass: Work[], settings: OrderSettings, out: Array<SaleOutcome | undefined>): Promise<void> {
  let known: Awaited<ReturnType<BusinessCentralClient['findByKeys']>>;
  try {
    known = await client.findByKeys({
      sales: [
        ...pass.filter((w) => !w.credit).map((w) => w.edn),
        ...pass.flatMap((w) => (w.credit?.original?.key ? [externalDocumentNumber(w.credit.original.key)] : [])),
      ],
      creditMemos: pass.filter((w) => w.credit).map((w) => w.edn),
    });
  } catch (err) {
    const copy = each(err);
    for (const w of pass) out[w.index] = copy();
    return;
  }

  // What BC holds already is answered from the lookup; the rest is planned for creating.
  const plans: Array<{ work: Work; plan?: CreditPlan }> = [];
  for (const w of pass) {
    try {
      if (!w.credit) {
        const found = known.sales.get(w.edn);
        if (found?.length) out[w.index] = resultOf(w.doc, pick(found), w.edn, { created: false, duplicates: many(found) });
        else plans.push({ work: w });
        continue;
      }
      const ref = w.credit.original;
      let original: CreditPlan['original'];
      if (ref?.key) {
        const found = known.sales.get(externalDocumentNumber(ref.key));
        if (!found?.length) throw originalNotFound(ref.key, ref.describe);
        original = { key: ref.key, edn: externalDocumentNumber(ref.key), doc: originalOf(found) };
      }
      const plan = saleCreditPlan(w.doc, w.key, settings, original);
      const memos = known.creditMemos.get(w.edn);
      if (memos?.length) out[w.index] = creditResult(plan, pickMemo(memos), { created: false, duplicates: many(memos) });
      else plans.push({ work: w, plan });
    } catch (err) {
      out[w.index] = err as Error;
    }
  }
  if (!plans.length) return;

  let localCurrency: string;
  try {
    localCurrency = settings.localCurrency?.trim().toUpperCase() || (await client.localCurrency());
  } catch (err) {
    const copy = each(err);
    for (const p of plans) out[p.work.index] = copy();
    return;
  }
  const mapped: Array<{ create: Create; items: Map<string, string>; invalidSkus: string[]; operation: string; document: string }> = [];
  for (const { work: w, plan } of plans) {
    try {
      if (plan) {
        const m = creditBody(plan, localCurrency);
        mapped.push({
          create: {
            work: w,
            set: 'salesCreditMemos',
            body: m.body,
            created: (doc) => creditResult(plan, doc as BcCreditMemo, { created: true }),
            found: (docs) => creditResult(plan, pickMemo(docs as BcCreditMemo[]), { created: true, recovered: true, duplicates: many(docs) }),
          },
          items: m.items,
          invalidSkus: m.invalidSkus,
          operation: plan.operation,
          document: 'credit memo',
        });
      } else {
        const customerNumber = customerFor(w.doc, settings.routing);
        const m = toSalesOrder(w.doc, w.key, {
          customerNumber,
          localCurrency,
          shippingAccount: settings.shippingAccount,
          timeZone: settings.timeZone ?? 'UTC',
        });
        mapped.push({
          create: {
            work: w,
            set: 'salesOrders',
            body: m.body,
            created: (doc) => resultOf(w.doc, { ...doc, document: 'salesOrder' }, w.edn, { created: true }),
            found: (docs) => resultOf(w.doc, pick(docs as FoundDocument[]), w.edn, { created: true, recovered: true, duplicates: many(docs) }),
          },
          items: m.items,
          invalidSkus: m.invalidSkus,
          operation: 'create sales order',
          document: '',
        });
      }
    } catch (err) {
      out[w.index] = err as Error;
    }
  }

  // Every item of every sale in one look (cached by the client): a sale with an unknown or
  // blocked item fails alone, before anything of it is sent.
  let items: Awaited<ReturnType<BusinessCentralClient['findItems']>>;
  try {
    items = await client.findItems(mapped.flatMap((m) => [...m.items.values()]));
  } catch (err) {
    const copy = each(err);
    for (const m of mapped) out[m.create.work.index] = copy();
    return;
  }
  const creates: Create[] = [];
  for (const m of mapped) {
    const problem = itemProblem(items, m.operation, m.items, m.invalidSkus, m.document);
    if (problem) out[m.create.work.index] = problem;
    else creates.push(m.create);
  }
  await createAll(client, creates, out);
}

function many(list: unknown[]): number | undefined {
  return list.length > 1 ? list.length : undefined;
}

/**
 * Sends the creates in `$batch`es until each has an outcome. Round one sends them all; a create
 * whose outcome is unknown (or that BC did not carry out for now: 429/503) waits for the next
 * round, which starts with a lookup of its key: found = created, the rest are sent once more.
 */
async function createAll(client: BusinessCentralClient, creates: Create[], out: Array<SaleOutcome | undefined>): Promise<void> {
  let pending = creates;
  const lastError = new Map<Create, ConnectorError>();
  for (let attempt = 1; pending.length; attempt++) {
    if (attempt > 1) {
      // The send-once rule: nothing is sent again before its key has been looked up.
      let known: Awaited<ReturnType<BusinessCentralClient['findByKeys']>>;
      try {
        known = await client.findByKeys({
          sales: pending.filter((c) => c.set === 'salesOrders').map((c) => c.work.edn),
          creditMemos: pending.filter((c) => c.set === 'salesCreditMemos').map((c) => c.work.edn),
        });
      } catch (err) {
        // Without a lookup nothing may be sent again: each sale fails (retryable: its outcome is unknown).
        for (const c of pending) out[c.work.index] = unknownOutcome(lastError.get(c), err);
        return;
      }
      pending = pending.filter((c) => {
        const found = c.set === 'salesOrders' ? known.sales.get(c.work.edn) : known.creditMemos.get(c.work.edn);
        if (!found?.length) return true;
        out[c.work.index] = c.found(found);
        return false;
      });
      if (!pending.length) return;
    }
    const again: Create[] = [];
    const chunks: Create[][] = [];
    // BC carries out a $batch's requests one after another, so one large batch uses one of the
    // connection's slots for all of them: the creates are spread over as many batches as the
    // connection may have on the wire (at least MIN_CHUNK each, so a small batch stays one request).
    const slots = client.options.limiter?.limit ?? 1;
    const size = Math.min(BATCH_MAX_REQUESTS, Math.max(MIN_CHUNK, Math.ceil(pending.length / slots)));
    for (let i = 0; i < pending.length; i += size) chunks.push(pending.slice(i, i + size));
    // Side by side: the connection's concurrency limit decides how many are on the wire.
    const send = async (chunk: Create[]): Promise<void> => {
      const requests: BatchRequest[] = chunk.map((c, n) => ({
        id: String(n + 1),
        method: 'POST',
        url: `${c.set}?$expand=${c.set === 'salesOrders' ? 'salesOrderLines' : 'salesCreditMemoLines'}`,
        body: c.body,
      }));
      let answers: Map<string, BatchResponse>;
      try {
        answers = await client.batch(requests, { operation: CREATE_OPERATION, writes: true });
      } catch (err) {
        const e = err instanceof ConnectorError ? err : undefined;
        if (e && (outcomeUnknown(e) || e.retryable)) {
          // The batch's answer is lost (or BC would not take it for now): every sale in it is looked up next round.
          for (const c of chunk) lastError.set(c, e);
          again.push(...chunk);
        } else {
          const copy = each(err);
          for (const c of chunk) out[c.work.index] = copy();
        }
        return;
      }
      chunk.forEach((c, n) => {
        const answer = answers.get(requests[n].id);
        const operation = c.set === 'salesOrders' ? 'create sales order' : 'create sales credit memo';
        if (!answer) {
          // BC stopped before it (or dropped it): not known to be done, so looked up before any re-send.
          lastError.set(c, new ConnectorError(SYSTEM, operation, 'the $batch answer has no answer for this sale', { kind: 'timeout', retryable: true }));
          again.push(c);
        } else if (answer.status === 201 || answer.status === 200) {
          out[c.work.index] = c.created(answer.body as BcSalesDocument);
        } else {
          const e = batchFailure(operation, answer, client.options.throttleCooloffMs);
          if (e.retryable) {
            lastError.set(c, e);
            again.push(c);
          } else out[c.work.index] = e;
        }
      });
    };
    await Promise.all(chunks.map(send));
    pending = again;
    if (!pending.length) return;
    if (attempt >= client.policy.maxAttempts) {
      for (const c of pending) out[c.work.index] = (lastError.get(c) ?? unknownOutcome(undefined, undefined)).with({ attempts: attempt });
      return;
    }
    const first = lastError.get(pending[0]);
    await pauseBeforeRetry(
      { system: SYSTEM, operation: CREATE_OPERATION, policy: client.policy, random: client.options.random, sleep: (ms) => client.sleep(ms) },
      attempt,
      first,
    );
  }
}

/** A sale whose create may or may not have happened and could not be looked up: retryable, saying so. */
function unknownOutcome(last: ConnectorError | undefined, lookup: unknown): ConnectorError {
  const why = lookup instanceof Error ? `; the lookup that would tell failed: ${lookup.message}` : '';
  return new ConnectorError(SYSTEM, 'create sales order', `the outcome of the create is unknown${last ? ` (${last.description})` : ''}${why}`, {
    kind: 'timeout',
    retryable: true,
    status: last?.status,
  });
}
