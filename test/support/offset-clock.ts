import type { Clock } from '../../lambdas/core/ports.js';

/** Real time, plus jumps the test makes: everything keeps moving, and hours can pass at once. */
export function offsetClock(): Clock & { jump(ms: number): void } {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    jump: (ms) => {
      offset += ms;
    },
  };
}
