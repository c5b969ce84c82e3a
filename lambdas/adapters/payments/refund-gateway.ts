import type { Clock, RefundGateway } from '../../core/ports.js';
import type { ConfiguredMethod } from './mppx-gateway.js';
import type { MethodRefund, PaymentMethod } from './payment-method.js';
import { PAYMENT_METHODS } from './payment-methods.js';

export interface RefundSettings {
  /** The methods accepted now, with their settings and the secrets they refund with. */
  methods: readonly ConfiguredMethod[];
  clock: Clock;
  /** Where payment providers' APIs are reached; a stand-in locally and in tests. */
  fetch?: typeof fetch;
}

/**
 * Gives money back through whichever method took it, with that method's own refund (in its
 * module, next to its server method and its recovery): a Stripe refund of the PaymentIntent,
 * a recorded no-op for the test method (no money moved), nothing for the unpaid create. A
 * method the operator has since turned off still has its refund, which fails when asked if it
 * needs a secret it is no longer given.
 */
export function paymentRefunds(
  settings: RefundSettings,
  registry: readonly PaymentMethod[] = PAYMENT_METHODS,
): RefundGateway {
  const refunds = new Map<string, MethodRefund>(
    registry.map((method) => {
      const configured = settings.methods.find((entry) => entry.method === method);
      return [
        method.facts.name,
        method.refunding({
          environment: configured?.environment ?? {},
          secrets: configured?.secrets ?? {},
          clock: settings.clock,
          ...(settings.fetch ? { fetch: settings.fetch } : {}),
        }),
      ];
    }),
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
