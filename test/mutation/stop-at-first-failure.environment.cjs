// The Jest environment of `npm run mutation` only. Stryker needs one failing test to call a
// mutant killed, and Jest's own `bail` stops between files, never inside one: with every
// suite imported by one file (money-paths.suite.ts), a killed mutant would otherwise run
// every test that covers it. After the first failure, the tests and describe blocks still to
// come are skipped (their beforeAll hooks included). In the dry run nothing fails, so every
// test runs and its coverage is recorded.
const { TestEnvironment } = require('jest-environment-node');

class StopAtFirstFailure extends TestEnvironment {
  failed = false;

  async handleTestEvent(event) {
    if (event.name === 'test_fn_failure' || event.name === 'hook_failure') this.failed = true;
    if (!this.failed) return;
    if (event.name === 'run_describe_start') event.describeBlock.mode = 'skip';
    if (event.name === 'test_start') event.test.mode = 'skip';
  }
}

module.exports = StopAtFirstFailure;
