import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  DefinitionBody,
  LogLevel,
  StateMachine,
  StateMachineType,
} from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type * as z from 'zod';
import type { Catalog } from '../lambdas/core/products.js';
import {
  type CapacityWatchFunctionEnvironment,
  capacityWatchEnvironmentSchema,
  type LaunchFunctionEnvironment,
  launchEnvironmentSchema,
  type RefundFunctionEnvironment,
  refundEnvironmentSchema,
  type WorkflowFunctionEnvironment,
  workflowEnvironmentSchema,
} from '../lambdas/runtime/workflow-environment.js';
import { EXECUTION_ENDED_BADLY } from '../lambdas/workflow/execution-status.js';
import { watchCapacityOnSchedule } from './capacity-watch.js';
import type { Compute } from './compute.js';
import {
  leaseWorkflowDefinition,
  READY_CALLBACK_WAIT_SECONDS,
} from './lease-workflow-definition.js';
import { grantLeaseWorkflowPermissions } from './lease-workflow-permissions.js';
import { type EnvironmentSchema, storefrontFunction } from './node-function.js';
import type { PaymentMethodWiring } from './payment-method-wiring.js';
import type { PublicUrl } from './public-url.js';

export {
  BOOT_POLL_SECONDS,
  READY_CALLBACK_WAIT_SECONDS,
  STATES,
} from './lease-workflow-definition.js';

export interface LeaseWorkflowProps {
  table: ITable;
  /** Refunds of failed leases go through the accepted methods (their refund secrets). */
  payments: PaymentMethodWiring;
  compute: Compute;
  /** Where launched machines report ready. */
  publicUrl: PublicUrl;
  catalog: Catalog;
  /** Product overrides as configured (the functions resolve the same catalog from them). */
  productCatalogJson: string;
  provisioningTimeoutMinutes: number;
  retentionDays: number;
  reconcileEveryMinutes: number;
  logRetention: RetentionDays;
}

/** The reconciler leaves the workflow this long to act before it steps in. */
export const RECONCILE_GRACE_MINUTES = 10;

/** Memory of each workflow step's function; bench prices GB-seconds with it. */
export const WORKFLOW_STEP_MEMORY_MB = 256;

/**
 * One Standard execution per lease, named after the machine id (the definition is in
 * lease-workflow-definition.ts, the permissions in lease-workflow-permissions.ts). Two
 * safety nets catch whatever an execution misses: a rule that cleans up at once after an
 * execution fails, times out or is aborted, and a scheduled reconciler.
 */
export class LeaseWorkflow extends Construct {
  readonly stateMachine: StateMachine;
  readonly functions: Record<
    'launch' | 'inspect' | 'records' | 'refund' | 'reconcile' | 'cleanup' | 'watchCapacity',
    NodejsFunction
  >;

  constructor(scope: Construct, id: string, props: LeaseWorkflowProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const managedBy = stack.stackName;
    const { table, compute } = props;
    const environment: WorkflowFunctionEnvironment = {
      TABLE_NAME: table.tableName,
      PRODUCT_CATALOG: props.productCatalogJson,
      MANAGED_BY: managedBy,
      RETENTION_DAYS: String(props.retentionDays),
      RECONCILE_GRACE_MINUTES: String(RECONCILE_GRACE_MINUTES),
    };
    // The functions that refund (refund, cleanup, reconcile) read the methods' refund secrets.
    const refunding: RefundFunctionEnvironment = {
      ...environment,
      PAYMENT_METHODS: props.payments.acceptedMethods,
      ...props.payments.environmentFor('refund'),
    };
    // Each function's environment is typed against (and checked by) the schema it parses.
    const fn = <Schema extends EnvironmentSchema>(
      name: string,
      entry: string,
      description: string,
      environmentSchema: Schema,
      functionEnvironment: z.input<NoInfer<Schema>>,
    ) =>
      storefrontFunction(this, name, {
        entry,
        description,
        environmentSchema,
        environment: functionEnvironment,
        timeout: Duration.seconds(60),
        memorySize: WORKFLOW_STEP_MEMORY_MB,
        logRetention: props.logRetention,
      });

    const launch = fn(
      'LaunchInstance',
      'lambdas/workflow/launch-instance.ts',
      'Lease workflow: launch the instance',
      launchEnvironmentSchema,
      {
        ...environment,
        LAUNCH_TEMPLATES: stack.toJsonString(
          Object.fromEntries(
            Object.entries(compute.launchTemplates).map(([product, t]) => [
              product,
              t.launchTemplateId,
            ]),
          ),
        ),
        SUBNETS: stack.toJsonString(compute.subnets),
        PUBLIC_URL_PARAMETER: props.publicUrl.parameterName,
      } satisfies LaunchFunctionEnvironment,
    );
    props.publicUrl.grantRead(launch);
    const inspect = fn(
      'InspectInstance',
      'lambdas/workflow/inspect-instance.ts',
      'Lease workflow: is the machine usable yet?',
      workflowEnvironmentSchema,
      environment,
    );
    const records = fn(
      'LeaseRecords',
      'lambdas/workflow/lease-records.ts',
      "Lease workflow: record the lease's transitions, end the lease",
      workflowEnvironmentSchema,
      environment,
    );
    const reconcile = fn(
      'ReconcileFleet',
      'lambdas/workflow/reconcile-fleet.ts',
      'Terminates instances that outlived their lease',
      refundEnvironmentSchema,
      refunding,
    );
    const refund = fn(
      'RefundLease',
      'lambdas/workflow/refund-lease.ts',
      'Lease workflow: refund a lease that failed',
      refundEnvironmentSchema,
      refunding,
    );
    const cleanup = fn(
      'CleanupLease',
      'lambdas/workflow/cleanup-lease.ts',
      'Ends the lease of a failed, timed-out or aborted workflow execution',
      refundEnvironmentSchema,
      refunding,
    );
    const watchCapacity = fn(
      'WatchCapacity',
      'lambdas/workflow/watch-capacity.ts',
      'Records whether each product can be launched now (read before payment)',
      capacityWatchEnvironmentSchema,
      {
        ...environment,
        MACHINE_ZONES: compute.subnets.map((subnet) => subnet.availabilityZone).join(','),
      } satisfies CapacityWatchFunctionEnvironment,
    );
    watchCapacityOnSchedule(this, { watcher: watchCapacity, table });
    this.functions = { launch, inspect, records, refund, reconcile, cleanup, watchCapacity };

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      comment: 'One execution per machine lease; the execution name is the machine id',
      definitionBody: DefinitionBody.fromChainable(
        leaseWorkflowDefinition(
          this,
          table,
          { launch, inspect, records, refund },
          {
            readyCallbackWaitSeconds: Math.min(
              READY_CALLBACK_WAIT_SECONDS,
              props.provisioningTimeoutMinutes * 60,
            ),
          },
        ),
      ),
      timeout: Duration.minutes(
        Math.max(...Object.values(props.catalog).map((product) => product.maxMinutes)) +
          props.provisioningTimeoutMinutes +
          60,
      ),
      tracingEnabled: true,
      logs: {
        destination: new LogGroup(this, 'ExecutionLogs', {
          // "To avoid reaching the CloudWatch Logs resource policy size limit, prefix your
          // CloudWatch Logs log group names with /aws/vendedlogs/" (Step Functions developer
          // guide, "Avoiding Amazon CloudWatch Logs resource policy size restrictions"): the
          // account's one policy is limited to 5120 characters, shared by every stage.
          logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-leases`,
          retention: props.logRetention,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
        level: LogLevel.ALL,
        // State data holds the wake token and the agent's key: logged transitions carry no data.
        includeExecutionData: false,
      },
    });
    grantLeaseWorkflowPermissions(this, {
      ...props,
      managedBy,
      functions: this.functions,
    });

    // Step Functions sends "Step Functions Execution Status Change" events to the default
    // bus (EventBridge events reference, "AWS Step Functions events"), with the status in
    // `detail.status`; a failed, timed-out or aborted execution is cleaned up at once.
    new Rule(this, 'ExecutionEndedBadly', {
      description:
        'Ends the lease of a lease workflow execution that failed, timed out or was aborted',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [this.stateMachine.stateMachineArn],
          status: [...EXECUTION_ENDED_BADLY],
        },
      },
      targets: [new LambdaFunction(cleanup, { retryAttempts: 4 })],
    });
    new Rule(this, 'ReconcileSchedule', {
      description: 'Terminates storefront instances whose lease has ended, failed or vanished',
      schedule: Schedule.rate(Duration.minutes(props.reconcileEveryMinutes)),
      targets: [new LambdaFunction(reconcile, { retryAttempts: 2 })],
    });
  }
}
