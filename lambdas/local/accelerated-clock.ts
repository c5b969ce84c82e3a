import type { Clock } from '../core/ports.js';

/**
 * A clock that runs `speedup` times faster than real time from the moment it is made.
 * The fast local storefront uses it everywhere (API, workflow steps, simulated EC2) while
 * the lease holds sleep 1/speedup of their time, so a 15-minute lease ends in 15 s at 60×
 * with every timestamp and decision consistent.
 */
export function acceleratedClock(speedup: number, realNow: () => number = Date.now): Clock {
  const start = realNow();
  return { now: () => new Date(start + (realNow() - start) * speedup) };
}
