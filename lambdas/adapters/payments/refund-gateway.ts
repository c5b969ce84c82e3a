import { createHash } from 'node:crypto';
import type { Clock, RefundGateway, RefundRecord } from '../../core/ports.js';

export interface RefundSettings {
  /** Stripe secret key; without it Stripe payments cannot be refunded by this function. */
  stripeSecretKey?: string;
  clock: Clock;
}

const STRIPE_REFUNDS = 'https://api.stripe.com/v1/refunds';

/**
 * Gives money back through whichever method took it: a Stripe refund of the PaymentIntent
 * (keyed so a retried refund is never a second one), nothing at all for the test method
 * (no money moved), and no refund for the unpaid create.
 */
export function paymentRefunds(settings: RefundSettings): RefundGateway {
  return {
    async refund({ payment, amountCents, idempotencyKey, reason }) {
      const refundedAt = settings.clock.now().toISOString();
      const record = (status: RefundRecord['status'], reference: string): RefundRecord => ({
        status,
        amount_cents: amountCents,
        reference,
        refunded_at: refundedAt,
      });
      switch (payment.method) {
        case 'none':
          return undefined;
        case 'test':
          return record(
            'refunded',
            `test_refund_${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 24)}`,
          );
        case 'stripe': {
          if (!settings.stripeSecretKey)
            throw new Error('Stripe refunds need the Stripe secret key');
          const response = await fetch(STRIPE_REFUNDS, {
            method: 'POST',
            headers: {
              authorization: `Basic ${Buffer.from(`${settings.stripeSecretKey}:`).toString('base64')}`,
              'content-type': 'application/x-www-form-urlencoded',
              'idempotency-key': idempotencyKey,
            },
            body: new URLSearchParams({
              payment_intent: payment.reference,
              amount: String(amountCents),
              reason: 'requested_by_customer',
              'metadata[storefront_reason]': reason,
            }),
          });
          const body = (await response.json()) as {
            id?: string;
            status?: string;
            error?: { message?: string };
          };
          if (!response.ok || !body.id) {
            throw new Error(
              `Stripe refund of ${payment.reference} failed: ${body.error?.message ?? response.status}`,
            );
          }
          if (body.status === 'failed' || body.status === 'canceled') {
            throw new Error(`Stripe refund ${body.id} of ${payment.reference} ${body.status}`);
          }
          return record(body.status === 'succeeded' ? 'refunded' : 'pending', body.id);
        }
        default:
          throw new Error(`no refund path for payment method ${payment.method}`);
      }
    },
  };
}

/** For functions that never refund: any attempt is a bug. */
export const noRefunds: RefundGateway = {
  refund: async () => {
    throw new Error('this function may not refund payments');
  },
};
