import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import type { CfnStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { cdkJsonContext, readConfig } from '../../lib/config.js';
import type { LeaseWorkflow } from '../../lib/lease-workflow.js';
import { StorefrontStack } from '../../lib/storefront-stack.js';
import {
  LOCAL_ACCOUNT,
  LOCAL_PARTITION,
  LOCAL_REGION,
  resolveIntrinsics,
} from './cloudformation-intrinsics.js';

export type WorkflowFunction = 'launch' | 'inspect' | 'records' | 'refund';

export interface SynthesizedWorkflow {
  /** The state machine definition exactly as the stack deploys it, intrinsics resolved locally. */
  definition: Record<string, unknown>;
  /** Which step function a Lambda ARN in the definition stands for. */
  functionByArn: Record<string, WorkflowFunction>;
  /** The state machine's ARN, as the local model names it (status-change events carry it). */
  stateMachineArn: string;
}

const localArn = (service: string, resource: string) =>
  `arn:${LOCAL_PARTITION}:${service}:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${resource}`;
const lambdaArn = (logicalId: string) => localArn('lambda', `function:${logicalId}`);

/**
 * Builds the production stack (from cdk.json's context, without bundling the functions)
 * and takes its lease state machine, so the local storefront and the tests run the very
 * definition `cdk deploy` ships.
 */
export function synthesizeLeaseWorkflow(tableName: string): SynthesizedWorkflow {
  const context = { ...cdkJsonContext(), 'storefront:testPayments': true };
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  const stack = new StorefrontStack(app, 'LocalStorefront', { config: readConfig(context) });
  const workflow = stack.node.findChild('LeaseWorkflow') as LeaseWorkflow;
  const cfnStateMachine = workflow.stateMachine.node.defaultChild as CfnStateMachine;
  const tableLogicalId = stack.getLogicalId(
    stack.node.findChild('Data').node.findChild('Table').node.defaultChild as CfnElement,
  );
  const functionByArn: Record<string, WorkflowFunction> = {};
  for (const role of ['launch', 'inspect', 'records', 'refund'] as const) {
    functionByArn[
      lambdaArn(stack.getLogicalId(workflow.functions[role].node.defaultChild as CfnElement))
    ] = role;
  }
  const definitionString = resolveIntrinsics(
    Stack.of(workflow).resolve(cfnStateMachine.definitionString),
    {
      ref: (logicalId) => (logicalId === tableLogicalId ? tableName : `local-${logicalId}`),
      arn: lambdaArn,
    },
  );
  return {
    definition: JSON.parse(definitionString as string) as Record<string, unknown>,
    functionByArn,
    stateMachineArn: localArn(
      'states',
      `stateMachine:${stack.getLogicalId(cfnStateMachine as CfnElement)}`,
    ),
  };
}
