import { EC2Client } from '@aws-sdk/client-ec2';
import { z } from 'zod';
import { documentClient } from '../adapters/dynamodb/document-client.js';
import { LeaseLifecycleStore } from '../adapters/dynamodb/lease-lifecycle-store.js';
import { liveLeasesEndedBefore } from '../adapters/dynamodb/live-leases.js';
import { DynamoMachineStore } from '../adapters/dynamodb/machine-store.js';
import { parseCatalogJson } from '../core/catalog.js';
import { PRODUCT_IDS } from '../core/products.js';
import { jsonLogger } from './logger.js';
import { embeddedMetrics } from './metrics.js';
import { tracedClient } from './tracing.js';

/** Configuration of the lease workflow's functions, as the CDK stack sets it. */
const workflowEnvironment = z.object({
  TABLE_NAME: z.string().min(1),
  PRODUCT_CATALOG: z.string().default('{}'),
  MANAGED_BY: z.string().min(1),
  RETENTION_DAYS: z.coerce.number().int().min(1),
  RECONCILE_GRACE_MINUTES: z.coerce.number().int().min(1),
  LAUNCH_TEMPLATES: z
    .string()
    .default('{}')
    .transform((text) => JSON.parse(text) as unknown)
    .pipe(z.partialRecord(z.enum(PRODUCT_IDS), z.string())),
  SUBNETS: z
    .string()
    .default('[]')
    .transform((text) => JSON.parse(text) as unknown)
    .pipe(z.array(z.object({ id: z.string(), availabilityZone: z.string() }))),
});

/** Everything the workflow's functions share, built once per container. */
export function awsWorkflowContext(env: NodeJS.ProcessEnv = process.env) {
  const parsed = workflowEnvironment.safeParse(env);
  if (!parsed.success)
    throw new Error(`invalid workflow configuration: ${parsed.error.issues[0]?.message}`);
  const config = parsed.data;
  const db = tracedClient(documentClient());
  return {
    config,
    ec2: tracedClient(new EC2Client({})),
    db,
    catalog: parseCatalogJson(config.PRODUCT_CATALOG),
    machines: new DynamoMachineStore(db, config.TABLE_NAME),
    lifecycle: new LeaseLifecycleStore(db, config.TABLE_NAME, config.RETENTION_DAYS),
    staleLeases: (cutoff: Date) => liveLeasesEndedBefore(db, config.TABLE_NAME, cutoff),
    metrics: embeddedMetrics({ Stack: config.MANAGED_BY }),
    clock: { now: () => new Date() },
    log: jsonLogger(),
  };
}

export type AwsWorkflowContext = ReturnType<typeof awsWorkflowContext>;

/**
 * A workflow step's Lambda entry: the step is built on first use (reading secrets, if it
 * needs any) and reused; a failed build is retried on the next invocation.
 */
export function onWorkflowLambda<I, O>(
  build: (
    context: AwsWorkflowContext,
  ) => ((input: I) => Promise<O>) | Promise<(input: I) => Promise<O>>,
) {
  let step: Promise<(input: I) => Promise<O>> | undefined;
  return async (input: I): Promise<O> => {
    step ??= Promise.resolve()
      .then(() => build(awsWorkflowContext()))
      .catch((error: unknown) => {
        step = undefined;
        throw error;
      });
    return (await step)(input);
  };
}
