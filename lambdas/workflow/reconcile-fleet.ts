import {
  DescribeInstancesCommand,
  type EC2Client,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { LeaseLifecycleStore } from '../adapters/dynamodb/lease-lifecycle-store.js';
import { INSTANCE_TAGS } from '../adapters/ec2/instance-tags.js';
import type { MachineRecord } from '../core/machine.js';
import type { Clock, Logger, MachineStore } from '../core/ports.js';
import { orphanReason } from '../core/reconciliation.js';
import { onWorkflowLambda } from '../runtime/aws-workflow.js';
import { ec2Client } from '../runtime/parts/ec2-client.js';
import { refundEnvironmentSchema } from '../runtime/workflow-environment.js';
import { awsRefundLease, type RefundLease } from './refund-lease.js';

export interface ReconcileDependencies {
  ec2: Pick<EC2Client, 'send'>;
  machines: Pick<MachineStore, 'get'>;
  lifecycle: Pick<LeaseLifecycleStore, 'markTerminated' | 'markFailed'>;
  /** Leases still marked live whose end passed before the cutoff. */
  staleLeases: (cutoff: Date) => Promise<MachineRecord[]>;
  managedBy: string;
  graceMinutes: number;
  clock: Clock;
  log: Logger;
  /** Refunds a lease the reconciler failed: the agent never got a usable machine. */
  refund: RefundLease;
  /** Publishes the counts as metrics (an alarm watches OrphanInstancesTerminated). */
  metrics: (counts: Record<string, number>) => void;
}

export interface ReconcileReport {
  instances_checked: number;
  instances_terminated: { instance_id: string; machine_id?: string; reason: string }[];
  leases_closed: { machine_id: string; status: 'terminated' | 'failed' }[];
  /** Failed leases refunded; a refund that failed stays owed on the lease (`refund_due`). */
  leases_refunded: { machine_id: string; refunded_cents: number }[];
  refunds_failed: string[];
}

async function storefrontInstances(deps: ReconcileDependencies) {
  const instances: { instanceId: string; machineId?: string }[] = [];
  let NextToken: string | undefined;
  do {
    const page = await deps.ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: `tag:${INSTANCE_TAGS.managedBy}`, Values: [deps.managedBy] },
          { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
        ],
        NextToken,
      }),
    );
    for (const reservation of page.Reservations ?? []) {
      for (const instance of reservation.Instances ?? []) {
        if (!instance.InstanceId) continue;
        const machineId = instance.Tags?.find((tag) => tag.Key === INSTANCE_TAGS.machineId)?.Value;
        instances.push({ instanceId: instance.InstanceId, ...(machineId ? { machineId } : {}) });
      }
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return instances;
}

/**
 * Scheduled safety net: terminates every storefront instance whose lease no longer needs
 * it (ended, failed, missing, or a duplicate) and closes leases still marked live long
 * after their end. Whatever it has to do means the workflow missed something, so it reports
 * each action and publishes counts as metrics for an alarm.
 */
export const createReconcileFleet =
  (deps: ReconcileDependencies) => async (): Promise<ReconcileReport> => {
    const now = deps.clock.now();
    const report: ReconcileReport = {
      instances_checked: 0,
      instances_terminated: [],
      leases_closed: [],
      leases_refunded: [],
      refunds_failed: [],
    };

    const instances = await storefrontInstances(deps);
    report.instances_checked = instances.length;
    for (const { instanceId, machineId } of instances) {
      const machine = machineId ? await deps.machines.get(machineId, now) : undefined;
      const reason = orphanReason(instanceId, machine, now, deps.graceMinutes);
      if (reason)
        report.instances_terminated.push({
          instance_id: instanceId,
          ...(machineId ? { machine_id: machineId } : {}),
          reason,
        });
    }
    const doomed = report.instances_terminated.map((entry) => entry.instance_id);
    for (let i = 0; i < doomed.length; i += 500) {
      await deps.ec2.send(new TerminateInstancesCommand({ InstanceIds: doomed.slice(i, i + 500) }));
    }

    const cutoff = new Date(now.getTime() - deps.graceMinutes * 60_000);
    for (const lease of await deps.staleLeases(cutoff)) {
      if (lease.status === 'provisioning') {
        if (
          await deps.lifecycle.markFailed(
            lease.machine_id,
            'provisioning did not finish; the machine was released',
            now,
          )
        ) {
          report.leases_closed.push({ machine_id: lease.machine_id, status: 'failed' });
          try {
            const { refunded_cents } = await deps.refund({ machine_id: lease.machine_id });
            report.leases_refunded.push({ machine_id: lease.machine_id, refunded_cents });
          } catch {
            // The refund step recorded the error beside refund_due; the next run or the
            // refund sweeper tries again. Closing the other leases matters more now.
            report.refunds_failed.push(lease.machine_id);
          }
        }
      } else if (await deps.lifecycle.markTerminated(lease.machine_id, now)) {
        report.leases_closed.push({ machine_id: lease.machine_id, status: 'terminated' });
      }
    }

    deps.log.info('reconcile.report', { ...report });
    deps.metrics({
      OrphanInstancesTerminated: report.instances_terminated.length,
      StaleLeasesClosed: report.leases_closed.length,
      FailedLeaseRefundsFailed: report.refunds_failed.length,
    });
    return report;
  };

/** Lambda entry point (an EventBridge schedule). */
export const handler = onWorkflowLambda<unknown, ReconcileReport, typeof refundEnvironmentSchema>(
  async (context) => {
    const reconcile = createReconcileFleet({
      ...context,
      refund: await awsRefundLease(context),
      managedBy: context.config.MANAGED_BY,
      graceMinutes: context.config.RECONCILE_GRACE_MINUTES,
    });
    return () => reconcile();
  },
  { environment: refundEnvironmentSchema, ec2: ec2Client },
);
