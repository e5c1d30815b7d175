/**
 * The slice of Node-RED's runtime API the Tillwire nodes use, typed here rather than through
 * @types/node-red (which describes the 1.x API). Thin on purpose: nodes only adapt (docs/architecture.md, Principles 7).
 */
export type NodeMessage = Record<string, any> & { _msgid?: string; payload?: unknown; topic?: string };

export type SendFn = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null> | null) => void;
export type DoneFn = (err?: Error) => void;

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  z?: string;
  [key: string]: unknown;
}

export interface RuntimeNode {
  id: string;
  type: string;
  z?: string;
  name?: string;
  credentials?: Record<string, string | undefined>;
  on(event: 'input', fn: (msg: NodeMessage, send: SendFn, done: DoneFn) => void): void;
  on(event: 'close', fn: (removed: boolean, done: () => void) => void): void;
  on(event: string, fn: (...args: any[]) => void): void;
  status(status: NodeStatus): void;
  send(msg: NodeMessage | Array<NodeMessage | null> | null): void;
  error(err: unknown, msg?: NodeMessage): void;
  warn(message: unknown): void;
  log(message: unknown): void;
}

export interface RequestLike {
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  body: any;
}
export interface ResponseLike {
  status(code: number): ResponseLike;
  json(body: unknown): void;
  send(body?: unknown): void;
}
type Handler = (req: RequestLike, res: ResponseLike, next?: () => void) => void;

export interface NodeRED {
  nodes: {
    createNode(node: object, def: NodeDef): void;
    registerType(type: string, ctor: (this: any, def: any) => void, opts?: { credentials?: Record<string, { type: 'text' | 'password' }> }): void;
    getNode(id: string): any;
    eachNode(fn: (def: NodeDef) => void): void;
    /** Replaces a node's credentials in the runtime (written to the credentials file with the next deploy). */
    addCredentials?(id: string, credentials: Record<string, unknown>): unknown;
  };
  httpAdmin: {
    get(path: string, ...handlers: Handler[]): void;
    post(path: string, ...handlers: Handler[]): void;
    put(path: string, ...handlers: Handler[]): void;
    delete(path: string, ...handlers: Handler[]): void;
  };
  auth: { needsPermission(permission: string): Handler };
  util: {
    prepareJSONataExpression(expr: string, node: object): any;
    evaluateJSONataExpression(expr: any, msg: NodeMessage, cb: (err: Error | null, value: unknown) => void): void;
    getMessageProperty(msg: NodeMessage, path: string): unknown;
    setMessageProperty(msg: NodeMessage, path: string, value: unknown, createMissing?: boolean): boolean;
  };
  settings: Record<string, any>;
  /** Runtime events ('flows:started' after every start and deploy). */
  events?: { on(event: string, fn: (...args: any[]) => void): void };
  log: { info(m: string): void; warn(m: string): void; error(m: string): void };
  _(key: string, subs?: Record<string, unknown>): string;
}
