import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import {
  Choice,
  Condition,
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
  LambdaInvoke,
} from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { itemKeys } from '../lambdas/adapters/dynamodb/table-design.js';
import {
  EXTENSION_SIGNAL,
  READY_SIGNAL,
} from '../lambdas/adapters/workflow/step-functions-lease-workflow.js';
import { WORKFLOW_ERRORS } from '../lambdas/workflow/workflow-errors.js';

/** How often the fallback polls provisioning (only when no ready callback came in time). */
export const BOOT_POLL_SECONDS = 15;
/**
 * How long the launch waits for the machine's ready callback before falling back to polling.
 * A bare machine calls back within a minute or two; a GPU machine that takes longer is still
 * activated the moment it calls back (the callback writes the lease), and the next poll sees it.
 */
export const READY_CALLBACK_WAIT_SECONDS = 300;

/** State names are the lease's story as an operator reads it in the Step Functions console. */
/** The pause before holding a lease again that End lease found not over. */
export const NOT_DUE_PAUSE_SECONDS = 30;

export const STATES = {
  readLease: 'Read lease',
  stillToLaunch: 'Still to launch?',
  launch: 'Launch and await ready',
  readyOrEnded: 'Ready or ended?',
  waitForBoot: 'Wait for boot',
  checkInstance: 'Check instance',
  machineReady: 'Machine ready?',
  startClock: 'Start lease clock',
  hold: 'Hold until lease end',
  checkLease: 'Check lease',
  wokenWhy: 'Woken why?',
  leaseDue: 'Lease due?',
  endLease: 'End lease',
  howItEnded: 'How did it end?',
  notDueYet: 'Not due yet',
  recordLaunchFailure: 'Record launch failure',
  recordProvisioningFailure: 'Record provisioning failure',
  recordProvisioningError: 'Record provisioning error',
  refundPayment: 'Refund payment',
  leaseOver: 'Lease over',
  nothingToRun: 'Lease already ended',
  provisioningFailed: 'Provisioning failed',
  terminationFailed: 'Termination failed',
  leaseNotFound: 'Lease not found',
} as const;

/** The step functions the definition calls. */
export interface LeaseStepFunctions {
  launch: IFunction;
  inspect: IFunction;
  records: IFunction;
  refund: IFunction;
}

export interface LeaseWorkflowTimings {
  /** How long the launch waits for the ready callback (at most the provisioning window). */
  readyCallbackWaitSeconds: number;
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
 * The lease's state machine: launch the instance and wait for the machine to call back
 * ready (the callback itself activates the lease; polling is only the fallback), hold until
 * the lease ends (woken at once by an early DELETE, re-armed by extensions), then end it:
 * terminate and record in one step. A plain lease costs 10 state transitions.
 *
 * No path ends with a machine running: every Task state has a catch-all. Before the lease
 * is usable, an error records the lease as failed (which marks its payment `refund_due`);
 * after, it ends the lease. Both lead to "End lease", which terminates the instance and fails
 * a lease still provisioning, and a failed lease is refunded last, so neither a refund nor a
 * record that fails can stop the terminate. The cleanup path only moves forward, and an
 * execution that fails, times out or is aborted is cleaned up by the status-change rule.
 */
export function leaseWorkflowDefinition(
  scope: Construct,
  table: ITable,
  functions: LeaseStepFunctions,
  timings: LeaseWorkflowTimings,
) {
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
    cause:
      'The lease could not be ended (instance terminated and recorded); the cleanup function and reconciler finish it.',
  });

  // A failed lease is refunded last; a refund that keeps failing leaves `refund_due` on the
  // lease for the cleanup function (run at once on the failed execution) and the sweeper.
  const refundPayment = stepTask(STATES.refundPayment, functions.refund, {}, '$.refund')
    .addRetry({ errors: ALL, interval: Duration.seconds(10), ...BACKOFF, maxAttempts: 4 })
    .addCatch(provisioningFailed, { errors: ALL, resultPath: '$.refund_error' });
  refundPayment.next(provisioningFailed);

  // Ending, in one step: close the lease (no extension applies after), terminate its
  // instance, record the end; then refund a lease that failed.
  const endLease = recordsTask(STATES.endLease, { action: 'end_lease' }, '$.ended')
    .addRetry({ errors: ALL, interval: Duration.seconds(5), ...BACKOFF, maxAttempts: 4 })
    .addCatch(terminationFailed, { errors: ALL, resultPath: '$.end_error' });
  const howItEnded = new Choice(scope, STATES.howItEnded);
  endLease.next(
    howItEnded
      .when(
        Condition.and(
          Condition.isPresent('$.ended.status'),
          Condition.stringEquals('$.ended.status', 'failed'),
        ),
        refundPayment,
      )
      .otherwise(leaseOver),
  );

  // Failure: record why (the lease becomes failed, its payment owed back), then end it. A
  // record that fails still ends it; the lease, still provisioning, is then failed there.
  const failureRecord = (name: string, payload: Record<string, unknown>) => {
    const task = recordsTask(name, { action: 'record_failure', ...payload }, '$.failure');
    task.addCatch(endLease, { errors: ALL, resultPath: '$.record_error' });
    task.next(endLease);
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
    .addCatch(endLease, { errors: ALL, resultPath: '$.check_error' });
  const hold = new LambdaInvoke(scope, STATES.hold, {
    lambdaFunction: functions.records,
    integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: TaskInput.fromObject({
      action: 'hold',
      machine_id: JsonPath.stringAt('$.machine_id'),
      token: JsonPath.taskToken,
    }),
    // Whole seconds, rounded up from the lease's end: the hold wakes less than a second after it.
    taskTimeout: Timeout.at('$.clock.seconds_remaining'),
    resultPath: '$.wake',
  });
  // No retrier on the hold: its lease-end timeout must reach the catcher, and the hold's
  // function is one conditional write (the SDK retries throttling inside it).
  hold.addCatch(checkLease, { errors: ['States.Timeout'], resultPath: JsonPath.DISCARD });
  hold.addCatch(endLease, {
    errors: [WORKFLOW_ERRORS.leaseNotActive],
    resultPath: JsonPath.DISCARD,
  });
  hold.addCatch(endLease, { errors: ALL, resultPath: '$.hold_error' });
  // Woken by an extension: re-arm at the new end (the hold also tells the machine its new
  // end); woken by anything else (an early DELETE): end the lease.
  hold.next(
    new Choice(scope, STATES.wokenWhy)
      .when(Condition.stringEquals('$.wake.reason', EXTENSION_SIGNAL.reason), checkLease)
      .otherwise(endLease),
  );
  checkLease.next(
    new Choice(scope, STATES.leaseDue)
      .when(Condition.booleanEquals('$.clock.due', true), endLease)
      .otherwise(hold),
  );
  // Not over after all: an extension paid at the lease's end moved it (or an error of the hold
  // led here before the end came). Hold again after a pause: a hold that keeps failing then
  // costs about 12 transitions a minute (a 6-hour lease stays far below the 25,000 events of
  // an execution's history) instead of spinning; a DELETE meanwhile is seen within the pause.
  howItEnded.when(
    Condition.and(
      Condition.isPresent('$.ended.status'),
      Condition.stringEquals('$.ended.status', 'active'),
    ),
    new Wait(scope, STATES.notDueYet, {
      time: WaitTime.duration(Duration.seconds(NOT_DUE_PAUSE_SECONDS)),
    }).next(checkLease),
  );

  // Fallback activation, when no callback came: the poll found the machine usable.
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
  startClock.addCatch(endLease, {
    errors: [WORKFLOW_ERRORS.leaseNotActive],
    resultPath: JsonPath.DISCARD,
  });
  startClock.addCatch(recordProvisioningError, { errors: ALL, resultPath: '$.error' });
  startClock.next(hold);

  // The fallback: poll until usable, activated by a late callback, gone, or out of time.
  const waitForBoot = new Wait(scope, STATES.waitForBoot, {
    time: WaitTime.duration(Duration.seconds(BOOT_POLL_SECONDS)),
  });
  const checkInstance = stepTask(STATES.checkInstance, functions.inspect, {}, '$.check')
    .addRetry({ errors: ALL, interval: Duration.seconds(5), ...BACKOFF, maxAttempts: 3 })
    .addCatch(recordProvisioningError, { errors: ALL, resultPath: '$.error' });
  waitForBoot.next(checkInstance);
  checkInstance.next(
    new Choice(scope, STATES.machineReady)
      .when(Condition.stringEquals('$.check.phase', 'ready'), startClock)
      .when(Condition.stringEquals('$.check.phase', 'booting'), waitForBoot)
      .when(Condition.stringEquals('$.check.phase', 'active'), checkLease)
      .when(Condition.stringEquals('$.check.phase', 'lease_ended'), endLease)
      .otherwise(recordProvisioningFailure),
  );

  // Provisioning: launch, then wait for the machine's ready callback. The launch function
  // stores this task's token with the instance; the ready endpoint activates the lease and
  // completes the task with the lease clock (an early DELETE completes it with its signal).
  // No callback in time: poll.
  const launchTask = new LambdaInvoke(scope, STATES.launch, {
    lambdaFunction: functions.launch,
    integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: TaskInput.fromObject({
      machine_id: JsonPath.stringAt('$.machine_id'),
      token: JsonPath.taskToken,
    }),
    taskTimeout: Timeout.duration(Duration.seconds(timings.readyCallbackWaitSeconds)),
    resultPath: '$.clock',
  })
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
    .addCatch(waitForBoot, { errors: ['States.Timeout'], resultPath: JsonPath.DISCARD })
    .addCatch(endLease, {
      errors: [WORKFLOW_ERRORS.leaseNotActive],
      resultPath: JsonPath.DISCARD,
    })
    .addCatch(recordLaunchFailure, { errors: ALL, resultPath: '$.error' });
  launchTask.next(
    new Choice(scope, STATES.readyOrEnded)
      .when(Condition.stringEquals('$.clock.reason', READY_SIGNAL.reason), hold)
      // An extension that landed between activation and this wake: re-read the clock.
      .when(Condition.stringEquals('$.clock.reason', EXTENSION_SIGNAL.reason), checkLease)
      .otherwise(endLease),
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
      .when(Condition.stringEquals('$.lease.status', 'terminating'), endLease)
      .otherwise(new Succeed(scope, STATES.nothingToRun)),
  );
}
