import { createUnpaidMachine } from '../core/use-cases/create-unpaid-machine.js';
import { refuseBlockedBuyer } from '../core/use-cases/refuse-blocked-buyer.js';
import { apiRoute } from '../http/api-handler.js';
import { json } from '../http/responses.js';
import { onLambda } from '../runtime/lambda-entry.js';
import { parameterStorePublicUrl } from '../runtime/parts/parameter-store-public-url.js';
import { secretsManagerSecrets } from '../runtime/parts/secrets-manager-secrets.js';
import { stepFunctionsLeases } from '../runtime/parts/step-functions-leases.js';
import { tableStores } from '../runtime/parts/table-stores.js';

export const createCreateMachineHandler = apiRoute(
  { operationId: 'createMachine', takesBody: true },
  async ({ storefront, body, clientAddress }) => {
    // Unpaid creates that are switched off say so first; a blocked buyer learns nothing more.
    if (storefront.settings.allowUnpaidCreate)
      await refuseBlockedBuyer(storefront, body, clientAddress(), { paidOrdersGoOn: true });
    return json(202, await createUnpaidMachine(storefront, body), {
      'cache-control': 'private, no-store',
    });
  },
);

/** Lambda entry point, bundled with only the parts this operation uses. */
export const handler = onLambda(createCreateMachineHandler, {
  publicUrl: parameterStorePublicUrl,
  secrets: secretsManagerSecrets,
  stores: tableStores,
  leases: stepFunctionsLeases,
});
