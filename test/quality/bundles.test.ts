import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { loadOpenApiDocument, operationsOf } from '../../lambdas/contract/openapi-document.js';
import {
  bundleLimit,
  type SynthesizedBundle,
  synthesizedBundles,
} from '../../lambdas/local/cdk-out-bundles.js';
import {
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  resolveIntrinsics,
} from '../../lambdas/local/cloudformation-intrinsics.js';
import { type LocalDynamo, startLocalDynamo } from '../../lambdas/local/dynalite-server.js';
import { OPERATION_ACCESS } from '../../lambdas/runtime/operation-access.js';
import { invokeBundle } from '../support/bundle-invocation.js';
import { type MotoServer, startMotoServer } from '../support/moto-server.js';
import { operatorSynth, synthesisedTemplates } from '../support/synthesised-app.js';

const STACK = 'AgenticComputeStorefront';
const TABLE = 'storefront-bundles';
const MACHINE_ID = 'machine_0123456789abcdef';

/** One request per operation that any configured function answers without a 5xx. */
function apiEvent(operationId: string) {
  const operation = operationsOf(loadOpenApiDocument()).find(
    (op) => op.operationId === operationId,
  );
  if (!operation) throw new Error(`no operation ${operationId}`);
  const path = operation.path
    .replace('{machine_id}', MACHINE_ID)
    .replace('{order_id}', `order_${'0'.repeat(32)}`);
  return {
    resource: operation.path,
    path,
    httpMethod: operation.method.toUpperCase(),
    headers: { host: 'storefront.example', 'content-type': 'application/json' },
    multiValueHeaders: {},
    queryStringParameters: null,
    pathParameters:
      path === operation.path
        ? null
        : { machine_id: MACHINE_ID, order_id: `order_${'0'.repeat(32)}` },
    requestContext: { requestId: 'bundle-test', stage: 'v1', path },
    body: operation.operation.requestBody ? '{}' : null,
    isBase64Encoded: false,
  };
}

const WORKFLOW_EVENTS: Record<string, unknown> = {
  LaunchInstance: { machine_id: MACHINE_ID },
  InspectInstance: { machine_id: MACHINE_ID },
  LeaseRecords: { action: 'check', machine_id: MACHINE_ID },
  RefundLease: { machine_id: MACHINE_ID },
  ReconcileFleet: {},
  WatchCapacity: {},
};

/** A failure in the function's own start: its environment, or its secrets. */
const CONFIGURATION_FAILURE = /configuration|environment|misconfigured|no access|wires no/i;
const NETWORK_FAILURE = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|fetch failed|socket hang up|connect/i;

/** A test stage: with no payment method at all, the paid operations refuse to start (by design). */
const TEST_STAGE = { 'storefront:testPayments': true };

/**
 * The bundles of the operator's `cdk synth`, each with the environment the test stage's
 * template gives the same function. Bundling reads the entry file and the shared esbuild
 * settings only, never the configuration, so the test stage would bundle the same code.
 */
async function testStageBundles(): Promise<SynthesizedBundle[]> {
  const [operatorOut, testStageOut] = await Promise.all([
    operatorSynth(),
    synthesisedTemplates(TEST_STAGE),
  ]);
  const testStage = JSON.parse(
    readFileSync(join(testStageOut, `${STACK}.template.json`), 'utf8'),
  ) as {
    Resources: Record<
      string,
      { Type: string; Properties?: { Environment?: { Variables?: Record<string, unknown> } } }
    >;
  };
  const bundles = synthesizedBundles(operatorOut, STACK);
  const bundled = new Set(bundles.map((bundle) => bundle.logicalId));
  const unbundled = Object.entries(testStage.Resources)
    .filter(([id, resource]) => resource.Type === 'AWS::Lambda::Function' && !id.startsWith('AWS'))
    .map(([id]) => id)
    .filter((id) => !bundled.has(id));
  if (unbundled.length)
    throw new Error(
      `the test stage has functions the operator's synth did not bundle: ${unbundled}`,
    );
  return bundles.map((bundle) => {
    const resource = testStage.Resources[bundle.logicalId];
    if (!resource) throw new Error(`${bundle.logicalId} is not in the test stage's template`);
    return { ...bundle, environment: resource.Properties?.Environment?.Variables ?? {} };
  });
}

/**
 * The esbuild bundles `cdk synth` writes are what Lambda runs: each is loaded in a fresh Node
 * process with exactly the environment the template gives it (references resolved to local
 * stand-ins), its AWS endpoints pointed at dynalite (DynamoDB) and moto (EC2, Secrets Manager,
 * Step Functions), and invoked once.
 */
describe('the deployed bundles', () => {
  let bundles: SynthesizedBundle[] = [];
  let dynamo: LocalDynamo;
  let moto: MotoServer | undefined;

  beforeAll(async () => {
    const [bundlesFound, dynamoStarted, motoStarted] = await Promise.all([
      testStageBundles(),
      startLocalDynamo({ tableName: TABLE }),
      startMotoServer(),
    ]);
    dynamo = dynamoStarted;
    moto = motoStarted;
    bundles = bundlesFound;
    // Without moto half of these checks would pass by returning early: where it is required
    // (.ci/run sets MOTO_REQUIRED), its absence fails the suite instead.
    if (!moto && process.env.MOTO_REQUIRED)
      throw new Error(
        'moto_server is required here (pip install "moto[server]") but did not start',
      );
  }, 900_000);

  afterAll(async () => {
    await dynamo?.close();
    await moto?.close();
  });

  it('finds one bundle per API operation and per workflow function', () => {
    const names = bundles.map((bundle) => bundle.name).sort();
    expect(names).toEqual(
      expect.arrayContaining([...Object.keys(OPERATION_ACCESS), ...Object.keys(WORKFLOW_EVENTS)]),
    );
    for (const bundle of bundles) expect(readFileSync(bundle.file, 'utf8')).toContain('export');
  });

  it('keeps health and discovery under 300 KiB and every other function under 1 MiB', () => {
    const over = bundles
      .filter((bundle) => bundle.bytes >= bundleLimit(bundle.name))
      .map((bundle) => `${bundle.name}: ${bundle.bytes} bytes (limit ${bundleLimit(bundle.name)})`);
    expect(over).toEqual([]);
  });

  it('starts every function with its template environment', async () => {
    const secretNames = new Set<string>();
    const environmentOf = (bundle: SynthesizedBundle) =>
      resolveIntrinsics(bundle.environment, {
        ref: (logicalId) => (logicalId.startsWith('DataTable') ? TABLE : `local-${logicalId}`),
        arn: (logicalId) => `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${logicalId}`,
      }) as Record<string, string>;
    const parameterNames = new Set<string>();
    for (const bundle of bundles) {
      const arn = environmentOf(bundle).STOREFRONT_SECRET_ARN;
      if (arn) secretNames.add(arn);
      const parameter = environmentOf(bundle).PUBLIC_URL_PARAMETER;
      if (parameter) parameterNames.add(parameter);
    }
    const otherServices = moto?.endpoint ?? 'http://127.0.0.1:9';
    if (moto) {
      const secrets = new SecretsManagerClient({
        endpoint: moto.endpoint,
        region: LOCAL_REGION,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      });
      for (const name of secretNames)
        await secrets.send(new CreateSecretCommand({ Name: name, SecretString: 's'.repeat(48) }));
      secrets.destroy();
      const ssm = new SSMClient({
        endpoint: moto.endpoint,
        region: LOCAL_REGION,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      });
      for (const name of parameterNames)
        await ssm.send(
          new PutParameterCommand({ Name: name, Value: 'https://shop.example', Type: 'String' }),
        );
      ssm.destroy();
    }
    const failures: string[] = [];
    for (const bundle of bundles) {
      // Functions added later (other steps, edge code) get an empty event: whatever they make
      // of it, they must have got past their own configuration to make anything of it.
      const event =
        bundle.name in OPERATION_ACCESS
          ? apiEvent(bundle.name)
          : (WORKFLOW_EVENTS[bundle.name] ?? {});
      const outcome = await invokeBundle(bundle.file, bundle.exportName, event, {
        ...environmentOf(bundle),
        AWS_REGION: LOCAL_REGION,
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
        AWS_ENDPOINT_URL_EC2: otherServices,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: otherServices,
        AWS_ENDPOINT_URL_SFN: otherServices,
        AWS_ENDPOINT_URL_SERVICE_QUOTAS: otherServices,
        AWS_ENDPOINT_URL_SSM: otherServices,
        AWS_LAMBDA_FUNCTION_NAME: bundle.logicalId,
      });
      const text = JSON.stringify(outcome);
      const badStatus =
        outcome.kind === 'returned' &&
        typeof (outcome.value as { statusCode?: number } | undefined)?.statusCode === 'number' &&
        (outcome.value as { statusCode: number }).statusCode >= 500;
      const networkOnly =
        !moto && outcome.kind === 'threw' && NETWORK_FAILURE.test(outcome.message);
      if ((CONFIGURATION_FAILURE.test(text) || badStatus) && !networkOnly)
        failures.push(`${bundle.name}: ${text.slice(0, 400)}`);
      if (moto && outcome.kind === 'threw' && NETWORK_FAILURE.test(outcome.message))
        failures.push(`${bundle.name}: ${text.slice(0, 400)}`);
    }
    expect(failures).toEqual([]);
  }, 600_000);

  it('answers health from its bundle alone, and reconciles an empty fleet', async () => {
    const env = (bundle: SynthesizedBundle) => ({
      ...(resolveIntrinsics(bundle.environment, {
        ref: () => TABLE,
        arn: (logicalId) => logicalId,
      }) as Record<string, string>),
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_EC2: moto?.endpoint ?? 'http://127.0.0.1:9',
    });
    const health = bundles.find((bundle) => bundle.name === 'health');
    if (!health) throw new Error('no health bundle');
    const answer = await invokeBundle(
      health.file,
      health.exportName,
      apiEvent('health'),
      env(health),
    );
    expect(answer).toMatchObject({ kind: 'returned', value: { statusCode: 200 } });
    if (!moto) return; // without moto there is no EC2 to list
    const reconcile = bundles.find((bundle) => bundle.name === 'ReconcileFleet');
    if (!reconcile) throw new Error('no reconciler bundle');
    const report = await invokeBundle(reconcile.file, reconcile.exportName, {}, env(reconcile));
    expect(report).toMatchObject({
      kind: 'returned',
      value: { instances_terminated: [], leases_closed: [] },
    });
  }, 300_000);
});
