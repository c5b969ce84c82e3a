import { CustomResource, Duration, RemovalPolicy, type Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { type IFunction, Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { EdgeLogRetentionProperties } from '../lambdas/operator/edge-log-retention.js';
import { everyRegionArn } from './arns.js';
import { edgeFunctionCode } from './edge-function-code.js';
import { acknowledgeWildcardResource } from './nag-suppressions.js';
import { FUNCTION_ARCHITECTURE, FUNCTION_RUNTIME } from './node-function.js';
import { US_EAST_1 } from './us-east-1-stack.js';

/** The log group a Lambda@Edge function's replicas write to, in each region they run in. */
export const replicaLogGroupName = (edge: IFunction) =>
  `/aws/lambda/${US_EAST_1}.${edge.functionName}`;

/**
 * Keeps the logs of an edge function's replicas for `retention`: a custom resource creates
 * their log group in every region enabled for the account with that retention, before
 * Lambda@Edge creates it there with none (lambdas/operator/edge-log-retention.ts).
 */
export function keepReplicaLogs(stack: Stack, edge: IFunction, retention: RetentionDays): void {
  const id = `${edge.node.id}ReplicaLogs`;
  const logGroupName = replicaLogGroupName(edge);
  const ownLogs = new LogGroup(stack, `${id}HandlerLogs`, {
    retention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new Role(stack, `${id}HandlerRole`, {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    description: `Sets the retention of ${edge.node.id}'s replica logs in every region`,
  });
  role.addToPolicy(
    new PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [ownLogs.logGroupArn],
    }),
  );
  // DescribeRegions has no resource-level permissions: '*' is the only scope AWS offers.
  role.addToPolicy(new PolicyStatement({ actions: ['ec2:DescribeRegions'], resources: ['*'] }));
  const replicaLogs = everyRegionArn(stack, 'logs', `log-group:${logGroupName}`);
  role.addToPolicy(
    new PolicyStatement({
      actions: ['logs:CreateLogGroup', 'logs:PutRetentionPolicy'],
      resources: [replicaLogs, `${replicaLogs}:*`],
    }),
  );
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'ec2:DescribeRegions has no resource-level permissions.',
  });
  for (const arn of [replicaLogs, `${replicaLogs}:*`]) {
    acknowledgeWildcardResource(
      role,
      arn,
      "Lambda@Edge replicas log to this one log group name in whichever region serves a request; its retention is set in every region, and nothing else (the group's ':*' form is how IAM names it for some actions).",
    );
  }
  const handler = new LambdaFunction(stack, `${id}Handler`, {
    role,
    runtime: FUNCTION_RUNTIME,
    architecture: FUNCTION_ARCHITECTURE,
    handler: 'index.handler',
    code: edgeFunctionCode('lambdas/operator/edge-log-retention.ts'),
    description: `Keeps ${edge.node.id}'s replica logs for the stack's retention in every region`,
    timeout: Duration.minutes(5),
    memorySize: 256,
    logGroup: ownLogs,
  });
  const properties: EdgeLogRetentionProperties = {
    LogGroupName: logGroupName,
    RetentionInDays: String(retention),
  };
  new CustomResource(stack, id, {
    serviceToken: handler.functionArn,
    resourceType: 'Custom::EdgeReplicaLogRetention',
    properties,
  });
}
