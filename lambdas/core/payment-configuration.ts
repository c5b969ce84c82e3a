import { formatCents, quoteLease } from './pricing.js';
import type { Catalog } from './products.js';

/**
 * Checks, at synth and at start, that the configured payment methods can take every price
 * the catalog can produce, so a catalog priced below a method's minimum is a clear
 * configuration error instead of a failing order. Returns the problems found.
 */
export function catalogBelowMinimum(catalog: Catalog, minimumChargeCents: number): string[] {
  return Object.values(catalog)
    .map((product) => ({ product, cheapest: quoteLease(product, product.minMinutes) }))
    .filter(({ cheapest }) => cheapest.amount_cents < minimumChargeCents)
    .map(
      ({ product, cheapest }) =>
        `${product.id} costs ${formatCents(cheapest.amount_cents)} USD for its minimum of ${product.minMinutes} minutes, below the ${formatCents(minimumChargeCents)} USD the payment methods can charge`,
    );
}

/** A Stripe key that moves real money (secret or restricted live key). */
export const isLiveStripeKey = (key: string) => /^(sk|rk)_live_/.test(key);

/** The no-money test method must never be offered next to a key that takes real money. */
export function testMethodBesideLiveKey(config: {
  testPayments: boolean;
  stripeSecretKey?: string;
}): string | undefined {
  if (config.testPayments && config.stripeSecretKey && isLiveStripeKey(config.stripeSecretKey)) {
    return 'test payments are on beside a live Stripe key: any agent could pick the method that takes no money. Turn storefront:testPayments off, or use an sk_test_ key';
  }
  return undefined;
}
