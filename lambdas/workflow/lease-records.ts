import type { LeaseLifecycleStore } from '../adapters/dynamodb/lease-lifecycle-store.js';
import { instanceTagLeaseDeadlines } from '../adapters/ec2/lease-deadline-tags.js';
import { type LeaseClock, leaseClock, leaseEndFromActivation } from '../core/machine.js';
import type { Clock, LeaseDeadlines, Logger, MachineStore } from '../core/ports.js';
import { onWorkflowLambda } from '../runtime/aws-workflow.js';
import { ec2Client } from '../runtime/parts/ec2-client.js';
import {
  createEndLease,
  type EndLeaseDependencies,
  type LeaseEnded,
  NEVER_USABLE,
} from './end-lease.js';
import { WORKFLOW_ERRORS, WorkflowError } from './workflow-errors.js';

export interface LeaseRecordDependencies {
  machines: Pick<MachineStore, 'get'>;
  lifecycle: Pick<
    LeaseLifecycleStore,
    'activate' | 'holdWakeToken' | 'markTerminating' | 'markTerminated' | 'markFailed'
  >;
  /** Terminates the instance when the lease ends ("End lease"). */
  ec2: EndLeaseDependencies['ec2'];
  /** Tells the machine its lease end once activation has fixed it. */
  deadlines?: LeaseDeadlines;
  clock: Clock;
  log: Logger;
}

/** A caught workflow error as Step Functions passes it on: `{ Error, Cause }`. */
export interface CaughtError {
  Error?: string;
  Cause?: string;
}

export type LeaseRecordInput =
  | { action: 'start_clock'; machine_id: string; host: string; ssh_port: number }
  | { action: 'hold'; machine_id: string; token: string }
  | { action: 'check'; machine_id: string }
  | { action: 'record_failure'; machine_id: string; reason?: string; error?: CaughtError }
  | { action: 'end_lease'; machine_id: string };

/** What a bookkeeping step wrote; `status` is the lease's status after it. */
export interface LeaseRecorded {
  recorded: boolean;
  status?: string;
}

const GENERIC_FAILURE = NEVER_USABLE;

/** Reads and conditional writes of one activation before the step gives up to its retry. */
const ACTIVATION_ATTEMPTS = 3;

/** Our own workflow errors carry a message meant for agents; anything else is not shown. */
export function failureReason(input: { reason?: string; error?: CaughtError }): string {
  if (input.reason) return input.reason;
  const ours = Object.values(WORKFLOW_ERRORS) as string[];
  if (!input.error?.Error || !ours.includes(input.error.Error)) return GENERIC_FAILURE;
  const cause = input.error.Cause ?? '';
  try {
    // Lambda errors arrive as {"errorType","errorMessage","trace"} in Cause.
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // Cause is the message itself.
  }
  return cause || GENERIC_FAILURE;
}

/**
 * The lease's bookkeeping steps: every status change the workflow makes goes through the
 * same conditional writes the API uses, so neither can undo the other's transition.
 */
export const createLeaseRecords = (deps: LeaseRecordDependencies) => {
  const endLease = createEndLease(deps);
  return async (input: LeaseRecordInput): Promise<LeaseClock | LeaseRecorded | LeaseEnded> => {
    const now = deps.clock.now();
    const clockOf = (expiresAt: string, active: boolean) => leaseClock(expiresAt, now, active);
    switch (input.action) {
      case 'start_clock': {
        let machine = await deps.machines.get(input.machine_id, now);
        // The end is computed from the lease minutes read; an extension paid in between
        // changes them and refuses the write, so read again and compute it anew.
        for (let attempt = 0; attempt < ACTIVATION_ATTEMPTS; attempt++) {
          // The machine's own ready callback got there first: the lease is already under way.
          if (machine?.status === 'active') return clockOf(machine.expires_at, true);
          if (machine?.status !== 'provisioning') {
            throw new WorkflowError(
              WORKFLOW_ERRORS.leaseNotActive,
              `lease is ${machine?.status ?? 'gone'}`,
            );
          }
          const expiresAt = leaseEndFromActivation(machine, now);
          // The machine learns its end before the agent can see the lease active.
          await deps.deadlines?.publish({ ...machine, expires_at: expiresAt });
          const active = await deps.lifecycle.activate(input.machine_id, {
            host: input.host,
            sshPort: input.ssh_port,
            activatedAt: now.toISOString(),
            expiresAt,
            leaseMinutes: machine.lease_minutes,
          });
          if (active) {
            deps.log.info('lease.active', {
              machine_id: input.machine_id,
              host: input.host,
              expires_at: active.expires_at,
            });
            return clockOf(active.expires_at, true);
          }
          // Lost a race: to the machine's own callback (the lease goes on), to an extension
          // (computed again), or to an end.
          machine = await deps.machines.get(input.machine_id, now);
        }
        // Extended again at every try: the step's retry starts over.
        throw new Error('the lease kept changing while its clock was being started');
      }
      case 'hold': {
        const held = await deps.lifecycle.holdWakeToken(input.machine_id, input.token);
        if (!held)
          throw new WorkflowError(WORKFLOW_ERRORS.leaseNotActive, 'lease is no longer active');
        // Every hold (the first after activation, and each re-arm after an extension) tells the
        // machine its current end; the lease's record stays the truth whatever the machine shows.
        await deps.deadlines?.publish(held);
        return clockOf(held.expires_at, true);
      }
      case 'check': {
        const machine = await deps.machines.get(input.machine_id, now);
        if (!machine) return { due: true, seconds_remaining: 1 };
        return clockOf(machine.expires_at, machine.status === 'active');
      }
      case 'record_failure': {
        const reason = failureReason(input);
        // Only provisioning steps record failures: a lease active here was activated by its
        // ready callback after the workflow gave up, and End lease terminates it next.
        const failed = await deps.lifecycle.markFailed(input.machine_id, reason, now, true);
        deps.log.warn('lease.failed', {
          machine_id: input.machine_id,
          reason,
          error: input.error?.Error,
        });
        return { recorded: Boolean(failed) };
      }
      case 'end_lease':
        return endLease(input);
    }
  };
};

/** Lambda entry point. */
export const handler = onWorkflowLambda(
  (context) =>
    createLeaseRecords({
      ...context,
      deadlines: instanceTagLeaseDeadlines(context.ec2, context.log),
    }),
  // It moves the machine's lease-end tag at activation, so it bundles the EC2 client.
  { ec2: ec2Client },
);
