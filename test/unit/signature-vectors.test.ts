/**
 * Known-answer vectors for every signature and credential Tillwire checks or sends. Each expected
 * value comes from outside our code: a provider's or a standard's published example (source named),
 * or, where none is published, a literal computed once with openssl/python (the command is beside
 * it). Nothing here computes an expectation with our functions or node:crypto, so a wrong
 * algorithm, key/body order or encoding in our code fails these tests even though our simulators
 * (which sign with our own function) would still agree with it.
 *
 * Every accepted vector is also refused after a one-bit change of the body, the key and (Square)
 * the notification URL.
 */
import { hmacSha256Base64 } from '../../nodes/runtime/webhook';
import { verifySquare } from '../../nodes/square/verify';
import { verifyWebhook } from '../../nodes/shopify/ingest';
import { BolTokenSource } from '../../nodes/bol/client';
import { LwaTokenSource } from '../../nodes/amazon/client';

/** A copy of `s` (as UTF-8 bytes) with the lowest bit of byte `at` flipped. */
function flipBit(s: string | Buffer, at: number): Buffer {
  const b = Buffer.from(s);
  b[at] ^= 1;
  return b;
}

describe('HMAC-SHA256 as base64 (the primitive under both webhook checks)', () => {
  it('matches RFC 4231 test case 2', () => {
    // RFC 4231 §4.3 (https://www.rfc-editor.org/rfc/rfc4231#section-4.3): key "Jefe", data
    // "what do ya want for nothing?", HMAC-SHA-256 = 5bdcc146bf60754e6a042426089575c7
    // 5a003f089d2739839dec58b964ec3843; as base64 (xxd -r -p | base64):
    expect(hmacSha256Base64('Jefe', 'what do ya want for nothing?')).toBe('W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=');
  });
});

describe('Square webhook signature (x-square-hmacsha256-signature)', () => {
  // Square's own published vector, from the test of its Node.js SDK's webhook helper:
  // https://github.com/square/square-nodejs-sdk/blob/master/test/utilities/webhooksHelper.test.ts
  // (also checked once: printf '%s' "$URL$BODY" | openssl dgst -sha256 -hmac "$KEY" -binary | base64)
  const body =
    '{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}';
  const signature = 'GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=';
  const signatureKey = 'Ibxx_5AKakO-3qeNVR61Dw';
  const notificationUrl = 'https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9';
  // The event is from 2022: judge its age from a few minutes after it was sent.
  const now = () => Date.parse('2022-07-13T20:35:00Z');
  const verify = (o: { key?: string; url?: string; raw?: Buffer; sig?: string }) =>
    verifySquare({ signatureKey: o.key ?? signatureKey, notificationUrl: o.url ?? notificationUrl, maxAgeMs: 3600_000, now })(o.raw ?? Buffer.from(body), {
      'x-square-hmacsha256-signature': o.sig ?? signature,
    });

  it("accepts Square's published signature and names the event", () => {
    expect(verify({})).toEqual({ ok: true, eventId: 'ac3ac95b-f97d-458c-a6e6-18981597e05f', topic: 'webhooks.test_notification' });
  });

  it('refuses it after a one-bit change of the body, the key or the notification URL', () => {
    // byte 20 is inside "MLEFBHHSJGVHD"; the body stays valid JSON
    expect(verify({ raw: flipBit(body, 20) })).toMatchObject({ ok: false, status: 401 });
    expect(verify({ key: flipBit(signatureKey, 0).toString() })).toMatchObject({ ok: false, status: 401 });
    // the last character of the URL's path
    expect(verify({ url: flipBit(notificationUrl, notificationUrl.length - 1).toString() })).toMatchObject({ ok: false, status: 401 });
  });

  it("accepts Square's second published vector, with characters JSON may escape", () => {
    // Same source: URL https://webhook.site/webhooks, key signature-key, body with ">id<".
    // printf '%s' 'https://webhook.site/webhooks{"data":{"type":"webhooks","id":">id<"}}' | openssl dgst -sha256 -hmac 'signature-key' -binary | base64
    expect(hmacSha256Base64('signature-key', 'https://webhook.site/webhooks', Buffer.from('{"data":{"type":"webhooks","id":">id<"}}'))).toBe(
      'Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U=',
    );
  });
});

describe('Shopify webhook signature (X-Shopify-Hmac-Sha256)', () => {
  // Shopify documents the scheme (base64 HMAC-SHA256 of the raw body, keyed with the app's client
  // secret: https://shopify.dev/docs/apps/build/webhooks/subscribe/https, "Verify the webhook")
  // but publishes no digest, so this one was computed once, outside our code, over these exact
  // bytes (the é's are two UTF-8 bytes each; a body re-encoded in another charset fails):
  //   printf '%s' "$BODY" | openssl dgst -sha256 -hmac 'tillwire-shopify-secret' -binary | base64
  const body = '{"id":450789469,"updated_at":"2026-12-01T10:00:00Z","line_items":[{"id":466157049,"title":"Café crème","quantity":1}]}';
  const secret = 'tillwire-shopify-secret';
  const signature = 'erSrFlQ+ZaM+2IRMmbWlDqKCBu4NEql2JKTuFLqOVm8=';
  //   printf '%s' "$BODY" | openssl dgst -sha256 -hmac 'tillwire-shopify-secret-previous' -binary | base64
  const previousSecret = 'tillwire-shopify-secret-previous';
  const signatureByPrevious = '3sk0LJ6mZ+wMSarhpIy7ZQtSgUcEiUpbSCRFMepewKM=';
  const shop = 'tillwire-demo.myshopify.com';
  const verify = (o: { secrets?: string[]; raw?: Buffer; sig?: string }) =>
    verifyWebhook(
      { secrets: o.secrets ?? [secret], topics: [], shop, maxAgeMs: 24 * 3600_000, now: () => Date.parse('2026-12-01T10:05:00Z') },
      o.raw ?? Buffer.from(body, 'utf8'),
      {
        'x-shopify-hmac-sha256': o.sig ?? signature,
        'x-shopify-shop-domain': shop,
        'x-shopify-topic': 'orders/updated',
      },
    );

  it('accepts the independently computed signature', () => {
    expect(Buffer.byteLength(body)).toBe(body.length + 2); // the two é's really are multi-byte
    expect(verify({})).toMatchObject({ ok: true, topic: 'orders/updated' });
  });

  it('refuses it after a one-bit change of the body or the secret', () => {
    // byte 7 is a digit of the order id; the body stays valid JSON
    expect(verify({ raw: flipBit(body, 7) })).toMatchObject({ ok: false, status: 401 });
    expect(verify({ secrets: [flipBit(secret, 0).toString()] })).toMatchObject({ ok: false, status: 401 });
  });

  it('accepts a delivery signed with the previous secret during a rotation, and only with that secret configured', () => {
    expect(verify({ secrets: [secret, previousSecret], sig: signatureByPrevious })).toMatchObject({ ok: true });
    expect(verify({ secrets: [secret], sig: signatureByPrevious })).toMatchObject({ ok: false, status: 401 });
  });
});

/** A token endpoint stand-in that records the request and answers with a token. */
function recordingFetch() {
  const seen: Array<{ url: string; init: RequestInit }> = [];
  const fetchFn = (async (url: string | URL, init: RequestInit) => {
    seen.push({ url: String(url), init });
    return new Response(JSON.stringify({ access_token: 'at-1', expires_in: 299 }), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as unknown as typeof fetch;
  return { seen, fetchFn };
}

describe('bol.com token request (OAuth2 client credentials, HTTP Basic)', () => {
  it('sends the RFC 7617 Basic credentials for the client id and secret', async () => {
    // RFC 7617 §2 (https://www.rfc-editor.org/rfc/rfc7617#section-2): user-id "Aladdin" and
    // password "open sesame" give "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==".
    const { seen, fetchFn } = recordingFetch();
    const tokens = new BolTokenSource({
      tokenUrl: 'https://login.bol.com/token',
      credentials: { clientId: 'Aladdin', clientSecret: 'open sesame' },
      fetch: fetchFn,
    });
    await expect(tokens.get()).resolves.toBe('at-1');
    expect(seen).toHaveLength(1);
    expect(seen[0].url).toBe('https://login.bol.com/token?grant_type=client_credentials');
    expect(seen[0].init.method).toBe('POST');
    expect((seen[0].init.headers as Record<string, string>).authorization).toBe('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
  });
});

describe('Amazon LWA token request (refresh_token grant, form-encoded)', () => {
  it('sends the form Amazon documents, with reserved characters escaped', async () => {
    // Fields as in "Connecting to the Selling Partner API", step 1
    // (https://developer-docs.amazon.com/sp-api/docs/connecting-to-the-selling-partner-api).
    // Expected body computed once with Python's form encoder:
    //   python3 -c "from urllib.parse import urlencode; print(urlencode([('grant_type','refresh_token'),
    //     ('refresh_token','Atzr|IwEBIA-example'),('client_id','amzn1.application-oa2-client.tillwire'),('client_secret','a+b/c=d')]))"
    const { seen, fetchFn } = recordingFetch();
    const tokens = new LwaTokenSource({
      tokenUrl: 'https://api.amazon.com/auth/o2/token',
      credentials: { clientId: 'amzn1.application-oa2-client.tillwire', clientSecret: 'a+b/c=d', refreshToken: 'Atzr|IwEBIA-example' },
      fetch: fetchFn,
    });
    await tokens.get();
    expect(seen[0].url).toBe('https://api.amazon.com/auth/o2/token');
    expect(seen[0].init.method).toBe('POST');
    expect((seen[0].init.headers as Record<string, string>)['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(seen[0].init.body).toBe(
      'grant_type=refresh_token&refresh_token=Atzr%7CIwEBIA-example&client_id=amzn1.application-oa2-client.tillwire&client_secret=a%2Bb%2Fc%3Dd',
    );
  });
});
