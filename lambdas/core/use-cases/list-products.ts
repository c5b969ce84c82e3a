import { type PriceList, priceList } from '../price-list.js';
import { listAvailability } from './list-availability.js';
import type { Storefront } from './storefront.js';

/** GET /api/products: every product's price terms and availability, in one request. */
export async function listProducts(storefront: Storefront): Promise<PriceList> {
  return priceList(
    storefront.settings.catalog,
    await listAvailability(storefront),
    storefront.clock.now(),
  );
}
