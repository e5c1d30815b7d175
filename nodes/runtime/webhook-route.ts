/**
 * Webhook routes that receive their request's exact bytes, whatever is mounted in front of them.
 *
 * Node-RED serves its admin API and the HTTP nodes from one express app. When both sit at the same
 * root (Node-RED's default, and the product's settings), the admin app's JSON and form parsers read
 * every such request body before any node route runs: the stream is spent and a signature over the
 * raw bytes can no longer be checked. So, like Node-RED's own http-in node, this module puts one
 * small middleware at the very top of the root app's stack (once per app, at the first claim). It
 * reads the body of the POST routes Tillwire's webhook nodes have claimed, up to each route's
 * limit, into the request before any parser sees it. A node claims its route when it starts and
 * releases it when it closes; the route handler itself is mounted and removed here too.
 *
 * No Node-RED import: it only needs express's app shape (express 4 `_router`, express 5 `router`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBounded, type RawRead } from './raw-body';

/** Where the captured read is kept on the request. */
export const CAPTURED = Symbol.for('tillwire.webhook.capturedBody');

export type CapturedRequest = IncomingMessage & { [CAPTURED]?: RawRead };

type Handler = (req: any, res: ServerResponse, next?: (err?: unknown) => void) => void;
interface Layer {
  handle?: unknown;
  route?: { path?: string; methods?: Record<string, boolean>; stack?: Array<{ handle?: unknown }> };
}
/** The parts of an express app this module uses. */
export interface ExpressLike {
  (req: any, res: any, next?: any): void;
  use: (...args: any[]) => unknown;
  post: (path: string, ...handlers: Handler[]) => unknown;
  path?: () => string;
  parent?: ExpressLike;
  _router?: { stack: Layer[] };
  router?: { stack: Layer[] };
}

interface Claim {
  limit: number;
}

interface Capture {
  routes: Map<string, Claim[]>;
  middleware: Handler;
}

const captures = new WeakMap<object, Capture>();

function stackOf(app: ExpressLike): Layer[] | undefined {
  return app._router?.stack ?? app.router?.stack;
}

function rootOf(app: ExpressLike): ExpressLike {
  let a = app;
  while (a.parent && a.parent !== a) a = a.parent;
  return a;
}

/** Route keys compare like express matches by default: case-insensitive, trailing slash optional. */
export function routeKey(path: string): string {
  return (
    ('/' + path)
      .replace(/\/{2,}/g, '/')
      .replace(/\/$/, '')
      .toLowerCase() || '/'
  );
}

/** The path the client uses for `path` on `app`: its mount path (httpNodeRoot) before it. */
function fullPath(app: ExpressLike, path: string): string {
  const mount = typeof app.path === 'function' ? app.path() : '';
  return `${mount}/${path}`;
}

function captureFor(root: ExpressLike): Capture {
  let c = captures.get(root);
  if (c) return c;
  const routes = new Map<string, Claim[]>();
  const middleware: Handler = (req: CapturedRequest, _res, next) => {
    const claims = req.method === 'POST' ? routes.get(routeKey(String(req.url ?? '').split('?')[0])) : undefined;
    if (!claims?.length) return next!();
    void readBounded(req, claims[0].limit).then((read) => {
      req[CAPTURED] = read;
      // body-parser 1.x skips a request marked as parsed; 2.x skips a finished stream.
      (req as any)._body = true;
      next!();
    }, next);
  };
  root.use(middleware);
  // To the top: it must run before any parser another app (the admin API) put in front.
  const stack = stackOf(root);
  const i = stack?.findIndex((l) => l.handle === middleware) ?? -1;
  if (stack && i > 0) stack.unshift(stack.splice(i, 1)[0]);
  c = { routes, middleware };
  captures.set(root, c);
  return c;
}

export interface MountedWebhook {
  /** The path clients post to (the HTTP node root included). */
  readonly url: string;
  /** Removes the route and releases the capture of its body. */
  unmount(): void;
}

/**
 * Serves `handler` at POST `path` on `httpNode` with the raw body (at most `limit` bytes) captured
 * ahead of every other middleware. If a route with this path is already claimed, the first claim's
 * limit applies (express also dispatches to the first route).
 */
export function mountWebhook(httpNode: ExpressLike, path: string, limit: number, handler: Handler): MountedWebhook {
  const url = fullPath(httpNode, path).replace(/\/{2,}/g, '/');
  const key = routeKey(url);
  const capture = captureFor(rootOf(httpNode));
  const claim: Claim = { limit };
  capture.routes.set(key, [...(capture.routes.get(key) ?? []), claim]);
  httpNode.post(path, handler);
  let mounted = true;
  return {
    url,
    unmount() {
      if (!mounted) return;
      mounted = false;
      const left = (capture.routes.get(key) ?? []).filter((c) => c !== claim);
      if (left.length) capture.routes.set(key, left);
      else capture.routes.delete(key);
      const stack = stackOf(httpNode) ?? [];
      for (let i = stack.length - 1; i >= 0; i--) {
        const r = stack[i].route;
        if (r?.methods?.post && r.stack?.some((l) => l.handle === handler)) stack.splice(i, 1);
      }
    },
  };
}
