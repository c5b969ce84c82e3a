import { jest } from '@jest/globals';
import type { MachineRecord } from '../../lambdas/core/machine.js';
import { createEndLease, NEVER_USABLE } from '../../lambdas/workflow/end-lease.js';
import { type MoneyWorld, moneyTable } from '../support/money-world.js';

/**
 * Step "End lease" over the real stores (dynalite) with a recording EC2: a lease is closed
 * (active → terminating) before its instance is terminated, only once its end has come; a
 * lease that never became usable fails, owing its payment back.
 */
const MINUTE = 60_000;
const INSTANCE = 'i-0123456789abcdef0';

type Ec2Answer = { TerminatingInstances?: { CurrentState?: { Name?: string } }[] } | Error;

describe('End lease', () => {
  let table: Awaited<ReturnType<typeof moneyTable>>;
  let world: MoneyWorld;
  let terminated: string[][];
  let ec2Answer: Ec2Answer;
  beforeAll(async () => {
    table = await moneyTable();
  });
  afterAll(() => table.close());
  beforeEach(() => {
    world = table.fresh();
    terminated = [];
    ec2Answer = { TerminatingInstances: [{ CurrentState: { Name: 'shutting-down' } }] };
  });

  const endLease = (lifecycle: MoneyWorld['lifecycle'] = world.lifecycle) =>
    createEndLease({
      ec2: {
        send: (async (command: { input: { InstanceIds: string[] } }) => {
          terminated.push(command.input.InstanceIds);
          if (ec2Answer instanceof Error) throw ec2Answer;
          return ec2Answer;
        }) as never,
      },
      machines: world.machines,
      lifecycle,
      clock: world.clock,
      log: world.log,
    });

  /** An active lease whose end is `endsIn` from now (negative: already over). */
  const lease = (endsIn: number, overrides: Partial<MachineRecord> = {}) =>
    world.activeMachine({
      instance_id: INSTANCE,
      expires_at: new Date(world.clock.now().getTime() + endsIn).toISOString(),
      ...overrides,
    });

  it('closes a lease whose end has come, terminates its instance and records the end', async () => {
    const machine = await lease(0);
    const closedBeforeTerminate: string[] = [];
    const markTerminating = jest.spyOn(world.lifecycle, 'markTerminating');
    const ended = await createEndLease({
      ec2: {
        send: (async (command: { input: { InstanceIds: string[] } }) => {
          const seen = await world.machines.get(machine.machine_id, world.clock.now());
          closedBeforeTerminate.push(String(seen?.status));
          terminated.push(command.input.InstanceIds);
          return ec2Answer;
        }) as never,
      },
      machines: world.machines,
      lifecycle: world.lifecycle,
      clock: world.clock,
      log: world.log,
    })({ machine_id: machine.machine_id });
    expect(ended).toEqual({ status: 'terminated', instance_state: 'shutting-down' });
    expect(markTerminating).toHaveBeenCalledWith(machine.machine_id, world.clock.now());
    // No extension can apply while the instance is being terminated.
    expect(closedBeforeTerminate).toEqual(['terminating']);
    expect(terminated).toEqual([[INSTANCE]]);
    const item = await world.machineItem(machine.machine_id);
    expect(item).toMatchObject({
      status: 'terminated',
      terminated_at: world.clock.now().toISOString(),
      termination_requested_at: world.clock.now().toISOString(),
    });
    expect(item.refund_due).toBeUndefined();
    expect(world.log.entries).toContainEqual({
      level: 'info',
      event: 'lease.terminated',
      fields: { machine_id: machine.machine_id },
    });
  });

  it('leaves a lease whose end was moved (an extension paid at its end) running', async () => {
    const machine = await lease(MINUTE);
    const ended = await endLease()({ machine_id: machine.machine_id });
    expect(ended).toEqual({ status: 'active', expires_at: machine.expires_at });
    expect(terminated).toEqual([]);
    expect((await world.machineItem(machine.machine_id)).status).toBe('active');
    expect(world.log.entries.find((e) => e.event === 'lease.end_not_due')?.fields).toEqual({
      machine_id: machine.machine_id,
      expires_at: machine.expires_at,
    });
  });

  it('ends a lease its agent terminated early (already terminating), whatever its end', async () => {
    const machine = await lease(30 * MINUTE, { status: 'terminating' });
    const ended = await endLease()({ machine_id: machine.machine_id });
    expect(ended).toEqual({ status: 'terminated', instance_state: 'shutting-down' });
    expect(terminated).toEqual([[INSTANCE]]);
  });

  it('ends a lease terminated early between its read and its close', async () => {
    const machine = await lease(30 * MINUTE);
    const lifecycle = world.lifecycle;
    jest.spyOn(lifecycle, 'markTerminating').mockImplementationOnce(async () => {
      await world.machines.requestTermination(machine.machine_id, world.clock.now());
      return undefined;
    });
    const ended = await endLease(lifecycle)({ machine_id: machine.machine_id });
    expect(ended).toEqual({ status: 'terminated', instance_state: 'shutting-down' });
    expect(terminated).toEqual([[INSTANCE]]);
  });

  it('takes an instance EC2 no longer knows as terminated', async () => {
    const machine = await lease(-1);
    ec2Answer = Object.assign(new Error('gone'), { name: 'InvalidInstanceID.NotFound' });
    const ended = await endLease()({ machine_id: machine.machine_id });
    expect(ended).toEqual({ status: 'terminated', instance_state: 'terminated' });
  });

  it('fails the step, recording no end, when EC2 refuses the terminate', async () => {
    const machine = await lease(-1);
    ec2Answer = Object.assign(new Error('slow down'), { name: 'RequestLimitExceeded' });
    await expect(endLease()({ machine_id: machine.machine_id })).rejects.toThrow('slow down');
    expect((await world.machineItem(machine.machine_id)).status).toBe('terminating');
  });

  it('reports no instance state when EC2 lists none', async () => {
    const machine = await lease(-1);
    ec2Answer = {};
    expect(await endLease()({ machine_id: machine.machine_id })).toEqual({ status: 'terminated' });
  });

  it('ends a lease that never had an instance without calling EC2', async () => {
    const machine = await lease(-1, { instance_id: undefined });
    expect(await endLease()({ machine_id: machine.machine_id })).toEqual({ status: 'terminated' });
    expect(terminated).toEqual([]);
  });

  it('fails a lease still provisioning, owing its payment back', async () => {
    const machine = await lease(-1, { status: 'provisioning', activated_at: undefined });
    const ended = await endLease()({ machine_id: machine.machine_id });
    expect(ended).toEqual({ status: 'failed', instance_state: 'shutting-down' });
    expect(terminated).toEqual([[INSTANCE]]);
    expect(await world.machineItem(machine.machine_id)).toMatchObject({
      status: 'failed',
      // What its agent reads in the lease's failure_reason.
      failure_reason: 'the machine could not be provisioned; the operator has been alerted',
      refund_due: true,
    });
    expect(world.log.entries.find((e) => e.event === 'lease.failed')?.fields).toEqual({
      machine_id: machine.machine_id,
      reason: NEVER_USABLE,
    });
  });

  it('fails a lease seen provisioning that its ready callback activated meanwhile', async () => {
    const machine = await lease(60 * MINUTE, { status: 'provisioning', activated_at: undefined });
    ec2Answer = { TerminatingInstances: [{ CurrentState: { Name: 'shutting-down' } }] };
    const send = (async () => {
      // The callback lands between the read and the terminate.
      await world.machines.activateOnReadiness(machine.machine_id, {
        host: '203.0.113.9',
        readySecretHash: 'h',
        activatedAt: world.clock.now().toISOString(),
        expiresAt: machine.expires_at,
        leaseMinutes: 60,
      });
      return ec2Answer;
    }) as never;
    await world.lifecycle.recordLaunch(machine.machine_id, {
      instanceId: INSTANCE,
      readySecretHash: 'h',
    });
    const ended = await createEndLease({
      ec2: { send },
      machines: world.machines,
      lifecycle: world.lifecycle,
      clock: world.clock,
      log: world.log,
    })({ machine_id: machine.machine_id });
    expect(ended).toEqual({ status: 'failed', instance_state: 'shutting-down' });
    expect(await world.machineItem(machine.machine_id)).toMatchObject({
      status: 'failed',
      refund_due: true,
    });
  });

  it('fails a lease seen provisioning that its ready callback activated right after, before any close', async () => {
    const machine = await lease(60 * MINUTE, { status: 'provisioning', activated_at: undefined });
    await world.lifecycle.recordLaunch(machine.machine_id, {
      instanceId: INSTANCE,
      readySecretHash: 'h',
    });
    const machines = world.machines;
    const get = machines.get.bind(machines);
    jest.spyOn(machines, 'get').mockImplementationOnce(async (...args) => {
      const seen = await get(...args);
      // The callback lands just after End lease read the lease: active, its end an hour away.
      await machines.activateOnReadiness(machine.machine_id, {
        host: '203.0.113.9',
        readySecretHash: 'h',
        activatedAt: world.clock.now().toISOString(),
        expiresAt: machine.expires_at,
        leaseMinutes: 60,
      });
      return seen;
    });
    // Seen provisioning, it was never held: it ends, failed and refunded, instead of being
    // held as a lease whose end has not come.
    expect(await endLease()({ machine_id: machine.machine_id })).toEqual({
      status: 'failed',
      instance_state: 'shutting-down',
    });
    expect(terminated).toEqual([[INSTANCE]]);
    expect(await world.machineItem(machine.machine_id)).toMatchObject({
      status: 'failed',
      refund_due: true,
    });
  });

  it('writes nothing over a lease seen provisioning that its launch step failed meanwhile, and reports it failed', async () => {
    const machine = await lease(-1, { status: 'provisioning', activated_at: undefined });
    ec2Answer = { TerminatingInstances: [{ CurrentState: { Name: 'shutting-down' } }] };
    const send = (async () => {
      // The launch step's own failure lands between the read and the terminate.
      await world.lifecycle.markFailed(machine.machine_id, 'no capacity', world.clock.now());
      markFailed.mockClear();
      return ec2Answer;
    }) as never;
    const markFailed = jest.spyOn(world.lifecycle, 'markFailed');
    const ended = await createEndLease({
      ec2: { send },
      machines: world.machines,
      lifecycle: world.lifecycle,
      clock: world.clock,
      log: world.log,
    })({ machine_id: machine.machine_id });
    // "failed" is what sends the execution to its Refund payment step.
    expect(ended).toEqual({ status: 'failed', instance_state: 'shutting-down' });
    expect(await world.machineItem(machine.machine_id)).toMatchObject({
      status: 'failed',
      failure_reason: 'no capacity',
      refund_due: true,
    });
    // Its failure is recorded already: End lease writes nothing over it.
    expect(markFailed).not.toHaveBeenCalled();
    expect(world.log.entries.map((e) => e.event)).not.toContain('lease.failed');
  });

  it('reports a provisioning lease failed when another writer fails it just before its own failure is written', async () => {
    const machine = await lease(-1, { status: 'provisioning', activated_at: undefined });
    const lifecycle = world.lifecycle;
    const markFailed = lifecycle.markFailed.bind(lifecycle);
    jest.spyOn(lifecycle, 'markFailed').mockImplementationOnce(async (...args) => {
      // The launch step fails it first (its reason stands); this write then finds it failed.
      await markFailed(machine.machine_id, 'no capacity', world.clock.now());
      return markFailed(...args);
    });
    const ended = await endLease(lifecycle)({ machine_id: machine.machine_id });
    expect(ended).toEqual({ status: 'failed', instance_state: 'shutting-down' });
    expect((await world.machineItem(machine.machine_id)).failure_reason).toBe('no capacity');
    expect(world.log.entries.map((e) => e.event)).not.toContain('lease.failed');
  });

  it('records the end of a provisioning lease its agent ended before its own failure was written', async () => {
    const machine = await lease(-1, { status: 'provisioning', activated_at: undefined });
    const lifecycle = world.lifecycle;
    const markFailed = lifecycle.markFailed.bind(lifecycle);
    jest.spyOn(lifecycle, 'markFailed').mockImplementationOnce(async (...args) => {
      // The agent's DELETE lands first: the lease is terminating, so it cannot fail any more.
      await world.machines.requestTermination(machine.machine_id, world.clock.now());
      return markFailed(...args);
    });
    const ended = await endLease(lifecycle)({ machine_id: machine.machine_id });
    // Ended here, not left terminating with its instance gone until the reconciler finds it.
    expect(ended).toEqual({ status: 'terminated', instance_state: 'shutting-down' });
    expect((await world.machineItem(machine.machine_id)).status).toBe('terminated');
    expect(world.log.entries.map((e) => e.event)).toEqual(['lease.terminated']);
  });

  it('reports the status of a lease ended already, and "gone" for one unknown', async () => {
    const machine = await lease(-1, { status: 'terminated' });
    expect(await endLease()({ machine_id: machine.machine_id })).toEqual({
      status: 'terminated',
      instance_state: 'shutting-down',
    });
    expect(await endLease()({ machine_id: 'machine_0000000000000000' })).toEqual({
      status: 'gone',
    });
    expect(world.log.entries.map((e) => e.event)).not.toContain('lease.terminated');
  });

  it('names the cause of a lease ended for cause', async () => {
    const machine = await lease(-1, {
      status: 'terminating',
      end_cause: { reason: 'abuse', refund: 'none', ended_by: 'operator', ended_at: 'then' },
      failure_reason: 'ended for abuse',
    });
    expect(await endLease()({ machine_id: machine.machine_id })).toEqual({
      status: 'terminated',
      instance_state: 'shutting-down',
      ended_for_cause: 'ended for abuse',
    });
  });
});
