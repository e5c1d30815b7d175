/**
 * `tillwire-bol-invoices`: bol.com retailer invoices (ALL_IN_ONE) as canonical Settlements, one
 * message per invoice, each invoice once:
 *   list (every `interval` seconds and on any input) → durable inbox (event id `invoice:<id>`)
 *   → cursor advance → read the specification page by page → map + validate → output 1
 *   (msg.payload the Settlement, with msg.tillwire and msg.tillwireInbox for `tillwire-ack`).
 * A specification line that is not a canonical line (an unknown line type, an unreadable amount)
 * leaves on output 2 as its own message with msg.error, for a dead-letter node; its settlement goes
 * out without it, so it does not add up to bol's stated total and reconciliation holds it. An
 * invoice that cannot be read at all goes to the dead-letter store; a failed call is retried by the
 * inbox and given up after the node's *Attempts*. The node's body is the shared poller
 * (core/order-poller.ts, processed entries); this file is bol's poll and delivery.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode } from '../core/node-red';
import { runOrderPoller } from '../core/order-poller';
import { statusTexts } from '../core/status-text';
import { attemptsSetting } from '../core/inbound-inbox';
import { INBOX_REF } from '../core/node-kit';
import { connectionOf } from '../core/config-node';
import { recordFailure } from '../runtime/dead-letter';
import { ConnectorError } from '../runtime/errors';
import type { InboxEntry } from '../runtime/store';
import { businessKey, validateDocument } from '../model/validate';
import { BOL_CONFIG, type BolConnection } from './connection';
import type { InvoiceListItem } from './client';
import { pollInvoices, readInvoiceSettlement } from './invoices';
import type { InvoiceLineProblem } from './invoice-map';

interface InvoicesDef extends NodeDef {
  bol: string;
  store: string;
  interval?: string | number;
  lookback?: string | number;
  maxAttempts?: string | number;
}

const num = (v: unknown, dflt: number, min: number) => {
  const n = Number(v);
  return v !== '' && v !== undefined && Number.isFinite(n) && n >= min ? n : dflt;
};

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireBolInvoicesNode(this: RuntimeNode, def: InvoicesDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const connection = connectionOf<BolConnection>(RED, def.bol, BOL_CONFIG);
    const account = connection?.account ?? 'bol';
    const lookbackDays = num(def.lookback, 62, 1);
    const attempts = attemptsSetting(def.maxAttempts);
    if (attempts.problem) node.warn(attempts.problem);
    const sourceOf = (entry: InboxEntry) => ({ system: 'bol', account, eventId: entry.eventId, receivedAt: entry.receivedAt });

    // A bad line's message carries msg.error as a Catch node's would, so a dead-letter node records it as it stands.
    const problemMessage = (p: InvoiceLineProblem): NodeMessage => ({
      topic: `settlement/bol/${p.invoiceId}/problem`,
      payload: p,
      error: {
        message: p.reason,
        name: 'InvoiceLineProblem',
        code: p.kind,
        source: { id: node.id, type: node.type, name: node.name },
        cause: { invoiceId: p.invoiceId, page: p.page, position: p.position, line: p.line },
      },
    });

    runOrderPoller<InvoiceListItem>(RED, node, {
      system: 'bol',
      texts: t,
      connection,
      store: def.store,
      intervalSeconds: num(def.interval, 3600, 0),
      source: `bol-invoices:${node.id}`,
      cursorKey: `bol-invoices:${node.id}:cursor`,
      async poll({ store, cursorKey, accept, signal }) {
        await pollInvoices({ client: connection!.client!, store, cursorKey, accept, lookbackDays, signal });
      },
      processed: {
        maxAttempts: attempts.maxAttempts,
        what: 'bol invoice',
        poisoned: (entry) => ({ payload: entry.payload, topic: 'bol.invoice', source: sourceOf(entry) }),
        deliver: (ctx) => async (entry: InboxEntry) => {
          const item = entry.payload as InvoiceListItem;
          const envelope: Record<string, unknown> = {
            schemaVersion: 1,
            eventId: entry.eventId,
            correlationId: entry.eventId,
            source: sourceOf(entry),
            attempts: entry.attempts,
          };
          const problems: InvoiceLineProblem[] = [];
          let settlement;
          try {
            ({ settlement } = await readInvoiceSettlement(connection!.client!, item, { account, onProblem: (p) => void problems.push(p) }));
            const v = validateDocument('settlement', settlement);
            if (!v.valid) throw new Error(`not a valid canonical settlement: ${v.errors.join('; ')}`);
          } catch (err) {
            // A call that may succeed later is retried by the inbox; an invoice that cannot be a settlement is parked at once.
            if (err instanceof ConnectorError && err.retryable) throw err;
            const e = err as Error;
            await recordFailure(
              ctx.store,
              { topic: 'bol.invoice', payload: item, tillwire: { ...envelope, idempotencyKey: `settlement:bol:${item?.invoiceId}` } },
              { error: { message: e.message, name: e.name }, flowId: node.z ?? null, nodeId: node.id, nodeType: node.type, nodeName: node.name ?? null },
            );
            await ctx.complete(entry.id);
            ctx.counts.failed++;
            ctx.refresh();
            node.warn(`bol invoice ${item?.invoiceId} sent to the dead-letter store: ${e.message}`);
            return;
          }
          for (const p of problems) node.send([null, problemMessage(p)]);
          ctx.counts.emitted++;
          node.send([
            {
              topic: `settlement/bol/${settlement.settlementId}`,
              payload: settlement,
              tillwire: {
                ...envelope,
                idempotencyKey: businessKey(settlement as unknown as Record<string, unknown>),
                ...(settlement.issuedAt ? { occurredAt: settlement.issuedAt } : {}),
              },
              [INBOX_REF]: { source: ctx.source, id: entry.id },
            },
            null,
          ]);
          ctx.refresh();
        },
      },
    });
  }
  RED.nodes.registerType('tillwire-bol-invoices', TillwireBolInvoicesNode);
};
