/**
 * HTTP calls into a test flow's own `http in` routes on a real Node-RED, and waiting for what the flow
 * recorded: `call` GETs (no body) or POSTs JSON (or, `raw`, the body as text/plain: what a flow gets
 * from a body it did not parse) and fails with the runtime's last output; `until` polls a condition
 * and, when it is not reached in time, fails with what the flow's `/seen` route shows; `untilSeen`
 * polls `/seen` itself until `check` holds of it, and resolves with it.
 */
import type { RunningNodeRed } from './node-red-process';

export interface FlowCallOptions {
  /** Per call (default 30 s). */
  callTimeoutMs?: number;
  /** Default wait of `until` (default 30 s). */
  untilTimeoutMs?: number;
}

/** `red` is read at each call: suites start Node-RED in beforeAll. */
export function flowCalls(red: () => RunningNodeRed, o: FlowCallOptions = {}) {
  async function call(route: string, body?: unknown, raw = false): Promise<any> {
    const res = await fetch(`${red().url}${route}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': raw ? 'text/plain' : 'application/json' },
      body: body === undefined ? undefined : raw ? String(body) : JSON.stringify(body),
      signal: AbortSignal.timeout(o.callTimeoutMs ?? 30_000),
    });
    if (!res.ok) throw new Error(`${route} answered ${res.status}: ${await res.text()}\n${red().output().slice(-2000)}`);
    return res.json();
  }

  async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = o.untilTimeoutMs ?? 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > end) throw new Error(`${what}: not reached; seen ${JSON.stringify(await call('/seen')).slice(0, 3000)}\n${red().output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function untilSeen(what: string, check: (seen: any) => boolean, timeoutMs = o.untilTimeoutMs ?? 30_000): Promise<any> {
    let seen: any;
    await until(what, async () => check((seen = await call('/seen'))), timeoutMs);
    return seen;
  }

  return { call, until, untilSeen };
}
