import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STATES } from '../../lib/lease-workflow.js';
import { buyMachine, type Harness, startHarness } from '../support/harness.js';
import { offsetClock } from '../support/offset-clock.js';

const newDataDirectory = () => mkdtempSync(join(tmpdir(), 'storefront-data-'));

/** A lease that runs much longer than the test, so only the test's actions end it. */
const LONG_LEASE = { duration_minutes: 120 };

const eventsOf = (harness: Harness) => harness.log.entries.map((entry) => entry.event);

describe('the local storefront across a restart', () => {
  it('keeps an active lease holding on the same machine, and a DELETE still ends it', async () => {
    const dataDirectory = newDataDirectory();
    const first = await startHarness({ dataDirectory });
    const lease = await buyMachine(first, LONG_LEASE);
    const before = await first.waitForStatus(lease.machineId, lease.tokens.read_token, ['active']);
    await first.close();

    const second = await startHarness({ dataDirectory });
    try {
      const after = await second.machine(lease.machineId, lease.tokens.read_token);
      expect(after.body).toMatchObject({
        status: 'active',
        host: before.body.host,
        expires_at: before.body.expires_at,
      });
      const order = await second.getOrder(lease.orderId);
      expect(order.body).toMatchObject({ status: 'settled', machine_id: lease.machineId });
      expect(order.body.refund).toBeUndefined();
      expect(eventsOf(second)).toContain('lease.resumed_after_restart');

      // The resumed execution holds the lease again: an early DELETE wakes it and it terminates.
      expect((await second.terminate(lease.machineId, lease.tokens.terminate_token)).status).toBe(
        200,
      );
      await second.waitForStatus(lease.machineId, lease.tokens.read_token, ['terminated']);
      const record = await second.storefront.machines.get(lease.machineId, new Date(0));
      expect(second.fleet.ec2.instance(record?.instance_id ?? '')?.State?.Name).toMatch(
        /shutting-down|terminated/,
      );
      expect(second.fleet.ec2.running()).toEqual([]);
    } finally {
      await second.close();
    }
  });

  it('lets a lease that was provisioning become active on the machine launched before', async () => {
    const dataDirectory = newDataDirectory();
    // Machines that never finish booting in the first run.
    const first = await startHarness({
      dataDirectory,
      ec2Timing: { bootMs: 3_600_000, readyMs: 20, shutdownMs: 20 },
    });
    const lease = await buyMachine(first, LONG_LEASE);
    for (;;) {
      const record = await first.storefront.machines.get(lease.machineId, new Date(0));
      if (record?.instance_id) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const launched = await first.storefront.machines.get(lease.machineId, new Date(0));
    expect(launched?.status).toBe('provisioning');
    await first.close();

    // The simulated machine's boot script ran in the first process and is gone with it (on
    // AWS the machine calls the same public URL whatever restarts): its lease is found ready
    // by the fallback poll, after a short wait for a callback that cannot come.
    const second = await startHarness({
      dataDirectory,
      workflowTiming: { pollMs: 10, retryMs: 5, readyWaitMs: 50 },
    });
    try {
      await second.waitForStatus(lease.machineId, lease.tokens.read_token, ['active']);
      const record = await second.storefront.machines.get(lease.machineId, new Date(0));
      expect(record?.instance_id).toBe(launched?.instance_id);
      // One instance for the lease: the relaunch found the first one by its client token.
      expect(second.fleet.ec2.running().map((instance) => instance.InstanceId)).toEqual([
        launched?.instance_id,
      ]);
      expect(second.fleet.ec2.instance(record?.instance_id ?? '')?.PublicIpAddress).toBe(
        record?.host,
      );
    } finally {
      await second.close();
    }
  });

  it('fails and refunds a lease whose machine the restarted fleet no longer knows', async () => {
    const dataDirectory = newDataDirectory();
    const first = await startHarness({ dataDirectory });
    const lease = await buyMachine(first, LONG_LEASE);
    await first.waitForStatus(lease.machineId, lease.tokens.read_token, ['active']);
    await first.close();
    // The fleet's journal is gone (data written before the fleet was kept, say).
    rmSync(join(dataDirectory, 'simulated-ec2.jsonl'));

    const second = await startHarness({ dataDirectory });
    try {
      const machine = await second.machine(lease.machineId, lease.tokens.read_token);
      expect(machine.body).toMatchObject({
        status: 'failed',
        failure_reason: expect.stringContaining('refunded'),
      });
      const paid = await second.storefront.orders.get(lease.orderId, new Date());
      const order = await second.getOrder(lease.orderId);
      expect(order.body).toMatchObject({
        status: 'settled',
        refund: { status: 'refunded', amount_cents: paid?.amount_cents },
      });
      expect(paid?.amount_cents).toBeGreaterThan(0);
      expect(eventsOf(second)).toContain('lease.lost_by_restart');
    } finally {
      await second.close();
    }
  });

  it('ends a lease whose time ran out while the storefront was stopped', async () => {
    const dataDirectory = newDataDirectory();
    const clock = offsetClock();
    const first = await startHarness({ dataDirectory, clock });
    const lease = await buyMachine(first, LONG_LEASE);
    await first.waitForStatus(lease.machineId, lease.tokens.read_token, ['active']);
    await first.close();
    clock.jump(3 * 3_600_000);

    const second = await startHarness({ dataDirectory, clock });
    try {
      await second.waitForStatus(lease.machineId, lease.tokens.read_token, ['terminated']);
      const record = await second.storefront.machines.get(lease.machineId, new Date(0));
      expect(second.fleet.ec2.instance(record?.instance_id ?? '')?.State?.Name).toMatch(
        /shutting-down|terminated/,
      );
      expect((await second.getOrder(lease.orderId)).body.refund).toBeUndefined();
    } finally {
      await second.close();
    }
  });

  it('finishes ending a lease that was terminating, and its machine', async () => {
    const dataDirectory = newDataDirectory();
    const first = await startHarness({ dataDirectory });
    const lease = await buyMachine(first, LONG_LEASE);
    await first.waitForStatus(lease.machineId, lease.tokens.read_token, ['active']);
    // The first process stops after the DELETE and before its workflow could end the lease.
    first.fleet.workflow.injectFault(STATES.endLease, { hang: true });
    expect((await first.terminate(lease.machineId, lease.tokens.terminate_token)).status).toBe(200);
    for (;;) {
      if (first.fleet.workflow.execution(lease.machineId)?.states.includes(STATES.endLease)) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const record = await first.storefront.machines.get(lease.machineId, new Date(0));
    expect(record?.status).toBe('terminating');
    expect(first.fleet.ec2.instance(record?.instance_id ?? '')?.State?.Name).toBe('running');
    await first.close();

    const second = await startHarness({ dataDirectory });
    try {
      await second.waitForStatus(lease.machineId, lease.tokens.read_token, ['terminated']);
      expect(second.fleet.ec2.instance(record?.instance_id ?? '')?.State?.Name).toMatch(
        /shutting-down|terminated/,
      );
      expect(eventsOf(second)).toContain('lease.resumed_after_restart');
    } finally {
      await second.close();
    }
  });
});
