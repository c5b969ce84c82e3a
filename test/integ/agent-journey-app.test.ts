import { Match, Template } from 'aws-cdk-lib/assertions';
import { agentJourneyApp } from './agent-journey-app.js';

/**
 * The integration test cannot deploy here (no AWS account), but its app must synthesise in
 * CI: the stage, the agent function with its typed environment, and the assertion stack.
 */
describe('the agent-journey integration test app', () => {
  const { app, stack } = agentJourneyApp({ 'aws:cdk:bundling-stacks': [] });
  const assembly = app.synth();

  it('deploys the stage with the test payment method and an agent pointed at its front door', () => {
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Integration test: plays an agent journey against this stage',
      Timeout: 900,
      Environment: {
        Variables: {
          STOREFRONT_URL: {
            'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [Match.anyValue(), 'DomainName'] }]],
          },
        },
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { OPERATION_ID: 'createOrder', TEST_PAYMENTS: 'enabled' } },
    });
  });

  it('starts the agent once and waits for its log to say the journey passed', () => {
    // The stage's own stacks (itself and its us-east-1 stack) aside.
    const assertions = assembly.stacks.filter(
      (artifact) => !artifact.stackName.startsWith(stack.stackName),
    );
    expect(assertions).toHaveLength(1);
    const template = JSON.stringify(assertions[0]?.template);
    expect(template).toContain('"InvocationType":"\\"Event\\""');
    expect(template).toContain('filterLogEvents');
    expect(template).toContain('smoke.journey.passed');
  });
});
