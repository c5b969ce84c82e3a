import { terminateLease } from '../core/use-cases/terminate-lease.js';
import { apiRoute } from '../http/api-handler.js';
import { json } from '../http/responses.js';

export const createTerminateMachineHandler = apiRoute(
  { operationId: 'terminateMachine' },
  async ({ storefront, pathParameter, header }) =>
    json(
      200,
      await terminateLease(storefront, pathParameter('machine_id'), header('authorization')),
    ),
);
