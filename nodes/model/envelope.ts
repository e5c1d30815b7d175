/**
 * The canonical message envelope, `msg.tillwire` (docs/architecture.md, "The message envelope"; schema
 * envelope.schema.json). The property name is part of the public contract: flows depend on it.
 */
import { randomUUID } from 'node:crypto';
import { businessKey } from './validate';
import type { Envelope } from './types.generated';

export type { Envelope };

export const ENVELOPE_PROPERTY = 'tillwire';
export const SCHEMA_VERSION = 1;

/**
 * Completes `msg.tillwire` for a canonical document: keeps what an inbound connector already set
 * (its source event id, receipt time), fills what is missing, and derives the idempotency key from
 * the document's business key when none was given.
 */
export function ensureEnvelope(msg: Record<string, any>, doc: Record<string, any>, system: string, now = new Date()): Envelope {
  const existing = (msg[ENVELOPE_PROPERTY] && typeof msg[ENVELOPE_PROPERTY] === 'object' ? msg[ENVELOPE_PROPERTY] : {}) as Partial<Envelope>;
  const eventId = existing.eventId ?? randomUUID();
  const envelope: Envelope = {
    ...existing,
    schemaVersion: SCHEMA_VERSION,
    eventId,
    idempotencyKey: existing.idempotencyKey ?? businessKey(doc) ?? `event:${eventId}`,
    correlationId: existing.correlationId ?? eventId,
    source: { receivedAt: now.toISOString(), ...(existing.source ?? {}), system: existing.source?.system ?? system },
    occurredAt: existing.occurredAt ?? doc.occurredAt ?? doc.updatedAt ?? doc.createdAt ?? undefined,
    attempts: existing.attempts ?? 0,
  };
  if (envelope.occurredAt === undefined) delete envelope.occurredAt;
  msg[ENVELOPE_PROPERTY] = envelope;
  return envelope;
}
