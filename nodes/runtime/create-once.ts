/**
 * Creating a record exactly once in a system that has no idempotency keys (Odoo, Business
 * Central): the record carries our external reference (Odoo `client_order_ref` / `ref`, BC
 * `externalDocumentNumber`), and a create whose answer is lost or ambiguous (timeout, dropped
 * connection, 5xx) is never sent blindly again. The reference is looked up first; a create that
 * was committed is found there and not repeated; only when nothing is found is it sent again.
 * A failure that is not an unknown outcome (a refusal) ends it at once; the attempts are bounded.
 */
import { backoffMs, ConnectorError, RetryPolicy } from './http';
import { reportRetry } from './call-observer';

/** How a retry waits and shows itself (a `retry` call event, so a node's badge can tell). */
export interface RetryPause {
  system: string;
  operation: string;
  policy: RetryPolicy;
  random?: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** Waits the backoff after `attempt` failed with `err`, reporting the retry. */
export async function pauseBeforeRetry(pause: RetryPause, attempt: number, err: unknown): Promise<void> {
  const waitMs = backoffMs(attempt, pause.policy, pause.random);
  const e = err as Partial<ConnectorError>;
  reportRetry({ system: pause.system, operation: pause.operation, attempt, waitMs }, e);
  await pause.sleep(waitMs);
}

export interface CreateOnceSteps<Found, Prepared, Created> {
  /** The record(s) carrying the external reference, or undefined when there is none. */
  lookup: () => Promise<Found | undefined>;
  /** Look up before the first create too (false when the caller has just looked). */
  lookupFirst: boolean;
  /** Work done once before the first create (e.g. mapping); its errors end the call as they are. */
  prepare?: () => Promise<Prepared>;
  /** The create, sent once per attempt with no retry of its own. */
  create: (prepared: Prepared) => Promise<Created>;
  /** True when a create's failure leaves its outcome unknown: look up, then maybe send it again. */
  outcomeUnknown: (err: unknown) => boolean;
  pause: RetryPause;
}

export type CreateOnceResult<Found, Created> =
  /** This call's create answered. `afterLostAnswer`: an earlier attempt's answer was lost, so a late twin may exist. */
  | { created: Created; afterLostAnswer: boolean }
  /** The lookup found the record: made earlier, or (`afterLostAnswer`) by an attempt whose answer was lost. */
  | { found: Found; afterLostAnswer: boolean };

export async function createOnce<Found, Prepared, Created>(steps: CreateOnceSteps<Found, Prepared, Created>): Promise<CreateOnceResult<Found, Created>> {
  let prepared: { value: Prepared } | undefined;
  for (let attempt = 1; ; attempt++) {
    const afterLostAnswer = attempt > 1;
    if (afterLostAnswer || steps.lookupFirst) {
      const found = await steps.lookup();
      if (found !== undefined) return { found, afterLostAnswer };
    }
    prepared ??= { value: steps.prepare ? await steps.prepare() : (undefined as Prepared) };
    try {
      return { created: await steps.create(prepared.value), afterLostAnswer };
    } catch (err) {
      if (!steps.outcomeUnknown(err)) throw err;
      if (attempt >= steps.pause.policy.maxAttempts) throw err instanceof ConnectorError ? err.with({ attempts: attempt }) : err;
      await pauseBeforeRetry(steps.pause, attempt, err);
    }
  }
}
