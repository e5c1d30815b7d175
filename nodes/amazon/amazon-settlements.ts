/**
 * `tillwire-amazon-settlements`: Amazon settlement reports as SettlementStreams, one message per
 * settlement (msg.payload: header, lines as an async iterable, tally, postable()), from two
 * sources:
 * - polling: every `interval` seconds the finished settlement reports created since the last
 *   poll (first poll: `lookback` days back) are listed and each new one opened (settlements.ts);
 * - input: msg.filename (a downloaded report, relative to the user directory) or a Buffer in
 *   msg.payload is read the same way (gzip recognised by its magic bytes); any other message polls
 *   now.
 * Each bad row leaves on the second output as its own message (settlement id, row number, kind,
 * reason, cells), for a dead-letter node; its settlement's postable() stays false.
 *
 * The lines are read while the next node iterates them (nothing is held), so the message must go
 * to ONE node: Node-RED clones a message sent to several, and an iterator cannot be cloned.
 * Reports already emitted are remembered for the node's life; after a restart the lookback window
 * is emitted again, and the settlement id with issuedAt is the key a consumer dedupes by.
 */
import fs from 'node:fs';
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode } from '../core/node-red';
import { onInput, shortText, statusTexts, StatusBoard } from '../core/node-kit';
import { schedulePolls } from '../core/poll-schedule';
import { AMAZON_CONFIG, type AmazonConnection } from './connection';
import { connectionOf } from '../core/config-node';
import { containedFile } from '../runtime/contained-path';
import { openSettlementReport, settlementReports } from './settlements';
import type { AmazonReport } from './client';
import { readSettlementReport, type SettlementReportStream, type SettlementRowProblem } from './settlement-report';

interface SettlementsDef extends NodeDef {
  amazon: string;
  interval?: string | number;
  lookback?: string | number;
}

const GZIP_MAGIC = [0x1f, 0x8b];

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireAmazonSettlementsNode(this: RuntimeNode, def: SettlementsDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const connection = connectionOf<AmazonConnection>(RED, def.amazon, AMAZON_CONFIG);
    const intervalMs = Math.max(0, Number(def.interval ?? 3600)) * 1000;
    const lookbackMs = Math.max(0, Number(def.lookback ?? 14)) * 86_400_000;
    const account = () => connection?.sellerId || 'amazon';
    const emitted = new Set<string>();
    const open = new Set<SettlementReportStream>();
    let since: string | undefined;
    let count = 0;

    // A bad row's message carries msg.error as a Catch node's would, so a dead-letter node records it as it stands.
    const problemTo = (send: (msgs: Array<NodeMessage | null>) => void) => (p: SettlementRowProblem) =>
      send([
        null,
        {
          topic: `settlement/amazon/${p.settlementId}/problem`,
          payload: p,
          error: {
            message: p.reason,
            name: 'SettlementRowProblem',
            code: p.kind,
            source: { id: node.id, type: node.type, name: node.name },
            cause: { settlementId: p.settlementId, row: p.row },
          },
        },
      ]);

    const emit = (stream: SettlementReportStream, send: (msgs: Array<NodeMessage | null>) => void, msg: NodeMessage = {}) => {
      open.add(stream);
      const lines = stream.lines;
      // The consumer's iteration ends the stream's life here too (and close() ends it on redeploy).
      const tracked = {
        ...stream,
        lines: (async function* () {
          try {
            yield* lines;
          } finally {
            open.delete(stream);
          }
        })(),
      };
      count++;
      board.set({ fill: 'green', shape: 'dot', text: shortText(t('status.emitted', { count, id: stream.header.settlementId })) });
      send([{ ...msg, topic: `settlement/amazon/${stream.header.settlementId}`, payload: tracked }, null]);
    };

    const poll = async (signal: AbortSignal) => {
      if (!connection?.client) throw new Error(`Amazon settlements: ${connection?.problem ?? 'no Amazon account configured'}`);
      const client = connection.client;
      const createdSince = since ?? new Date(Date.now() - lookbackMs).toISOString();
      const startedAt = new Date().toISOString();
      await board.watch(async () => {
        // Oldest first (getReports lists the newest first): each settlement is reconciled against
        // the one before it, so a backlog sent newest first would hold the older ones.
        const reports: AmazonReport[] = [];
        for await (const report of settlementReports(client, { createdSince, marketplaceIds: connection.marketplaceIds })) {
          if (!emitted.has(report.reportId)) reports.push(report);
        }
        reports.sort((a, b) => Date.parse(a.createdTime) - Date.parse(b.createdTime));
        for (const report of reports) {
          if (signal.aborted) return;
          const stream = await openSettlementReport(client, report, { account: account(), onProblem: problemTo((m) => node.send(m)) });
          // Closed while opening: the close already closed the open streams; the next start finds this report again.
          if (signal.aborted) {
            stream.close();
            return;
          }
          emitted.add(report.reportId);
          emit(stream, (m) => node.send(m));
        }
      });
      // The next poll looks an hour behind this one's start (reports created meanwhile, clock skew); `emitted` keeps them single.
      since = new Date(Date.parse(startedAt) - 3_600_000).toISOString();
      if (!count) board.set({ fill: 'grey', shape: 'ring', text: t('status.none') });
    };

    const polls = schedulePolls(node, board, {
      poll,
      intervalMs,
      enabled: Boolean(connection?.client),
      topic: 'amazon.settlements.poll',
      onClose: () => {
        for (const st of open) st.close();
        open.clear();
      },
    });

    onInput(node, async (msg, send) => {
      const out = (m: Array<NodeMessage | null>) => send(m);
      if (typeof msg.filename === 'string' && msg.filename.trim()) {
        // Only files inside the user directory: msg.filename may come from anywhere a flow takes text.
        const file = await containedFile(RED.settings.userDir ?? process.cwd(), msg.filename.trim());
        const handle = await fs.promises.open(file, 'r');
        const head = Buffer.alloc(2);
        await handle.read(head, 0, 2, 0);
        await handle.close();
        const gzip = head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
        const stream = await readSettlementReport(fs.createReadStream(file), {
          account: account(),
          compression: gzip ? 'GZIP' : undefined,
          onProblem: problemTo(out),
        });
        return emit(stream, out, msg);
      }
      if (Buffer.isBuffer(msg.payload)) {
        const bytes = msg.payload;
        const gzip = bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
        const stream = await readSettlementReport(bytes, { account: account(), compression: gzip ? 'GZIP' : undefined, onProblem: problemTo(out) });
        return emit(stream, out, msg);
      }
      await polls.safely();
    });

    if (!connection?.client) board.set({ fill: 'red', shape: 'ring', text: shortText(connection?.problem ?? t('status.noAccount')) });
  }
  RED.nodes.registerType('tillwire-amazon-settlements', TillwireAmazonSettlementsNode);
};
