import { Stack, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { RESPONSE_EDGE_FUNCTIONS } from '../../lambdas/edge/edge-associations.js';
import { EDGE_REGION } from '../../lib/edge-functions.js';
import { resourcesOf, storefrontStack } from '../support/stack.js';

describe('the front door on AWS', () => {
  const { app, stack, template } = storefrontStack({ 'storefront:testPayments': true });
  const edgeStack = app.node.findChild(`${stack.node.id}-us-east-1`) as typeof stack;
  const edgeTemplate = Template.fromStack(edgeStack);

  it('deploys each response edge function as Lambda@Edge in us-east-1, with no environment', () => {
    expect(edgeStack.region).toBe(EDGE_REGION);
    // Beside each, the regional function that keeps its replicas' logs (a custom resource).
    const functions = Object.entries(resourcesOf(edgeTemplate, 'AWS::Lambda::Function'))
      .filter(([id]) => !id.includes('ReplicaLogsHandler'))
      .map(([, fn]) => fn);
    expect(functions).toHaveLength(RESPONSE_EDGE_FUNCTIONS.length);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({
        Handler: 'index.handler',
        Runtime: 'nodejs22.x',
        Architectures: ['x86_64'],
      });
      expect(fn.Properties).not.toHaveProperty('Environment');
    }
    edgeTemplate.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: Match.arrayWith(['edgelambda.amazonaws.com']) },
          }),
        ]),
      }),
    });
    expect(Object.keys(resourcesOf(edgeTemplate, 'AWS::Lambda::Version'))).toHaveLength(1);
  });

  it('retains a replaced edge function version, which CloudFront may still be replicating', () => {
    const versions = Object.values(resourcesOf(edgeTemplate, 'AWS::Lambda::Version'));
    expect(
      versions.map((version) => [version.DeletionPolicy, version.UpdateReplacePolicy]),
    ).toEqual([['Retain', 'Retain']]);
  });

  it("keeps the edge function's own logs for storefront:logRetentionDays, at Lambda's default name", () => {
    const [edgeFunction] = Object.keys(resourcesOf(edgeTemplate, 'AWS::Lambda::Function')).filter(
      (id) => !id.includes('ReplicaLogsHandler'),
    );
    const groups = Object.values(resourcesOf(edgeTemplate, 'AWS::Logs::LogGroup'));
    expect(groups.map((group) => group.Properties)).toContainEqual({
      LogGroupName: { 'Fn::Join': ['', ['/aws/lambda/', { Ref: edgeFunction }]] },
      RetentionInDays: 90,
    });
    // Every log group of the stack expires.
    for (const group of groups) expect(group.Properties?.RetentionInDays).toBe(90);
  });

  it("keeps the replicas' logs as long, in every region, and may write no other log group there", () => {
    const [edgeFunction] = Object.keys(resourcesOf(edgeTemplate, 'AWS::Lambda::Function')).filter(
      (id) => !id.includes('ReplicaLogsHandler'),
    );
    const retention = Object.values(
      resourcesOf(edgeTemplate, 'Custom::EdgeReplicaLogRetention'),
    ).map((resource) => resource.Properties);
    expect(retention).toEqual([
      {
        ServiceToken: { 'Fn::GetAtt': [expect.stringMatching(/ReplicaLogsHandler/), 'Arn'] },
        LogGroupName: { 'Fn::Join': ['', ['/aws/lambda/us-east-1.', { Ref: edgeFunction }]] },
        RetentionInDays: '90',
      },
    ]);
    const statements = Object.values(resourcesOf(edgeTemplate, 'AWS::IAM::Policy')).flatMap(
      (policy) =>
        (policy.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] } | undefined)
          ?.Statement ?? [],
    );
    const writes = statements.find((statement) =>
      JSON.stringify(statement.Action).includes('logs:PutRetentionPolicy'),
    );
    expect(JSON.stringify(writes?.Resource)).toContain(':log-group:/aws/lambda/us-east-1.');
  });

  it('caches no error answer: an error caching minimum TTL of 0 for every code CloudFront caches, no custom page', () => {
    const distributions = Object.values(resourcesOf(template, 'AWS::CloudFront::Distribution'));
    const config = distributions[0]?.Properties?.DistributionConfig as {
      CustomErrorResponses?: Record<string, unknown>[];
    };
    expect(config.CustomErrorResponses).toEqual(
      [400, 403, 404, 405, 414, 500, 501, 502, 503, 504].map((code) => ({
        ErrorCode: code,
        ErrorCachingMinTTL: 0,
      })),
    );
  });

  it('deploys the edge stack before the storefront stack', () => {
    expect(stack.dependencies).toContain(edgeStack);
  });

  it('keeps all CloudFront takes from us-east-1 in one stack beside the storefront', () => {
    const stacks = app.node.children.filter((child): child is Stack => child instanceof Stack);
    expect(stacks.map((each) => each.stackName).sort()).toEqual([
      'TestStorefront',
      'TestStorefront-us-east-1',
    ]);
    expect(Object.keys(resourcesOf(edgeTemplate, 'AWS::WAFv2::WebACL'))).toHaveLength(1);
    // One parameter per thing the storefront reads: the edge function version, the ACL, and the
    // blocked-client IP sets (read by its sync function and the operator command).
    const parameters = Object.values(resourcesOf(edgeTemplate, 'AWS::SSM::Parameter')).map(
      (parameter) => parameter.Properties?.Name,
    );
    expect(parameters.sort()).toEqual([
      '/TestStorefront/edge/RestorePaymentChallenge',
      '/agentic-compute-storefront/TestStorefront/blocked-client-ip-sets',
      '/agentic-compute-storefront/TestStorefront/front-door-web-acl-arn',
    ]);
  });

  it('associates the challenge restorer with origin responses, which CloudFront runs on 401 and 402', () => {
    const distributions = Object.values(resourcesOf(template, 'AWS::CloudFront::Distribution'));
    expect(distributions).toHaveLength(1);
    const config = distributions[0]?.Properties?.DistributionConfig as {
      DefaultCacheBehavior: Record<string, unknown>;
    };
    const behavior = config.DefaultCacheBehavior;
    expect(behavior.LambdaFunctionAssociations).toEqual([
      { EventType: 'origin-response', LambdaFunctionARN: expect.anything() },
    ]);
    // Viewer-response functions never see a 401 or 402; none is left on the response path.
    expect(JSON.stringify(behavior.FunctionAssociations)).not.toContain('viewer-response');
  });

  it('reads the function version from us-east-1, again whenever the edge code changes', () => {
    template.hasResourceProperties('Custom::AWS', {
      Create: Match.stringLikeRegexp('"region":"us-east-1"'),
      // The physical id carries a hash of the edge code and settings: a change re-reads it.
      Update: Match.stringLikeRegexp('/edge/RestorePaymentChallenge@[0-9a-f]{16}'),
    });
  });

  it('needs no explicit region on the storefront stack, unlike cloudfront.experimental.EdgeFunction', () => {
    expect(Token.isUnresolved(stack.region)).toBe(true);
    const reader = JSON.stringify(resourcesOf(template, 'AWS::IAM::Policy'));
    expect(reader).toContain(':ssm:us-east-1:');
    expect(reader).not.toContain('arn:aws:ssm');
  });

  it('publishes only the front door URL to agents, not the execute-api one', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs)).toContain('ApiUrl');
    expect(JSON.stringify(outputs)).not.toContain('execute-api');
    expect(JSON.stringify(outputs.ApiUrl?.Value)).toContain('DomainName');
  });
});
