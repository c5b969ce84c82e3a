import { type Quote, quoteLease } from '../pricing.js';
import { parseCreateMachineRequest } from '../requests.js';
import { requireCapacity } from './require-capacity.js';
import type { Storefront } from './storefront.js';

export interface OrderPreflight {
  protocol: 'mpp';
  methods: string[];
  product_type: 'machine_lease';
  quote: Quote;
  request_id: string;
}

/**
 * POST /api/machine/mpp/orders/validate: checks the body, that the product can be launched
 * now, and prices it; stores nothing.
 */
export async function preflightOrder(
  storefront: Storefront,
  body: unknown,
): Promise<OrderPreflight> {
  const request = parseCreateMachineRequest(body, storefront.settings.catalog);
  await requireCapacity(storefront, request);
  return {
    protocol: 'mpp',
    methods: [...storefront.payments.methods],
    product_type: 'machine_lease',
    quote: quoteLease(storefront.settings.catalog[request.product_id], request.duration_minutes),
    request_id: request.request_id,
  };
}
