/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // Node-RED runtimes, brokers and databases are shared machine resources: keep workers few.
  maxWorkers: 2,
  testTimeout: 30000,
};
