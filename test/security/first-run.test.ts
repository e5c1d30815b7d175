/**
 * `npm start` on a first run must look healthy: the demo's orders reach Odoo with the totals the
 * channels and tills sent (the demo's tax map), and its config nodes have their credentials from
 * the first deploy on (no "no API key" warnings while credentials are provisioned).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { freePort, startNodeRed } from '../support/node-red-process';

jest.setTimeout(240_000);

interface OrderSummary {
  state: string;
  currency: string;
  origin: string | false;
}

/** Node-RED's log lines at warning level or above, without their time stamps. */
const warnings = (log: string) =>
  log
    .split('\n')
    .filter((l) => /\[(warn|error)\]|WARNING/.test(l))
    .map((l) => l.replace(/^\d+ \w+ \d\d:\d\d:\d\d - /, ''));

// What a first run may still print, each explained in docs/security.md or the README:
const EXPLAINED = [
  // Node-RED's own notice that projects are off (Tillwire keeps flows in flows/, not a project)
  /Projects disabled : editorTheme\.projects\.enabled=false/,
  // the demo editor has no login on loopback (the friction-free first try)
  /WARNING: the editor and admin API on 127\.0\.0\.1 are open to anyone who can reach them/,
  // The demo's tills send the odd broken message on purpose (about 2%), to show validation and the
  // dead-letter store; the till input warns about rejections at most once a minute. A conflict or any
  // other reason is not explained by this.
  /rejected a till message: (payload is not valid UTF-8|malformed JSON|sale failed validation)[^;]* \(on tillwire\/(north|south)wind\/\S+\)$/,
  // ...and the minute's summary of them, when every reason it counts is one of those
  /till messages rejected since the last report: (\d+ × (payload is not valid UTF-8|malformed JSON|sale failed validation)[^;]*(; |$))+$/,
  // A known limit of the Odoo connector, not of the demo's set-up: a line Odoo cannot price exactly
  // (a fixed discount on several units) is sent as two lines, and Odoo rounds each line's tax, so
  // such an order taxed on top can end one minor unit (0.01, 0.001 KWD) off the channel's total.
  /Odoo's total differs from the order's by -?0\.0{1,2}1 [A-Z]{3} /,
];

/**
 * Shopify orders Node-RED has finished with: their inbox entry is done (the flow's ack comes after
 * the Odoo node, which prints any totals warning first) and Odoo holds them confirmed.
 */
function finishedShopifyOrders(storeFile: string, odooOrders: Record<string, OrderSummary[]>): Array<{ currency: string }> {
  const db = new Database(storeFile, { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare(
        `SELECT source, json_extract(payload, '$.body.id') AS id, json_extract(payload, '$.body.currency') AS currency FROM tw_inbox WHERE source LIKE 'shopify:%' AND state = 'done'`,
      )
      .all() as Array<{ source: string; id: string; currency: string }>;
    return rows.filter((r) => odooOrders[`order:${r.source}:${r.id}`]?.some((o) => o.state === 'sale'));
  } finally {
    db.close();
  }
}

it("npm start: demo traffic for a while, orders confirmed in Odoo with the channels' totals, no alarming warning", async () => {
  const odooPort = await freePort();
  const red = await startNodeRed({ via: 'npm-start', env: { TILLWIRE_DEMO_ODOO_PORT: String(odooPort), TILLWIRE_ADMIN_PASSWORD_HASH: '' } });
  try {
    // Enough orders done, among them Shopify orders taxed on top of the price in each currency that
    // has it (US, Kuwait and Bahrain: Odoo totalled them short without the demo's tax map, and
    // Kuwait's and Bahrain's 3-decimal prices need Odoo's price precision at 3), and store sales.
    const deadline = Date.now() + 150_000;
    for (;;) {
      const { orders } = (await (await fetch(`http://127.0.0.1:${odooPort}/__simulator/state`)).json()) as { orders: Record<string, OrderSummary[]> };
      const confirmed = Object.values(orders)
        .flat()
        .filter((o) => o.state === 'sale');
      const shopify = fs.existsSync(path.join(red.userDir, 'tillwire.db')) ? finishedShopifyOrders(path.join(red.userDir, 'tillwire.db'), orders) : [];
      const perCurrency = ['USD', 'KWD', 'BHD'].map((c) => shopify.filter((o) => o.currency === c).length);
      const pos = confirmed.filter((o) => String(o.origin).startsWith('POS')).length;
      if (confirmed.length >= 20 && perCurrency.every((n) => n >= 2) && pos >= 1) break;
      if (Date.now() > deadline) {
        throw new Error(
          `after 150 s: ${confirmed.length} orders confirmed in Odoo, Shopify USD/KWD/BHD done ${perCurrency.join('/')}, ${pos} store sales:\n${red.output()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    const log = red.output();
    expect(warnings(log).filter((w) => !EXPLAINED.some((e) => e.test(w)))).toEqual([]);
  } finally {
    await red.stop();
  }
});
