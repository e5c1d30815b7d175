/**
 * `tillwire-journal-file`: writes a canonical JournalEntry as a CSV file (Xero manual-journal import
 * or the neutral layout) into a directory, idempotently: the file name comes from the journal id and
 * the layout, and the file is replaced atomically, so a re-run rewrites the same file.
 */
import path from 'node:path';
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from '../core/node-red';
import { statusTexts, onInput, shortText, StatusBoard } from '../core/node-kit';
import type { JournalEntry } from '../model/types.generated';
import { JOURNAL_LAYOUTS, JournalLayout, journalToCsv } from './journal-csv';
import { writeJournalFile } from './file-writer';
import { parseTrackingNames } from './node-config';

interface JournalFileDef extends NodeDef {
  directory?: string;
  layout?: string;
  defaultTaxRate?: string;
  trackingNames?: string;
}

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  function TillwireJournalFileNode(this: RuntimeNode, def: JournalFileDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node);
    const layout = (JOURNAL_LAYOUTS as readonly string[]).includes(def.layout ?? '') ? (def.layout as JournalLayout) : undefined;
    const baseDir = RED.settings.userDir ?? process.cwd();
    const directory = path.resolve(baseDir, def.directory?.trim() || 'journals');
    const xero = { defaultTaxRate: def.defaultTaxRate, trackingNames: parseTrackingNames(def.trackingNames) };
    let written = 0;
    if (!layout) board.set({ fill: 'red', shape: 'ring', text: t('status.unknownLayout', { layout: String(def.layout) }) });
    else board.set({ fill: 'grey', shape: 'ring', text: t('status.ready', { layout, directory: shortText(def.directory?.trim() || 'journals', 24) }) });

    onInput(node, async (msg: NodeMessage, send: SendFn) => {
      if (!layout) throw new Error(`journal file: unknown layout '${def.layout}' (expected ${JOURNAL_LAYOUTS.join(' or ')})`);
      const journal = msg.payload as JournalEntry;
      if (!journal || typeof journal !== 'object' || (journal as { kind?: unknown }).kind !== 'journal') {
        throw new Error('journal file: msg.payload must be a canonical journal (kind "journal")');
      }
      let content: string;
      try {
        content = journalToCsv(journal, layout, { xero });
      } catch (err) {
        board.set({ fill: 'red', shape: 'ring', text: shortText((err as Error).message) });
        throw err;
      }
      const file = await writeJournalFile(directory, journal.journalId, layout, content);
      msg.file = { path: file.path, sha256: file.sha256, rewritten: file.rewritten };
      written++;
      board.set({
        fill: 'green',
        shape: 'dot',
        text: shortText(t(file.rewritten ? 'status.rewrote' : 'status.wrote', { count: written, file: path.basename(file.path) })),
      });
      send(msg);
    });
  }
  RED.nodes.registerType('tillwire-journal-file', TillwireJournalFileNode);
};
