import {
  DescribeCapacityReservationsCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { LeaseLifecycleStore } from '../../lambdas/adapters/dynamodb/lease-lifecycle-store.js';
import { DynamoMachineStore } from '../../lambdas/adapters/dynamodb/machine-store.js';
import { itemKeys } from '../../lambdas/adapters/dynamodb/table-design.js';
import { DEFAULT_CATALOG, resolveCatalog } from '../../lambdas/core/catalog.js';
import { newMachineId } from '../../lambdas/core/ids.js';
import type { MachineRecord } from '../../lambdas/core/machine.js';
import type { ProductId } from '../../lambdas/core/products.js';
import {
  hashReadinessSecret,
  looksLikeReadinessSecret,
} from '../../lambdas/core/readiness-secret.js';
import { readyCallbackOf } from '../../lambdas/local/simulated-boot.js';
import { SimulatedEc2 } from '../../lambdas/local/simulated-ec2.js';
import { awsWorkflowContext } from '../../lambdas/runtime/aws-workflow.js';
import { memoryLogger } from '../../lambdas/runtime/logger.js';
import { createLaunchInstance } from '../../lambdas/workflow/launch-instance.js';
import { WORKFLOW_ERRORS } from '../../lambdas/workflow/workflow-errors.js';
import { crashing } from '../support/crash-injection.js';
import { machineFixture } from '../support/fixtures.js';
import { type LocalTable, localTable } from '../support/local-table.js';
import { AGENT_KEY } from '../support/ssh-keys.js';

const ec2 = mockClient(EC2Client);
const now = new Date('2026-11-29T10:00:00.000Z');
const subnets = [
  { id: 'subnet-a', availabilityZone: 'us-east-1a' },
  { id: 'subnet-b', availabilityZone: 'us-east-1b' },
];

function setUp(
  overrides: Partial<MachineRecord> = {},
  catalog = DEFAULT_CATALOG,
  launchTemplates: Partial<Record<ProductId, string>> = {
    'bare-linux-machine': 'lt-bare',
    'gpu-h100-machine': 'lt-gpu',
  },
  publicBaseUrl: string | undefined = undefined,
) {
  const machine = machineFixture(
    {
      machineId: 'machine_0123456789abcd00',
      product: 'gpu-h100-machine',
      sshPublicKey: AGENT_KEY,
      now,
    },
    overrides,
  );
  const recorded: {
    instanceId: string;
    hardStopAt?: string;
    readySecretHash?: string;
    waitToken?: string;
  }[] = [];
  let recordSucceeds = true;
  const launch = createLaunchInstance({
    ec2: new EC2Client({ region: 'us-east-1' }),
    machines: { get: async () => machine },
    lifecycle: {
      recordLaunch: async (_id, launched) => {
        recorded.push(launched);
        return recordSucceeds ? machine : undefined;
      },
    },
    catalog,
    launchTemplates,
    subnets,
    managedBy: 'Storefront',
    publicBaseUrl: async () => publicBaseUrl,
    clock: { now: () => now },
    log: memoryLogger(),
  });
  return { launch, recorded, failRecording: () => (recordSucceeds = false) };
}

const ec2Error = (code: string) => Object.assign(new Error(code), { name: code, Code: code });

describe('Launch instance (EC2 mocked)', () => {
  beforeEach(() => ec2.reset());

  it('runs one instance from the product template, tagged, with the key in user data and a client token', async () => {
    ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-1' }] });
    const { launch, recorded } = setUp();
    expect(await launch({ machine_id: 'machine_0123456789abcd00' })).toEqual({
      instance_id: 'i-1',
    });
    const [call] = ec2.commandCalls(RunInstancesCommand);
    const input = call?.args[0].input;
    expect(input).toMatchObject({
      LaunchTemplate: { LaunchTemplateId: 'lt-gpu', Version: '$Latest' },
      MinCount: 1,
      MaxCount: 1,
      ClientToken: expect.stringMatching(/^machine_0123456789abcd00-us-east-1[ab]$/),
    });
    expect(input?.TagSpecifications?.map((spec) => spec.ResourceType)).toEqual([
      'instance',
      'volume',
    ]);
    expect(input?.TagSpecifications?.[0]?.Tags).toEqual(
      expect.arrayContaining([{ Key: 'storefront:managed-by', Value: 'Storefront' }]),
    );
    const userData = Buffer.from(input?.UserData ?? '', 'base64').toString();
    expect(userData).toContain(JSON.stringify(AGENT_KEY));
    expect(userData).toContain('nvidia-smi');
    expect(recorded).toEqual([{ instanceId: 'i-1' }]);
  });

  it('moves to the next zone when one has no capacity, with a fresh client token', async () => {
    ec2
      .on(RunInstancesCommand)
      .rejectsOnce(ec2Error('InsufficientInstanceCapacity'))
      .resolves({ Instances: [{ InstanceId: 'i-2' }] });
    const { launch } = setUp();
    expect((await launch({ machine_id: 'machine_0123456789abcd00' })).instance_id).toBe('i-2');
    const tokens = ec2
      .commandCalls(RunInstancesCommand)
      .map((call) => call.args[0].input.ClientToken);
    expect(new Set(tokens).size).toBe(2);
  });

  it.each([
    ['InsufficientInstanceCapacity', 'CapacityUnavailable', /no p5.4xlarge capacity/],
    ['RequestLimitExceeded', 'LaunchThrottled', /EC2 is busy/],
    ['VcpuLimitExceeded', 'LaunchRejected', /quota/],
    ['InvalidParameterValue', 'LaunchRejected', /could not be launched \(InvalidParameterValue\)/],
  ])('turns %s into %s for the workflow', async (code, name, message) => {
    ec2.on(RunInstancesCommand).rejects(ec2Error(code));
    const { launch } = setUp();
    await expect(launch({ machine_id: 'machine_0123456789abcd00' })).rejects.toMatchObject({
      name,
      message: expect.stringMatching(message),
    });
  });

  it('terminates at once an instance launched for a lease that ended meanwhile', async () => {
    ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-3' }] });
    ec2.on(TerminateInstancesCommand).resolves({});
    const { launch, failRecording } = setUp();
    failRecording();
    await expect(launch({ machine_id: 'machine_0123456789abcd00' })).rejects.toMatchObject({
      name: WORKFLOW_ERRORS.leaseNotActive,
    });
    expect(ec2.commandCalls(TerminateInstancesCommand)[0]?.args[0].input).toEqual({
      InstanceIds: ['i-3'],
    });
  });

  it('launches nothing for a lease that is no longer provisioning, and reuses a recorded instance', async () => {
    await expect(
      setUp({ status: 'terminating' }).launch({ machine_id: 'x', token: 'wait-1' }),
    ).rejects.toMatchObject({ name: WORKFLOW_ERRORS.leaseNotActive });
    const relaunch = setUp({ instance_id: 'i-9', ready_secret_hash: 'a'.repeat(64) });
    expect(await relaunch.launch({ machine_id: 'x', token: 'wait-2' })).toEqual({
      instance_id: 'i-9',
    });
    // The instance's user data holds the first secret: only the wait token is new.
    expect(relaunch.recorded).toEqual([{ instanceId: 'i-9', waitToken: 'wait-2' }]);
    expect(ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
  });

  it('puts a one-time readiness secret in user data, and records only its hash with the wait token', async () => {
    ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-6' }] });
    const readyUrl = 'https://shop.example/api/machines/machine_0123456789abcd00/ready';
    const { launch, recorded } = setUp({}, DEFAULT_CATALOG, undefined, 'https://shop.example');
    await launch({ machine_id: 'machine_0123456789abcd00', token: 'wait-token' });
    const userData = ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input.UserData ?? '';
    const callback = readyCallbackOf(userData);
    expect(callback?.url).toBe(readyUrl);
    expect(looksLikeReadinessSecret(callback?.secret ?? '')).toBe(true);
    expect(recorded).toEqual([
      {
        instanceId: 'i-6',
        readySecretHash: hashReadinessSecret(callback?.secret ?? ''),
        waitToken: 'wait-token',
      },
    ]);
    expect(JSON.stringify(recorded)).not.toContain(callback?.secret);
  });

  it('gives a machine no callback when the public URL cannot be read (the workflow polls it)', async () => {
    ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-7' }] });
    const { launch, recorded } = setUp();
    await launch({ machine_id: 'machine_0123456789abcd00', token: 'wait-token' });
    const userData = ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input.UserData ?? '';
    expect(readyCallbackOf(userData)).toBeUndefined();
    expect(recorded).toEqual([{ instanceId: 'i-7', waitToken: 'wait-token' }]);
  });

  it('picks a Capacity Block with room that outlasts the lease, and stops the lease before the block ends', async () => {
    const catalog = resolveCatalog({
      'gpu-h100-machine': {
        instance: {
          capacityBlocks: {
            reservationIds: ['cr-0aaaaaaaaaaaaaaaa', 'cr-0bbbbbbbbbbbbbbbb'],
            whenUnavailable: 'on-demand',
          },
        },
      },
    });
    ec2.on(DescribeCapacityReservationsCommand).resolves({
      CapacityReservations: [
        {
          CapacityReservationId: 'cr-0aaaaaaaaaaaaaaaa',
          AvailabilityZone: 'us-east-1a',
          AvailableInstanceCount: 1,
          EndDate: new Date('2026-11-29T10:30:00Z'),
        },
        {
          CapacityReservationId: 'cr-0bbbbbbbbbbbbbbbb',
          AvailabilityZone: 'us-east-1b',
          AvailableInstanceCount: 1,
          EndDate: new Date('2026-11-30T10:00:00Z'),
        },
      ],
    });
    ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-4' }] });
    const { launch, recorded } = setUp({}, catalog);
    await launch({ machine_id: 'machine_0123456789abcd00' });
    expect(ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input).toMatchObject({
      SubnetId: 'subnet-b',
      InstanceMarketOptions: { MarketType: 'capacity-block' },
      CapacityReservationSpecification: {
        CapacityReservationTarget: { CapacityReservationId: 'cr-0bbbbbbbbbbbbbbbb' },
      },
    });
    expect(recorded).toEqual([{ instanceId: 'i-4', hardStopAt: '2026-11-30T09:30:00.000Z' }]);
  });

  it('falls back to on-demand when configured and no block fits', async () => {
    const catalog = resolveCatalog({
      'gpu-h100-machine': {
        instance: {
          capacityBlocks: {
            reservationIds: ['cr-0aaaaaaaaaaaaaaaa'],
            whenUnavailable: 'on-demand',
          },
        },
      },
    });
    ec2.on(DescribeCapacityReservationsCommand).resolves({ CapacityReservations: [] });
    ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-5' }] });
    await setUp({}, catalog).launch({ machine_id: 'machine_0123456789abcd00' });
    expect(
      ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input.InstanceMarketOptions,
    ).toBeUndefined();
  });
});

describe('launch templates', () => {
  beforeEach(() => ec2.reset());

  it('are configuration of the launch function only: the other functions start without them', () => {
    const context = awsWorkflowContext({
      env: {
        TABLE_NAME: 'Table',
        MANAGED_BY: 'Storefront',
        RETENTION_DAYS: '30',
        RECONCILE_GRACE_MINUTES: '10',
      },
    });
    expect(context.config).not.toHaveProperty('LAUNCH_TEMPLATES');
  });

  it('fail a launch clearly, and launch nothing, when a product has none', async () => {
    const { launch } = setUp({}, DEFAULT_CATALOG, { 'bare-linux-machine': 'lt-bare' });
    await expect(launch({ machine_id: 'machine_0123456789abcd00' })).rejects.toMatchObject({
      name: WORKFLOW_ERRORS.launchRejected,
      message: 'gpu-h100-machine cannot be launched: the stack has no launch template for it',
    });
    expect(ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
  });
});

/**
 * A launch step retried after RunInstances succeeded but before the instance was recorded (a
 * timeout, a crash, a throttled write): the retry draws a new readiness secret, so EC2 refuses
 * its request under the same client token. Real parts: the simulated EC2 and the local table.
 */
describe('Launch instance retried after its instance was launched (simulated EC2, dynalite)', () => {
  let table: LocalTable;
  let machines: DynamoMachineStore;
  let lifecycle: LeaseLifecycleStore;
  beforeAll(async () => {
    table = await localTable();
    machines = new DynamoMachineStore(table.db, table.tableName);
    lifecycle = new LeaseLifecycleStore(table.db, table.tableName, 30);
  });
  afterAll(() => table.close());

  const bootTiming = { bootMs: 1_000, readyMs: 1_000, shutdownMs: 1_000 };

  async function setUpLease() {
    const machineId = newMachineId();
    await machines.create(machineFixture({ machineId, now, sshPublicKey: AGENT_KEY }));
    let publicBaseUrl: string | undefined = 'https://shop.example';
    const ec2 = new SimulatedEc2(
      () => 't3.medium',
      bootTiming,
      () => now.getTime(),
    );
    const log = memoryLogger();
    const pauses: number[] = [];
    const launchWith = (store: Pick<LeaseLifecycleStore, 'recordLaunch'>) =>
      createLaunchInstance({
        ec2,
        machines,
        lifecycle: store,
        catalog: DEFAULT_CATALOG,
        launchTemplates: { 'bare-linux-machine': 'lt-bare', 'gpu-h100-machine': 'lt-gpu' },
        subnets,
        managedBy: 'Storefront',
        publicBaseUrl: async () => publicBaseUrl,
        clock: { now: () => now },
        log,
        pause: async (ms) => {
          pauses.push(ms);
        },
      });
    /**
     * The first attempt fails after RunInstances, before its record is written (the step
     * turns the failure into one the workflow retries).
     */
    const crashedAttempt = async () => {
      await expect(
        launchWith(crashing(lifecycle, { recordLaunch: { when: 'before' } }))({
          machine_id: machineId,
          token: 'wait-1',
        }),
      ).rejects.toMatchObject({ name: WORKFLOW_ERRORS.launchThrottled });
    };
    return {
      machineId,
      ec2,
      log,
      pauses,
      launch: launchWith(lifecycle),
      launchWith,
      crashedAttempt,
      /** The parameter cannot be read: launches go on without a callback (polled). */
      loseThePublicUrl: () => {
        publicBaseUrl = undefined;
      },
    };
  }
  const commandsOf = (ec2: SimulatedEc2) => ec2.calls.map((call) => call.command);

  it('adopts the instance of the crashed attempt: one instance, recorded, the lease still provisioning', async () => {
    const { machineId, ec2, log, launch, crashedAttempt } = await setUpLease();
    await crashedAttempt();
    const [launched] = ec2.running().map((instance) => instance.InstanceId);

    expect(await launch({ machine_id: machineId, token: 'wait-2' })).toEqual({
      instance_id: launched,
    });
    expect(ec2.running().map((instance) => instance.InstanceId)).toEqual([launched]);
    expect(commandsOf(ec2)).toEqual([
      'RunInstancesCommand',
      'RunInstancesCommand',
      'DescribeInstancesCommand',
    ]);
    const [first, second] = ec2.calls.map((call) => call.input as { ClientToken?: string });
    expect(second?.ClientToken).toBe(first?.ClientToken);
    expect(ec2.calls[2]?.input).toEqual({
      Filters: [{ Name: 'client-token', Values: [first?.ClientToken] }],
    });
    const stored = await machines.get(machineId, now);
    expect(stored).toMatchObject({
      status: 'provisioning',
      instance_id: launched,
      wake_token: 'wait-2',
    });
    // Its boot script holds the crashed attempt's secret, known to nobody: it is polled.
    expect(stored?.ready_secret_hash).toBeUndefined();
    expect(stored?.refund_due).toBeUndefined();
    expect(log.entries.map((entry) => entry.event)).toContain('lease.launch_adopted');
  });

  it('has the workflow retry a launch whose record failed, and the retry adopts its instance', async () => {
    const { machineId, ec2, launch, launchWith } = await setUpLease();
    const throttled = Object.assign(new Error('Throughput exceeds the current capacity'), {
      name: 'ProvisionedThroughputExceededException',
    });
    const failingRecord = {
      recordLaunch: () => Promise.reject(throttled),
    } as unknown as Pick<LeaseLifecycleStore, 'recordLaunch'>;
    const attempt = launchWith(failingRecord);
    await expect(attempt({ machine_id: machineId, token: 'wait-1' })).rejects.toMatchObject({
      name: WORKFLOW_ERRORS.launchThrottled,
    });
    const [launched] = ec2.running().map((instance) => instance.InstanceId);
    expect(await launch({ machine_id: machineId, token: 'wait-2' })).toEqual({
      instance_id: launched,
    });
    expect(ec2.running()).toHaveLength(1);
    expect(await machines.get(machineId, now)).toMatchObject({
      status: 'provisioning',
      instance_id: launched,
    });
  });

  it('adopts it too when only the lease tags changed: an extension paid between the attempts', async () => {
    const { machineId, ec2, launch, crashedAttempt, loseThePublicUrl } = await setUpLease();
    loseThePublicUrl();
    await crashedAttempt();
    const [launched] = ec2.running().map((instance) => instance.InstanceId);
    await table.db.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: itemKeys.machine(machineId),
        UpdateExpression: 'SET expires_at = :later',
        ExpressionAttributeValues: {
          ':later': new Date(now.getTime() + 120 * 60_000).toISOString(),
        },
      }),
    );
    expect(await launch({ machine_id: machineId })).toEqual({ instance_id: launched });
    expect(ec2.running().map((instance) => instance.InstanceId)).toEqual([launched]);
    expect(await machines.get(machineId, now)).toMatchObject({
      status: 'provisioning',
      instance_id: launched,
    });
  });

  it('waits for DescribeInstances to list the instance, and leaves an unlisted one to the workflow retry', async () => {
    const listedLate = await setUpLease();
    await listedLate.crashedAttempt();
    const [launched] = listedLate.ec2.running().map((instance) => instance.InstanceId as string);
    listedLate.ec2.notYetListed.set(launched as string, 2);
    expect(await listedLate.launch({ machine_id: listedLate.machineId })).toEqual({
      instance_id: launched,
    });
    expect(commandsOf(listedLate.ec2).filter((c) => c === 'DescribeInstancesCommand')).toHaveLength(
      3,
    );
    expect(listedLate.pauses).toEqual([250, 500]);

    const neverListed = await setUpLease();
    await neverListed.crashedAttempt();
    const [unseen] = neverListed.ec2.running().map((instance) => instance.InstanceId as string);
    neverListed.ec2.notYetListed.set(unseen as string, 100);
    await expect(neverListed.launch({ machine_id: neverListed.machineId })).rejects.toMatchObject({
      name: WORKFLOW_ERRORS.launchThrottled,
    });
    expect(neverListed.pauses).toEqual([250, 500, 1_000]);
    expect(neverListed.ec2.running()).toHaveLength(1);
    expect(await machines.get(neverListed.machineId, now)).toMatchObject({
      status: 'provisioning',
    });
  });
});
