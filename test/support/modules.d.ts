// node-red-node-test-helper ships no types; the tests use it through test/support/node-red.ts.
declare module 'node-red-node-test-helper';
