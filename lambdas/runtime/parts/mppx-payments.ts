import { MppxPaymentGateway } from '../../adapters/payments/mppx-gateway.js';
import {
  methodSecretArns,
  methodSecretValues,
  paymentMethodsInEnvironment,
} from '../../adapters/payments/payment-methods-in-environment.js';
import { paymentRefunds } from '../../adapters/payments/refund-gateway.js';
import { dynamoReplayStore } from '../../adapters/payments/replay-store.js';
import { parseCatalogJson } from '../../core/catalog.js';
import type { PaymentsPart } from '../storefront-parts.js';

/**
 * Payments taken with mppx by the accepted methods (the registry's modules, configured by the
 * variables their declarations gave this function) and refunded through the same method.
 */
export const mppxPayments: PaymentsPart = {
  secretArns: (env) => methodSecretArns(paymentMethodsInEnvironment(env, 'charge')),
  build({ config, env, keys, secretValue, db, clock, clients }) {
    const methods = paymentMethodsInEnvironment(env, 'charge').map((entry) => ({
      method: entry.method,
      environment: entry.environment,
      secrets: methodSecretValues(entry, secretValue),
    }));
    const fetch = clients.paymentFetch ? { fetch: clients.paymentFetch } : {};
    return {
      payments: new MppxPaymentGateway({
        methods,
        secretKey: keys.mppSecretKey,
        realm: config.MPP_REALM,
        replayStore: dynamoReplayStore(db, config.TABLE_NAME),
        clock,
        catalog: parseCatalogJson(config.PRODUCT_CATALOG),
        ...fetch,
      }),
      refunds: paymentRefunds({ methods, clock, ...fetch }),
    };
  },
};
