/**
 * What would make `cdk deploy` or the first lease fail, checked with the operator's
 * credentials and read-only calls only (`npm run preflight`, bin/preflight.ts). Each check
 * answers one line: ok, a warning (the deploy works, something will not), or a blocker.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  type _InstanceType,
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
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { GetParameterCommand, GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ON_DEMAND_VCPU_QUOTAS, quotaGroupOf } from '../lambdas/adapters/ec2/ec2-capacity.js';
import { INSTANCE_TAGS } from '../lambdas/adapters/ec2/instance-tags.js';
import type { MethodSecret } from '../lambdas/adapters/payments/payment-method.js';
import { PAYMENT_METHODS } from '../lambdas/adapters/payments/payment-methods.js';
import type { Product } from '../lambdas/core/products.js';
import { paymentMethodsOn, type StorefrontConfig } from '../lib/config.js';
import { US_EAST_1 } from '../lib/us-east-1-stack.js';

export type Outcome = 'ok' | 'warning' | 'blocker';

export interface CheckResult {
  check: string;
  outcome: Outcome;
  /** What was found and, unless ok, what to do. */
  message: string;
}

/** The SDK clients the checks use, one per service and region (tests give mocked ones). */
export interface PreflightClients {
  sts: Pick<STSClient, 'send'>;
  ssm(region: string): Pick<SSMClient, 'send'>;
  lambda: Pick<LambdaClient, 'send'>;
  ec2: Pick<EC2Client, 'send'>;
  quotas: Pick<ServiceQuotasClient, 'send'>;
  secrets: Pick<SecretsManagerClient, 'send'>;
  cloudFormation(region: string): Pick<CloudFormationClient, 'send'>;
  guardDuty: Pick<GuardDutyClient, 'send'>;
}

export function awsClients(region: string): PreflightClients {
  const perRegion = <T>(make: (region: string) => T) => {
    const made = new Map<string, T>();
    return (where: string) => {
      const client = made.get(where) ?? make(where);
      made.set(where, client);
      return client;
    };
  };
  return {
    sts: new STSClient({ region }),
    ssm: perRegion((where) => new SSMClient({ region: where })),
    lambda: new LambdaClient({ region }),
    ec2: new EC2Client({ region }),
    quotas: new ServiceQuotasClient({ region }),
    secrets: new SecretsManagerClient({ region }),
    cloudFormation: perRegion((where) => new CloudFormationClient({ region: where })),
    guardDuty: new GuardDutyClient({ region }),
  };
}

export interface PreflightTarget {
  region: string;
  stackName: string;
  config: StorefrontConfig;
}

/**
 * The CDK bootstrap version a deploy of this app needs: the template's own rule asks for 6
 * (aws-cdk-lib's MIN_BOOTSTRAP_STACK_VERSION), and `cdk deploy` looks the region's zones up
 * with the bootstrap's lookup role, which version 8 brought (MIN_LOOKUP_ROLE_BOOTSTRAP_STACK_VERSION).
 */
export const MIN_BOOTSTRAP_VERSION = 8;
/** Where `cdk bootstrap` records its version (the default qualifier). */
export const BOOTSTRAP_VERSION_PARAMETER = '/cdk-bootstrap/hnb659fds/version';

/** Below this, the account is one of those AWS starts with reduced Lambda concurrency. */
export const LAMBDA_DEFAULT_CONCURRENCY = 1000;

const errorName = (error: unknown) => (error as { name?: string }).name ?? 'Error';
const errorText = (error: unknown) =>
  `${errorName(error)}: ${(error as Error).message ?? String(error)}`;

export async function checkCredentials(
  clients: PreflightClients,
): Promise<CheckResult & { account?: string }> {
  const check = 'credentials';
  try {
    const identity = await clients.sts.send(new GetCallerIdentityCommand({}));
    return {
      check,
      outcome: 'ok',
      account: identity.Account,
      message: `account ${identity.Account} as ${identity.Arn}`,
    };
  } catch (error) {
    return {
      check,
      outcome: 'blocker',
      message: `no usable AWS credentials (${errorText(error)}): set AWS_PROFILE, run \`aws configure\` or \`aws sso login\`, then run this again`,
    };
  }
}

export async function checkBootstrap(
  clients: PreflightClients,
  account: string,
  region: string,
): Promise<CheckResult> {
  const check = `CDK bootstrap in ${region}`;
  const fix = `run \`npx cdk bootstrap aws://${account}/${region}\` with a current CDK CLI`;
  try {
    const { Parameter } = await clients
      .ssm(region)
      .send(new GetParameterCommand({ Name: BOOTSTRAP_VERSION_PARAMETER }));
    const version = Number(Parameter?.Value);
    if (!(version >= MIN_BOOTSTRAP_VERSION))
      return {
        check,
        outcome: 'blocker',
        message: `bootstrap version ${Parameter?.Value}, this app needs ${MIN_BOOTSTRAP_VERSION} or later: ${fix}`,
      };
    return { check, outcome: 'ok', message: `bootstrap version ${version}` };
  } catch (error) {
    if (errorName(error) === 'ParameterNotFound')
      return { check, outcome: 'blocker', message: `not bootstrapped: ${fix}` };
    return {
      check,
      outcome: 'warning',
      message: `could not read ${BOOTSTRAP_VERSION_PARAMETER} (${errorText(error)}); if the deploy fails on the bootstrap, ${fix}`,
    };
  }
}

export async function checkLambdaConcurrency(clients: PreflightClients): Promise<CheckResult> {
  const check = 'Lambda concurrent executions';
  try {
    const { AccountLimit } = await clients.lambda.send(new GetAccountSettingsCommand({}));
    const limit = AccountLimit?.ConcurrentExecutions ?? 0;
    if (limit < LAMBDA_DEFAULT_CONCURRENCY)
      return {
        check,
        outcome: 'warning',
        message: `${limit} (reduced: new accounts start below AWS's default of ${LAMBDA_DEFAULT_CONCURRENCY}, raised with use); every function of the stage shares it, so a busy minute throttles requests. Request an increase: \`aws service-quotas request-service-quota-increase --service-code lambda --quota-code L-B99A9384 --desired-value ${LAMBDA_DEFAULT_CONCURRENCY}\``,
      };
    return { check, outcome: 'ok', message: `${limit}` };
  } catch (error) {
    return { check, outcome: 'warning', message: `could not read it (${errorText(error)})` };
  }
}

/** Whether a product can be leased here: its quota, its instance type's zones, its image. */
async function productProblems(
  clients: PreflightClients,
  region: string,
  product: Product,
): Promise<{ lines: CheckResult[]; sellable: boolean }> {
  const { instanceType, imageParameter } = product.instance;
  const lines: CheckResult[] = [];
  let sellable = true;
  const problem = (check: string, message: string, outcome: Outcome = 'warning') => {
    sellable = false;
    lines.push({ check, outcome, message });
  };

  // On-Demand vCPU quota against one lease's instance.
  const quotaCheck = `${product.id}: On-Demand vCPU quota for ${instanceType}`;
  const group = quotaGroupOf(instanceType);
  if (!group) {
    lines.push({
      check: quotaCheck,
      outcome: 'warning',
      message: `no known quota group for ${instanceType}; check its quota in the Service Quotas console`,
    });
  } else {
    const quota = ON_DEMAND_VCPU_QUOTAS[group];
    try {
      const [types, applied] = await Promise.all([
        clients.ec2.send(
          new DescribeInstanceTypesCommand({ InstanceTypes: [instanceType as _InstanceType] }),
        ),
        clients.quotas.send(
          new GetServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: quota.code }),
        ),
      ]);
      const needed = types.InstanceTypes?.[0]?.VCpuInfo?.DefaultVCpus ?? 0;
      const value = applied.Quota?.Value ?? 0;
      if (value < needed)
        problem(
          quotaCheck,
          `${quota.name} (${quota.code}) is ${value} vCPUs, one lease needs ${needed}: leases of this product are refused until it is raised (\`aws service-quotas request-service-quota-increase --service-code ec2 --quota-code ${quota.code} --desired-value ${Math.max(needed, 16)}\`)`,
        );
      else
        lines.push({
          check: quotaCheck,
          outcome: 'ok',
          message: `${quota.name}: ${value} vCPUs, one lease needs ${needed}`,
        });
    } catch (error) {
      lines.push({
        check: quotaCheck,
        outcome: 'warning',
        message: `could not read it (${errorText(error)})`,
      });
    }
  }

  // The instance type offered in the region's zones.
  const offeredCheck = `${product.id}: ${instanceType} offered in the region`;
  try {
    const { InstanceTypeOfferings = [] } = await clients.ec2.send(
      new DescribeInstanceTypeOfferingsCommand({
        LocationType: 'availability-zone',
        Filters: [{ Name: 'instance-type', Values: [instanceType] }],
      }),
    );
    const zones = InstanceTypeOfferings.flatMap((offering) =>
      offering.Location ? [offering.Location] : [],
    ).sort();
    if (zones.length === 0)
      problem(
        offeredCheck,
        `no zone of this region offers ${instanceType}: choose another instance type (storefront:products) or another region`,
      );
    else lines.push({ check: offeredCheck, outcome: 'ok', message: `in ${zones.join(', ')}` });
  } catch (error) {
    lines.push({
      check: offeredCheck,
      outcome: 'warning',
      message: `could not read it (${errorText(error)})`,
    });
  }

  // The machine image's public parameter resolves here.
  const imageCheck = `${product.id}: machine image ${imageParameter}`;
  try {
    const { Parameters = [], InvalidParameters = [] } = await clients
      .ssm(region)
      .send(new GetParametersCommand({ Names: [imageParameter] }));
    if (InvalidParameters.length || !Parameters[0]?.Value)
      problem(
        imageCheck,
        `does not resolve in this region: every launch of this product would fail; set another image parameter (storefront:products)`,
      );
    else
      lines.push({
        check: imageCheck,
        outcome: 'ok',
        message: `resolves to ${Parameters[0].Value}`,
      });
  } catch (error) {
    lines.push({
      check: imageCheck,
      outcome: 'warning',
      message: `could not read it (${errorText(error)})`,
    });
  }
  return { lines, sellable };
}

export async function checkProducts(
  clients: PreflightClients,
  region: string,
  config: StorefrontConfig,
): Promise<CheckResult[]> {
  const results = await Promise.all(
    Object.values(config.catalog).map((product) => productProblems(clients, region, product)),
  );
  const lines = results.flatMap((result) => result.lines);
  if (!results.some((result) => result.sellable))
    lines.push({
      check: 'products',
      outcome: 'blocker',
      message: 'no product can be leased in this account and region: fix one of the lines above',
    });
  return lines;
}

/** Every secret the accepted payment methods read (their modules declare them), one line each. */
export async function checkPaymentSecrets(
  clients: PreflightClients,
  config: StorefrontConfig,
): Promise<CheckResult[]> {
  const check = 'payment secret';
  const methods = paymentMethodsOn(config);
  const context = config as unknown as Record<string, unknown>;
  const secrets = methods.flatMap((method) =>
    Object.values(method.secrets).map((secret) => ({ secret, name: context[secret.nameKey] })),
  );
  if (secrets.length === 0) {
    const free = methods.map((method) => `"${method.facts.name}"`);
    return [
      methods.length
        ? {
            check,
            outcome: 'warning',
            message: `none: only the no-money ${free.join(', ')} method is on`,
          }
        : {
            check,
            outcome: 'warning',
            message: `no payment method is configured (${PAYMENT_METHODS.filter(
              (method) => method.money.moves === 'real',
            )
              .map((method) => method.turnedOnBy)
              .join(', or ')}): orders are refused with 503 until one is`,
          },
    ];
  }
  return Promise.all(
    secrets.map(({ secret, name }) => checkSecret(clients, check, String(name), secret)),
  );
}

async function checkSecret(
  clients: PreflightClients,
  check: string,
  name: string,
  secret: MethodSecret,
): Promise<CheckResult> {
  try {
    const value = await clients.secrets.send(new GetSecretValueCommand({ SecretId: name }));
    if (!value.SecretString)
      return {
        check,
        outcome: 'blocker',
        message: `${name} holds no string value: put ${secret.holds} in it (\`aws secretsmanager put-secret-value --secret-id ${name} --secret-string ${secret.example}\`)`,
      };
    return { check, outcome: 'ok', message: `${name} exists and is readable` };
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException')
      return {
        check,
        outcome: 'blocker',
        message: `${name} does not exist in this region: \`aws secretsmanager create-secret --name ${name} --secret-string ${secret.example}\``,
      };
    return {
      check,
      outcome: 'blocker',
      message: `${name} cannot be read (${errorText(error)}): the deploying credentials and the functions need secretsmanager:GetSecretValue on it`,
    };
  }
}

/**
 * A stage deployed before the two us-east-1 stacks became one keeps `<stack>-Edge` and
 * `<stack>-WebAcl`, whose SSM parameters have the names the new stack creates (README,
 * "Operating on AWS").
 */
export async function checkOldLayout(
  clients: PreflightClients,
  stackName: string,
): Promise<CheckResult> {
  const check = 'earlier stack layout';
  const found: string[] = [];
  for (const old of [`${stackName}-Edge`, `${stackName}-WebAcl`]) {
    try {
      const { Stacks = [] } = await clients
        .cloudFormation(US_EAST_1)
        .send(new DescribeStacksCommand({ StackName: old }));
      if (Stacks.some((stack) => stack.StackStatus !== 'DELETE_COMPLETE')) found.push(old);
    } catch (error) {
      if (/does not exist/.test(String((error as Error).message))) continue;
      return {
        check,
        outcome: 'warning',
        message: `could not look for ${old} in ${US_EAST_1} (${errorText(error)})`,
      };
    }
  }
  if (found.length)
    return {
      check,
      outcome: 'blocker',
      message: `${found.join(' and ')} still exist in ${US_EAST_1}: the new ${stackName}-${US_EAST_1} creates SSM parameters of the same names. Destroy the old stage first, or deploy under another -c stackName=…`,
    };
  return {
    check,
    outcome: 'ok',
    message: `no ${stackName}-Edge or ${stackName}-WebAcl in ${US_EAST_1}`,
  };
}

/**
 * `storefront:guardDutyDetector`: "You can have only one detector per account per Region"
 * (GuardDuty API reference, CreateDetector), so `create` fails the deploy where the account
 * has one (unless this stack created it: it carries the stack's tag), and `existing` acts on
 * nothing where the account has none.
 */
export async function checkGuardDutyDetector(
  clients: PreflightClients,
  target: PreflightTarget,
): Promise<CheckResult> {
  const check = 'GuardDuty detector';
  const wanted = target.config.guardDutyDetector;
  let detectorIds: string[];
  try {
    ({ DetectorIds: detectorIds = [] } = await clients.guardDuty.send(
      new ListDetectorsCommand({}),
    ));
  } catch (error) {
    return {
      check,
      outcome: 'warning',
      message: `could not list GuardDuty detectors in ${target.region} (${errorText(error)})`,
    };
  }
  const [detectorId] = detectorIds;
  if (wanted === 'existing')
    return detectorId
      ? { check, outcome: 'ok', message: `detector ${detectorId} in ${target.region} will be used` }
      : {
          check,
          outcome: 'warning',
          message: `no detector in ${target.region}: no GuardDuty finding will end a lease until GuardDuty is enabled here, or deploy with -c storefront:guardDutyDetector=create`,
        };
  if (!detectorId)
    return { check, outcome: 'ok', message: `none in ${target.region}: the stack creates one` };
  const { Tags = {} } = await clients.guardDuty
    .send(new GetDetectorCommand({ DetectorId: detectorId }))
    .catch(() => ({ Tags: {} as Record<string, string> }));
  if (Tags[INSTANCE_TAGS.managedBy] === target.stackName)
    return { check, outcome: 'ok', message: `detector ${detectorId} is this stack's own` };
  return {
    check,
    outcome: 'blocker',
    message: `${target.region} already has detector ${detectorId} and an account may have only one per region: deploy with -c storefront:guardDutyDetector=existing`,
  };
}

/** Every check, in order; stops after the first if there are no credentials. */
export async function runPreflight(
  clients: PreflightClients,
  target: PreflightTarget,
): Promise<CheckResult[]> {
  const credentials = await checkCredentials(clients);
  if (credentials.outcome !== 'ok' || !credentials.account) return [credentials];
  const { account } = credentials;
  const regions = [...new Set([target.region, US_EAST_1])];
  const results = await Promise.all([
    ...regions.map((region) => checkBootstrap(clients, account, region)),
    checkLambdaConcurrency(clients),
    checkProducts(clients, target.region, target.config),
    checkPaymentSecrets(clients, target.config),
    checkOldLayout(clients, target.stackName),
    checkGuardDutyDetector(clients, target),
  ]);
  return [credentials, ...results.flat()];
}

const MARK: Record<Outcome, string> = { ok: 'ok     ', warning: 'WARNING', blocker: 'BLOCKER' };

/** One line per check. */
export const formatResult = (result: CheckResult) =>
  `${MARK[result.outcome]} ${result.check}: ${result.message}`;

/** 1 on a blocker, 0 otherwise (warnings included). */
export const exitCodeOf = (results: CheckResult[]) =>
  results.some((result) => result.outcome === 'blocker') ? 1 : 0;
