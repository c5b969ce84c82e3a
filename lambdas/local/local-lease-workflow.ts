import './promise-with-resolvers.js';
import { randomUUID } from 'node:crypto';
import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { StateMachine } from 'aws-local-stepfunctions';
import {
  EXTENSION_SIGNAL,
  leaseExecutionInput,
  READY_SIGNAL,
  TERMINATION_SIGNAL,
} from '../adapters/workflow/step-functions-lease-workflow.js';
import type { LeaseClock, MachineRecord } from '../core/machine.js';
import type { LeaseWorkflow, Logger } from '../core/ports.js';
import type { CommandSender } from '../runtime/runtime-clients.js';
import type { ExecutionStatus, ExecutionStatusChange } from '../workflow/execution-status.js';
import { LOCAL_PARTITION } from './cloudformation-intrinsics.js';
import type { SynthesizedWorkflow, WorkflowFunction } from './synthesized-workflow.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type StepHandler = (input: never) => Promise<unknown>;

export interface LocalWorkflowTiming {
  /** Replaces the Wait states' polling intervals (the fallback's boot polls). */
  pollMs: number;
  /**
   * Replaces the fixed timeout of a callback task (the launch's wait for the ready callback),
   * in real milliseconds; by default that timeout runs on the lease clock.
   */
  readyWaitMs?: number;
  /** Replaces every Retry interval. */
  retryMs: number;
  /** Lease holds run this many times faster than real time. */
  clockSpeedup: number;
}

export interface LocalWorkflowDependencies {
  workflow: SynthesizedWorkflow;
  /** The step functions' handlers, the same code the Lambda functions run. */
  steps: Record<WorkflowFunction, StepHandler>;
  /** The simulated EC2 (behind its simulated limits, when on). */
  ec2: CommandSender;
  dynamo: DynamoDBClient;
  timing: LocalWorkflowTiming;
  log: Logger;
  /**
   * The status-change rule's target: called, as EventBridge would, when an execution
   * fails, times out or is aborted (not when the local storefront itself shuts down).
   */
  onExecutionEndedBadly?: (event: ExecutionStatusChange) => Promise<unknown>;
}

/** A failure injected into one Task state: every attempt throws `error`, or never answers. */
export type InjectedFault = { error: string } | { hang: true };

export interface ExecutionRecord {
  machineId: string;
  /** Every state entered, in order: what Step Functions bills as state transitions. */
  states: string[];
  status: 'running' | 'succeeded' | 'failed' | 'timed_out' | 'aborted';
  error?: string;
  /** What the status-change cleanup reported (or why it failed), once it has run. */
  cleanup?: unknown;
  /** Settles when the execution has ended and any cleanup it triggered has run. */
  done: Promise<void>;
}

/** Errors from a service integration carry the service's prefix, as in Step Functions. */
function integrationError(service: string, error: unknown): Error {
  const original = error as { name?: string; Code?: string; message?: string };
  const renamed = new Error(original.message ?? String(error));
  renamed.name = `${service}.${original.Code ?? original.name ?? 'Error'}`;
  return renamed;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

const statesTimeout = () => {
  const error = new Error('the task timed out');
  error.name = 'States.Timeout';
  return error;
};

const isCallbackTask = (state: Record<string, unknown>) =>
  String(state.Resource).endsWith('.waitForTaskToken');

/** Far beyond any lease, and below Node's timer ceiling (2^31 ms, about 24.8 days). */
const RUNNER_CEILING_SECONDS = 20 * 86_400;

/**
 * aws-local-stepfunctions reads TimeoutSecondsPath from the task's Parameters output;
 * Step Functions reads it from the state input. The local callback tasks enforce their
 * timeouts themselves (see callbackTask()), on the lease clock, so the runner gets a fixed
 * ceiling instead.
 */
function withLocalTimeouts(
  definition: Record<string, unknown>,
  timing: LocalWorkflowTiming,
): Record<string, unknown> {
  // A JSON copy, not structuredClone: the runner only treats objects of its own realm as plain.
  const copy = JSON.parse(JSON.stringify(definition)) as {
    TimeoutSeconds?: number;
    States: Record<string, Record<string, unknown>>;
  };
  // The execution's own timeout runs on the lease clock, like the holds.
  if (copy.TimeoutSeconds)
    copy.TimeoutSeconds = Math.max(1, Math.ceil(copy.TimeoutSeconds / timing.clockSpeedup));
  for (const state of Object.values(copy.States)) {
    if (!isCallbackTask(state)) continue;
    delete state.TimeoutSecondsPath;
    state.TimeoutSeconds = RUNNER_CEILING_SECONDS;
  }
  return copy;
}

const withoutMetadata = ({ $metadata: _metadata, ...rest }: { $metadata?: unknown }) =>
  rest as Json;

/**
 * Runs the synthesised lease state machine with aws-local-stepfunctions, one execution
 * per machine: Lambda steps call the step handlers in-process, EC2 calls go to the
 * simulated fleet, DynamoDB calls go to the local DynamoDB, and the wake-up callback of
 * an early termination resolves the held task as SendTaskSuccess would.
 */
export class LocalLeaseWorkflow implements LeaseWorkflow {
  private built: StateMachine | undefined;
  /** Built once: every execution runs the same states with the same local stand-ins. */
  private readonly stateOverrides: ReturnType<LocalLeaseWorkflow['overrides']>;
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly held = new Map<string, { wake: (output: Json) => void; cancel: () => void }>();
  private readonly aborts = new Map<string, () => void>();
  private readonly faults = new Map<string, InjectedFault>();
  private readonly hanging = new Set<(error: Error) => void>();
  private closed = false;

  constructor(private readonly deps: LocalWorkflowDependencies) {
    this.stateOverrides = this.overrides();
  }

  /**
   * The state machine, built when the first execution starts rather than with the storefront:
   * building it validates the definition against the Amazon States Language schemas (about
   * 0.2 s of a start that answers nothing meanwhile). An invalid definition is refused then.
   */
  private get machine(): StateMachine {
    this.built ??= new StateMachine(
      withLocalTimeouts(this.deps.workflow.definition, this.deps.timing) as never,
      {
        validationOptions: { checkArn: true, checkPaths: true },
      },
    );
    return this.built;
  }

  /**
   * Every Lambda function a Task state invoked so far, in every execution, with how long the
   * function took here (a callback task's function only, not its wait for the token).
   */
  readonly lambdaInvocations: { state: string; function: string; ms: number }[] = [];

  private timed(state: string, fn: string, handler: StepHandler): StepHandler {
    return async (input) => {
      const started = performance.now();
      try {
        return await handler(input);
      } finally {
        this.lambdaInvocations.push({ state, function: fn, ms: performance.now() - started });
      }
    };
  }

  execution(machineId: string): ExecutionRecord | undefined {
    return this.executions.get(machineId);
  }

  /** Every execution started so far, in the order they started. */
  allExecutions(): ExecutionRecord[] {
    return [...this.executions.values()];
  }

  /** Makes a Task state fail (or hang) in every execution from now on: fault-injection tests. */
  injectFault(state: string, fault: InjectedFault): void {
    const states = this.deps.workflow.definition.States as Record<string, { Type?: string }>;
    if (states[state]?.Type !== 'Task') throw new Error(`${state} is not a Task state`);
    this.faults.set(state, { ...fault });
  }

  /** StopExecution: the execution ends as aborted, and its cleanup runs. */
  abort(machineId: string): void {
    this.aborts.get(machineId)?.();
  }

  async start(machine: MachineRecord): Promise<void> {
    // The execution name is the machine id: a second start is the same execution.
    if (this.closed || this.executions.has(machine.machine_id)) return;
    // Built (and validated) before the execution is recorded: an invalid definition records none.
    const stateMachine = this.machine;
    const record: ExecutionRecord = {
      machineId: machine.machine_id,
      states: [],
      status: 'running',
      done: Promise.resolve(),
    };
    this.executions.set(machine.machine_id, record);
    const execution = stateMachine.run(leaseExecutionInput(machine) as Json as never, {
      overrides: this.stateOverrides,
      context: this.context(machine.machine_id),
    });
    this.aborts.set(machine.machine_id, execution.abort);
    const follow = (async () => {
      for await (const event of execution.eventLogs) {
        if (event.type !== 'StateEntered') continue;
        record.states.push(event.state.name);
        if (
          event.state.type === 'Task' ||
          event.state.type === 'Succeed' ||
          event.state.type === 'Fail'
        ) {
          this.deps.log.info('lease.step', {
            machine_id: machine.machine_id,
            state: event.state.name,
          });
        }
      }
    })();
    record.done = execution.result
      .then(() => {
        record.status = 'succeeded';
      })
      .catch(async (error: unknown) => {
        const name = (error as { name?: string }).name;
        record.status =
          name === 'ExecutionTimeoutError'
            ? 'timed_out'
            : name === 'ExecutionAbortedError'
              ? 'aborted'
              : 'failed';
        const cause = (error as { cause?: { name?: string; message?: string } }).cause;
        record.error = cause ? `${cause.name}: ${cause.message}` : String(error);
        this.deps.log.warn('lease.execution_failed', {
          machine_id: machine.machine_id,
          status: record.status,
          error: record.error,
        });
        if (!this.closed) await this.endedBadly(record);
      })
      .finally(() => this.aborts.delete(machine.machine_id));
    follow.catch(() => {});
  }

  async terminationRequested(machine: MachineRecord): Promise<void> {
    if (machine.wake_token) this.sendTaskSuccess(machine.wake_token, TERMINATION_SIGNAL);
  }

  async extensionApplied(machine: MachineRecord): Promise<void> {
    if (machine.wake_token && machine.status === 'active')
      this.sendTaskSuccess(machine.wake_token, EXTENSION_SIGNAL);
  }

  async readinessReported(machine: MachineRecord, clock: LeaseClock): Promise<void> {
    if (machine.wake_token) this.sendTaskSuccess(machine.wake_token, { ...READY_SIGNAL, ...clock });
  }

  /** SendTaskSuccess: the held task with this token ends with this output (if still held). */
  sendTaskSuccess(token: string, output: unknown): void {
    this.held.get(token)?.wake(output as Json);
  }

  /** What EventBridge would deliver to the cleanup function for this execution. */
  private async endedBadly(record: ExecutionRecord): Promise<void> {
    const { onExecutionEndedBadly } = this.deps;
    if (!onExecutionEndedBadly) return;
    const status: ExecutionStatus =
      record.status === 'timed_out'
        ? 'TIMED_OUT'
        : record.status === 'aborted'
          ? 'ABORTED'
          : 'FAILED';
    const { stateMachineArn } = this.deps.workflow;
    try {
      record.cleanup = await onExecutionEndedBadly({
        'detail-type': 'Step Functions Execution Status Change',
        source: 'aws.states',
        detail: {
          executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${record.machineId}`,
          stateMachineArn,
          name: record.machineId,
          status,
          error: record.error ?? null,
        },
      });
    } catch (error) {
      // Lambda would retry the event; here the reconciler is the next safety net.
      record.cleanup = { error: error instanceof Error ? error.message : String(error) };
      this.deps.log.error('lease.cleanup_failed', {
        machine_id: record.machineId,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  /** Stops every running execution (the local storefront is shutting down). */
  async close(): Promise<void> {
    this.closed = true;
    for (const reject of this.hanging) reject(new Error('the local storefront is shutting down'));
    for (const hold of this.held.values()) hold.cancel();
    for (const abort of this.aborts.values()) abort();
    await Promise.allSettled([...this.executions.values()].map((record) => record.done));
  }

  private context(machineId: string) {
    return {
      Execution: { Name: machineId },
      // Step Functions gives each task its own token and each state its entry time.
      Task: {
        get Token() {
          return `local-task:${machineId}:${randomUUID()}`;
        },
      },
      State: {
        get EnteredTime() {
          return new Date().toISOString();
        },
      },
    };
  }

  private overrides() {
    const { workflow, timing } = this.deps;
    const states = workflow.definition.States as Record<string, Record<string, unknown>>;
    const taskResourceLocalHandlers: Record<string, (input: Json) => Promise<Json>> = {};
    const waitTimeOverrides: Record<string, number> = {};
    const retryIntervalOverrides: Record<string, number> = {};
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Wait') waitTimeOverrides[name] = timing.pollMs;
      if (state.Retry) retryIntervalOverrides[name] = timing.retryMs;
      if (state.Type !== 'Task') continue;
      const handler = this.handlerFor(name, state);
      taskResourceLocalHandlers[name] = (input) => this.withFaults(name, () => handler(input));
    }
    return { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides };
  }

  private withFaults(state: string, run: () => Promise<Json>): Promise<Json> {
    const fault = this.faults.get(state);
    if (!fault) return run();
    if ('hang' in fault)
      return new Promise<Json>((_, reject) => {
        this.hanging.add(reject);
      });
    const error = new Error(`injected failure in ${state}`);
    error.name = fault.error;
    return Promise.reject(error);
  }

  private handlerFor(name: string, state: Record<string, unknown>): (input: Json) => Promise<Json> {
    const resource = String(state.Resource);
    const { workflow, steps, ec2, dynamo } = this.deps;
    const step = workflow.functionByArn[resource];
    if (step) {
      const invoke = this.timed(name, step, steps[step]);
      return async (input) => (await invoke(input as never)) as Json;
    }

    if (resource.endsWith(':lambda:invoke.waitForTaskToken')) {
      const functionName = String((state.Parameters as Record<string, unknown>).FunctionName);
      const callbackStep = workflow.functionByArn[functionName];
      if (!callbackStep) throw new Error(`${name}: no local function for ${functionName}`);
      const timeoutMs = this.callbackTimeout(state);
      const register = this.timed(name, callbackStep, steps[callbackStep]);
      return (input) =>
        this.callbackTask((input as { Payload: Json }).Payload, register, timeoutMs);
    }

    const sdk = new RegExp(`^arn:${LOCAL_PARTITION}:states:::aws-sdk:ec2:(\\w+)$`).exec(resource);
    if (sdk) {
      const commands: Record<string, new (input: never) => object> = {
        describeInstances: DescribeInstancesCommand,
        terminateInstances: TerminateInstancesCommand,
      };
      const Command = commands[sdk[1] ?? ''];
      if (!Command) throw new Error(`${name}: the simulated EC2 has no ${sdk[1]}`);
      return async (input) => {
        try {
          return withoutMetadata(await ec2.send(new Command(input as never)));
        } catch (error) {
          throw integrationError('Ec2', error);
        }
      };
    }

    const table = new RegExp(
      `^arn:${LOCAL_PARTITION}:states:::dynamodb:(getItem|updateItem)$`,
    ).exec(resource);
    if (table) {
      return async (input) => {
        try {
          const command =
            table[1] === 'getItem'
              ? new GetItemCommand(input as never)
              : new UpdateItemCommand(input as never);
          return withoutMetadata((await dynamo.send(command as never)) as { $metadata?: unknown });
        } catch (error) {
          throw integrationError('DynamoDB', error);
        }
      };
    }
    throw new Error(`${name}: no local stand-in for ${resource}`);
  }

  /**
   * How long a callback task waits, in real milliseconds, given what its function returned:
   * the hold until the lease's end (TimeoutSecondsPath, the `seconds_remaining` the function
   * computed, rounded up to whole seconds as Step Functions needs), or a fixed timeout.
   */
  private callbackTimeout(state: Record<string, unknown>): (registered: Json) => number {
    const { timing } = this.deps;
    if (state.TimeoutSecondsPath) {
      return (registered) =>
        ((registered as { seconds_remaining: number }).seconds_remaining * 1000) /
        timing.clockSpeedup;
    }
    const fixedMs =
      timing.readyWaitMs ?? (Number(state.TimeoutSeconds) * 1000) / timing.clockSpeedup;
    return () => fixedMs;
  }

  /**
   * A callback task: the function stores the token (and does its work); the task then waits
   * until SendTaskSuccess completes it (the ready callback, an early termination, an
   * extension) or until its timeout, reported as States.Timeout as in Step Functions.
   */
  private async callbackTask(
    payload: Json,
    register: StepHandler,
    timeoutMs: (registered: Json) => number,
  ): Promise<Json> {
    const token = (payload as { token: string }).token;
    const registered = (await register(payload as never)) as Json;
    if (this.closed) throw new Error('the local storefront is shutting down');
    return new Promise<Json>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.held.delete(token);
          reject(statesTimeout());
        },
        Math.min(timeoutMs(registered), MAX_TIMER_MS),
      );
      // A lease may hold for hours; its timer must not keep a stopping process alive.
      timer.unref();
      this.held.set(token, {
        wake: (output) => {
          clearTimeout(timer);
          this.held.delete(token);
          resolve(output);
        },
        cancel: () => {
          clearTimeout(timer);
          this.held.delete(token);
          reject(new Error('the local storefront is shutting down'));
        },
      });
    });
  }
}
