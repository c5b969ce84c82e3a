import { getOrderStatus } from '../core/use-cases/get-order.js';
import { apiRoute } from '../http/api-handler.js';
import { orderUrl } from '../http/payment-responses.js';
import { json } from '../http/responses.js';
import { onLambda } from '../runtime/lambda-entry.js';
import { parameterStorePublicUrl } from '../runtime/parts/parameter-store-public-url.js';
import { tableStores } from '../runtime/parts/table-stores.js';

export const createGetOrderHandler = apiRoute(
  { operationId: 'getOrder' },
  async ({ storefront, baseUrl, pathParameter }) => {
    const orderId = pathParameter('order_id');
    return json(200, await getOrderStatus(storefront, orderId, orderUrl(baseUrl, orderId)));
  },
);

/** Lambda entry point, bundled with only the parts this operation uses. */
export const handler = onLambda(createGetOrderHandler, {
  stores: tableStores,
  publicUrl: parameterStorePublicUrl,
});
