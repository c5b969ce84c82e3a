import { LeaseLifecycleStore } from '../../lambdas/adapters/dynamodb/lease-lifecycle-store.js';
import { DynamoMachineStore } from '../../lambdas/adapters/dynamodb/machine-store.js';
import { newMachineId } from '../../lambdas/core/ids.js';
import type { ExtensionRecord, MachineRecord } from '../../lambdas/core/machine.js';
import { hashReadinessSecret, issueReadinessSecret } from '../../lambdas/core/readiness-secret.js';
import { createEndLease } from '../../lambdas/workflow/end-lease.js';
import { machineFixture } from '../support/fixtures.js';
import { type LocalTable, localTable } from '../support/local-table.js';

/**
 * A paid extension that lands at the lease's end, after the workflow found the lease due and
 * before End lease closed it, is honoured: End lease's close is conditioned on the end having
 * come, so the machine it paid for is not terminated. One that lands after the close is
 * refused by the store (the lease is no longer active) and so refunded by its use case.
 */
const activatedAt = new Date('2026-12-07T10:00:00.000Z');
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const minutes = (n: number) => n * 60_000;

describe('End lease racing a paid extension (dynalite)', () => {
  let table: LocalTable;
  let machines: DynamoMachineStore;
  let lifecycle: LeaseLifecycleStore;
  beforeAll(async () => {
    table = await localTable();
    machines = new DynamoMachineStore(table.db, table.tableName);
    lifecycle = new LeaseLifecycleStore(table.db, table.tableName, 30);
  });
  afterAll(() => table.close());

  async function activeLease(leaseMinutes = 60): Promise<MachineRecord> {
    const created = await machines.create(
      machineFixture({ machineId: newMachineId(), now: activatedAt }),
    );
    const readiness = issueReadinessSecret();
    await lifecycle.recordLaunch(created.machine_id, {
      instanceId: 'i-0000000000000abcd',
      readySecretHash: readiness.hash,
    });
    const active = await machines.activateOnReadiness(created.machine_id, {
      host: '203.0.113.9',
      readySecretHash: hashReadinessSecret(readiness.secret),
      activatedAt: activatedAt.toISOString(),
      expiresAt: new Date(activatedAt.getTime() + minutes(leaseMinutes)).toISOString(),
      leaseMinutes,
    });
    if (!active) throw new Error('not activated');
    return active;
  }

  const extend = (machine: MachineRecord, additional: number, key: string) => {
    const leaseMinutes = machine.lease_minutes + additional;
    const expiresAt = new Date(Date.parse(machine.expires_at) + minutes(additional)).toISOString();
    const extension: ExtensionRecord = {
      machine_id: machine.machine_id,
      extension_key: key,
      additional_minutes: additional,
      lease_minutes_after: leaseMinutes,
      applied_at: machine.expires_at,
    };
    return machines.applyExtension(
      machine.machine_id,
      { leaseMinutesBefore: machine.lease_minutes, leaseMinutes, expiresAt },
      extension,
    );
  };

  function endLeaseAt(now: Date, beforeClose?: () => Promise<void>) {
    const terminated: string[] = [];
    const endLease = createEndLease({
      ec2: {
        send: (async (command: { input: { InstanceIds: string[] } }) => {
          terminated.push(...command.input.InstanceIds);
          return { TerminatingInstances: [{ CurrentState: { Name: 'shutting-down' } }] };
        }) as never,
      },
      machines,
      lifecycle: {
        markTerminating: async (machineId, at) => {
          await beforeClose?.();
          return lifecycle.markTerminating(machineId, at);
        },
        markTerminated: (machineId, at) => lifecycle.markTerminated(machineId, at),
        markFailed: (...args) => lifecycle.markFailed(...args),
      },
      clock: { now: () => now },
      log: quiet,
    });
    return { endLease, terminated };
  }

  it('honours an extension applied between its read and its close: nothing terminated, the lease goes on', async () => {
    const lease = await activeLease();
    const justAfterTheEnd = new Date(Date.parse(lease.expires_at) + 400);
    const { endLease, terminated } = endLeaseAt(justAfterTheEnd, async () => {
      expect(await extend(lease, 45, 'paid-at-the-end')).toBeDefined();
    });
    const ended = await endLease({ machine_id: lease.machine_id });
    expect(ended).toEqual({
      status: 'active',
      expires_at: new Date(Date.parse(lease.expires_at) + minutes(45)).toISOString(),
    });
    expect(terminated).toEqual([]);
    expect(await machines.get(lease.machine_id, justAfterTheEnd)).toMatchObject({
      status: 'active',
      lease_minutes: 105,
    });
  });

  it('honours an extension that landed before it read the lease (after the workflow found it due)', async () => {
    const lease = await activeLease();
    const extended = await extend(lease, 30, 'paid-before-end-lease');
    expect(extended).toBeDefined();
    const { endLease, terminated } = endLeaseAt(new Date(Date.parse(lease.expires_at) + 900));
    expect(await endLease({ machine_id: lease.machine_id })).toMatchObject({ status: 'active' });
    expect(terminated).toEqual([]);
  });

  it('ends a lease whose end has come, and then refuses an extension (its use case refunds it)', async () => {
    const lease = await activeLease();
    const after = new Date(Date.parse(lease.expires_at) + 1);
    const { endLease, terminated } = endLeaseAt(after);
    expect(await endLease({ machine_id: lease.machine_id })).toMatchObject({
      status: 'terminated',
    });
    expect(terminated).toEqual(['i-0000000000000abcd']);
    expect(await extend(lease, 30, 'too-late')).toBeUndefined();
    expect(await machines.get(lease.machine_id, after)).toMatchObject({
      status: 'terminated',
      lease_minutes: 60,
    });
  });

  it('still ends a lease whose agent asked to terminate it, whatever its end', async () => {
    const lease = await activeLease();
    const early = new Date(activatedAt.getTime() + minutes(5));
    await machines.requestTermination(lease.machine_id, early);
    const { endLease, terminated } = endLeaseAt(early);
    expect(await endLease({ machine_id: lease.machine_id })).toMatchObject({
      status: 'terminated',
    });
    expect(terminated).toEqual(['i-0000000000000abcd']);
  });
});
