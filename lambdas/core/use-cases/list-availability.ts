import type { ProductAvailability } from '../price-list.js';
import { PRODUCT_IDS } from '../products.js';
import { productAvailability } from './require-capacity.js';
import type { Storefront } from './storefront.js';

/** Each product's availability for its shortest lease, as an order would be checked now. */
export async function listAvailability(storefront: Storefront): Promise<ProductAvailability[]> {
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
