import { createHash } from 'node:crypto';
import { Challenge, Credential } from 'mppx';

/**
 * Stripe where money is at stake, in memory, as a `fetch` the storefront is given: idempotency
 * keys replay their first response (errors included) with `Idempotent-Replayed: true`, a key
 * reused with other parameters is a 400, PaymentIntents can stay `processing`, refunds can go
 * `pending` and later `succeeded` or `failed`, and no PaymentIntent is refunded beyond its
 * amount. Tests steer it per Shared Payment Token and assert on the calls it received.
 */
export interface StandInCall {
  method: string;
  path: string;
  form: URLSearchParams;
  headers: Record<string, string>;
}

interface Intent {
  id: string;
  object: 'payment_intent';
  status: string;
  amount: number;
  currency: string;
  created: number;
  metadata: Record<string, string>;
}

interface Refund {
  id: string;
  object: 'refund';
  status: 'pending' | 'succeeded' | 'failed' | 'canceled';
  amount: number;
  payment_intent: string;
  metadata: Record<string, string>;
}

interface Saved {
  fingerprint: string;
  status: number;
  body: unknown;
}

/** Tokens that make the stand-in answer as Stripe would for such a card. */
export const SPT = {
  paid: 'spt_test_paid',
  declined: 'spt_test_declined',
  processing: 'spt_test_processing',
} as const;

export function stripeStandIn(now: () => Date = () => new Date()) {
  const intents = new Map<string, Intent>();
  const refunds = new Map<string, Refund>();
  const saved = new Map<string, Saved>();
  const calls: StandInCall[] = [];
  let sequence = 0;
  /** Paths whose next answer is lost after Stripe acted (a timeout, a dropped connection). */
  const loseNextAnswer = new Set<string>();
  /** Paths whose next call fails with a 500 before acting (and the key saves that 500). */
  const failNext = new Set<string>();
  const refundsStartPending = { value: false };

  const reply = (status: number, body: unknown, replayed = false) =>
    new Response(JSON.stringify(body), {
      status,
      headers: {
        'content-type': 'application/json',
        ...(replayed ? { 'idempotent-replayed': 'true' } : {}),
      },
    });
  const error = (status: number, type: string, message: string, code?: string) => ({
    status,
    body: { error: { type, message, ...(code ? { code } : {}) } },
  });
  const metadataOf = (form: URLSearchParams) => {
    const metadata: Record<string, string> = {};
    for (const [name, value] of form) {
      const match = /^metadata\[(.+)\]$/.exec(name);
      if (match?.[1]) metadata[match[1]] = value;
    }
    return metadata;
  };

  function createIntent(form: URLSearchParams): { status: number; body: unknown } {
    const spt = form.get('payment_method_data[shared_payment_granted_token]');
    if (!spt) {
      return error(
        400,
        'invalid_request_error',
        'Received unknown parameter: shared_payment_granted_token',
      );
    }
    if (spt === SPT.declined) {
      return error(402, 'card_error', 'Your card was declined.', 'card_declined');
    }
    const intent: Intent = {
      id: `pi_standin_${++sequence}`,
      object: 'payment_intent',
      status: spt === SPT.processing ? 'processing' : 'succeeded',
      amount: Number(form.get('amount')),
      currency: String(form.get('currency')),
      created: Math.floor(now().getTime() / 1000),
      metadata: metadataOf(form),
    };
    intents.set(intent.id, intent);
    return { status: 200, body: intent };
  }

  function createRefund(form: URLSearchParams): { status: number; body: unknown } {
    const intent = intents.get(String(form.get('payment_intent')));
    if (!intent) return error(400, 'invalid_request_error', 'No such payment_intent');
    const amount = Number(form.get('amount') ?? intent.amount);
    const taken = [...refunds.values()]
      .filter((refund) => refund.payment_intent === intent.id)
      .filter((refund) => refund.status === 'pending' || refund.status === 'succeeded')
      .reduce((sum, refund) => sum + refund.amount, 0);
    if (taken + amount > intent.amount) {
      return error(
        400,
        'invalid_request_error',
        `Refund amount exceeds what remains of ${intent.id}`,
        'charge_already_refunded',
      );
    }
    const refund: Refund = {
      id: `re_standin_${++sequence}`,
      object: 'refund',
      status: refundsStartPending.value ? 'pending' : 'succeeded',
      amount,
      payment_intent: intent.id,
      metadata: metadataOf(form),
    };
    refunds.set(refund.id, refund);
    return { status: 200, body: refund };
  }

  /** Idempotent POST: the first response for a key is saved and replayed, errors included. */
  function idempotent(
    path: string,
    form: URLSearchParams,
    key: string | undefined,
    act: () => { status: number; body: unknown },
  ) {
    const fingerprint = createHash('sha256').update(`${path}?${form}`).digest('hex');
    if (key) {
      const prior = saved.get(key);
      if (prior && prior.fingerprint !== fingerprint) {
        return reply(400, {
          error: {
            type: 'idempotency_error',
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
          },
        });
      }
      if (prior) return reply(prior.status, prior.body, true);
    }
    const outcome = failNext.delete(path)
      ? error(500, 'api_error', 'An unknown error occurred')
      : act();
    if (key) saved.set(key, { fingerprint, ...outcome });
    if (loseNextAnswer.delete(path)) throw new TypeError('fetch failed: the connection was reset');
    return reply(outcome.status, outcome.body);
  }

  function list<T extends { id: string }>(items: T[], query: URLSearchParams) {
    const after = query.get('starting_after');
    const limit = Number(query.get('limit') ?? 10);
    const start = after ? items.findIndex((item) => item.id === after) + 1 : 0;
    const page = items.slice(start, start + limit);
    return reply(200, { object: 'list', data: page, has_more: start + limit < items.length });
  }

  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = init?.method ?? 'GET';
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const form =
      method === 'POST' ? new URLSearchParams(String(init?.body ?? '')) : url.searchParams;
    calls.push({ method, path: url.pathname, form, headers });
    const key = headers['idempotency-key'];
    const newestFirst = <T extends { id: string }>(items: Iterable<T>) =>
      [...items].sort((a, b) => Number(b.id.split('_').pop()) - Number(a.id.split('_').pop()));
    if (method === 'POST' && url.pathname === '/v1/payment_intents') {
      return idempotent(url.pathname, form, key, () => createIntent(form));
    }
    if (method === 'POST' && url.pathname === '/v1/refunds') {
      return idempotent(url.pathname, form, key, () => createRefund(form));
    }
    if (method === 'GET' && url.pathname === '/v1/payment_intents') {
      const since = Number(form.get('created[gte]') ?? 0);
      return list(
        newestFirst(intents.values()).filter((intent) => intent.created >= since),
        form,
      );
    }
    if (method === 'GET' && url.pathname === '/v1/refunds') {
      const intent = form.get('payment_intent');
      return list(
        newestFirst(refunds.values()).filter(
          (refund) => !intent || refund.payment_intent === intent,
        ),
        form,
      );
    }
    const refundId = /^\/v1\/refunds\/(.+)$/.exec(url.pathname)?.[1];
    if (method === 'GET' && refundId) {
      const refund = refunds.get(refundId);
      return refund ? reply(200, refund) : reply(404, { error: { message: 'No such refund' } });
    }
    return reply(404, { error: { message: `unknown route ${method} ${url.pathname}` } });
  };

  return {
    fetch: fetch as typeof globalThis.fetch,
    calls,
    intents,
    refunds,
    loseNextAnswer,
    failNext,
    refundsStartPending,
    /** A processing PaymentIntent completes (or fails), as Stripe later reports it. */
    settleIntent(id: string, status: 'succeeded' | 'requires_payment_method') {
      const intent = intents.get(id);
      if (intent) intent.status = status;
    },
    /** A pending refund completes, or fails (the money stays with us: owed again). */
    settleRefund(id: string, status: 'succeeded' | 'failed') {
      const refund = refunds.get(id);
      if (refund) refund.status = status;
    },
    intentCalls: () =>
      calls.filter((call) => call.method === 'POST' && call.path === '/v1/payment_intents'),
    refundCalls: () =>
      calls.filter((call) => call.method === 'POST' && call.path === '/v1/refunds'),
  };
}

export type StripeStandIn = ReturnType<typeof stripeStandIn>;

/** A Stripe credential for the challenge of a 402, as the mppx client builds it. */
export function stripeCredential(reply: { headers: Headers }, spt: string): string {
  const challenge = Challenge.fromHeaders(reply.headers);
  const externalId = (challenge.request as { externalId?: string }).externalId;
  return Credential.serialize({
    challenge,
    payload: { spt, ...(externalId ? { externalId } : {}) },
  });
}

/** The name the local stack gives the Stripe secret (its value is the given secret key). */
const LOCAL_STRIPE_SECRET_NAME = 'local-stripe-secret';

/**
 * The local storefront's options for taking Stripe, as an operator configures it (the
 * method's `storefront:` keys and its secret), paid through `fetch` (a stand-in).
 */
export function localStripe(options: {
  secretKey?: string;
  networkId?: string;
  paymentMethodTypes?: string[];
  /** The test method beside it (off unless asked). */
  testPayments?: boolean;
  fetch?: typeof globalThis.fetch;
}) {
  const secretKey = options.secretKey ?? 'sk_test_standin';
  return {
    paymentContext: {
      testPayments: options.testPayments ?? false,
      stripeSecretName: LOCAL_STRIPE_SECRET_NAME,
      stripeNetworkId: options.networkId ?? 'profile_test',
      stripePaymentMethodTypes: options.paymentMethodTypes ?? ['card'],
      // The operator's word that the key is a test key; the functions check the key itself.
      stripeTestMode: !/^(sk|rk)_live_/.test(secretKey),
    },
    paymentSecrets: { [LOCAL_STRIPE_SECRET_NAME]: secretKey },
    ...(options.fetch ? { paymentFetch: options.fetch } : {}),
  };
}

/** The local storefront's options for paying with Stripe only, through the stand-in's fetch. */
export function stripeOnly(fetch: typeof globalThis.fetch) {
  return localStripe({ fetch });
}
