/**
 * Admin HTTP API for the dead-letter store, mounted on Node-RED's admin app so it sits behind
 * `adminAuth` and its permissions (read for listing, write for edit/delete/replay), like the
 * core Inject node's button route.
 *
 *   GET    /tillwire/stores
 *   GET    /tillwire/dead-letters?store=&status=&flow=&node=&limit=&offset=   → { total, entries }
 *   GET    /tillwire/dead-letters/count?store=&status=&flow=&node=           → { count }
 *   GET    /tillwire/dead-letters/:id?store=
 *   PUT    /tillwire/dead-letters/:id?store=   body { payload } or { message }, and { version } (required)
 *   DELETE /tillwire/dead-letters/:id?store=
 *   POST   /tillwire/replay/:nodeId            body { ids?, flowId?, nodeId?, limit? } → { replayed }
 *   GET    /tillwire/webhooks/body-budget                   → { limitBytes, heldBytes, reading, refused }
 *   GET    /tillwire/runtime                                → { flowsStarted, lastStartedAt }
 *
 * Other node modules add their own routes with `respond` and `resolveStore` (the till node: store
 * owners, pos-mqtt/store-owner-routes.ts).
 */
import v8 from 'node:v8';
import type { NodeRED, RequestLike, ResponseLike } from './node-red';
import type { DeadLetterFilter, DeadLetterStatus, Store } from '../runtime/store';
import type { StoreManager } from '../runtime/store-manager';
import { webhookBodyBudget } from '../runtime/byte-budget';

const registered = new WeakSet<object>();

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function storeIds(RED: NodeRED): string[] {
  const ids: string[] = [];
  RED.nodes.eachNode((def) => {
    if (def.type === 'tillwire-store') ids.push(def.id);
  });
  return ids;
}

export async function resolveStore(RED: NodeRED, requested: string | undefined): Promise<Store> {
  const ids = storeIds(RED);
  const id = requested || (ids.length === 1 ? ids[0] : undefined);
  if (!id) {
    throw new HttpError(400, ids.length === 0 ? 'no Tillwire store is deployed' : `several stores are deployed; pass ?store= one of ${ids.join(', ')}`);
  }
  const manager: StoreManager | undefined = RED.nodes.getNode(id)?.manager;
  if (!manager) throw new HttpError(404, `no Tillwire store with id ${id}`);
  try {
    return await manager.acquire();
  } catch (err) {
    throw new HttpError(503, (err as Error).message);
  }
}

export function filterFrom(query: Record<string, string | undefined>): DeadLetterFilter {
  const filter: DeadLetterFilter = {};
  if (query.status) {
    if (query.status !== 'pending' && query.status !== 'replayed') throw new HttpError(400, 'status must be pending or replayed');
    filter.status = query.status as DeadLetterStatus;
  }
  if (query.flow) filter.flowId = query.flow;
  if (query.node) filter.nodeId = query.node;
  for (const k of ['limit', 'offset'] as const) {
    if (query[k] !== undefined) {
      const n = Number(query[k]);
      if (!Number.isInteger(n) || n < 0) throw new HttpError(400, `${k} must be a whole number`);
      filter[k] = n;
    }
  }
  return filter;
}

/** The `version` of an edit: a whole number the client read with the entry (400 otherwise). */
export function versionFrom(value: unknown): number {
  if (value === undefined || value === null || value === '') {
    throw new HttpError(400, 'version is required: send the version of the entry you edited (GET the entry to read it)');
  }
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 0)
    throw new HttpError(400, `version must be a whole number (the entry's version), not ${JSON.stringify(value).slice(0, 40)}`);
  return n;
}

export type Route = (req: RequestLike) => Promise<unknown>;

/** Answers a route's result as JSON, or its HttpError's status and message (500 for anything else). */
export function respond(route: Route) {
  return (req: RequestLike, res: ResponseLike) => {
    route(req).then(
      (body) => res.json(body),
      (err) => res.status(err instanceof HttpError ? err.status : 500).json({ error: (err as Error).message }),
    );
  };
}

interface FlowStarts {
  flowsStarted: number;
  lastStartedAt: string | null;
}
const starts = new WeakMap<object, FlowStarts>();

/** Counts the flow starts of one runtime (one listener per runtime, however often its admin app is made). */
function flowStarts(RED: NodeRED): FlowStarts {
  const events = RED.events;
  if (!events) return { flowsStarted: 0, lastStartedAt: null };
  let counts = starts.get(events);
  if (!counts) {
    const c: FlowStarts = { flowsStarted: 0, lastStartedAt: null };
    events.on('flows:started', () => {
      c.flowsStarted++;
      c.lastStartedAt = new Date().toISOString();
    });
    starts.set(events, c);
    counts = c;
  }
  return counts;
}

export function registerAdminApi(RED: NodeRED): void {
  if (!RED.httpAdmin || registered.has(RED.httpAdmin)) return;
  registered.add(RED.httpAdmin);
  const read = RED.auth.needsPermission('tillwire-dead-letter.read');
  const write = RED.auth.needsPermission('tillwire-dead-letter.write');

  // Whether the flows run: Node-RED answers its API before it starts the flows, and answers a
  // deploy once the old flows have stopped, before the new ones have started (their HTTP routes
  // answer 404 until then). A health check or a script that deploys waits for this count to move.
  const runtime = flowStarts(RED);
  RED.httpAdmin.get(
    '/tillwire/runtime',
    RED.auth.needsPermission('tillwire-runtime.read'),
    // heapLimitMiB: V8's heap ceiling, so an operator can see the one Node-RED runs with (npm start
    // sets it on the command line, which Node-RED's process title hides from ps).
    respond(async () => ({ ...runtime, heapLimitMiB: Math.round(v8.getHeapStatistics().heap_size_limit / 2 ** 20) })),
  );

  RED.httpAdmin.get(
    '/tillwire/stores',
    read,
    respond(async () =>
      storeIds(RED).map((id) => {
        const node = RED.nodes.getNode(id);
        return { id, name: node?.name ?? '', state: node?.manager?.state };
      }),
    ),
  );

  RED.httpAdmin.get(
    '/tillwire/dead-letters/count',
    read,
    respond(async (req) => {
      const { limit: _l, offset: _o, ...filter } = filterFrom(req.query);
      const store = await resolveStore(RED, req.query.store);
      return { count: await store.countDeadLetters(filter) };
    }),
  );

  RED.httpAdmin.get(
    '/tillwire/dead-letters',
    read,
    respond(async (req) => {
      const filter = filterFrom(req.query);
      const store = await resolveStore(RED, req.query.store);
      const { limit: _l, offset: _o, ...countFilter } = filter;
      return { total: await store.countDeadLetters(countFilter), entries: await store.listDeadLetters({ limit: 100, ...filter }) };
    }),
  );

  RED.httpAdmin.get(
    '/tillwire/dead-letters/:id',
    read,
    respond(async (req) => {
      const store = await resolveStore(RED, req.query.store);
      const entry = await store.getDeadLetter(req.params.id);
      if (!entry) throw new HttpError(404, `no dead-letter entry ${req.params.id}`);
      return entry;
    }),
  );

  RED.httpAdmin.put(
    '/tillwire/dead-letters/:id',
    write,
    respond(async (req) => {
      const store = await resolveStore(RED, req.query.store);
      const entry = await store.getDeadLetter(req.params.id);
      if (!entry) throw new HttpError(404, `no dead-letter entry ${req.params.id}`);
      const body = req.body ?? {};
      let message: Record<string, unknown>;
      if (body.message !== undefined) {
        if (!body.message || typeof body.message !== 'object' || Array.isArray(body.message)) {
          throw new HttpError(400, 'message must be an object');
        }
        message = body.message;
      } else if (Object.prototype.hasOwnProperty.call(body, 'payload')) {
        message = { ...entry.message, payload: body.payload };
      } else {
        throw new HttpError(400, 'send { payload } or { message } to edit an entry');
      }
      // The version the editor read is required: an edit made without it could overwrite someone
      // else's. Only a well-formed version that is out of date is a conflict (409).
      const expected = versionFrom(body.version);
      const updated = await store.updateDeadLetter(entry.id, { message }, expected);
      if (!updated) throw new HttpError(409, `entry ${entry.id} changed since version ${expected}; reload and edit again`);
      return updated;
    }),
  );

  RED.httpAdmin.delete(
    '/tillwire/dead-letters/:id',
    write,
    respond(async (req) => {
      const store = await resolveStore(RED, req.query.store);
      if (!(await store.deleteDeadLetter(req.params.id))) throw new HttpError(404, `no dead-letter entry ${req.params.id}`);
      return { deleted: req.params.id };
    }),
  );

  RED.httpAdmin.get(
    '/tillwire/webhooks/body-budget',
    RED.auth.needsPermission('tillwire-webhook.read'),
    respond(async () => webhookBodyBudget.figures()),
  );

  RED.httpAdmin.post(
    '/tillwire/replay/:nodeId',
    RED.auth.needsPermission('tillwire-replay.write'),
    respond(async (req) => {
      const node = RED.nodes.getNode(req.params.nodeId);
      if (!node || node.type !== 'tillwire-replay' || typeof node.replayNow !== 'function') {
        throw new HttpError(404, `no deployed replay node ${req.params.nodeId}`);
      }
      return { replayed: await node.replayNow(req.body ?? {}) };
    }),
  );
}
