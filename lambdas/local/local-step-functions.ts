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
        // The execution is named after the machine; its input carries an instance already launched.
        const input = JSON.parse(command.input.input ?? '{}') as {
          instance?: { instance_id?: string };
        };
        await workflow().start({
          machine_id: command.input.name,
          ...(input.instance?.instance_id ? { instance_id: input.instance.instance_id } : {}),
        } as MachineRecord);
        return { executionArn: `${stateMachineArn}:${command.input.name}` };
      }
      if (command instanceof SendTaskSuccessCommand) {
        workflow().sendTaskSuccess(
          command.input.taskToken ?? '',
          JSON.parse(command.input.output ?? '{}') as unknown,
        );
        return {};
      }
      throw new Error(`the local Step Functions has no ${String(command?.constructor?.name)}`);
    },
  };
}
