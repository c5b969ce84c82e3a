import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { LeaseLifecycleStore } from '../../lambdas/adapters/dynamodb/lease-lifecycle-store.js';
import { DynamoMachineStore } from '../../lambdas/adapters/dynamodb/machine-store.js';
import { itemKeys } from '../../lambdas/adapters/dynamodb/table-design.js';
import { newMachineId } from '../../lambdas/core/ids.js';
import { hashReadinessSecret, issueReadinessSecret } from '../../lambdas/core/readiness-secret.js';
import { createEndLease } from '../../lambdas/workflow/end-lease.js';
import { createLeaseRecords } from '../../lambdas/workflow/lease-records.js';
import { machineFixture } from '../support/fixtures.js';
import { type LocalTable, localTable } from '../support/local-table.js';

/**
 * The ready callback activates a lease on its own (one conditional write), so it can land
 * while the workflow is giving up on the same lease. Whatever the order, a lease whose
 * instance the workflow terminates without having held it ends failed with its payment owed
 * back, and an extension paid meanwhile is never overwritten.
 */
const now = new Date('2026-11-29T10:00:00.000Z');
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

describe('ready callback racing the workflow (dynalite)', () => {
  let table: LocalTable;
  let machines: DynamoMachineStore;
  let lifecycle: LeaseLifecycleStore;
  beforeAll(async () => {
    table = await localTable();
    machines = new DynamoMachineStore(table.db, table.tableName);
    lifecycle = new LeaseLifecycleStore(table.db, table.tableName, 30);
  });
  afterAll(() => table.close());

  async function launchedLease() {
    const machine = await machines.create(machineFixture({ machineId: newMachineId(), now }));
    const readiness = issueReadinessSecret();
    await lifecycle.recordLaunch(machine.machine_id, {
      instanceId: 'i-0000000000000abcd',
      readySecretHash: readiness.hash,
    });
    return { machine, secret: readiness.secret };
  }
  const activate = (machineId: string, secret: string, leaseMinutes: number) =>
    machines.activateOnReadiness(machineId, {
      host: '203.0.113.9',
      readySecretHash: hashReadinessSecret(secret),
      activatedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + leaseMinutes * 60_000).toISOString(),
      leaseMinutes,
    });

  it('fails and owes back a lease the callback activated while End lease terminated it', async () => {
    const { machine, secret } = await launchedLease();
    const terminated: string[] = [];
    const endLease = createEndLease({
      ec2: {
        // The callback lands between End lease's first read and its record.
        send: (async (command: { input: { InstanceIds: string[] } }) => {
          terminated.push(...command.input.InstanceIds);
          expect(await activate(machine.machine_id, secret, machine.lease_minutes)).toBeDefined();
          return { TerminatingInstances: [{ CurrentState: { Name: 'shutting-down' } }] };
        }) as never,
      },
      machines,
      lifecycle,
      clock: { now: () => now },
      log: quiet,
    });
    const ended = await endLease({ machine_id: machine.machine_id });
    expect(terminated).toEqual(['i-0000000000000abcd']);
    expect(ended.status).toBe('failed');
    const stored = await machines.get(machine.machine_id, now);
    expect(stored).toMatchObject({ status: 'failed', refund_due: true });
  });

  it('fails a lease a provisioning step gave up on even if the callback just activated it', async () => {
    const { machine, secret } = await launchedLease();
    await activate(machine.machine_id, secret, machine.lease_minutes);
    const failed = await lifecycle.markFailed(machine.machine_id, 'never became ready', now, true);
    expect(failed).toMatchObject({ status: 'failed', refund_due: true });
    // Without the workflow's say-so an active lease is not failed.
    const other = await launchedLease();
    await activate(other.machine.machine_id, other.secret, other.machine.lease_minutes);
    expect(await lifecycle.markFailed(other.machine.machine_id, 'x', now)).toBeUndefined();
  });

  it('refuses an activation computed before an extension was applied', async () => {
    const { machine, secret } = await launchedLease();
    const before = machine.lease_minutes;
    await table.db.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: itemKeys.machine(machine.machine_id),
        UpdateExpression: 'SET lease_minutes = :after',
        ExpressionAttributeValues: { ':after': before + 15 },
      }),
    );
    expect(await activate(machine.machine_id, secret, before)).toBeUndefined();
    expect(await activate(machine.machine_id, secret, before + 15)).toMatchObject({
      status: 'active',
      lease_minutes: before + 15,
    });
  });

  it("starts the polled lease's clock from the minutes of an extension paid during the activation", async () => {
    const { machine } = await launchedLease();
    const before = machine.lease_minutes;
    let reads = 0;
    const records = createLeaseRecords({
      machines: {
        // The extension is paid right after the poll's first read.
        get: async (machineId, at) => {
          const read = await machines.get(machineId, at);
          if (reads++ === 0) {
            await table.db.send(
              new UpdateCommand({
                TableName: table.tableName,
                Key: itemKeys.machine(machineId),
                UpdateExpression: 'SET lease_minutes = :after',
                ExpressionAttributeValues: { ':after': before + 15 },
              }),
            );
          }
          return read;
        },
      },
      lifecycle,
      ec2: { send: (async () => ({})) as never },
      clock: { now: () => now },
      log: quiet,
    });
    const clock = await records({
      action: 'start_clock',
      machine_id: machine.machine_id,
      host: '203.0.113.9',
      ssh_port: 22,
    });
    const expected = new Date(now.getTime() + (before + 15) * 60_000).toISOString();
    expect(clock).toMatchObject({ expires_at: expected });
    expect(await machines.get(machine.machine_id, now)).toMatchObject({
      status: 'active',
      lease_minutes: before + 15,
      expires_at: expected,
    });
    expect(reads).toBe(2);
  });
});
