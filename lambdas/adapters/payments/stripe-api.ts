/**
 * The few Stripe API calls the storefront makes itself, over fetch (no SDK): creating a
 * PaymentIntent for mppx, finding one again after a lost answer, and refunds.
 */
export interface StripeApiSettings {
  secretKey: string;
  /** Replaced in tests by a stand-in that behaves like Stripe. */
  fetch?: typeof fetch;
  baseUrl?: string;
}

export interface StripePaymentIntent {
  id: string;
  status: string;
  amount: number;
  created: number;
  metadata: Record<string, string>;
}

export interface StripeRefund {
  id: string;
  status: 'pending' | 'requires_action' | 'succeeded' | 'failed' | 'canceled';
  amount: number;
  payment_intent: string;
  metadata: Record<string, string>;
}

export interface StripeReply<T> {
  status: number;
  body: T & { error?: { type?: string; code?: string; message?: string } };
  replayed: boolean;
}

export class StripeApi {
  private readonly fetch: typeof fetch;
  private readonly baseUrl: string;

  constructor(private readonly settings: StripeApiSettings) {
    this.fetch = settings.fetch ?? ((input, init) => fetch(input, init));
    this.baseUrl = settings.baseUrl ?? 'https://api.stripe.com';
  }

  private async call<T>(
    method: 'GET' | 'POST',
    path: string,
    form: URLSearchParams,
    headers: Record<string, string> = {},
  ): Promise<StripeReply<T>> {
    const query = method === 'GET' && [...form].length ? `?${form}` : '';
    const response = await this.fetch(`${this.baseUrl}${path}${query}`, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`${this.settings.secretKey}:`).toString('base64')}`,
        ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...headers,
      },
      ...(method === 'POST' ? { body: form.toString() } : {}),
    });
    const body = (await response.json().catch(() => ({}))) as StripeReply<T>['body'];
    return {
      status: response.status,
      body,
      // https://docs.stripe.com/error-low-level#idempotency
      replayed: response.headers.get('idempotent-replayed') === 'true',
    };
  }

  createPaymentIntent(form: URLSearchParams, headers: Record<string, string>) {
    return this.call<StripePaymentIntent>('POST', '/v1/payment_intents', form, headers);
  }

  /**
   * PaymentIntents created at or after `createdSince` (epoch seconds), newest first, all pages.
   * The list API, not search: Stripe's search documentation says "Don't use search in
   * read-after-write flows where strict consistency is necessary. Under normal operating
   * conditions, data is searchable in less than a minute. Occasionally, propagation of new or
   * updated data can be up to an hour behind during outages", and points to the list APIs for
   * flows "that require immediate data availability".
   */
  async listPaymentIntentsSince(createdSince: number): Promise<StripePaymentIntent[]> {
    const intents: StripePaymentIntent[] = [];
    let after: string | undefined;
    for (;;) {
      const form = new URLSearchParams({ 'created[gte]': String(createdSince), limit: '100' });
      if (after) form.set('starting_after', after);
      const reply = await this.call<{ data: StripePaymentIntent[]; has_more: boolean }>(
        'GET',
        '/v1/payment_intents',
        form,
      );
      if (reply.status !== 200) throw stripeError('listing PaymentIntents', reply);
      intents.push(...reply.body.data);
      if (!reply.body.has_more || reply.body.data.length === 0) return intents;
      after = reply.body.data.at(-1)?.id;
    }
  }

  createRefund(form: URLSearchParams, idempotencyKey: string) {
    return this.call<StripeRefund>('POST', '/v1/refunds', form, {
      'idempotency-key': idempotencyKey,
    });
  }

  async retrieveRefund(id: string): Promise<StripeRefund> {
    const reply = await this.call<StripeRefund>(
      'GET',
      `/v1/refunds/${encodeURIComponent(id)}`,
      new URLSearchParams(),
    );
    if (reply.status !== 200) throw stripeError(`reading refund ${id}`, reply);
    return reply.body;
  }

  /** Every refund of a PaymentIntent, to see what was already given back before a new key. */
  async listRefunds(paymentIntent: string): Promise<StripeRefund[]> {
    const refunds: StripeRefund[] = [];
    let after: string | undefined;
    for (;;) {
      const form = new URLSearchParams({ payment_intent: paymentIntent, limit: '100' });
      if (after) form.set('starting_after', after);
      const reply = await this.call<{ data: StripeRefund[]; has_more: boolean }>(
        'GET',
        '/v1/refunds',
        form,
      );
      if (reply.status !== 200) throw stripeError(`listing refunds of ${paymentIntent}`, reply);
      refunds.push(...reply.body.data);
      if (!reply.body.has_more || reply.body.data.length === 0) return refunds;
      after = reply.body.data.at(-1)?.id;
    }
  }
}

export function stripeError(what: string, reply: StripeReply<unknown>) {
  return new Error(`Stripe ${what} failed: ${reply.body.error?.message ?? reply.status}`);
}
