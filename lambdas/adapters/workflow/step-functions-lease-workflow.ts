import {
  ExecutionAlreadyExists,
  InvalidToken,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { LeaseStartThrottled } from '../../core/errors.js';
import type { LeaseClock, MachineRecord } from '../../core/machine.js';
import type { LeaseWorkflow, Logger } from '../../core/ports.js';

/** The wake-up message a held lease receives when its machine is terminated early. */
export const TERMINATION_SIGNAL = { reason: 'termination_requested' } as const;
/** The wake-up message a held lease receives when it was extended: it re-arms at the new end. */
export const EXTENSION_SIGNAL = { reason: 'lease_extended' } as const;
/** The wake-up message of the launch's wait: the machine called back and its lease is active. */
export const READY_SIGNAL = { reason: 'ready' } as const;

type Signal =
  | typeof TERMINATION_SIGNAL
  | typeof EXTENSION_SIGNAL
  | (typeof READY_SIGNAL & LeaseClock);

/**
 * What an execution starts from: the machine, and its instance when one was launched, so an
 * execution started for a lease already under way can still terminate that instance.
 */
export function leaseExecutionInput(machine: MachineRecord) {
  return {
    machine_id: machine.machine_id,
    ...(machine.instance_id ? { instance: { instance_id: machine.instance_id } } : {}),
  };
}

/** The SDK marks the errors it classed as throttling; Step Functions' own code is ThrottlingException. */
const isThrottling = (error: unknown) => {
  const { name, $retryable } = error as { name?: string; $retryable?: { throttling?: boolean } };
  return name === 'ThrottlingException' || $retryable?.throttling === true;
};

/**
 * One Step Functions execution per lease, named after the machine so the console finds
 * it by id, and so a retried start never launches a second lease.
 */
export class StepFunctionsLeaseWorkflow implements LeaseWorkflow {
  constructor(
    private readonly sfn: Pick<SFNClient, 'send'>,
    private readonly stateMachineArn: string,
    private readonly log: Logger,
  ) {}

  async start(machine: MachineRecord): Promise<void> {
    try {
      await this.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name: machine.machine_id,
          input: JSON.stringify(leaseExecutionInput(machine)),
        }),
      );
    } catch (error) {
      // Same name: the lease's execution already exists (running or finished).
      if (error instanceof ExecutionAlreadyExists) return;
      // Still throttled after the client's retries (the StartExecution quota): worth starting later.
      if (isThrottling(error)) {
        throw new LeaseStartThrottled(machine.machine_id, (error as Error).name);
      }
      throw error;
    }
  }

  terminationRequested(machine: MachineRecord): Promise<void> {
    return this.wake(machine, TERMINATION_SIGNAL);
  }

  extensionApplied(machine: MachineRecord): Promise<void> {
    // While provisioning, the token is the launch's wait for readiness: an extension only
    // adds minutes there, and the clock it starts reads them.
    if (machine.status !== 'active') return Promise.resolve();
    return this.wake(machine, EXTENSION_SIGNAL);
  }

  readinessReported(machine: MachineRecord, clock: LeaseClock): Promise<void> {
    return this.wake(machine, { ...READY_SIGNAL, ...clock });
  }

  private async wake(machine: MachineRecord, signal: Signal): Promise<void> {
    // Without a token the workflow is still provisioning; it checks the lease itself.
    if (!machine.wake_token) return;
    try {
      await this.sfn.send(
        new SendTaskSuccessCommand({
          taskToken: machine.wake_token,
          output: JSON.stringify(signal),
        }),
      );
    } catch (error) {
      // The wait already ended (lease due, or woken before): the workflow sees the status anyway.
      if (
        error instanceof TaskTimedOut ||
        error instanceof TaskDoesNotExist ||
        error instanceof InvalidToken
      ) {
        this.log.info('lease.wake_skipped', { machine_id: machine.machine_id, reason: error.name });
        return;
      }
      throw error;
    }
  }
}
