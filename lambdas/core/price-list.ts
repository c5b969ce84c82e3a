import { formatCents } from './pricing.js';
import { type Catalog, PRODUCT_IDS, type Product, type ProductId } from './products.js';

/**
 * What an agent needs to compare products in one request: the terms of each, the formula
 * that turns them into the amount a challenge will ask for, and whether it can be had now.
 */
export const PRICE_FORMULA =
  'amount_cents = base_fee_cents + cents_per_minute × duration_minutes; an extension costs cents_per_minute × additional_minutes';

/** Whether a product can be provided now, as an order for its shortest lease would be checked. */
export interface ProductAvailability {
  product_id: ProductId;
  available: boolean;
  reason?: string;
  retry_after_seconds?: number;
  checked?: string[];
}

export interface ProductTerms {
  product_id: ProductId;
  title: string;
  currency: 'usd';
  base_fee_cents: number;
  cents_per_minute: number;
  min_minutes: number;
  max_minutes: number;
  /** The price of the shortest lease, as the challenge would state it ("3.99"). */
  min_amount: string;
  max_amount: string;
}

export interface ProductPrice extends ProductTerms {
  availability: ProductAvailability;
}

export interface PriceList {
  server_time: string;
  price_formula: string;
  products: ProductPrice[];
}

export function productTerms(product: Product): ProductTerms {
  const amountFor = (minutes: number) =>
    formatCents(product.baseFeeCents + product.centsPerMinute * minutes);
  return {
    product_id: product.id,
    title: product.title,
    currency: 'usd',
    base_fee_cents: product.baseFeeCents,
    cents_per_minute: product.centsPerMinute,
    min_minutes: product.minMinutes,
    max_minutes: product.maxMinutes,
    min_amount: amountFor(product.minMinutes),
    max_amount: amountFor(product.maxMinutes),
  };
}

export function priceList(
  catalog: Catalog,
  availability: readonly ProductAvailability[],
  now: Date,
): PriceList {
  const availabilityOf = (id: ProductId): ProductAvailability =>
    availability.find((entry) => entry.product_id === id) ?? {
      product_id: id,
      available: false,
      reason: 'availability was not checked',
    };
  return {
    server_time: now.toISOString(),
    price_formula: PRICE_FORMULA,
    products: PRODUCT_IDS.map((id) => ({
      ...productTerms(catalog[id]),
      availability: availabilityOf(id),
    })),
  };
}
