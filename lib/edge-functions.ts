import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Aws, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  CompositePrincipal,
  ManagedPolicy,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from 'aws-cdk-lib/aws-iam';
import { Architecture, Function as LambdaFunction, Runtime, Version } from 'aws-cdk-lib/aws-lambda';
import { CfnLogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import {
  AwsCustomResource,
  AwsCustomResourcePolicy,
  PhysicalResourceId,
} from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import type { ResponseEdgeFunction } from '../lambdas/edge/edge-associations.js';
import { edgeFunctionCode } from './edge-function-code.js';
import { keepReplicaLogs } from './edge-log-retention.js';
import { PROJECT_ROOT } from './node-function.js';
import { US_EAST_1, UsEast1Stack } from './us-east-1-stack.js';

/** Where CloudFront takes Lambda@Edge functions from (lib/us-east-1-stack.ts). */
export const EDGE_REGION = US_EAST_1;

/**
 * Lambda@Edge offers only some Lambda runtimes, on x86_64 only; 22.x is used rather than
 * assuming the functions' newer runtime is among them (check it before raising this).
 */
export const EDGE_FUNCTION_RUNTIME = Runtime.NODEJS_22_X;

const EDGE_FUNCTION_SETTINGS = {
  runtime: EDGE_FUNCTION_RUNTIME,
  architecture: Architecture.X86_64,
  memorySize: 128,
  timeout: Duration.seconds(5),
};

/**
 * Deploys an edge function in the storefront's us-east-1 stack and publishes its current
 * version ARN there as an SSM parameter; returns the parameter's name.
 */
function publishEdgeFunction(
  stack: UsEast1Stack,
  edge: ResponseEdgeFunction,
  options: { logRetention: RetentionDays },
): string {
  const role = new Role(stack, `${edge.name}Role`, {
    assumedBy: new CompositePrincipal(
      new ServicePrincipal('lambda.amazonaws.com'),
      new ServicePrincipal('edgelambda.amazonaws.com'),
    ),
    description: edge.description,
    managedPolicies: [
      ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole'),
    ],
  });
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason:
      'Lambda@Edge writes logs to /aws/lambda/us-east-1.<name> in whichever region served the request; the basic execution role covers exactly that.',
  });
  const fn = new LambdaFunction(stack, edge.name, {
    role,
    ...EDGE_FUNCTION_SETTINGS,
    handler: 'index.handler',
    code: edgeFunctionCode(edge.entry),
    description: edge.description,
    // CloudFront's distribution uses a version until the storefront stack moves it to the next
    // one, after this stack's update; and a version with replicas cannot be deleted: "You can
    // delete a Lambda@Edge function only when the replicas of the function have been deleted
    // by CloudFront ... Replicas are typically deleted within a few hours. You cannot manually
    // delete Lambda@Edge function replicas" (CloudFront developer guide, "Delete Lambda@Edge
    // functions and replicas"). So a replaced version is retained, not deleted (which would
    // fail on every change of the edge code); docs/deploy-notes.md says how to prune them.
    currentVersionOptions: { removalPolicy: RemovalPolicy.RETAIN },
  });
  // Its own log group (/aws/lambda/<name>, which the CDK creates beside it with two years'
  // retention) keeps storefront:logRetentionDays like every other. It stays at the default name,
  // from which the replicas' /aws/lambda/us-east-1.<name> in every region follows; those are
  // kept as long (lib/edge-log-retention.ts).
  const logGroup = fn.node.tryFindChild('LogGroup')?.node.defaultChild;
  if (!(logGroup instanceof CfnLogGroup))
    throw new Error(`the CDK-managed log group of ${edge.name} was not found`);
  logGroup.retentionInDays = options.logRetention;
  logGroup.applyRemovalPolicy(RemovalPolicy.DESTROY);
  keepReplicaLogs(stack, fn, options.logRetention);
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-L1',
    reason:
      'Lambda@Edge offers only some Lambda runtimes; the edge function stays on Node.js 22.x rather than assume the newer runtime of the other functions is among them.',
  });
  const parameterName = `/${stack.storefrontName}/edge/${edge.name}`;
  new StringParameter(stack, `${edge.name}VersionArn`, {
    parameterName,
    stringValue: fn.currentVersion.functionArn,
    description: `Current version of ${edge.name}, read by the storefront stack's distribution`,
  });
  return parameterName;
}

/**
 * Changes whenever an edge function's source or settings do (each change publishes a new
 * version), so its version ARN is read again.
 */
function edgeVersionHash(): string {
  const folder = join(PROJECT_ROOT, 'lambdas/edge');
  const { runtime, architecture, memorySize, timeout } = EDGE_FUNCTION_SETTINGS;
  const hash = createHash('sha256').update(
    JSON.stringify([runtime.name, architecture.name, memorySize, timeout.toSeconds()]),
  );
  for (const file of readdirSync(folder).sort()) {
    hash.update(file).update(readFileSync(join(folder, file)));
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * The function's current version in us-east-1, read across regions when the storefront
 * stack deploys (CloudFront needs a version ARN; an alias or $LATEST is refused).
 */
export function edgeFunctionVersion(
  scope: Construct,
  edge: ResponseEdgeFunction,
  options: { logRetention: RetentionDays },
) {
  const storefront = Stack.of(scope);
  const parameterName = publishEdgeFunction(UsEast1Stack.beside(storefront), edge, options);
  const read = {
    service: 'SSM',
    action: 'getParameter',
    parameters: { Name: parameterName },
    region: EDGE_REGION,
    physicalResourceId: PhysicalResourceId.of(`${parameterName}@${edgeVersionHash()}`),
  };
  const reader = new AwsCustomResource(scope, `${edge.name}VersionArn`, {
    onCreate: read,
    onUpdate: read,
    installLatestAwsSdk: false,
    policy: AwsCustomResourcePolicy.fromStatements([
      new PolicyStatement({
        actions: ['ssm:GetParameter'],
        resources: [
          `arn:${Aws.PARTITION}:ssm:${EDGE_REGION}:${Aws.ACCOUNT_ID}:parameter${parameterName}`,
        ],
      }),
    ]),
  });
  const provider = storefront.node.tryFindChild(
    `AWS${AwsCustomResource.PROVIDER_FUNCTION_UUID.replaceAll('-', '')}`,
  );
  if (provider) {
    Validations.of(provider).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        "CDK's AwsCustomResource provider (it reads the edge function's version ARN from us-east-1) logs with the basic execution role; its only other permission is ssm:GetParameter on that parameter.",
    });
  }
  return Version.fromVersionArn(
    scope,
    `${edge.name}Version`,
    reader.getResponseField('Parameter.Value'),
  );
}
