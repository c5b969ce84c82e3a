import { afterEach, describe, expect, it } from '@jest/globals';
import { buyMachine, type Harness, startHarness } from '../support/harness.js';

/**
 * AWS's throttles, simulated in the local clients (lambdas/local/aws-limits): a call that stays
 * throttled ends, bounded, in the money's right outcome; a call throttled for a while is
 * retried until it gets through. The SDK's own backoff runs in real time, so these runs give
 * the local clients two attempts instead of the deployed five.
 */
describe('leases under AWS throttling', () => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it('a launch that stays throttled (RequestLimitExceeded) ends as a failed lease, refunded, and no instance', async () => {
    harness = await startHarness({
      awsLimits: {
        sdkMaxAttempts: 2,
        ec2: { buckets: { RunInstances: { capacity: 0, refillPerSecond: 0 } } },
      },
    });
    const bought = await buyMachine(harness);
    const machine = await harness.waitForStatus(bought.machineId, bought.tokens.read_token, [
      'failed',
    ]);
    expect(String(machine.body.failure_reason)).toContain('RequestLimitExceeded');
    await harness.fleet.workflow.execution(bought.machineId)?.done;
    const order = await harness.storefront.orders.get(bought.orderId, new Date());
    expect(order?.refund?.status).toBe('refunded');
    expect(harness.fleet.ec2.running()).toEqual([]);
    // The launch step's SDK client tried twice per invocation, and the state machine's
    // LaunchThrottled retrier invoked it again a bounded number of times.
    const refusedLaunches = harness.fleet.limitedEc2?.refused['RequestLimitExceeded:RunInstances'];
    expect(refusedLaunches).toBe(2 * 6);
  });

  it('a paid order whose StartExecution is throttled is answered 202 and its lease started later by the sweeper', async () => {
    harness = await startHarness({
      clockSpeedup: 60,
      sweepEveryMs: 250,
      awsLimits: {
        sdkMaxAttempts: 2,
        // One start now (the first order's), the next a few seconds later.
        stepFunctions: { startExecution: { capacity: 1, refillPerSecond: 0.3 } },
      },
    });
    await buyMachine(harness);
    const bought = await buyMachine(harness);
    expect(bought.reply.body.machine).toMatchObject({ status: 'provisioning' });
    expect(harness.log.entries.map((entry) => entry.event)).toContain('lease.start_deferred');
    await harness.waitForStatus(bought.machineId, bought.tokens.read_token, ['active'], 30_000);
    expect(harness.fleet.workflow.execution(bought.machineId)?.status).toBe('running');
  });
});
