/**
 * The one body every channel write-back node shares (Shopify fulfil / inventory, Amazon ship /
 * inventory, Square inventory): they differ only in the client call and the mapping, given here
 * as a `ChannelWriter`. The body
 *
 * - finds the channel's config node (so all nodes of one account share its client and its rate
 *   governor) and shows why it cannot be used;
 * - accepts only the canonical kinds the node writes, validates them against the schema, and
 *   refuses a document meant for another channel (`order.channel.system` / `channel.system`) as a
 *   permanent error, never a silent drop;
 * - derives the idempotency key from the document's business key;
 * - optionally keeps a durable record in a `tillwire-store` of what was already written, so a
 *   replay writes nothing (on top of the channel's own idempotency), and, for stock figures, the
 *   time of the newest figure written per SKU and location (per SKU where the channel keeps one
 *   figure per listing), so an older figure that arrives late
 *   never overwrites a newer one (outcome `unchanged`, `stale: true`). Figures for one SKU and
 *   location are written one at a time per node, so one still in flight cannot be overtaken by an
 *   older one, and the record only ever moves forward;
 * - sets the status badge (green sent, yellow ring while the write's calls retry or are throttled,
 *   red ring failing) and turns every failure into a ConnectorError before `done(err)`, so a Catch
 *   node (and the dead-letter node behind it) gets `msg.error.code` (the kind) and
 *   `msg.error.cause` (system, operation, kind, retryable, status, attempts, provider code and
 *   message): see docs/errors.md;
 * - sends the message on with `msg.channelResult` = `{ system, operation, outcome, key, … }`.
 */
import { createHash } from 'node:crypto';
import type { NodeDef, NodeMessage, NodeRED, RuntimeNode, SendFn } from './node-red';
import { connectionOf } from './config-node';
import { bindStore, commonProblem, commonText, onInput, shortText, StatusBoard, type Problem, type StoreBinding } from './node-kit';
import { businessKey, validateDocument, type DocumentType } from '../model/validate';
import { asConnectorError, briefly, permanentFailure, type ConnectorError, type ConnectorDetails } from '../runtime/errors';
import { KeyedLock } from '../runtime/keyed-lock';
import type { Store } from '../runtime/store';
import { pagesOf, pushedSkus, readBackDocument, requestedSkus, type ChannelRead } from './channel-read';

export type WriteKind = 'shipment' | 'inventory.ats' | 'inventory.position';

const DOCUMENT_TYPE: Record<WriteKind, DocumentType> = {
  shipment: 'shipment',
  'inventory.ats': 'available-to-sell',
  'inventory.position': 'inventory-position',
};

/** What a write did: `sent` (the channel changed), `already-sent` (it had it already), `unchanged`. */
export type WriteOutcome = 'sent' | 'already-sent' | 'unchanged';

export interface WriteResult {
  operation: string;
  outcome: WriteOutcome;
  [detail: string]: unknown;
}

export interface ChannelResult extends WriteResult {
  system: string;
  account?: string;
  /** The document's business key (what the idempotency key is derived from). */
  key: string;
  /** True when the durable record in the store said it was already written (no call made). */
  recorded?: boolean;
}

export interface WriteContext<C> {
  client: C;
  doc: Record<string, any>;
  kind: WriteKind;
  key: string;
  msg: NodeMessage;
  node: RuntimeNode;
}

/** The per-node part: built once per node from its settings and its account's connection. */
export interface ChannelWriter<C> {
  /** Why the node's own settings are unusable, when they are (from the node's catalog: `t.problem`). */
  problem?: Problem;
  write(ctx: WriteContext<C>): Promise<WriteResult>;
  /** The node's read-back of the channel's quantities (operation "read", core/channel-read.ts), for inventory nodes. */
  reader?: ChannelRead<C>;
  /** Frees anything the writer holds (listeners on the connection). */
  close?(): void;
}

export interface ChannelConnectionView<C> {
  client?: C;
  /** What is wrong with the account's settings, as its config node says it (English, shown after the badge's translated part). */
  problem?: string;
  /** The account the config node names (shop domain, seller id…), for the result and the record. */
  account?: string;
}

export interface ChannelWriteSpec<C, T = unknown> {
  /** Canonical system name: `shopify`, `amazon`, `square`. */
  system: string;
  /** What the node does, for errors: "Shopify fulfilment". */
  label: string;
  /** The default operation named in errors. */
  operation: string;
  /** The node's property holding its config node's id (e.g. `shopify`), and that config node's type. */
  configProperty: string;
  configType: string;
  accepts: WriteKind[];
  /**
   * The channel holds ONE stock figure per listing (bol.com offer stock, Amazon's quantity), not
   * one per location. A position is one location's stock, so positions of two locations for a SKU
   * would overwrite each other on the listing (the channel ends at whichever came last). Such a node
   * takes available-to-sell figures (one per channel and SKU, pooled over the locations), and a
   * position only when the node names a Location (`def.location`) and the position is of that
   * location; any other position is a permanent error naming the problem.
   */
  onePerListing?: boolean;
  /** What the config node's connection (core/config-node.ts) offers this body: client, problem, account. */
  connection(conn: T): ChannelConnectionView<C>;
  /**
   * The account of a document, when it names one that must match (`accountMatches`); checked
   * besides the system. Optional: channels whose account naming varies skip it.
   */
  accountMatches?(docAccount: string, connection: ChannelConnectionView<C>): boolean;
  writer(def: NodeDef & Record<string, any>, connection: ChannelConnectionView<C>, node: RuntimeNode, conn: T): ChannelWriter<C>;
}

/** A permanent (never retried) ConnectorError; its kind follows from the code (docs/errors.md). */
export function permanentError(system: string, operation: string, message: string, extra: ConnectorDetails = {}): ConnectorError {
  return permanentFailure(system, operation, message, extra);
}

export { asConnectorError };

/**
 * An idempotency key for a channel from a business key and whatever else makes the request
 * distinct (location, quantity name): `tw-` + 40 hex of SHA-256, inside every channel's limit.
 */
export function idempotencyKeyFor(...parts: string[]): string {
  return 'tw-' + createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 40);
}

/** The store's record of the newest stock figure a write node gave a channel for one SKU and location. */
export interface PushedFigure {
  /** The figure's own time (`asOf` / `computedAt`). */
  at: string;
  /** The quantity the channel was sent (absent in records written before it was kept). */
  quantity?: number;
  /** When the write finished. */
  sentAt?: string;
  /** The SKU (so a read-back of every SKU pushed finds them; absent in older records). */
  sku?: string;
}

/** The store key of that record: per channel system, account ('-' when the connection names none), write node type, SKU and location ('-' when none). */
export function stockFigureKey(system: string, account: string | undefined, type: string, sku: string, locationId: string | undefined): string {
  return `channel-stock:${system}:${account ?? '-'}:${type}:${sku}:${locationId ?? '-'}`;
}

/** The channel system a canonical document is addressed to, if it names one. */
function channelOf(doc: Record<string, any>, kind: WriteKind): { system?: string; account?: string; id?: string } | undefined {
  if (kind === 'shipment') return doc.order?.channel;
  if (kind === 'inventory.ats') return doc.channel;
  return undefined;
}

const kindsText = (kinds: WriteKind[]) => kinds.map((k) => `'${k}'`).join(' or ');

/** Checks a message's payload; returns the document, its kind and business key, or throws a permanent error. */
export function acceptDocument(
  spec: Pick<ChannelWriteSpec<unknown>, 'system' | 'label' | 'operation' | 'accepts' | 'accountMatches'>,
  payload: unknown,
  connection?: ChannelConnectionView<unknown>,
) {
  const fail = (message: string, code: string) => permanentError(spec.system, spec.operation, message, { providerCode: code });
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) {
    throw fail(
      `${spec.label} needs a canonical ${kindsText(spec.accepts)} document in msg.payload, got ${payload === null ? 'null' : Array.isArray(payload) ? 'an array' : typeof payload}`,
      'WrongKind',
    );
  }
  const doc = payload as Record<string, any>;
  const kind = doc.kind as WriteKind;
  if (!spec.accepts.includes(kind)) {
    throw fail(`${spec.label} takes ${kindsText(spec.accepts)} documents, not '${String(doc.kind ?? 'no kind')}'`, 'WrongKind');
  }
  const v = validateDocument(DOCUMENT_TYPE[kind], doc);
  if (!v.valid) throw fail(`invalid ${kind} document: ${v.errors.join('; ')}`, 'InvalidDocument');
  const ch = channelOf(doc, kind);
  if (kind === 'shipment' && !ch?.id) {
    throw fail(
      `shipment ${doc.shipmentId} names no channel order (order.channel with system '${spec.system}' and the channel's order id is needed)`,
      'NoChannelOrder',
    );
  }
  if (ch && ch.system !== spec.system) {
    const what =
      kind === 'shipment' ? `shipment ${doc.shipmentId} is for a ${ch.system} order (${ch.id})` : `${kind} for ${doc.sku} is for channel '${ch.system}'`;
    throw fail(`wrong channel: ${what}; this node writes to ${spec.system}`, 'WrongChannel');
  }
  if (ch?.account && connection && spec.accountMatches && !spec.accountMatches(ch.account, connection)) {
    throw fail(
      `wrong account: the document is for ${spec.system} account '${ch.account}', this node's account is '${connection.account ?? '?'}'`,
      'WrongAccount',
    );
  }
  const key = businessKey(doc);
  if (!key) throw fail(`the ${kind} document has no business key`, 'NoBusinessKey');
  return { doc, kind, key };
}

/**
 * For a channel with one figure per listing (`onePerListing`): throws a permanent error unless the
 * position is of the node's Location. See docs/connectors/bol.md, "One figure per offer".
 */
export function checkPositionLocation(
  spec: Pick<ChannelWriteSpec<unknown>, 'system' | 'label' | 'operation'>,
  location: string,
  doc: Record<string, any>,
): void {
  const one = `${spec.label} keeps one figure per listing, not one per location`;
  if (!location) {
    throw permanentError(
      spec.system,
      spec.operation,
      `position of SKU '${doc.sku}' at location '${doc.locationId}' refused: ${one}, and a position is one location's stock (positions of several ` +
        `locations would overwrite each other). Send available-to-sell figures (inventory.ats, one per channel and SKU over its locations), or set the ` +
        `node's Location to list the stock of that one location`,
      { providerCode: 'PositionWithoutLocation', kind: 'value' },
    );
  }
  if (doc.locationId !== location) {
    throw permanentError(
      spec.system,
      spec.operation,
      `position of SKU '${doc.sku}' at location '${doc.locationId}' refused: this node lists the stock of location '${location}' only (${one}); ` +
        `to offer the stock of several locations send available-to-sell figures (inventory.ats)`,
      { providerCode: 'OtherLocation', kind: 'value' },
    );
  }
}

/**
 * Where a channel that keeps stock per location (Shopify, Square) puts a position's ERP location.
 * A position is one ERP location's stock; writing positions of several ERP locations to one channel
 * location would make them overwrite each other (the channel ends at whichever came last), so only
 * an explicit pairing places a position: the node's location map, or its one channel location
 * together with the one ERP location it takes (the node's "ERP location" setting).
 */
export interface PositionPlaces {
  /** ERP location → channel location (the node's or account's map). */
  map: ReadonlyMap<string, string>;
  /** The node's one channel location, when it has one. */
  own?: string;
  /** The ERP location whose positions `own` takes (the node's "ERP location"). */
  erpLocation?: string;
  /** How a location is mapped on this node, for the error: "add it to the node's Location map". */
  howToMap: string;
}

/**
 * The channel location of a position, or a permanent error naming the SKU and the location and how
 * to map it (`UnmappedLocation`), so the position is dead-lettered while the others flow.
 */
export function positionLocation(spec: Pick<ChannelWriteSpec<unknown>, 'system' | 'operation'>, places: PositionPlaces, doc: Record<string, any>): string {
  const mapped = places.map.get(doc.locationId);
  if (mapped) return mapped;
  if (places.own && places.erpLocation && doc.locationId === places.erpLocation) return places.own;
  const taken = places.own && places.erpLocation ? `; location '${places.own}' takes the positions of '${places.erpLocation}' only` : '';
  throw permanentError(
    spec.system,
    spec.operation,
    `position of SKU '${doc.sku}' at location '${doc.locationId}' refused: that location is not mapped to a ${spec.system} location${taken} ` +
      `(positions of several locations written to one ${spec.system} location would overwrite each other). To map it, ${places.howToMap}`,
    { providerCode: 'UnmappedLocation', kind: 'value' },
  );
}

/**
 * Moves the newest-figure record to `record` unless it already holds that time or a later one. A
 * compare-and-set on the value read, so another node or instance sharing the store that wrote a
 * newer figure meanwhile is never set back (the record only ever moves forward).
 */
async function moveNewestForward(s: Store, key: string, record: PushedFigure): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = (await s.kvGet(key)) as PushedFigure | undefined;
    if (current && Date.parse(current.at) >= Date.parse(record.at)) return;
    if (await s.kvPut(key, record, current)) return;
  }
}

/** Registers a channel write-back node type built from `spec`. */
export function registerChannelWrite<C, T>(RED: NodeRED, type: string, spec: ChannelWriteSpec<C, T>): void {
  function TillwireChannelWriteNode(this: RuntimeNode, def: NodeDef & Record<string, any>) {
    RED.nodes.createNode(this, def);
    const node = this;
    const board = new StatusBoard(node, RED);
    const conn = connectionOf<T>(RED, def[spec.configProperty], spec.configType);
    const connection = conn ? spec.connection(conn) : undefined;
    const store: StoreBinding | undefined = typeof def.store === 'string' && def.store ? bindStore(RED, node, def.store, board) : undefined;
    let writer: ChannelWriter<C> | undefined;
    let problem: Problem | undefined;
    if (!connection) problem = commonProblem(RED, 'write.noAccount', { system: spec.system });
    else if (connection.problem) problem = commonProblem(RED, 'write.unusable', { system: spec.system, problem: connection.problem });
    else if (!connection.client) problem = commonProblem(RED, 'write.noClient', { system: spec.system });
    else {
      writer = spec.writer(def, connection, node, conn!);
      problem = writer.problem;
    }
    // Operation "read" (inventory nodes): read the channel's quantities back instead of writing.
    const reading = def.operation === 'read';
    if (reading && !problem && !writer?.reader) problem = commonProblem(RED, 'read.notHere', { system: spec.system });
    const counts = { sent: 0, already: 0, failed: 0, capped: 0, read: 0, unknown: 0 };
    const location = typeof def.location === 'string' ? def.location.trim() : '';
    const figures = new KeyedLock();
    // The badge in the runtime's language; error messages stay English (a problem carries both).
    const summary = () =>
      reading
        ? commonText(RED, 'read.read', { count: counts.read }) +
          (counts.unknown ? commonText(RED, 'read.unknown', { count: counts.unknown }) : '') +
          (counts.failed ? commonText(RED, 'write.failed', { count: counts.failed }) : '')
        : commonText(RED, 'write.sent', { count: counts.sent }) +
          (counts.already ? commonText(RED, 'write.already', { count: counts.already }) : '') +
          (counts.capped ? commonText(RED, 'write.capped', { count: counts.capped }) : '') +
          (counts.failed ? commonText(RED, 'write.failed', { count: counts.failed }) : '');
    board.set(problem ? { fill: 'red', shape: 'ring', text: shortText(problem.badge) } : { fill: 'grey', shape: 'ring', text: commonText(RED, 'ready') });

    // Writes under way: a redeploy waits for them (Node-RED stops the old node before starting
    // the new one, and the store stays open for them), so a figure still waiting for the channel
    // is recorded by the node that sent it, not lost on a closed store while the new node sends a
    // newer one that the older could then overwrite.
    const inFlight = new Set<Promise<void>>();
    onInput(node, (msg: NodeMessage, send: SendFn) => {
      const run = reading ? readBack : handle;
      const work = store ? store.hold(run(msg, send)) : run(msg, send);
      const tracked = work.then(
        () => undefined,
        () => undefined,
      );
      inFlight.add(tracked);
      void tracked.then(() => inFlight.delete(tracked));
      return work;
    });

    /** Operation "read": the channel's quantities as `inventory.ats` read-backs, one message each. */
    async function readBack(msg: NodeMessage, send: SendFn): Promise<void> {
      const reader = writer?.reader;
      const operation = reader?.operation ?? spec.operation;
      try {
        if (problem || !reader || !connection?.client) throw permanentError(spec.system, operation, problem?.message ?? 'not usable');
        let skus = requestedSkus(spec.system, operation, msg);
        if (!skus) {
          if (!store) {
            throw permanentError(
              spec.system,
              operation,
              'reading every SKU the node pushed needs the store it records its pushes in: choose a store, or send the SKUs in msg.skus',
              { providerCode: 'NoStore' },
            );
          }
          skus = await pushedSkus(await store.acquire(), stockFigureKey(spec.system, connection.account, type, '', undefined).slice(0, -2));
        }
        const unknown: string[] = [];
        board.set({ fill: 'blue', shape: 'dot', text: commonText(RED, 'read.reading', { count: skus.length }) });
        for (const page of pagesOf(skus, reader.pageSize)) {
          // Asked-at time: a push confirmed after it may or may not show, so drift does not compare it.
          const readAt = new Date().toISOString();
          const r = await board.watch(() => reader.read(connection.client!, page));
          for (const reading of r.readings) {
            const out: NodeMessage = { ...msg, topic: 'inventory.ats', payload: readBackDocument(spec.system, connection.account, reading, readAt) };
            delete out._msgid;
            delete out.skus;
            out.channelRead = { system: spec.system, operation, ...(connection.account ? { account: connection.account } : {}), sku: reading.sku };
            counts.read++;
            send(out);
          }
          unknown.push(...r.unknown);
        }
        counts.unknown += unknown.length;
        if (unknown.length) {
          throw permanentError(
            spec.system,
            operation,
            `${unknown.length} SKU${unknown.length > 1 ? 's' : ''} not found in ${spec.system} (${connection.account ?? 'this account'}): ` +
              `${unknown.slice(0, 20).join(', ')}${unknown.length > 20 ? ', …' : ''}; the other SKUs were read`,
            { providerCode: 'UnknownSku' },
          );
        }
        board.set({ fill: 'green', shape: 'dot', text: shortText(summary()) });
      } catch (err) {
        counts.failed++;
        const e = asConnectorError(err, spec.system, operation);
        board.set({ fill: 'red', shape: 'ring', text: shortText(`${summary()}: ${briefly(e)}`) });
        throw e;
      }
    }

    async function handle(msg: NodeMessage, send: SendFn): Promise<void> {
      try {
        if (problem || !writer || !connection?.client) throw permanentError(spec.system, spec.operation, problem?.message ?? 'not usable');
        const { doc, kind, key } = acceptDocument(spec, msg.payload, connection);
        if (spec.onePerListing && kind === 'inventory.position') checkPositionLocation(spec, location, doc);
        const recordKey = `channel-write:${spec.system}:${connection.account ?? '-'}:${type}:${key}`;
        const base = { system: spec.system, ...(connection.account ? { account: connection.account } : {}), key };
        if (store) {
          const s = await store.acquire();
          const seen = (await s.kvGet(recordKey)) as { result?: WriteResult } | undefined;
          if (seen) {
            counts.already++;
            msg.channelResult = { ...base, ...(seen.result ?? { operation: spec.operation }), outcome: 'already-sent', recorded: true } satisfies ChannelResult;
            board.set({ fill: 'green', shape: 'dot', text: summary() });
            send(msg);
            return;
          }
        }
        // Stock figures: one that is older than the newest already written for its SKU and
        // location is stale news (a late delivery or a replay) and must not overwrite it.
        const figure =
          kind === 'shipment'
            ? undefined
            : {
                at: String(doc.asOf ?? doc.computedAt ?? ''),
                // A channel with one figure per listing has one record per SKU (the one drift reads), whatever location a figure came from.
                key: stockFigureKey(spec.system, connection.account, type, doc.sku, spec.onePerListing ? undefined : doc.locationId),
              };
        // One figure per SKU and location at a time: the check, the write and the record together.
        const done = await (figure ? figures.run(figure.key, () => writeOnce(figure)) : writeOnce(undefined));
        if (done.outcome === 'sent') counts.sent++;
        else counts.already++;
        if (done.capped === true) counts.capped++;
        msg.channelResult = done;
        board.set({ fill: 'green', shape: 'dot', text: summary() });
        send(msg);

        async function writeOnce(fig: typeof figure): Promise<ChannelResult> {
          const newest = store && fig?.at ? ((await (await store.acquire()).kvGet(fig.key)) as { at: string } | undefined) : undefined;
          if (newest && fig && Date.parse(newest.at) > Date.parse(fig.at)) {
            return { ...base, operation: spec.operation, outcome: 'unchanged', stale: true, newer: newest.at };
          }
          board.set({ fill: 'blue', shape: 'dot', text: commonText(RED, 'write.sending', { kind }) });
          const result = await board.watch(() => writer!.write({ client: connection!.client!, doc, kind, key, msg, node }));
          if (store) {
            const s = await store.acquire();
            await s.kvPut(recordKey, { at: new Date().toISOString(), result });
            // Forward only; the figure the channel was given stays with it: drift compares what the channel shows with it.
            if (fig?.at) {
              const record: PushedFigure = { at: fig.at, sentAt: new Date().toISOString(), sku: doc.sku };
              if (typeof result.quantity === 'number') record.quantity = result.quantity;
              await moveNewestForward(s, fig.key, record);
            }
          }
          return { ...base, ...result };
        }
      } catch (err) {
        counts.failed++;
        const e = asConnectorError(err, spec.system, spec.operation);
        board.set({ fill: 'red', shape: 'ring', text: shortText(`${summary()}: ${briefly(e)}`) });
        throw e;
      }
    }
    node.on('close', (_removed: boolean, done: () => void) => {
      void Promise.all([...inFlight]).then(() => {
        writer?.close?.();
        done();
      });
    });
  }
  RED.nodes.registerType(type, TillwireChannelWriteNode);
}
