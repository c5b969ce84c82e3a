import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LeaseLifecycleStore } from '../adapters/dynamodb/lease-lifecycle-store.js';
import { liveLeasesEndedBefore } from '../adapters/dynamodb/live-leases.js';
import type { DynamoMachineStore } from '../adapters/dynamodb/machine-store.js';
import type { DynamoOrderStore } from '../adapters/dynamodb/order-store.js';
import { instanceTagLeaseDeadlines } from '../adapters/ec2/lease-deadline-tags.js';
import type { Clock, Logger, RefundGateway } from '../core/ports.js';
import { type Catalog, PRODUCT_IDS, type ProductId } from '../core/products.js';
import { createCleanupOnStatusChange } from '../workflow/cleanup-lease.js';
import { createInspectInstance } from '../workflow/inspect-instance.js';
import { createLaunchInstance } from '../workflow/launch-instance.js';
import { createLeaseRecords } from '../workflow/lease-records.js';
import { createReconcileFleet } from '../workflow/reconcile-fleet.js';
import { createRefundLease } from '../workflow/refund-lease.js';
import { LocalLeaseWorkflow, type LocalWorkflowTiming } from './local-lease-workflow.js';
import { SimulatedEc2, SimulatedEc2Error, type SimulatedEc2Timing } from './simulated-ec2.js';
import { synthesizeLeaseWorkflow } from './synthesized-workflow.js';

export const LOCAL_MANAGED_BY = 'local-storefront';
const templateId = (productId: ProductId) => `lt-local-${productId}`;
export const LOCAL_SUBNETS = ['a', 'b', 'c'].map((zone) => ({
  id: `subnet-local-${zone}`,
  availabilityZone: `local-1${zone}`,
}));

export interface LocalFleetOptions {
  tableName: string;
  orders: DynamoOrderStore;
  refunds: RefundGateway;
  db: DynamoDBDocumentClient;
  dynamoClientConfig: ConstructorParameters<typeof DynamoDBClient>[0];
  catalog: Catalog;
  machines: DynamoMachineStore;
  lifecycle: LeaseLifecycleStore;
  clock: Clock;
  log: Logger;
  ec2Timing: SimulatedEc2Timing;
  workflowTiming: LocalWorkflowTiming;
  reconcileGraceMinutes: number;
  /** Keeps the simulated machines in this file, so they outlive a restart. */
  ec2JournalFile?: string;
}

/**
 * The lease lifecycle on one machine: the synthesised state machine run locally, the
 * workflow's step functions wired to the local table, and a simulated EC2 fleet.
 */
export function localFleet(options: LocalFleetOptions) {
  const { catalog, machines, lifecycle, clock, log } = options;
  const ec2 = new SimulatedEc2(
    (launchTemplateId) => {
      const productId = PRODUCT_IDS.find((id) => templateId(id) === launchTemplateId);
      if (!productId) {
        throw new SimulatedEc2Error(
          'InvalidLaunchTemplateId.NotFound',
          `The specified launch template, with template ID ${launchTemplateId}, does not exist.`,
        );
      }
      return catalog[productId].instance.instanceType;
    },
    options.ec2Timing,
    () => clock.now().getTime(),
    options.ec2JournalFile ? { journalFile: options.ec2JournalFile } : {},
  );
  const dynamo = new DynamoDBClient(options.dynamoClientConfig ?? {});
  const refund = createRefundLease({
    orders: options.orders,
    machines,
    lifecycle,
    refunds: options.refunds,
    clock,
    log,
  });
  const steps = {
    launch: createLaunchInstance({
      ec2,
      machines,
      lifecycle,
      catalog,
      launchTemplates: Object.fromEntries(PRODUCT_IDS.map((id) => [id, templateId(id)])) as Record<
        ProductId,
        string
      >,
      subnets: LOCAL_SUBNETS,
      managedBy: LOCAL_MANAGED_BY,
      clock,
      log,
    }),
    inspect: createInspectInstance({ ec2, machines, probe: ec2.probe, clock }),
    records: createLeaseRecords({
      machines,
      lifecycle,
      deadlines: instanceTagLeaseDeadlines(ec2, log),
      clock,
      log,
    }),
    refund,
  };
  // The status-change rule's target, with the same adapters as the workflow's steps.
  const cleanup = createCleanupOnStatusChange({
    ec2,
    machines,
    lifecycle,
    refund,
    managedBy: LOCAL_MANAGED_BY,
    clock,
    log,
  });
  const workflow = new LocalLeaseWorkflow({
    workflow: synthesizeLeaseWorkflow(options.tableName),
    steps,
    ec2,
    dynamo,
    timing: options.workflowTiming,
    log,
    onExecutionEndedBadly: cleanup,
  });
  const reconcile = createReconcileFleet({
    ec2,
    machines,
    lifecycle,
    staleLeases: (cutoff) => liveLeasesEndedBefore(options.db, options.tableName, cutoff),
    refund,
    managedBy: LOCAL_MANAGED_BY,
    graceMinutes: options.reconcileGraceMinutes,
    clock,
    log,
    metrics: () => {},
  });
  return {
    ec2,
    workflow,
    reconcile,
    close: async () => {
      await workflow.close();
      dynamo.destroy();
    },
  };
}
