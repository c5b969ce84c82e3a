import { listProducts } from '../core/use-cases/list-products.js';
import { apiRoute } from '../http/api-handler.js';
import { json } from '../http/responses.js';
import { onLambda } from '../runtime/lambda-entry.js';
import { ec2Machines } from '../runtime/parts/ec2-machines.js';

export const createListProductsHandler = apiRoute(
  { operationId: 'listProducts' },
  async ({ storefront }) => json(200, await listProducts(storefront)),
);

/** Lambda entry point. */
export const handler = onLambda(createListProductsHandler, { machines: ec2Machines });
