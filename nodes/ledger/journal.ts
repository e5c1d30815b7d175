/**
 * `tillwire-journal`: builds the balanced store-day journal (store-journal.ts) from the sales
 * registered for a store and business day. Input: `{ storeId, businessDate }` or a till.close
 * document (its store and date). Output: the canonical JournalEntry, topic `journal.posted`.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from '../core/node-red';
import { statusTexts, bindStore, onInput, shortText, StatusBoard } from '../core/node-kit';
import { ensureEnvelope, ENVELOPE_PROPERTY } from '../model/envelope';
import type { Sale } from '../model/types.generated';
import { buildStoreJournal, compileMapping } from './store-journal';
import { JournalNodeConfig, mappingFromConfig } from './node-config';
import { storeDaySales } from './register';

interface JournalDef extends NodeDef, JournalNodeConfig {
  store: string;
  narration?: string;
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
  RED.nodes.registerType('tillwire-journal', TillwireJournalNode);
};
