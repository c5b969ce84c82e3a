import { Stack } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';

/**
 * The storefront's public URL, as the deployment knows it: the operator's custom domain, or
 * the front door's own domain. Machines report ready there and every link an answer carries
 * starts with it; no request header decides it.
 *
 * The functions cannot be given the front door's domain as an environment variable: the
 * distribution is created from the API, whose integrations name the functions, so it would
 * be a dependency cycle. The stack writes the URL to an SSM parameter once the distribution
 * exists, and the functions read it by its name (fixed at synth) when they start.
 */
export class PublicUrl extends Construct {
  readonly parameterName: string;
  private readonly parameterArn: string;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const stack = Stack.of(this);
    this.parameterName = `/${stack.stackName}/public-url`;
    this.parameterArn = stack.formatArn({
      service: 'ssm',
      resource: 'parameter',
      resourceName: this.parameterName.slice(1),
    });
  }

  /** Read access by name: granting through the parameter resource would close the cycle. */
  grantRead(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['ssm:GetParameter'], resources: [this.parameterArn] }),
    );
  }

  /** Writes the URL, once the front door that serves it is defined. */
  publish(url: string): void {
    new StringParameter(this, 'Value', {
      parameterName: this.parameterName,
      stringValue: url,
      description:
        'The storefront public URL: where machines report ready, and every link in its answers',
    });
  }
}
