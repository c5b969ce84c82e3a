import type { InjectedFault } from '../../lambdas/local/local-lease-workflow.js';
import type { CleanupReport } from '../../lambdas/workflow/cleanup-lease.js';
import { STATES } from '../../lib/lease-workflow.js';
import { buyMachine, type Harness, type PaidMachine, startHarness } from '../support/harness.js';

/**
 * A failure injected into each Task state of the synthesised state machine, run locally
 * with the real step handlers, the local DynamoDB and the simulated EC2. Whatever fails,
 * the lease ends with no instance running, a status the agent can read, and its payment
 * refunded when the agent never had a usable machine. README ("The lease workflow") holds
 * the same table.
 */
const FAST = {
  clockSpeedup: 600,
  ec2Timing: { bootMs: 6_000, readyMs: 6_000, shutdownMs: 6_000 },
  workflowTiming: { pollMs: 10, retryMs: 5 },
};

/** A Lambda function error (not retried by the service-exception retriers). */
const lambdaError = { error: 'Error' };
const dynamoError = { error: 'DynamoDB.InternalServerErrorException' };

interface Case {
  state: string;
  fault: InjectedFault;
  /** Other faults that make the run reach the state. */
  setUp?: (api: Harness) => void;
  product?: string;
  instance: 'none launched' | 'terminated';
  status: 'failed' | 'terminated';
  /**
   * Who ended the lease: the workflow's own catch-all path, or the cleanup function that
   * the status-change rule runs when the execution failed with work left undone.
   */
  finishedBy: 'workflow' | 'cleanup';
  refunded: boolean;
}

const launchRefused = (api: Harness) => {
  api.fleet.ec2.launchFailures.push('InvalidParameterCombination');
};
const neverReady = (api: Harness) => {
  api.fleet.ec2.neverReady.add('i-00000000000000001');
};
/** The machine never reaches the ready endpoint: the workflow falls back to polling. */
const noCallback = (api: Harness) => {
  api.fleet.boot.neverCallsBack.add('i-00000000000000001');
};

const CASES: Case[] = [
  {
    state: STATES.readLease,
    fault: dynamoError,
    instance: 'none launched',
    status: 'failed',
    finishedBy: 'cleanup',
    refunded: true,
  },
  {
    state: STATES.launch,
    fault: lambdaError,
    instance: 'none launched',
    status: 'failed',
    finishedBy: 'workflow',
    refunded: true,
  },
  {
    state: STATES.checkInstance,
    fault: lambdaError,
    setUp: noCallback,
    instance: 'terminated',
    status: 'failed',
    finishedBy: 'workflow',
    refunded: true,
  },
  {
    state: STATES.startClock,
    fault: lambdaError,
    setUp: noCallback,
    instance: 'terminated',
    status: 'failed',
    finishedBy: 'workflow',
    refunded: true,
  },
  {
    state: STATES.hold,
    fault: lambdaError,
    instance: 'terminated',
    status: 'terminated',
    finishedBy: 'workflow',
    refunded: false,
  },
  {
    state: STATES.checkLease,
    fault: lambdaError,
    instance: 'terminated',
    status: 'terminated',
    finishedBy: 'workflow',
    refunded: false,
  },
  {
    state: STATES.endLease,
    fault: lambdaError,
    instance: 'terminated',
    status: 'terminated',
    finishedBy: 'cleanup',
    refunded: false,
  },
  {
    state: STATES.recordLaunchFailure,
    fault: lambdaError,
    setUp: launchRefused,
    instance: 'none launched',
    status: 'failed',
    finishedBy: 'workflow',
    refunded: true,
  },
  {
    state: STATES.recordProvisioningFailure,
    fault: lambdaError,
    setUp: neverReady,
    product: 'gpu-h100-machine',
    instance: 'terminated',
    status: 'failed',
    finishedBy: 'workflow',
    refunded: true,
  },
  {
    state: STATES.recordProvisioningError,
    fault: lambdaError,
    setUp: (api) => {
      noCallback(api);
      api.fleet.workflow.injectFault(STATES.checkInstance, lambdaError);
    },
    instance: 'terminated',
    status: 'failed',
    finishedBy: 'workflow',
    refunded: true,
  },
  {
    state: STATES.refundPayment,
    fault: lambdaError,
    setUp: launchRefused,
    instance: 'none launched',
    status: 'failed',
    finishedBy: 'cleanup',
    refunded: true,
  },
];

/** Every Task state of the synthesised definition has its row above: none is left untested. */
it('covers every Task state of the lease workflow', async () => {
  const api = await startHarness(FAST);
  try {
    const states = api.stack.definition.States as Record<string, { Type: string }>;
    const tasks = Object.entries(states)
      .filter(([, state]) => state.Type === 'Task')
      .map(([name]) => name);
    expect(CASES.map((c) => c.state).sort()).toEqual(tasks.sort());
  } finally {
    await api.close();
  }
});

async function settled(api: Harness, machineId: string) {
  const execution = api.fleet.workflow.execution(machineId);
  if (!execution) throw new Error(`no execution for ${machineId}`);
  await execution.done;
  return execution;
}

/** Instances that would still be billing: anything not shutting down or gone. */
const stillRunning = (api: Harness) =>
  api.fleet.ec2
    .running()
    .filter((instance) => instance.State?.Name !== 'shutting-down')
    .map((instance) => instance.InstanceId);

async function endState(api: Harness, lease: PaidMachine, statuses: string[]) {
  const reply = await api.waitForStatus(lease.machineId, lease.tokens.read_token, statuses);
  const execution = await settled(api, lease.machineId);
  const record = await api.storefront.machines.get(lease.machineId, new Date(0));
  const order = await api.getOrder(lease.orderId);
  return {
    execution,
    status: reply.body.status,
    failureReason: reply.body.failure_reason,
    /** The instance the lease ran on, if one was launched, and what became of it. */
    instance: record?.instance_id
      ? api.fleet.ec2.instance(record.instance_id)?.State?.Name
      : 'none launched',
    running: stillRunning(api),
    refund: order.body.refund as { status: string; amount_cents: number } | undefined,
    refundDue: record?.refund_due,
  };
}

describe('a failure in any Task state of the lease workflow', () => {
  let api: Harness;
  beforeEach(async () => {
    api = await startHarness(FAST);
  });
  afterEach(() => api.close());

  it.each(CASES.map((c) => [c.state, c]))(
    '%s: ends with no instance running, the lease recorded, the payment refunded if owed',
    async (_state, c) => {
      c.setUp?.(api);
      api.fleet.workflow.injectFault(c.state, c.fault);
      const lease = await buyMachine(api, {
        duration_minutes: 15,
        ...(c.product ? { product_id: c.product } : {}),
      });
      const end = await endState(api, lease, [c.status]);

      expect(end.execution.states).toContain(c.state);
      expect(end.running).toEqual([]);
      if (c.instance === 'none launched') expect(end.instance).toBe('none launched');
      else expect(end.instance).toMatch(/^(shutting-down|terminated)$/);
      expect(end.status).toBe(c.status);
      // A failed lease tells the agent why, without internals.
      if (c.status === 'failed') expect(end.failureReason).toMatch(/^(the machine|[\w-]+ could)/);
      const cleanup = end.execution.cleanup as CleanupReport | undefined;
      const cleanupDidWork = Boolean(
        cleanup &&
          (cleanup.lease_recorded || cleanup.instances_terminated.length || cleanup.refunded_cents),
      );
      expect(cleanupDidWork).toBe(c.finishedBy === 'cleanup');
      if (c.refunded) {
        expect(end.refund).toMatchObject({ status: 'refunded' });
        expect(end.refund?.amount_cents).toBeGreaterThan(0);
        expect(end.refundDue).toBeUndefined();
      } else {
        expect(end.refund).toBeUndefined();
      }
    },
  );

  it('an execution that ends badly is cleaned up by the status-change target, like on AWS', async () => {
    api.fleet.workflow.injectFault(STATES.endLease, lambdaError);
    const lease = await buyMachine(api, { duration_minutes: 15 });
    const end = await endState(api, lease, ['terminated']);
    expect(end.execution.status).toBe('failed');
    expect(end.execution.error).toMatch(/Lease.TerminationFailed/);
    const machine = await api.storefront.machines.get(lease.machineId, new Date(0));
    expect(end.execution.cleanup).toEqual({
      machine_id: lease.machineId,
      instances_terminated: [machine?.instance_id],
      status: 'terminated',
      lease_recorded: true,
      refunded_cents: 0,
    });
  });
});

describe('an execution stopped from outside', () => {
  it('aborted while the lease is active: the cleanup ends the lease and its instance', async () => {
    const api = await startHarness(FAST);
    try {
      const lease = await buyMachine(api, { duration_minutes: 360 });
      await api.waitForStatus(lease.machineId, lease.tokens.read_token, ['active']);
      api.fleet.workflow.abort(lease.machineId);
      const end = await endState(api, lease, ['terminated']);
      expect(end.execution.status).toBe('aborted');
      expect(end.running).toEqual([]);
      expect(end.refund).toBeUndefined();
      expect(end.execution.cleanup).toMatchObject({ status: 'terminated' });
    } finally {
      await api.close();
    }
  });

  it('aborted while provisioning: the lease fails and is refunded', async () => {
    const api = await startHarness(FAST);
    try {
      // No callback comes, and the fallback's poll never answers.
      api.fleet.boot.neverCallsBack.add('i-00000000000000001');
      api.fleet.workflow.injectFault(STATES.checkInstance, { hang: true });
      const lease = await buyMachine(api, { duration_minutes: 15 });
      await waitFor(() =>
        api.fleet.workflow.execution(lease.machineId)?.states.includes(STATES.checkInstance),
      );
      api.fleet.workflow.abort(lease.machineId);
      const end = await endState(api, lease, ['failed']);
      expect(end.execution.status).toBe('aborted');
      expect(end.instance).toMatch(/^(shutting-down|terminated)$/);
      expect(end.running).toEqual([]);
      expect(end.refund).toMatchObject({ status: 'refunded' });
      expect(end.refundDue).toBeUndefined();
    } finally {
      await api.close();
    }
  });

  it('timed out (its TimeoutSeconds passed on the lease clock): the lease fails and is refunded', async () => {
    // At 6000× the execution's 435-minute timeout passes in about 5 seconds.
    const api = await startHarness({ ...FAST, clockSpeedup: 6_000 });
    try {
      // No callback comes, and the fallback's poll never answers.
      api.fleet.boot.neverCallsBack.add('i-00000000000000001');
      api.fleet.workflow.injectFault(STATES.checkInstance, { hang: true });
      const lease = await buyMachine(api, { duration_minutes: 15 });
      const end = await endState(api, lease, ['failed']);
      expect(end.execution.status).toBe('timed_out');
      expect(end.instance).toMatch(/^(shutting-down|terminated)$/);
      expect(end.running).toEqual([]);
      expect(end.refund).toMatchObject({ status: 'refunded' });
    } finally {
      await api.close();
    }
  });
});

async function waitFor(condition: () => boolean | undefined) {
  for (let i = 0; i < 2_000 && !condition(); i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  if (!condition()) throw new Error('condition never held');
}
