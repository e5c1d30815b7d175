import { createOnce, CreateOnceSteps } from '../../nodes/runtime/create-once';
import { observeCalls, CallEvent } from '../../nodes/runtime/call-observer';
import { ConnectorError } from '../../nodes/runtime/http';

const lost = () => new ConnectorError('erp', 'create', 'no answer (timeout)', { status: 504, retryable: true });
const refused = () => new ConnectorError('erp', 'create', 'invalid value', { status: 400, retryable: false });

/** An ERP holding records by external reference; `answers` says what each create's caller sees. */
function erp(answers: Array<'ok' | 'lost-committed' | 'lost-not-committed' | 'refused'>) {
  const records: string[] = [];
  const calls: string[] = [];
  let n = 0;
  const steps = (over: Partial<CreateOnceSteps<string[], string, string>> = {}): CreateOnceSteps<string[], string, string> => ({
    lookup: async () => {
      calls.push('lookup');
      return records.length ? [...records] : undefined;
    },
    lookupFirst: false,
    prepare: async () => {
      calls.push('prepare');
      return 'values';
    },
    create: async (values) => {
      calls.push(`create(${values})`);
      const answer = answers[n++] ?? 'ok';
      if (answer === 'refused') throw refused();
      if (answer !== 'lost-not-committed') records.push(`rec${n}`);
      if (answer !== 'ok') throw lost();
      return `rec${n}`;
    },
    outcomeUnknown: (err) => err instanceof ConnectorError && err.retryable,
    pause: {
      system: 'erp',
      operation: 'create',
      policy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100 } as never,
      random: () => 0.5,
      sleep: async () => {},
    },
    ...over,
  });
  return { records, calls, steps };
}

describe('createOnce', () => {
  it('answer lost but the create committed: the lookup finds it and no second create is sent', async () => {
    const e = erp(['lost-committed']);
    const out = await createOnce(e.steps());
    expect(out).toEqual({ found: ['rec1'], afterLostAnswer: true });
    expect(e.calls).toEqual(['prepare', 'create(values)', 'lookup']);
    expect(e.records).toEqual(['rec1']);
  });

  it('answer lost and nothing committed: the lookup finds nothing, so the create is sent again (prepared once)', async () => {
    const e = erp(['lost-not-committed', 'ok']);
    const out = await createOnce(e.steps());
    expect(out).toEqual({ created: 'rec2', afterLostAnswer: true });
    expect(e.calls).toEqual(['prepare', 'create(values)', 'lookup', 'create(values)']);
    expect(e.records).toEqual(['rec2']);
  });

  it('a refusal is not retried and nothing is looked up', async () => {
    const e = erp(['refused']);
    await expect(createOnce(e.steps())).rejects.toThrow(/invalid value/);
    expect(e.calls).toEqual(['prepare', 'create(values)']);
  });

  it('attempts are bounded: after maxAttempts lost answers the last error is thrown, naming the attempts', async () => {
    const e = erp(['lost-not-committed', 'lost-not-committed', 'lost-not-committed', 'ok']);
    const err: ConnectorError = await createOnce(e.steps()).catch((x) => x);
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.details.attempts).toBe(3);
    expect(err.message).toMatch(/after 3 attempts/);
    expect(e.calls.filter((c) => c.startsWith('create'))).toHaveLength(3);
    expect(e.records).toEqual([]);
  });

  it('lookupFirst: a record already there is returned without preparing or creating', async () => {
    const e = erp([]);
    e.records.push('earlier');
    const out = await createOnce(e.steps({ lookupFirst: true }));
    expect(out).toEqual({ found: ['earlier'], afterLostAnswer: false });
    expect(e.calls).toEqual(['lookup']);
  });

  it('an error while preparing ends the call as it is, even a retryable one (nothing was sent)', async () => {
    const e = erp([]);
    const steps = e.steps({ prepare: async () => Promise.reject(lost()) });
    await expect(createOnce(steps)).rejects.toThrow(/no answer/);
    expect(e.calls).toEqual([]);
  });

  it('each retry is reported to the observer with the backoff it waits', async () => {
    const e = erp(['lost-not-committed', 'ok']);
    const slept: number[] = [];
    const events: CallEvent[] = [];
    const steps = e.steps();
    steps.pause.sleep = async (ms) => void slept.push(ms);
    await observeCalls(
      (ev) => events.push(ev),
      () => createOnce(steps),
    );
    expect(slept).toEqual([5]);
    expect(events).toEqual([{ type: 'retry', system: 'erp', operation: 'create', attempt: 1, waitMs: 5, kind: lost().kind, status: 504 }]);
  });
});
