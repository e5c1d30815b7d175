/**
 * `tillwire-journal`:
 * - Mode "store day": builds the balanced store-day journal (store-journal.ts) from the sales
 *   registered for a store and business day. Input: `{ storeId, businessDate }` or a till.close
 *   document (its store and date). Output: the canonical JournalEntry, topic `journal.posted`.
 * - Mode "settlement": builds a reconciled settlement's journals (settlement-journal.ts) from
 *   msg.settlement (tillwire-reconcile, mode settlement) with the account mapping of a
 *   `tillwire-settlement-accounts` node, records them in the settlement register and emits one
 *   message per journal (a reissue's reversals first), ready for tillwire-quickbooks or
 *   tillwire-xero. An already-posted settlement builds nothing. A poster's answer wired back in
 *   (msg.posting or msg.xero with the journal in msg.payload) records the journal's ledger id in the
 *   register; tillwire-journal-file's answer (msg.file) records it as written for import (`file:<name>`).
 */
import path from 'node:path';
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from '../core/node-red';
import { statusTexts, bindStore, onInput, shortText, StatusBoard } from '../core/node-kit';
import { ensureEnvelope, ENVELOPE_PROPERTY } from '../model/envelope';
import type { Sale } from '../model/types.generated';
import { buildStoreJournal, compileMapping } from './store-journal';
import { JournalNodeConfig, mappingFromConfig } from './node-config';
import { storeDaySales } from './register';
import type { JournalEntry } from '../model/types.generated';
import { connectionOf } from '../core/config-node';
import type { StoreBinding } from '../core/node-kit';
import { SETTLEMENT_ACCOUNTS, type SettlementAccounts } from './node-config';
import { buildSettlementJournals } from './settlement-journal';
import { summaryForNext } from './settlement-reconcile';
import { fileLedgerId, JOURNAL_ACCOUNT_ATTR, SettlementRegister, storeSummary, type SettlementRecord } from './settlement-register';
import type { SettlementToPost } from './settlement-check';

/**
 * The register's record of a settlement whose journals were built: every journal kept, the summary
 * for the next one. False when the record has these journals already: the same version passed the
 * check twice at once (two messages, or two instances sharing the store) and the other one posts it.
 */
async function recordPosted(register: SettlementRegister, s: SettlementToPost, built: JournalEntry[]): Promise<boolean> {
  const rec = s.reconciliation;
  let fresh = true;
  await register.update(s.key, (r) => {
    const known = new Set(r?.journals.map((j) => j.journalId));
    fresh = !built.every((j) => known.has(j.journalId));
    return fresh ? posted(r) : undefined;
  });
  return fresh;
  function posted(r: SettlementRecord | undefined): SettlementRecord {
    return {
      ...s.key,
      fingerprint: rec.fingerprint,
      issuedAt: s.tally.header.issuedAt,
      periodEnd: s.tally.header.periodEnd,
      currency: s.tally.currency,
      state: rec.payout.kind === 'carried-forward' ? 'carried-forward' : 'posted',
      variances: [],
      summaryForNext: storeSummary(summaryForNext(rec)),
      ...(s.previous ? { previous: storeSummary(s.previous) } : {}),
      journals: [...(r?.journals ?? []), ...built],
      ledgerIds: r?.ledgerIds ?? {},
      ...(r?.releases ? { releases: r.releases } : {}),
      updatedAt: '',
    };
  }
}

type Posting = { entryId?: unknown; manualJournalId?: unknown; ledgerId?: unknown; id?: unknown };

/**
 * A poster's answer: msg.posting (tillwire-quickbooks) or msg.xero (tillwire-xero); or the journal
 * file node's msg.file, whose file name is recorded as a `file:` id (written for import, not confirmed).
 */
function postingOf(msg: NodeMessage): Posting | undefined {
  if (msg.posting ?? msg.xero) return (msg.posting ?? msg.xero) as Posting;
  const file = msg.file as { path?: unknown } | undefined;
  if (file && typeof file.path === 'string' && file.path) return { ledgerId: fileLedgerId(path.basename(file.path)) };
  return undefined;
}

/** A poster's answer: the journal's ledger id into the register (journals of other origins pass unnoticed). */
async function recordPosting(register: SettlementRegister, msg: NodeMessage): Promise<void> {
  const journal = msg.payload as JournalEntry;
  const posting = postingOf(msg)!;
  const ledgerId = [posting.entryId, posting.manualJournalId, posting.ledgerId, posting.id].find((v) => typeof v === 'string' && v) as string | undefined;
  const settlementId = journal.attributes?.settlementId;
  const system = journal.source?.[0]?.system;
  if (!ledgerId || !settlementId || !system || !journal.journalId.startsWith('settlement:')) return;
  await register.recordLedgerId({ system, account: journal.attributes?.[JOURNAL_ACCOUNT_ATTR] ?? '', settlementId }, journal.journalId, ledgerId);
}

interface JournalDef extends NodeDef, JournalNodeConfig {
  store: string;
  narration?: string;
  mode?: string;
  /** The tillwire-settlement-accounts node (mode settlement). */
  accounts?: string;
}

function storeDay(payload: unknown): { storeId: string; businessDate: string; currency?: string } {
  const p = (payload && typeof payload === 'object' ? payload : {}) as Record<string, unknown>;
  if (typeof p.storeId !== 'string' || !p.storeId || typeof p.businessDate !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(p.businessDate)) {
    throw new Error('journal: msg.payload must be { storeId, businessDate: "YYYY-MM-DD" } or a till.close document');
  }
  return { storeId: p.storeId, businessDate: p.businessDate, currency: typeof p.currency === 'string' && p.currency ? p.currency : undefined };
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireJournalNode(this: RuntimeNode, def: JournalDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const binding = bindStore(RED, node, def.store, board);
    if (def.mode === 'settlement') return settlementJournals(node, def, board, binding);
    const mapping = mappingFromConfig(def);
    let mappingProblem: string | undefined;
    try {
      compileMapping(mapping);
    } catch (err) {
      mappingProblem = (err as Error).message;
    }
    let built = 0;
    if (mappingProblem) board.set({ fill: 'red', shape: 'ring', text: t('status.invalidMapping') });
    else if (binding.configured) board.set({ fill: 'grey', shape: 'ring', text: t('status.ready') });

    onInput(node, async (msg: NodeMessage, send: SendFn) => {
      if (mappingProblem) throw new Error(`journal: ${mappingProblem}`);
      const day = storeDay(msg.payload);
      const store = await binding.acquire();
      const entries = await storeDaySales(store, day.storeId, day.businessDate);
      const sales = entries.map((e) => e.document as unknown as Sale);
      const currency = day.currency ?? sales[0]?.currency ?? '';
      let journal;
      try {
        journal = buildStoreJournal(sales, mapping, { ...day, currency, narration: def.narration });
      } catch (err) {
        board.set({ fill: 'red', shape: 'ring', text: shortText(`${day.storeId} ${day.businessDate}: ${(err as Error).message}`) });
        throw err;
      }
      const previous = msg[ENVELOPE_PROPERTY];
      delete msg[ENVELOPE_PROPERTY];
      msg.payload = journal;
      msg.topic = 'journal.posted';
      const envelope = ensureEnvelope(msg, journal as unknown as Record<string, unknown>, 'tillwire');
      if (previous && typeof previous.correlationId === 'string') envelope.correlationId = previous.correlationId;
      built++;
      board.set({
        fill: 'green',
        shape: 'dot',
        text: shortText(t('status.built', { count: built, store: day.storeId, date: day.businessDate, sales: sales.length })),
      });
      send(msg);
    });
  }

  function settlementJournals(node: RuntimeNode, def: JournalDef, board: StatusBoard, binding: StoreBinding) {
    const accounts = connectionOf<SettlementAccounts>(RED, def.accounts, SETTLEMENT_ACCOUNTS);
    const problem = !accounts ? t('status.noAccounts') : accounts.problems.length ? accounts.problems.join('; ') : undefined;
    const counts = { settlements: 0, journals: 0, already: 0 };
    if (problem) board.set({ fill: 'red', shape: 'ring', text: shortText(problem, 60) });
    else if (binding.configured) board.set({ fill: 'grey', shape: 'ring', text: t('status.readySettlement') });

    onInput(node, async (msg: NodeMessage, send: SendFn) => {
      const store = await binding.acquire();
      const register = new SettlementRegister(store);
      if (postingOf(msg) && (msg.payload as JournalEntry | undefined)?.kind === 'journal') return recordPosting(register, msg);
      if (problem) throw new Error(`journal: the settlement account mapping cannot be used: ${problem}`);
      const s = msg.settlement as SettlementToPost | undefined;
      if (!s || !s.tally || !s.reconciliation)
        throw new Error('journal: msg.settlement is missing: wire a tillwire-reconcile node in mode "settlement" before this node');
      const { mapping } = accounts!;
      if (s.action === 'already-posted') {
        counts.already++;
        board.set({ fill: 'green', shape: 'dot', text: shortText(t('status.settlements', counts), 60) });
        return;
      }
      if (s.suspense && !mapping.suspenseAccount) {
        throw new Error(`journal: settlement ${s.key.settlementId} was released to suspense but the account mapping has no suspense account`);
      }
      const posting = buildSettlementJournals(s.tally, s.reconciliation, mapping, {
        posted: s.posted,
        ...(s.suspense ? { suspense: { account: mapping.suspenseAccount!, variance: s.suspense.variance } } : {}),
      });
      const built = [...posting.reversals, ...posting.journals].map((j) => ({ ...j, attributes: { ...j.attributes, [JOURNAL_ACCOUNT_ATTR]: s.key.account } }));
      // Recorded before they leave: the same version sent again is then "already posted", even if
      // its posting is still under way (the poster posts each journal id once in any case).
      if (!(await recordPosted(register, s, built))) {
        counts.already++;
        board.set({ fill: 'green', shape: 'dot', text: shortText(t('status.settlements', counts), 60) });
        return;
      }
      const previous = msg[ENVELOPE_PROPERTY];
      const out: NodeMessage[] = built.map((journal, i) => {
        const m: NodeMessage = {
          topic: 'journal.settlement',
          payload: journal,
          settlementKey: s.key,
          parts: { id: `${s.key.settlementId}`, index: i, count: built.length },
        };
        if (previous && typeof previous.correlationId === 'string')
          ensureEnvelope(m, journal as unknown as Record<string, unknown>, 'tillwire').correlationId = previous.correlationId;
        return m;
      });
      counts.settlements++;
      counts.journals += built.length;
      board.set({ fill: 'green', shape: 'dot', text: shortText(t('status.settlements', counts), 60) });
      send([out]);
    });
  }

  RED.nodes.registerType('tillwire-journal', TillwireJournalNode);
};
