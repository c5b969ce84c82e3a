import { Match } from 'aws-cdk-lib/assertions';
import { OPERATION_ACCESS } from '../../lambdas/runtime/operation-access.js';
import { resourcesOf, storefrontStack } from '../support/stack.js';

const { template } = storefrontStack({
  'storefront:stripeSecretName': 'storefront/stripe',
  'storefront:stripeNetworkId': 'profile_test_123',
});
// The CDK's own AwsCustomResource provider (the front door reads its us-east-1 edge function
// version with it) is the CDK's function, not one of ours: its role and runtime are the CDK's.
const ours = (resources: ReturnType<typeof resourcesOf>) =>
  Object.fromEntries(
    Object.entries(resources).filter(
      ([id]) => !id.startsWith('AWS679f53fac002430cb0da5b7982bd2287'),
    ),
  );
const functions = ours(resourcesOf(template, 'AWS::Lambda::Function'));
const policies = resourcesOf(template, 'AWS::IAM::Policy');
const roles = ours(resourcesOf(template, 'AWS::IAM::Role'));

type Statement = {
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
  Effect: string;
};
const statementsOf = (policy: { Properties?: Record<string, unknown> }) =>
  ((policy.Properties?.PolicyDocument as { Statement?: Statement[] } | undefined)?.Statement ??
    []) as Statement[];
const actionsOf = (statement: Statement) => [statement.Action].flat();
const variablesOf = (fn: { Properties?: Record<string, unknown> }) =>
  (fn.Properties?.Environment as { Variables?: Record<string, string> } | undefined)?.Variables ??
  {};
const allStatements = Object.values(policies).flatMap(statementsOf);

/** Actions AWS offers no resource-level permission for: the only ones allowed on '*'. */
const UNSCOPABLE = [
  // X-Ray tracing of functions and the state machine.
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  // EC2 Describe* calls of the workflow and the reconciler.
  'ec2:DescribeInstances',
  'ec2:DescribeCapacityReservations',
  // The availability check before payment (zone offerings, vCPUs per instance type).
  'ec2:DescribeInstanceTypeOfferings',
  'ec2:DescribeInstanceTypes',
  // A read of the account's EC2 vCPU quotas before payment; granted on '*' like the EC2 reads.
  'servicequotas:GetServiceQuota',
  // Step Functions execution logging (CloudWatch Logs vended log delivery).
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
];

describe('functions', () => {
  it('run on a supported Node.js runtime, on arm64', () => {
    // The API's, the workflow's six, the capacity watcher, the payment sweeper, the GuardDuty
    // finding function and the blocked-ranges sync (the CDK's custom-resource provider is left
    // out above).
    expect(Object.keys(functions).length).toBe(Object.keys(OPERATION_ACCESS).length + 7 + 1 + 2);
    for (const fn of Object.values(functions)) {
      expect(fn.Properties?.Runtime).toBe('nodejs24.x');
      expect(fn.Properties?.Architectures).toEqual(['arm64']);
      expect(fn.Properties?.TracingConfig).toEqual({ Mode: 'Active' });
    }
  });

  it('each have their own role with no AWS managed policy', () => {
    const lambdaRoles = Object.values(roles).filter((role) =>
      JSON.stringify(role.Properties?.AssumeRolePolicyDocument).includes('lambda.amazonaws.com'),
    );
    expect(lambdaRoles).toHaveLength(Object.keys(functions).length);
    for (const role of lambdaRoles) expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
  });
});

describe('IAM', () => {
  it('grants no wildcard action anywhere', () => {
    for (const statement of allStatements) {
      for (const action of actionsOf(statement)) expect(action).not.toMatch(/\*/);
    }
  });

  it("uses '*' resources only for actions AWS cannot scope", () => {
    const starred = allStatements.filter((statement) => [statement.Resource].flat().includes('*'));
    expect(starred.length).toBeGreaterThan(0);
    for (const statement of starred) {
      for (const action of actionsOf(statement)) expect(UNSCOPABLE).toContain(action);
    }
  });

  it('scopes every API function to the table actions and key prefixes it is listed for', () => {
    for (const [operationId, access] of Object.entries(OPERATION_ACCESS)) {
      const [logicalId] =
        Object.entries(functions).find(([, fn]) => variablesOf(fn).OPERATION_ID === operationId) ??
        [];
      const roleId = JSON.stringify(functions[logicalId ?? '']?.Properties?.Role).match(
        /"(\w+Role\w*)"/,
      )?.[1];
      const statements = Object.values(policies)
        .filter((policy) => JSON.stringify(policy.Properties?.Roles).includes(roleId ?? '!'))
        .flatMap(statementsOf);
      const capacityReads = {
        Action: 'dynamodb:GetItem',
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['CAPACITY#*'] } },
      };
      const isCapacityRead = (statement: Statement) =>
        JSON.stringify(statement.Condition) === JSON.stringify(capacityReads.Condition);
      // Reading the capacity watcher's snapshots is a statement of its own: GetItem, CAPACITY# only.
      expect({
        operationId,
        capacityReads: statements
          .filter(isCapacityRead)
          .map(({ Action, Condition }) => ({ Action, Condition })),
      }).toEqual({ operationId, capacityReads: access.capacitySnapshots ? [capacityReads] : [] });
      // Screening buyers (blocks, live leases per key) is three statements of their own: GetItem
      // and Query on BLOCK# only, Query of the live-leases-by-key index's LIVEKEY# partitions
      // only, and Query of the live-leases index's LIVE partition only (the count's fallback
      // while DynamoDB builds the first).
      const blockReads = {
        Action: ['dynamodb:GetItem', 'dynamodb:Query'],
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['BLOCK#*'] } },
      };
      const liveLeaseQuery = {
        Action: 'dynamodb:Query',
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['LIVEKEY#*'] } },
      };
      const fallbackQuery = {
        Action: 'dynamodb:Query',
        Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['LIVE'] } },
      };
      const isScreening = (statement: Statement) =>
        [blockReads, liveLeaseQuery, fallbackQuery].some(
          (expected) => JSON.stringify(statement.Condition) === JSON.stringify(expected.Condition),
        );
      expect({
        operationId,
        screening: statements.filter(isScreening).map(({ Action, Condition, Resource }) => ({
          Action,
          Condition,
          index: /\/index\/live-leases(-by-key)?"/.exec(JSON.stringify(Resource))?.[0] ?? null,
        })),
      }).toEqual({
        operationId,
        screening: access.blocks
          ? [
              { ...blockReads, index: null },
              { ...liveLeaseQuery, index: '/index/live-leases-by-key"' },
              { ...fallbackQuery, index: '/index/live-leases"' },
            ]
          : [],
      });
      const tableStatements = statements.filter(
        (statement) =>
          actionsOf(statement).some((a) => a.startsWith('dynamodb:')) &&
          !isCapacityRead(statement) &&
          !isScreening(statement),
      );
      if (!access.table) {
        expect({ operationId, tableStatements }).toEqual({ operationId, tableStatements: [] });
        continue;
      }
      expect(tableStatements).toHaveLength(1);
      expect(actionsOf(tableStatements[0] as Statement).sort()).toEqual(
        access.table.actions.map((a) => `dynamodb:${a}`).sort(),
      );
      expect(tableStatements[0]?.Condition).toEqual({
        'ForAllValues:StringLike': {
          'dynamodb:LeadingKeys': access.table.keyPrefixes.map((prefix) => `${prefix}*`),
        },
      });
      const readsSecret = (name: string) =>
        statements.some(
          (s) =>
            actionsOf(s).includes('secretsmanager:GetSecretValue') &&
            JSON.stringify(s.Resource).includes(name),
        );
      expect(readsSecret('StorefrontSecret')).toBe(access.secrets.includes('storefront'));
      expect(readsSecret('storefront/stripe')).toBe(access.takesPayments === true);
    }
  });

  it("lets the workflow terminate only instances tagged as the storefront's", () => {
    const terminations = allStatements.filter((statement) =>
      actionsOf(statement).includes('ec2:TerminateInstances'),
    );
    expect(terminations.length).toBeGreaterThanOrEqual(3);
    for (const statement of terminations) {
      expect(statement.Condition).toEqual({
        StringEquals: { 'ec2:ResourceTag/storefront:managed-by': 'TestStorefront' },
      });
    }
    const launches = allStatements.filter(
      (statement) =>
        actionsOf(statement).includes('ec2:RunInstances') &&
        JSON.stringify(statement.Resource).includes('instance/*'),
    );
    expect(launches).toHaveLength(1);
    expect(launches[0]?.Condition).toEqual({
      StringEquals: { 'aws:RequestTag/storefront:managed-by': 'TestStorefront' },
    });
  });
});

describe('the table', () => {
  it('uses the shared key design, TTL, PITR and on-demand billing, and is retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'expires_at_epoch', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        GlobalSecondaryIndexes: [
          Match.objectLike({ IndexName: 'live-leases' }),
          Match.objectLike({ IndexName: 'sweep', Projection: { ProjectionType: 'KEYS_ONLY' } }),
          Match.objectLike({
            IndexName: 'live-leases-by-key',
            KeySchema: [
              { AttributeName: 'key_live_pk', KeyType: 'HASH' },
              { AttributeName: 'key_live_sk', KeyType: 'RANGE' },
            ],
            Projection: {
              ProjectionType: 'INCLUDE',
              NonKeyAttributes: ['machine_id', 'product_id'],
            },
          }),
        ],
      }),
    });
  });

  it('can be made disposable for test stages', () => {
    const disposable = storefrontStack({
      'storefront:testPayments': true,
      'storefront:removalPolicy': 'destroy',
    });
    disposable.template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });
});

describe('secrets', () => {
  it('are generated or referenced, never written into the template or the environment', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ PasswordLength: 64 }),
    });
    const secrets = resourcesOf(template, 'AWS::SecretsManager::Secret');
    // The storefront secret and the front door's origin secret (lib/origin-guard.ts).
    expect(Object.keys(secrets)).toHaveLength(2);
    for (const secret of Object.values(secrets)) {
      expect(secret.Properties?.SecretString).toBeUndefined();
      expect(secret.Properties?.GenerateSecretString).toBeDefined();
    }
    for (const fn of Object.values(functions)) {
      const variables = variablesOf(fn);
      for (const [name, value] of Object.entries(variables)) {
        if (/SECRET|KEY|TOKEN|PASSWORD/.test(name))
          expect({ name, arn: name.endsWith('_ARN') }).toEqual({ name, arn: true });
        expect(JSON.stringify(value)).not.toMatch(/sk_(live|test)_/);
      }
    }
  });

  it('keeps test payments off unless asked, and says so when they are on', () => {
    for (const fn of Object.values(functions)) {
      const variables = variablesOf(fn);
      if ('TEST_PAYMENTS' in variables) expect(variables.TEST_PAYMENTS).toBe('disabled');
    }
    const withTest = storefrontStack({ 'storefront:testPayments': true });
    const warnings = withTest.stack.node.metadata.filter(
      (entry) => entry.type === 'aws:cdk:warning',
    );
    expect(JSON.stringify(warnings)).toContain('takes no money');
  });
});
