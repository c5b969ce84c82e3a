import { Receipt } from 'mppx';
import { sweepPayments } from '../../lambdas/core/use-cases/sweep-payments.js';
import { type Harness, orderBody, startHarness } from '../support/harness.js';
import { offsetClock } from '../support/offset-clock.js';
import { SPT, stripeCredential, stripeOnly, stripeStandIn } from '../support/stripe-stand-in.js';

/**
 * Lost answers and slow money with Stripe: whatever Stripe did is found again, the agent is
 * charged once per order, and refunds are retried until Stripe confirms them.
 */
describe('Stripe payments survive lost answers', () => {
  let api: Harness;
  const clock = offsetClock();
  const stripe = stripeStandIn(() => clock.now());

  beforeAll(async () => {
    api = await startHarness({
      clock,
      ...stripeOnly(stripe.fetch),
    });
  });
  afterAll(() => api.close());
  afterEach(() => {
    stripe.refundsStartPending.value = false;
    api.fleet.ec2.outOfCapacity.clear();
  });

  const order = (body: unknown, authorization?: string) =>
    api.order(body, authorization ? { authorization } : {});
  const intentsFor = (orderId: string) =>
    [...stripe.intents.values()].filter((intent) => intent.metadata.external_id === orderId);

  for (const retry of ['the same credential', 'a new token', 'the sweeper'] as const) {
    it(`a PaymentIntent whose answer was lost is found again, by ${retry}`, async () => {
      const body = orderBody();
      const challenge = await order(body);
      const orderId = String(challenge.body.order_id);
      const credential = stripeCredential(challenge, `${SPT.paid}_${retry.length}`);
      stripe.loseNextAnswer.add('/v1/payment_intents');
      const lost = await order(body, credential);
      expect(lost.status).toBe(502);
      expect(intentsFor(orderId)).toHaveLength(1);
      clock.jump(2 * 60_000);
      if (retry === 'the sweeper') {
        expect(await sweepPayments(api.storefront)).toMatchObject({ failed: 0 });
        expect((await api.getOrder(orderId)).body).toMatchObject({ status: 'settled' });
      }
      const again =
        retry === 'a new token'
          ? await order(body, stripeCredential(await order(body), 'spt_test_second_token'))
          : await order(body, credential);
      expect(again.status).toBe(202);
      // One PaymentIntent, and it is the one in the agent's receipt: charged once.
      const [intent] = intentsFor(orderId);
      expect(intentsFor(orderId)).toHaveLength(1);
      expect(Receipt.deserialize(again.headers.get('payment-receipt') ?? '').reference).toBe(
        intent?.id,
      );
      expect(
        stripe
          .intentCalls()
          .some(
            (call) =>
              call.form.get('payment_method_data[shared_payment_granted_token]') ===
              'spt_test_second_token',
          ),
      ).toBe(false);
    });
  }

  it('waits for a processing PaymentIntent instead of charging another token', async () => {
    const body = orderBody();
    const challenge = await order(body);
    const orderId = String(challenge.body.order_id);
    expect((await order(body, stripeCredential(challenge, SPT.processing))).status).toBe(502);
    clock.jump(2 * 60_000);
    const meanwhile = await order(body, stripeCredential(await order(body), SPT.paid));
    expect(meanwhile.status).toBe(409);
    expect(meanwhile.body.error).toMatch(/still being confirmed/);
    const [intent] = intentsFor(orderId);
    stripe.settleIntent(String(intent?.id), 'succeeded');
    const settled = await order(body, stripeCredential(await order(body), SPT.paid));
    expect(settled.status).toBe(202);
    expect(intentsFor(orderId)).toHaveLength(1);
  });

  it('never charges a declined token, however often it is presented', async () => {
    const body = orderBody();
    const credential = stripeCredential(await order(body), SPT.declined);
    const first = await order(body, credential);
    const second = await order(body, credential);
    expect([first.status, second.status]).toEqual([402, 402]);
    // Stripe replayed its saved decline for the same key; no PaymentIntent took money.
    expect(
      stripe.intentCalls().filter((call) => call.headers['idempotency-key']?.includes(SPT.declined))
        .length,
    ).toBeGreaterThanOrEqual(2);
    expect(intentsFor(String(first.body.order_id))).toHaveLength(0);
  });

  it('re-checks a pending refund until Stripe confirms it, and retries a failed one under a new key', async () => {
    stripe.refundsStartPending.value = true;
    api.fleet.ec2.outOfCapacity.add('p5.4xlarge');
    const body = orderBody({ product_id: 'gpu-h100-machine', duration_minutes: 60 });
    const paid = await order(body, stripeCredential(await order(body), SPT.paid));
    expect(paid.status).toBe(202);
    const orderId = String(paid.body.order_id);
    const machine = paid.body.machine as { machine_id: string; management: { read_token: string } };
    await api.waitForStatus(machine.machine_id, machine.management.read_token, ['failed']);
    await api.fleet.workflow.execution(machine.machine_id)?.done;
    expect((await api.getOrder(orderId)).body.refund).toMatchObject({ status: 'pending' });

    // The refund fails at the bank: the money is owed again, under a new key.
    const [first] = [...stripe.refunds.values()].filter(
      (refund) => refund.metadata.storefront_refund_key === `refund-${orderId}`,
    );
    stripe.settleRefund(String(first?.id), 'failed');
    clock.jump(4 * 60_000);
    await sweepPayments(api.storefront);
    const keys = stripe
      .refundCalls()
      .filter((call) => call.form.get('metadata[storefront_refund_key]') === `refund-${orderId}`);
    expect(keys.map((call) => call.headers['idempotency-key'])).toEqual([
      `refund-${orderId}`,
      `refund-${orderId}:retry-1`,
    ]);
    // Identical parameters under every key.
    expect(new Set(keys.map((call) => call.form.toString())).size).toBe(1);
    expect((await api.getOrder(orderId)).body.refund).toMatchObject({ status: 'pending' });
    // Still owed an hour on: the sweeper reports it, which is what the alarm watches.
    clock.jump(61 * 60_000);
    expect((await sweepPayments(api.storefront)).refunds_owed_over_an_hour).toBeGreaterThanOrEqual(
      1,
    );

    const second = [...stripe.refunds.values()].find(
      (refund) => refund.id !== first?.id && refund.payment_intent === first?.payment_intent,
    );
    stripe.settleRefund(String(second?.id), 'succeeded');
    clock.jump(4 * 60_000);
    await sweepPayments(api.storefront);
    expect((await api.getOrder(orderId)).body.refund).toMatchObject({ status: 'refunded' });
  });

  it('retries a refund whose key Stripe answered with an error under a new key', async () => {
    api.fleet.ec2.outOfCapacity.add('p5.4xlarge');
    stripe.failNext.add('/v1/refunds');
    const body = orderBody({ product_id: 'gpu-h100-machine', duration_minutes: 60 });
    const paid = await order(body, stripeCredential(await order(body), SPT.paid));
    const orderId = String(paid.body.order_id);
    const machine = paid.body.machine as { machine_id: string; management: { read_token: string } };
    await api.waitForStatus(machine.machine_id, machine.management.read_token, ['failed']);
    await api.fleet.workflow.execution(machine.machine_id)?.done;
    const calls = stripe
      .refundCalls()
      .filter((call) => call.form.get('metadata[storefront_refund_key]') === `refund-${orderId}`);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.headers['idempotency-key']).toMatch(
      new RegExp(`^refund-${orderId}:after-error-`),
    );
    expect((await api.getOrder(orderId)).body.refund).toMatchObject({ status: 'refunded' });
  });

  it('finds a refund whose answer was lost instead of refunding again', async () => {
    api.fleet.ec2.outOfCapacity.add('p5.4xlarge');
    stripe.loseNextAnswer.add('/v1/refunds');
    const body = orderBody({ product_id: 'gpu-h100-machine', duration_minutes: 60 });
    const paid = await order(body, stripeCredential(await order(body), SPT.paid));
    const orderId = String(paid.body.order_id);
    const machine = paid.body.machine as { machine_id: string; management: { read_token: string } };
    await api.waitForStatus(machine.machine_id, machine.management.read_token, ['failed']);
    await api.fleet.workflow.execution(machine.machine_id)?.done;
    clock.jump(4 * 60_000);
    await sweepPayments(api.storefront);
    const ours = [...stripe.refunds.values()].filter(
      (refund) => refund.metadata.storefront_refund_key === `refund-${orderId}`,
    );
    expect(ours).toHaveLength(1);
    expect((await api.getOrder(orderId)).body.refund).toMatchObject({
      status: 'refunded',
      amount: '11.99',
    });
  });
});
