import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  ExecutionAlreadyExists,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { jest } from '@jest/globals';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { acceptedMethodsVariable } from '../../lambdas/adapters/payments/accepted-methods.js';
import { stripeMethod } from '../../lambdas/adapters/payments/stripe-method.js';
import { testMethod } from '../../lambdas/adapters/payments/test-method.js';
import { StepFunctionsLeaseWorkflow } from '../../lambdas/adapters/workflow/step-functions-lease-workflow.js';
import { createHealthHandler } from '../../lambdas/api/health.js';
import type { MachineRecord } from '../../lambdas/core/machine.js';
import { composeStorefront } from '../../lambdas/runtime/aws-storefront.js';
import { onLambda } from '../../lambdas/runtime/lambda-entry.js';
import { memoryLogger } from '../../lambdas/runtime/logger.js';
import { mppxPayments } from '../../lambdas/runtime/parts/mppx-payments.js';
import { parameterStorePublicUrl } from '../../lambdas/runtime/parts/parameter-store-public-url.js';
import { secretsManagerSecrets } from '../../lambdas/runtime/parts/secrets-manager-secrets.js';
import { stepFunctionsLeases } from '../../lambdas/runtime/parts/step-functions-leases.js';
import { tableStores } from '../../lambdas/runtime/parts/table-stores.js';

const sfn = mockClient(SFNClient);
const secrets = mockClient(SecretsManagerClient);
const ssm = mockClient(SSMClient);
const machine = {
  machine_id: 'machine_0123456789abcdef',
  wake_token: 'task-token-1',
} as MachineRecord;
const stateMachineArn = 'arn:aws:states:us-east-1:123456789012:stateMachine:Leases';
const everyPart = {
  secrets: secretsManagerSecrets,
  stores: tableStores,
  leases: stepFunctionsLeases,
  payments: mppxPayments,
  publicUrl: parameterStorePublicUrl,
};
/** The composition root with every part, so only OPERATION_ACCESS decides what is used. */
const awsStorefront = (env: Record<string, string>) => composeStorefront(everyPart, { env });

describe('Step Functions lease workflow adapter (SFN mocked)', () => {
  beforeEach(() => sfn.reset());
  const workflow = () =>
    new StepFunctionsLeaseWorkflow(
      new SFNClient({ region: 'us-east-1' }),
      stateMachineArn,
      memoryLogger(),
    );

  it('starts one execution per lease, named after the machine', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:x' });
    await workflow().start(machine);
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual({
      stateMachineArn,
      name: 'machine_0123456789abcdef',
      input: '{"machine_id":"machine_0123456789abcdef"}',
    });
  });

  it('starts an execution for a lease already under way with its instance, so it can end it', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:x' });
    await workflow().start({ ...machine, status: 'active', instance_id: 'i-0abc' });
    expect(
      JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? ''),
    ).toEqual({ machine_id: 'machine_0123456789abcdef', instance: { instance_id: 'i-0abc' } });
  });

  it('treats an execution that already exists as started', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    await expect(workflow().start(machine)).resolves.toBeUndefined();
  });

  it('wakes a held lease with its task token, and shrugs if the wait already ended', async () => {
    sfn
      .on(SendTaskSuccessCommand)
      .resolvesOnce({})
      .rejects(new TaskTimedOut({ message: 'late', $metadata: {} }));
    await workflow().terminationRequested(machine);
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input).toEqual({
      taskToken: 'task-token-1',
      output: '{"reason":"termination_requested"}',
    });
    await expect(workflow().terminationRequested(machine)).resolves.toBeUndefined();
    await workflow().terminationRequested({ ...machine, wake_token: undefined } as MachineRecord);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(2);
  });

  it("completes the launch's wait with the lease clock when the machine reported ready", async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    const clock = { due: false, seconds_remaining: 900, expires_at: '2026-11-29T10:15:00.000Z' };
    await workflow().readinessReported({ ...machine, status: 'active' }, clock);
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input).toEqual({
      taskToken: 'task-token-1',
      output: JSON.stringify({ reason: 'ready', ...clock }),
    });
  });

  it('wakes a lease for an extension only once it is active (before, the token is the launch wait)', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    await workflow().extensionApplied({ ...machine, status: 'provisioning' });
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
    await workflow().extensionApplied({ ...machine, status: 'active' });
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input.output).toBe(
      '{"reason":"lease_extended"}',
    );
  });
});

describe('AWS wiring of an API function (Secrets Manager mocked)', () => {
  const baseEnv = {
    TABLE_NAME: 'table',
    MPP_REALM: 'storefront.example',
    STOREFRONT_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:storefront',
    PAYMENT_METHODS: acceptedMethodsVariable([stripeMethod.facts]),
    STRIPE_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:stripe',
    STRIPE_NETWORK_ID: 'profile_test',
    STATE_MACHINE_ARN: stateMachineArn,
    PROVISIONING_TIMEOUT_MINUTES: '15',
    RETENTION_DAYS: '30',
    AWS_REGION: 'us-east-1',
    PUBLIC_URL_PARAMETER: '/Storefront/public-url',
  };
  beforeEach(() => {
    secrets.reset();
    secrets
      .on(GetSecretValueCommand, { SecretId: baseEnv.STOREFRONT_SECRET_ARN })
      .resolves({ SecretString: 's'.repeat(48) });
    secrets
      .on(GetSecretValueCommand, { SecretId: baseEnv.STRIPE_SECRET_ARN })
      .resolves({ SecretString: 'sk_test_123' });
    ssm.reset();
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'https://shop.example' } });
  });

  it('reads only the secrets its operation is allowed', async () => {
    await awsStorefront({ ...baseEnv, OPERATION_ID: 'getMachine' });
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    await awsStorefront({ ...baseEnv, OPERATION_ID: 'createMachine' });
    expect(
      secrets.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.SecretId),
    ).toEqual([baseEnv.STOREFRONT_SECRET_ARN]);
    secrets.resetHistory();
    const storefront = await awsStorefront({ ...baseEnv, OPERATION_ID: 'createOrder' });
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(storefront.payments.methods).toEqual(['stripe/charge']);
  });

  it("reads the deployment's public URL from its parameter, only where links are handed out", async () => {
    ssm.reset();
    ssm
      .on(GetParameterCommand, { Name: '/Storefront/public-url' })
      .resolves({ Parameter: { Value: 'https://d111111abcdef8.cloudfront.net' } });
    const ordering = await awsStorefront({ ...baseEnv, OPERATION_ID: 'createOrder' });
    expect(ordering.settings.publicBaseUrl).toBe('https://d111111abcdef8.cloudfront.net');
    const reading = await awsStorefront({ ...baseEnv, OPERATION_ID: 'getMachine' });
    expect(reading.settings.publicBaseUrl).toBeUndefined();
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
    await expect(
      awsStorefront({ ...baseEnv, PUBLIC_URL_PARAMETER: '', OPERATION_ID: 'createOrder' }),
    ).rejects.toThrow(/PUBLIC_URL_PARAMETER/);
  });

  it('offers the methods the stack lists, and takes the test method only with its switch', async () => {
    const both = acceptedMethodsVariable([stripeMethod.facts, testMethod.facts]);
    const storefront = await awsStorefront({
      ...baseEnv,
      OPERATION_ID: 'validateOrder',
      PAYMENT_METHODS: both,
    });
    expect(storefront.payments.methods).toEqual(['stripe/charge', 'test/charge']);
    const plain = await awsStorefront({ ...baseEnv, OPERATION_ID: 'validateOrder' });
    expect(plain.payments.methods).toEqual(['stripe/charge']);
    // A paying function told to accept the test method without the operator's switch refuses.
    await expect(
      awsStorefront({ ...baseEnv, OPERATION_ID: 'createOrder', PAYMENT_METHODS: both }),
    ).rejects.toThrow(/invalid function configuration: TEST_PAYMENTS \(payment method test\)/);
    const paying = await awsStorefront({
      ...baseEnv,
      OPERATION_ID: 'createOrder',
      PAYMENT_METHODS: both,
      TEST_PAYMENTS: 'enabled',
    });
    expect(paying.payments.methods).toEqual(['stripe/charge', 'test/charge']);
  });

  it('refuses an entry that lacks a part its operation is granted', async () => {
    await expect(
      composeStorefront(
        { stores: tableStores },
        { env: { ...baseEnv, OPERATION_ID: 'createOrder' } },
      ),
    ).rejects.toThrow(/createOrder is granted secrets .* but its entry wires no secrets part/);
  });

  it('refuses a configuration it cannot run', async () => {
    await expect(awsStorefront({ ...baseEnv, OPERATION_ID: 'nope' })).rejects.toThrow(
      /unknown operation nope/,
    );
    await expect(awsStorefront({ OPERATION_ID: 'health' })).rejects.toThrow(
      /invalid function configuration/,
    );
  });

  it('answers 503 with a JSON error when the storefront cannot start, and recovers', async () => {
    const previous = { ...process.env };
    Object.assign(process.env, baseEnv, { OPERATION_ID: 'createOrder' });
    secrets.reset();
    secrets
      .on(GetSecretValueCommand)
      .rejectsOnce(new Error('AccessDenied'))
      .resolves({ SecretString: 's'.repeat(48) });
    // Powertools Logger writes its JSON lines to the process's own streams, as Lambda captures them.
    const written: string[] = [];
    const logged = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const loggedErrors = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const handler = onLambda(createHealthHandler, everyPart);
      const event = {
        httpMethod: 'GET',
        path: '/api/health',
        headers: {},
        requestContext: {},
      } as unknown as APIGatewayProxyEvent;
      const first = await handler(event, {} as Context);
      expect(first.statusCode).toBe(503);
      expect(JSON.parse(first.body)).toEqual({
        error: expect.stringMatching(/starting or misconfigured/),
      });
      const second = await handler(event, {} as Context);
      expect(second.statusCode).toBe(200);
      expect(written.join('')).toContain('"message":"storefront.start_failed"');
    } finally {
      logged.mockRestore();
      loggedErrors.mockRestore();
      process.env = previous;
    }
  });
});
