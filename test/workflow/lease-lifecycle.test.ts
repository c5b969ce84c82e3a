import { RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { INSTANCE_TAGS } from '../../lambdas/adapters/ec2/instance-tags.js';
import { uncheckedCapacity } from '../../lambdas/core/availability.js';
import { buyMachine, type Harness, orderBody, startHarness } from '../support/harness.js';
import { offsetClock } from '../support/offset-clock.js';
import { AGENT_KEY } from '../support/ssh-keys.js';
import { until } from '../support/until.js';

/**
 * The lease workflow as deployed: the synthesised state machine, run by
 * aws-local-stepfunctions with the real step handlers, the local DynamoDB and a simulated
 * EC2. Time runs 600× faster (a 15-minute lease lasts 1.5 s); simulated machines boot,
 * become ready and shut down in 6 s of that clock.
 */
const FAST = {
  clockSpeedup: 600,
  ec2Timing: { bootMs: 6_000, readyMs: 6_000, shutdownMs: 6_000 },
  // The callback wait (300 s of clock) would be 0.5 s of real time at 600×: on a busy machine
  // a callback can miss it. Tests that assert the callback path wait for the callback itself.
  workflowTiming: { pollMs: 10, retryMs: 5, readyWaitMs: 60_000 },
};
/** For the tests of the fallback: no callback comes, so the wait gives up at once. */
const POLLING = { ...FAST, workflowTiming: { pollMs: 10, retryMs: 5, readyWaitMs: 1 } };

// biome-ignore lint/suspicious/noExplicitAny: recorded EC2 inputs are inspected loosely in assertions
type LooseInput = Record<string, any>;

const runsOf = (api: Harness, command: new (input: never) => object) =>
  api.fleet.ec2.calls
    .filter((call) => call.command === command.name)
    .map((call) => call.input as LooseInput);

async function settled(api: Harness, machineId: string) {
  const execution = api.fleet.workflow.execution(machineId);
  if (!execution) throw new Error(`no execution for ${machineId}`);
  await execution.done;
  return execution;
}

/** A plain lease, from order to terminated with no extension: every state it enters. */
const PLAIN_LEASE = [
  'Read lease',
  'Still to launch?',
  'Launch and await ready',
  'Ready or ended?',
  'Hold until lease end',
  'Check lease',
  'Lease due?',
  'End lease',
  'How did it end?',
  'Lease over',
];

describe('the lease workflow', () => {
  let api: Harness;
  beforeEach(async () => {
    api = await startHarness(FAST);
  });
  afterEach(() => api.close());

  it('launches, activates, waits out the lease and terminates', async () => {
    const lease = await buyMachine(api, { duration_minutes: 15 });
    const active = await api.waitForStatus(lease.machineId, lease.tokens.read_token, ['active']);
    expect(active.body.host).toMatch(/^203\.0\.113\./);
    const ended = await api.waitForStatus(lease.machineId, lease.tokens.read_token, ['terminated']);
    const execution = await settled(api, lease.machineId);
    expect(execution.status).toBe('succeeded');

    const [launch] = runsOf(api, RunInstancesCommand);
    expect(launch).toMatchObject({
      ClientToken: expect.stringMatching(new RegExp(`^${lease.machineId}-local-1[abc]$`)),
      LaunchTemplate: { LaunchTemplateId: 'lt-local-bare-linux-machine', Version: '$Latest' },
      MinCount: 1,
      MaxCount: 1,
    });
    const tags = launch?.TagSpecifications[0].Tags;
    expect(tags).toEqual(
      expect.arrayContaining([
        { Key: INSTANCE_TAGS.machineId, Value: lease.machineId },
        { Key: INSTANCE_TAGS.product, Value: 'bare-linux-machine' },
        { Key: INSTANCE_TAGS.managedBy, Value: 'local-storefront' },
      ]),
    );
    expect(Buffer.from(launch?.UserData, 'base64').toString()).toContain(AGENT_KEY);

    const machine = await api.storefront.machines.get(lease.machineId, new Date(0));
    const [terminate] = runsOf(api, TerminateInstancesCommand);
    expect(terminate?.InstanceIds).toEqual([machine?.instance_id]);
    expect(api.fleet.ec2.running()).toEqual([]);

    // Paid time starts at activation: 15 minutes of it, whatever provisioning took.
    expect(
      Date.parse(String(active.body.expires_at)) - Date.parse(String(active.body.activated_at)),
    ).toBe(15 * 60_000);
    expect(Date.parse(String(ended.body.terminated_at))).toBeGreaterThanOrEqual(
      Date.parse(String(active.body.expires_at)),
    );
    expect(execution.states.filter((state) => state === 'Hold until lease end')).toHaveLength(1);
    // The machine reported itself ready over HTTP, and nothing polled it.
    expect(api.fleet.boot.calls.map((call) => call.status)).toEqual([200]);
    expect(execution.states).not.toContain('Check instance');
  });

  it('holds on after an extension and ends at the extended time', async () => {
    // 60 minutes at 600×: six seconds of real time for the extension to land before the end.
    const lease = await buyMachine(api, { duration_minutes: 60 });
    await api.waitForStatus(lease.machineId, lease.tokens.read_token, ['active']);
    const extended = await api.payExtension(lease.machineId, lease.tokens.extend_token, {
      additional_minutes: 15,
    });
    expect(extended.body.lease_minutes).toBe(75);
    const ended = await api.waitForStatus(lease.machineId, lease.tokens.read_token, ['terminated']);
    const execution = await settled(api, lease.machineId);
    expect(Date.parse(String(ended.body.terminated_at))).toBeGreaterThanOrEqual(
      Date.parse(String(extended.body.expires_at)),
    );
    // The extension woke the hold at once; it re-armed at the new end (telling the machine),
    // and ended there: woken once, checked twice (after the wake, and at the end).
    expect(execution.states.filter((state) => state === 'Hold until lease end')).toHaveLength(2);
    expect(execution.states.filter((state) => state === 'Woken why?')).toHaveLength(1);
    expect(execution.states.filter((state) => state === 'Check lease')).toHaveLength(2);
    // An extension costs four transitions: Woken why?, Check lease, Lease due?, Hold until lease end.
    expect(execution.states.length).toBe(PLAIN_LEASE.length + 4);
  });

  it('terminates on DELETE by waking the held lease', async () => {
    const slow = await startHarness({
      ...FAST,
      clockSpeedup: 1,
      ec2Timing: { bootMs: 20, readyMs: 20, shutdownMs: 20 },
    });
    try {
      const lease = await buyMachine(slow, { duration_minutes: 360 });
      await slow.waitForStatus(lease.machineId, lease.tokens.read_token, ['active']);
      await until('the lease held', () =>
        slow.fleet.workflow.execution(lease.machineId)?.states.includes('Hold until lease end'),
      );
      // A 6-hour lease that ends in this test ends because DELETE woke its hold.
      await slow.terminate(lease.machineId, lease.tokens.terminate_token);
      await slow.waitForStatus(lease.machineId, lease.tokens.read_token, ['terminated']);
      const execution = await settled(slow, lease.machineId);
      expect(execution.status).toBe('succeeded');
      const hold = execution.states.indexOf('Hold until lease end');
      expect(execution.states.slice(hold + 1, hold + 3)).toEqual(['Woken why?', 'End lease']);
      expect(slow.fleet.ec2.running()).toEqual([]);
    } finally {
      await slow.close();
    }
  });

  it('never activates a machine terminated while it was still provisioning', async () => {
    const slowBoot = await startHarness({
      ...FAST,
      clockSpeedup: 1,
      ec2Timing: { bootMs: 3_000, readyMs: 20, shutdownMs: 20 },
    });
    try {
      const lease = await buyMachine(slowBoot);
      // Its instance launched and still booting (3 s): the DELETE lands during provisioning.
      await until('the instance launched', async () =>
        Boolean(
          (await slowBoot.storefront.machines.get(lease.machineId, new Date(0)))?.instance_id,
        ),
      );
      expect(
        (await slowBoot.terminate(lease.machineId, lease.tokens.terminate_token)).body.status,
      ).toBe('terminating');
      const ended = await slowBoot.waitForStatus(lease.machineId, lease.tokens.read_token, [
        'terminated',
      ]);
      expect(ended.body).not.toHaveProperty('activated_at');
      const execution = await settled(slowBoot, lease.machineId);
      expect(execution.states).not.toContain('Start lease clock');
      expect(slowBoot.fleet.ec2.running()).toEqual([]);
    } finally {
      await slowBoot.close();
    }
  });

  it('fails a launch EC2 refuses, with a reason the agent can read, and leaves nothing running', async () => {
    api.fleet.ec2.launchFailures.push('InvalidParameterCombination');
    const lease = await buyMachine(api);
    const failed = await api.waitForStatus(lease.machineId, lease.tokens.read_token, ['failed']);
    expect(failed.body.failure_reason).toMatch(
      /could not be launched \(InvalidParameterCombination\)/,
    );
    const execution = await settled(api, lease.machineId);
    expect(execution.status).toBe('failed');
    expect(execution.error).toMatch(/Lease.ProvisioningFailed/);
    expect(api.fleet.ec2.running()).toEqual([]);
    const order = await api.getOrder(lease.orderId);
    expect(order.body).toMatchObject({
      current_step: 'failed',
      refund: { status: 'refunded', amount: '3.99', amount_cents: 399 },
    });
    expect(execution.states).toContain('Refund payment');
  });

  it('retries a throttled launch and goes on', async () => {
    api.fleet.ec2.launchFailures.push('RequestLimitExceeded', 'InternalError');
    const lease = await buyMachine(api);
    await api.waitForStatus(lease.machineId, lease.tokens.read_token, ['active']);
    expect(runsOf(api, RunInstancesCommand)).toHaveLength(3);
  });

  it('tries every zone, retries, then fails an H100 lease when there is no capacity', async () => {
    api.fleet.ec2.outOfCapacity.add('p5.4xlarge');
    const lease = await buyMachine(api, { product_id: 'gpu-h100-machine' });
    const failed = await api.waitForStatus(lease.machineId, lease.tokens.read_token, ['failed']);
    expect(failed.body.failure_reason).toBe(
      'no p5.4xlarge capacity is available for gpu-h100-machine right now; try again later',
    );
    const launches = runsOf(api, RunInstancesCommand);
    // Every zone the stack gives the launch function, in one attempt and two retries.
    const zones = JSON.parse(api.stack.environments.workflow.launch.SUBNETS ?? '[]').length;
    expect(zones).toBeGreaterThan(1);
    expect(launches).toHaveLength(zones * 3);
    expect(new Set(launches.map((launch) => launch.ClientToken)).size).toBe(zones);
    expect(api.fleet.ec2.running()).toEqual([]);
    await settled(api, lease.machineId);
    expect((await api.getOrder(lease.orderId)).body.refund).toMatchObject({
      status: 'refunded',
      amount_cents: 299 + 15 * 60,
    });
  });

  it('fails and releases a machine that does not become usable in time', async () => {
    await api.close();
    api = await startHarness(POLLING);
    api.fleet.ec2.neverReady.add('i-00000000000000001');
    const lease = await buyMachine(api, { product_id: 'gpu-h100-machine' });
    const failed = await api.waitForStatus(lease.machineId, lease.tokens.read_token, ['failed']);
    expect(failed.body.failure_reason).toMatch(/did not become ready/);
    await settled(api, lease.machineId);
    expect(runsOf(api, TerminateInstancesCommand)).toHaveLength(1);
    expect(api.fleet.ec2.running()).toEqual([]);
  });

  it('counts the state transitions a plain lease costs: at most 12', async () => {
    const lease = await buyMachine(api, { duration_minutes: 15 });
    await api.waitForStatus(lease.machineId, lease.tokens.read_token, ['terminated']);
    const execution = await settled(api, lease.machineId);
    // Every state entered, from order to terminated, with no extension: no polls at all.
    expect(execution.states).toEqual(PLAIN_LEASE);
    expect(execution.states.length).toBeLessThanOrEqual(12);
  });

  it('falls back to polling when the machine never calls back, and activates it from the poll', async () => {
    await api.close();
    api = await startHarness(POLLING);
    api.fleet.boot.neverCallsBack.add('i-00000000000000001');
    const lease = await buyMachine(api, { duration_minutes: 15 });
    const active = await api.waitForStatus(lease.machineId, lease.tokens.read_token, ['active']);
    expect(active.body.host).toMatch(/^203\.0\.113\./);
    await api.waitForStatus(lease.machineId, lease.tokens.read_token, ['terminated']);
    const execution = await settled(api, lease.machineId);
    expect(execution.status).toBe('succeeded');
    expect(api.fleet.boot.calls).toEqual([]);
    // The wait for the callback timed out; the poll found the SSH banner's ready marker.
    const launched = execution.states.indexOf('Launch and await ready');
    expect(execution.states[launched + 1]).toBe('Wait for boot');
    expect(execution.states).toContain('Start lease clock');
    expect(execution.states).not.toContain('Ready or ended?');
    expect(api.fleet.ec2.running()).toEqual([]);
  });

  it('takes a callback that comes after the wait gave up: the poll finds the lease active', async () => {
    const late = await startHarness({
      ...FAST,
      // The wait gives up before the machine (12 s of clock, 20 ms real) can call back, and
      // the first poll comes well after it has.
      workflowTiming: { pollMs: 300, retryMs: 5, readyWaitMs: 1 },
    });
    try {
      const lease = await buyMachine(late, { duration_minutes: 15 });
      await late.waitForStatus(lease.machineId, lease.tokens.read_token, ['active']);
      await late.waitForStatus(lease.machineId, lease.tokens.read_token, ['terminated']);
      const execution = await settled(late, lease.machineId);
      expect(execution.status).toBe('succeeded');
      expect(late.fleet.boot.calls.filter((call) => call.status === 200)).toHaveLength(1);
      // The poll took the lease as the callback left it (active) and went on to hold.
      const polled = execution.states.indexOf('Check instance');
      expect(execution.states.slice(polled, polled + 5)).toEqual([
        'Check instance',
        'Machine ready?',
        'Check lease',
        'Lease due?',
        'Hold until lease end',
      ]);
      expect(execution.states).not.toContain('Start lease clock');
      expect(late.fleet.ec2.running()).toEqual([]);
    } finally {
      await late.close();
    }
  });
});

describe('leases in EC2 Capacity Blocks', () => {
  const reservation = 'cr-0123456789abcdef0';
  const blocks = {
    'gpu-h100-machine': {
      instance: { capacityBlocks: { reservationIds: [reservation], whenUnavailable: 'fail' } },
    },
  };
  let api: Harness;
  beforeEach(async () => {
    // A slower clock than FAST: the capacity snapshot taken after changing the blocks must stay
    // fresh (five clock minutes) until the order reads it, however busy the machine.
    api = await startHarness({ ...FAST, clockSpeedup: 60, catalogOverride: blocks });
  });
  afterEach(() => api.close());

  it('launches into an active block with room, in its zone, and never past its end', async () => {
    const blockEnd = new Date(api.storefront.clock.now().getTime() + 24 * 3_600_000);
    api.fleet.ec2.capacityReservations = [
      {
        CapacityReservationId: reservation,
        AvailabilityZone: 'local-1b',
        AvailableInstanceCount: 1,
        EndDate: blockEnd,
        State: 'active',
      },
    ];
    // The capacity watcher's schedule, run now that the account's blocks changed.
    await api.fleet.watchCapacity();
    const lease = await buyMachine(api, { product_id: 'gpu-h100-machine' });
    await api.waitForStatus(lease.machineId, lease.tokens.read_token, ['active']);
    const [launch] = runsOf(api, RunInstancesCommand);
    expect(launch).toMatchObject({
      SubnetId: 'subnet-local-b',
      InstanceMarketOptions: { MarketType: 'capacity-block' },
      CapacityReservationSpecification: {
        CapacityReservationTarget: { CapacityReservationId: reservation },
      },
    });
    const machine = await api.storefront.machines.get(lease.machineId, new Date(0));
    expect(machine?.hard_stop_at).toBe(new Date(blockEnd.getTime() - 30 * 60_000).toISOString());
  });

  it('fails the lease, as configured, when no block has room', async () => {
    api.fleet.ec2.capacityReservations = [];
    await api.fleet.watchCapacity();
    // Checked before payment: no block, no sale.
    expect((await api.order(orderBody({ product_id: 'gpu-h100-machine' }))).status).toBe(503);
    // The block filled up after the (cached) check said yes: the launch still refuses.
    api.storefront.capacity = uncheckedCapacity;
    const lease = await buyMachine(api, { product_id: 'gpu-h100-machine' });
    const failed = await api.waitForStatus(lease.machineId, lease.tokens.read_token, ['failed']);
    expect(failed.body.failure_reason).toMatch(/no reserved p5.4xlarge capacity is free/);
    expect(runsOf(api, RunInstancesCommand)).toHaveLength(0);
  });
});

describe('the reconciler', () => {
  let api: Harness;
  const clock = offsetClock();
  beforeEach(async () => {
    api = await startHarness({
      ...FAST,
      clockSpeedup: 1,
      clock,
      ec2Timing: { bootMs: 20, readyMs: 20, shutdownMs: 20 },
    });
  });
  afterEach(() => api.close());

  it('terminates storefront instances no lease accounts for, and leaves live leases and others alone', async () => {
    const lease = await buyMachine(api);
    await api.waitForStatus(lease.machineId, lease.tokens.read_token, ['active']);
    const stray = api.fleet.ec2.launchStray([
      { Key: INSTANCE_TAGS.managedBy, Value: 'local-storefront' },
      { Key: INSTANCE_TAGS.machineId, Value: 'machine_00000000deadbeef' },
    ]);
    const untagged = api.fleet.ec2.launchStray([
      { Key: INSTANCE_TAGS.managedBy, Value: 'local-storefront' },
    ]);
    const duplicate = api.fleet.ec2.launchStray([
      { Key: INSTANCE_TAGS.managedBy, Value: 'local-storefront' },
      { Key: INSTANCE_TAGS.machineId, Value: lease.machineId },
    ]);
    const someoneElses = api.fleet.ec2.launchStray([{ Key: 'team', Value: 'research' }]);

    const report = await api.fleet.reconcile();
    const reasons = Object.fromEntries(
      report.instances_terminated.map((entry) => [entry.instance_id, entry.reason]),
    );
    expect(reasons).toEqual({
      [stray]: 'no lease exists for this instance',
      [untagged]: 'no lease exists for this instance',
      [duplicate]: expect.stringMatching(/this is a second instance/),
    });
    expect(api.fleet.ec2.instance(someoneElses)?.State?.Name).toMatch(/pending|running/);
    expect((await api.machine(lease.machineId, lease.tokens.read_token)).body.status).toBe(
      'active',
    );
  });

  it('ends a lease whose workflow died: terminates its instance and closes the record', async () => {
    const lease = await buyMachine(api, { duration_minutes: 60 });
    await api.waitForStatus(lease.machineId, lease.tokens.read_token, ['active']);
    await api.fleet.workflow.close();
    clock.jump(2 * 3_600_000);

    const report = await api.fleet.reconcile();
    const machine = await api.storefront.machines.get(lease.machineId, clock.now());
    expect(report.instances_terminated).toEqual([
      {
        instance_id: machine?.instance_id,
        machine_id: lease.machineId,
        reason: expect.stringMatching(/^the lease ended at /),
      },
    ]);
    expect(report.leases_closed).toEqual([{ machine_id: lease.machineId, status: 'terminated' }]);
    expect(api.fleet.ec2.instance(machine?.instance_id ?? '')?.State?.Name).toMatch(
      /shutting-down|terminated/,
    );
    expect((await api.machine(lease.machineId, lease.tokens.read_token)).body.status).toBe(
      'terminated',
    );
    expect((await api.fleet.reconcile()).instances_terminated).toEqual([]);
  });

  it('fails a lease stuck in provisioning and releases its instance', async () => {
    api.fleet.ec2.neverReady.add('i-00000000000000001');
    const lease = await buyMachine(api);
    await until('the instance launched', async () =>
      Boolean((await api.storefront.machines.get(lease.machineId, new Date(0)))?.instance_id),
    );
    await api.fleet.workflow.close();
    clock.jump(3_600_000 * 2);
    const report = await api.fleet.reconcile();
    expect(report.instances_terminated.map((entry) => entry.reason)).toEqual([
      'provisioning did not finish in time',
    ]);
    expect(report.leases_closed).toEqual([{ machine_id: lease.machineId, status: 'failed' }]);
    // The agent never had the machine: the reconciler refunds what it fails.
    expect(report.leases_refunded).toEqual([{ machine_id: lease.machineId, refunded_cents: 399 }]);
    expect((await api.getOrder(lease.orderId)).body.refund).toMatchObject({
      status: 'refunded',
      amount_cents: 399,
    });
  });
});
