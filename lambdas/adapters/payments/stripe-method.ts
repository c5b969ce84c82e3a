// The chain-free entry point: 'mppx/server' would bundle viem and every payment rail.
import { stripe } from 'mppx/stripe/server/spt';
import * as z from 'zod';
import type { PaymentAttempt } from '../../core/payment-records.js';
import type { AttemptRecovery, Clock } from '../../core/ports.js';
import { formatCents } from '../../core/pricing.js';
import { contextFlag, contextList } from './context-values.js';
import { paymentMethod } from './payment-method.js';
import { recoveredCharge } from './recovered-charge.js';
import { StripeApi, type StripeRefund, stripeError } from './stripe-api.js';

/** What the Stripe method needs to charge: the operator's keys, as its functions get them. */
interface StripeSettings {
  /** Stripe Business Network profile id (profile_…). */
  networkId: string;
  paymentMethodTypes: string[];
}

/** A Stripe key that moves real money (secret or restricted live key). */
export const isLiveStripeKey = (key: string) => /^(sk|rk)_live_/.test(key);

const stripeEnvironment = z.object({
  STRIPE_NETWORK_ID: z.string().min(1),
  STRIPE_PAYMENT_METHOD_TYPES: z.string().default('card,link'),
});

const settingsOf = (environment: Record<string, unknown>): StripeSettings => {
  const parsed = stripeEnvironment.parse(environment);
  return {
    networkId: parsed.STRIPE_NETWORK_ID,
    paymentMethodTypes: parsed.STRIPE_PAYMENT_METHOD_TYPES.split(',').map((type) => type.trim()),
  };
};

const apiWith = (secretKey: string, fetch: typeof globalThis.fetch | undefined) =>
  new StripeApi({ secretKey, ...(fetch ? { fetch } : {}) });

/**
 * Stripe, with Shared Payment Tokens: cards and wallets, in dollars. Stripe's card minimum for
 * USD is 50 cents (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts;
 * mppx's Stripe method refuses to offer less). It is on when the operator names the secret
 * holding the Stripe secret key and the Business Network profile.
 */
export const stripeMethod = paymentMethod({
  facts: { key: 'stripe/charge', name: 'stripe', minimumChargeCents: 50 },
  currency: 'usd',
  context: {
    /** The Secrets Manager secret (by name) holding the Stripe secret key. */
    stripeSecretName: z.string().min(1).optional(),
    stripeNetworkId: z
      .string()
      .regex(/^profile_\w+$/, 'a Stripe profile id (profile_…)')
      .optional(),
    stripePaymentMethodTypes: contextList,
    /** The operator's word that the Stripe secret holds a test-mode key (sk_test_…). */
    stripeTestMode: contextFlag.optional(),
  },
  isOn: (context) => Boolean(context.stripeSecretName),
  misconfigured: (context) =>
    context.stripeSecretName && !context.stripeNetworkId
      ? 'storefront:stripeSecretName needs storefront:stripeNetworkId'
      : undefined,
  turnedOnBy: 'storefront:stripeSecretName + storefront:stripeNetworkId',
  money: {
    moves: 'real',
    // The secret's value is not known at synth: the operator says whether it is a test key.
    liveAtSynth: (context) =>
      context.stripeTestMode === true
        ? undefined
        : 'Stripe unless storefront:stripeTestMode=true says the Stripe secret holds a test key (sk_test_…)',
    liveSecrets: (secrets) => Boolean(secrets.secretKey && isLiveStripeKey(secrets.secretKey)),
  },
  secrets: {
    secretKey: {
      nameKey: 'stripeSecretName',
      arnVariable: 'STRIPE_SECRET_ARN',
      holds: 'the Stripe secret key',
      example: 'sk_…',
      forRefunds: true,
    },
  },
  environment: stripeEnvironment.shape,
  environmentFrom: (context) => ({
    STRIPE_NETWORK_ID: context.stripeNetworkId ?? '',
    STRIPE_PAYMENT_METHOD_TYPES: context.stripePaymentMethodTypes.join(','),
  }),
  // Stripe's API is reached over HTTPS with the secret key: no IAM beyond reading the secret.
  permissions: [],
  egress: ['api.stripe.com:443'],
  charging({ environment, secrets, fetch }) {
    if (!secrets.secretKey) throw new Error('the Stripe method needs the Stripe secret key');
    const settings = settingsOf(environment);
    const api = apiWith(secrets.secretKey, fetch);
    return {
      server: stripeChargeMethod(settings, api),
      offer: (terms) => ({
        description: terms.description,
        amount: formatCents(terms.amountCents),
        // Set on the PaymentIntent, so Stripe's dashboard and searches find the order.
        metadata: { external_id: terms.externalId },
      }),
      recover: (attempt, now) => recoverStripeCharge(api, attempt, now),
    };
  },
  refunding({ secrets, clock, fetch }) {
    const api = secrets.secretKey ? apiWith(secrets.secretKey, fetch) : undefined;
    return async ({ reference, amountCents, idempotencyKey }) => {
      if (!api) throw new Error('Stripe refunds need the Stripe secret key');
      const refund = await refundStripePayment(api, reference, amountCents, idempotencyKey, clock);
      return {
        status: refund.status === 'succeeded' ? 'refunded' : 'pending',
        reference: refund.id,
      };
    };
  },
});

/** PaymentIntent statuses from which money may still be taken without the agent. */
const UNSETTLED_STATUSES = new Set(['processing', 'requires_capture', 'requires_confirmation']);

/**
 * A PaymentIntent mppx must not take for either a success or a decline: its own check
 * (`status !== 'succeeded'`) turns it into an internal error, which the gateway reports as
 * "outcome unknown", so the recorded attempt is kept and recovered later.
 */
const OUTCOME_UNKNOWN = { id: 'pi_outcome_unknown', status: 'outcome_unknown' };

/**
 * mppx's Stripe method with its PaymentIntent call done by us (mppx's `client` option: a
 * wrapper, not a fork), for two reasons.
 *
 * 1. Where the Shared Payment Token goes. mppx 0.11 sends `shared_payment_granted_token` as a
 *    top-level PaymentIntent parameter under `Stripe-Version: 2026-07-29.preview`. Stripe's
 *    changelog for 2026-04-22.preview ("Adds the Shared Payment Granted Token…") says: "After
 *    you receive a SharedPaymentGrantedToken, you can pass the token using the
 *    payment_method_data.shared_payment_granted_token parameter on the PaymentIntent to
 *    complete the payment", and Stripe's SDKs for that version add `shared_payment_granted_token`
 *    on `PaymentIntentCreateParams.payment_method_data`. Only older preview pages show it at the
 *    top level. So it is sent as `payment_method_data[shared_payment_granted_token]`.
 * 2. Lost answers. mppx keys the PaymentIntent `mpp_<challenge id>_<spt>` and treats Stripe's
 *    idempotent replay as "already processed", so an agent whose first answer was lost would be
 *    refused and pay again with a new token. Stripe documents that a retry with the same key
 *    returns the saved response ("Retries with the same key return the saved response,
 *    including 500 errors"); for the same credential of an order that is still unpaid, that
 *    saved PaymentIntent is this credential's payment, so a replayed success is passed on as
 *    the success it is. Indeterminate answers (5xx, 409 from a concurrent request on the key,
 *    429, network errors, `processing`) are reported as "outcome unknown", never as a decline.
 */
function stripeChargeMethod(settings: StripeSettings, api: StripeApi) {
  return stripe.charge({
    client: {
      paymentIntents: {
        async create(
          params: Record<string, unknown>,
          options: { idempotencyKey: string; apiVersion: string; stripeAccount?: string },
        ) {
          const form = new URLSearchParams({
            amount: String(params.amount),
            currency: String(params.currency),
            confirm: 'true',
            'automatic_payment_methods[enabled]': 'true',
            'automatic_payment_methods[allow_redirects]': 'never',
            'payment_method_data[shared_payment_granted_token]': String(
              params.shared_payment_granted_token,
            ),
          });
          for (const [key, value] of Object.entries(
            (params.metadata ?? {}) as Record<string, string>,
          )) {
            form.set(`metadata[${key}]`, value);
          }
          const headers: Record<string, string> = {
            'idempotency-key': options.idempotencyKey,
            'stripe-version': options.apiVersion,
            ...(options.stripeAccount ? { 'stripe-account': options.stripeAccount } : {}),
          };
          let reply: Awaited<ReturnType<StripeApi['createPaymentIntent']>>;
          try {
            reply = await api.createPaymentIntent(form, headers);
          } catch {
            return OUTCOME_UNKNOWN;
          }
          if (reply.status >= 500 || reply.status === 409 || reply.status === 429) {
            return OUTCOME_UNKNOWN;
          }
          if (reply.status !== 200) {
            // A decline (402) or a refused request (400): no money moved. mppx answers 402.
            throw new Error(reply.body.error?.message ?? `Stripe answered ${reply.status}`);
          }
          // No `lastResponse`: a replayed success is this credential's own payment (see above).
          return { id: reply.body.id, status: reply.body.status };
        },
      },
    } as never,
    networkId: settings.networkId,
    paymentMethodTypes: settings.paymentMethodTypes,
    currency: 'usd',
    decimals: 2,
  });
}

/**
 * What a Stripe attempt came to, found by the challenge id mppx writes into every
 * PaymentIntent's metadata (`mpp_challenge_id`), among the PaymentIntents created since the
 * attempt started (with five minutes for clock skew).
 */
async function recoverStripeCharge(
  api: StripeApi,
  attempt: PaymentAttempt,
  now: Date,
): Promise<AttemptRecovery> {
  const since = Math.floor(Date.parse(attempt.started_at) / 1000) - 300;
  let intents: Awaited<ReturnType<StripeApi['listPaymentIntentsSince']>>;
  try {
    intents = (await api.listPaymentIntentsSince(since)).filter(
      (intent) => intent.metadata?.mpp_challenge_id === attempt.challenge_id,
    );
  } catch (error) {
    return { kind: 'unknown', reason: String(error) };
  }
  const paid = intents.find((intent) => intent.status === 'succeeded');
  if (paid) return recoveredCharge('stripe', paid.id, attempt, now);
  const open = intents.find((intent) => UNSETTLED_STATUSES.has(intent.status));
  if (open) return { kind: 'unknown', reason: `PaymentIntent ${open.id} is ${open.status}` };
  return { kind: 'not_charged' };
}

/** How long one idempotency key is used again after Stripe answered it with an error. */
const ERROR_KEY_BUCKET_MS = 5 * 60_000;

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
async function refundStripePayment(
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
