import { listProducts } from '../core/use-cases/list-products.js';
import { apiRoute } from '../http/api-handler.js';
import { json } from '../http/responses.js';
import { onLambda } from '../runtime/lambda-entry.js';
import { tableStores } from '../runtime/parts/table-stores.js';

export const createListProductsHandler = apiRoute(
  { operationId: 'listProducts' },
  async ({ storefront }) => json(200, await listProducts(storefront)),
);

/** Lambda entry point: availability from the capacity snapshots (DynamoDB only). */
export const handler = onLambda(createListProductsHandler, { stores: tableStores });
