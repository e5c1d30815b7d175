import { InFlight } from '../../nodes/runtime/in-flight';

/** Callers that got past room(), in order. */
function enter(f: InFlight, n: number, passed: number[]): void {
  for (let i = 0; i < n; i++) void f.room().then(() => passed.push(i));
}
const tick = () => new Promise((r) => setImmediate(r));

describe('InFlight', () => {
  it('one freed slot lets exactly one waiting caller in, in arrival order', async () => {
    const f = new InFlight(2);
    const passed: number[] = [];
    enter(f, 5, passed);
    await tick();
    expect(passed).toEqual([0, 1]);
    f.add('a');
    f.release();
    f.add('b');
    f.release();
    await tick();
    expect(passed).toEqual([0, 1]);
    expect(f.size).toBe(2);
    f.finish('a');
    await tick();
    expect(passed).toEqual([0, 1, 2]);
    expect(f.size).toBe(2);
  });

  it('a reserved slot counts until released, and a release without an entry frees it', async () => {
    const f = new InFlight(1);
    const passed: number[] = [];
    enter(f, 2, passed);
    await tick();
    expect(passed).toEqual([0]);
    f.release(); // the first message was a repeat: no entry taken in
    await tick();
    expect(passed).toEqual([0, 1]);
  });

  it('limit 0 is unbounded; clear releases every waiter', async () => {
    const open = new InFlight(0);
    const passed: number[] = [];
    enter(open, 3, passed);
    await tick();
    expect(passed).toEqual([0, 1, 2]);
    const shut = new InFlight(1);
    const waiting: number[] = [];
    enter(shut, 3, waiting);
    await tick();
    shut.clear();
    await tick();
    expect(waiting).toEqual([0, 1, 2]);
  });
});
