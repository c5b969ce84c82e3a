import { createUnpaidMachine } from '../core/use-cases/create-unpaid-machine.js';
import { apiRoute } from '../http/api-handler.js';
import { json } from '../http/responses.js';
import { onLambda } from '../runtime/lambda-entry.js';

export const createCreateMachineHandler = apiRoute(
  { operationId: 'createMachine', takesBody: true },
  async ({ storefront, body }) =>
    json(202, await createUnpaidMachine(storefront, body), {
      'cache-control': 'private, no-store',
    }),
);

/** Lambda entry point. */
export const handler = onLambda(createCreateMachineHandler);
