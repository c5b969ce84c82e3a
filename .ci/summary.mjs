// Prints "N passed, N failed" from Jest's --json output. Suites that could not run count
// as failures; a missing results file means nothing ran, which is one failure.
import { existsSync, readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'reports/jest-results.json';
if (!existsSync(file)) {
  console.info('0 passed, 1 failed');
  process.exit(1);
}
const results = JSON.parse(readFileSync(file, 'utf8'));
const brokenSuites = results.testResults.filter(
  (suite) => suite.status === 'failed' && suite.assertionResults.length === 0,
).length;
const failed = results.numFailedTests + brokenSuites;
console.info(`${results.numPassedTests} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
