// `npm run test:chaos`: the reliability suite (test/chaos/*.chaos.test.ts). Same transform as the
// main suite, one file at a time (each starts its own servers, dependency instances and load, and
// they would starve each other on a small machine), and a report of every fault and bad-input
// class tried (test/chaos/support/chaos-report.ts) printed and written at the end.
import base from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  testMatch: ['<rootDir>/test/chaos/**/*.chaos.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/.tools/', '/dist/'],
  globalSetup: '<rootDir>/test/chaos/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/chaos/support/global-teardown.ts',
  maxWorkers: 1,
  testTimeout: 120_000,
};
