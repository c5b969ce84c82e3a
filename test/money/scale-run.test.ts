import { describe, expect, it } from '@jest/globals';
import { benchScale } from '../../bin/bench-scale.js';

/**
 * The scale bench in small (`npm run bench -- --scale N` runs it at size): leases bought at
 * once under AWS limits made tight enough to bite (launches and starts throttled, a fifth of
 * launches without capacity, a hot partition at 40 writes a second). Whatever was throttled,
 * every payment ends as a machine or a refund, and no instance outlives its lease.
 */
describe('leases at once under tight AWS limits', () => {
  it('loses no money and leaves no instance running past its lease', async () => {
    const figures = await benchScale(20, {
      clockSpeedup: 40,
      ec2Timing: { bootMs: 5_000, readyMs: 5_000, shutdownMs: 5_000 },
      concurrency: 10,
      limits: {
        sdkMaxAttempts: 3,
        ec2: {
          buckets: {
            RunInstances: { capacity: 5, refillPerSecond: 10 },
            TerminateInstances: { capacity: 5, refillPerSecond: 10 },
            DescribeInstances: { capacity: 20, refillPerSecond: 200 },
          },
          insufficientCapacityShare: 0.2,
        },
        stepFunctions: { startExecution: { capacity: 5, refillPerSecond: 10 } },
        dynamodb: { writeUnitsPerPartitionPerSecond: 40, readUnitsPerPartitionPerSecond: 120 },
      },
    });
    expect(figures.scale_orders_paid).toBe(20);
    expect(figures.scale_machines_active + figures.scale_refunds_paid).toBe(20);
    expect(figures.scale_refunds_paid).toBe(figures.scale_refunds_owed);
    expect(figures.scale_money_lost).toBe(0);
    expect(figures.scale_instances_overdue).toBe(0);
    // A 15-minute lease holds 22.5 s at this clock; ordering and shutdown come on top.
  }, 180_000);
});
