import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { CfnStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { ApiFunctions } from '../../lib/api-functions.js';
import type { Compute } from '../../lib/compute.js';
import { cdkJsonContext, readConfig } from '../../lib/config.js';
import type { LeaseWorkflow } from '../../lib/lease-workflow.js';
import type { PaymentSweeper } from '../../lib/payment-sweeper.js';
import { StorefrontStack } from '../../lib/storefront-stack.js';
import {
  LOCAL_ACCOUNT,
  LOCAL_PARTITION,
  LOCAL_REGION,
  LOCAL_ZONES,
  resolveIntrinsics,
} from './cloudformation-intrinsics.js';
import { localPaymentDefaults } from './local-payment-methods.js';

export type WorkflowFunction = keyof LeaseWorkflow['functions'];
export type FunctionEnvironment = Record<string, string>;

export interface SynthesizedWorkflow {
  /** The state machine definition exactly as the stack deploys it, intrinsics resolved locally. */
  definition: Record<string, unknown>;
  /** Which step function a Lambda ARN in the definition stands for. */
  functionByArn: Record<string, WorkflowFunction>;
  /** The state machine's ARN as the functions are given it (status-change events carry it). */
  stateMachineArn: string;
}

export interface SynthesizedStack extends SynthesizedWorkflow {
  /** Each function's environment exactly as the template sets it, references resolved locally. */
  environments: {
    api: Record<string, FunctionEnvironment>;
    workflow: Record<WorkflowFunction, FunctionEnvironment>;
    sweeper: FunctionEnvironment;
  };
}

/** The local stack's name: it is what the stack tags its machines with (MANAGED_BY). */
export const LOCAL_STACK_NAME = 'local-storefront';

const lambdaArn = (logicalId: string) =>
  `arn:${LOCAL_PARTITION}:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${logicalId}`;

const logicalIdOf = (stack: Stack, construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as CfnElement);

/** Local names a reader recognises: the table, `lt-local-<product>`, `subnet-local-<zone>`. */
function localNames(stack: Stack, tableName: string, stateMachine: CfnElement) {
  const data = stack.node.findChild('Data').node.findChild('Table');
  const compute = stack.node.findChild('Compute') as Compute;
  const stateMachineId = stack.getLogicalId(stateMachine);
  const names = new Map<string, string>([
    [logicalIdOf(stack, data), tableName],
    [
      stateMachineId,
      `arn:${LOCAL_PARTITION}:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${stateMachineId}`,
    ],
  ]);
  for (const [product, template] of Object.entries(compute.launchTemplates))
    names.set(logicalIdOf(stack, template), `lt-local-${product}`);
  compute.subnets.forEach((subnet, index) => {
    const { Ref } = stack.resolve(subnet.id) as { Ref?: string };
    if (Ref) names.set(Ref, `subnet-local-${(LOCAL_ZONES[index] ?? `${index}`).slice(-1)}`);
  });
  return {
    ref: (logicalId: string) => names.get(logicalId) ?? `local-${logicalId}`,
    arn: lambdaArn,
  };
}

function environmentOf(
  fn: NodejsFunction,
  names: ReturnType<typeof localNames>,
): FunctionEnvironment {
  const stack = Stack.of(fn);
  const cfn = fn.node.defaultChild as CfnFunction;
  const { variables = {} } = (stack.resolve(cfn.environment) ?? {}) as {
    variables?: Record<string, unknown>;
  };
  return resolveIntrinsics(variables, names) as FunctionEnvironment;
}

/**
 * Builds the production stack (from cdk.json's context plus the given overrides, without
 * bundling the functions) and takes what the local storefront runs from it: the lease
 * state machine `cdk deploy` ships, and every function's environment as the template sets it.
 */
export function synthesizeLocalStack(
  tableName: string,
  contextOverrides: Record<string, unknown> = {},
): SynthesizedStack {
  const context = { ...cdkJsonContext(), ...localPaymentDefaults(), ...contextOverrides };
  const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
  const stack = new StorefrontStack(app, LOCAL_STACK_NAME, { config: readConfig(context) });
  const workflow = stack.node.findChild('LeaseWorkflow') as LeaseWorkflow;
  const api = stack.node.findChild('Functions') as ApiFunctions;
  const sweeper = stack.node.findChild('PaymentSweeper') as PaymentSweeper;
  const cfnStateMachine = workflow.stateMachine.node.defaultChild as CfnStateMachine;
  const names = localNames(stack, tableName, cfnStateMachine);
  const functionByArn: Record<string, WorkflowFunction> = {};
  const workflowEnvironments = {} as Record<WorkflowFunction, FunctionEnvironment>;
  for (const [role, fn] of Object.entries(workflow.functions) as [
    WorkflowFunction,
    NodejsFunction,
  ][]) {
    functionByArn[lambdaArn(logicalIdOf(stack, fn))] = role;
    workflowEnvironments[role] = environmentOf(fn, names);
  }
  const definitionString = resolveIntrinsics(
    Stack.of(workflow).resolve(cfnStateMachine.definitionString),
    names,
  );
  return {
    definition: JSON.parse(definitionString as string) as Record<string, unknown>,
    functionByArn,
    stateMachineArn: names.ref(stack.getLogicalId(cfnStateMachine)),
    environments: {
      api: Object.fromEntries(
        Object.entries(api.byOperation).map(([operationId, fn]) => [
          operationId,
          environmentOf(fn, names),
        ]),
      ),
      workflow: workflowEnvironments,
      sweeper: environmentOf(sweeper.function, names),
    },
  };
}
