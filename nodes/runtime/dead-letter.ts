/**
 * Dead-letter records and replays, independent of Node-RED (docs/architecture.md, Principles 6:
 * failures are data). A failed message is kept with its payload, the error, the attempt count and history, and
 * the flow and node that failed; a replayed message that fails again updates the same entry.
 */
import { createHash } from 'node:crypto';
import type { AttemptRecord, DeadLetterEntry, DeadLetterFilter, ErrorInfo, Store } from './store';
import { VersionConflictError } from './store';

export const ENVELOPE = 'tillwire';
/** Message properties that are transport handles or per-hop bookkeeping, never stored. */
const TRANSIENT = new Set(['req', 'res', 'error', '_error', '_msgid', 'tillwireClaims', 'replay', '_event']);

/**
 * Largest payload a dead-letter entry keeps, in bytes of its stored JSON. A larger payload is kept
 * as a description instead: its size, a SHA-256 digest and the first bytes, so one hostile message
 * cannot grow the store by more than this (see docs/store-devices.md, limits).
 */
export const DEAD_LETTER_PAYLOAD_LIMIT = 256 * 1024;
/** How much of an over-limit payload is kept to show what it was. */
export const TRUNCATED_PREFIX_BYTES = 1024;

/** What is stored instead of a payload over the limit; `reviveMessage` leaves it as it is. */
export interface TruncatedPayload {
  truncated: true;
  /** Size of the original payload in bytes (raw bytes, or its JSON text). */
  bytes: number;
  sha256: string;
  /** The first bytes, base64. */
  prefixBase64: string;
}

export function truncatedPayload(bytes: Buffer): TruncatedPayload {
  return {
    truncated: true,
    bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    prefixBase64: bytes.subarray(0, TRUNCATED_PREFIX_BYTES).toString('base64'),
  };
}

/**
 * The stored form of a message: JSON, without transport handles. Buffers are stored as
 * `{ type: 'Buffer', base64 }` (a third of the size of Node's default `{ type: 'Buffer', data: [...] }`
 * number array, which entries written by earlier versions still hold and `reviveMessage` still reads).
 * A payload whose stored JSON would exceed `payloadLimit` is replaced by a `TruncatedPayload`.
 */
export function serializeMessage(msg: Record<string, unknown>, payloadLimit = DEAD_LETTER_PAYLOAD_LIMIT): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(msg)) {
    if (!TRANSIENT.has(k) && typeof v !== 'function') copy[k] = v;
  }
  if ('payload' in copy) copy.payload = boundedPayload(copy.payload, payloadLimit);
  // JSON round trip: the stored form is exactly what comes back.
  return JSON.parse(JSON.stringify(copy, compactBuffers));
}

function boundedPayload(payload: unknown, limit: number): unknown {
  if (Buffer.isBuffer(payload)) {
    // base64 grows 4/3; keep the raw bytes when their stored form fits
    return Math.ceil(payload.length / 3) * 4 <= limit ? payload : truncatedPayload(payload);
  }
  if (payload === undefined) return payload;
  let text: string | undefined;
  try {
    text = JSON.stringify(payload, compactBuffers);
  } catch {
    // cyclic or too deep to write out: keep what can be said about it
    return { truncated: true, bytes: 0, sha256: '', prefixBase64: '', reason: 'payload could not be written as JSON' };
  }
  if (text === undefined || text.length <= limit) return payload;
  return truncatedPayload(Buffer.from(text, 'utf8'));
}

/**
 * JSON.stringify replacer: Buffers (already turned into { type, data } by their toJSON) as base64,
 * and a BigInt as its digits (JSON.stringify throws on one: the message could not be parked at all).
 */
function compactBuffers(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return { type: 'Buffer', base64: Buffer.from((value as { data: number[] }).data).toString('base64') };
  }
  return value;
}

/** Restores a stored message, turning stored Buffers (base64, or the older number arrays) back into Buffers. */
export function reviveMessage(stored: Record<string, unknown>): Record<string, any> {
  return JSON.parse(JSON.stringify(stored), (_k, v) => {
    if (!v || typeof v !== 'object' || v.type !== 'Buffer') return v;
    if (typeof v.base64 === 'string') return Buffer.from(v.base64, 'base64');
    if (Array.isArray(v.data)) return Buffer.from(v.data);
    return v;
  });
}

export function errorInfo(error: unknown): ErrorInfo {
  if (!error) return { message: 'unknown error' };
  if (typeof error === 'string') return { message: error };
  const e = error as { message?: unknown; name?: unknown; source?: ErrorInfo['source']; code?: unknown; cause?: unknown };
  const info: ErrorInfo = { message: typeof e.message === 'string' ? e.message : JSON.stringify(error) };
  if (typeof e.name === 'string' && e.name !== 'Error') info.name = e.name;
  if (e.source && typeof e.source === 'object') {
    info.source = { id: e.source.id, type: e.source.type, name: e.source.name };
  }
  // A connector failure's kind and fields (docs/errors.md) stay with the entry: only plain values.
  if (typeof e.code === 'string') info.code = e.code;
  if (e.cause && typeof e.cause === 'object' && !Array.isArray(e.cause)) {
    const fields = Object.entries(e.cause as Record<string, unknown>).filter(([, v]) => v === null || ['string', 'number', 'boolean'].includes(typeof v));
    if (fields.length) info.cause = Object.fromEntries(fields);
  }
  return info;
}

export interface FailureContext {
  error: ErrorInfo;
  flowId?: string | null;
  nodeId?: string | null;
  nodeType?: string | null;
  nodeName?: string | null;
  now?: () => number;
}

/**
 * Stores a failure. If the message is a replay of an existing entry (envelope deadLetterId), that
 * entry gets the new attempt appended to its history and returns to 'pending'.
 */
export async function recordFailure(store: Store, msg: Record<string, any>, ctx: FailureContext): Promise<DeadLetterEntry> {
  const at = new Date((ctx.now ?? Date.now)()).toISOString();
  const message = serializeMessage(msg);
  const previousId: unknown = msg[ENVELOPE]?.deadLetterId;
  for (let tries = 0; typeof previousId === 'string' && tries < 5; tries++) {
    const existing = await store.getDeadLetter(previousId);
    if (!existing) break;
    const attempt = existing.attempts + 1;
    const history: AttemptRecord[] = [...existing.history, { at, attempt, error: ctx.error, nodeId: ctx.nodeId ?? null }];
    if (message[ENVELOPE] && typeof message[ENVELOPE] === 'object') {
      (message[ENVELOPE] as Record<string, unknown>).attempts = attempt;
    }
    const updated = await store.updateDeadLetter(
      existing.id,
      {
        status: 'pending',
        attempts: attempt,
        history,
        error: ctx.error,
        message,
        flowId: ctx.flowId ?? existing.flowId,
        nodeId: ctx.nodeId ?? existing.nodeId,
        nodeType: ctx.nodeType ?? existing.nodeType,
        nodeName: ctx.nodeName ?? existing.nodeName,
      },
      existing.version,
    );
    if (updated) return updated;
  }
  const attempts = Math.max(1, Number(msg[ENVELOPE]?.attempts ?? 0) + 1);
  return store.putDeadLetter({
    flowId: ctx.flowId ?? null,
    nodeId: ctx.nodeId ?? null,
    nodeType: ctx.nodeType ?? null,
    nodeName: ctx.nodeName ?? null,
    topic: typeof msg.topic === 'string' ? msg.topic : null,
    error: ctx.error,
    attempts,
    message,
    history: [{ at, attempt: attempts, error: ctx.error, nodeId: ctx.nodeId ?? null }],
  });
}

/** What a replayed message carries so that a second failure returns to the same entry. */
export function replayMessage(entry: DeadLetterEntry): Record<string, any> {
  const msg = reviveMessage(entry.message);
  const envelope = msg[ENVELOPE] && typeof msg[ENVELOPE] === 'object' ? msg[ENVELOPE] : undefined;
  if (envelope) {
    envelope.deadLetterId = entry.id;
    envelope.attempts = entry.attempts;
  } else {
    // A message without the canonical envelope still needs the link back to its entry.
    msg[ENVELOPE] = { deadLetterId: entry.id, attempts: entry.attempts };
  }
  msg.replay = { deadLetterId: entry.id, attempts: entry.attempts, history: entry.history, error: entry.error };
  return msg;
}

export interface ReplayRequest extends DeadLetterFilter {
  /** Replaces the payload of the replayed message(s): an edit made at replay time. */
  payload?: unknown;
}

/**
 * Re-emits matching pending entries oldest first, marking each 'replayed' before emitting so two
 * replays running at once cannot both emit it. Returns the number emitted.
 */
export async function replay(store: Store, request: ReplayRequest, emit: (msg: Record<string, any>, entry: DeadLetterEntry) => void): Promise<number> {
  const filter: DeadLetterFilter = { ...request, status: request.status ?? 'pending', offset: 0 };
  const pageSize = Math.min(request.limit ?? 10_000, 200);
  let remaining = request.limit ?? Number.POSITIVE_INFINITY;
  let emitted = 0;
  let stalls = 0;
  while (remaining > 0 && stalls < 3) {
    const page = await store.listDeadLetters({ ...filter, limit: Math.min(pageSize, remaining) });
    if (page.length === 0) break;
    let progressed = false;
    for (const entry of page) {
      const marked = await store.updateDeadLetter(entry.id, { status: 'replayed' }, entry.version);
      if (!marked) continue; // someone else replayed or edited it meanwhile
      progressed = true;
      const msg = replayMessage(marked);
      if (request.payload !== undefined) msg.payload = request.payload;
      emit(msg, marked);
      emitted++;
      remaining--;
    }
    if (!progressed) stalls++;
    if (filter.status !== 'pending') filter.offset = (filter.offset ?? 0) + page.length;
  }
  return emitted;
}

/** Reads what to replay from a message payload; anything else (an Inject timestamp) means "use the node's filter". */
export function requestFrom(payload: unknown, defaults: ReplayRequest): ReplayRequest {
  if (typeof payload === 'string' && payload.trim()) return { ids: [payload.trim()] };
  if (Array.isArray(payload) && payload.every((p) => typeof p === 'string')) return { ids: payload as string[] };
  if (payload && typeof payload === 'object') {
    const p = payload as Record<string, unknown>;
    const req: ReplayRequest = { ...defaults };
    if (typeof p.id === 'string') req.ids = [p.id];
    if (Array.isArray(p.ids)) req.ids = p.ids.map(String);
    if (typeof p.flowId === 'string') req.flowId = p.flowId;
    if (typeof p.nodeId === 'string') req.nodeId = p.nodeId;
    if (p.limit !== undefined) req.limit = Number(p.limit);
    if (p.all === true) {
      delete req.flowId;
      delete req.nodeId;
    }
    if ('payload' in p) req.payload = p.payload;
    return req;
  }
  return { ...defaults };
}

export { VersionConflictError };
