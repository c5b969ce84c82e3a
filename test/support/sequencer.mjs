// Jest's order (slowest first, from the last run's timings), with the suites that share the
// operator's `cdk synth` (test/support/synthesised-app.ts) arranged around it: the synth test,
// which runs it, starts first; the suites that read it wait until half the run has started,
// so that they find it done instead of holding a worker while it bundles.
import Sequencer from '@jest/test-sequencer';

const FIRST = ['test/quality/cdk-synth.test.ts'];
const AFTER_HALF = ['test/quality/bundles.test.ts', 'test/quality/cfn-lint.test.ts'];

const isOneOf = (paths) => (test) => paths.some((path) => test.path.endsWith(path));

export default class SharedSynthSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const first = sorted.filter(isOneOf(FIRST));
    const later = sorted.filter(isOneOf(AFTER_HALF));
    const others = sorted.filter((test) => !first.includes(test) && !later.includes(test));
    const half = Math.ceil(others.length / 2);
    return [...first, ...others.slice(0, half), ...later, ...others.slice(half)];
  }
}
