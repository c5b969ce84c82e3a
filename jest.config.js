/** Jest runs the TypeScript sources as ES modules (mppx ships ESM only). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // The same validation, once per definition per test file (see the file).
    '^asl-validator$': '<rootDir>/test/support/asl-validator-once.cjs',
  },
  transform: {
    '^.+\\.ts$': '<rootDir>/test/support/esbuild-transformer.cjs',
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  setupFiles: ['<rootDir>/test/support/setup-env.ts'],
  // One directory per run where workers share what is built once (synthesised stacks).
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  testSequencer: '<rootDir>/test/support/sequencer.mjs',
  // Jest's default on 2 cores is one worker, in band. Most suites spend much of their time
  // waiting (on child processes, servers, the lease clock), so three keep both cores busy.
  maxWorkers: 4,
  // Three workers share two cores (and other work on the machine): a generous bound, not a budget.
  testTimeout: 120_000,
  // Suites start HTTP servers, DynamoDB and state machine runs and close them; should one
  // ever be missed, the run must end with its results rather than hang CI until its limit.
  forceExit: true,
};
