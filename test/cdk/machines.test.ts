import { Match } from 'aws-cdk-lib/assertions';
import { resourcesOf, storefrontStack } from '../support/stack.js';

const { template } = storefrontStack();
const functions = resourcesOf(template, 'AWS::Lambda::Function');
const policies = resourcesOf(template, 'AWS::IAM::Policy');

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };
const statements = Object.values(policies).flatMap(
  (policy) =>
    (policy.Properties?.PolicyDocument as { Statement: Statement[] } | undefined)?.Statement ?? [],
);
const variablesOf = (fn: { Properties?: Record<string, unknown> }) =>
  (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
  {};

describe('leased machines', () => {
  it('can read their own tags (the lease end) through IMDSv2', () => {
    const templates = resourcesOf(template, 'AWS::EC2::LaunchTemplate');
    expect(Object.keys(templates)).toHaveLength(2);
    template.allResourcesProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: Match.objectLike({
          HttpTokens: 'required',
          InstanceMetadataTags: 'enabled',
        }),
      }),
    });
  });

  it("have their lease-end tag moved only on the stack's instances, and no other tag", () => {
    const tagging = statements.filter(
      (statement) =>
        [statement.Action].flat().includes('ec2:CreateTags') &&
        JSON.stringify(statement.Condition).includes('aws:TagKeys'),
    );
    // Only the workflow's records step (at activation, and when an extension re-arms the hold).
    expect(tagging).toHaveLength(1);
    for (const statement of tagging) {
      expect(statement.Condition).toEqual({
        StringEquals: { 'aws:ResourceTag/storefront:managed-by': 'TestStorefront' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': ['storefront:lease-ends-at'] },
      });
    }
  });

  it('are checked for availability by a watcher every minute, not by the functions that sell them', () => {
    const [watcherId, watcher] =
      Object.entries(functions).find(
        ([, fn]) => variablesOf(fn).MACHINE_ZONES !== undefined && !variablesOf(fn).OPERATION_ID,
      ) ?? [];
    expect(watcher?.Properties?.Description).toMatch(/can be launched now/);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [watcherId, 'Arn'] } })],
    });
    // Only the watcher asks EC2 and Service Quotas; no API function bundles or may call them.
    const capacityStatements = statements.filter((statement) =>
      [statement.Action].flat().includes('ec2:DescribeInstanceTypeOfferings'),
    );
    expect(capacityStatements).toHaveLength(1);
    expect(capacityStatements[0]?.Action).toEqual(
      expect.arrayContaining(['servicequotas:GetServiceQuota', 'ec2:DescribeInstances']),
    );
    for (const fn of Object.values(functions))
      if (variablesOf(fn).OPERATION_ID) expect(variablesOf(fn).MACHINE_ZONES).toBeUndefined();
  });

  it("let the watcher write its snapshots and nothing else of the table's", () => {
    const roleOf = (fn: { Properties?: Record<string, unknown> } | undefined) =>
      JSON.stringify(fn?.Properties?.Role).match(/"(\w+Role\w*)"/)?.[1] ?? '!';
    const watcher = Object.values(functions).find(
      (fn) => variablesOf(fn).MACHINE_ZONES !== undefined && !variablesOf(fn).OPERATION_ID,
    );
    const tableStatements = Object.values(policies)
      .filter((policy) => JSON.stringify(policy.Properties?.Roles).includes(roleOf(watcher)))
      .flatMap(
        (policy) =>
          (policy.Properties?.PolicyDocument as { Statement?: Statement[] } | undefined)
            ?.Statement ?? [],
      )
      .filter((statement) => [statement.Action].flat().some((a) => a.startsWith('dynamodb:')));
    expect(tableStatements).toEqual([
      expect.objectContaining({
        Action: 'dynamodb:PutItem',
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['CAPACITY#*'] } },
      }),
    ]);
  });
});
