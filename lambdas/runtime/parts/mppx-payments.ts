import { MppxPaymentGateway } from '../../adapters/payments/mppx-gateway.js';
import { paymentRefunds } from '../../adapters/payments/refund-gateway.js';
import { dynamoReplayStore } from '../../adapters/payments/replay-store.js';
import { parseCatalogJson } from '../../core/catalog.js';
import type { PaymentsPart } from '../storefront-parts.js';

/** Payments taken with mppx (Stripe and/or the test method) and refunded through the same method. */
export const mppxPayments: PaymentsPart = ({
  config,
  keys,
  stripeSecretKey,
  db,
  clock,
  clients,
}) => {
  const stripeFetch = clients.stripeFetch ? { stripeFetch: clients.stripeFetch } : {};
  const stripe =
    config.STRIPE_SECRET_ARN && config.STRIPE_NETWORK_ID && stripeSecretKey
      ? {
          secretKey: stripeSecretKey,
          networkId: config.STRIPE_NETWORK_ID,
          paymentMethodTypes: config.STRIPE_PAYMENT_METHOD_TYPES.split(',').map((type) =>
            type.trim(),
          ),
        }
      : undefined;
  return {
    payments: new MppxPaymentGateway({
      secretKey: keys.mppSecretKey,
      realm: config.MPP_REALM,
      testPayments: config.TEST_PAYMENTS === 'enabled',
      replayStore: dynamoReplayStore(db, config.TABLE_NAME),
      clock,
      catalog: parseCatalogJson(config.PRODUCT_CATALOG),
      ...(stripe ? { stripe } : {}),
      ...stripeFetch,
    }),
    refunds: paymentRefunds({
      clock,
      ...(stripeSecretKey ? { stripeSecretKey } : {}),
      ...stripeFetch,
    }),
  };
};
