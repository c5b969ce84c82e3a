import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keptClock } from '../../lambdas/local/kept-clock.js';

const START = Date.parse('2026-11-29T10:00:00.000Z');

describe("the local storefront's clock kept in its data directory", () => {
  const directory = () => join(mkdtempSync(join(tmpdir(), 'kept-clock-')), 'data');
  let real = START;
  const realNow = () => real;
  beforeEach(() => {
    real = START;
  });

  it('is real time at 1× on a fresh directory', () => {
    const clock = keptClock(directory(), 1, realNow);
    expect(clock.now().getTime()).toBe(START);
    real += 5_000;
    expect(clock.now().getTime()).toBe(START + 5_000);
  });

  it('goes on across a restart at its speed, the stopped time included, instead of falling back to real time', () => {
    const dataDirectory = directory();
    const first = keptClock(dataDirectory, 60, realNow);
    real += 10_000;
    expect(first.now().getTime()).toBe(START + 600_000);
    real += 2_000; // stopped for 2 s of real time
    const second = keptClock(dataDirectory, 60, realNow);
    expect(second.now().getTime()).toBe(START + 720_000);
    real += 1_000;
    expect(second.now().getTime()).toBe(START + 780_000);
  });

  it('never runs behind what it had reached when restarted at another speed', () => {
    const dataDirectory = directory();
    keptClock(dataDirectory, 60, realNow);
    real += 10_000;
    const slower = keptClock(dataDirectory, 1, realNow);
    expect(slower.now().getTime()).toBe(START + 600_000);
    real += 1_000;
    expect(slower.now().getTime()).toBe(START + 601_000);
  });
});
