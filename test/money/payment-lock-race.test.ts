import { sweepPayments } from '../../lambdas/core/use-cases/sweep-payments.js';
import { type Harness, orderBody, startHarness } from '../support/harness.js';
import { offsetClock } from '../support/offset-clock.js';
import { localStripe, SPT, stripeCredential, stripeStandIn } from '../support/stripe-stand-in.js';

/**
 * The order's payment lock, raced through the real use case: several distinct credentials
 * (different Stripe tokens, so no replay marker stops them) presented for one order at once,
 * while Stripe is slow to answer. One of them is charged; the others are told a payment is in
 * progress (or find the order settled) and are never charged.
 */
describe('the payment lock of one order, raced with distinct credentials', () => {
  let api: Harness;
  const clock = offsetClock();
  const stripe = stripeStandIn(() => clock.now());
  let slowIntents = 0;
  beforeAll(async () => {
    api = await startHarness({
      clock,
      ...localStripe({
        // Stripe takes its time to create a PaymentIntent: every racer is inside the lock window.
        fetch: (async (input: string | URL | Request, init?: RequestInit) => {
          if (String(input).includes('/v1/payment_intents') && init?.method === 'POST') {
            slowIntents++;
            await new Promise((resolve) => setTimeout(resolve, 300));
          }
          return stripe.fetch(input, init);
        }) as typeof fetch,
      }),
    });
  });
  afterAll(() => api.close());

  it('charges one credential, once, however many race', async () => {
    const body = orderBody();
    const challenges = await Promise.all([0, 1, 2, 3].map(() => api.order(body)));
    const orderId = String(challenges[0]?.body.order_id);
    const credentials = challenges.map((reply, index) =>
      stripeCredential(reply, `${SPT.paid}_racer_${index}`),
    );
    const answers = await Promise.all(
      credentials.map((credential) => api.order(body, { authorization: credential })),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 202).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((status) => status === 202 || status === 409)).toBe(true);
    const charged = [...stripe.intents.values()].filter(
      (intent) => intent.metadata.external_id === orderId,
    );
    expect(charged).toHaveLength(1);
    expect(slowIntents).toBe(1);
    // Nothing left over for the sweeper to charge, settle twice or refund.
    clock.jump(5 * 60_000);
    expect(await sweepPayments(api.storefront)).toMatchObject({ failed: 0 });
    expect(stripe.refundCalls()).toHaveLength(0);
    const machines = new Set(
      answers
        .filter((answer) => answer.status === 202)
        .map((answer) => (answer.body.machine as { machine_id: string }).machine_id),
    );
    expect(machines.size).toBe(1);
  });
});
