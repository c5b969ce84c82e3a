import type { MachineRecord } from '../../lambdas/core/machine.js';
import { type ResumeLeasesDependencies, resumeLeases } from '../../lambdas/local/resume-leases.js';
import { memoryLogger } from '../../lambdas/runtime/logger.js';
import { machineFixture } from '../support/fixtures.js';

const NOW = new Date('2026-11-29T12:00:00.000Z');

/** A table of machine items, a fleet that knows some instances, and the calls made. */
function world(items: MachineRecord[], knownInstances: string[], listed = items) {
  const stored = new Map(items.map((item) => [item.machine_id, item]));
  const started: string[] = [];
  const lost: string[] = [];
  const terminated: string[] = [];
  const refunded: string[] = [];
  const deps: ResumeLeasesDependencies = {
    liveLeases: async () => listed,
    ec2: {
      instance: (id: string) =>
        knownInstances.includes(id) ? { InstanceId: id, State: { Name: 'running' } } : undefined,
    },
    workflow: {
      start: async (machine) => {
        started.push(`${machine.machine_id}:${machine.status}`);
      },
    },
    lifecycle: {
      markLost: async (machineId, reason) => {
        lost.push(machineId);
        const item = stored.get(machineId) as MachineRecord;
        const failed = { ...item, status: 'failed' as const, failure_reason: reason };
        stored.set(machineId, failed);
        return failed;
      },
      markTerminated: async (machineId) => {
        terminated.push(machineId);
        return stored.get(machineId);
      },
    },
    machines: { get: async (machineId) => stored.get(machineId) },
    refund: async ({ machine_id }) => {
      refunded.push(machine_id);
      return { refunded_cents: 0, refunds: [] };
    },
    clock: { now: () => NOW },
    log: memoryLogger(),
  };
  return { deps, started, lost, terminated, refunded };
}

const lease = (id: string, overrides: Partial<MachineRecord>) =>
  machineFixture({ machineId: id, billing: 'unpaid' }, overrides);

describe('resuming leases after a restart of the local storefront', () => {
  it('starts the workflow again for every live lease whose machine the fleet still has', async () => {
    const items = [
      lease('machine_000000000000000a', { status: 'provisioning' }),
      lease('machine_000000000000000b', { status: 'provisioning', instance_id: 'i-b' }),
      lease('machine_000000000000000c', { status: 'active', instance_id: 'i-c' }),
      lease('machine_000000000000000d', { status: 'terminating', instance_id: 'i-d' }),
    ];
    const { deps, started, lost } = world(items, ['i-b', 'i-c', 'i-d']);
    const report = await resumeLeases(deps);
    expect(started).toEqual([
      'machine_000000000000000a:provisioning',
      'machine_000000000000000b:provisioning',
      'machine_000000000000000c:active',
      'machine_000000000000000d:terminating',
    ]);
    expect(report.resumed).toHaveLength(4);
    expect(lost).toEqual([]);
  });

  it('goes by the stored item, not by the list: a listed lease with no item, or one that ended, is left alone', async () => {
    const ended = lease('machine_00000000000000e1', { status: 'terminated', instance_id: 'i-e' });
    const listedAsLive = [
      { ...ended, status: 'active' as const },
      lease('machine_00000000000000e2', { status: 'provisioning' }),
    ];
    const { deps, started, lost } = world([ended], [], listedAsLive);
    const report = await resumeLeases(deps);
    expect(started).toEqual([]);
    expect(lost).toEqual([]);
    expect(report).toEqual({ resumed: [], lostAndRefunded: [], closed: [] });
    expect(
      (deps.log as ReturnType<typeof memoryLogger>).entries.map((entry) => entry.fields.status),
    ).toEqual(['terminated', 'no item']);
  });

  it('fails and refunds a lease whose instance the fleet lost, and closes an ending one', async () => {
    const items = [
      lease('machine_00000000000000f1', { status: 'active', instance_id: 'i-gone-1' }),
      lease('machine_00000000000000f2', { status: 'provisioning', instance_id: 'i-gone-2' }),
      lease('machine_00000000000000f3', { status: 'terminating', instance_id: 'i-gone-3' }),
    ];
    const { deps, started, lost, terminated, refunded } = world(items, []);
    const report = await resumeLeases(deps);
    expect(started).toEqual([]);
    expect(lost).toEqual(['machine_00000000000000f1', 'machine_00000000000000f2']);
    expect(terminated).toEqual(['machine_00000000000000f3']);
    expect(report.lostAndRefunded).toEqual(lost);
    expect(refunded).toEqual(lost);
    expect(report.closed).toEqual(terminated);
  });
});
