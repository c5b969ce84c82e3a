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
