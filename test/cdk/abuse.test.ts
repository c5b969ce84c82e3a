import { Match, Template } from 'aws-cdk-lib/assertions';
import { DEFAULT_FINDING_POLICY } from '../../lambdas/core/abuse-findings.js';
import { cdkJsonContext, readConfig } from '../../lib/config.js';
import type { UsEast1Stack } from '../../lib/us-east-1-stack.js';
import { resourcesOf, storefrontStack } from '../support/stack.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are read loosely
type Loose = Record<string, any>;

const functionWith = (template: Template, entryVariable: string) => {
  const found = Object.entries(resourcesOf(template, 'AWS::Lambda::Function')).find(
    ([, fn]) => (fn.Properties as Loose)?.Environment?.Variables?.[entryVariable] !== undefined,
  );
  if (!found) throw new Error(`no function has ${entryVariable}`);
  return { id: found[0], properties: found[1].Properties as Loose };
};

/** The statements of the policies attached to one function's role. */
const statementsOf = (template: Template, functionId: string): Loose[] => {
  const fn = resourcesOf(template, 'AWS::Lambda::Function')[functionId] as Loose;
  const role = fn.Properties.Role['Fn::GetAtt'][0];
  return Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
    .filter((policy) => (policy.Properties as Loose).Roles.some((ref: Loose) => ref.Ref === role))
    .flatMap((policy) => (policy.Properties as Loose).PolicyDocument.Statement);
};
const actionsOf = (statement: Loose): string[] => [statement.Action].flat();

describe('GuardDuty findings on AWS', () => {
  const { template } = storefrontStack({ 'storefront:testPayments': true });
  const finding = functionWith(template, 'FINDING_TYPE_PREFIXES');

  it("keeps cdk.json's default selection equal to the documented DEFAULT_FINDING_POLICY", () => {
    const { abuseFindings } = readConfig(cdkJsonContext());
    expect(abuseFindings).toEqual({
      types: DEFAULT_FINDING_POLICY.typePrefixes,
      minSeverity: DEFAULT_FINDING_POLICY.minSeverity,
    });
  });

  it('routes instance findings of the configured types and severities to the function', () => {
    const rules = Object.values(resourcesOf(template, 'AWS::Events::Rule')).filter(
      (rule) => (rule.Properties as Loose).EventPattern?.source?.[0] === 'aws.guardduty',
    );
    expect(rules).toHaveLength(1);
    const rule = rules[0]?.Properties as Loose;
    expect(rule.EventPattern).toEqual({
      source: ['aws.guardduty'],
      'detail-type': ['GuardDuty Finding'],
      detail: {
        type: DEFAULT_FINDING_POLICY.typePrefixes.map((prefix) => ({ prefix })),
        severity: [{ numeric: ['>=', 4] }],
        resource: { resourceType: ['Instance'] },
      },
    });
    const [target] = rule.Targets;
    expect(target.Arn).toEqual({ 'Fn::GetAtt': [finding.id, 'Arn'] });
    // Delivery failures are retried for a day, then kept in the dead-letter queue.
    expect(target.RetryPolicy).toEqual({
      MaximumEventAgeInSeconds: 86_400,
      MaximumRetryAttempts: 185,
    });
    expect(target.DeadLetterConfig.Arn['Fn::GetAtt'][0]).toMatch(/AbuseFindingsDeadLetters/);
  });

  it('gives the function the same selection, the policy URL parameter and the workflow', () => {
    const variables = finding.properties.Environment.Variables;
    expect(JSON.parse(variables.FINDING_TYPE_PREFIXES)).toEqual(
      DEFAULT_FINDING_POLICY.typePrefixes,
    );
    expect(variables.FINDING_MIN_SEVERITY).toBe('4');
    expect(Object.keys(variables)).toEqual(
      expect.arrayContaining([
        'TABLE_NAME',
        'STATE_MACHINE_ARN',
        'PUBLIC_URL_PARAMETER',
        'MANAGED_BY',
      ]),
    );
  });

  it('sends a finding the function kept failing on to the dead-letter queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: finding.id },
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: {
          Destination: {
            'Fn::GetAtt': [Match.stringLikeRegexp('AbuseFindingsDeadLetters'), 'Arn'],
          },
        },
      },
    });
  });

  it('grants it only its items: read lease and order, end the lease, put a block, wake the workflow', () => {
    const statements = statementsOf(template, finding.id);
    const dynamo = statements.filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('dynamodb:')),
    );
    const grants = dynamo.map((statement) => [
      actionsOf(statement).sort(),
      statement.Condition['ForAllValues:StringLike']['dynamodb:LeadingKeys'],
    ]);
    expect(grants).toEqual(
      expect.arrayContaining([
        [['dynamodb:GetItem'], ['ORDER#*', 'MACHINE#*']],
        [['dynamodb:UpdateItem'], ['MACHINE#*']],
        [['dynamodb:PutItem'], ['BLOCK#*']],
      ]),
    );
    expect(dynamo).toHaveLength(3);
    const all = statements.flatMap(actionsOf);
    expect(all).toContain('states:SendTaskSuccess');
    expect(all).not.toContain('states:StartExecution');
    expect(all.filter((action) => /dynamodb:(Scan|DeleteItem|Query)/.test(action))).toEqual([]);
  });

  it('raises alarms on the alarm topic: a finding acted on, and one left in the dead-letter queue', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'AbuseFindingsActedOn',
      Namespace: 'AgenticComputeStorefront',
      Threshold: 0,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('MonitoringAlarms') }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('MonitoringAlarms') }],
    });
  });

  it('uses the existing detector by default and creates one only when told to', () => {
    expect(resourcesOf(template, 'AWS::GuardDuty::Detector')).toEqual({});
    const created = storefrontStack({
      'storefront:testPayments': true,
      'storefront:guardDutyDetector': 'create',
    }).template;
    const [detector] = Object.values(resourcesOf(created, 'AWS::GuardDuty::Detector'));
    expect(detector?.Properties).toMatchObject({ Enable: true });
    expect(detector?.DeletionPolicy).toBe('Retain');
    // Foundational detection only: each paid protection plan is off.
    expect(
      (detector?.Properties as Loose)?.Features.every(
        (feature: Loose) => feature.Status === 'DISABLED',
      ),
    ).toBe(true);
  });

  it('passes a configured selection to the rule and the function alike', () => {
    const custom = storefrontStack({
      'storefront:testPayments': true,
      'storefront:abuseFindings': { types: ['CryptoCurrency:EC2/'], minSeverity: 7 },
    }).template;
    const rule = Object.values(resourcesOf(custom, 'AWS::Events::Rule')).find(
      (candidate) => (candidate.Properties as Loose).EventPattern?.source?.[0] === 'aws.guardduty',
    )?.Properties as Loose;
    expect(rule.EventPattern.detail.type).toEqual([{ prefix: 'CryptoCurrency:EC2/' }]);
    expect(rule.EventPattern.detail.severity).toEqual([{ numeric: ['>=', 7] }]);
    const variables = functionWith(custom, 'FINDING_TYPE_PREFIXES').properties.Environment
      .Variables;
    expect(variables.FINDING_TYPE_PREFIXES).toBe('["CryptoCurrency:EC2/"]');
    expect(variables.FINDING_MIN_SEVERITY).toBe('7');
  });
});

describe('client-range blocks in the front door', () => {
  const built = storefrontStack({ 'storefront:testPayments': true });
  const { template } = built;
  const aclTemplate = Template.fromStack(
    built.app.node.findChild('TestStorefront-us-east-1') as UsEast1Stack,
  );
  const acl = Object.values(resourcesOf(aclTemplate, 'AWS::WAFv2::WebACL'))[0]?.Properties as Loose;
  const ipSets = resourcesOf(aclTemplate, 'AWS::WAFv2::IPSet');

  it('keeps one empty CLOUDFRONT IP set per address family', () => {
    const sets = Object.values(ipSets).map((set) => set.Properties as Loose);
    expect(sets.map((set) => set.IPAddressVersion).sort()).toEqual(['IPV4', 'IPV6']);
    for (const set of sets) {
      expect(set).toMatchObject({ Scope: 'CLOUDFRONT', Addresses: [] });
      expect(set.Name).toMatch(/^TestStorefront-blocked-clients-ipv[46]$/);
    }
  });

  it('refuses both sets first, with a 403 { error } naming the policy, except on the policy page and for requests with a credential or token', () => {
    const rule = (acl.Rules as Loose[]).find((candidate) => candidate.Name === 'blocked-clients');
    expect(rule?.Priority).toBe(0);
    expect(
      Math.min(...(acl.Rules as Loose[]).filter((r) => r !== rule).map((r) => r.Priority)),
    ).toBe(1);
    const [either, notPolicy, notCarryingCredential] = (rule as Loose).Statement.AndStatement
      .Statements;
    expect(
      either.OrStatement.Statements.map(
        (s: Loose) => s.IPSetReferenceStatement.Arn['Fn::GetAtt'][0],
      ).sort(),
    ).toEqual(Object.keys(ipSets).sort());
    expect(notPolicy.NotStatement.Statement.ByteMatchStatement).toMatchObject({
      SearchString: '/acceptable-use',
      PositionalConstraint: 'EXACTLY',
    });
    // A paid order's retry and a lease's own requests reach the API, which checks blocks itself.
    expect(
      notCarryingCredential.NotStatement.Statement.OrStatement.Statements.map((s: Loose) => ({
        header: s.SizeConstraintStatement.FieldToMatch.SingleHeader.Name,
        operator: s.SizeConstraintStatement.ComparisonOperator,
        size: s.SizeConstraintStatement.Size,
      })),
    ).toEqual([
      { header: 'authorization', operator: 'GT', size: 0 },
      { header: 'payment-authorization', operator: 'GT', size: 0 },
    ]);
    const response = rule?.Action.Block.CustomResponse;
    expect(response.ResponseCode).toBe(403);
    const body = acl.CustomResponseBodies[response.CustomResponseBodyKey];
    expect(body.ContentType).toBe('APPLICATION_JSON');
    expect(JSON.parse(body.Content).error).toMatch(/acceptable-use policy.*\/acceptable-use$/);
  });

  it('names the policy by its absolute URL where a custom domain is configured', () => {
    const withDomain = storefrontStack({
      'storefront:testPayments': true,
      'storefront:domainName': 'compute.example.com',
      'storefront:certificateArn': 'arn:aws:acm:us-east-1:123456789012:certificate/abc',
    });
    const aclWithDomain = Object.values(
      resourcesOf(
        Template.fromStack(
          withDomain.app.node.findChild('TestStorefront-us-east-1') as UsEast1Stack,
        ),
        'AWS::WAFv2::WebACL',
      ),
    )[0]?.Properties as Loose;
    expect(aclWithDomain.CustomResponseBodies['blocked-client'].Content).toContain(
      'https://compute.example.com/acceptable-use',
    );
  });

  it('syncs every minute, allowed to read blocks and to get and update those two sets only', () => {
    const sync = functionWith(template, 'BLOCKED_IP_SETS_PARAMETER');
    expect(sync.properties.Environment.Variables.IP_SETS_REGION).toBe('us-east-1');
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [sync.id, 'Arn'] } })],
    });
    const statements = statementsOf(template, sync.id);
    const waf = statements.find((statement) => actionsOf(statement).includes('wafv2:UpdateIPSet'));
    expect(actionsOf(waf ?? {}).sort()).toEqual(['wafv2:GetIPSet', 'wafv2:UpdateIPSet']);
    const resources = JSON.stringify(waf?.Resource);
    expect(resources).toContain(':wafv2:us-east-1:');
    expect(resources).toContain('global/ipset/TestStorefront-blocked-clients-ipv4/*');
    expect(resources).toContain('global/ipset/TestStorefront-blocked-clients-ipv6/*');
    const dynamo = statements.filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('dynamodb:')),
    );
    expect(dynamo.map((statement) => actionsOf(statement))).toEqual([['dynamodb:Query']]);
    expect(dynamo[0]?.Condition['ForAllValues:StringLike']['dynamodb:LeadingKeys']).toEqual([
      'BLOCK#*',
    ]);
  });

  it('publishes where the IP sets are for the operator command', () => {
    template.hasOutput('BlockedIpSetsParameter', {
      Value: '/agentic-compute-storefront/TestStorefront/blocked-client-ip-sets',
    });
  });
});
