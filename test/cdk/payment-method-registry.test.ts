import { jest } from '@jest/globals';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { testMethod } from '../../lambdas/adapters/payments/test-method.js';
import { resolveIntrinsics } from '../../lambdas/local/cloudformation-intrinsics.js';
import { TEMPO_SIGNER_ARN, tempoMethod, tempoSeen } from '../support/tempo-method.js';

/**
 * A payment method is its module and its line in the registry: with the registry holding the
 * test method and a test-only third method (`tempo`, test/support/tempo-method.ts) instead of
 * Stripe, the synthesised stack gives tempo its secret, variables and grants exactly where a
 * method's are due, Stripe leaves no trace, and the functions build tempo from what the
 * template gives them. Nothing outside the registry was changed for it.
 */
jest.unstable_mockModule('../../lambdas/adapters/payments/payment-methods.js', () => ({
  PAYMENT_METHODS: [tempoMethod, testMethod],
}));
const { cdkJsonContext, ConfigError, readConfig } = await import('../../lib/config.js');
const { StorefrontStack } = await import('../../lib/storefront-stack.js');
const { PaymentMethodWiring } = await import('../../lib/payment-method-wiring.js');
const { mppxPayments } = await import('../../lambdas/runtime/parts/mppx-payments.js');
const { methodRefunds } = await import('../../lambdas/runtime/parts/method-refunds.js');
const { checkPaymentSecrets } = await import('../../bin/preflight-checks.js');

/** cdk.json's context without Stripe's keys: a method's defaults leave with its module. */
const context = {
  ...Object.fromEntries(
    Object.entries(cdkJsonContext()).filter(([key]) => !key.startsWith('storefront:stripe')),
  ),
  'storefront:tempoSignerSecretName': 'storefront/tempo',
  'storefront:tempoRpcUrl': 'https://rpc.tempo.example',
};
const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
const config = readConfig(context);
const stack = new StorefrontStack(app, 'RegistryStorefront', { config });
const template = Template.fromStack(stack).toJSON() as {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
};

type Statement = { Action: string | string[]; Resource: unknown };
const resources = Object.entries(template.Resources);
const policiesOf = (roleId: string): Statement[] =>
  resources
    .filter(([, resource]) => resource.Type === 'AWS::IAM::Policy')
    .filter(([, resource]) => JSON.stringify(resource.Properties?.Roles).includes(`"${roleId}"`))
    .flatMap(
      ([, resource]) =>
        (resource.Properties?.PolicyDocument as { Statement?: Statement[] } | undefined)
          ?.Statement ?? [],
    );
const actionsOf = (statement: Statement) =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

/** Every function of the stack: its name (operation or construct), variables and statements. */
const functions = resources
  .filter(([id, resource]) => resource.Type === 'AWS::Lambda::Function' && !id.startsWith('AWS'))
  .map(([id, resource]) => {
    const variables = ((resource.Properties?.Environment as { Variables?: Record<string, unknown> })
      ?.Variables ?? {}) as Record<string, unknown>;
    const role =
      (resource.Properties?.Role as { 'Fn::GetAtt'?: [string, string] } | undefined)?.[
        'Fn::GetAtt'
      ]?.[0] ?? '';
    const name =
      typeof variables.OPERATION_ID === 'string'
        ? variables.OPERATION_ID
        : (id.match(/^LeaseWorkflow(\w+?)[0-9A-F]{8}$/)?.[1] ?? id);
    return { id, name, variables, statements: policiesOf(role) };
  });
const named = (name: string) => {
  const found = functions.find((fn) => fn.name === name);
  if (!found) throw new Error(`no function ${name} in ${functions.map((fn) => fn.name)}`);
  return found;
};
const readsTempoSecret = (statements: Statement[]) =>
  statements.some(
    (statement) =>
      actionsOf(statement).includes('secretsmanager:GetSecretValue') &&
      JSON.stringify(statement.Resource).includes('storefront/tempo'),
  );
const signs = (statements: Statement[]) =>
  statements.some(
    (statement) =>
      actionsOf(statement).includes('kms:Sign') &&
      JSON.stringify(statement.Resource).includes(TEMPO_SIGNER_ARN),
  );

const CHARGING = ['createOrder', 'extendMachine', 'sweepPayments'];
const REFUNDING = ['RefundLease', 'CleanupLease', 'ReconcileFleet'];

describe('a payment method added by its module and one registry line', () => {
  it('takes its keys into the configuration, with its own checks', () => {
    expect(config).toMatchObject({ tempoSignerSecretName: 'storefront/tempo' });
    expect(() => readConfig({ ...context, 'storefront:tempoRpcUrl': undefined })).toThrow(
      /storefront:tempoSignerSecretName needs storefront:tempoRpcUrl/,
    );
    // The no-money method beside it needs the operator's word that tempo is a testnet.
    expect(() => readConfig({ ...context, 'storefront:testPayments': true })).toThrow(
      /storefront:testPayments cannot be on beside Tempo unless storefront:tempoTestnet=true/,
    );
    expect(() => readConfig({ ...context, 'storefront:stripeNetworkId': 'profile_1' })).toThrow(
      ConfigError,
    );
  });

  it('tells every function the accepted methods, and only the paying and refunding ones its settings', () => {
    for (const fn of functions.filter((candidate) => 'PAYMENT_METHODS' in candidate.variables)) {
      expect(JSON.parse(String(fn.variables.PAYMENT_METHODS))).toEqual([
        { key: 'tempo/charge', name: 'tempo', minimumChargeCents: 1 },
      ]);
    }
    for (const name of [...CHARGING, ...REFUNDING]) {
      const fn = named(name);
      expect({ name, url: fn.variables.TEMPO_RPC_URL }).toEqual({
        name,
        url: 'https://rpc.tempo.example',
      });
      expect({ name, arn: JSON.stringify(fn.variables.TEMPO_SIGNER_SECRET_ARN) }).toEqual({
        name,
        arn: expect.stringContaining('storefront/tempo'),
      });
      expect({ name, reads: readsTempoSecret(fn.statements), signs: signs(fn.statements) }).toEqual(
        { name, reads: true, signs: true },
      );
    }
    const others = functions.filter((fn) => ![...CHARGING, ...REFUNDING].includes(fn.name));
    expect(others.map((fn) => fn.name)).toEqual(
      expect.arrayContaining(['health', 'getDiscoveryDocument', 'validateOrder', 'LaunchInstance']),
    );
    for (const fn of others) {
      expect({
        name: fn.name,
        variables: Object.keys(fn.variables).filter((v) => v.startsWith('TEMPO_')),
      }).toEqual({ name: fn.name, variables: [] });
      expect({
        name: fn.name,
        reads: readsTempoSecret(fn.statements),
        signs: signs(fn.statements),
      }).toEqual({ name: fn.name, reads: false, signs: false });
    }
  });

  it('is refused to a function that could not reach its provider', () => {
    const wiring = stack.node.findChild('PaymentMethods') as InstanceType<
      typeof PaymentMethodWiring
    >;
    expect(wiring.methods.map((method) => method.facts.name)).toEqual(['tempo']);
    expect(() =>
      wiring.grant({ isBoundToVpc: true, node: { path: 'InVpc' } } as never, 'charge'),
    ).toThrow(/payment method tempo calls rpc\.tempo\.example:443, which InVpc cannot reach/);
  });

  it('leaves no trace of a method the registry no longer lists', () => {
    const text = JSON.stringify(template);
    expect(text).not.toMatch(/stripe/i);
    expect(
      functions
        .flatMap((fn) => Object.keys(fn.variables))
        .filter((v) => v.startsWith('STRIPE_') || v === 'TEST_PAYMENTS'),
    ).toEqual([]);
  });

  it('is built by the paying and refunding functions from the variables the template gives them', async () => {
    const resolved = (name: string) =>
      resolveIntrinsics(named(name).variables, {
        ref: (logicalId) => `local-${logicalId}`,
        arn: (logicalId) => `arn:aws:lambda:us-east-1:000000000000:function:${logicalId}`,
      }) as Record<string, string>;
    const env = resolved('createOrder');
    const [arn] = mppxPayments.secretArns(env);
    expect(arn).toContain('storefront/tempo');
    const { payments } = mppxPayments.build({
      config: { MPP_REALM: 'shop.example', TABLE_NAME: 'table', PRODUCT_CATALOG: '{}' } as never,
      env,
      keys: { mppSecretKey: 'k'.repeat(32) } as never,
      secretValue: (asked) => (asked === arn ? '0xsigner' : undefined),
      db: {} as never,
      clock: { now: () => new Date() },
      clients: {},
    });
    expect(payments.methods).toEqual(['tempo/charge']);
    expect(tempoSeen.charging).toEqual({
      environment: { TEMPO_RPC_URL: 'https://rpc.tempo.example' },
      secrets: { signerKey: '0xsigner' },
    });
    const refundEnv = resolved('RefundLease');
    const secretsManager = {
      send: async (command: { input: { SecretId: string } }) => ({
        SecretString: command.input.SecretId.includes('storefront/tempo') ? '0xsigner' : 'other',
      }),
    };
    const refunds = await methodRefunds({
      env: refundEnv,
      clients: { secretsManager },
      clock: { now: () => new Date() },
    });
    expect(tempoSeen.refunding).toEqual({
      environment: { TEMPO_RPC_URL: 'https://rpc.tempo.example' },
      secrets: { signerKey: '0xsigner' },
    });
    await expect(
      refunds.refund({
        payment: { method: 'tempo', reference: '0xabc' } as never,
        amountCents: 100,
        idempotencyKey: 'refund-1',
        reason: 'lease failed',
      }),
    ).resolves.toMatchObject({ status: 'refunded', reference: 'tempo_refund-1' });
  });

  it('has its secret checked before a deploy, saying what it holds', async () => {
    const secrets = {
      send: async () => {
        throw Object.assign(new Error('gone'), { name: 'ResourceNotFoundException' });
      },
    };
    const results = await checkPaymentSecrets({ secrets } as never, config);
    expect(results).toEqual([
      {
        check: 'payment secret',
        outcome: 'blocker',
        message: expect.stringContaining(
          'aws secretsmanager create-secret --name storefront/tempo --secret-string 0x…',
        ),
      },
    ]);
  });
});
