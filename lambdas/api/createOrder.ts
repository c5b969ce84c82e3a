import { toOrderView } from '../core/order.js';
import { orderQuote } from '../core/pricing.js';
import { placeOrder } from '../core/use-cases/place-order.js';
import { refuseBlockedBuyer } from '../core/use-cases/refuse-blocked-buyer.js';
import { apiRoute } from '../http/api-handler.js';
import { orderUrl, paymentRefusal } from '../http/payment-responses.js';
import { json } from '../http/responses.js';
import { onLambda } from '../runtime/lambda-entry.js';
import { mppxPayments } from '../runtime/parts/mppx-payments.js';
import { parameterStorePublicUrl } from '../runtime/parts/parameter-store-public-url.js';
import { secretsManagerSecrets } from '../runtime/parts/secrets-manager-secrets.js';
import { stepFunctionsLeases } from '../runtime/parts/step-functions-leases.js';
import { tableStores } from '../runtime/parts/table-stores.js';

export const createCreateOrderHandler = apiRoute(
  { operationId: 'createOrder', takesBody: true },
  async ({ storefront, body, baseUrl, fetchRequest, clientAddress }) => {
    await refuseBlockedBuyer(storefront, body, clientAddress(), { paidOrdersGoOn: true });
    const outcome = await placeOrder(storefront, fetchRequest(), body);
    const url = orderUrl(baseUrl, outcome.order.order_id);
    if (outcome.kind === 'payment_required') {
      const { order } = outcome;
      const quote = orderQuote(storefront.settings.catalog[order.product_id], order);
      return paymentRefusal(outcome.refusal, {
        order_id: order.order_id,
        status: 'unpaid',
        quote,
        server_time: storefront.clock.now().toISOString(),
        error: `payment required: ${order.duration_minutes} minutes of ${order.product_id} cost ${quote.amount} USD; pay the challenge in WWW-Authenticate and send the same body again with the credential in Authorization`,
      });
    }
    return json(
      202,
      { ...toOrderView(outcome.order, url, outcome.machine.status), machine: outcome.machine },
      {
        'cache-control': 'private, no-store',
        ...(outcome.receiptHeader ? { 'payment-receipt': outcome.receiptHeader } : {}),
      },
    );
  },
);

/** Lambda entry point, bundled with only the parts this operation uses. */
export const handler = onLambda(createCreateOrderHandler, {
  publicUrl: parameterStorePublicUrl,
  secrets: secretsManagerSecrets,
  stores: tableStores,
  leases: stepFunctionsLeases,
  payments: mppxPayments,
});
