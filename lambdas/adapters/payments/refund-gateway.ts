import type { RefundGateway } from '../../core/ports.js';
import type { RefundSettings } from './payment-method.js';
import { PAYMENT_METHODS } from './payment-methods.js';

/**
 * Gives money back through whichever method took it, with that method's own refund (in its
 * module, next to its server method and its recovery): a Stripe refund of the PaymentIntent,
 * a recorded no-op for the test method (no money moved), nothing for the unpaid create.
 */
export function paymentRefunds(settings: RefundSettings): RefundGateway {
  const refunds = new Map(
    PAYMENT_METHODS.map((method) => [method.facts.name, method.refunding(settings)]),
  );
  return {
    async refund({ payment, amountCents, idempotencyKey }) {
      if (payment.method === 'none') return undefined;
      const refund = refunds.get(payment.method);
      if (!refund) throw new Error(`no refund path for payment method ${payment.method}`);
      const { status, reference } = await refund({
        reference: payment.reference,
        amountCents,
        idempotencyKey,
      });
      return {
        status,
        amount_cents: amountCents,
        reference,
        refunded_at: settings.clock.now().toISOString(),
      };
    },
  };
}
