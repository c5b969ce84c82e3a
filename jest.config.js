/** Jest runs the TypeScript sources as ES modules (mppx ships ESM only). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  setupFiles: ['<rootDir>/test/support/setup-env.ts'],
  testTimeout: 60_000,
  // Suites start HTTP servers, DynamoDB and state machine runs and close them; should one
  // ever be missed, the run must end with its results rather than hang CI until its limit.
  forceExit: true,
};
