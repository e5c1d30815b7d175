/**
 * `tillwire-quickbooks`: posts a canonical JournalEntry (msg.payload, kind "journal") to a
 * QuickBooks Online company exactly once (post.ts) and passes the message on with `msg.posting`,
 * the posting status read back from QuickBooks. `msg.exchangeRate` (home-currency units per unit of
 * the journal's currency) is needed for a journal in a foreign currency. Failures go to Catch with
 * the QuickBooks Fault's code and element in `msg.error.cause`.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from '../core/node-red';
import { onInput, shortText, statusTexts, StatusBoard } from '../core/node-kit';
import { asConnectorError, briefly, permanentFailure } from '../runtime/errors';
import { QUICKBOOKS } from './client';
import { QUICKBOOKS_CONFIG, type QboConfigConnection } from './connection';
import { connectionOf } from '../core/config-node';

interface QboNodeDef extends NodeDef {
  quickbooks: string;
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireQuickbooksNode(this: RuntimeNode, def: QboNodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node, RED);
    const company = connectionOf<QboConfigConnection>(RED, def.quickbooks, QUICKBOOKS_CONFIG);
    const problem = !company ? t('status.noCompany') : company.problem;
    const counts = { posted: 0, already: 0, failed: 0 };
    const show = () => board.set({ fill: counts.failed ? 'yellow' : 'green', shape: 'dot', text: t('status.counts', counts) });
    if (problem) board.set({ fill: 'red', shape: 'ring', text: shortText(problem) });
    else board.set({ fill: 'grey', shape: 'ring', text: t('status.ready', { realm: company!.realmId }) });

    onInput(node, async (msg: NodeMessage, send: SendFn) => {
      if (problem || !company?.poster) throw permanentFailure(QUICKBOOKS, 'journalentry.post', problem ?? 'no QuickBooks company configured');
      const rate = msg.exchangeRate;
      if (rate !== undefined && typeof rate !== 'string' && typeof rate !== 'number') {
        throw permanentFailure(QUICKBOOKS, 'journalentry.post', 'msg.exchangeRate must be decimal text such as "1.0825"');
      }
      try {
        await company.ready;
        const posting = await board.watch(() => company.poster!.post(msg.payload, { exchangeRate: rate === undefined ? undefined : String(rate) }));
        if (posting.status === 'posted') counts.posted++;
        else counts.already++;
        show();
        send({ ...msg, posting });
      } catch (err) {
        counts.failed++;
        const e = asConnectorError(err, QUICKBOOKS, 'journalentry.post');
        board.set({ fill: 'red', shape: 'ring', text: shortText(t('status.failed', { reason: briefly(e) })) });
        throw e;
      }
    });
  }
  RED.nodes.registerType('tillwire-quickbooks', TillwireQuickbooksNode);
};
