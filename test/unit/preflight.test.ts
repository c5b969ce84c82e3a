import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  GetDetectorCommand,
  GuardDutyClient,
  ListDetectorsCommand,
} from '@aws-sdk/client-guardduty';
import { GetAccountSettingsCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import {
  GetParameterCommand,
  GetParametersCommand,
  ParameterNotFound,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import {
  awsClients,
  BOOTSTRAP_VERSION_PARAMETER,
  type CheckResult,
  exitCodeOf,
  formatResult,
  MIN_BOOTSTRAP_VERSION,
  runPreflight,
} from '../../bin/preflight-checks.js';
import { cdkJsonContext, readConfig } from '../../lib/config.js';
import { storefrontStack } from '../support/stack.js';

const sts = mockClient(STSClient);
const ssm = mockClient(SSMClient);
const lambda = mockClient(LambdaClient);
const ec2 = mockClient(EC2Client);
const quotas = mockClient(ServiceQuotasClient);
const secrets = mockClient(SecretsManagerClient);
const cloudFormation = mockClient(CloudFormationClient);
const guardDuty = mockClient(GuardDutyClient);

const REGION = 'eu-west-1';
const configWith = (overrides: Record<string, unknown> = {}) =>
  readConfig({ ...cdkJsonContext(), ...overrides });
const STRIPE = {
  'storefront:stripeSecretName': 'storefront/stripe',
  'storefront:stripeNetworkId': 'profile_123',
};

/** A ready account: every check passes. */
function readyAccount() {
  for (const mock of [sts, ssm, lambda, ec2, quotas, secrets, cloudFormation, guardDuty])
    mock.reset();
  sts.on(GetCallerIdentityCommand).resolves({
    Account: '123456789012',
    Arn: 'arn:aws:iam::123456789012:user/operator',
  });
  ssm.on(GetParameterCommand, { Name: BOOTSTRAP_VERSION_PARAMETER }).resolves({
    Parameter: { Value: '30' },
  });
  ssm.on(GetParametersCommand).callsFake(async (input: { Names: string[] }) => ({
    Parameters: input.Names.map((Name) => ({ Name, Value: 'ami-0123456789abcdef0' })),
    InvalidParameters: [],
  }));
  lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 1000 } });
  ec2.on(DescribeInstanceTypesCommand).callsFake(async (input: { InstanceTypes: string[] }) => ({
    InstanceTypes: input.InstanceTypes.map((InstanceType) => ({
      InstanceType,
      VCpuInfo: { DefaultVCpus: InstanceType.startsWith('p5') ? 16 : 2 },
    })),
  }));
  quotas.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 64 } });
  ec2.on(DescribeInstanceTypeOfferingsCommand).resolves({
    InstanceTypeOfferings: [{ Location: 'eu-west-1a' }, { Location: 'eu-west-1b' }],
  });
  secrets.on(GetSecretValueCommand).resolves({ SecretString: 'sk_test_123' });
  cloudFormation
    .on(DescribeStacksCommand)
    .rejects(
      Object.assign(new Error('Stack with id X does not exist'), { name: 'ValidationError' }),
    );
  guardDuty.on(ListDetectorsCommand).resolves({ DetectorIds: ['d-accounts-own'] });
}

async function preflight(overrides: Record<string, unknown> = STRIPE) {
  const results = await runPreflight(awsClients(REGION), {
    region: REGION,
    stackName: 'AgenticComputeStorefront',
    config: configWith(overrides),
  });
  return { results, code: exitCodeOf(results), lines: results.map(formatResult) };
}

const about = (results: CheckResult[], check: RegExp) =>
  results.filter((result) => check.test(result.check));

describe('npm run preflight', () => {
  beforeEach(readyAccount);

  it('passes a ready account: one ok line per check, exit 0, read-only calls only', async () => {
    const { results, code, lines } = await preflight();
    expect(code).toBe(0);
    expect(results.map((result) => result.outcome)).toEqual(results.map(() => 'ok'));
    expect(results.map((result) => result.check)).toEqual([
      'credentials',
      'CDK bootstrap in eu-west-1',
      'CDK bootstrap in us-east-1',
      'Lambda concurrent executions',
      'bare-linux-machine: On-Demand vCPU quota for t3.medium',
      'bare-linux-machine: t3.medium offered in the region',
      `bare-linux-machine: machine image ${configWith().catalog['bare-linux-machine'].instance.imageParameter}`,
      'gpu-h100-machine: On-Demand vCPU quota for p5.4xlarge',
      'gpu-h100-machine: p5.4xlarge offered in the region',
      `gpu-h100-machine: machine image ${configWith().catalog['gpu-h100-machine'].instance.imageParameter}`,
      'payment secret',
      'earlier stack layout',
      'GuardDuty detector',
    ]);
    expect(lines.every((line) => line.startsWith('ok '))).toBe(true);
    // Reads only: Get*, Describe*, List*.
    const commands = [sts, ssm, lambda, ec2, quotas, secrets, cloudFormation, guardDuty].flatMap(
      (mock) => mock.calls().map((call) => (call.args[0] as object).constructor.name),
    );
    for (const command of commands) expect(command).toMatch(/^(Get|Describe|List)\w+Command$/);
    expect(commands).toContain('ListDetectorsCommand');
  });

  it('says in one line that there are no credentials, and stops there (exit 1)', async () => {
    sts.on(GetCallerIdentityCommand).rejects(
      Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      }),
    );
    const { lines, code } = await preflight();
    expect(code).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^BLOCKER credentials: no usable AWS credentials .*aws sso login/);
    expect(ssm.calls()).toHaveLength(0);
  });

  describe('CDK bootstrap', () => {
    it('blocks a region never bootstrapped, naming the command', async () => {
      ssm
        .on(GetParameterCommand, { Name: BOOTSTRAP_VERSION_PARAMETER })
        .callsFake(async (_input, getClient) => {
          if ((await getClient().config.region()) === 'us-east-1')
            throw new ParameterNotFound({ message: 'not found', $metadata: {} });
          return { Parameter: { Value: '30' } };
        });
      const { results, code } = await preflight();
      expect(code).toBe(1);
      expect(about(results, /CDK bootstrap in us-east-1/)[0]).toMatchObject({
        outcome: 'blocker',
        message: expect.stringContaining('npx cdk bootstrap aws://123456789012/us-east-1'),
      });
      expect(about(results, /CDK bootstrap in eu-west-1/)[0]?.outcome).toBe('ok');
    });

    it('blocks a bootstrap older than the app needs', async () => {
      ssm.on(GetParameterCommand).resolves({ Parameter: { Value: '5' } });
      const { results } = await preflight();
      expect(about(results, /CDK bootstrap/)[0]).toMatchObject({
        outcome: 'blocker',
        message: expect.stringContaining(`needs ${MIN_BOOTSTRAP_VERSION} or later`),
      });
    });

    it('warns when the version cannot be read', async () => {
      ssm
        .on(GetParameterCommand)
        .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
      const { results } = await preflight();
      expect(about(results, /CDK bootstrap/).map((result) => result.outcome)).toEqual([
        'warning',
        'warning',
      ]);
    });

    it("asks for at least the version the app's own template rule asks for", () => {
      const { template } = storefrontStack({ 'storefront:testPayments': true });
      const rule = JSON.stringify(template.toJSON().Rules?.CheckBootstrapVersion);
      const refused = JSON.parse(rule.match(/"Fn::Contains":\[(\[[^\]]*\])/)?.[1] ?? '[]');
      expect(MIN_BOOTSTRAP_VERSION).toBeGreaterThan(Math.max(...refused.map(Number)));
    });
  });

  describe('Lambda concurrency', () => {
    it("warns about a new account's reduced quota, naming the increase", async () => {
      lambda.on(GetAccountSettingsCommand).resolves({ AccountLimit: { ConcurrentExecutions: 10 } });
      const { results, code } = await preflight();
      expect(code).toBe(0);
      expect(about(results, /Lambda/)[0]).toMatchObject({
        outcome: 'warning',
        message: expect.stringContaining('L-B99A9384'),
      });
    });

    it('warns when it cannot be read', async () => {
      lambda.on(GetAccountSettingsCommand).rejects(new Error('throttled'));
      const { results } = await preflight();
      expect(about(results, /Lambda/)[0]?.outcome).toBe('warning');
    });
  });

  describe('products', () => {
    it('warns about a product whose vCPU quota is below one lease (a fresh account: P quota 0)', async () => {
      quotas
        .on(GetServiceQuotaCommand, { QuotaCode: 'L-417A185B' })
        .resolves({ Quota: { Value: 0 } });
      const { results, code } = await preflight();
      expect(code).toBe(0);
      expect(about(results, /gpu-h100-machine: On-Demand/)[0]).toMatchObject({
        outcome: 'warning',
        message: expect.stringMatching(/L-417A185B.*0 vCPUs, one lease needs 16/),
      });
    });

    it('blocks when no product can be leased at all', async () => {
      quotas.on(GetServiceQuotaCommand).resolves({ Quota: { Value: 0 } });
      const { results, code } = await preflight();
      expect(code).toBe(1);
      expect(about(results, /^products$/)[0]?.outcome).toBe('blocker');
    });

    it('warns about an instance type no zone of the region offers', async () => {
      ec2
        .on(DescribeInstanceTypeOfferingsCommand, {
          Filters: [{ Name: 'instance-type', Values: ['p5.4xlarge'] }],
        })
        .resolves({ InstanceTypeOfferings: [] });
      const { results } = await preflight();
      expect(about(results, /p5.4xlarge offered/)[0]).toMatchObject({
        outcome: 'warning',
        message: expect.stringContaining('no zone of this region offers p5.4xlarge'),
      });
    });

    it('warns about a machine image parameter that does not resolve in the region', async () => {
      ssm.on(GetParametersCommand).callsFake(async (input: { Names: string[] }) => ({
        Parameters: [],
        InvalidParameters: input.Names,
      }));
      const { results, code } = await preflight();
      expect(about(results, /machine image/).map((result) => result.outcome)).toEqual([
        'warning',
        'warning',
      ]);
      expect(code).toBe(1);
    });

    it('warns when a quota cannot be read', async () => {
      quotas.on(GetServiceQuotaCommand).rejects(new Error('NoSuchResourceException'));
      const { results } = await preflight();
      expect(about(results, /On-Demand vCPU quota/).map((result) => result.outcome)).toEqual([
        'warning',
        'warning',
      ]);
    });
  });

  describe('payment secret', () => {
    it('blocks a configured secret that does not exist, naming the command', async () => {
      secrets
        .on(GetSecretValueCommand)
        .rejects(new ResourceNotFoundException({ message: 'not found', $metadata: {} }));
      const { results, code } = await preflight();
      expect(code).toBe(1);
      expect(about(results, /payment secret/)[0]).toMatchObject({
        outcome: 'blocker',
        message: expect.stringContaining(
          'aws secretsmanager create-secret --name storefront/stripe',
        ),
      });
    });

    it('blocks a secret the credentials cannot read', async () => {
      secrets
        .on(GetSecretValueCommand)
        .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
      const { results } = await preflight();
      expect(about(results, /payment secret/)[0]?.outcome).toBe('blocker');
    });

    it('warns that orders are refused when no payment method is configured', async () => {
      const { results, code } = await preflight({});
      expect(code).toBe(0);
      expect(about(results, /payment secret/)[0]).toMatchObject({
        outcome: 'warning',
        message: expect.stringContaining('503'),
      });
      expect(secrets.calls()).toHaveLength(0);
    });
  });

  describe('earlier stack layout', () => {
    it('blocks while the old -Edge or -WebAcl stack of the stage exists in us-east-1', async () => {
      cloudFormation
        .on(DescribeStacksCommand, { StackName: 'AgenticComputeStorefront-WebAcl' })
        .resolves({
          Stacks: [
            {
              StackName: 'AgenticComputeStorefront-WebAcl',
              StackStatus: 'UPDATE_COMPLETE',
              CreationTime: new Date(),
            },
          ],
        });
      const { results, code } = await preflight();
      expect(code).toBe(1);
      expect(about(results, /earlier stack layout/)[0]).toMatchObject({
        outcome: 'blocker',
        message: expect.stringContaining('AgenticComputeStorefront-WebAcl still exist'),
      });
    });

    it('warns when it cannot look', async () => {
      cloudFormation
        .on(DescribeStacksCommand)
        .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
      const { results } = await preflight();
      expect(about(results, /earlier stack layout/)[0]?.outcome).toBe('warning');
    });
  });
  describe('GuardDuty detector (one per account and region)', () => {
    const detectorCheck = async (overrides: Record<string, unknown>) =>
      about((await preflight({ ...STRIPE, ...overrides })).results, /GuardDuty detector/)[0];

    it('blocks "create" where the account already has a detector, naming the fix', async () => {
      guardDuty.on(GetDetectorCommand).resolves({ Tags: {} });
      expect(await detectorCheck({ 'storefront:guardDutyDetector': 'create' })).toMatchObject({
        outcome: 'blocker',
        message: expect.stringContaining('storefront:guardDutyDetector=existing'),
      });
    });

    it('accepts "create" where the detector is the one this stack created (its tag)', async () => {
      guardDuty
        .on(GetDetectorCommand)
        .resolves({ Tags: { 'storefront:managed-by': 'AgenticComputeStorefront' } });
      expect((await detectorCheck({ 'storefront:guardDutyDetector': 'create' }))?.outcome).toBe(
        'ok',
      );
    });

    it('accepts "create" where there is none, and warns "existing" where there is none', async () => {
      guardDuty.on(ListDetectorsCommand).resolves({ DetectorIds: [] });
      expect((await detectorCheck({ 'storefront:guardDutyDetector': 'create' }))?.outcome).toBe(
        'ok',
      );
      expect(await detectorCheck({})).toMatchObject({
        outcome: 'warning',
        message: expect.stringContaining('no GuardDuty finding will end a lease'),
      });
    });
  });
});
