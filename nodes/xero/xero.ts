/**
 * `tillwire-xero`: posts a canonical JournalEntry (msg.payload, kind "journal") to Xero as a
 * manual journal, once per journalId (post.ts), and passes the message on with `msg.xero`, the
 * posting status Xero shows for it (ManualJournalID, status, date, lines, debit total, whether it
 * was created now or found posted before). Failures go to Catch with the structured error: a
 * journal Xero cannot take (kind `value`, each reason in `cause.providerErrors`), Xero's limits
 * (`rate-limit`), credentials (`auth`). Thin on purpose (docs/architecture.md, Principles 7).
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from '../core/node-red';
import { onInput, shortText, StatusBoard, statusTexts } from '../core/node-kit';
import { asConnectorError, briefly, permanentFailure } from '../runtime/errors';
import { XERO } from './client';
import { XERO_CONFIG, type XeroConfigConnection } from './connection';
import { connectionOf } from '../core/config-node';

interface XeroNodeDef extends NodeDef {
  xero?: string;
}

const OPERATION = 'post journal';

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireXeroNode(this: RuntimeNode, def: XeroNodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node, RED);
    const config = connectionOf<XeroConfigConnection>(RED, def.xero, XERO_CONFIG);
    const connection = config && !config.problem ? (config as Exclude<XeroConfigConnection, { problem: string }>) : undefined;
    const counts = { posted: 0, found: 0, failed: 0 };
    const show = () =>
      board.set({
        fill: counts.failed ? 'yellow' : 'green',
        shape: 'dot',
        text: t('status.counts', { posted: counts.posted, found: counts.found, failed: counts.failed }),
      });
    if (!config) board.set({ fill: 'red', shape: 'ring', text: t('status.noConfig') });
    else if (config.problem) board.set({ fill: 'red', shape: 'ring', text: shortText(config.problem) });
    else board.set({ fill: 'grey', shape: 'ring', text: t('status.ready') });

    onInput(node, async (msg: NodeMessage, send: SendFn) => {
      try {
        if (!connection) throw permanentFailure(XERO, OPERATION, config?.problem ?? t.problem('status.noConfig').message);
        const poster = connection.poster;
        // Retries and throttling show on the badge while they last.
        const result = await board.watch(() => poster.post(msg.payload));
        if (result.outcome === 'created') counts.posted++;
        else counts.found++;
        show();
        if (result.duplicates) node.warn(t('warn.duplicates', { journal: result.journalId ?? '', ids: result.duplicates.join(', ') }));
        send({ ...msg, xero: result });
      } catch (err) {
        counts.failed++;
        const e = asConnectorError(err, XERO, OPERATION);
        board.set({ fill: 'red', shape: 'ring', text: shortText(t('status.failed', { failed: counts.failed, reason: briefly(e) })) });
        throw e;
      }
    });
  }
  RED.nodes.registerType('tillwire-xero', TillwireXeroNode);
};
