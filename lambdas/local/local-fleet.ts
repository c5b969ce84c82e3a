import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateTagsCommand,
  DescribeCapacityReservationsCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { retryConfig } from '../adapters/aws-retry.js';
import { parseCatalogJson } from '../core/catalog.js';
import type { ProductId } from '../core/products.js';
import type { CommandSender, RuntimeClients } from '../runtime/runtime-clients.js';
import { handler as cleanup } from '../workflow/cleanup-lease.js';
import { handler as inspect } from '../workflow/inspect-instance.js';
import { handler as launch } from '../workflow/launch-instance.js';
import { handler as records } from '../workflow/lease-records.js';
import { handler as reconcile } from '../workflow/reconcile-fleet.js';
import { handler as refund } from '../workflow/refund-lease.js';
import { handler as watchCapacity } from '../workflow/watch-capacity.js';
import type { SimulatedAwsLimits } from './aws-limits/documented-limits.js';
import { type LimitedEc2, limitedEc2 } from './aws-limits/limited-ec2.js';
import { sdkClientOver } from './aws-limits/sdk-client-over.js';
import { signedAs } from './dynalite-server.js';
import { LocalLeaseWorkflow, type LocalWorkflowTiming } from './local-lease-workflow.js';
import { localServiceQuotas } from './local-service-quotas.js';
import { SimulatedBoot } from './simulated-boot.js';
import { SimulatedEc2, SimulatedEc2Error, type SimulatedEc2Timing } from './simulated-ec2.js';
import type { SynthesizedStack, WorkflowFunction } from './synthesized-workflow.js';

export interface LocalFleetOptions {
  /** The synthesised stack: the state machine and each function's template environment. */
  stack: SynthesizedStack;
  /** The local endpoints and clock every function is given (DynamoDB, secrets, clock, log). */
  clients: RuntimeClients & Required<Pick<RuntimeClients, 'dynamodb' | 'clock' | 'log'>>;
  ec2Timing: SimulatedEc2Timing;
  workflowTiming: LocalWorkflowTiming;
  /** Keeps the simulated machines in this file, so they outlive a restart. */
  ec2JournalFile?: string;
  /** Public addresses the simulated EC2 hands out (default: the 762 of the documentation ranges). */
  ec2Addresses?: readonly string[];
  /** EC2's API throttling and capacity errors, simulated (off when absent). */
  ec2Limits?: SimulatedAwsLimits['ec2'];
  /** Attempts of the functions' EC2 client over the limited EC2 (default: the deployed one's). */
  sdkMaxAttempts?: number;
}

/** The EC2 calls the storefront's functions make, for the SDK client over the simulated EC2. */
const EC2_COMMANDS = [
  CreateTagsCommand,
  DescribeCapacityReservationsCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
];

/**
 * With simulated limits, the functions reach the limited EC2 through a real EC2 client, so its
 * retries are the SDK's (as on Lambda); the state machine's own EC2 calls reach it directly,
 * as Step Functions' SDK integrations do not retry (the states' Retry blocks do).
 */
function limitedEc2Clients(
  ec2: SimulatedEc2,
  limits: NonNullable<SimulatedAwsLimits['ec2']>,
  now: () => number,
  maxAttempts: number | undefined,
): { functions: CommandSender; workflow: LimitedEc2 } {
  const workflow = limitedEc2(ec2, limits, now);
  const client = new EC2Client({
    region: 'local',
    endpoint: 'http://simulated-ec2.local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...retryConfig('ec2'),
    ...(maxAttempts ? { maxAttempts } : {}),
  });
  return { functions: sdkClientOver(client, workflow, EC2_COMMANDS), workflow };
}

/**
 * The lease lifecycle on one machine: the synthesised state machine run locally, each step
 * being the workflow function's own Lambda entry with its template environment, and a
 * simulated EC2 fleet in place of EC2.
 */
export function localFleet(options: LocalFleetOptions) {
  const { stack, clients } = options;
  const launchEnvironment = stack.environments.workflow.launch;
  const catalog = parseCatalogJson(launchEnvironment.PRODUCT_CATALOG ?? '{}');
  const productByTemplate = new Map(
    Object.entries(
      JSON.parse(launchEnvironment.LAUNCH_TEMPLATES ?? '{}') as Record<string, string>,
    ).map(([product, template]) => [template, product as ProductId]),
  );
  const ec2 = new SimulatedEc2(
    (launchTemplateId) => {
      const productId = productByTemplate.get(launchTemplateId);
      if (!productId) {
        throw new SimulatedEc2Error(
          'InvalidLaunchTemplateId.NotFound',
          `The specified launch template, with template ID ${launchTemplateId}, does not exist.`,
        );
      }
      return catalog[productId].instance.instanceType;
    },
    options.ec2Timing,
    () => clients.clock.now().getTime(),
    {
      ...(options.ec2JournalFile ? { journalFile: options.ec2JournalFile } : {}),
      ...(options.ec2Addresses ? { addresses: options.ec2Addresses } : {}),
    },
  );
  // The machines' boot scripts call the storefront's ready endpoint, as real machines do.
  const boot = new SimulatedBoot({
    ec2,
    timing: options.ec2Timing,
    clockSpeedup: options.workflowTiming.clockSpeedup,
    log: clients.log,
  });
  const limited = options.ec2Limits
    ? limitedEc2Clients(
        ec2,
        options.ec2Limits,
        () => clients.clock.now().getTime(),
        options.sdkMaxAttempts,
      )
    : undefined;
  const stepClients: RuntimeClients = {
    ...clients,
    ec2: limited?.functions ?? ec2,
    serviceQuotas: localServiceQuotas(ec2),
    sshProbe: ec2.probe,
  };
  const runtimeOf = (role: WorkflowFunction) => ({
    env: stack.environments.workflow[role],
    clients: { ...stepClients, dynamodb: signedAs(clients.dynamodb, role) },
  });
  // Step Functions' DynamoDB integrations do not retry by themselves: the states' Retry blocks
  // do. They sign as Step Functions, so the request counts say whose calls they were.
  const dynamo = new DynamoDBClient({
    ...signedAs(clients.dynamodb, 'states'),
    maxAttempts: 1,
    cacheMiddleware: true,
  });
  const workflow = new LocalLeaseWorkflow({
    workflow: stack,
    steps: {
      launch: launch.with(runtimeOf('launch')),
      inspect: inspect.with(runtimeOf('inspect')),
      records: records.with(runtimeOf('records')),
      refund: refund.with(runtimeOf('refund')),
      reconcile: reconcile.with(runtimeOf('reconcile')),
      cleanup: cleanup.with(runtimeOf('cleanup')),
      watchCapacity: watchCapacity.with(runtimeOf('watchCapacity')),
    },
    ec2: limited?.workflow ?? ec2,
    dynamo,
    timing: options.workflowTiming,
    log: clients.log,
    // The status-change rule's target: the cleanup function, as EventBridge would invoke it.
    onExecutionEndedBadly: cleanup.with(runtimeOf('cleanup')),
  });
  const reconcileNow = reconcile.with(runtimeOf('reconcile'));
  const watchCapacityNow = watchCapacity.with(runtimeOf('watchCapacity'));
  return {
    ec2,
    boot,
    /** What the functions call EC2 through: the simulated EC2, limited when limits are on. */
    ec2Client: limited?.functions ?? ec2,
    /** The limited EC2 (refusals, termination times), when limits are on. */
    limitedEc2: limited?.workflow,
    workflow,
    /** The refund step's own entry, for leases a restart finds without their machine. */
    refundLease: refund.with(runtimeOf('refund')),
    reconcile: () => reconcileNow({}),
    /** The capacity watcher's run (a schedule on AWS): after changing the simulated limits. */
    watchCapacity: () => watchCapacityNow({}),
    close: async () => {
      boot.close();
      await workflow.close();
      dynamo.destroy();
    },
  };
}
