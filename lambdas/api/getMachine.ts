import { readMachine } from '../core/use-cases/read-machine.js';
import { apiRoute } from '../http/api-handler.js';
import { json } from '../http/responses.js';
import { onLambda } from '../runtime/lambda-entry.js';
import { tableStores } from '../runtime/parts/table-stores.js';

export const createGetMachineHandler = apiRoute(
  { operationId: 'getMachine' },
  async ({ storefront, pathParameter, header }) =>
    json(200, await readMachine(storefront, pathParameter('machine_id'), header('authorization'))),
);

/** Lambda entry point, bundled with only the parts this operation uses. */
export const handler = onLambda(createGetMachineHandler, { stores: tableStores });
