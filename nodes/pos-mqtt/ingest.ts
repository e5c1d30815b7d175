/**
 * What an inbound store-device message is: a canonical sale or return, a till close, or something
 * to reject with a reason (over a limit, not UTF-8, not JSON, a schema violation, a payload that
 * claims another store than its topic). Pure: the node decides what to do with each outcome.
 */
import { createHash } from 'node:crypto';
import { businessKey, isDocumentType, validateDocument } from '../model/validate';
import { truncatedPayload, TruncatedPayload } from '../runtime/dead-letter';
import { DEFAULT_LIMITS, firstInvalidUtf8, nestsDeeperThan, TillLimits } from './limits';
import { deviceIdProblem, parseDeviceTopic, DeviceTopic } from './topic';

export type Ingested =
  | { outcome: 'sale'; doc: Record<string, any>; key: string; topic: DeviceTopic }
  | { outcome: 'close'; doc: Record<string, any>; key: string; topic: DeviceTopic }
  | { outcome: 'rejected'; reason: string; errors: string[] };

/**
 * A received message as the inbox keeps it: UTF-8 text when the bytes are valid UTF-8, else the
 * bytes in base64; a message over the size limit only as its size, digest and first bytes.
 */
export interface StoredEvent {
  topic: string;
  text?: string;
  base64?: string;
  oversize?: TruncatedPayload;
  /**
   * Set when the message came back through the node's input (a dead letter replayed): that entry's
   * id, so a message that is still rejected returns to the same dead-letter entry.
   */
  replayOf?: string;
}

export function toStored(topic: string, raw: Buffer, limits: TillLimits = DEFAULT_LIMITS): StoredEvent {
  if (raw.length > limits.maxPayloadBytes) return { topic, oversize: truncatedPayload(raw) };
  return firstInvalidUtf8(raw) < 0 ? { topic, text: raw.toString('utf8') } : { topic, base64: raw.toString('base64') };
}

/** The bytes of a stored message; undefined when only a description of it was kept. */
export function fromStored(e: StoredEvent): Buffer | undefined {
  if (e.oversize) return undefined;
  return e.base64 !== undefined ? Buffer.from(e.base64, 'base64') : Buffer.from(e.text ?? '', 'utf8');
}

/**
 * The inbox event id: the topic (what the broker authenticated: brand, store, till and kind) plus
 * a digest of the exact bytes. Never what the payload claims, so a till can only ever collide with
 * its own messages (store isolation by construction).
 *
 * Why the bytes and not the saleId: an exact retransmission (a QoS 1 redelivery, a till re-sending
 * from its outbox) has the same id and is kept once, which is the inbox's job. A message with other
 * bytes gets an entry of its own, so a rejected message never holds the business key that its
 * corrected resend needs. Counting a valid sale once is the sales register's job: it is keyed by
 * the business key, and the node outputs a sale only when the register took it (pos-mqtt-in.ts).
 */
export function eventIdFor(topic: string, raw: Buffer): string {
  return `${topic}#${createHash('sha256').update(raw).digest('hex')}`;
}

export function interpret(mqttTopic: string, raw: Buffer, limits: TillLimits = DEFAULT_LIMITS): Ingested {
  const topic = parseDeviceTopic(mqttTopic);
  if (!topic) {
    return reject(`topic '${mqttTopic}' does not follow tillwire/<brand>/stores/<storeId>/tills/<tillId>/<sales|returns|close>`);
  }
  for (const [what, id] of [
    ['store', topic.storeId],
    ['till', topic.tillId],
  ] as const) {
    const problem = deviceIdProblem(what, id, ' in the topic');
    if (problem) return reject(problem);
  }
  if (raw.length > limits.maxPayloadBytes) return oversize(raw.length, limits);
  const badByte = firstInvalidUtf8(raw);
  if (badByte >= 0) return reject(`payload is not valid UTF-8 (byte ${badByte})`);
  const text = raw.toString('utf8');
  if (nestsDeeperThan(text, limits.maxDepth)) return reject(`payload is nested deeper than ${limits.maxDepth} levels`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return reject(`malformed JSON: ${(err as Error).message}`);
  }
  const what = topic.kind === 'close' ? 'till close' : 'sale';
  const d = doc as Record<string, any>;
  if (d && typeof d === 'object' && !Array.isArray(d)) {
    const claimsOwner = d.storeId !== undefined || d.terminalId !== undefined;
    if (claimsOwner && (d.storeId !== topic.storeId || d.terminalId !== topic.tillId)) {
      return reject(`payload store/till ${d.storeId}/${d.terminalId} does not match the topic's ${topic.storeId}/${topic.tillId}`);
    }
    if (Array.isArray(d.lines) && d.lines.length > limits.maxLines) {
      return reject(`${what} has ${d.lines.length} lines; the limit is ${limits.maxLines}`);
    }
  }
  const type = topic.kind === 'close' ? 'till-close' : 'sale';
  if (!isDocumentType(type)) return reject(`no canonical schema for ${type} messages`);
  let result;
  try {
    result = validateDocument(type, doc, { maxLines: limits.maxLines, maxDepth: limits.maxDepth, dateWindow: limits.dateWindow });
  } catch (err) {
    // validation must never take the node down, whatever the payload
    return reject(`${what} could not be validated: ${(err as Error).message}`);
  }
  if (!result.valid) return reject(`${what} failed validation`, result.errors);
  if (topic.kind === 'returns') {
    // …/returns carries only returns: a sale there would leave labelled as a return.
    const lines = (doc as { lines: Array<{ quantity: number }> }).lines;
    const kept = lines.findIndex((l) => !(l.quantity < 0));
    if (kept >= 0)
      return reject(
        `a message on …/returns must return every line, and lines[${kept}] has quantity ${lines[kept].quantity}; a sale or an exchange goes to …/sales`,
      );
  }
  // The key from the topic's store and till (equal to the payload's, checked above).
  const key = businessKey({ ...d, storeId: topic.storeId, terminalId: topic.tillId });
  if (!key) return reject(`${what} has no business key`);
  return topic.kind === 'close' ? { outcome: 'close', doc: d, key, topic } : { outcome: 'sale', doc: d, key, topic };
}

export function oversize(bytes: number, limits: TillLimits): Ingested {
  return reject(`message of ${bytes} bytes is over the limit of ${limits.maxPayloadBytes} bytes`);
}

function reject(reason: string, errors: string[] = []): Ingested {
  return { outcome: 'rejected', reason: errors.length ? `${reason}: ${errors.join('; ')}` : reason, errors };
}

/**
 * The bytes of a message fed back through the node's input (a replayed dead letter): a Buffer as
 * it is, text as UTF-8, anything else (an edited payload is an object) as its JSON.
 */
export function replayedBytes(payload: unknown): Buffer {
  if (Buffer.isBuffer(payload)) return payload;
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  if (payload === undefined) return Buffer.alloc(0);
  return Buffer.from(JSON.stringify(payload) ?? '', 'utf8');
}

/**
 * The inbox event id of a replayed message: the topic-and-bytes id, tied to the dead-letter entry
 * and its attempt. So a replay is processed even when its bytes equal the original's (the first
 * entry is finished, a repeat of it would be dropped), and one replay emitted twice is one event.
 * Counting the sale once is still the sales register's job.
 */
export function replayEventIdFor(topic: string, raw: Buffer, deadLetterId: string | undefined, attempts: unknown): string {
  return `${eventIdFor(topic, raw)}@replay:${deadLetterId ?? 'input'}:${Number.isInteger(attempts) ? attempts : 0}`;
}
