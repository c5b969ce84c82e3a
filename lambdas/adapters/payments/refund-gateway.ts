import type { RefundRecord } from '../../core/payment-records.js';
import type { Clock, RefundGateway } from '../../core/ports.js';
import { StripeApi } from './stripe-api.js';
import { refundStripePayment } from './stripe-method.js';
import { testRefundReference } from './test-method.js';

export interface RefundSettings {
  /** Stripe secret key; without it Stripe payments cannot be refunded by this function. */
  stripeSecretKey?: string;
  /** Where Stripe is reached; a stand-in in tests. */
  stripeFetch?: typeof fetch;
  clock: Clock;
}

/**
 * Gives money back through whichever method took it, with that method's own refund call (in
 * its module, next to its server method and its recovery): a Stripe refund of the
 * PaymentIntent, a recorded no-op for the test method (no money moved), nothing for the
 * unpaid create.
 */
export function paymentRefunds(settings: RefundSettings): RefundGateway {
  const stripe = settings.stripeSecretKey
    ? new StripeApi({
        secretKey: settings.stripeSecretKey,
        ...(settings.stripeFetch ? { fetch: settings.stripeFetch } : {}),
      })
    : undefined;
  return {
    async refund({ payment, amountCents, idempotencyKey }) {
      const record = (status: RefundRecord['status'], reference: string): RefundRecord => ({
        status,
        amount_cents: amountCents,
        reference,
        refunded_at: settings.clock.now().toISOString(),
      });
      switch (payment.method) {
        case 'none':
          return undefined;
        case 'test':
          return record('refunded', testRefundReference(idempotencyKey));
        case 'stripe': {
          if (!stripe) throw new Error('Stripe refunds need the Stripe secret key');
          const refund = await refundStripePayment(
            stripe,
            payment.reference,
            amountCents,
            idempotencyKey,
            settings.clock,
          );
          return record(refund.status === 'succeeded' ? 'refunded' : 'pending', refund.id);
        }
        default:
          throw new Error(`no refund path for payment method ${payment.method}`);
      }
    },
  };
}
