import { terminateLease } from '../core/use-cases/terminate-lease.js';
import { apiRoute } from '../http/api-handler.js';
import { json } from '../http/responses.js';
import { onLambda } from '../runtime/lambda-entry.js';
import { stepFunctionsLeases } from '../runtime/parts/step-functions-leases.js';
import { tableStores } from '../runtime/parts/table-stores.js';

export const createTerminateMachineHandler = apiRoute(
  { operationId: 'terminateMachine' },
  async ({ storefront, pathParameter, header }) =>
    json(
      200,
      await terminateLease(storefront, pathParameter('machine_id'), header('authorization')),
    ),
);

/** Lambda entry point, bundled with only the parts this operation uses. */
export const handler = onLambda(createTerminateMachineHandler, {
  stores: tableStores,
  leases: stepFunctionsLeases,
});
