import { type PriceList, type ProductAvailability, priceList } from '../price-list.js';
import { PRODUCT_IDS, type ProductId } from '../products.js';
import type { Storefront } from './storefront.js';

/**
 * LEAD: stand-in until the storefront has an availability port (quotas, zone offerings,
 * Capacity Blocks: the "product" work of issue 9). It claims nothing: every product is
 * `unknown`, and the order answers before any charge. Replace with the port's answer.
 */
async function availabilityOf(
  _storefront: Storefront,
): Promise<Record<ProductId, ProductAvailability>> {
  const unknown: ProductAvailability = {
    status: 'unknown',
    reason: 'not checked ahead of an order; POST /api/machine/mpp/orders answers before any charge',
  };
  return Object.fromEntries(PRODUCT_IDS.map((id) => [id, unknown])) as Record<
    ProductId,
    ProductAvailability
  >;
}

/** GET /api/products: every product's price terms and availability, in one request. */
export async function listProducts(storefront: Storefront): Promise<PriceList> {
  return priceList(
    storefront.settings.catalog,
    await availabilityOf(storefront),
    storefront.clock.now(),
  );
}
