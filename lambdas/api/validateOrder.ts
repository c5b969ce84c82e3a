import { preflightOrder } from '../core/use-cases/quote-order.js';
import { apiRoute } from '../http/api-handler.js';
import { json } from '../http/responses.js';
import { onLambda } from '../runtime/lambda-entry.js';
import { ec2Machines } from '../runtime/parts/ec2-machines.js';

export const createValidateOrderHandler = apiRoute(
  { operationId: 'validateOrder', takesBody: true },
  async ({ storefront, body }) => json(200, await preflightOrder(storefront, body)),
);

/** Lambda entry point: needs no AWS client and no payment keys. */
export const handler = onLambda(createValidateOrderHandler, { machines: ec2Machines });
