import { createHash } from 'node:crypto';
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { type CfnRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { type CfnFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import { CfnIPSet, CfnWebACL } from 'aws-cdk-lib/aws-wafv2';
import {
  AwsCustomResource,
  AwsCustomResourcePolicy,
  PhysicalResourceId,
} from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { ACCEPTABLE_USE_PATH } from '../lambdas/core/acceptable-use.js';
import { frontDoorRefusal, type IpFamily } from '../lambdas/core/client-range-firewall.js';
import {
  type Budget,
  limitOf,
  RATE_WINDOW_SECONDS,
  type RateLimits,
  READ_METHODS,
  throttledResponse,
} from '../lambdas/http/rate-limit-rules.js';
import { FUNCTION_ARCHITECTURE } from './node-function.js';
import { US_EAST_1, type UsEast1Stack } from './us-east-1-stack.js';

/**
 * "AWS WAF is available globally for CloudFront distributions, but you must use the Region
 * US East (N. Virginia) to create your web ACL and any resources used in the web ACL" (AWS
 * WAF developer guide, resources that you can protect). The storefront's stack is
 * environment-agnostic and may live in any region, so the web ACL goes to the storefront's
 * us-east-1 stack (lib/us-east-1-stack.ts), which also publishes the ACL's ARN in an SSM
 * parameter there; the storefront's stack depends on it and reads that parameter across
 * regions at deploy time.
 */
export const WEB_ACL_REGION = US_EAST_1;

const BUDGETS: readonly Budget[] = ['writes', 'reads'];

const methodIs = (method: string): CfnWebACL.StatementProperty => ({
  byteMatchStatement: {
    fieldToMatch: { method: {} },
    positionalConstraint: 'EXACTLY',
    searchString: method,
    textTransformations: [{ priority: 0, type: 'NONE' }],
  },
});

/** The requests a budget counts: reads are GET and HEAD, writes everything else. */
function requestsOf(budget: Budget): CfnWebACL.StatementProperty {
  const reads: CfnWebACL.StatementProperty = {
    orStatement: { statements: READ_METHODS.map(methodIs) },
  };
  return budget === 'reads' ? reads : { notStatement: { statement: reads } };
}

const bodyKey = (budget: Budget) => `${budget}-throttled`;
const metricName = (budget: Budget) => `storefront-${budget}-per-client`;

/**
 * One rate-based rule per budget: requests of that kind from one source IP over the last
 * minute, blocked with the same 429, Retry-After and `{ error }` the local front door sends.
 * Aggregating by `IP` counts "the IP address from the web request origin", which on a
 * CloudFront distribution is the viewer's: a forged X-Forwarded-For changes nothing.
 */
export function rateLimitRules(limits: RateLimits): CfnWebACL.RuleProperty[] {
  return BUDGETS.map((budget, index) => {
    // After the blocked-clients rule: a blocked range is refused before it is counted.
    const priority = index + 1;
    const { statusCode, headers } = throttledResponse(limits, budget);
    return {
      name: `${budget}-per-client`,
      priority,
      statement: {
        rateBasedStatement: {
          limit: limitOf(limits, budget),
          evaluationWindowSec: RATE_WINDOW_SECONDS,
          aggregateKeyType: 'IP',
          scopeDownStatement: requestsOf(budget),
        },
      },
      action: {
        block: {
          customResponse: {
            responseCode: statusCode,
            customResponseBodyKey: bodyKey(budget),
            // WAF sets content-type from the body's ContentType and refuses it as a header.
            responseHeaders: Object.entries(headers)
              .filter(([name]) => name !== 'content-type')
              .map(([name, value]) => ({ name, value })),
          },
        },
      },
      visibilityConfig: {
        cloudWatchMetricsEnabled: true,
        sampledRequestsEnabled: true,
        metricName: metricName(budget),
      },
    };
  });
}

const BLOCKED_CLIENTS_BODY = 'blocked-client';

/** Where an agent sends a payment credential or a capability token (lower case, as WAF reads names). */
const CREDENTIAL_HEADERS = ['authorization', 'payment-authorization'] as const;

/**
 * The client ranges the operator blocked (the table's `client_range` blocks, copied into the two
 * IP sets by lib/blocked-ranges-sync.ts), refused first with a 403 `{ error }` naming the
 * acceptable-use policy, as the API refuses their orders. An IP set reference statement "inspects
 * the IP address of a web request against a set of IP addresses and address ranges. … By default,
 * AWS WAF uses the IP address from the web request origin" (AWS WAF developer guide, "IP set
 * match rule statement"): the viewer's address, the one blocks are matched against. The policy
 * page itself stays readable, so a refused client can read why.
 *
 * Requests that carry a credential or a capability token pass on to the API: a paid order's
 * retry must still get its machine, and a lease bought before the block must stay readable,
 * extensible and terminable (its unused minutes refunded). The API checks blocks again for
 * every order, quote and unpaid create before any challenge, so a blocked client that merely
 * adds such a header gets the API's own 403; the per-client rate limits apply to it too.
 */
export function blockedClientsRule(ipSetArns: Record<IpFamily, string>): CfnWebACL.RuleProperty {
  return {
    name: 'blocked-clients',
    priority: 0,
    statement: {
      andStatement: {
        statements: [
          {
            orStatement: {
              statements: [ipSetArns.ipv4, ipSetArns.ipv6].map((arn) => ({
                ipSetReferenceStatement: { arn },
              })),
            },
          },
          {
            notStatement: {
              statement: {
                byteMatchStatement: {
                  fieldToMatch: { uriPath: {} },
                  positionalConstraint: 'EXACTLY',
                  searchString: ACCEPTABLE_USE_PATH,
                  textTransformations: [{ priority: 0, type: 'NONE' }],
                },
              },
            },
          },
          {
            notStatement: {
              statement: {
                orStatement: {
                  statements: CREDENTIAL_HEADERS.map((name) => ({
                    sizeConstraintStatement: {
                      fieldToMatch: { singleHeader: { Name: name } },
                      comparisonOperator: 'GT',
                      size: 0,
                      textTransformations: [{ priority: 0, type: 'NONE' }],
                    },
                  })),
                },
              },
            },
          },
        ],
      },
    },
    action: {
      block: {
        customResponse: { responseCode: 403, customResponseBodyKey: BLOCKED_CLIENTS_BODY },
      },
    },
    visibilityConfig: {
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
      metricName: 'storefront-blocked-clients',
    },
  };
}

/** An IP set's name: at most 128 letters, digits, _ and - (AWS::WAFv2::IPSet Name). */
const ipSetName = (storefrontName: string, family: IpFamily) =>
  `${storefrontName.slice(0, 100)}-blocked-clients-${family}`;

export interface StorefrontWebAclProps {
  limits: RateLimits;
  /** The storefront stack's name, which names the IP sets. */
  storefrontName: string;
  /** Where a refused client reads the policy: the custom domain's page, else its path. */
  policyUrl: string;
}

/** The web ACL itself (scope CLOUDFRONT, so only in a us-east-1 stack). */
export class StorefrontWebAcl extends Construct {
  readonly webAcl: CfnWebACL;
  /** The blocked-clients IP sets, one per address family (WAF keeps them apart). */
  readonly ipSets: Record<IpFamily, CfnIPSet>;

  constructor(scope: Construct, id: string, props: StorefrontWebAclProps) {
    super(scope, id);
    const ipSet = (family: IpFamily) =>
      new CfnIPSet(this, `BlockedClients${family === 'ipv4' ? 'V4' : 'V6'}`, {
        name: ipSetName(props.storefrontName, family),
        scope: 'CLOUDFRONT',
        ipAddressVersion: family === 'ipv4' ? 'IPV4' : 'IPV6',
        // Kept in step with the table by the sync function; it starts empty.
        addresses: [],
        description: `Client ranges blocked by the operator of ${props.storefrontName}, synced from its table`,
      });
    this.ipSets = { ipv4: ipSet('ipv4'), ipv6: ipSet('ipv6') };
    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      scope: 'CLOUDFRONT',
      description:
        'Agentic Compute Storefront: blocked client ranges, per-client limits on paid writes and reads',
      defaultAction: { allow: {} },
      rules: [
        blockedClientsRule({
          ipv4: this.ipSets.ipv4.attrArn,
          ipv6: this.ipSets.ipv6.attrArn,
        }),
        ...rateLimitRules(props.limits),
      ],
      customResponseBodies: Object.fromEntries([
        ...BUDGETS.map((budget) => [
          bodyKey(budget),
          {
            contentType: 'APPLICATION_JSON',
            content: throttledResponse(props.limits, budget).body,
          },
        ]),
        [
          BLOCKED_CLIENTS_BODY,
          { contentType: 'APPLICATION_JSON', content: frontDoorRefusal(props.policyUrl) },
        ],
      ]),
      visibilityConfig: {
        cloudWatchMetricsEnabled: true,
        sampledRequestsEnabled: true,
        metricName: 'storefront-front-door',
      },
    });
  }
}

/** Where the storefront stack finds the web ACL's ARN, and which ACL it is. */
export interface PublishedWebAcl {
  parameterName: string;
  /** The us-east-1 parameter holding the blocked-clients IP sets' ARNs (JSON by family). */
  ipSetsParameterName: string;
  /**
   * Changes whenever the ACL may have a new ARN: its definition (a change to its name or
   * scope replaces it) or its place in the stack (a new logical id replaces it).
   */
  version: string;
}

/**
 * Puts the front door's web ACL in the storefront's us-east-1 stack and publishes its ARN
 * there as an SSM parameter, for the storefront stack to read.
 */
export function publishWebAcl(
  stack: UsEast1Stack,
  props: { limits: RateLimits; policyUrl: string },
): PublishedWebAcl {
  const parameterName = `/agentic-compute-storefront/${stack.storefrontName}/front-door-web-acl-arn`;
  const ipSetsParameterName = `/agentic-compute-storefront/${stack.storefrontName}/blocked-client-ip-sets`;
  const { webAcl, ipSets } = new StorefrontWebAcl(stack, 'FrontDoorLimits', {
    ...props,
    storefrontName: stack.storefrontName,
  });
  new StringParameter(stack, 'WebAclArn', {
    parameterName,
    stringValue: webAcl.attrArn,
    description: 'ARN of the storefront front door web ACL (read by the storefront stack)',
  });
  new StringParameter(stack, 'BlockedClientIpSets', {
    parameterName: ipSetsParameterName,
    stringValue: stack.toJsonString({ ipv4: ipSets.ipv4.attrArn, ipv6: ipSets.ipv6.attrArn }),
    description:
      "ARNs of the front door's blocked-client IP sets (read by the storefront's sync function and operator command)",
  });
  const version = createHash('sha256')
    .update(JSON.stringify([stack.getLogicalId(webAcl), stack.resolve(webAclDefinition(webAcl))]))
    .digest('hex')
    .slice(0, 16);
  return { parameterName, ipSetsParameterName, version };
}

/** The IP sets' ARN pattern by name, for IAM: their ids are unknown before they exist. */
export function blockedClientIpSetArns(scope: Construct): string[] {
  const { partition, account, stackName } = Stack.of(scope);
  return (['ipv4', 'ipv6'] as const).map(
    (family) =>
      `arn:${partition}:wafv2:${WEB_ACL_REGION}:${account}:global/ipset/${ipSetName(stackName, family)}/*`,
  );
}

/** What CloudFormation is given for the ACL: every property of the resource. */
function webAclDefinition(webAcl: CfnWebACL): unknown {
  const { name, scope, description, defaultAction, rules, customResponseBodies, visibilityConfig } =
    webAcl;
  return { name, scope, description, defaultAction, rules, customResponseBodies, visibilityConfig };
}

/**
 * CDK's custom-resource function, brought to the rules every function of the stack follows
 * (test/cdk/security.test.ts): arm64, traced, its own role writing to its own log group, no
 * AWS managed policy.
 */
function followFunctionRules(provider: LambdaFunction, logGroup: LogGroup): void {
  const fn = provider.node.defaultChild as CfnFunction;
  fn.architectures = [FUNCTION_ARCHITECTURE.name];
  fn.tracingConfig = { mode: 'Active' };
  const role = provider.role?.node.defaultChild as CfnRole | undefined;
  if (role) role.managedPolicyArns = undefined;
  provider.addToRolePolicy(
    new PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
  provider.addToRolePolicy(
    new PolicyStatement({
      actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
      resources: ['*'],
    }),
  );
}

/**
 * The web ACL's ARN in another region's stack: read from the us-east-1 parameter at deploy
 * time (what CDK's own cross-region references do, which need a concrete region; this works
 * for an environment-agnostic stack too). A custom resource runs again only when its
 * properties change, so the ACL's version is part of them: a replaced ACL (a new ARN) is read
 * again on the deploy that replaces it, not left pointing at the deleted one.
 */
export function webAclArnFrom(
  scope: Construct,
  props: PublishedWebAcl & { logRetention: RetentionDays },
): string {
  const { partition, account } = Stack.of(scope);
  const logGroup = new LogGroup(scope, 'WebAclArnReaderLogs', {
    retention: props.logRetention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const read = new AwsCustomResource(scope, 'WebAclArnReader', {
    onUpdate: {
      service: 'SSM',
      action: 'getParameter',
      parameters: { Name: props.parameterName },
      region: WEB_ACL_REGION,
      physicalResourceId: PhysicalResourceId.of(`${props.parameterName}@${props.version}`),
    },
    policy: AwsCustomResourcePolicy.fromSdkCalls({
      resources: [
        `arn:${partition}:ssm:${WEB_ACL_REGION}:${account}:parameter${props.parameterName}`,
      ],
    }),
    installLatestAwsSdk: false,
    logGroup,
  });
  // The reader runs on CDK's shared custom-resource function, created beside it in the stack.
  const provider = Stack.of(scope).node.tryFindChild(
    `AWS${AwsCustomResource.PROVIDER_FUNCTION_UUID.replaceAll('-', '')}`,
  );
  if (!(provider instanceof LambdaFunction))
    throw new Error('the custom-resource function of AwsCustomResource was not found');
  followFunctionRules(provider, logGroup);
  return read.getResponseField('Parameter.Value');
}
