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

  it('are checked for availability before payment by the functions that sell them', () => {
    const zonesOf = (operationId: string) =>
      Object.values(functions)
        .map(variablesOf)
        .find((variables) => variables.OPERATION_ID === operationId)?.MACHINE_ZONES;
    for (const operationId of ['listProducts', 'validateOrder', 'createOrder', 'createMachine']) {
      expect({ operationId, zones: zonesOf(operationId) }).toEqual({
        operationId,
        zones: expect.anything(),
      });
    }
    // Health stays lean (no AWS SDK): availability is in GET /api/products.
    expect(zonesOf('health')).toBeUndefined();
    expect(zonesOf('getMachine')).toBeUndefined();
    expect(
      statements.filter((statement) =>
        [statement.Action].flat().includes('ec2:DescribeInstanceTypeOfferings'),
      ),
    ).toHaveLength(4);
  });
});
