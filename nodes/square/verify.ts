/** Square webhook verification (reference/api-contracts.md §3.6, reliability-notes §4.1). */
import { hmacSha256Base64, safeEqual, Verification } from '../runtime/webhook';

/** Square's verification: base64 HMAC-SHA256(signature key, notification URL + raw body). */
export function verifySquare(signatureKey: string, notificationUrl: string) {
  return (raw: Buffer, headers: Record<string, string | string[] | undefined>): Verification => {
    const given = headers['x-square-hmacsha256-signature'];
    if (!signatureKey || !notificationUrl) return { ok: false, status: 401, reason: 'webhook signature key or notification URL not configured' };
    if (typeof given !== 'string' || !given) return { ok: false, status: 401, reason: 'missing x-square-hmacsha256-signature' };
    if (!safeEqual(given, hmacSha256Base64(signatureKey, notificationUrl, raw))) return { ok: false, status: 401, reason: 'signature mismatch' };
    let event: any;
    try {
      event = JSON.parse(raw.toString('utf8'));
    } catch {
      return { ok: false, status: 400, reason: 'body is not JSON' };
    }
    if (!event || typeof event.event_id !== 'string' || !event.event_id) return { ok: false, status: 400, reason: 'no event_id' };
    return { ok: true, eventId: event.event_id, topic: typeof event.type === 'string' ? event.type : undefined };
  };
}

