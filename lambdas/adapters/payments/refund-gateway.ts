import { createHash } from 'node:crypto';
import type { Clock, RefundGateway, RefundRecord } from '../../core/ports.js';
import { StripeApi, type StripeRefund, stripeError } from './stripe-api.js';

export interface RefundSettings {
  /** Stripe secret key; without it Stripe payments cannot be refunded by this function. */
  stripeSecretKey?: string;
  /** Where Stripe is reached; a stand-in in tests. */
  stripeFetch?: typeof fetch;
  clock: Clock;
}

/** How long one idempotency key is used again after Stripe answered it with an error. */
const ERROR_KEY_BUCKET_MS = 5 * 60_000;

/**
 * Gives money back through whichever method took it: a Stripe refund of the PaymentIntent,
 * nothing at all for the test method (no money moved), and no refund for the unpaid create.
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
          return record(
            'refunded',
            `test_refund_${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 24)}`,
          );
        case 'stripe': {
          if (!stripe) throw new Error('Stripe refunds need the Stripe secret key');
          const refund = await stripeRefund(
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

/**
 * One refund per `refundKey`, however often and from wherever it is asked for:
 *
 * - First what Stripe already has: the PaymentIntent's refunds carrying our key in metadata
 *   (the list is current, unlike search). A succeeded one is the answer; a pending one is
 *   answered with its status as Stripe reports it now (so `pending` is re-checked each time).
 * - Otherwise a new refund, with parameters that depend on the key alone (identical for every
 *   caller: Stripe answers a reused key with other parameters with 400). Its idempotency key is
 *   the refund key for the first try and `:retry-<n>` after n refunds that failed. Stripe saves
 *   the response of every key, errors included ("Retries with the same key return the saved
 *   response, including 500 errors"), so after an error answer the next try uses a key of its
 *   own time window. Two refunders racing with different keys cannot refund twice: each is the
 *   full amount of one PaymentIntent, and Stripe refunds no PaymentIntent beyond its amount.
 */
async function stripeRefund(
  stripe: StripeApi,
  paymentIntent: string,
  amountCents: number,
  refundKey: string,
  clock: Clock,
): Promise<StripeRefund> {
  const ours = (await stripe.listRefunds(paymentIntent)).filter(
    (refund) => refund.metadata?.storefront_refund_key === refundKey,
  );
  const done = ours.find((refund) => refund.status === 'succeeded');
  if (done) return done;
  const live = ours.find(
    (refund) => refund.status === 'pending' || refund.status === 'requires_action',
  );
  if (live) return { ...live, status: 'pending' };
  const failed = ours.length;
  const form = new URLSearchParams({
    payment_intent: paymentIntent,
    amount: String(amountCents),
    reason: 'requested_by_customer',
    'metadata[storefront_refund_key]': refundKey,
  });
  const key = failed === 0 ? refundKey : `${refundKey}:retry-${failed}`;
  let reply = await stripe.createRefund(form, key);
  if (reply.status !== 200) {
    const window = Math.floor(clock.now().getTime() / ERROR_KEY_BUCKET_MS);
    reply = await stripe.createRefund(form, `${key}:after-error-${window}`);
  }
  if (reply.status !== 200 || !reply.body.id)
    throw stripeError(`refund of ${paymentIntent}`, reply);
  if (reply.body.status === 'failed' || reply.body.status === 'canceled') {
    throw new Error(`Stripe refund ${reply.body.id} of ${paymentIntent} ${reply.body.status}`);
  }
  return reply.body;
}

/** For functions that never refund: any attempt is a bug. */
export const noRefunds: RefundGateway = {
  refund: async () => {
    throw new Error('this function may not refund payments');
  },
};
