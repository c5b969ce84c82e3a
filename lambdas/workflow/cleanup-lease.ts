import {
  DescribeInstancesCommand,
  type EC2Client,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { LeaseLifecycleStore } from '../adapters/dynamodb/lease-lifecycle-store.js';
import { INSTANCE_TAGS } from '../adapters/ec2/instance-tags.js';
import type { Clock, Logger, MachineStore } from '../core/ports.js';
import { onWorkflowLambda } from '../runtime/aws-workflow.js';
import { ec2Client } from '../runtime/parts/ec2-client.js';
import { refundEnvironmentSchema } from '../runtime/workflow-environment.js';
import { type ExecutionStatusChange, leaseOfEvent } from './execution-status.js';
import { awsRefundLease, type RefundLease } from './refund-lease.js';

export interface CleanupDependencies {
  ec2: Pick<EC2Client, 'send'>;
  machines: Pick<MachineStore, 'get'>;
  lifecycle: Pick<LeaseLifecycleStore, 'markTerminated' | 'markFailed'>;
  refund: RefundLease;
  managedBy: string;
  clock: Clock;
  log: Logger;
}

export interface CleanupReport {
  machine_id: string;
  instances_terminated: string[];
  /** The lease's status after the cleanup. */
  status: string;
  /** Whether the cleanup had to record the lease's end (the workflow had not). */
  lease_recorded: boolean;
  refunded_cents: number;
}

export const CLEANUP_FAILURE_REASON =
  'the machine could not be provided: its workflow stopped before it was ready';

/** Every storefront instance tagged with the lease, whatever the lease record says. */
async function instancesOfLease(deps: CleanupDependencies, machineId: string) {
  const ids: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await deps.ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: `tag:${INSTANCE_TAGS.managedBy}`, Values: [deps.managedBy] },
          { Name: `tag:${INSTANCE_TAGS.machineId}`, Values: [machineId] },
          { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
        ],
        NextToken,
      }),
    );
    for (const reservation of page.Reservations ?? [])
      for (const instance of reservation.Instances ?? [])
        if (instance.InstanceId) ids.push(instance.InstanceId);
    NextToken = page.NextToken;
  } while (NextToken);
  return ids;
}

/**
 * Ends a lease whose execution failed, timed out or was aborted, in the order that keeps
 * money and machines safe: terminate first (nothing below may stop that), then record the
 * lease as failed (never usable) or terminated, then refund what a failed lease owes. Every
 * step is idempotent, so a retried event (EventBridge and Lambda both retry) is harmless.
 */
export const createCleanupLease =
  (deps: CleanupDependencies) =>
  async (machineId: string): Promise<CleanupReport> => {
    const now = deps.clock.now();
    const instances = await instancesOfLease(deps, machineId);
    if (instances.length)
      await deps.ec2.send(new TerminateInstancesCommand({ InstanceIds: instances }));

    const found = await deps.machines.get(machineId, new Date(0));
    const recorded =
      found?.status === 'provisioning'
        ? await deps.lifecycle.markFailed(machineId, CLEANUP_FAILURE_REASON, now)
        : found?.status === 'active' || found?.status === 'terminating'
          ? await deps.lifecycle.markTerminated(machineId, now)
          : undefined;
    const machine = recorded ?? found;

    let refundedCents = 0;
    if (machine?.status === 'failed' && machine.refund_due)
      refundedCents = (await deps.refund({ machine_id: machineId })).refunded_cents;

    const report: CleanupReport = {
      machine_id: machineId,
      instances_terminated: instances,
      status: machine?.status ?? 'gone',
      lease_recorded: Boolean(recorded),
      refunded_cents: refundedCents,
    };
    deps.log.warn('lease.cleaned_up', { ...report });
    return report;
  };

/** The cleanup as the status-change rule invokes it: executions that ended badly only. */
export const createCleanupOnStatusChange = (deps: CleanupDependencies) => {
  const cleanup = createCleanupLease(deps);
  return async (event: ExecutionStatusChange): Promise<CleanupReport | undefined> => {
    const machineId = leaseOfEvent(event);
    return machineId ? cleanup(machineId) : undefined;
  };
};

/** Lambda entry point (an EventBridge rule on the lease state machine's status changes). */
export const handler = onWorkflowLambda<
  ExecutionStatusChange,
  CleanupReport | undefined,
  typeof refundEnvironmentSchema
>(
  async (context) =>
    createCleanupOnStatusChange({
      ...context,
      refund: await awsRefundLease(context),
      managedBy: context.config.MANAGED_BY,
    }),
  { environment: refundEnvironmentSchema, ec2: ec2Client },
);
