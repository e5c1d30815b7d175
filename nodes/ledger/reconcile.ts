/**
 * `tillwire-reconcile`: control totals. Mode "till close": a till's till.close document against the
 * sales registered for that till and day (and, optionally, those an ERP accepted). The report
 * (control-totals.ts) leaves on output 1 when everything matches, on output 2 when there is a variance.
 */
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from '../core/node-red';
import { statusTexts, bindStore, onInput, StatusBoard } from '../core/node-kit';
import { reconcileTill } from './control-totals';
import { isTillClose } from './till-close';
import { listAll } from './register';

interface ReconcileDef extends NodeDef {
  store: string;
  mode?: string;
  erpSystem?: string;
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireReconcileNode(this: RuntimeNode, def: ReconcileDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const binding = bindStore(RED, node, def.store, board);
    const mode = def.mode || 'till-close';
    const erpSystem = def.erpSystem?.trim() || undefined;
    const counts = { matched: 0, variance: 0 };
    const show = () =>
      board.set({ fill: counts.variance ? 'yellow' : 'green', shape: 'dot', text: t('status.counts', { matched: counts.matched, variance: counts.variance }) });
    if (mode !== 'till-close') board.set({ fill: 'red', shape: 'ring', text: t('status.unknownMode', { mode }) });
    else if (binding.configured) board.set({ fill: 'grey', shape: 'ring', text: erpSystem ? t('status.readyErp', { erp: erpSystem }) : t('status.ready') });

    onInput(node, async (msg: NodeMessage, send: SendFn) => {
      if (mode !== 'till-close') throw new Error(`reconcile: unknown mode '${mode}'`);
      if (!isTillClose(msg.payload)) throw new Error('reconcile: msg.payload must be a till.close document (kind "till.close")');
      const close = msg.payload;
      const store = await binding.acquire();
      const received = await listAll(store, {
        kind: 'sale',
        storeId: close.storeId,
        terminalId: close.terminalId,
        businessDate: close.businessDate,
      });
      const report = reconcileTill(close, received, { erpSystem });
      msg.tillClose = close;
      msg.payload = report;
      msg.topic = report.status === 'matched' ? 'till.reconciled' : 'till.variance';
      counts[report.status]++;
      show();
      send(report.status === 'matched' ? [msg, null] : [null, msg]);
    });
  }
  RED.nodes.registerType('tillwire-reconcile', TillwireReconcileNode);
};
