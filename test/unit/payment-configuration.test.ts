import { Store } from 'mppx';
import { MppxPaymentGateway } from '../../lambdas/adapters/payments/mppx-gateway.js';
import { METHOD_FACTS, PAYMENT_METHODS } from '../../lambdas/adapters/payments/payment-methods.js';
import { resolveCatalog } from '../../lambdas/core/catalog.js';

const gateway = (overrides: Partial<ConstructorParameters<typeof MppxPaymentGateway>[0]>) =>
  new MppxPaymentGateway({
    secretKey: 'k'.repeat(32),
    realm: 'storefront.example',
    testPayments: false,
    replayStore: Store.memory(),
    ...overrides,
  });
const stripe = (secretKey: string) => ({
  secretKey,
  networkId: 'profile_123',
  paymentMethodTypes: ['card'],
});

describe('payment methods that would take money they should not', () => {
  it('refuses to start the test method beside a live Stripe key', () => {
    for (const key of ['sk_live_abc', 'rk_live_abc']) {
      expect(() => gateway({ testPayments: true, stripe: stripe(key) })).toThrow(
        /test payments are on beside a live Stripe key/,
      );
    }
    expect(gateway({ testPayments: true, stripe: stripe('sk_test_abc') }).methods).toEqual([
      'stripe/charge',
      'test/charge',
    ]);
    expect(gateway({ stripe: stripe('sk_live_abc') }).methods).toEqual(['stripe/charge']);
  });

  it('refuses to start with a catalog priced below what its methods can charge', () => {
    const cheap = resolveCatalog({ 'bare-linux-machine': { baseFeeCents: 0, centsPerMinute: 1 } });
    expect(() => gateway({ stripe: stripe('sk_test_abc'), catalog: cheap })).toThrow(
      /bare-linux-machine costs 0\.15 USD .* below the 0\.50 USD/,
    );
    // The test method takes any amount, so the same catalog is payable with it.
    expect(gateway({ testPayments: true, catalog: cheap }).minimumChargeCents).toBe(1);
  });
});

describe('the payment method registry', () => {
  it('lists the same methods, in the same order, as facts and as methods', () => {
    expect(PAYMENT_METHODS.map((method) => method.facts)).toEqual(METHOD_FACTS);
    expect(new Set(METHOD_FACTS.map((method) => method.name)).size).toBe(METHOD_FACTS.length);
    for (const method of METHOD_FACTS) expect(method.key).toBe(`${method.name}/charge`);
  });
});
