/**
 * `tillwire-journal-file`: writes a canonical JournalEntry (a store day, a settlement journal, any
 * other) as a CSV file in one of three layouts (Xero's manual-journal import, QuickBooks Online's
 * journal-entry import, neutral) into a directory, once: the file name comes from the journal id
 * and the layout, the file is replaced atomically, and content already written is not written
 * again (file-writer.ts). Its output (msg.file beside the journal) wired back to tillwire-journal
 * (mode settlement) records a settlement journal as written for import (`file:<file name>`).
 */
import path from 'node:path';
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from '../core/node-red';
import { statusTexts, onInput, shortText, StatusBoard } from '../core/node-kit';
import type { JournalEntry } from '../model/types.generated';
import { JOURNAL_LAYOUTS, JournalLayout, journalToCsv } from './journal-csv';
import { writeJournalFile } from './file-writer';
import { layoutOptions, type JournalFileConfig } from './node-config';

interface JournalFileDef extends NodeDef, JournalFileConfig {
  directory?: string;
  layout?: string;
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
    const options = layoutOptions(def);
    let written = 0;
    if (!layout) board.set({ fill: 'red', shape: 'ring', text: t('status.unknownLayout', { layout: String(def.layout) }) });
    else board.set({ fill: 'grey', shape: 'ring', text: t('status.ready', { layout, directory: shortText(def.directory?.trim() || 'journals', 24) }) });

    onInput(node, async (msg: NodeMessage, send: SendFn) => {
      if (!layout) throw new Error(`journal file: unknown layout '${def.layout}' (expected ${JOURNAL_LAYOUTS.join(', ')})`);
      const journal = msg.payload as JournalEntry;
      if (!journal || typeof journal !== 'object' || (journal as { kind?: unknown }).kind !== 'journal') {
        throw new Error('journal file: msg.payload must be a canonical journal (kind "journal")');
      }
      let content: string;
      try {
        content = journalToCsv(journal, layout, options);
      } catch (err) {
        board.set({ fill: 'red', shape: 'ring', text: shortText((err as Error).message) });
        throw err;
      }
      const file = await writeJournalFile(directory, journal.journalId, layout, content);
      msg.file = { path: file.path, sha256: file.sha256, rewritten: file.rewritten, unchanged: file.unchanged };
      if (!file.unchanged) written++;
      const key = file.unchanged ? 'status.unchanged' : file.rewritten ? 'status.rewrote' : 'status.wrote';
      board.set({ fill: 'green', shape: 'dot', text: shortText(t(key, { count: written, file: path.basename(file.path) })) });
      send(msg);
    });
  }
  RED.nodes.registerType('tillwire-journal-file', TillwireJournalFileNode);
};
