import { terminateLease } from '../core/use-cases/terminate-lease.js';
import { apiRoute } from '../http/api-handler.js';
import { json } from '../http/responses.js';
import { onLambda } from '../runtime/lambda-entry.js';

export const createTerminateMachineHandler = apiRoute(
  { operationId: 'terminateMachine' },
  async ({ storefront, pathParameter, header }) =>
    json(
      200,
      await terminateLease(storefront, pathParameter('machine_id'), header('authorization')),
    ),
);

/** Lambda entry point. */
export const handler = onLambda(createTerminateMachineHandler);
