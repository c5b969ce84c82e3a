import { SendTaskSuccessCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { MachineRecord } from '../core/machine.js';
import type { CommandSender } from '../runtime/runtime-clients.js';
import type { LocalLeaseWorkflow } from './local-lease-workflow.js';

/**
 * Step Functions as the API functions call it (StartExecution, SendTaskSuccess), answered by
 * the local run of the synthesised state machine. The functions keep their own Step
 * Functions adapter; only the endpoint is local.
 */
export function localStepFunctions(
  workflow: () => LocalLeaseWorkflow,
  stateMachineArn: string,
): CommandSender {
  return {
    async send(command: unknown) {
      if (command instanceof StartExecutionCommand) {
        if (command.input.stateMachineArn !== stateMachineArn)
          throw new Error(`no local state machine ${command.input.stateMachineArn}`);
        // The local runner reads only the lease's id (the execution name), as the definition does.
        await workflow().start({ machine_id: command.input.name } as MachineRecord);
        return { executionArn: `${stateMachineArn}:${command.input.name}` };
      }
      if (command instanceof SendTaskSuccessCommand) {
        await workflow().terminationRequested({
          wake_token: command.input.taskToken,
        } as MachineRecord);
        return {};
      }
      throw new Error(`the local Step Functions has no ${String(command?.constructor?.name)}`);
    },
  };
}
