/**
 * The sales benchmark's report figures (bench/sales-measure.ts) and its profile summary
 * (bench/cpu-profile.ts): ratios and rates as a reader wants them, and self time grouped by
 * module with native time counted for its caller, cut to a window of the profile's clock.
 */
import { ratioText, rateText, msText } from '../../bench/sales-measure';
import { hotFunctions, hotModules, moduleOf, type CpuProfile } from '../../bench/cpu-profile';

describe('sales report figures', () => {
  it('prints ratios to 2 significant digits below 1 and 3 above, never a float artefact', () => {
    expect(ratioText(0.37200000000000005)).toBe('0.37');
    expect(ratioText(286 / 769)).toBe('0.37');
    expect(ratioText(0.00833)).toBe('0.0083');
    expect(ratioText(2.954)).toBe('2.95');
    expect(ratioText(12.34)).toBe('12.3');
    expect(ratioText(47.9 / 47.7)).toBe('1.00');
    expect(ratioText(1234.5)).toBe('1235');
    expect(ratioText(0.3)).toBe('0.30');
    expect(ratioText(NaN)).toBe('–');
  });

  it('prints sales/s whole from 100 and with one decimal below; ms likewise', () => {
    expect(rateText(267.93)).toBe('268');
    expect(rateText(32165.3)).toBe('32,165');
    expect(rateText(27.44)).toBe('27.4');
    expect(rateText(undefined)).toBe('–');
    expect(msText(152323.9)).toBe('152,324');
    expect(msText(87.46)).toBe('87.5');
  });
});

describe('profile summary', () => {
  // root → handler (Tillwire) → run (native better-sqlite3 call); root → fetch (undici); idle; GC
  const profile: CpuProfile = {
    startTime: 1_000,
    endTime: 1_000 + 6_000,
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 4, 5, 6] },
      { id: 2, callFrame: { functionName: 'handler', url: 'file:///p/dist/nodes/runtime/sqlite-engine.js', lineNumber: 9 }, children: [3] },
      { id: 3, callFrame: { functionName: 'run', url: '', lineNumber: -1 } },
      { id: 4, callFrame: { functionName: 'fetch', url: 'node:internal/deps/undici/undici', lineNumber: 0 } },
      { id: 5, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
      { id: 6, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } },
    ],
    // one sample each 1,000 µs: run, run, fetch, idle, GC, run
    samples: [3, 3, 4, 5, 6, 3],
    timeDeltas: [1_000, 1_000, 1_000, 1_000, 1_000, 1_000],
  };

  it('names packages, Node.js core areas and Tillwire folders', () => {
    expect(moduleOf('file:///x/node_modules/@node-red/runtime/lib/flows/Flow.js')).toBe('Node-RED runtime');
    expect(moduleOf('file:///x/node_modules/mqtt-packet/parser.js')).toBe('mqtt.js');
    expect(moduleOf('file:///x/node_modules/better-sqlite3/lib/methods/wrappers.js')).toBe('better-sqlite3');
    expect(moduleOf('node:internal/deps/undici/undici')).toBe('undici (fetch)');
    expect(moduleOf('node:_http_client')).toBe('Node.js core: http');
    expect(moduleOf('file:///x/dist/nodes/pos-mqtt/ingest.js')).toBe('Tillwire nodes/pos-mqtt');
  });

  it('counts native time for the module that called it and leaves idle time out of the shares', () => {
    const { modules, busyMs, idleMs } = hotModules(profile);
    // the last sample's time is unknown (no delta after it): 4 busy samples of 1 ms, 1 idle
    expect(busyMs).toBe(4);
    expect(idleMs).toBe(1);
    expect(modules).toEqual([
      { module: 'native, from Tillwire nodes/runtime', selfMs: 2, percent: 50 },
      { module: 'undici (fetch)', selfMs: 1, percent: 25 },
      { module: 'V8 garbage collector', selfMs: 1, percent: 25 },
    ]);
    const top = hotFunctions(profile, 1, '/p/', { busyOnly: true });
    expect(top).toEqual([{ name: 'run', where: 'native, from handler dist/nodes/runtime/sqlite-engine.js:10', selfMs: 2, percent: 50 }]);
  });

  it('keeps only the samples inside a window of the profile clock', () => {
    // samples fall at 2,000 … 7,000 µs; the window 3,500–5,500 holds the fetch (4,000) and idle (5,000)
    const { modules, busyMs, idleMs } = hotModules(profile, { window: { from: 3_500, to: 5_500 } });
    expect({ busyMs, idleMs }).toEqual({ busyMs: 1, idleMs: 1 });
    expect(modules.map((m) => m.module)).toEqual(['undici (fetch)']);
  });
});
