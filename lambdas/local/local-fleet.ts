import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parseCatalogJson } from '../core/catalog.js';
import type { ProductId } from '../core/products.js';
import type { RuntimeClients } from '../runtime/runtime-clients.js';
import { handler as cleanup } from '../workflow/cleanup-lease.js';
import { handler as inspect } from '../workflow/inspect-instance.js';
import { handler as launch } from '../workflow/launch-instance.js';
import { handler as records } from '../workflow/lease-records.js';
import { handler as reconcile } from '../workflow/reconcile-fleet.js';
import { handler as refund } from '../workflow/refund-lease.js';
import { handler as watchCapacity } from '../workflow/watch-capacity.js';
import { signedAs } from './dynalite-server.js';
import { LocalLeaseWorkflow, type LocalWorkflowTiming } from './local-lease-workflow.js';
import { localServiceQuotas } from './local-service-quotas.js';
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
    options.ec2JournalFile ? { journalFile: options.ec2JournalFile } : {},
  );
  const stepClients: RuntimeClients = {
    ...clients,
    ec2,
    serviceQuotas: localServiceQuotas(ec2),
    sshProbe: ec2.probe,
  };
  const runtimeOf = (role: WorkflowFunction) => ({
    env: stack.environments.workflow[role],
    clients: { ...stepClients, dynamodb: signedAs(clients.dynamodb, role) },
  });
  // The state machine's own DynamoDB tasks (getItem, updateItem) sign as Step Functions.
  const dynamo = new DynamoDBClient(signedAs(clients.dynamodb, 'states'));
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
    ec2,
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
    workflow,
    /** The refund step's own entry, for leases a restart finds without their machine. */
    refundLease: refund.with(runtimeOf('refund')),
    reconcile: () => reconcileNow({}),
    /** The capacity watcher's run (a schedule on AWS): after changing the simulated limits. */
    watchCapacity: () => watchCapacityNow({}),
    close: async () => {
      await workflow.close();
      dynamo.destroy();
    },
  };
}
