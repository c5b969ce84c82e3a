import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { IConstruct } from 'constructs';
import { type Ec2Wildcard, ec2WildcardArn, publicImagesArn } from './arns.js';

/**
 * cdk-nag findings this stack accepts, each with the reason. Anything not listed here
 * fails the synth (and the CDK tests).
 */
const acknowledge = (construct: IConstruct, id: string, reason: string) =>
  Validations.of(construct).acknowledge({ id, reason });

/**
 * The id of cdk-nag's AwsSolutions-IAM5 finding about a wildcard resource, written as cdk-nag
 * writes it: the ARN as the template holds it, references flattened by cdk-nag's own function
 * (`<AWS::Region>` without an environment, `eu-west-1` with one). Built from the same ARN as the
 * policy, it matches whatever the synthesis (`cdk synth`, `cdk deploy`, any region) writes.
 */
const wildcardResource = (stack: Stack, arn: string) =>
  `AwsSolutions-IAM5[Resource::${flattenCfnReference(stack.resolve(arn))}]`;

/** Acknowledges the wildcard in `arn` (built by lib/arns.ts) where `construct` grants it. */
export const acknowledgeWildcardResource = (construct: IConstruct, arn: string, reason: string) =>
  acknowledge(construct, wildcardResource(Stack.of(construct), arn), reason);

const find = (stack: Stack, path: string): IConstruct => {
  const found = stack.node.tryFindChild(path.split('/')[0] ?? '');
  const construct = path
    .split('/')
    .slice(1)
    .reduce<IConstruct | undefined>((node, id) => node?.node.tryFindChild(id), found);
  if (!construct) throw new Error(`nag suppression target ${path} does not exist`);
  return construct;
};

export function suppressAcceptedFindings(stack: Stack, options: { customDomain: boolean }): void {
  acknowledge(
    stack,
    'AwsSolutions-IAM5[Resource::*]',
    "Only actions AWS offers no resource-level permissions for use '*': X-Ray tracing, EC2 DescribeInstances/DescribeCapacityReservations, and the CloudWatch Logs delivery actions of Step Functions logging (the CDK tests hold the list).",
  );
  const reasons: Record<Ec2Wildcard, string> = {
    instances:
      'Instance ids are unknown before launch; RunInstances requires the storefront tag on the new instance and TerminateInstances requires it on existing ones (ec2:ResourceTag / aws:RequestTag conditions).',
    volumes:
      'RunInstances creates the root volume, whose id is unknown beforehand; CreateTags is limited to RunInstances.',
    networkInterfaces:
      "RunInstances creates the instance's network interface, whose id is unknown beforehand.",
    capacityReservations:
      'Capacity Blocks are bought by the operator and chosen at launch among the configured ones.',
  };
  for (const [kind, reason] of Object.entries(reasons) as [Ec2Wildcard, string][]) {
    acknowledge(stack, wildcardResource(stack, ec2WildcardArn(stack, kind)), reason);
  }
  acknowledge(
    stack,
    wildcardResource(stack, publicImagesArn(stack)),
    'The machine images are public AMIs (Canonical Ubuntu, AWS Deep Learning) resolved from SSM at launch.',
  );
  for (const name of ['LaunchInstance', 'InspectInstance', 'LeaseRecords', 'RefundLease']) {
    const fn = find(stack, `LeaseWorkflow/${name}`).node.defaultChild as CfnElement;
    acknowledge(
      find(stack, 'LeaseWorkflow/StateMachine'),
      `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn)}.Arn>:*]`,
      'The state machine may invoke versions of its own step functions (CDK grants the function ARN and ARN:*).',
    );
  }
  acknowledge(
    find(stack, 'Secrets/StorefrontSecret'),
    'AwsSolutions-SMG4',
    'The storefront secret derives order ids and capability tokens that must stay verifiable; it is rotated by hand (README "Rotating the storefront secret"), not on a schedule.',
  );
  acknowledge(
    find(stack, 'Secrets/FrontDoorOriginSecret'),
    'AwsSolutions-SMG4',
    "CloudFront and the API stage's web ACL take the front door's origin secret at deploy time (a dynamic reference), so a scheduled rotation would change nothing they use; it only tells the front door's requests from direct ones and grants nothing else.",
  );
  acknowledge(
    find(stack, 'Compute/MachineSsh'),
    'AwsSolutions-EC23',
    'Leased machines are logged into over SSH from wherever the agent runs; only TCP 22 is open and only key authentication is allowed.',
  );
  acknowledge(
    find(stack, 'Compute/MachineSsh'),
    'CloudFormation-Validate::W2508',
    'SSH from anywhere is the product: agents connect from unknown addresses with their own key.',
  );
  acknowledge(
    find(stack, 'Api/Api'),
    'AwsSolutions-APIG2',
    'Request validators are declared in the imported OpenAPI document (x-amazon-apigateway-request-validators), checked by the CDK tests.',
  );
  acknowledge(
    find(stack, 'Api/Api'),
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    "API Gateway's account-level logging role uses the policy AWS provides for it.",
  );
  const distribution = find(stack, 'FrontDoor/Distribution');
  acknowledge(
    distribution,
    'AwsSolutions-CFR1',
    'Agents anywhere may lease machines; no geographic restriction.',
  );
  acknowledge(
    distribution,
    'AwsSolutions-CFR3',
    'Every request is logged by the API stage access logs behind it; no S3 log bucket.',
  );
  if (!options.customDomain) {
    acknowledge(
      distribution,
      'AwsSolutions-CFR4',
      'Without a custom domain CloudFront serves its default certificate; configure storefront:domainName and storefront:certificateArn to enforce TLS 1.2.',
    );
  }
}
