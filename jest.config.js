'use strict';
/**
 * Jest runs the TypeScript sources directly through ts-jest (type-checked
 * against tsconfig.json). Suites under test/ start their own tgtd through
 * test/harness/tgtd.ts, so the worker count stays at 2 to share the
 * machine's two cores with the targets.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  },
  moduleFileExtensions: ['ts', 'js', 'json', 'node'],
  testTimeout: 60000,
  maxWorkers: 2,
};
