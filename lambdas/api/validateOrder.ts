import { preflightOrder } from '../core/use-cases/quote-order.js';
import { refuseBlockedBuyer } from '../core/use-cases/refuse-blocked-buyer.js';
import { apiRoute } from '../http/api-handler.js';
import { json } from '../http/responses.js';
import { onLambda } from '../runtime/lambda-entry.js';
import { parameterStorePublicUrl } from '../runtime/parts/parameter-store-public-url.js';
import { tableStores } from '../runtime/parts/table-stores.js';

export const createValidateOrderHandler = apiRoute(
  { operationId: 'validateOrder', takesBody: true },
  async ({ storefront, body, clientAddress }) => {
    await refuseBlockedBuyer(storefront, body, clientAddress(), { paidOrdersGoOn: false });
    return json(200, await preflightOrder(storefront, body));
  },
);

/** Lambda entry point: reads capacity snapshots and blocks (DynamoDB only); holds no payment keys. */
export const handler = onLambda(createValidateOrderHandler, {
  publicUrl: parameterStorePublicUrl,
  stores: tableStores,
});
