import { Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { storefrontStack } from '../support/stack.js';

/** Runs cdk-nag's AWS Solutions pack as the app does; synth throws on any unacknowledged error. */
function synthWithNag(
  overrides: Record<string, unknown>,
  tamper?: (stack: ReturnType<typeof storefrontStack>['stack']) => void,
) {
  const { app, stack } = storefrontStack(overrides);
  tamper?.(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return () => app.synth();
}

describe('cdk-nag AwsSolutionsChecks', () => {
  it('finds no unacknowledged error in the default stack', () => {
    expect(synthWithNag({ 'storefront:testPayments': true })).not.toThrow();
  });

  it('finds none with Stripe, a custom domain and an existing alarm address either', () => {
    expect(
      synthWithNag({
        'storefront:stripeSecretName': 'storefront/stripe',
        'storefront:stripeNetworkId': 'profile_123',
        'storefront:domainName': 'compute.example.com',
        'storefront:certificateArn': 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
        'storefront:alarmEmail': 'ops@example.com',
      }),
    ).not.toThrow();
  });

  it('does fail the synth on a finding nobody acknowledged', () => {
    const tampered = synthWithNag({ 'storefront:testPayments': true }, (stack) => {
      new Secret(stack, 'NeverRotated');
    });
    expect(tampered).toThrow(/AwsSolutions-SMG4/);
  });
});
