import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { EC2Client, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startHotPartitionProxy } from '../../lambdas/local/aws-limits/hot-partition-proxy.js';
import { limitedEc2 } from '../../lambdas/local/aws-limits/limited-ec2.js';
import { limitedStepFunctions } from '../../lambdas/local/aws-limits/limited-step-functions.js';
import { sdkClientOver } from '../../lambdas/local/aws-limits/sdk-client-over.js';
import { TokenBucket } from '../../lambdas/local/aws-limits/token-bucket.js';
import { type LocalDynamo, startLocalDynamo } from '../../lambdas/local/dynalite-server.js';

const local = {
  region: 'local',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
};

describe('token bucket (AWS API throttling)', () => {
  it('serves its capacity at once, then its refill rate, and never holds more than its capacity', () => {
    let now = 0;
    const bucket = new TokenBucket(3, 2, () => now);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    now = 499;
    expect(bucket.tryTake()).toBe(false);
    now = 500;
    expect(bucket.tryTake()).toBe(true);
    now = 60_000;
    expect(bucket.available()).toBe(3);
  });

  it('takes nothing from a refused request, so a caller that backs off gets through', () => {
    let now = 0;
    const bucket = new TokenBucket(1, 1, () => now);
    expect(bucket.tryTake()).toBe(true);
    for (let i = 0; i < 10; i++) expect(bucket.tryTake()).toBe(false);
    now = 1000;
    expect(bucket.tryTake()).toBe(true);
  });
});

describe('limited EC2', () => {
  const fakeEc2 = () => {
    const launchFailures: string[] = [];
    let launched = 0;
    return {
      launchFailures,
      async send(command: object) {
        if (command instanceof RunInstancesCommand) {
          const failure = launchFailures.shift();
          if (failure) throw Object.assign(new Error(failure), { name: failure });
          launched++;
          return { Instances: [{ InstanceId: `i-${launched}` }] };
        }
        return { TerminatingInstances: [] };
      },
    };
  };
  const run = new RunInstancesCommand({ MinCount: 1, MaxCount: 1 });

  it('answers RequestLimitExceeded once an action has spent its bucket, other actions unaffected', async () => {
    const now = 0;
    const ec2 = limitedEc2(
      fakeEc2(),
      { buckets: { RunInstances: { capacity: 2, refillPerSecond: 0 } } },
      () => now,
      () => now,
    );
    await ec2.send(run);
    await ec2.send(run);
    await expect(ec2.send(run)).rejects.toMatchObject({ name: 'RequestLimitExceeded' });
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: ['i-1'] }));
    expect(ec2.refused).toEqual({ 'RequestLimitExceeded:RunInstances': 1 });
    expect(ec2.terminationAcceptedAt.get('i-1')).toBe(0);
  });

  it('answers InsufficientInstanceCapacity on the configured share of launches', async () => {
    const ec2 = limitedEc2(fakeEc2(), { insufficientCapacityShare: 0.25 }, () => 0);
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () =>
        ec2.send(run).then(
          () => 'launched',
          (error: Error) => error.name,
        ),
      ),
    );
    expect(outcomes.filter((outcome) => outcome === 'InsufficientInstanceCapacity')).toHaveLength(
      2,
    );
    expect(ec2.refused).toEqual({ InsufficientInstanceCapacity: 2 });
  });
});

describe('the SDK client over a limited stand-in', () => {
  it('retries a throttled call with the SDK’s own strategy until it succeeds', async () => {
    let calls = 0;
    const flaky = {
      async send() {
        calls++;
        if (calls < 3)
          throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
        return { executionArn: 'arn:local:execution' };
      },
    };
    const client = sdkClientOver(
      new SFNClient({ ...local, endpoint: 'http://sfn.local', maxAttempts: 3 }),
      flaky,
      [StartExecutionCommand],
    );
    const output = await client.send(
      new StartExecutionCommand({ stateMachineArn: 'arn', name: 'x' }),
    );
    expect(output.executionArn).toBe('arn:local:execution');
    expect(output.$metadata.attempts).toBe(3);
  });

  it('gives up after its attempts when the throttle does not clear, with the throttle as the error', async () => {
    const stepFunctions = limitedStepFunctions(
      { send: async () => ({ executionArn: 'arn' }) },
      { capacity: 0, refillPerSecond: 0 },
    );
    const client = sdkClientOver(
      new SFNClient({ ...local, endpoint: 'http://sfn.local', maxAttempts: 2 }),
      stepFunctions,
      [StartExecutionCommand],
    );
    await expect(
      client.send(new StartExecutionCommand({ stateMachineArn: 'arn', name: 'x' })),
    ).rejects.toMatchObject({ name: 'ThrottlingException', $metadata: { attempts: 2 } });
    expect(stepFunctions.refused).toEqual({ 'ThrottlingException:StartExecution': 2 });
  });

  it('keeps EC2’s own error codes for the workflow to classify', async () => {
    const ec2 = limitedEc2(
      { launchFailures: [], send: async () => ({}) },
      { buckets: { RunInstances: { capacity: 0, refillPerSecond: 0 } } },
      () => 0,
    );
    const client = sdkClientOver(
      new EC2Client({ ...local, endpoint: 'http://ec2.local', maxAttempts: 1 }),
      ec2,
      [RunInstancesCommand],
    );
    await expect(
      client.send(new RunInstancesCommand({ MinCount: 1, MaxCount: 1 })),
    ).rejects.toMatchObject({
      name: 'RequestLimitExceeded',
    });
  });
});

describe('hot partition proxy in front of the local DynamoDB', () => {
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dynamo = await startLocalDynamo({ tableName: 'limits-table' });
  });
  afterAll(() => dynamo.close());

  it('throttles writes past a partition’s units in one second, with DynamoDB’s own error', async () => {
    const proxy = await startHotPartitionProxy(
      dynamo.endpoint,
      { writeUnitsPerPartitionPerSecond: 2 },
      () => 5_000,
    );
    const client = new DynamoDBClient({ ...local, endpoint: proxy.endpoint, maxAttempts: 1 });
    const put = (pk: string, extra: Record<string, { S: string }> = {}) =>
      client.send(
        new PutItemCommand({
          TableName: 'limits-table',
          Item: { pk: { S: pk }, sk: { S: 'ORDER' }, ...extra },
        }),
      );
    try {
      await put('ORDER#a');
      await put('ORDER#a');
      await expect(put('ORDER#a')).rejects.toMatchObject({
        name: 'ProvisionedThroughputExceededException',
      });
      // Another partition is not throttled, but every write to the sweep index lands on one.
      await put('ORDER#b', { sweep_pk: { S: 'SWEEP' }, sweep_sk: { S: '1' } });
      await put('ORDER#c', { sweep_pk: { S: 'SWEEP' }, sweep_sk: { S: '2' } });
      await expect(
        put('ORDER#d', { sweep_pk: { S: 'SWEEP' }, sweep_sk: { S: '3' } }),
      ).rejects.toMatchObject({
        name: 'ProvisionedThroughputExceededException',
      });
      expect(proxy.refused).toEqual({ 'write table ORDER#a': 1, 'write index sweep': 1 });
      expect(proxy.peaks()[0]).toMatchObject({ writeUnits: 2 });
    } finally {
      client.destroy();
      await proxy.close();
    }
  });

  it('lets the SDK’s retries ride out a throttle that clears', async () => {
    let now = 0;
    const proxy = await startHotPartitionProxy(
      dynamo.endpoint,
      { writeUnitsPerPartitionPerSecond: 1 },
      () => {
        now += 400;
        return now;
      },
    );
    const client = new DynamoDBClient({ ...local, endpoint: proxy.endpoint, maxAttempts: 5 });
    try {
      const puts = [1, 2, 3].map(() =>
        client.send(
          new PutItemCommand({
            TableName: 'limits-table',
            Item: { pk: { S: 'MACHINE#hot' }, sk: { S: 'EXTENSION#x' } },
          }),
        ),
      );
      const outputs = await Promise.all(puts);
      expect(outputs.some((output) => (output.$metadata.attempts ?? 1) > 1)).toBe(true);
    } finally {
      client.destroy();
      await proxy.close();
    }
  });
});
