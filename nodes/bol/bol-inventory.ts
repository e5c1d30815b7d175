/**
 * `tillwire-bol-inventory`: sets a bol.com offer's stock (`PUT /retailer/offers/{offer-id}/stock`)
 * from a canonical `inventory.ats` (`available`) or, for the node's Location only, an
 * `inventory.position` (on hand less reserved and safety stock, never below 0): an offer holds one
 * figure, not one per location (channel-write.ts, `onePerListing`). Above bol's 999 it lists 999
 * and says `capped`. The SKU becomes an offer id through the node's offer map; bol
 * processes the update asynchronously and the node waits for its process status, so `sent` means
 * bol accepted the figure (offer-stock.ts). The common body is nodes/core/channel-write.ts: the
 * same input contract, outputs, badges, Catch/dead-letter errors and, with a store, the record
 * that keeps an older figure from overwriting a newer one.
 */
import type { NodeRED } from '../core/node-red';
import { registerChannelWrite, type WriteResult } from '../core/channel-write';
import { statusTexts } from '../core/node-kit';
import type { BolClient } from './client';
import { BOL_CONFIG, type BolConnection } from './connection';
import { parseOfferMap, setOfferStock, stockAmount } from './offer-stock';
import { bolStockRead } from './stock-read';

export = function register(RED: NodeRED) {
  const t = statusTexts(RED, __filename);
  registerChannelWrite<BolClient, BolConnection>(RED, 'tillwire-bol-inventory', {
    system: 'bol',
    label: 'bol.com offer stock',
    operation: 'offers:stock',
    configProperty: 'bol',
    configType: BOL_CONFIG,
    accepts: ['inventory.ats', 'inventory.position'],
    onePerListing: true,
    connection: (conn) => ({ client: conn.client, problem: conn.problem, account: conn.account }),
    accountMatches: (docAccount, connection) => docAccount === connection.account,
    writer(def) {
      const { map: offers, invalid } = parseOfferMap(def.offers);
      const managedByRetailer = def.managedByRetailer !== false && def.managedByRetailer !== 'false';
      const waitSeconds = Number(def.wait ?? 60);
      const problem =
        invalid !== undefined
          ? t.problem('status.badOfferMap', { error: invalid })
          : !Object.keys(offers).length
            ? t.problem('status.noOffers')
            : !(waitSeconds > 0)
              ? t.problem('status.badWait', { wait: String(def.wait) })
              : undefined;
      return {
        problem,
        reader: bolStockRead(offers),
        async write({ client, doc, kind }): Promise<WriteResult> {
          const r = await setOfferStock({
            client,
            sku: doc.sku,
            amount: stockAmount(doc, kind as 'inventory.ats' | 'inventory.position'),
            offers,
            managedByRetailer,
            waitMs: waitSeconds * 1000,
          });
          return {
            operation: 'offers:stock',
            outcome: 'sent',
            sku: doc.sku,
            quantity: r.amount,
            ...(r.capped ? { capped: true, requested: r.requested } : {}),
            offerId: r.offerId,
            managedByRetailer: r.managedByRetailer,
            processStatusId: r.processStatusId,
            status: r.status,
          };
        },
      };
    },
  });
};
