// Jest's order (slowest first, from the last run's timings), with the suites that share the
// operator's `cdk synth` (test/support/synthesised-app.ts) arranged around it: the synth test,
// which runs it, starts first; the suite that runs its bundles starts once a third of the
// others have, late enough to find it (nearly) done, early enough not to be the run's tail (a worker waiting
// for it costs no CPU: the synth and the other workers keep both cores busy meanwhile).
import Sequencer from '@jest/test-sequencer';

const FIRST = ['test/quality/cdk-synth.test.ts'];
const AFTER_A_THIRD = ['test/quality/bundles.test.ts'];

const isOneOf = (paths) => (test) => paths.some((path) => test.path.endsWith(path));

export default class SharedSynthSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const first = sorted.filter(isOneOf(FIRST));
    const later = sorted.filter(isOneOf(AFTER_A_THIRD));
    const others = sorted.filter((test) => !first.includes(test) && !later.includes(test));
    const third = Math.ceil(others.length / 3);
    return [...first, ...others.slice(0, third), ...later, ...others.slice(third)];
  }
}
