import { Match } from 'aws-cdk-lib/assertions';
import { resourcesOf, storefrontStack } from '../support/stack.js';

describe('the payment sweeper in the stack', () => {
  const { template } = storefrontStack({ 'storefront:testPayments': true });
  const functions = resourcesOf(template, 'AWS::Lambda::Function');
  const sweeperId = Object.entries(functions).find(
    ([, fn]) =>
      (fn.Properties?.Environment as { Variables?: Record<string, unknown> })?.Variables
        ?.OPERATION_ID === 'sweepPayments',
  )?.[0];

  it('is a function with the storefront and workflow access it needs', () => {
    expect(sweeperId).toBeDefined();
    const environment = functions[sweeperId ?? '']?.Properties?.Environment as
      | { Variables: Record<string, unknown> }
      | undefined;
    const variables = environment?.Variables ?? {};
    expect(Object.keys(variables)).toEqual(
      expect.arrayContaining(['TABLE_NAME', 'STOREFRONT_SECRET_ARN', 'STATE_MACHINE_ARN']),
    );
  });

  it('runs every two minutes', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(2 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [sweeperId, 'Arn'] } })],
    });
  });

  it('may query only the sweep index besides its key-scoped items', () => {
    const policies = JSON.stringify(resourcesOf(template, 'AWS::IAM::Policy'));
    expect(policies).toContain('/index/sweep');
    expect(policies).not.toContain('dynamodb:Scan');
  });

  it('raises an alarm, on the alarm topic, when a refund is owed for over an hour', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'RefundsOwedOverAnHour',
      Namespace: 'AgenticComputeStorefront',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [Match.objectLike({ Ref: Match.stringLikeRegexp('MonitoringAlarms') })],
    });
  });
});
