import { ApiProblem } from '../errors.js';
import type { Availability } from '../ports.js';
import type { ProductId } from '../products.js';
import type { Storefront } from './storefront.js';

/**
 * Whether the product can be launched now. An error from the check itself does not stop a
 * sale: the launch is still guarded (a lease that cannot start is refunded in full).
 */
export async function productAvailability(
  storefront: Storefront,
  productId: ProductId,
  leaseMinutes: number,
): Promise<Availability> {
  const product = storefront.settings.catalog[productId];
  try {
    return await storefront.capacity.check(product, leaseMinutes);
  } catch (error) {
    storefront.log.warn('capacity.check_failed', {
      product: productId,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    return { available: true, checked: [] };
  }
}

/** 503 with Retry-After, before any challenge or charge, when the product cannot be launched. */
export async function requireCapacity(
  storefront: Storefront,
  request: { product_id: ProductId; duration_minutes: number },
): Promise<void> {
  const availability = await productAvailability(
    storefront,
    request.product_id,
    request.duration_minutes,
  );
  if (availability.available) return;
  storefront.log.info('order.unavailable', {
    product: request.product_id,
    reason: availability.reason,
  });
  throw new ApiProblem(
    'unavailable',
    `${request.product_id} cannot be provided right now: ${availability.reason}. Nothing was charged; try again later`,
    availability.retryAfterSeconds,
  );
}
