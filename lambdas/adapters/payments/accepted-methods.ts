/** The MPP methods a storefront accepts, in the order offered, and what they can charge. */
export type MethodKey = 'stripe/charge' | 'test/charge';

/** Stripe refuses card charges below 50 cents. */
export const STRIPE_MINIMUM_CENTS = 50;

export function acceptedMethods(config: { stripe: boolean; testPayments: boolean }): MethodKey[] {
  return [
    ...(config.stripe ? (['stripe/charge'] as const) : []),
    ...(config.testPayments ? (['test/charge'] as const) : []),
  ];
}

/** The smallest amount every accepted method can take: the test method takes any amount. */
export const minimumChargeCents = (methods: readonly MethodKey[]) =>
  methods.includes('test/charge') ? 1 : STRIPE_MINIMUM_CENTS;
