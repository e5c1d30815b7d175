/**
 * What an inbound store-device message is: a canonical sale or return, a till close, or something
 * to reject with a reason (not JSON, a schema violation, a payload that claims another store than
 * its topic). Pure: the node decides what to do with each outcome.
 */
import { createHash } from 'node:crypto';
import { businessKey, isDocumentType, validateDocument } from '../model/validate';
import { parseDeviceTopic, DeviceTopic } from './topic';

export type Ingested =
  | { outcome: 'sale'; doc: Record<string, any>; key: string; topic: DeviceTopic }
  | { outcome: 'close'; doc: Record<string, any>; key: string; topic: DeviceTopic }
  | { outcome: 'rejected'; reason: string; errors: string[] };

/** The inbox event id: the business key when the bytes say what they are, else a hash of them. */
export function eventIdFor(topic: string, raw: Buffer): string {
  try {
    const doc = JSON.parse(raw.toString('utf8'));
    const key = doc && typeof doc === 'object' ? businessKey(doc) : undefined;
    if (key) return key;
  } catch {
    // not JSON: identified by its bytes
  }
  return `raw:${createHash('sha256').update(topic).update('\u0000').update(raw).digest('hex')}`;
}

export function interpret(mqttTopic: string, raw: Buffer): Ingested {
  const topic = parseDeviceTopic(mqttTopic);
  if (!topic) {
    return reject(`topic '${mqttTopic}' does not follow tillwire/<brand>/stores/<storeId>/tills/<tillId>/<sales|returns|close>`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    return reject(`malformed JSON: ${(err as Error).message}`);
  }
  const type = topic.kind === 'close' ? 'till-close' : 'sale';
  if (!isDocumentType(type)) return reject(`no canonical schema for ${type} messages`);
  const result = validateDocument(type, doc);
  if (!result.valid) return reject(`${topic.kind === 'close' ? 'till close' : 'sale'} failed validation`, result.errors);
  const d = doc as Record<string, any>;
  if (d.storeId !== topic.storeId || d.terminalId !== topic.tillId) {
    return reject(
      `payload store/till ${d.storeId}/${d.terminalId} does not match the topic's ${topic.storeId}/${topic.tillId}`,
    );
  }
  const key = businessKey(d)!;
  return topic.kind === 'close' ? { outcome: 'close', doc: d, key, topic } : { outcome: 'sale', doc: d, key, topic };
}

function reject(reason: string, errors: string[] = []): Ingested {
  return { outcome: 'rejected', reason: errors.length ? `${reason}: ${errors.join('; ')}` : reason, errors };
}
