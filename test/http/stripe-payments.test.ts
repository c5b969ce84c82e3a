import { Receipt } from 'mppx';
import { Mppx as ClientMppx, stripe } from 'mppx/client';
import { type Harness, orderBody, startHarness } from '../support/harness.js';
import { localStripe, SPT, stripeStandIn } from '../support/stripe-stand-in.js';

/**
 * The Stripe method (Shared Payment Tokens) end to end over HTTP, with Stripe itself
 * replaced at the network boundary by a stand-in that behaves like it where money is at
 * stake: the tests assert on the requests Stripe received.
 */
describe('paying with Stripe', () => {
  let api: Harness;
  const stripeApi = stripeStandIn();

  beforeAll(async () => {
    api = await startHarness(
      localStripe({
        secretKey: 'sk_test_not_a_real_key',
        networkId: 'profile_test_123',
        paymentMethodTypes: ['card', 'link'],
        fetch: stripeApi.fetch,
      }),
    );
  });
  afterAll(() => api.close());
  beforeEach(() => {
    stripeApi.calls.length = 0;
  });
  const calls = stripeApi.calls;

  const agent = (token: string = SPT.paid) =>
    ClientMppx.create({
      methods: [stripe.charge({ createToken: async () => token, paymentMethod: 'pm_card_visa' })],
      polyfill: false,
    });

  const payOrder = async (body: unknown, token?: string) => {
    const response = await agent(token).fetch(`${api.url}/api/machine/mpp/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as Record<string, unknown>,
    };
  };

  it('offers only Stripe, priced in dollars', async () => {
    const challenge = await api.order(orderBody());
    expect(challenge.status).toBe(402);
    expect(challenge.headers.get('www-authenticate')).toMatch(/method="stripe", intent="charge"/);
    expect((await api.validate(orderBody())).body.methods).toEqual(['stripe/charge']);
  });

  it('creates one confirmed PaymentIntent for exactly the order amount, idempotently keyed', async () => {
    const body = orderBody({ duration_minutes: 60 });
    const paid = await payOrder(body);
    expect(paid.status).toBe(202);
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call?.path).toBe('/v1/payment_intents');
    expect(call?.form.get('amount')).toBe('399');
    expect(call?.form.get('currency')).toBe('usd');
    expect(call?.form.get('confirm')).toBe('true');
    // Where Stripe's API version 2026-04-22.preview and later take it (see stripe-method.ts).
    expect(call?.form.get('payment_method_data[shared_payment_granted_token]')).toBe(SPT.paid);
    expect(call?.form.has('shared_payment_granted_token')).toBe(false);
    expect(call?.form.get('metadata[external_id]')).toBe(String(paid.body.order_id));
    expect(call?.headers['idempotency-key']).toMatch(new RegExp(`^mpp_.+_${SPT.paid}$`));
    const intent = [...stripeApi.intents.values()].at(-1);
    expect(Receipt.deserialize(paid.headers.get('payment-receipt') ?? '')).toMatchObject({
      method: 'stripe',
      reference: intent?.id,
      status: 'success',
    });

    // The identical retry is answered from the settled order: Stripe is not called again.
    const again = await payOrder(body);
    expect(again.status).toBe(202);
    expect(again.headers.get('payment-receipt')).toBe(paid.headers.get('payment-receipt'));
    expect(calls).toHaveLength(1);
  });

  it('answers a card Stripe declines with 402 and a fresh challenge, and provisions nothing', async () => {
    const declined = await payOrder(orderBody(), SPT.declined);
    expect(declined.status).toBe(402);
    expect(declined.headers.get('www-authenticate')).toMatch(/^Payment /);
    expect(String(declined.body.error)).toMatch(/declined/i);
    const order = await api.getOrder(String(declined.body.order_id));
    expect(order.body).toMatchObject({ status: 'unpaid', is_paid: false });
  });

  it('refuses extensions below the card minimum before asking for payment', async () => {
    const paid = await payOrder(orderBody());
    const machine = paid.body.machine as {
      machine_id: string;
      management: { extend_token: string };
    };
    calls.length = 0;
    const tooSmall = await api.extend(machine.machine_id, machine.management.extend_token, {
      additional_minutes: 5,
    });
    expect(tooSmall.status).toBe(400);
    expect(tooSmall.body.error).toMatch(/at least 10.*0\.50 USD/);
    expect(calls).toHaveLength(0);
  });

  it('refunds an H100 lease that could not be provided through Stripe, exactly once', async () => {
    api.fleet.ec2.outOfCapacity.add('p5.4xlarge');
    const paid = await payOrder(
      orderBody({ product_id: 'gpu-h100-machine', duration_minutes: 60 }),
    );
    const machine = paid.body.machine as { machine_id: string; management: { read_token: string } };
    await api.waitForStatus(machine.machine_id, machine.management.read_token, ['failed']);
    await api.fleet.workflow.execution(machine.machine_id)?.done;
    const refunds = stripeApi.refundCalls();
    expect(refunds).toHaveLength(1);
    const receipt = Receipt.deserialize(paid.headers.get('payment-receipt') ?? '');
    expect(refunds[0]?.form.get('payment_intent')).toBe(receipt.reference);
    expect(refunds[0]?.form.get('metadata[storefront_refund_key]')).toBe(
      `refund-${paid.body.order_id}`,
    );
    expect(refunds[0]?.form.get('amount')).toBe(String(299 + 15 * 60));
    expect(refunds[0]?.headers['idempotency-key']).toBe(`refund-${paid.body.order_id}`);
    const order = await api.getOrder(String(paid.body.order_id));
    expect(order.body.refund).toMatchObject({ status: 'refunded', amount: '11.99' });
    api.fleet.ec2.outOfCapacity.clear();
  });
});
