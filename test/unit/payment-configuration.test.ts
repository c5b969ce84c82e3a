import { Store } from 'mppx';
import {
  type ConfiguredMethod,
  MppxPaymentGateway,
} from '../../lambdas/adapters/payments/mppx-gateway.js';
import { PAYMENT_METHODS } from '../../lambdas/adapters/payments/payment-methods.js';
import { stripeMethod } from '../../lambdas/adapters/payments/stripe-method.js';
import { testMethod } from '../../lambdas/adapters/payments/test-method.js';
import { resolveCatalog } from '../../lambdas/core/catalog.js';

const gateway = (
  methods: ConfiguredMethod[],
  overrides: Partial<ConstructorParameters<typeof MppxPaymentGateway>[0]> = {},
) =>
  new MppxPaymentGateway({
    methods,
    secretKey: 'k'.repeat(32),
    realm: 'storefront.example',
    replayStore: Store.memory(),
    ...overrides,
  });
const stripe = (secretKey: string): ConfiguredMethod => ({
  method: stripeMethod,
  environment: { STRIPE_NETWORK_ID: 'profile_123', STRIPE_PAYMENT_METHOD_TYPES: 'card' },
  secrets: { secretKey },
});
const test: ConfiguredMethod = {
  method: testMethod,
  environment: { TEST_PAYMENTS: 'enabled' },
  secrets: {},
};

describe('payment methods that would take money they should not', () => {
  it('refuses to start the test method beside a live Stripe key', () => {
    for (const key of ['sk_live_abc', 'rk_live_abc']) {
      expect(() => gateway([stripe(key), test])).toThrow(
        /test payments are on beside a live stripe key/,
      );
    }
    expect(gateway([stripe('sk_test_abc'), test]).methods).toEqual([
      'stripe/charge',
      'test/charge',
    ]);
    expect(gateway([stripe('sk_live_abc')]).methods).toEqual(['stripe/charge']);
  });

  it('refuses to start with no method at all', () => {
    expect(() => gateway([])).toThrow(/no payment method is configured/);
  });

  it('refuses to start with a catalog priced below what its methods can charge', () => {
    const cheap = resolveCatalog({ 'bare-linux-machine': { baseFeeCents: 0, centsPerMinute: 1 } });
    expect(() => gateway([stripe('sk_test_abc')], { catalog: cheap })).toThrow(
      /bare-linux-machine costs 0\.15 USD .* below the 0\.50 USD/,
    );
    // The test method takes any amount, so the same catalog is payable with it.
    expect(gateway([test], { catalog: cheap }).minimumChargeCents).toBe(1);
  });
});

describe('the payment method registry', () => {
  it('names each method once, offers it as name/charge, and gives each key and variable one owner', () => {
    const names = PAYMENT_METHODS.map((method) => method.facts.name);
    expect(new Set(names).size).toBe(names.length);
    for (const method of PAYMENT_METHODS)
      expect(method.facts.key).toBe(`${method.facts.name}/charge`);
    const keys = PAYMENT_METHODS.flatMap((method) => Object.keys(method.context));
    expect(new Set(keys).size).toBe(keys.length);
    const variables = PAYMENT_METHODS.flatMap((method) => [
      ...Object.keys(method.environment),
      ...Object.values(method.secrets).map((secret) => secret.arnVariable),
    ]);
    expect(new Set(variables).size).toBe(variables.length);
  });

  it('declares every secret by a key of its own method, and never a value in a variable', () => {
    for (const method of PAYMENT_METHODS) {
      for (const secret of Object.values(method.secrets)) {
        expect(Object.keys(method.context)).toContain(secret.nameKey);
        expect(secret.arnVariable).toMatch(/_ARN$/);
      }
      for (const variable of Object.keys(method.environment))
        expect(variable).not.toMatch(/SECRET|KEY|TOKEN|PASSWORD/);
    }
  });
});
