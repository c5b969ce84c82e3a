import type { Product, ProductId } from './products.js';

export interface Quote {
  product_id: ProductId;
  duration_minutes: number;
  base_fee_cents: number;
  unit_price_cents_per_minute: number;
  amount_cents: number;
  amount: string;
  currency: 'usd';
}

/** "3.99" for 399: integer arithmetic only, so no float ever reaches a price. */
export function formatCents(cents: number): string {
  if (!Number.isSafeInteger(cents) || cents < 0)
    throw new RangeError(`not a price in cents: ${cents}`);
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

export function quoteLease(product: Product, durationMinutes: number): Quote {
  const amountCents = product.baseFeeCents + product.centsPerMinute * durationMinutes;
  return {
    product_id: product.id,
    duration_minutes: durationMinutes,
    base_fee_cents: product.baseFeeCents,
    unit_price_cents_per_minute: product.centsPerMinute,
    amount_cents: amountCents,
    amount: formatCents(amountCents),
    currency: 'usd',
  };
}

/** The quote an order's challenge charges: its stored amount, on the product's terms. */
export function orderQuote(
  product: Product,
  order: { duration_minutes: number; amount_cents: number },
): Quote {
  return {
    ...quoteLease(product, order.duration_minutes),
    amount_cents: order.amount_cents,
    amount: formatCents(order.amount_cents),
  };
}

/** Extra minutes on a running lease cost the per-minute price; the base fee was paid once. */
export function quoteExtension(product: Product, additionalMinutes: number) {
  const amountCents = product.centsPerMinute * additionalMinutes;
  return {
    additional_minutes: additionalMinutes,
    unit_price_cents_per_minute: product.centsPerMinute,
    amount_cents: amountCents,
    amount: formatCents(amountCents),
    currency: 'usd' as const,
  };
}
export type ExtensionQuote = ReturnType<typeof quoteExtension>;
