// Jest's order with the long suites first, named here because a fresh machine (CI) has no
// timings from a last run for Jest to sort by; then Jest's own order. The suites that share
// the operator's `cdk synth` (test/support/synthesised-app.ts) are arranged around it: the
// synth test, which runs it, starts first; the suite that runs its bundles starts once a
// third of the others have, late enough to find it (nearly) done, early enough not to be the
// run's tail (a worker waiting for it costs no CPU: the synth and the other workers keep both
// cores busy meanwhile).
import Sequencer from '@jest/test-sequencer';

const FIRST = ['test/quality/cdk-synth.test.ts'];
/** Longest first, as measured (README "Tests"). */
const LONG = [
  'test/quality/cfn-lint.test.ts',
  'test/money/scale-run.test.ts',
  'test/workflow/lease-lifecycle.test.ts',
  'test/workflow/fault-injection.test.ts',
  'test/http/restart-after-kill.test.ts',
  'test/quality/static-checks.test.ts',
  'test/cdk/nag.test.ts',
  'test/workflow/throttled-leases.test.ts',
  'test/http/restart.test.ts',
];
const AFTER_A_THIRD = ['test/quality/bundles.test.ts'];

const isOneOf = (paths) => (test) => paths.some((path) => test.path.endsWith(path));
const rank = (test) => LONG.findIndex((path) => test.path.endsWith(path));

export default class SharedSynthSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const first = sorted.filter(isOneOf(FIRST));
    const long = sorted.filter(isOneOf(LONG)).sort((a, b) => rank(a) - rank(b));
    const later = sorted.filter(isOneOf(AFTER_A_THIRD));
    const rest = sorted.filter(
      (test) => !first.includes(test) && !long.includes(test) && !later.includes(test),
    );
    const others = [...long, ...rest];
    const third = Math.ceil(others.length / 3);
    return [...first, ...others.slice(0, third), ...later, ...others.slice(third)];
  }
}
