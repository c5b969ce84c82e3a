/** The MPP methods a storefront accepts, in the order offered, and what they can charge. */
export type MethodKey = 'stripe/charge' | 'test/charge';

/**
 * The smallest charge of each method. Stripe's card minimum for USD is 50 cents
 * (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts; mppx's Stripe
 * method refuses to offer less); the test method moves no money and takes any amount.
 */
export const METHOD_MINIMUM_CENTS: Record<MethodKey, number> = {
  'stripe/charge': 50,
  'test/charge': 1,
};

/** Stripe refuses card charges below 50 cents. */
export const STRIPE_MINIMUM_CENTS = METHOD_MINIMUM_CENTS['stripe/charge'];

export function acceptedMethods(config: { stripe: boolean; testPayments: boolean }): MethodKey[] {
  return [
    ...(config.stripe ? (['stripe/charge'] as const) : []),
    ...(config.testPayments ? (['test/charge'] as const) : []),
  ];
}

/**
 * The smallest amount some accepted method can take (the cheapest method's minimum); with
 * no method yet configured, the card minimum.
 */
export const minimumChargeCents = (methods: readonly MethodKey[]) =>
  methods.length
    ? Math.min(...methods.map((method) => METHOD_MINIMUM_CENTS[method]))
    : METHOD_MINIMUM_CENTS['stripe/charge'];
