import { Stack, Stage, Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/** CloudFront takes Lambda@Edge functions and CLOUDFRONT-scope web ACLs from this region only. */
export const US_EAST_1 = 'us-east-1';

/**
 * The one stack a storefront keeps in us-east-1, whatever region the storefront is in: what
 * CloudFront takes from there only, the front door's Lambda@Edge functions
 * (lib/edge-functions.ts) and its WAF web ACL (lib/waf.ts). Each publishes what the
 * storefront needs (a function version ARN, the ACL's ARN) as an SSM parameter here, which
 * the storefront stack reads at deploy time, so the storefront stays environment-agnostic
 * and its ARNs partition-aware. `cdk deploy` deploys this stack first.
 */
export class UsEast1Stack extends Stack {
  /** The us-east-1 stack of this storefront, created on first use. */
  static beside(storefront: Stack): UsEast1Stack {
    const id = `${storefront.node.id}-${US_EAST_1}`;
    const stage = Stage.of(storefront);
    if (!stage) throw new Error('the storefront stack must belong to a CDK app');
    const existing = stage.node.tryFindChild(id);
    if (existing instanceof UsEast1Stack) return existing;
    const stack = new UsEast1Stack(stage, id, storefront);
    storefront.addStackDependency(
      stack,
      'CloudFront takes the Lambda@Edge functions and the web ACL from us-east-1, which are created first',
    );
    return stack;
  }

  /** The storefront stack's name, which names the parameters published here. */
  readonly storefrontName: string;

  private constructor(scope: Construct, id: string, storefront: Stack) {
    super(scope, id, {
      stackName: `${storefront.stackName}-${US_EAST_1}`,
      env: {
        region: US_EAST_1,
        ...(Token.isUnresolved(storefront.account) ? {} : { account: storefront.account }),
      },
      description: `${storefront.stackName} in us-east-1: the Lambda@Edge functions and the WAF web ACL of its CloudFront front door (CloudFront takes both from this region only)`,
    });
    this.storefrontName = storefront.stackName;
  }
}
