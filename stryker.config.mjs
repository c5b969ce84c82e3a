// Mutation testing of the money paths (npm run mutation): every surviving mutant is a change
// to the code that moves money that no test notices. Reports land in reports/mutation/.
import baseJest from './jest.config.js';

/** The code that takes, settles, applies and gives back money, and the writes that guard it. */
export const MONEY_PATHS = [
  'lambdas/core/use-cases/place-order.ts',
  'lambdas/core/use-cases/settle-payment.ts',
  'lambdas/core/use-cases/extend-lease.ts',
  'lambdas/core/use-cases/conclude-extension.ts',
  'lambdas/core/use-cases/refund-failed-lease.ts',
  'lambdas/core/use-cases/sweep-payments.ts',
  'lambdas/adapters/dynamodb/order-store.ts',
  'lambdas/adapters/dynamodb/machine-store.ts',
  'lambdas/adapters/dynamodb/lease-lifecycle-store.ts',
  'lambdas/workflow/end-lease.ts',
  'lambdas/workflow/refund-lease.ts',
];

export default {
  mutate: process.env.MUTATE ? process.env.MUTATE.split(',') : MONEY_PATHS,
  testRunner: 'jest',
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  jest: {
    projectType: 'custom',
    config: {
      ...baseJest,
      // Only the fast suites that call the money paths directly: the use cases over
      // dynalite-backed stores and scripted ports (test/money-unit), the stores' conditional
      // writes (test/store), imported by one file (see it for why). The HTTP journeys
      // (test/http, test/money) cover the same lines through a whole local storefront, seconds
      // per test, and stay in `npm test`.
      testMatch: ['<rootDir>/test/mutation/money-paths.suite.ts'],
      maxWorkers: 1,
      testEnvironment: './test/mutation/stop-at-first-failure.environment.cjs',
      // These suites take milliseconds per test: a mutant that makes one hang fails it fast
      // instead of waiting out npm test's generous bound for the HTTP journeys.
      testTimeout: 5_000,
      // npm test's forceExit would end the test runner's process after every mutant, and
      // Stryker would start (and load Jest into) a new one for the next.
      forceExit: false,
    },
    enableFindRelatedTests: false,
  },
  coverageAnalysis: 'perTest',
  checkers: ['typescript'],
  // The checker type-checks the folders of the money paths and what they import (a fifth of
  // the whole project's type-checking time: no CDK app, no tests). A mutant that breaks only a
  // test's types is then run, as esbuild runs it, instead of being set aside. A file given in
  // MUTATE must lie in one of those folders (tsconfig.mutation.json).
  tsconfigFile: 'tsconfig.mutation.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  // The checker parses node_modules' declarations once instead of once per check, and starts
  // each check without the watch builder's debounce (test/mutation/typescript-for-checker.cjs):
  // about 3 s → 0.6 s a check, the same verdicts.
  checkerNodeArgs: ['--import', './test/mutation/checker-preload.mjs'],
  concurrency: 2,
  timeoutMS: 10_000,
  timeoutFactor: 3,
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['json', 'html', 'clear-text', 'progress'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  thresholds: { high: 90, low: 85, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
