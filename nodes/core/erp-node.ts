/**
 * The one body of the ERP nodes (`tillwire-odoo`, `tillwire-business-central`): the operation the
 * node is set to, its store binding, its badge and counters, the dispatch of each message to the
 * order lifecycle, the shipments read or the stock read, and every failure handed to done(err) as
 * a ConnectorError. An ERP node fills in only what is its own (`ErpParts`, on its sync facade) and
 * how it words an unusable connection (docs/architecture.md, "The connector form").
 *
 * Till sales (canonical Sale documents: sales and returns from tills) go to the ERP in batches
 * when the ERP part has `saleBatch` and the node's batch size is above 1: a sale that finds the
 * ERP idle goes at once, the ones arriving meanwhile go together (BatchQueue). Each message still
 * gets its own outcome, done() or done(err), and badge count. Channel orders follow the order
 * lifecycle and go one at a time.
 *
 * The badge counts documents: each order event or return written (or found written), each
 * shipment or stock position sent on; order events acknowledged without a write (stale) and
 * returns still waiting are counted apart, and so is every failure that reached Catch.
 */
import type { NodeMessage, NodeRED, RuntimeNode, SendFn } from './node-red';
import { afterDeploy, bindStore, onInput, shortText, StatusBoard, trackDeploys, type StoreBinding, type Texts } from './node-kit';
import { isStockChanges, skuList, SkuListError } from './sku-list';
import { ensureEnvelope } from '../model/envelope';
import { asConnectorError, asError, briefly, ConnectorError, permanentFailure } from '../runtime/errors';
import type { Store } from '../runtime/store';
import { OrderIndexWriter } from '../runtime/order-index';
import { isSummaryPost, SummaryPosting } from './summary-posting';
import { SummaryInputError } from '../runtime/summaries';
import { BatchQueue } from '../runtime/batch-queue';
import { closeWithin } from './inbound-inbox';

export type ErpOperation = 'order' | 'stock' | 'shipments';

/** How one message of the order operation counts on the badge. */
export type OrderOutcome = 'sent' | 'stale' | 'waiting';

/** One document read from the ERP, on its way out: the canonical payload and what `msg.erp` says of it. */
export interface ErpDocument {
  payload: Record<string, any>;
  erp: Record<string, unknown>;
}

/**
 * A document the ERP holds that could not be sent (the read's cursor has moved past it). It fails
 * on its own, so a Catch → dead-letter keeps one entry for it, with `payload` as the message's
 * payload (what a replay needs to read it again, or at least its name).
 */
export interface ErpUnsent {
  error: Error;
  payload: unknown;
}

export interface StockRead {
  positions: ErpDocument[];
  /** `msg.erp` of the one message when the node sends every position in one array. */
  summary: Record<string, unknown>;
  /** SKUs that could not be read (unknown, fractional): thrown after the positions are sent. */
  problem?: ConnectorError;
}

/** The ERP's own work, on the connection `C` its config node gives. */
export interface ErpParts<C> {
  /**
   * A canonical sale, order event or return: create once, confirm, cancel or credit. Sets
   * `msg.erp` (and records the ERP's number in the store when it has one); the body sends msg.
   */
  order(connection: C, msg: NodeMessage, binding: StoreBinding | undefined): Promise<OrderOutcome>;
  /**
   * Till sales and returns (canonical Sale documents, not channel orders) written as one batch:
   * each message's outcome (msg.erp set as for `order`) or its own Error (a ConnectorError), in
   * the order given. Absent: the body writes them one at a time with `order`.
   */
  saleBatch?(connection: C, msgs: NodeMessage[], binding: StoreBinding | undefined): Promise<Array<OrderOutcome | Error>>;
  /** Stock of these SKUs (undefined: every SKU) as canonical inventory positions. */
  stock(connection: C, skus: string[] | undefined, msg: NodeMessage): Promise<StockRead>;
  /**
   * The stock that changed in the ERP since `cursor` (what the previous read of changes returned,
   * kept in the store; undefined: every SKU), and the cursor to read from next (undefined: keep it).
   */
  stockChanges(connection: C, cursor: unknown): Promise<StockRead & { cursor?: unknown }>;
  /**
   * The shipments since the cursor kept in `store`. `emit` sends documents on at once (call it
   * before moving the cursor past them); returns the ones that could not be sent.
   */
  shipments(connection: C, read: { msg: NodeMessage; store: Store; emit(docs: ErpDocument[]): void }): Promise<ErpUnsent[]>;
  /**
   * The ERP's ref for the order a 'sent' order message's `msg.erp` describes, when the ERP now holds
   * it as an order (created or confirmed; not cancelled, stale or skipped); recorded in the order index.
   */
  acceptedRef(erp: Record<string, any>): string | undefined;
}

/** What the config node offers now: its connection, or why there is none. */
export interface ErpConfig<C> {
  connection?: C;
  problem?: string;
}

export interface ErpNodeSpec<C> {
  /** `msg.error.cause.system` and the envelope's source system. */
  system: string;
  operation: ErpOperation;
  /** Each operation's name in errors (`msg.error.cause.operation`) when the failure names none. */
  operationNames: Record<ErpOperation, string>;
  /** The `tillwire-store` config node's id (order: optional; shipments and a stock read of changes: required). */
  storeId?: string;
  /** Till sales written together at most (order operation, with `parts.saleBatch`); 1: one at a time. Default 100. */
  batchSize?: number;
  /** 'array': the stock read as one message with every position; else one message each. */
  stockOutput?: 'each' | 'array';
  /**
   * Summarised posting (core/summary-posting.ts): till sales are assigned to a summary per store,
   * business date and interval of this many seconds, posted as one ERP document each. Undefined:
   * every sale is its own document.
   */
  summarySeconds?: number;
  /** The status texts of the node file's own catalog (its statusTexts; keys in ERP_STATUS_KEYS). */
  texts: Texts;
  /** The config node's state (undefined: none chosen), asked at start and for every message. */
  config(): ErpConfig<C> | undefined;
  /** The permanent error of a message the connection cannot take (`problem` undefined: no config node chosen). */
  unusable(problem: string | undefined): ConnectorError;
  parts: ErpParts<C>;
}

/**
 * The status keys the body looks up in each ERP node's catalog (`status.ready.<operation>`,
 * counters, failures); test/unit/erp-node.test.ts checks every ERP catalog has them all.
 */
export const ERP_STATUS_KEYS = [
  'status.noConnection',
  'status.ready.order',
  'status.ready.stock',
  'status.ready.shipments',
  'status.sent',
  'status.summarised',
  'status.stale',
  'status.waiting',
  'status.failed',
  'status.error',
] as const;

/** The default of the node's `batchSize`: till sales written to the ERP together at most. */
export const DEFAULT_BATCH_SIZE = 100;

/** The most till sales one batch may hold: one create request stays a reasonable size for the ERP. */
export const MAX_BATCH_SIZE = 1000;

/** The node property `batchSize` as set in the editor (text or number): a whole number 1…1000, else the default. */
export function batchSizeOf(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 1 ? Math.min(n, MAX_BATCH_SIZE) : DEFAULT_BATCH_SIZE;
}

/** A canonical till sale or till return (kind 'sale'), as opposed to a channel order or a return document. */
export function isTillSale(msg: NodeMessage): boolean {
  const p = msg.payload as { kind?: unknown } | null | undefined;
  return !!p && typeof p === 'object' && p.kind === 'sale';
}

/** `msg` for one document read from the ERP: a fresh envelope, the trigger's correlation id kept. */
export function documentMessage(msg: NodeMessage, doc: ErpDocument, topic: string, system: string): NodeMessage {
  const out: NodeMessage = { ...msg, topic, payload: doc.payload, erp: doc.erp };
  delete out._msgid;
  delete out.tillwire;
  ensureEnvelope(out, doc.payload, system);
  if (msg.tillwire?.correlationId) out.tillwire.correlationId = msg.tillwire.correlationId;
  return out;
}

/** Makes `node` (already created) an ERP node as `spec` describes. */
export function erpNode<C>(RED: NodeRED, node: RuntimeNode, spec: ErpNodeSpec<C>): void {
  const { system, operation, texts: t, parts } = spec;
  const operationName = spec.operationNames[operation];
  const board = new StatusBoard(node);
  const binding = spec.storeId ? bindStore(RED, node, spec.storeId, board) : undefined;
  const counts = { sent: 0, stale: 0, waiting: 0, failed: 0, summarised: 0 };
  trackDeploys(RED); // listening before a deploy stops this node (afterDeploy)

  const initial = spec.config();
  if (!initial) board.set({ fill: 'red', shape: 'ring', text: shortText(t('status.noConnection')) });
  else if (initial.problem) board.set({ fill: 'red', shape: 'ring', text: shortText(initial.problem) });
  else board.set({ fill: 'grey', shape: 'ring', text: shortText(t(`status.ready.${operation}`)) });

  const summary = () =>
    t('status.sent', { count: counts.sent }) +
    (counts.summarised ? t('status.summarised', { count: counts.summarised }) : '') +
    (counts.stale ? t('status.stale', { count: counts.stale }) : '') +
    (counts.waiting ? t('status.waiting', { count: counts.waiting }) : '') +
    (counts.failed ? t('status.failed', { count: counts.failed }) : '');

  /** Sends documents' messages on, all at once on the one output, and counts them. */
  function sendAll(send: SendFn, msgs: NodeMessage[]): void {
    if (msgs.length) send([msgs]);
    counts.sent += msgs.length;
  }

  // The order index learns which channel orders the ERP accepted (only with a store chosen).
  const index = binding?.configured
    ? new OrderIndexWriter(
        () => binding.acquire(),
        (m) => node.warn(m),
      )
    : undefined;

  // Per message, so tallied: the badge text is made at most every 250 ms, ending on the latest counts.
  // Summarised sales show their failures in yellow; sent documents are green, a yellow ring while some wait.
  const showCounts = (look?: { fill: 'green' | 'yellow'; shape: 'dot' | 'ring' }) =>
    board.tally(() => ({ ...(look ?? { fill: counts.failed ? 'yellow' : 'green', shape: 'dot' }), text: shortText(summary()) }));
  // Till sales waiting for (or in) a batch; each message's own outcome comes back to its handler.
  const batchSize = batchSizeOf(spec.batchSize);
  const sales =
    operation === 'order' && parts.saleBatch && batchSize > 1
      ? new BatchQueue<{ connection: C; msg: NodeMessage }, OrderOutcome>(async (items) => {
          // Every item of a batch came through the same config node: its connection is the first's.
          const outcomes = await board.watch(() =>
            parts.saleBatch!(
              items[0].connection,
              items.map((i) => i.msg),
              binding,
            ),
          );
          return outcomes.map((o) => (o instanceof Error ? asConnectorError(o, system, operationName) : o));
        }, batchSize)
      : undefined;
  /** Writes canonical sales, each once per key: in as few batches as the ERP part's batch allows, else one by one. */
  const writeSales = (connection: C, msgs: NodeMessage[]): Promise<Array<OrderOutcome | Error>> =>
    Promise.all(
      (sales ? sales.pushAll(msgs.map((msg) => ({ connection, msg }))) : msgs.map((msg) => parts.order(connection, msg, binding))).map((p) => p.catch(asError)),
    );

  // Summarised posting: its timer posts closed summaries; sales are only assigned as they come.
  const posting =
    operation === 'order' && spec.summarySeconds !== undefined && binding?.configured
      ? new SummaryPosting<C>({
          node,
          system,
          intervalMs: spec.summarySeconds * 1000,
          binding,
          connection: () => {
            const config = spec.config();
            return config && !config.problem ? config.connection : undefined;
          },
          // The summaries a tick posts go to the ERP together, as till sales do.
          writeMany: writeSales,
          acceptedRef: (erp) => parts.acceptedRef(erp),
          failure: (err) =>
            asConnectorError(err instanceof SummaryInputError ? permanentFailure(system, operationName, err.message) : err, system, operationName),
          onPosted: () => {
            counts.sent++;
            showCounts();
          },
          onFailed: (e) => {
            counts.failed++;
            board.set({ fill: 'red', shape: 'ring', text: shortText(t('status.error', { error: briefly(e) })) });
          },
        })
      : undefined;
  if (posting) {
    posting.start();
    // At most 6 s (the Odoo connection's 5 s grace and a second): an ERP create on the wire is
    // left to finish, its key locked (sharedLock), so a redeploy or a shutdown does not wait for it.
    node.on('close', (_removed: boolean, done: () => void) => closeWithin(() => posting.stop(), done, 6000));
  }

  /** A till sale in summary mode: assigned to its summary (durably) and passed on; a replayed failed summary: posted. */
  async function summarised(msg: NodeMessage, send: SendFn): Promise<number> {
    if (!posting) throw permanentFailure(system, operationName, 'summarised posting keeps its summaries in a store: select a Tillwire store in the node');
    try {
      if (isSummaryPost(msg)) {
        send(await posting.replay(msg));
        return 0;
      }
      await posting.assign(msg);
    } catch (err) {
      if (err instanceof SummaryInputError) throw permanentFailure(system, operationName, err.message);
      throw err;
    }
    counts.summarised++;
    send(msg);
    return 0;
  }

  async function order(connection: C, msg: NodeMessage, send: SendFn): Promise<number> {
    const outcome = sales && isTillSale(msg) ? await sales.push({ connection, msg }) : await parts.order(connection, msg, binding);
    counts[outcome]++;
    send(msg);
    // After the send, so the order never waits for it; the writer never throws (a failure is logged and counted).
    if (index && outcome === 'sent' && msg.erp) await index.accepted(msg.payload, system, parts.acceptedRef(msg.erp));
    return 0;
  }

  async function stock(connection: C, msg: NodeMessage, send: SendFn): Promise<number> {
    if (isStockChanges(msg.payload)) return stockChanges(connection, msg, send);
    let skus: string[] | undefined;
    try {
      skus = skuList(msg.payload);
    } catch (err) {
      if (err instanceof SkuListError) throw permanentFailure(system, operationName, err.message);
      throw err;
    }
    sendStock(await parts.stock(connection, skus, msg), msg, send);
    return 0;
  }

  // What changed since the cursor in the store; the cursor moves only after the positions were sent.
  async function stockChanges(connection: C, msg: NodeMessage, send: SendFn): Promise<number> {
    if (!binding?.configured)
      throw permanentFailure(system, operationName, 'select a Tillwire store in the node: the cursor of the stock read of changes is kept there');
    const p = msg.payload as Record<string, unknown>;
    if (p.skus !== undefined || p.sku !== undefined)
      throw permanentFailure(system, operationName, 'msg.payload asks for { changes: true } and for SKUs at once: send one or the other');
    const store = await binding.acquire();
    const key = `${system}-stock-changes:${node.id}:cursor`;
    const previous = await store.kvGet(key);
    const read = await parts.stockChanges(connection, previous);
    sendStock({ ...read, problem: undefined }, msg, send, true);
    // The cursor moves past what was sent even when some SKUs could not be (their problem follows):
    // held back, every later read would read them, and all changed since, again.
    if (read.cursor !== undefined && JSON.stringify(read.cursor) !== JSON.stringify(previous) && !(await store.kvPut(key, read.cursor, previous))) {
      // Another instance moved it first: keep theirs (what both read is booked once in the ledger).
      // Unless the stored value is the one read in another text form (edited by hand): then set ours.
      const now = await store.kvGet(key);
      if (JSON.stringify(now) === JSON.stringify(previous)) await store.kvPut(key, read.cursor);
    }
    if (read.problem) throw read.problem;
    return 0;
  }

  /**
   * The positions on (one message each, or all in one array), then the read's problem to Catch. A
   * read of changes that found none sends no empty array.
   */
  function sendStock(read: StockRead, msg: NodeMessage, send: SendFn, changes = false): void {
    if (spec.stockOutput !== 'array')
      sendAll(
        send,
        read.positions.map((doc) => documentMessage(msg, doc, 'inventory.adjusted', system)),
      );
    else if (read.positions.length || !changes) {
      msg.payload = read.positions.map((p) => p.payload);
      msg.topic = 'inventory.adjusted';
      msg.erp = changes ? { ...read.summary, changes: true } : read.summary;
      send(msg);
      counts.sent += read.positions.length;
    }
    if (read.problem) throw read.problem;
  }

  async function shipments(connection: C, msg: NodeMessage, send: SendFn): Promise<number> {
    if (!binding?.configured) throw permanentFailure(system, operationName, 'select a Tillwire store in the node: the shipments cursor is kept there');
    const store = await binding.acquire();
    const emit = (docs: ErpDocument[]) =>
      sendAll(
        send,
        docs.map((doc) => documentMessage(msg, doc, 'shipment.created', system)),
      );
    const unsent = await parts.shipments(connection, { msg, store, emit });
    for (const u of unsent) {
      const failedMsg: NodeMessage = { ...msg, payload: u.payload, topic: 'shipment.unmapped' };
      delete failedMsg.tillwire;
      node.error(asConnectorError(u.error, system, operationName), failedMsg);
    }
    counts.failed += unsent.length;
    return unsent.length;
  }

  // Each operation answers how many documents the message left unsent (each failed on its own).
  const work = { order, stock, shipments }[operation];

  onInput(node, async (msg: NodeMessage, send: SendFn) => {
    try {
      // A till sale in summary mode only needs the store: the timer posts once the connection is usable.
      if (operation === 'order' && spec.summarySeconds !== undefined && (isTillSale(msg) || isSummaryPost(msg))) {
        await board.watch(() => summarised(msg, send));
        showCounts();
        return;
      }
      const config = spec.config();
      if (!config) throw spec.unusable(undefined);
      if (config.problem || config.connection === undefined) throw spec.unusable(config.problem ?? 'it was closed');
      const connection = config.connection;
      // Retries and throttling of the calls show on the badge (yellow ring) while they last.
      const unsent = await board.watch(() => work(connection, msg, send));
      showCounts(unsent ? { fill: 'yellow', shape: 'ring' } : { fill: 'green', shape: 'dot' });
    } catch (err) {
      const e = asConnectorError(err, system, operationName);
      // The connection closed under the message (a redeploy): its Catch may be restarting too, so
      // the failure is handed on once the deploy has finished, to reach the Catch running then.
      if (e.kind === 'stopped') await afterDeploy(RED);
      counts.failed++;
      // done(err) hands it to Catch nodes: msg.error.code is the kind, msg.error.cause the fields.
      board.set({ fill: 'red', shape: 'ring', text: shortText(t('status.error', { error: briefly(e) })) });
      throw e;
    }
  });
}
