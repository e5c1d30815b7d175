/**
 * Which Node-RED `npm start` and the tests run: 5 where the Node can run it, 4.1 on Node 20, or the
 * folder TILLWIRE_NODE_RED names; the reason is what `npm start` prints. And the heap ceiling it
 * starts Node-RED with.
 */
import path from 'node:path';
import { HEAP_CEILING_MIB, nodeAtLeast, nodeRedNodeArgs, nodeRedRuntime } from '../../scripts/node-red-runtime';
import { startNodeRed } from '../support/node-red-process';

const ROOT = path.resolve(__dirname, '../..');

it('runs Node-RED 5 on Node 22.9 and later, 4.1 before', () => {
  expect(nodeRedRuntime(ROOT, {}, '24.22.3')).toMatchObject({ version: '5.0.7', reason: 'Node 24.22.3 runs Node-RED 5' });
  expect(nodeRedRuntime(ROOT, {}, '22.9.0').version).toBe('5.0.7');
  const old = nodeRedRuntime(ROOT, {}, '22.8.1');
  expect(old.version).toMatch(/^4\.1\./);
  expect(old.reason).toBe('Node 22.8.1 is older than 22.9, which Node-RED 5 needs');
  expect(nodeRedRuntime(ROOT, {}, '20.20.2').redJs).toBe(path.join(ROOT, 'node_modules', 'node-red', 'red.js'));
});

it('TILLWIRE_NODE_RED names the folder explicitly', () => {
  const dir = path.join(ROOT, 'node_modules', 'node-red');
  expect(nodeRedRuntime(ROOT, { TILLWIRE_NODE_RED: dir }, '24.22.3')).toMatchObject({ dir, reason: 'TILLWIRE_NODE_RED' });
});

it('compares versions by number, not as text', () => {
  expect(nodeAtLeast('22.10.0', [22, 9])).toBe(true);
  expect(nodeAtLeast('3.0.0', [22, 9])).toBe(false);
  expect(nodeAtLeast('100.0.0', [22, 9])).toBe(true);
});

describe('the heap ceiling', () => {
  it('is added unless NODE_OPTIONS sets a heap size of its own', () => {
    expect(nodeRedNodeArgs({})).toEqual([`--max-old-space-size=${HEAP_CEILING_MIB}`]);
    expect(nodeRedNodeArgs({ NODE_OPTIONS: '--enable-source-maps' })).toEqual([`--max-old-space-size=${HEAP_CEILING_MIB}`]);
    expect(nodeRedNodeArgs({ NODE_OPTIONS: '--max-old-space-size=4096' })).toEqual([]);
    expect(nodeRedNodeArgs({ NODE_OPTIONS: '--max_old_space_size=256' })).toEqual([]);
  });

  it('npm start runs Node-RED with it, and Node-RED says so', async () => {
    const red = await startNodeRed({ via: 'npm-start', flows: [], env: { TILLWIRE_DEMO: '0', NODE_OPTIONS: '' } });
    try {
      const runtime = (await (await fetch(`${red.adminUrl}/tillwire/runtime`)).json()) as { heapLimitMiB: number };
      // V8's limit is the old-space ceiling plus its young generation (some tens of MiB).
      expect(runtime.heapLimitMiB).toBeGreaterThanOrEqual(HEAP_CEILING_MIB);
      expect(runtime.heapLimitMiB).toBeLessThan(HEAP_CEILING_MIB + 128);
    } finally {
      await red.stop();
    }
  });
});
