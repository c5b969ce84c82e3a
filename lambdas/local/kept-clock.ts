import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../core/ports.js';

interface ClockOrigin {
  /** Real time (ms) at which the clock read `clock_ms`. */
  real_ms: number;
  clock_ms: number;
  speedup: number;
}

const readOrigin = (file: string): ClockOrigin | undefined => {
  if (!existsSync(file)) return undefined;
  try {
    const origin = JSON.parse(readFileSync(file, 'utf8')) as ClockOrigin;
    return [origin.real_ms, origin.clock_ms, origin.speedup].every(Number.isFinite)
      ? origin
      : undefined;
  } catch {
    return undefined;
  }
};

/**
 * The local storefront's clock, `speedup` times faster than real time, kept in the data
 * directory so that it goes on across restarts instead of starting again from real time:
 * every stored timestamp (lease ends, locks, deadlines) was written by this clock. Time keeps
 * running while the storefront is stopped, as it does for leases on AWS. At 1× on a
 * directory that never ran faster it is exactly real time.
 */
export function keptClock(
  dataDirectory: string,
  speedup: number,
  realNow: () => number = Date.now,
): Clock {
  mkdirSync(dataDirectory, { recursive: true });
  const file = join(dataDirectory, 'clock.json');
  const previous = readOrigin(file);
  const real = realNow();
  const reading = previous
    ? previous.clock_ms + (real - previous.real_ms) * previous.speedup
    : real;
  // Never behind real time, and never behind what the previous run's clock had reached.
  const origin: ClockOrigin = { real_ms: real, clock_ms: Math.max(real, reading), speedup };
  writeFileSync(`${file}.new`, JSON.stringify(origin));
  renameSync(`${file}.new`, file);
  return { now: () => new Date(origin.clock_ms + (realNow() - origin.real_ms) * speedup) };
}
