import {
  DescribeInstancesCommand,
  EC2Client,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { INSTANCE_TAGS } from '../../lambdas/adapters/ec2/instance-tags.js';
import type { MachineRecord } from '../../lambdas/core/machine.js';
import type { OrderRecord } from '../../lambdas/core/order.js';
import type { RefundRecord } from '../../lambdas/core/payment-records.js';
import { memoryLogger } from '../../lambdas/runtime/logger.js';
import { createCleanupOnStatusChange } from '../../lambdas/workflow/cleanup-lease.js';
import type { ExecutionStatusChange } from '../../lambdas/workflow/execution-status.js';
import { createReconcileFleet } from '../../lambdas/workflow/reconcile-fleet.js';
import { createRefundLease } from '../../lambdas/workflow/refund-lease.js';
import { machineFixture, orderFixture } from '../support/fixtures.js';

const ec2 = mockClient(EC2Client);
const now = new Date('2026-11-29T12:00:00.000Z');
const machineId = 'machine_0123456789abcdef';

/** A lease record with the lifecycle's conditional transitions, in memory. */
function leaseBook(initial: Partial<MachineRecord>) {
  let machine: MachineRecord = machineFixture({ machineId }, initial);
  const order: OrderRecord = orderFixture({
    order_id: machine.order_id,
    payment: { method: 'test', reference: 'pay_1' } as OrderRecord['payment'],
  });
  const calls: string[] = [];
  const lifecycle = {
    markFailed: async (_id: string, reason: string) => {
      calls.push('markFailed');
      if (machine.status !== 'provisioning') return undefined;
      machine = { ...machine, status: 'failed', failure_reason: reason, refund_due: true };
      return machine;
    },
    markTerminated: async () => {
      calls.push('markTerminated');
      if (!['provisioning', 'active', 'terminating'].includes(machine.status)) return undefined;
      machine = { ...machine, status: 'terminated' };
      return machine;
    },
    settleRefund: async () => {
      calls.push('settleRefund');
      const { refund_due: _due, refund_error: _error, ...rest } = machine;
      machine = rest;
      return machine;
    },
    recordRefundError: async (_id: string, error: string) => {
      calls.push('recordRefundError');
      machine = { ...machine, refund_error: error };
      return machine;
    },
  };
  const machines = {
    get: async () => machine,
    listExtensions: async () => [],
    recordExtensionRefund: async () => true,
  };
  const orders = {
    get: async () => order,
    recordRefund: async (_id: string, refund: RefundRecord) => {
      order.refund = refund;
      return true;
    },
    updatePendingRefund: async (_id: string, refund: RefundRecord) => {
      order.refund = refund;
      return true;
    },
  };
  return { calls, lifecycle, machines, orders, order, current: () => machine };
}

const refundOf = (cents: number): RefundRecord => ({
  status: 'refunded',
  amount_cents: cents,
  reference: 'test_refund_1',
  refunded_at: now.toISOString(),
});

function refundStep(book: ReturnType<typeof leaseBook>, fails = false) {
  return createRefundLease({
    ...book,
    refunds: {
      refund: async ({ amountCents }) => {
        book.calls.push('refund');
        if (fails) throw new Error('the payment provider is down');
        return refundOf(amountCents);
      },
    },
    clock: { now: () => now },
    log: memoryLogger(),
  });
}

const statusChange = (status: string, name = machineId) =>
  ({
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    detail: {
      executionArn: `arn:aws:states:us-east-1:123456789012:execution:Lease:${name}`,
      stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:Lease',
      name,
      status,
    },
  }) as ExecutionStatusChange;

describe('the refund step', () => {
  it('refunds a failed lease and clears what it owed', async () => {
    const book = leaseBook({ status: 'failed', refund_due: true });
    expect(await refundStep(book)({ machine_id: machineId })).toMatchObject({
      refunded_cents: book.order.amount_cents,
    });
    expect(book.current().refund_due).toBeUndefined();
  });

  it('keeps the debt on the lease, with the error, when the refund fails', async () => {
    const book = leaseBook({ status: 'failed', refund_due: true });
    await expect(refundStep(book, true)({ machine_id: machineId })).rejects.toThrow(
      /payment provider is down/,
    );
    expect(book.current()).toMatchObject({
      refund_due: true,
      refund_error: 'Error: the payment provider is down',
    });
    expect(book.calls).not.toContain('settleRefund');
  });
});

describe('the cleanup after an execution ended badly', () => {
  beforeEach(() => {
    ec2.reset();
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ InstanceId: 'i-0abc' }] }],
    });
    ec2.on(TerminateInstancesCommand).resolves({});
  });

  const cleanupOf = (book: ReturnType<typeof leaseBook>, refundFails = false) =>
    createCleanupOnStatusChange({
      ec2: new EC2Client({ region: 'us-east-1' }),
      machines: book.machines,
      lifecycle: book.lifecycle,
      refund: refundStep(book, refundFails),
      managedBy: 'Storefront',
      clock: { now: () => now },
      log: memoryLogger(),
    });

  it.each(['FAILED', 'TIMED_OUT', 'ABORTED'])(
    '%s while provisioning: terminates the lease’s instances, fails the lease and refunds it',
    async (status) => {
      const book = leaseBook({ status: 'provisioning' });
      const report = await cleanupOf(book)(statusChange(status));
      expect(report).toEqual({
        machine_id: machineId,
        instances_terminated: ['i-0abc'],
        status: 'failed',
        lease_recorded: true,
        refunded_cents: book.order.amount_cents,
      });
      const [describe] = ec2.commandCalls(DescribeInstancesCommand);
      expect(describe?.args[0].input.Filters).toEqual(
        expect.arrayContaining([
          { Name: `tag:${INSTANCE_TAGS.machineId}`, Values: [machineId] },
          { Name: `tag:${INSTANCE_TAGS.managedBy}`, Values: ['Storefront'] },
        ]),
      );
      expect(ec2.commandCalls(TerminateInstancesCommand)[0]?.args[0].input).toEqual({
        InstanceIds: ['i-0abc'],
      });
    },
  );

  it('ends an active lease without a refund: the agent had the machine', async () => {
    const book = leaseBook({ status: 'active' });
    expect(await cleanupOf(book)(statusChange('ABORTED'))).toMatchObject({
      status: 'terminated',
      refunded_cents: 0,
    });
    expect(book.calls).not.toContain('refund');
  });

  it('terminates first: a refund that fails stops nothing and stays owed', async () => {
    const book = leaseBook({ status: 'provisioning' });
    await expect(cleanupOf(book, true)(statusChange('FAILED'))).rejects.toThrow();
    expect(ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
    expect(book.current()).toMatchObject({ status: 'failed', refund_due: true });
  });

  it('ignores executions that ended well, are running, or are not leases', async () => {
    const book = leaseBook({ status: 'provisioning' });
    const cleanup = cleanupOf(book);
    expect(await cleanup(statusChange('SUCCEEDED'))).toBeUndefined();
    expect(await cleanup(statusChange('RUNNING'))).toBeUndefined();
    expect(await cleanup(statusChange('FAILED', 'some-other-execution'))).toBeUndefined();
    expect(ec2.calls()).toHaveLength(0);
    expect(book.calls).toEqual([]);
  });
});

describe('the reconciler', () => {
  beforeEach(() => {
    ec2.reset();
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
  });

  const reconcileWith = (book: ReturnType<typeof leaseBook>, refundFails = false) =>
    createReconcileFleet({
      ec2: new EC2Client({ region: 'us-east-1' }),
      machines: book.machines,
      lifecycle: book.lifecycle,
      staleLeases: async () => [book.current()],
      refund: refundStep(book, refundFails),
      managedBy: 'Storefront',
      graceMinutes: 10,
      clock: { now: () => now },
      log: memoryLogger(),
      metrics: () => {},
    })();

  it('refunds the provisioning lease it fails', async () => {
    const book = leaseBook({ status: 'provisioning' });
    const report = await reconcileWith(book);
    expect(report.leases_closed).toEqual([{ machine_id: machineId, status: 'failed' }]);
    expect(report.leases_refunded).toEqual([
      { machine_id: machineId, refunded_cents: book.order.amount_cents },
    ]);
    expect(book.order.refund?.status).toBe('refunded');
  });

  it('reports a refund that failed and leaves it owed on the lease', async () => {
    const book = leaseBook({ status: 'provisioning' });
    const report = await reconcileWith(book, true);
    expect(report.refunds_failed).toEqual([machineId]);
    expect(book.current()).toMatchObject({ status: 'failed', refund_due: true });
  });
});
