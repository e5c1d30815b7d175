/**
 * Drift (docs/inventory.md, "Drift"): where what the ERP or a channel says differs from what the
 * ledger holds or what Tillwire last pushed, by more than the node's tolerance. Each report names
 * both figures, the difference and its likely cause, with the documents behind it; it is sent on
 * the reserve node's drift output for a flow to alert on. Nothing is overwritten because of it.
 */

export type DriftKind = 'erp-on-hand' | 'erp-reserved' | 'channel';

export type DriftCause =
  /** The ledger booked documents (till sales, shipments, returns) since the ERP's last reading that the ERP has not booked yet. */
  | 'ledger-events-not-in-erp'
  /** The ERP's figure moved with no document Tillwire saw (a count, a receipt, a move booked in the ERP). */
  | 'changed-in-erp'
  /** Both of the above at once. */
  | 'changed-in-erp-and-ledger'
  /** The ledger holds reservations of orders the ERP has not reserved (not written to it yet, or written without reserving). */
  | 'reserved-in-ledger-not-in-erp'
  /** The ERP reserves units for orders the ledger does not hold (entered in the ERP, or already released or shipped in the ledger). */
  | 'reserved-in-erp-not-in-ledger'
  /** The channel shows another figure than the one Tillwire last pushed, read after that push. */
  | 'changed-outside-tillwire'
  /** Tillwire never pushed this SKU to the channel (by the channel write node's record in this store). */
  | 'never-pushed';

/** A document behind a drift: a ledger event or an open order. */
export interface DriftDocument {
  kind: string;
  system: string;
  account: string;
  documentId: string;
  /** Units it moved (an event's delta, an order's open reservation). */
  units: number;
  at?: string;
}

export interface DriftReport {
  kind: DriftKind;
  sku: string;
  /** The location compared ('' for a channel figure that pools locations). */
  locationId: string;
  /** Who reported the other figure: the ERP or the channel. */
  reportedBy: { system: string; account: string };
  /** Their figure, ours and the difference (theirs − ours). */
  theirs: number;
  ours: number;
  size: number;
  tolerance: number;
  cause: DriftCause;
  /** The sentence a person reads: both figures, the cause and the documents. */
  message: string;
  documents: DriftDocument[];
  /** When they read their figure. */
  readAt: string;
}

/** Units of difference accepted without a report, per comparison (0: any difference is reported). */
export interface DriftTolerances {
  onHand: number;
  reserved: number;
  channel: number;
}

export const NO_TOLERANCE: DriftTolerances = { onHand: 0, reserved: 0, channel: 0 };

/** A tolerance from the node's dialog: a whole number of units ≥ 0 (empty: 0). */
export function toleranceOf(value: unknown, what: string): number {
  if (value === undefined || value === null || value === '') return 0;
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${what} must be a whole number of units (0 or more), not ${JSON.stringify(value)}`);
  return n;
}

/** Whether a difference is over the tolerance. */
export const beyond = (size: number, tolerance: number) => Math.abs(size) > tolerance;

const signed = (n: number) => (n > 0 ? `+${n}` : String(n));
const who = (d: { system: string; account: string }) => (d.account ? `${d.system}/${d.account}` : d.system);
/** At most this many documents are named in a message (all of them stay in `documents`). */
const NAMED = 5;

export function listDocuments(docs: readonly DriftDocument[], unitsSigned = true): string {
  const named = docs.slice(0, NAMED).map((d) => `${d.kind} ${who(d)} ${d.documentId} (${unitsSigned ? signed(d.units) : d.units})`);
  return named.join(', ') + (docs.length > NAMED ? ` and ${docs.length - NAMED} more` : '');
}

/**
 * On hand: the ERP's reading against the ledger before it. `sinceReading` are the ledger's on-hand
 * changes since the ERP's previous reading (`previousErp`, its figure then).
 */
export function onHandCause(
  erp: number,
  ledger: number,
  previous: { onHand: number; asOf: string },
  sinceReading: readonly DriftDocument[],
): { cause: DriftCause; message: string } {
  const head = `ERP on hand ${erp}, ledger on hand ${ledger} (${signed(erp - ledger)})`;
  const inErp = erp - previous.onHand;
  const inLedger = sinceReading.reduce((n, d) => n + d.units, 0);
  const ledgerPart = `the ledger booked ${listDocuments(sinceReading)} since the ERP's reading at ${previous.asOf}, not in the ERP yet`;
  const erpPart = `the ERP's figure moved ${signed(inErp)} since its reading at ${previous.asOf} with no document Tillwire saw (a count, a receipt or a move booked in the ERP)`;
  if (sinceReading.length && inErp === 0) return { cause: 'ledger-events-not-in-erp', message: `${head}: ${ledgerPart}` };
  if (!sinceReading.length || inLedger === 0) return { cause: 'changed-in-erp', message: `${head}: ${erpPart}` };
  return { cause: 'changed-in-erp-and-ledger', message: `${head}: ${ledgerPart}; and ${erpPart}` };
}

/**
 * Reserved: the ERP's reserved figure against the ledger's. `open` are the ledger's open
 * reservations at the position; `notInErp` those the order index does not know the ERP accepted.
 */
export function reservedCause(
  erp: number,
  ledger: number,
  open: readonly DriftDocument[],
  notInErp: readonly DriftDocument[],
): { cause: DriftCause; message: string } {
  const head = `ERP reserved ${erp}, ledger reserved ${ledger}`;
  if (ledger > erp) {
    const named = notInErp.length ? notInErp : open;
    const which = named.length
      ? `${listDocuments(named, false)} reserved in the ledger${notInErp.length ? ', not in the ERP' : ''}`
      : 'reservations in the ledger';
    return {
      cause: 'reserved-in-ledger-not-in-erp',
      message: `${head}: ${which}; ${ledger - erp} unit(s) the ERP has not reserved (an order not written to the ERP yet, or written without reserving)`,
    };
  }
  const held = open.length ? ` (the ledger holds ${listDocuments(open, false)})` : '';
  return {
    cause: 'reserved-in-erp-not-in-ledger',
    message: `${head}${held}: ${erp - ledger} unit(s) reserved in the ERP for orders the ledger does not hold (entered in the ERP, or released or shipped in the ledger)`,
  };
}

/** A channel's figure against the last one Tillwire pushed there (undefined: never pushed). */
export function channelCause(shows: number, pushed: { quantity: number; at: string } | undefined): { cause: DriftCause; message: string } {
  if (!pushed) {
    return { cause: 'never-pushed', message: `channel shows ${shows}, Tillwire has pushed no figure for it from this store: set outside Tillwire` };
  }
  return {
    cause: 'changed-outside-tillwire',
    message: `channel shows ${shows}, Tillwire last pushed ${pushed.quantity} at ${pushed.at}: changed outside Tillwire (a sale on the channel not taken in yet, or an edit in the channel's own admin)`,
  };
}
