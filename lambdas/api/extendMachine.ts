import { extendLease } from '../core/use-cases/extend-lease.js';
import { apiRoute } from '../http/api-handler.js';
import { paymentRefusal } from '../http/payment-responses.js';
import { json } from '../http/responses.js';
import { onLambda } from '../runtime/lambda-entry.js';
import { mppxPayments } from '../runtime/parts/mppx-payments.js';
import { secretsManagerSecrets } from '../runtime/parts/secrets-manager-secrets.js';
import { stepFunctionsLeases } from '../runtime/parts/step-functions-leases.js';
import { tableStores } from '../runtime/parts/table-stores.js';

export const createExtendMachineHandler = apiRoute(
  { operationId: 'extendMachine', takesBody: true },
  async ({ storefront, body, fetchRequest, pathParameter, header }) => {
    const outcome = await extendLease(
      storefront,
      fetchRequest(),
      pathParameter('machine_id'),
      header('authorization'),
      body,
    );
    if (outcome.kind === 'payment_required') {
      return paymentRefusal(outcome.refusal, {
        machine_id: outcome.machine.machine_id,
        quote: outcome.quote,
        server_time: storefront.clock.now().toISOString(),
        error: `payment required: ${outcome.quote.additional_minutes} more minutes cost ${outcome.quote.amount} USD; pay the challenge in WWW-Authenticate and send the credential in Payment-Authorization`,
      });
    }
    return json(200, outcome.machine, {
      ...(outcome.receiptHeader
        ? { 'payment-receipt': outcome.receiptHeader, 'cache-control': 'private, no-store' }
        : {}),
    });
  },
);

/** Lambda entry point, bundled with only the parts this operation uses. */
export const handler = onLambda(createExtendMachineHandler, {
  secrets: secretsManagerSecrets,
  stores: tableStores,
  payments: mppxPayments,
  leases: stepFunctionsLeases,
});
