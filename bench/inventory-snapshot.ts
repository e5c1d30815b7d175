/**
 * The inventory-snapshot scenario of `npm run bench` (`npm run bench -- inventory-snapshot` runs it
 * alone): an ERP stock reading of BENCH_SNAPSHOT_POSITIONS positions (default 2,000 and 100,000, a
 * comma-separated list) booked into the inventory ledger through the reserve node's own path
 * (StockReadings.apply, as one array message), on SQLite (a file, as `npm start` opens it) and on
 * PostgreSQL (127.0.0.1:5432, a schema of its own, dropped after). Per size and store: (a) the
 * opening reading, every position new; (b) the next reading a minute later, 1 % of the positions
 * changed (drift reports with tolerance 0 for those). Both must book every position, or the run fails.
 * Run alone on an older build to compare: `node dist/bench/inventory-snapshot.js` (after
 * `npx tsc -p tsconfig.bench.json`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { createStore, type StoreConfig } from '../nodes/runtime/create-store';
import { StockReadings } from '../nodes/inventory/stock-readings';

const SIZES = (process.env.BENCH_SNAPSHOT_POSITIONS ?? '2000,100000').split(',').map(Number);
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Row {
  store: string;
  positions: number;
  opening: number;
  next: number;
}

function reading(n: number, asOf: string, changed: (i: number) => boolean) {
  return Array.from({ length: n }, (_, i) => ({
    kind: 'inventory.position',
    sku: `SKU-${String(i).padStart(6, '0')}`,
    locationId: i % 2 ? 'WH1' : 'WH2',
    onHand: (i % 50) + (changed(i) ? 1 : 0),
    reserved: 0,
    inTransit: 0,
    safetyStock: 0,
    asOf,
  }));
}

async function timed(readings: StockReadings, store: ReturnType<typeof createStore>, payload: unknown[]): Promise<number> {
  const start = process.hrtime.bigint();
  const r = await readings.apply(store, { _msgid: 'bench', payload, erp: { system: 'odoo', account: '' } });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.problem || r.summary.booked !== payload.length) throw new Error(`reading not booked in full: ${JSON.stringify(r.summary)} ${r.problem?.message ?? ''}`);
  return seconds;
}

export async function inventorySnapshotBench(opts: { root?: string } = {}): Promise<Row[]> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-bench-snap-'));
  const rows: Row[] = [];
  try {
    for (const positions of SIZES) {
      for (const kind of ['sqlite', 'postgres'] as const) {
        const schema = `tw_bench_snap_${process.pid}_${positions}`;
        const config: StoreConfig =
          kind === 'sqlite'
            ? { backend: 'sqlite', file: path.join(tmp, `${positions}.db`), synchronous: 'normal' }
            : { backend: 'postgres', url: POSTGRES_URL, schema, max: 5 };
        const store = createStore(config, tmp, { heartbeatMs: 0 });
        await store.open();
        try {
          const readings = new StockReadings({ onHand: 0, reserved: 0, channel: 0 });
          const opening = await timed(
            readings,
            store,
            reading(positions, '2026-12-05T01:00:00Z', () => false),
          );
          const next = await timed(
            readings,
            store,
            reading(positions, '2026-12-05T01:01:00Z', (i) => i % 100 === 0),
          );
          rows.push({ store: kind, positions, opening, next });
          console.log(`${kind} ${positions} positions: opening ${opening.toFixed(2)} s, next ${next.toFixed(2)} s`);
        } finally {
          await store.close();
          if (kind === 'postgres') {
            const c = new Client({ connectionString: POSTGRES_URL });
            await c.connect();
            await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
            await c.end();
          }
        }
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  if (opts.root) {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const out = path.join(opts.root, 'bench', 'results');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, `${stamp}-inventory-snapshot.json`), JSON.stringify({ at: new Date().toISOString(), rows }, null, 2) + '\n');
    const md = [
      '# Inventory snapshot: an ERP reading booked into the ledger',
      '',
      '| store | positions | opening reading (s) | next reading, 1 % changed (s) |',
      '|---|---:|---:|---:|',
      ...rows.map((r) => `| ${r.store} | ${r.positions.toLocaleString('en-US')} | ${r.opening.toFixed(2)} | ${r.next.toFixed(2)} |`),
      '',
    ].join('\n');
    fs.writeFileSync(path.join(out, `${stamp}-inventory-snapshot.md`), md);
  }
  return rows;
}

if (require.main === module) {
  inventorySnapshotBench().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
