/** Square webhook verification: signature, then the signed event's shape and age. */
import { hmacSha256Base64, safeEqual, staleness, Verification } from '../runtime/webhook';

/**
 * Square retries a failed delivery for 72 hours (contract.ts, WEBHOOK_RETRY_SCHEDULE_MS): four days covers
 * that with a day to spare and stays below the inbox's 7-day memory of finished events, so a
 * replay is either recognised by its event_id or refused by its age.
 */
export const SQUARE_MAX_AGE_HOURS = 96;

export interface SquareVerifyOptions {
  signatureKey: string;
  notificationUrl: string;
  /** Oldest signed event `created_at` accepted (ms). */
  maxAgeMs: number;
  /**
   * The seller account this webhook serves (Square's `merchant_id`); empty: any merchant whose
   * event is signed with the key. One subscription's key signs the events of every seller that
   * authorised the app, so the key alone does not say whose event it is.
   */
  merchantId?: string;
  now?: () => number;
}

/**
 * Square's verification: base64 HMAC-SHA256(signature key, notification URL + raw body) in constant
 * time (401); the body is a JSON event (400) of the configured merchant (`merchant_id`, 403) with
 * an `event_id` (400) and a `created_at` within the freshness window and not in the future beyond
 * the clock-skew allowance, as is `square-initial-delivery-timestamp` when sent (422).
 */
export function verifySquare(o: SquareVerifyOptions) {
  return (raw: Buffer, headers: Record<string, string | string[] | undefined>): Verification => {
    const given = headers['x-square-hmacsha256-signature'];
    if (!o.signatureKey || !o.notificationUrl) return { ok: false, status: 401, reason: 'webhook signature key or notification URL not configured' };
    if (typeof given !== 'string' || !given) return { ok: false, status: 401, reason: 'missing x-square-hmacsha256-signature' };
    if (!safeEqual(given, hmacSha256Base64(o.signatureKey, o.notificationUrl, raw))) return { ok: false, status: 401, reason: 'signature mismatch' };
    let event: any;
    try {
      event = JSON.parse(raw.toString('utf8'));
    } catch {
      return { ok: false, status: 400, reason: 'body is not JSON' };
    }
    if (!event || typeof event !== 'object' || Array.isArray(event)) return { ok: false, status: 400, reason: 'the body is not a JSON object' };
    if (o.merchantId) {
      const from = event.merchant_id;
      if (typeof from !== 'string' || !from)
        return { ok: false, status: 403, reason: `the event has no merchant_id: cannot tell whether it is for merchant ${o.merchantId}` };
      if (from !== o.merchantId)
        return { ok: false, status: 403, reason: `the event is for merchant ${from.slice(0, 100)}, this webhook serves ${o.merchantId}` };
    }
    if (typeof event.event_id !== 'string' || !event.event_id) return { ok: false, status: 400, reason: 'no event_id' };
    if (typeof event.created_at !== 'string' || Number.isNaN(Date.parse(event.created_at)))
      return { ok: false, status: 400, reason: 'the event has no valid created_at: its age cannot be checked' };
    const initial = headers['square-initial-delivery-timestamp'];
    const stale = staleness(
      [
        ["the event's created_at", event.created_at],
        ['square-initial-delivery-timestamp', typeof initial === 'string' ? initial : undefined],
      ],
      o.maxAgeMs,
      (o.now ?? Date.now)(),
    );
    if (stale) return { ok: false, status: 422, reason: stale };
    return { ok: true, eventId: event.event_id, topic: typeof event.type === 'string' ? event.type : undefined };
  };
}
