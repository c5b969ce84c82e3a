import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { LeaseLifecycleStore } from '../../lambdas/adapters/dynamodb/lease-lifecycle-store.js';
import { DynamoMachineStore } from '../../lambdas/adapters/dynamodb/machine-store.js';
import { itemKeys } from '../../lambdas/adapters/dynamodb/table-design.js';
import { newMachineId } from '../../lambdas/core/ids.js';
import type { MachineRecord } from '../../lambdas/core/machine.js';
import { machineFixture } from '../support/fixtures.js';
import { type LocalTable, localTable } from '../support/local-table.js';

/**
 * Each lease transition is one conditional write: what it writes when its condition holds,
 * and that it writes nothing (undefined) from any other status. The statuses a write must
 * refuse are where a lost race would otherwise undo an end, a failure or a refund owed.
 */
const now = new Date('2026-12-07T10:00:00.000Z');
const RETENTION_DAYS = 7;
const retentionEpoch = Math.floor(now.getTime() / 1000) + RETENTION_DAYS * 86_400;
const STATUSES: MachineRecord['status'][] = [
  'provisioning',
  'active',
  'terminating',
  'terminated',
  'failed',
];

describe('lease transitions (dynalite)', () => {
  let table: LocalTable;
  let machines: DynamoMachineStore;
  let lifecycle: LeaseLifecycleStore;
  beforeAll(async () => {
    table = await localTable();
    machines = new DynamoMachineStore(table.db, table.tableName);
    lifecycle = new LeaseLifecycleStore(table.db, table.tableName, RETENTION_DAYS);
  });
  afterAll(() => table.close());

  const lease = (overrides: Partial<MachineRecord> = {}) =>
    machines.create(machineFixture({ machineId: newMachineId(), now }, overrides));
  const item = async (machineId: string) => {
    const { Item } = await table.db.send(
      new GetCommand({ TableName: table.tableName, Key: itemKeys.machine(machineId) }),
    );
    if (!Item) throw new Error(`no machine ${machineId}`);
    return Item;
  };
  /** Which of the statuses the write accepts, each tried on a fresh lease. */
  async function acceptedFrom(
    write: (machineId: string) => Promise<MachineRecord | undefined>,
    overrides: Partial<MachineRecord> = {},
  ) {
    const accepted: string[] = [];
    for (const status of STATUSES) {
      const machine = await lease({ status, ...overrides });
      if (await write(machine.machine_id)) accepted.push(status);
    }
    return accepted;
  }

  it('records a launch only while provisioning, writing only what it is given', async () => {
    const machine = await lease();
    const recorded = await lifecycle.recordLaunch(machine.machine_id, {
      instanceId: 'i-1',
      hardStopAt: '2026-12-07T16:00:00.000Z',
      readySecretHash: 'hash-1',
      waitToken: 'token-1',
    });
    expect(recorded).toMatchObject({
      instance_id: 'i-1',
      hard_stop_at: '2026-12-07T16:00:00.000Z',
      ready_secret_hash: 'hash-1',
      wake_token: 'token-1',
    });
    // A relaunch that found the instance recorded keeps the stored hash and token.
    const again = await lifecycle.recordLaunch(machine.machine_id, { instanceId: 'i-1' });
    expect(again).toMatchObject({ ready_secret_hash: 'hash-1', wake_token: 'token-1' });
    expect(await acceptedFrom((id) => lifecycle.recordLaunch(id, { instanceId: 'i-2' }))).toEqual([
      'provisioning',
    ]);
  });

  it('activates only a provisioning lease of the length its end was computed from', async () => {
    const change = {
      host: '203.0.113.1',
      sshPort: 2222,
      activatedAt: now.toISOString(),
      expiresAt: '2026-12-07T11:00:00.000Z',
      leaseMinutes: 60,
    };
    const machine = await lease();
    expect(
      await lifecycle.activate(machine.machine_id, { ...change, leaseMinutes: 45 }),
    ).toBeUndefined();
    expect(await lifecycle.activate(machine.machine_id, change)).toMatchObject({
      status: 'active',
      host: '203.0.113.1',
      ssh_port: 2222,
      activated_at: now.toISOString(),
      expires_at: '2026-12-07T11:00:00.000Z',
    });
    expect(await acceptedFrom((id) => lifecycle.activate(id, change))).toEqual(['provisioning']);
  });

  it('closes (terminating) only an active lease whose end has come', async () => {
    const ended = await lease({ status: 'active', expires_at: now.toISOString() });
    expect(await lifecycle.markTerminating(ended.machine_id, now)).toMatchObject({
      status: 'terminating',
      termination_requested_at: now.toISOString(),
    });
    const running = await lease({
      status: 'active',
      expires_at: new Date(now.getTime() + 1).toISOString(),
    });
    expect(await lifecycle.markTerminating(running.machine_id, now)).toBeUndefined();
    expect((await item(running.machine_id)).status).toBe('active');
    expect(
      await acceptedFrom((id) => lifecycle.markTerminating(id, now), {
        expires_at: now.toISOString(),
      }),
    ).toEqual(['active']);
  });

  it('ends any live lease, keeping it readable for the retention period and off the live index', async () => {
    const machine = await lease({ status: 'active', wake_token: 'token' });
    const ended = await lifecycle.markTerminated(machine.machine_id, now);
    expect(ended).toMatchObject({ status: 'terminated', terminated_at: now.toISOString() });
    const stored = await item(machine.machine_id);
    expect(stored.expires_at_epoch).toBe(retentionEpoch);
    expect(stored.live_pk).toBeUndefined();
    expect(stored.live_sk).toBeUndefined();
    expect(stored.wake_token).toBeUndefined();
    expect(await acceptedFrom((id) => lifecycle.markTerminated(id, now))).toEqual([
      'provisioning',
      'active',
      'terminating',
    ]);
  });

  it('fails a provisioning lease and owes its payment back in the same write', async () => {
    const machine = await lease({ wake_token: 'token' });
    const failed = await lifecycle.markFailed(machine.machine_id, 'no capacity', now);
    expect(failed).toMatchObject({
      status: 'failed',
      failure_reason: 'no capacity',
      terminated_at: now.toISOString(),
      refund_due: true,
    });
    const stored = await item(machine.machine_id);
    expect(stored.expires_at_epoch).toBe(retentionEpoch);
    expect(stored.live_pk).toBeUndefined();
    expect(stored.wake_token).toBeUndefined();
    expect(await acceptedFrom((id) => lifecycle.markFailed(id, 'r', now))).toEqual([
      'provisioning',
    ]);
    expect(await acceptedFrom((id) => lifecycle.markFailed(id, 'r', now, true))).toEqual([
      'provisioning',
      'active',
    ]);
    expect(await acceptedFrom((id) => lifecycle.markLost(id, 'r', now))).toEqual([
      'provisioning',
      'active',
    ]);
  });

  it('clears what a failed lease owed only once it failed, and records an error only while owed', async () => {
    const machine = await lease();
    expect(await lifecycle.recordRefundError(machine.machine_id, 'too early')).toBeUndefined();
    await lifecycle.markFailed(machine.machine_id, 'r', now);
    expect(
      await lifecycle.recordRefundError(machine.machine_id, 'StripeError: down'),
    ).toMatchObject({
      refund_due: true,
      refund_error: 'StripeError: down',
    });
    const settled = await lifecycle.settleRefund(machine.machine_id);
    expect(settled?.status).toBe('failed');
    const stored = await item(machine.machine_id);
    expect(stored.refund_due).toBeUndefined();
    expect(stored.refund_error).toBeUndefined();
    // Nothing is owed any more: a late error is not recorded against it.
    expect(await lifecycle.recordRefundError(machine.machine_id, 'late')).toBeUndefined();
    expect(await acceptedFrom((id) => lifecycle.settleRefund(id))).toEqual(['failed']);
  });

  it('holds a wake token only while active', async () => {
    expect(await acceptedFrom((id) => lifecycle.holdWakeToken(id, 'token'))).toEqual(['active']);
  });
});
