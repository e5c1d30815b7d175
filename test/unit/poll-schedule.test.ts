/**
 * The schedule every polling node runs on (nodes/core/poll-schedule.ts), with scripted polls and
 * Jest's fake clock: a poll on start and `interval` after the previous one ended, one poll at a
 * time (a plain trigger shares the running poll, one that asks for more gets its own after it),
 * the first poll after `ready` (retried every 5 s), failures to the badge and Catch, and a close
 * that starts nothing, aborts the running poll and waits for it at most CLOSE_WAIT_MS.
 */
import { EventEmitter } from 'node:events';
import { CLOSE_WAIT_MS, READY_RETRY_MS, schedulePolls, type PollScheduleOptions } from '../../nodes/core/poll-schedule';
import { StatusBoard } from '../../nodes/core/node-kit';
import { PollStopped } from '../../nodes/runtime/poll-stopped';
import type { NodeMessage, RuntimeNode } from '../../nodes/core/node-red';

function fakeNode() {
  return Object.assign(new EventEmitter(), {
    id: 'n1',
    statuses: [] as Array<{ fill?: string; text?: string }>,
    errors: [] as Array<{ err: Error; msg?: NodeMessage }>,
    status(s: { fill?: string; text?: string }) {
      this.statuses.push(s);
    },
    error(err: Error, msg?: NodeMessage) {
      this.errors.push({ err, msg });
    },
  });
}

interface Call {
  asked?: string;
  signal: AbortSignal;
  finish: (value: string) => void;
  fail: (err: Error) => void;
}

/** A schedule whose polls are held until the test finishes or fails them. */
function scheduled(o: Partial<PollScheduleOptions<string, string>> = {}) {
  const node = fakeNode();
  const calls: Call[] = [];
  const polls = schedulePolls<string, string>(node as unknown as RuntimeNode, new StatusBoard(node as unknown as RuntimeNode), {
    poll: (signal, asked) =>
      new Promise<string>((finish, fail) => {
        calls.push({ asked, signal, finish, fail });
      }),
    intervalMs: 1000,
    enabled: true,
    topic: 'test.poll',
    ...o,
  });
  let closed = false;
  const close = () => {
    const done = new Promise<void>((resolve) => node.emit('close', false, resolve));
    void done.then(() => (closed = true));
    return { isDone: () => closed, done };
  };
  return { node, calls, polls, close };
}

/** Lets the microtasks (settled promises) run without moving the clock. */
const settle = () => jest.advanceTimersByTimeAsync(0);

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('the poll schedule (core/poll-schedule.ts)', () => {
  it('polls on start, then `interval` after the previous poll ended: never during a slow poll, never at once after it', async () => {
    const { calls, close } = scheduled({ intervalMs: 1000 });
    await settle();
    expect(calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(5500); // a poll five and a half intervals long
    expect(calls).toHaveLength(1);
    calls[0].finish('first');
    await jest.advanceTimersByTimeAsync(999);
    expect(calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
    calls[1].finish('second');
    await close().done;
  });

  it('runs one poll at a time: plain triggers share the running poll; one that asks for more gets its own after it, with what it asked', async () => {
    const { calls, polls, close } = scheduled({ intervalMs: 0 });
    const plain = [polls.now(), polls.now()];
    const backfill = polls.now('2026-11-01');
    await settle();
    expect(calls.map((c) => c.asked)).toEqual([undefined]);
    calls[0].finish('shared');
    await expect(Promise.all(plain)).resolves.toEqual(['shared', 'shared']);
    await settle();
    expect(calls.map((c) => c.asked)).toEqual([undefined, '2026-11-01']);
    const joining = polls.now(); // a plain trigger now shares the backfill
    calls[1].finish('backfill');
    await expect(backfill).resolves.toBe('backfill');
    await expect(joining).resolves.toBe('backfill');
    expect(calls).toHaveLength(2);
    await close().done;
  });

  it('hands what a scheduled poll gave to onScheduled; a triggered poll gives it to its caller only', async () => {
    const given: string[] = [];
    const { calls, polls, close } = scheduled({ onScheduled: (r) => given.push(r) });
    await settle();
    calls[0].finish('on start');
    await settle();
    expect(given).toEqual(['on start']);
    const asked = polls.now('more');
    await settle();
    calls[1].finish('asked');
    await expect(asked).resolves.toBe('asked');
    expect(given).toEqual(['on start']);
    await close().done;
  });

  it('a failed poll turns the badge red; a scheduled one reaches Catch with a message, a triggered one is thrown; PollStopped is no failure', async () => {
    const { node, calls, polls, close } = scheduled({
      describeFailure: (err) => ({ error: new Error(`described: ${(err as Error).message}`), text: `failed: ${(err as Error).message}` }),
    });
    await settle();
    calls[0].fail(new Error('HTTP 503'));
    await settle();
    expect(node.statuses.at(-1)).toEqual({ fill: 'red', shape: 'ring', text: 'failed: HTTP 503' });
    expect(node.errors).toHaveLength(1);
    expect(node.errors[0].err.message).toBe('described: HTTP 503');
    expect(node.errors[0].msg).toEqual({ topic: 'test.poll', payload: { error: 'described: HTTP 503' } });

    const triggered = polls.now();
    await settle();
    const auth = new Error('HTTP 401');
    calls[1].fail(auth);
    await expect(triggered).rejects.toBe(auth);
    expect(node.statuses.at(-1)).toMatchObject({ fill: 'red', text: 'failed: HTTP 401' });
    expect(node.errors).toHaveLength(1);

    const stopped = polls.safely();
    await settle();
    calls[2].fail(new PollStopped());
    await stopped;
    expect(node.errors).toHaveLength(1);
    expect(node.statuses.at(-1)).toMatchObject({ text: 'failed: HTTP 401' });
    await close().done;
  });

  it('the first poll waits for ready, which is tried again every 5 s while it fails; ready runs even with no interval', async () => {
    let tries = 0;
    const ready = async () => {
      if (++tries < 3) throw new Error('store not open yet');
    };
    const { calls, close } = scheduled({ ready });
    await settle();
    expect([tries, calls.length]).toEqual([1, 0]);
    await jest.advanceTimersByTimeAsync(READY_RETRY_MS - 1);
    expect(tries).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect([tries, calls.length]).toEqual([2, 0]);
    await jest.advanceTimersByTimeAsync(READY_RETRY_MS);
    expect([tries, calls.length]).toEqual([3, 1]);
    calls[0].finish('done');
    await close().done;

    let opened = 0;
    const manual = scheduled({ intervalMs: 0, ready: async () => void opened++ });
    await jest.advanceTimersByTimeAsync(10_000);
    expect([opened, manual.calls.length]).toEqual([1, 0]);
    await manual.close().done;
  });

  it('a close aborts the running poll, waits for it at most CLOSE_WAIT_MS, then runs afterClose; nothing polls after it', async () => {
    const order: string[] = [];
    const { node, calls, polls, close } = scheduled({ onClose: () => order.push('onClose'), afterClose: async () => void order.push('afterClose') });
    await settle();
    const queued = polls.now('more'); // waits behind the running poll; must never start
    const closing = close();
    expect(calls[0].signal.aborted).toBe(true);
    expect(order).toEqual(['onClose']);
    await jest.advanceTimersByTimeAsync(CLOSE_WAIT_MS - 1);
    expect(closing.isDone()).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(closing.isDone()).toBe(true);
    expect(order).toEqual(['onClose', 'afterClose']);
    // The poll that outlived the wait fails late: not reported, no red badge.
    const before = node.statuses.length;
    calls[0].fail(new Error('aborted'));
    await expect(queued).rejects.toBeInstanceOf(PollStopped);
    await expect(polls.now()).rejects.toBeInstanceOf(PollStopped);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(1);
    expect(node.errors).toEqual([]);
    expect(node.statuses).toHaveLength(before);
  });

  it('a close is done as soon as the running poll ends, within the wait', async () => {
    const { calls, close } = scheduled();
    await settle();
    const closing = close();
    await jest.advanceTimersByTimeAsync(100);
    expect(closing.isDone()).toBe(false);
    calls[0].finish('ended at its next step');
    await settle();
    expect(closing.isDone()).toBe(true);
  });

  it('a disabled schedule (no usable connection) neither starts nor keeps a timer, but polls when asked', async () => {
    const { calls, polls, close } = scheduled({ enabled: false });
    await jest.advanceTimersByTimeAsync(10_000);
    expect(calls).toHaveLength(0);
    const asked = polls.now();
    await settle();
    calls[0].finish('asked');
    await expect(asked).resolves.toBe('asked');
    await jest.advanceTimersByTimeAsync(10_000);
    expect(calls).toHaveLength(1);
    await close().done;
  });
});
