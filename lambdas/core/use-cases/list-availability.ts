import { PRODUCT_IDS, type ProductId } from '../products.js';
import { productAvailability } from './require-capacity.js';
import type { Storefront } from './storefront.js';

export interface ProductAvailabilityView {
  product_id: ProductId;
  available: boolean;
  reason?: string;
  retry_after_seconds?: number;
  checked?: string[];
}

/** Each product's availability for its shortest lease, as an order would be checked now. */
export async function listAvailability(storefront: Storefront): Promise<ProductAvailabilityView[]> {
  return Promise.all(
    PRODUCT_IDS.map(async (productId) => {
      const product = storefront.settings.catalog[productId];
      const availability = await productAvailability(storefront, productId, product.minMinutes);
      return availability.available
        ? { product_id: productId, available: true, checked: availability.checked }
        : {
            product_id: productId,
            available: false,
            reason: availability.reason,
            retry_after_seconds: availability.retryAfterSeconds,
          };
    }),
  );
}
