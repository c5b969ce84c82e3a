import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import {
  Choice,
  Condition,
  CustomState,
  DefinitionBody,
  Fail,
  IntegrationPattern,
  JsonPath,
  LogLevel,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
  Timeout,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import {
  DynamoAttributeValue,
  DynamoGetItem,
  DynamoUpdateItem,
  LambdaInvoke,
} from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type * as z from 'zod';
import { itemKeys, KEY_PREFIX, TABLE_DESIGN } from '../lambdas/adapters/dynamodb/table-design.js';
import type { Catalog } from '../lambdas/core/products.js';
import {
  type LaunchFunctionEnvironment,
  launchEnvironmentSchema,
  type RefundFunctionEnvironment,
  refundEnvironmentSchema,
  type WorkflowFunctionEnvironment,
  workflowEnvironmentSchema,
} from '../lambdas/runtime/workflow-environment.js';
import { INSTANCE_TAGS } from '../lambdas/workflow/instance-tags.js';
import { WORKFLOW_ERRORS } from '../lambdas/workflow/workflow-errors.js';
import type { Compute } from './compute.js';
import { type EnvironmentSchema, storefrontFunction } from './node-function.js';

export interface LeaseWorkflowProps {
  table: ITable;
  /** Refunds of failed leases paid with Stripe need its key. */
  stripeSecret?: ISecret;
  compute: Compute;
  catalog: Catalog;
  /** Product overrides as configured (the functions resolve the same catalog from them). */
  productCatalogJson: string;
  provisioningTimeoutMinutes: number;
  retentionDays: number;
  reconcileEveryMinutes: number;
  logRetention: RetentionDays;
}

/** How often provisioning and shutdown are polled; a lease itself is never polled. */
export const BOOT_POLL_SECONDS = 15;
export const SHUTDOWN_POLL_SECONDS = 10;
/** The reconciler leaves the workflow this long to act before it steps in. */
export const RECONCILE_GRACE_MINUTES = 10;

/** State names are the lease's story as an operator reads it in the Step Functions console. */
export const STATES = {
  readLease: 'Read lease',
  stillToLaunch: 'Still to launch?',
  launch: 'Launch instance',
  launchCancelled: 'Launch cancelled?',
  waitForBoot: 'Wait for boot',
  checkInstance: 'Check instance',
  machineReady: 'Machine ready?',
  startClock: 'Start lease clock',
  hold: 'Hold until lease end',
  checkLease: 'Check lease',
  leaseDue: 'Lease due?',
  markTerminating: 'Mark terminating',
  anyInstance: 'Any instance?',
  terminateInstance: 'Terminate instance',
  waitForShutdown: 'Wait for shutdown',
  checkShutdown: 'Check shutdown',
  instanceGone: 'Instance gone?',
  recordTermination: 'Record termination',
  howItEnded: 'How did it end?',
  recordLaunchFailure: 'Record launch failure',
  recordProvisioningFailure: 'Record provisioning failure',
  refundPayment: 'Refund payment',
  leaseOver: 'Lease over',
  nothingToRun: 'Lease already ended',
  provisioningFailed: 'Provisioning failed',
  terminationFailed: 'Termination failed',
  leaseNotFound: 'Lease not found',
} as const;

const machineKey = {
  pk: DynamoAttributeValue.fromString(
    JsonPath.format(itemKeys.machine('{}').pk, JsonPath.stringAt('$.machine_id')),
  ),
  sk: DynamoAttributeValue.fromString(itemKeys.machine('').sk),
};

/**
 * One Standard execution per lease, named after the machine id: launch the instance,
 * wait until it is usable, hold until the lease ends (woken at once by an early DELETE,
 * re-armed by extensions), terminate, record. A scheduled reconciler catches whatever
 * the workflow misses.
 */
export class LeaseWorkflow extends Construct {
  readonly stateMachine: StateMachine;
  readonly functions: Record<
    'launch' | 'inspect' | 'records' | 'refund' | 'reconcile',
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
        memorySize: 256,
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
      } satisfies LaunchFunctionEnvironment,
    );
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
      "Lease workflow: record the lease's transitions",
      workflowEnvironmentSchema,
      environment,
    );
    const reconcile = fn(
      'ReconcileFleet',
      'lambdas/workflow/reconcile-fleet.ts',
      'Terminates instances that outlived their lease',
      workflowEnvironmentSchema,
      environment,
    );
    const refund = fn(
      'RefundLease',
      'lambdas/workflow/refund-lease.ts',
      'Lease workflow: refund a lease that failed',
      refundEnvironmentSchema,
      {
        ...environment,
        ...(props.stripeSecret ? { STRIPE_SECRET_ARN: props.stripeSecret.secretArn } : {}),
      } satisfies RefundFunctionEnvironment,
    );
    this.functions = { launch, inspect, records, refund, reconcile };
    this.grantPermissions(props, managedBy);

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      comment: 'One execution per machine lease; the execution name is the machine id',
      definitionBody: DefinitionBody.fromChainable(this.definition(table)),
      timeout: Duration.minutes(
        Math.max(...Object.values(props.catalog).map((product) => product.maxMinutes)) +
          props.provisioningTimeoutMinutes +
          60,
      ),
      tracingEnabled: true,
      logs: {
        destination: new LogGroup(this, 'ExecutionLogs', {
          retention: props.logRetention,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
        level: LogLevel.ALL,
        // State data holds the wake token and the agent's key: logged transitions carry no data.
        includeExecutionData: false,
      },
    });
    this.stateMachine.addToRolePolicy(
      new PolicyStatement({
        actions: ['ec2:TerminateInstances'],
        resources: [`arn:${stack.partition}:ec2:${stack.region}:${stack.account}:instance/*`],
        conditions: { StringEquals: { [`ec2:ResourceTag/${INSTANCE_TAGS.managedBy}`]: managedBy } },
      }),
    );
    this.stateMachine.addToRolePolicy(
      // DescribeInstances has no resource-level permissions in EC2; '*' is the only scope AWS offers.
      new PolicyStatement({ actions: ['ec2:DescribeInstances'], resources: ['*'] }),
    );

    new Rule(this, 'ReconcileSchedule', {
      description: 'Terminates storefront instances whose lease has ended, failed or vanished',
      schedule: Schedule.rate(Duration.minutes(props.reconcileEveryMinutes)),
      targets: [new LambdaFunction(reconcile, { retryAttempts: 2 })],
    });
  }

  private definition(table: ITable) {
    const { launch, inspect, records } = this.functions;
    /** A synchronous call of one of the step functions, with the machine id in its payload. */
    const stepTask = (
      name: string,
      lambdaFunction: NodejsFunction,
      payload: Record<string, unknown>,
      resultPath: string,
    ) =>
      new LambdaInvoke(this, name, {
        lambdaFunction,
        payload: TaskInput.fromObject({
          machine_id: JsonPath.stringAt('$.machine_id'),
          ...payload,
        }),
        payloadResponseOnly: true,
        resultPath,
        taskTimeout: Timeout.duration(Duration.seconds(60)),
        retryOnServiceExceptions: true,
      });
    const recordsTask = (name: string, payload: Record<string, unknown>, resultPath: string) =>
      stepTask(name, records, payload, resultPath);

    const leaseOver = new Succeed(this, STATES.leaseOver);
    const provisioningFailed = new Fail(this, STATES.provisioningFailed, {
      error: 'Lease.ProvisioningFailed',
      cause: 'The machine could not be provided; its failure_reason says why.',
    });
    const terminationFailed = new Fail(this, STATES.terminationFailed, {
      error: 'Lease.TerminationFailed',
      cause: 'The instance could not be terminated; the reconciler will retry.',
    });

    // Ending: mark terminating → terminate → wait until gone → record.
    const recordTermination = recordsTask(
      STATES.recordTermination,
      { action: 'record_termination' },
      JsonPath.DISCARD,
    );
    const howItEnded = new Choice(this, STATES.howItEnded)
      .when(Condition.isPresent('$.failure'), provisioningFailed)
      .otherwise(leaseOver);
    recordTermination.next(howItEnded);

    const instanceGone = new Choice(this, STATES.instanceGone);
    const waitForShutdown = new Wait(this, STATES.waitForShutdown, {
      time: WaitTime.duration(Duration.seconds(SHUTDOWN_POLL_SECONDS)),
    });
    const checkShutdown = new CustomState(this, STATES.checkShutdown, {
      stateJson: {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:ec2:describeInstances',
        Parameters: { 'InstanceIds.$': 'States.Array($.instance.instance_id)' },
        ResultSelector: { 'state.$': '$.Reservations[0].Instances[0].State.Name' },
        ResultPath: '$.shutdown',
      },
    }).addRetry({
      errors: ['States.ALL'],
      interval: Duration.seconds(5),
      backoffRate: 2,
      maxAttempts: 4,
    });
    waitForShutdown.next(checkShutdown);
    checkShutdown.next(
      instanceGone
        .when(Condition.stringEquals('$.shutdown.state', 'terminated'), recordTermination)
        .otherwise(waitForShutdown),
    );
    const terminateInstance = new CustomState(this, STATES.terminateInstance, {
      stateJson: {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:ec2:terminateInstances',
        Parameters: { 'InstanceIds.$': 'States.Array($.instance.instance_id)' },
        ResultPath: null,
      },
    })
      .addRetry({
        errors: ['States.ALL'],
        interval: Duration.seconds(5),
        backoffRate: 2,
        maxAttempts: 5,
      })
      .addCatch(terminationFailed, { errors: ['States.ALL'], resultPath: '$.termination_error' });
    terminateInstance.next(waitForShutdown);
    const anyInstance = new Choice(this, STATES.anyInstance)
      .when(Condition.isPresent('$.instance.instance_id'), terminateInstance)
      .otherwise(recordTermination);

    const markTerminating = new DynamoUpdateItem(this, STATES.markTerminating, {
      table,
      key: machineKey,
      updateExpression: 'SET #status = :terminating, termination_requested_at = :now',
      conditionExpression: '#status IN (:provisioning, :active)',
      expressionAttributeNames: { '#status': 'status' },
      expressionAttributeValues: {
        ':terminating': DynamoAttributeValue.fromString('terminating'),
        ':provisioning': DynamoAttributeValue.fromString('provisioning'),
        ':active': DynamoAttributeValue.fromString('active'),
        ':now': DynamoAttributeValue.fromString(JsonPath.stringAt('$$.State.EnteredTime')),
      },
      resultPath: JsonPath.DISCARD,
    });
    // Already terminating (an agent's DELETE) or ended: go on terminating.
    markTerminating.addCatch(anyInstance, {
      errors: ['DynamoDB.ConditionalCheckFailedException'],
      resultPath: JsonPath.DISCARD,
    });
    markTerminating.next(anyInstance);

    // Failure: record why, release anything launched, end as failed.
    const recordLaunchFailure = recordsTask(
      STATES.recordLaunchFailure,
      { action: 'record_failure', error: JsonPath.objectAt('$.error') },
      '$.failure',
    );
    const recordProvisioningFailure = recordsTask(
      STATES.recordProvisioningFailure,
      { action: 'record_failure', reason: JsonPath.stringAt('$.check.failure_reason') },
      '$.failure',
    );
    // A lease the agent never got to use is refunded; a refund that keeps failing raises the
    // function's alarm but does not keep the instance running.
    const refundPayment = stepTask(STATES.refundPayment, this.functions.refund, {}, '$.refund')
      .addRetry({
        errors: ['States.ALL'],
        interval: Duration.seconds(10),
        backoffRate: 2,
        maxAttempts: 4,
      })
      .addCatch(anyInstance, { errors: ['States.ALL'], resultPath: '$.refund_error' });
    refundPayment.next(anyInstance);
    recordLaunchFailure.next(refundPayment);
    recordProvisioningFailure.next(refundPayment);

    // The lease: hold until its end, re-arm after extensions, end early when woken.
    const checkLease = recordsTask(STATES.checkLease, { action: 'check' }, '$.clock');
    const hold = new LambdaInvoke(this, STATES.hold, {
      lambdaFunction: records,
      integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      payload: TaskInput.fromObject({
        action: 'hold',
        machine_id: JsonPath.stringAt('$.machine_id'),
        token: JsonPath.taskToken,
      }),
      taskTimeout: Timeout.at('$.clock.seconds_remaining'),
      resultPath: '$.wake',
    });
    hold.addCatch(checkLease, { errors: ['States.Timeout'], resultPath: JsonPath.DISCARD });
    hold.addCatch(markTerminating, {
      errors: [WORKFLOW_ERRORS.leaseNotActive],
      resultPath: JsonPath.DISCARD,
    });
    hold.next(markTerminating);
    checkLease.next(
      new Choice(this, STATES.leaseDue)
        .when(Condition.booleanEquals('$.clock.due', true), markTerminating)
        .otherwise(hold),
    );

    const startClock = recordsTask(
      STATES.startClock,
      {
        action: 'start_clock',
        host: JsonPath.stringAt('$.check.host'),
        ssh_port: JsonPath.numberAt('$.check.ssh_port'),
      },
      '$.clock',
    );
    startClock.addCatch(markTerminating, {
      errors: [WORKFLOW_ERRORS.leaseNotActive],
      resultPath: JsonPath.DISCARD,
    });
    startClock.next(hold);

    // Provisioning: launch, then poll until usable, gone, or out of time.
    const waitForBoot = new Wait(this, STATES.waitForBoot, {
      time: WaitTime.duration(Duration.seconds(BOOT_POLL_SECONDS)),
    });
    const checkInstance = stepTask(
      STATES.checkInstance,
      inspect,
      { instance_id: JsonPath.stringAt('$.instance.instance_id') },
      '$.check',
    ).addRetry({
      errors: ['States.ALL'],
      interval: Duration.seconds(5),
      backoffRate: 2,
      maxAttempts: 3,
    });
    waitForBoot.next(checkInstance);
    checkInstance.next(
      new Choice(this, STATES.machineReady)
        .when(Condition.stringEquals('$.check.phase', 'ready'), startClock)
        .when(Condition.stringEquals('$.check.phase', 'booting'), waitForBoot)
        .when(Condition.stringEquals('$.check.phase', 'lease_ended'), markTerminating)
        .otherwise(recordProvisioningFailure),
    );

    const launchTask = stepTask(STATES.launch, launch, {}, '$.instance')
      .addRetry({
        errors: [WORKFLOW_ERRORS.launchThrottled],
        interval: Duration.seconds(10),
        backoffRate: 2,
        maxAttempts: 5,
      })
      .addRetry({
        errors: [WORKFLOW_ERRORS.capacityUnavailable],
        interval: Duration.seconds(30),
        backoffRate: 2,
        maxAttempts: 2,
      })
      .addCatch(recordLaunchFailure, { errors: ['States.ALL'], resultPath: '$.error' });
    launchTask.next(
      new Choice(this, STATES.launchCancelled)
        .when(Condition.booleanEquals('$.instance.cancelled', true), markTerminating)
        .otherwise(waitForBoot),
    );

    const readLease = new DynamoGetItem(this, STATES.readLease, {
      table,
      key: machineKey,
      consistentRead: true,
      resultSelector: { status: JsonPath.stringAt('$.Item.status.S') },
      resultPath: '$.lease',
    }).addCatch(
      new Fail(this, STATES.leaseNotFound, {
        error: 'Lease.NotFound',
        cause: 'No machine item for this execution',
      }),
      {
        errors: ['States.ALL'],
      },
    );
    return readLease.next(
      new Choice(this, STATES.stillToLaunch)
        .when(Condition.stringEquals('$.lease.status', 'provisioning'), launchTask)
        .otherwise(new Succeed(this, STATES.nothingToRun)),
    );
  }

  private grantPermissions(props: LeaseWorkflowProps, managedBy: string) {
    const stack = Stack.of(this);
    const { partition, region, account } = stack;
    const arn = (service: string, resource: string, accountId: string = account) =>
      `arn:${partition}:${service}:${region}:${accountId}:${resource}`;
    const machineItems = (actions: string[]) =>
      new PolicyStatement({
        actions: actions.map((action) => `dynamodb:${action}`),
        resources: [props.table.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${KEY_PREFIX.machine}*`] },
        },
      });
    const managedInstances = new PolicyStatement({
      actions: ['ec2:TerminateInstances'],
      resources: [arn('ec2', 'instance/*')],
      conditions: { StringEquals: { [`ec2:ResourceTag/${INSTANCE_TAGS.managedBy}`]: managedBy } },
    });
    // EC2 Describe* actions have no resource-level permissions: '*' is the only scope AWS offers.
    const describe = (...actions: string[]) => new PolicyStatement({ actions, resources: ['*'] });
    const { launch, inspect, records, refund, reconcile } = this.functions;

    launch.addToRolePolicy(machineItems(['GetItem', 'UpdateItem']));
    launch.addToRolePolicy(
      new PolicyStatement({
        actions: ['ec2:RunInstances'],
        resources: [arn('ec2', 'instance/*')],
        conditions: { StringEquals: { [`aws:RequestTag/${INSTANCE_TAGS.managedBy}`]: managedBy } },
      }),
    );
    launch.addToRolePolicy(
      new PolicyStatement({
        actions: ['ec2:RunInstances'],
        resources: [
          arn('ec2', 'volume/*'),
          arn('ec2', 'network-interface/*'),
          arn('ec2', 'capacity-reservation/*'),
          arn('ec2', `security-group/${props.compute.securityGroup.securityGroupId}`),
          ...props.compute.subnets.map((subnet) => arn('ec2', `subnet/${subnet.id}`)),
          ...Object.values(props.compute.launchTemplates).map((template) =>
            arn('ec2', `launch-template/${template.launchTemplateId}`),
          ),
          // Public AMIs (Canonical, AWS Deep Learning) live in other accounts.
          `arn:${partition}:ec2:${region}::image/*`,
        ],
      }),
    );
    launch.addToRolePolicy(
      new PolicyStatement({
        actions: ['ec2:CreateTags'],
        resources: [arn('ec2', 'instance/*'), arn('ec2', 'volume/*')],
        conditions: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
      }),
    );
    launch.addToRolePolicy(
      // The launch templates resolve their image from these public SSM parameters at launch.
      new PolicyStatement({
        actions: ['ssm:GetParameters'],
        resources: Object.values(props.catalog).map((product) =>
          arn('ssm', `parameter${product.instance.imageParameter}`, ''),
        ),
      }),
    );
    launch.addToRolePolicy(describe('ec2:DescribeCapacityReservations'));
    launch.addToRolePolicy(managedInstances);

    inspect.addToRolePolicy(machineItems(['GetItem']));
    inspect.addToRolePolicy(describe('ec2:DescribeInstances'));

    records.addToRolePolicy(machineItems(['GetItem', 'UpdateItem']));

    refund.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
        resources: [props.table.tableArn],
        conditions: {
          'ForAllValues:StringLike': {
            'dynamodb:LeadingKeys': [`${KEY_PREFIX.order}*`, `${KEY_PREFIX.machine}*`],
          },
        },
      }),
    );
    props.stripeSecret?.grantRead(refund);

    reconcile.addToRolePolicy(machineItems(['GetItem', 'UpdateItem']));
    reconcile.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${props.table.tableArn}/index/${TABLE_DESIGN.liveLeasesIndex.name}`],
      }),
    );
    reconcile.addToRolePolicy(describe('ec2:DescribeInstances'));
    reconcile.addToRolePolicy(managedInstances);
  }
}
