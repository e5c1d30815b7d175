/**
 * One till's messages in order (nodes/pos-mqtt/till-lanes.ts): an entry whose processing failed
 * holds its till's lane until its retry succeeds or it is given up; other tills go on meanwhile.
 */
import { TillLanes } from '../../nodes/pos-mqtt/till-lanes';

const tick = () => new Promise((r) => setImmediate(r));

it("a failed entry holds its till until its retry succeeds; the till's later entries then follow in order; another till goes on meanwhile", async () => {
  const lanes = new TillLanes();
  const done: string[] = [];
  let failFirst = true;
  const work = (name: string) => async () => {
    if (name === 'T1:1' && failFirst) {
      failFirst = false;
      throw new Error('store busy');
    }
    done.push(name);
  };
  const first = lanes.run('T1', 'e1', work('T1:1'));
  const later = [lanes.run('T1', 'e2', work('T1:2')), lanes.run('T1', 'e3', work('T1:3'))];
  const other = lanes.run('T2', 'e4', work('T2:1'));
  await expect(first).rejects.toThrow('store busy');
  await other;
  for (let i = 0; i < 5; i++) await tick();
  expect(done).toEqual(['T2:1']); // T1's later entries wait behind the failed one
  expect(lanes.held).toBe(1);
  await lanes.run('T1', 'e1', work('T1:1')); // the inbox's retry of e1: runs at once
  await Promise.all(later);
  expect(done).toEqual(['T2:1', 'T1:1', 'T1:2', 'T1:3']);
  expect(lanes.held).toBe(0);
});

it('a retry that fails again keeps the lane held; giving the entry up lets the lane go on', async () => {
  const lanes = new TillLanes();
  const done: string[] = [];
  const failing = async () => {
    throw new Error('poison');
  };
  await expect(lanes.run('T1', 'e1', failing)).rejects.toThrow('poison');
  const next = lanes.run('T1', 'e2', async () => void done.push('T1:2'));
  await expect(lanes.run('T1', 'e1', failing)).rejects.toThrow('poison');
  for (let i = 0; i < 5; i++) await tick();
  expect(done).toEqual([]);
  lanes.release('e1'); // given up to the dead-letter store
  await next;
  expect(done).toEqual(['T1:2']);
});

it('closing lets every held lane go on', async () => {
  const lanes = new TillLanes();
  await expect(lanes.run('T1', 'e1', () => Promise.reject(new Error('x')))).rejects.toThrow();
  await expect(lanes.run('T2', 'e2', () => Promise.reject(new Error('y')))).rejects.toThrow();
  const behind = [lanes.run('T1', 'e3', async () => undefined), lanes.run('T2', 'e4', async () => undefined)];
  expect(lanes.held).toBe(2);
  lanes.releaseAll();
  await Promise.all(behind);
  expect(lanes.held).toBe(0);
});
