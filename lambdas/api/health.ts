import { PRODUCT_IDS } from '../core/products.js';
import { apiRoute } from '../http/api-handler.js';
import { json } from '../http/responses.js';

export const createHealthHandler = apiRoute({ operationId: 'health' }, async () =>
  json(200, { status: 'ok', products: [...PRODUCT_IDS] }),
);
