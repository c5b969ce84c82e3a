import { Duration, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import {
  Choice,
  Condition,
  CustomState,
  Fail,
  IntegrationPattern,
  JitterType,
  JsonPath,
  Succeed,
  TaskInput,
  type TaskStateBase,
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
import type { Construct } from 'constructs';
import { itemKeys } from '../lambdas/adapters/dynamodb/table-design.js';
import { EXTENSION_SIGNAL } from '../lambdas/adapters/workflow/step-functions-lease-workflow.js';
import { WORKFLOW_ERRORS } from '../lambdas/workflow/workflow-errors.js';

/** How often provisioning and shutdown are polled; a lease itself is never polled. */
export const BOOT_POLL_SECONDS = 15;
export const SHUTDOWN_POLL_SECONDS = 10;

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
  wokenWhy: 'Woken why?',
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
  recordProvisioningError: 'Record provisioning error',
  refundPayment: 'Refund payment',
  leaseOver: 'Lease over',
  nothingToRun: 'Lease already ended',
  provisioningFailed: 'Provisioning failed',
  terminationFailed: 'Termination failed',
  recordingFailed: 'Recording failed',
  leaseNotFound: 'Lease not found',
} as const;

/** The step functions the definition calls. */
export interface LeaseStepFunctions {
  launch: IFunction;
  inspect: IFunction;
  records: IFunction;
  refund: IFunction;
}

const ALL = ['States.ALL'];

/**
 * Every retrier backs off exponentially with full jitter, capped, as AWS advises for throttled
 * calls ("Retry … JitterStrategy FULL … MaxDelaySeconds": Step Functions' error handling): a
 * thousand leases throttled together retry spread out instead of in lockstep, and no retrier
 * waits more than a minute nor tries more than its MaxAttempts.
 */
const BACKOFF = {
  backoffRate: 2,
  jitterStrategy: JitterType.FULL,
  maxDelay: Duration.seconds(60),
} as const;

/**
 * Retries a step's own failures (a throttled table, say) but not LeaseNotActive, which
 * answers at once: retriers are tried in order, and `MaxAttempts: 0` never retries.
 */
const retryUnlessLeaseEnded = (task: TaskStateBase) =>
  task.addRetry({ errors: [WORKFLOW_ERRORS.leaseNotActive], maxAttempts: 0 }).addRetry({
    errors: ['States.TaskFailed'],
    interval: Duration.seconds(5),
    ...BACKOFF,
    maxAttempts: 3,
  });

/**
 * The lease's state machine: launch the instance, wait until it is usable, hold until the
 * lease ends (woken at once by an early DELETE, re-armed by extensions), terminate, record.
 *
 * No path ends with a machine running: every Task state has a catch-all. Before the lease
 * is usable, an error records the lease as failed (which marks its payment `refund_due`);
 * after, it ends the lease. Both lead to "Any instance?" → terminate → "Record termination",
 * which fails a lease still provisioning, and a failed lease is refunded last, so neither a
 * refund nor a record that fails can stop the terminate. The cleanup path only moves
 * forward: its one loop (waiting for shutdown) is bounded by the execution timeout, and an
 * execution that fails, times out or is aborted is cleaned up by the status-change rule.
 */
export function leaseWorkflowDefinition(
  scope: Construct,
  table: ITable,
  functions: LeaseStepFunctions,
) {
  const { partition } = Stack.of(scope);
  const ec2Call = (action: string) => `arn:${partition}:states:::aws-sdk:ec2:${action}`;
  const machineKey = {
    pk: DynamoAttributeValue.fromString(
      JsonPath.format(itemKeys.machine('{}').pk, JsonPath.stringAt('$.machine_id')),
    ),
    sk: DynamoAttributeValue.fromString(itemKeys.machine('').sk),
  };
  /** A synchronous call of one of the step functions, with the machine id in its payload. */
  const stepTask = (
    name: string,
    lambdaFunction: IFunction,
    payload: Record<string, unknown>,
    resultPath: string,
  ) =>
    new LambdaInvoke(scope, name, {
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
    stepTask(name, functions.records, payload, resultPath);

  const leaseOver = new Succeed(scope, STATES.leaseOver);
  const provisioningFailed = new Fail(scope, STATES.provisioningFailed, {
    error: 'Lease.ProvisioningFailed',
    cause: 'The machine could not be provided; its failure_reason says why.',
  });
  const terminationFailed = new Fail(scope, STATES.terminationFailed, {
    error: 'Lease.TerminationFailed',
    cause: 'The instance could not be terminated; the cleanup function and reconciler retry.',
  });
  const recordingFailed = new Fail(scope, STATES.recordingFailed, {
    error: 'Lease.RecordingFailed',
    cause: 'The instance is gone but the lease could not be recorded; the cleanup function does.',
  });

  // A failed lease is refunded last; a refund that keeps failing leaves `refund_due` on the
  // lease for the cleanup function (run at once on the failed execution) and the sweeper.
  const refundPayment = stepTask(STATES.refundPayment, functions.refund, {}, '$.refund')
    .addRetry({ errors: ALL, interval: Duration.seconds(10), ...BACKOFF, maxAttempts: 4 })
    .addCatch(provisioningFailed, { errors: ALL, resultPath: '$.refund_error' });
  refundPayment.next(provisioningFailed);

  // Ending: mark terminating → terminate → wait until gone → record → refund if failed.
  const recordTermination = recordsTask(
    STATES.recordTermination,
    { action: 'record_termination' },
    '$.ended',
  )
    .addRetry({ errors: ALL, interval: Duration.seconds(5), ...BACKOFF, maxAttempts: 3 })
    .addCatch(recordingFailed, { errors: ALL, resultPath: '$.record_error' });
  recordTermination.next(
    new Choice(scope, STATES.howItEnded)
      .when(
        Condition.and(
          Condition.isPresent('$.ended.status'),
          Condition.stringEquals('$.ended.status', 'failed'),
        ),
        refundPayment,
      )
      .otherwise(leaseOver),
  );

  const instanceGone = new Choice(scope, STATES.instanceGone);
  const waitForShutdown = new Wait(scope, STATES.waitForShutdown, {
    time: WaitTime.duration(Duration.seconds(SHUTDOWN_POLL_SECONDS)),
  });
  // EC2 accepted the terminate already: a shutdown that cannot be confirmed is still recorded.
  const checkShutdown = new CustomState(scope, STATES.checkShutdown, {
    stateJson: {
      Type: 'Task',
      Resource: ec2Call('describeInstances'),
      Parameters: { 'InstanceIds.$': 'States.Array($.instance.instance_id)' },
      ResultSelector: { 'state.$': '$.Reservations[0].Instances[0].State.Name' },
      ResultPath: '$.shutdown',
    },
  })
    .addRetry({ errors: ALL, interval: Duration.seconds(5), ...BACKOFF, maxAttempts: 4 })
    .addCatch(recordTermination, { errors: ALL, resultPath: '$.shutdown_error' });
  waitForShutdown.next(checkShutdown);
  checkShutdown.next(
    instanceGone
      .when(Condition.stringEquals('$.shutdown.state', 'terminated'), recordTermination)
      .otherwise(waitForShutdown),
  );
  const terminateInstance = new CustomState(scope, STATES.terminateInstance, {
    stateJson: {
      Type: 'Task',
      Resource: ec2Call('terminateInstances'),
      Parameters: { 'InstanceIds.$': 'States.Array($.instance.instance_id)' },
      ResultPath: null,
    },
  })
    .addRetry({ errors: ALL, interval: Duration.seconds(5), ...BACKOFF, maxAttempts: 5 })
    .addCatch(terminationFailed, { errors: ALL, resultPath: '$.termination_error' });
  terminateInstance.next(waitForShutdown);
  const anyInstance = new Choice(scope, STATES.anyInstance)
    .when(Condition.isPresent('$.instance.instance_id'), terminateInstance)
    .otherwise(recordTermination);

  const markTerminating = new DynamoUpdateItem(scope, STATES.markTerminating, {
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
  // Already terminating (an agent's DELETE) or ended: go on terminating. Any other error:
  // terminate all the same; "Record termination" writes the lease's end.
  markTerminating.addCatch(anyInstance, {
    errors: ['DynamoDB.ConditionalCheckFailedException'],
    resultPath: JsonPath.DISCARD,
  });
  markTerminating.addCatch(anyInstance, { errors: ALL, resultPath: '$.mark_error' });
  markTerminating.next(anyInstance);

  // Failure: record why (the lease becomes failed, its payment owed back), release anything
  // launched. A record that fails still releases the instance; the lease, still
  // provisioning, is then failed by "Record termination".
  const failureRecord = (name: string, payload: Record<string, unknown>) => {
    const task = recordsTask(name, { action: 'record_failure', ...payload }, '$.failure');
    task.addCatch(anyInstance, { errors: ALL, resultPath: '$.record_error' });
    task.next(anyInstance);
    return task;
  };
  const recordLaunchFailure = failureRecord(STATES.recordLaunchFailure, {
    error: JsonPath.objectAt('$.error'),
  });
  const recordProvisioningFailure = failureRecord(STATES.recordProvisioningFailure, {
    reason: JsonPath.stringAt('$.check.failure_reason'),
  });
  const recordProvisioningError = failureRecord(STATES.recordProvisioningError, {
    error: JsonPath.objectAt('$.error'),
  });

  // The lease: hold until its end, re-arm after extensions, end early when woken. Once the
  // agent has had the machine, any error ends the lease rather than letting it run on.
  const checkLease = recordsTask(STATES.checkLease, { action: 'check' }, '$.clock')
    .addRetry({ errors: ALL, interval: Duration.seconds(5), ...BACKOFF, maxAttempts: 3 })
    .addCatch(markTerminating, { errors: ALL, resultPath: '$.check_error' });
  const hold = new LambdaInvoke(scope, STATES.hold, {
    lambdaFunction: functions.records,
    integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: TaskInput.fromObject({
      action: 'hold',
      machine_id: JsonPath.stringAt('$.machine_id'),
      token: JsonPath.taskToken,
    }),
    taskTimeout: Timeout.at('$.clock.seconds_remaining'),
    resultPath: '$.wake',
  });
  // No retrier on the hold: its lease-end timeout must reach the catcher, and the hold's
  // function is one conditional write (the SDK retries throttling inside it).
  hold.addCatch(checkLease, { errors: ['States.Timeout'], resultPath: JsonPath.DISCARD });
  hold.addCatch(markTerminating, {
    errors: [WORKFLOW_ERRORS.leaseNotActive],
    resultPath: JsonPath.DISCARD,
  });
  hold.addCatch(markTerminating, { errors: ALL, resultPath: '$.hold_error' });
  // Woken by an extension: re-arm at the new end (Check lease also tells the machine its new
  // end); woken by anything else (an early DELETE): terminate.
  hold.next(
    new Choice(scope, STATES.wokenWhy)
      .when(Condition.stringEquals('$.wake.reason', EXTENSION_SIGNAL.reason), checkLease)
      .otherwise(markTerminating),
  );
  checkLease.next(
    new Choice(scope, STATES.leaseDue)
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
  retryUnlessLeaseEnded(startClock);
  startClock.addCatch(markTerminating, {
    errors: [WORKFLOW_ERRORS.leaseNotActive],
    resultPath: JsonPath.DISCARD,
  });
  startClock.addCatch(recordProvisioningError, { errors: ALL, resultPath: '$.error' });
  startClock.next(hold);

  // Provisioning: launch, then poll until usable, gone, or out of time.
  const waitForBoot = new Wait(scope, STATES.waitForBoot, {
    time: WaitTime.duration(Duration.seconds(BOOT_POLL_SECONDS)),
  });
  const checkInstance = stepTask(
    STATES.checkInstance,
    functions.inspect,
    { instance_id: JsonPath.stringAt('$.instance.instance_id') },
    '$.check',
  )
    .addRetry({ errors: ALL, interval: Duration.seconds(5), ...BACKOFF, maxAttempts: 3 })
    .addCatch(recordProvisioningError, { errors: ALL, resultPath: '$.error' });
  waitForBoot.next(checkInstance);
  checkInstance.next(
    new Choice(scope, STATES.machineReady)
      .when(Condition.stringEquals('$.check.phase', 'ready'), startClock)
      .when(Condition.stringEquals('$.check.phase', 'booting'), waitForBoot)
      .when(Condition.stringEquals('$.check.phase', 'lease_ended'), markTerminating)
      .otherwise(recordProvisioningFailure),
  );

  const launchTask = stepTask(STATES.launch, functions.launch, {}, '$.instance')
    .addRetry({
      errors: [WORKFLOW_ERRORS.launchThrottled],
      interval: Duration.seconds(10),
      ...BACKOFF,
      maxAttempts: 5,
    })
    .addRetry({
      errors: [WORKFLOW_ERRORS.capacityUnavailable],
      interval: Duration.seconds(30),
      ...BACKOFF,
      maxAttempts: 2,
    })
    .addCatch(recordLaunchFailure, { errors: ALL, resultPath: '$.error' });
  launchTask.next(
    new Choice(scope, STATES.launchCancelled)
      .when(Condition.booleanEquals('$.instance.cancelled', true), markTerminating)
      .otherwise(waitForBoot),
  );

  // Nothing launched yet: a lease that cannot be read ends the execution, and the
  // status-change rule's cleanup fails and refunds it.
  const readLease = new DynamoGetItem(scope, STATES.readLease, {
    table,
    key: machineKey,
    consistentRead: true,
    resultSelector: { status: JsonPath.stringAt('$.Item.status.S') },
    resultPath: '$.lease',
  })
    // A throttled read (a hot partition) is retried rather than failing a paid lease at once.
    .addRetry({ errors: ALL, interval: Duration.seconds(2), ...BACKOFF, maxAttempts: 4 })
    .addCatch(
      new Fail(scope, STATES.leaseNotFound, {
        error: 'Lease.NotFound',
        cause: 'No machine item for this execution',
      }),
      { errors: ALL },
    );
  return readLease.next(
    new Choice(scope, STATES.stillToLaunch)
      .when(Condition.stringEquals('$.lease.status', 'provisioning'), launchTask)
      // A lease already under way (its execution was lost) resumes: holds, or ends its machine.
      .when(Condition.stringEquals('$.lease.status', 'active'), checkLease)
      .when(Condition.stringEquals('$.lease.status', 'terminating'), markTerminating)
      .otherwise(new Succeed(scope, STATES.nothingToRun)),
  );
}
