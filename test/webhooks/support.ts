/**
 * What the real-runtime webhook tests share: one Node-RED process started with the product's
 * settings (test/support/node-red-process.ts) holding a Shopify and a Square webhook node, whose
 * outputs are written by Node-RED's core file node to `received.jsonl` in the user directory (what
 * an operator could open), and deliveries signed the way Shopify and Square sign them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startNodeRed, freePort, type RunningNodeRed, type StartOptions, deployCredentialsAndWait } from '../support/node-red-process';
import { hmacSha256Base64 } from '../../nodes/runtime/webhook';
import { SquareSimulator } from '../../simulators/square/simulator';
import { ShopifySimulator } from '../../simulators/shopify/simulator';

export const SHOP = 'tillwire-webhook-test.myshopify.com';
export const SHOPIFY_SECRET = 'whsec-real-runtime';
export const SHOPIFY_PATH = '/shopify/webhooks';
export const SQUARE_PATH = '/square/webhook';
/** The Square seller account the test connection serves (the simulator's merchant). */
export const SQUARE_MERCHANT = 'MLTILLWIRETEST1';

export interface WebhookRuntime {
  nr: RunningNodeRed;
  shopify: ShopifySimulator;
  square: SquareSimulator;
  /** Where Square must sign: the notification URL configured in the connection. */
  notificationUrl: string;
  /** Base URL of the HTTP node routes (differs from nr.url when httpNodeRoot is not `/`). */
  nodeBase: string;
  received: () => Array<Record<string, any>>;
  stop: () => Promise<void>;
}

export interface RuntimeOptions {
  via?: StartOptions['via'];
  env?: Record<string, string>;
  /** Settings laid over the product's (a user's own settings file), e.g. httpNodeRoot. */
  settings?: Record<string, unknown>;
  nodeRedDefaults?: boolean;
  /** Store config node fields (default: the memory store). */
  store?: Record<string, unknown>;
  shopifyNode?: Record<string, unknown>;
  squareNode?: Record<string, unknown>;
  /** Fields laid over the Square connection (e.g. `attempts`, `merchantId`). */
  squareConfig?: Record<string, unknown>;
  /** More nodes on the flow's tab (e.g. a second webhook node). */
  extraNodes?: Array<Record<string, unknown>>;
}

export function webhookFlow(outFile: string, sqBaseUrl: string, o: RuntimeOptions = {}): unknown[] {
  return [
    { id: 'wt-tab', type: 'tab', label: 'webhooks' },
    { id: 'wt-store', type: 'tillwire-store', backend: 'memory', ...o.store },
    { id: 'wt-shop', type: 'tillwire-shopify-config', shop: SHOP, apiVersion: '2026-10' },
    {
      id: 'wt-sq',
      type: 'tillwire-square-config',
      environment: 'custom',
      baseUrl: sqBaseUrl,
      locationIds: 'L-LDN',
      merchantId: SQUARE_MERCHANT,
      mode: 'sale',
      skuMap: JSON.stringify(SquareSimulator.demoSkuMap(50)),
      ratePerSecond: 0,
      ...o.squareConfig,
    },
    {
      id: 'wt-shopify',
      type: 'tillwire-shopify-webhook',
      z: 'wt-tab',
      shopify: 'wt-shop',
      store: 'wt-store',
      path: SHOPIFY_PATH,
      wires: [['wt-file', 'wt-ack']],
      ...o.shopifyNode,
    },
    {
      id: 'wt-square',
      type: 'tillwire-square-webhook',
      z: 'wt-tab',
      square: 'wt-sq',
      store: 'wt-store',
      path: SQUARE_PATH,
      wires: [['wt-file', 'wt-ack']],
      ...o.squareNode,
    },
    { id: 'wt-ack', type: 'tillwire-ack', z: 'wt-tab', store: 'wt-store', wires: [[]] },
    ...(o.extraNodes ?? []).map((n) => ({ z: 'wt-tab', ...n })),
    {
      id: 'wt-file',
      type: 'file',
      z: 'wt-tab',
      filename: outFile,
      filenameType: 'str',
      appendNewline: true,
      createDir: true,
      overwriteFile: 'false',
      encoding: 'utf8',
      wires: [],
    },
  ];
}

/** Starts Node-RED with the webhook flow and deploys the credentials through the admin API. */
export async function startWebhookRuntime(o: RuntimeOptions = {}): Promise<WebhookRuntime> {
  const square = new SquareSimulator({ seed: 3, merchantId: SQUARE_MERCHANT, webhook: { retryDelaysMs: [] } });
  await square.start();
  const shopify = new ShopifySimulator({ shop: SHOP, appSecret: SHOPIFY_SECRET });
  const port = await freePort();
  const nodeRoot = String(o.settings?.httpNodeRoot ?? '/').replace(/\/+$/, '');
  const nodeBase = `http://127.0.0.1:${port}${nodeRoot}`;
  const notificationUrl = `${nodeBase}${SQUARE_PATH}`;
  const outDir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'tw-webhook-out-'));
  const outFile = path.join(outDir, 'received.jsonl');
  let nr: RunningNodeRed;
  try {
    nr = await startNodeRed({
      via: o.via ?? 'red',
      port,
      flows: webhookFlow(outFile, square.url, o),
      env: { TILLWIRE_DEMO: '0', ...o.env },
      settings: o.settings,
      nodeRedDefaults: o.nodeRedDefaults,
    });
  } catch (err) {
    await square.stop();
    throw err;
  }
  await deployCredentialsAndWait(nr, {
    'wt-shop': { webhookSecret: SHOPIFY_SECRET },
    'wt-sq': { accessToken: square.accessToken, signatureKey: square.webhook.signatureKey!, notificationUrl },
  });
  return {
    nr,
    shopify,
    square,
    notificationUrl,
    nodeBase,
    received: () =>
      fs.existsSync(outFile)
        ? fs
            .readFileSync(outFile, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l))
        : [],
    stop: async () => {
      await nr.stop();
      await square.stop();
      fs.rmSync(outDir, { recursive: true, force: true });
    },
  };
}

export interface Delivery {
  body: string;
  headers: Record<string, string>;
}

/** A Shopify delivery with every header Shopify sends, signed over the exact body. */
export function shopifyDelivery(topic: string, payload: unknown, over: Record<string, string> = {}, secret = SHOPIFY_SECRET): Delivery {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-shopify-topic': topic,
      'x-shopify-hmac-sha256': hmacSha256Base64(secret, body),
      'x-shopify-shop-domain': SHOP,
      'x-shopify-event-id': crypto.randomUUID(),
      'x-shopify-webhook-id': crypto.randomUUID(),
      'x-shopify-triggered-at': new Date().toISOString(),
      'x-shopify-api-version': '2026-10',
      ...over,
    },
  };
}

/** A Square delivery signed over notification URL + body, as Square signs. */
export function squareDelivery(rt: WebhookRuntime, event: unknown, over: Record<string, string> = {}): Delivery {
  const body = typeof event === 'string' ? event : JSON.stringify(event);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-square-hmacsha256-signature': rt.square.sign(body, rt.notificationUrl),
      'square-environment': 'Sandbox',
      'square-initial-delivery-timestamp': new Date().toISOString(),
      ...over,
    },
  };
}

export interface Answer {
  status: number;
  text: string;
  ms: number;
}

/** POSTs a delivery with a deadline: a request that is never answered fails the test at once. */
export async function post(url: string, d: Delivery, timeoutMs = 5000): Promise<Answer> {
  const t0 = Date.now();
  const res = await fetch(url, { method: 'POST', headers: d.headers, body: d.body, signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, text: await res.text(), ms: Date.now() - t0 };
}

/** Resolves once `predicate` holds (bounded), polling. */
export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The first good delivery: the store opens a moment after the deploy (503 until then). */
export async function postWhenReady(url: string, d: Delivery): Promise<Answer> {
  let last: Answer | undefined;
  await until(
    async () => {
      last = await post(url, d);
      // 404 while a deploy swaps the nodes (route not yet mounted), 503 until the store is open.
      return last.status !== 503 && last.status !== 404;
    },
    20_000,
    'the webhook route answering other than 404 or 503',
  );
  return last!;
}

/** The dead-letter entries of the runtime's store, through the admin API (what an operator lists). */
export async function deadLetters(rt: WebhookRuntime): Promise<Array<Record<string, any>>> {
  return ((await (await fetch(`${rt.nr.adminUrl}/tillwire/dead-letters?limit=500`)).json()) as any).entries;
}

/** Deploys `change(flows)` through the admin API, as the editor's Deploy button does. */
export async function deploy(
  rt: WebhookRuntime,
  change: (flows: Array<Record<string, any>>) => Array<Record<string, any>>,
  type: 'full' | 'nodes' | 'flows' = 'nodes',
): Promise<void> {
  const headers = { 'content-type': 'application/json', 'Node-RED-API-Version': 'v2' };
  const current = (await (await fetch(`${rt.nr.adminUrl}/flows`, { headers })).json()) as { rev: string; flows: Array<Record<string, any>> };
  const res = await fetch(`${rt.nr.adminUrl}/flows`, {
    method: 'POST',
    headers: { ...headers, 'Node-RED-Deployment-Type': type },
    body: JSON.stringify({ rev: current.rev, flows: change(current.flows) }),
  });
  if (!res.ok) throw new Error(`deploy failed: HTTP ${res.status} ${await res.text()}`);
}
