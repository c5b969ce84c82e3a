import type * as z from 'zod';
import { documentClient } from '../adapters/dynamodb/document-client.js';
import { LeaseLifecycleStore } from '../adapters/dynamodb/lease-lifecycle-store.js';
import { liveLeasesEndedBefore } from '../adapters/dynamodb/live-leases.js';
import { DynamoMachineStore } from '../adapters/dynamodb/machine-store.js';
import { tcpSshProbe } from '../adapters/ssh/tcp-ssh-probe.js';
import { parseCatalogJson } from '../core/catalog.js';
import { parseEnvironment } from './environment-values.js';
import { jsonLogger } from './logger.js';
import { embeddedMetrics } from './metrics.js';
import type { CommandSender, FunctionRuntime } from './runtime-clients.js';
import { startTracing, tracedClient } from './tracing.js';
import {
  type WorkflowEnvironmentSchema,
  workflowEnvironmentSchema,
} from './workflow-environment.js';

export interface WorkflowFunctionOptions<Schema extends WorkflowEnvironmentSchema> {
  /** The function's environment schema (lambdas/runtime/workflow-environment.ts). */
  environment?: Schema;
  /** The EC2 client, for the steps that call EC2 (the others do not bundle it). */
  ec2?: () => CommandSender;
}

function unavailableEc2(): CommandSender {
  return {
    send: async () => {
      throw new Error('this workflow function was not given an EC2 client');
    },
  };
}

/**
 * The composition root of the workflow's functions, on Lambda and locally alike: the
 * function's environment parsed by its own schema, the table, and the clients given by the
 * runtime (local endpoints) or built for AWS.
 */
export function awsWorkflowContext<Schema extends WorkflowEnvironmentSchema>(
  runtime: FunctionRuntime,
  options: WorkflowFunctionOptions<Schema> = {},
) {
  const schema = (options.environment ?? workflowEnvironmentSchema) as Schema;
  const config = parseEnvironment(schema, runtime.env, 'workflow') as z.output<Schema>;
  const clients = runtime.clients ?? {};
  // Clients built here for AWS show their calls in X-Ray; local stand-ins are used as given.
  const db = clients.dynamodb
    ? documentClient(clients.dynamodb)
    : tracedClient(documentClient(clients.dynamodb));
  const awsEc2 = options.ec2 ? () => tracedClient(options.ec2?.() as CommandSender) : undefined;
  return {
    config,
    ec2: clients.ec2 ?? awsEc2?.() ?? unavailableEc2(),
    db,
    catalog: parseCatalogJson(config.PRODUCT_CATALOG),
    machines: new DynamoMachineStore(db, config.TABLE_NAME),
    lifecycle: new LeaseLifecycleStore(db, config.TABLE_NAME, config.RETENTION_DAYS),
    staleLeases: (cutoff: Date) => liveLeasesEndedBefore(db, config.TABLE_NAME, cutoff),
    /** The runtime's clients, for the parts a step adds itself (secrets). */
    clients,
    /** The whole environment, for the payment methods, which parse their own variables. */
    env: runtime.env,
    probe: clients.sshProbe ?? tcpSshProbe(),
    metrics: embeddedMetrics({ Stack: config.MANAGED_BY }),
    clock: clients.clock ?? { now: () => new Date() },
    log: clients.log ?? jsonLogger(),
  };
}

export type AwsWorkflowContext<
  Schema extends WorkflowEnvironmentSchema = WorkflowEnvironmentSchema,
> = ReturnType<typeof awsWorkflowContext<Schema>>;

export interface WorkflowFunction<I, O> {
  /** Lambda's handler: composed from process.env and the real AWS clients on first use. */
  (input: I): Promise<O>;
  /** The same function with the environment and clients given (the local storefront, tests). */
  with(runtime: FunctionRuntime): (input: I) => Promise<O>;
}

/**
 * A workflow step's Lambda entry: the step is built on first use (reading secrets, if it
 * needs any) and reused; a failed build is retried on the next invocation.
 */
export function onWorkflowLambda<
  I,
  O,
  Schema extends WorkflowEnvironmentSchema = typeof workflowEnvironmentSchema,
>(
  build: (
    context: AwsWorkflowContext<Schema>,
  ) => ((input: I) => Promise<O>) | Promise<(input: I) => Promise<O>>,
  options: WorkflowFunctionOptions<Schema> = {},
): WorkflowFunction<I, O> {
  const instance = (runtime: () => FunctionRuntime) => {
    let step: Promise<(input: I) => Promise<O>> | undefined;
    return async (input: I): Promise<O> => {
      step ??= Promise.resolve()
        // Before the context builds its AWS clients, so that they are traced (on Lambda only).
        .then(() => startTracing())
        .then(() => build(awsWorkflowContext(runtime(), options)))
        .catch((error: unknown) => {
          step = undefined;
          throw error;
        });
      return (await step)(input);
    };
  };
  const lambda = instance(() => ({ env: process.env }));
  return Object.assign((input: I) => lambda(input), {
    with: (runtime: FunctionRuntime) => instance(() => runtime),
  });
}
