/**
 * The store-writes scenario of `npm run bench` (`npm run bench -- store-writes` runs it alone): what
 * a till sale costs the store on the ingest path, without MQTT, Node-RED or validation around it,
 * so the sales row's profile can be read part by part. BENCH_STORE_SALES sales (default 50,000, the
 * sales row's plan) go through a SQLite file store as `tillwire-pos-mqtt-in` and `tillwire-ack`
 * write them: the inbox entry, the sales-register entry, the inbox completion, BENCH_STORE_GROUP
 * sales to a commit (default 63: the sales row's ingest committed 50,000 sales in about 800 group
 * commits), each step's statements in one group commit as in Node-RED.
 *
 * Three variants in one run, each on a fresh file:
 * - as shipped;
 * - without the register's index by store and business date (what that index costs a sale);
 * - the inbox entry holding a reference instead of the sale's bytes (what the sale's second copy
 *   costs: the most that writing each sale once could save). A what-if: not how the store works.
 *
 * Per variant: microseconds a sale on this thread (statements and commits) and the bytes this
 * process wrote a sale (`wchar` of /proc/self/io: the write-ahead log and the checkpoint worker's
 * copies into the file).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createStore } from '../nodes/runtime/create-store';
import { eventIdFor, interpret, toStored } from '../nodes/pos-mqtt/ingest';
import { sales } from './common';

const N = Number(process.env.BENCH_STORE_SALES ?? 50_000);
const GROUP = Number(process.env.BENCH_STORE_GROUP ?? 63);

type Variant = 'as shipped' | 'without the register day index' | 'inbox entry without the sale (what-if)';

interface Row {
  variant: Variant;
  sales: number;
  usPerSale: number;
  inboxUs: number;
  registerUs: number;
  completeUs: number;
  kibWrittenPerSale: number;
}

const written = () => Number(/wchar: (\d+)/.exec(fs.readFileSync('/proc/self/io', 'utf8'))![1]);

async function run(variant: Variant, dir: string): Promise<Row> {
  const file = path.join(dir, `${variant.replace(/\W+/g, '-')}.db`);
  const store = createStore({ backend: 'sqlite', file }, dir, { heartbeatMs: 0 });
  await store.open();
  try {
    if (variant === 'without the register day index') {
      // Dropped through a second connection, before the first statement of the run.
      const db = new Database(file);
      db.exec('DROP INDEX tw_register_day');
      db.close();
    }
    const list = sales(N, 'store-writes');
    const parsed = list.map((s) => interpret(s.topic, s.payload));
    const before = written();
    const phase = { inbox: 0, register: 0, complete: 0 };
    const timed = async (which: keyof typeof phase, work: () => Promise<unknown>) => {
      const at = process.hrtime.bigint();
      await work();
      phase[which] += Number(process.hrtime.bigint() - at) / 1000;
    };
    for (let i = 0; i < list.length; i += GROUP) {
      const group = list.slice(i, i + GROUP);
      let ids: string[] = [];
      await timed('inbox', async () => {
        const added = await Promise.all(
          group.map((s) =>
            store.inboxAdd(
              'store-writes',
              eventIdFor(s.topic, s.payload),
              variant === 'inbox entry without the sale (what-if)' ? { topic: s.topic, register: true } : toStored(s.topic, s.payload),
            ),
          ),
        );
        ids = added.map((a) => a.entry.id);
      });
      await timed('register', () =>
        Promise.all(
          group.map((s, j) => {
            const r = parsed[i + j];
            if (r.outcome !== 'sale') throw new Error(`the plan's sale ${i + j} is not a sale: ${r.outcome}`);
            const doc = r.doc;
            return store.registerPut({
              key: r.key,
              kind: 'sale',
              storeId: r.topic.storeId,
              terminalId: r.topic.tillId,
              businessDate: doc.businessDate,
              sequence: doc.sequence,
              amount: doc.totals.grandTotal.amount,
              currency: doc.currency,
              document: doc,
            });
          }),
        ),
      );
      await timed('complete', () => Promise.all(ids.map((id) => store.inboxComplete(id))));
    }
    const per = (us: number) => Math.round((us / list.length) * 10) / 10;
    return {
      variant,
      sales: list.length,
      usPerSale: per(phase.inbox + phase.register + phase.complete),
      inboxUs: per(phase.inbox),
      registerUs: per(phase.register),
      completeUs: per(phase.complete),
      kibWrittenPerSale: Math.round(((written() - before) / list.length / 1024) * 10) / 10,
    };
  } finally {
    await store.close();
  }
}

export async function storeWritesBench(opts: { root?: string } = {}): Promise<Row[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-bench-store-'));
  const rows: Row[] = [];
  try {
    for (const variant of ['as shipped', 'without the register day index', 'inbox entry without the sale (what-if)'] as const) {
      const row = await run(variant, dir);
      rows.push(row);
      console.log(`[bench] store-writes, ${variant}: ${row.usPerSale} µs a sale, ${row.kibWrittenPerSale} KiB written a sale`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (opts.root) {
    const at = new Date().toISOString();
    const stamp = at.replace(/[:.]/g, '-');
    const out = path.join(opts.root, 'bench', 'results');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, `${stamp}-store-writes.json`), JSON.stringify({ at, group: GROUP, node: process.version, rows }, null, 2) + '\n');
    const base = rows[0].usPerSale;
    const md = [
      `# Store writes of the ingest path, ${at}`,
      '',
      `\`npm run bench -- store-writes\` on ${os.cpus().length} cores, Node ${process.version}: ${rows[0].sales.toLocaleString('en-US')} sales, ${GROUP} to a commit, SQLite file store.`,
      '',
      '| variant | µs a sale | / as shipped | inbox entry | register entry | inbox completion | KiB written a sale |',
      '|---|---:|---:|---:|---:|---:|---:|',
      ...rows.map(
        (r) =>
          `| ${r.variant} | ${r.usPerSale} | ${(r.usPerSale / base).toFixed(2)} | ${r.inboxUs} | ${r.registerUs} | ${r.completeUs} | ${r.kibWrittenPerSale} |`,
      ),
      '',
    ].join('\n');
    fs.writeFileSync(path.join(out, `${stamp}-store-writes.md`), md);
  }
  return rows;
}
