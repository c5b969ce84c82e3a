import { preflightOrder } from '../core/use-cases/quote-order.js';
import { apiRoute } from '../http/api-handler.js';
import { json } from '../http/responses.js';
import { onLambda } from '../runtime/lambda-entry.js';
import { tableStores } from '../runtime/parts/table-stores.js';

export const createValidateOrderHandler = apiRoute(
  { operationId: 'validateOrder', takesBody: true },
  async ({ storefront, body }) => json(200, await preflightOrder(storefront, body)),
);

/** Lambda entry point: reads capacity snapshots (DynamoDB only); holds no payment keys. */
export const handler = onLambda(createValidateOrderHandler, { stores: tableStores });
