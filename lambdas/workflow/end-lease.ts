import { type EC2Client, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import type { LeaseLifecycleStore } from '../adapters/dynamodb/lease-lifecycle-store.js';
import type { Clock, Logger, MachineStore } from '../core/ports.js';

export interface EndLeaseDependencies {
  ec2: Pick<EC2Client, 'send'>;
  machines: Pick<MachineStore, 'get'>;
  lifecycle: Pick<LeaseLifecycleStore, 'markTerminating' | 'markTerminated' | 'markFailed'>;
  clock: Clock;
  log: Logger;
}

/**
 * What "End lease" did; `status` is the lease's status after it: `active` when the lease was
 * not over after all (an extension paid at its end moved it), and nothing was ended.
 */
export interface LeaseEnded {
  status: string;
  /** The lease's end, when it goes on. */
  expires_at?: string;
  /** The instance's state as TerminateInstances reported it, when there was one. */
  instance_state?: string;
  /** Why, when the lease was ended for cause (the execution's history shows it). */
  ended_for_cause?: string;
}

export const NEVER_USABLE = 'the machine could not be provisioned; the operator has been alerted';

/**
 * Step "End lease": closes the lease (active → terminating, so no extension applies any
 * more), terminates its instance, and records the end, in that order, each step idempotent
 * so a retried step redoes only what is missing. A lease still provisioning here never became
 * usable (a step failed before its failure could be recorded): it ends as failed, and so is
 * refunded.
 *
 * The end is recorded as soon as EC2 accepts the terminate: an instance in `shutting-down` is
 * no longer billed ("shutting-down: The instance is preparing to be terminated. Instance
 * usage billing: Not billed", Amazon EC2 user guide, instance lifecycle), so nothing is gained
 * by polling until `terminated`. An instance that somehow outlives this is found by the
 * reconciler, which terminates every tagged instance whose lease has ended.
 */
export const createEndLease =
  (deps: EndLeaseDependencies) =>
  async (input: { machine_id: string }): Promise<LeaseEnded> => {
    const now = deps.clock.now();
    const machineId = input.machine_id;
    const found = await deps.machines.get(machineId, new Date(0));
    // Closed only if its end has come (a conditional write): an extension paid after the lease
    // was found due, and applied before this write, has moved the end and is honoured, never
    // swallowed by terminating the machine it paid for. The workflow holds again.
    if (found?.status === 'active' && !(await deps.lifecycle.markTerminating(machineId, now))) {
      const goingOn = await deps.machines.get(machineId, new Date(0));
      if (goingOn?.status === 'active') {
        deps.log.info('lease.end_not_due', {
          machine_id: machineId,
          expires_at: goingOn.expires_at,
        });
        return { status: 'active', expires_at: goingOn.expires_at };
      }
    }

    let instanceState: string | undefined;
    if (found?.instance_id) {
      try {
        const { TerminatingInstances = [] } = await deps.ec2.send(
          new TerminateInstancesCommand({ InstanceIds: [found.instance_id] }),
        );
        instanceState = TerminatingInstances[0]?.CurrentState?.Name;
      } catch (error) {
        // Gone already (or never listed): nothing is left to terminate.
        if ((error as { name?: string }).name !== 'InvalidInstanceID.NotFound') throw error;
        instanceState = 'terminated';
      }
    }

    let current = await deps.machines.get(machineId, new Date(0));
    // Seen provisioning before the terminate: a ready callback that activated it since did so
    // on an instance now terminated, so that lease fails (and is refunded) too.
    const neverHeld = found?.status === 'provisioning';
    if (current?.status === 'provisioning' || (neverHeld && current?.status === 'active')) {
      const failed = await deps.lifecycle.markFailed(machineId, NEVER_USABLE, now, true);
      if (failed) {
        deps.log.warn('lease.failed', { machine_id: machineId, reason: NEVER_USABLE });
        return { status: failed.status, ...stateOf(instanceState) };
      }
      // Another writer moved it first (its launch step failed it, its agent ended it): it ends
      // as what it is now. "failed" sends the execution to its refund step.
      current = await deps.machines.get(machineId, new Date(0));
    }
    const terminated =
      current?.status === 'active' || current?.status === 'terminating'
        ? await deps.lifecycle.markTerminated(machineId, now)
        : undefined;
    if (terminated) deps.log.info('lease.terminated', { machine_id: machineId });
    return {
      status: terminated?.status ?? current?.status ?? 'gone',
      ...stateOf(instanceState),
      ...(current?.end_cause ? { ended_for_cause: current.failure_reason } : {}),
    };
  };

const stateOf = (state: string | undefined) => (state ? { instance_state: state } : {});
