import type { LeaseLifecycleStore } from '../adapters/dynamodb/lease-lifecycle-store.js';
import type { MachineRecord, MachineStatus } from '../core/machine.js';
import type { Clock, LeaseWorkflow, Logger, MachineStore } from '../core/ports.js';
import type { RefundLease } from '../workflow/refund-lease.js';
import type { SimulatedEc2 } from './simulated-ec2.js';

export interface ResumeLeasesDependencies {
  machines: Pick<MachineStore, 'get'>;
  /** The workflow's refund step (it clears the `refund_due` that failing the lease wrote). */
  refund: RefundLease;
  clock: Clock;
  /** Machine items that were live when the storefront stopped. */
  liveLeases: () => Promise<MachineRecord[]>;
  ec2: Pick<SimulatedEc2, 'instance'>;
  workflow: Pick<LeaseWorkflow, 'start'>;
  lifecycle: Pick<LeaseLifecycleStore, 'markLost' | 'markTerminated'>;
  log: Logger;
}

export interface ResumeReport {
  /** Leases whose workflow runs again: provisioning goes on to active, active holds to its end. */
  resumed: string[];
  /** Leases whose machine is gone: failed, and refunded in full. */
  lostAndRefunded: string[];
  /** Leases that were ending and whose machine is already gone: recorded as terminated. */
  closed: string[];
}

const LIVE: readonly MachineStatus[] = ['provisioning', 'active', 'terminating'];
const LOST_MACHINE =
  'the machine was lost when the local storefront restarted; the payment was refunded';

/**
 * The local storefront's restart: every lease still live in the table goes on from where it
 * was. The simulated fleet has been read back from its journal, so each lease's execution is
 * started again (the state machine sends provisioning to launch, which finds the instance by
 * its client token, active to its hold, terminating to termination). A lease whose instance
 * the fleet does not know any more cannot go on: it is failed and refunded.
 */
export async function resumeLeases(deps: ResumeLeasesDependencies): Promise<ResumeReport> {
  const report: ResumeReport = { resumed: [], lostAndRefunded: [], closed: [] };
  for (const listed of await deps.liveLeases()) {
    // The item, read consistently, decides. Not the live-leases index: DynamoDB documents
    // that "All reads from GSIs and streams are eventually consistent", and dynalite writes
    // index entries before the item, so a kill between the two leaves an entry with no item.
    const lease = await deps.machines.get(listed.machine_id, deps.clock.now());
    if (!lease || !LIVE.includes(lease.status)) {
      deps.log.info('lease.not_live_after_restart', {
        machine_id: listed.machine_id,
        status: lease?.status ?? 'no item',
      });
      continue;
    }
    const machineGone = Boolean(lease.instance_id && !deps.ec2.instance(lease.instance_id));
    if (!machineGone) {
      await deps.workflow.start(lease);
      report.resumed.push(lease.machine_id);
      deps.log.info('lease.resumed_after_restart', {
        machine_id: lease.machine_id,
        status: lease.status,
      });
    } else if (lease.status === 'terminating') {
      if (await deps.lifecycle.markTerminated(lease.machine_id, deps.clock.now()))
        report.closed.push(lease.machine_id);
    } else {
      await failAndRefund(deps, lease);
      report.lostAndRefunded.push(lease.machine_id);
    }
  }
  return report;
}

async function failAndRefund(deps: ResumeLeasesDependencies, lease: MachineRecord) {
  await deps.lifecycle.markLost(lease.machine_id, LOST_MACHINE, deps.clock.now());
  // Also when the write above lost a race: the refund is keyed and recorded once.
  const refund = await deps.refund({ machine_id: lease.machine_id });
  deps.log.warn('lease.lost_by_restart', {
    machine_id: lease.machine_id,
    instance_id: lease.instance_id,
    refunded_cents: refund.refunded_cents,
  });
}
