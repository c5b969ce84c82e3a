import { PRODUCT_IDS } from '../core/products.js';
import { apiRoute } from '../http/api-handler.js';
import { json } from '../http/responses.js';
import { onLambda } from '../runtime/lambda-entry.js';

export const createHealthHandler = apiRoute({ operationId: 'health' }, async ({ storefront }) =>
  json(200, {
    status: 'ok',
    products: [...PRODUCT_IDS],
    server_time: storefront.clock.now().toISOString(),
  }),
);

/** Lambda entry point: needs no AWS client and no payment keys. */
export const handler = onLambda(createHealthHandler);
