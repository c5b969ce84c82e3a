import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { CreateIPSetCommand, GetIPSetCommand, WAFV2Client } from '@aws-sdk/client-wafv2';
import { DynamoBlockStore } from '../../lambdas/adapters/dynamodb/block-store.js';
import { documentClient } from '../../lambdas/adapters/dynamodb/document-client.js';
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
import { simulatedFinding } from '../../lambdas/operator/simulated-finding.js';
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
  // A finding about an instance of no lease in this table: acted on, nothing to end.
  ActOnFinding: simulatedFinding({
    machineId: MACHINE_ID,
    instanceId: 'i-0123456789abcdef0',
    now: new Date(),
  }),
  SyncBlockedRanges: {},
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
    const env = (bundle: SynthesizedBundle): Record<string, string> => ({
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

  it('acts on GuardDuty findings and copies client-range blocks into the WAF from their bundles', async () => {
    if (!moto) return; // the public URL, the IP sets and their parameter live in moto
    const local = {
      endpoint: moto.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    };
    const bundleNamed = (name: string) => {
      const found = bundles.find((bundle) => bundle.name === name);
      if (!found) throw new Error(`no ${name} bundle`);
      return found;
    };
    const env = (bundle: SynthesizedBundle): Record<string, string> => ({
      ...(resolveIntrinsics(bundle.environment, {
        ref: (logicalId) => (logicalId.startsWith('DataTable') ? TABLE : `local-${logicalId}`),
        arn: (logicalId) =>
          `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${logicalId}`,
      }) as Record<string, string>),
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SSM: moto?.endpoint ?? '',
      AWS_ENDPOINT_URL_SFN: moto?.endpoint ?? '',
      AWS_ENDPOINT_URL_WAFV2: moto?.endpoint ?? '',
    });

    // The finding function, with the selection its template gives it (cdk.json's).
    const finding = bundleNamed('ActOnFinding');
    const findingEnv = env(finding);
    const ssm = new SSMClient({ ...local, region: LOCAL_REGION });
    await ssm.send(
      new PutParameterCommand({
        Name: findingEnv.PUBLIC_URL_PARAMETER ?? '',
        Value: 'https://shop.example',
        Type: 'String',
        Overwrite: true,
      }),
    );
    ssm.destroy();
    const event = (severity: number) =>
      simulatedFinding({ machineId: MACHINE_ID, instanceId: 'i-0abc', severity, now: new Date() });
    const acted = await invokeBundle(finding.file, finding.exportName, event(8), findingEnv);
    expect(acted).toMatchObject({
      kind: 'returned',
      value: { kind: 'acted', machine_id: MACHINE_ID, lease: 'not_found' },
    });
    // Its metric goes out, at 0: no lease of this table was ended (another stage's instance).
    expect(acted.logs).toMatch(/"AbuseFindingsActedOn":0\b/);
    const low = await invokeBundle(finding.file, finding.exportName, event(2), findingEnv);
    expect(low).toMatchObject({
      kind: 'returned',
      value: { kind: 'ignored', why: 'severity 2 is below 4' },
    });

    // The sync: two IP sets and their parameter in us-east-1, one client range blocked.
    const sync = bundleNamed('SyncBlockedRanges');
    const syncEnv = env(sync);
    const region = syncEnv.IP_SETS_REGION ?? '';
    const waf = new WAFV2Client({ ...local, region });
    const created = await Promise.all(
      (['IPV4', 'IPV6'] as const).map((version) =>
        waf.send(
          new CreateIPSetCommand({
            Name: `bundle-test-${version.toLowerCase()}`,
            Scope: 'CLOUDFRONT',
            IPAddressVersion: version,
            Addresses: [],
          }),
        ),
      ),
    );
    const [ipv4, ipv6] = created.map((answer) => answer.Summary?.ARN ?? '');
    const usEast1 = new SSMClient({ ...local, region });
    await usEast1.send(
      new PutParameterCommand({
        Name: syncEnv.BLOCKED_IP_SETS_PARAMETER ?? '',
        Value: JSON.stringify({ ipv4, ipv6 }),
        Type: 'String',
        Overwrite: true,
      }),
    );
    usEast1.destroy();
    const db = documentClient({ ...local, endpoint: dynamo.endpoint, region: LOCAL_REGION });
    await new DynamoBlockStore(db, TABLE).put({
      kind: 'client_range',
      value: '198.51.100.7/24',
      reason: 'port scans',
      blocked_by: 'bundle-test',
      blocked_at: new Date().toISOString(),
    });
    db.destroy();
    const synced = await invokeBundle(sync.file, sync.exportName, {}, syncEnv);
    expect(synced).toMatchObject({
      kind: 'returned',
      value: { ipv4: 1, ipv6: 0, updated: ['ipv4'], left_out: [] },
    });
    const summary = created[0]?.Summary;
    const { IPSet } = await waf.send(
      new GetIPSetCommand({ Name: summary?.Name, Id: summary?.Id, Scope: 'CLOUDFRONT' }),
    );
    expect(IPSet?.Addresses).toEqual(['198.51.100.0/24']);
    waf.destroy();
  }, 300_000);
});
