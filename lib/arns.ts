import { Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * An ARN in the stack's own partition, region and account (or `account`, '' for public
 * resources such as AMIs). Without an environment these are CloudFormation pseudo parameters;
 * `cdk deploy` and `cdk bootstrap` synthesise with the credentials' account and region
 * (CDK_DEFAULT_ACCOUNT/CDK_DEFAULT_REGION), and then they are literals. Whatever names one of
 * these ARNs elsewhere (a cdk-nag acknowledgement, lib/nag-suppressions.ts) builds it here too,
 * so both agree in either case.
 */
export function stackArn(
  scope: IConstruct,
  service: string,
  resource: string,
  account: string = Stack.of(scope).account,
): string {
  const { partition, region } = Stack.of(scope);
  return `arn:${partition}:${service}:${region}:${account}:${resource}`;
}

/**
 * The EC2 resources a launch creates or chooses, whose ids nobody knows beforehand: each is
 * granted with a wildcard (and conditions where EC2 offers them, lib/lease-workflow-permissions.ts).
 */
export const EC2_WILDCARDS = {
  instances: 'instance/*',
  volumes: 'volume/*',
  networkInterfaces: 'network-interface/*',
  capacityReservations: 'capacity-reservation/*',
} as const;

export type Ec2Wildcard = keyof typeof EC2_WILDCARDS;

/** Every instance (volume, …) of the stack's account and region. */
export const ec2WildcardArn = (scope: IConstruct, kind: Ec2Wildcard): string =>
  stackArn(scope, 'ec2', EC2_WILDCARDS[kind]);

/** Public AMIs (Canonical, AWS Deep Learning) live in other accounts: no account in the ARN. */
export const publicImagesArn = (scope: IConstruct): string => stackArn(scope, 'ec2', 'image/*', '');

/**
 * An ARN of the stack's partition and account in every region ('*'): for what the stack keeps
 * in regions it is not deployed to (the edge function's replica log groups).
 */
export function everyRegionArn(scope: IConstruct, service: string, resource: string): string {
  const { partition, account } = Stack.of(scope);
  return `arn:${partition}:${service}:*:${account}:${resource}`;
}
