import { sweepPayments } from '../../lambdas/core/use-cases/sweep-payments.js';
import { type Harness, orderBody, startHarness } from '../support/harness.js';
import { offsetClock } from '../support/offset-clock.js';
import { SPT, stripeCredential, stripeOnly, stripeStandIn } from '../support/stripe-stand-in.js';

/**
 * Extensions paid with Stripe, where its answers are slow or lost: a charge Stripe cannot
 * confirm yet is never taken for "not charged" (no second charge for one extension), two
 * extensions raced each end as one charge applied or refunded, and an extension refund Stripe
 * refused is retried by the sweeper until it is made, once.
 */
describe('extensions paid with Stripe', () => {
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

  async function activeLease() {
    const body = orderBody();
    const paid = await api.order(body, {
      authorization: stripeCredential(await api.order(body), SPT.paid),
    });
    expect(paid.status).toBe(202);
    const machine = paid.body.machine as {
      machine_id: string;
      management: { read_token: string; extend_token: string; terminate_token: string };
    };
    await api.waitForStatus(machine.machine_id, machine.management.read_token, ['active']);
    return { machineId: machine.machine_id, tokens: machine.management };
  }
  const extend = (machineId: string, token: string, body: unknown, credential?: string) =>
    api.extend(machineId, token, body, credential ? { 'payment-authorization': credential } : {});
  const intentsOf = (machineId: string) =>
    [...stripe.intents.values()].filter((intent) =>
      String(intent.metadata.external_id).startsWith(`${machineId}+`),
    );
  const leaseMinutes = async (machineId: string) =>
    (await api.storefront.machines.get(machineId, clock.now()))?.lease_minutes;

  it('never charges again while an extension charge is still processing, and applies it once when it succeeds', async () => {
    const { machineId, tokens } = await activeLease();
    const body = { additional_minutes: 30, request_id: crypto.randomUUID() };
    const processing = await extend(
      machineId,
      tokens.extend_token,
      body,
      stripeCredential(await extend(machineId, tokens.extend_token, body), SPT.processing),
    );
    expect(processing.status).not.toBe(200);
    expect(await leaseMinutes(machineId)).toBe(60);
    // Its outcome unknown, the attempt stays on record: a new token must not be charged.
    clock.jump(2 * 60_000);
    const meanwhile = await extend(
      machineId,
      tokens.extend_token,
      body,
      stripeCredential(await extend(machineId, tokens.extend_token, body), SPT.paid),
    );
    expect(meanwhile.status).not.toBe(200);
    expect(intentsOf(machineId)).toHaveLength(1);

    const [intent] = intentsOf(machineId);
    stripe.settleIntent(String(intent?.id), 'succeeded');
    clock.jump(2 * 60_000);
    expect(await sweepPayments(api.storefront)).toMatchObject({ failed: 0 });
    expect(await leaseMinutes(machineId)).toBe(90);
    // A retry reports the applied extension; nothing more is charged or added.
    const retried = await extend(machineId, tokens.extend_token, body);
    expect(retried.status).toBe(200);
    expect(retried.body.lease_minutes).toBe(90);
    expect(intentsOf(machineId)).toHaveLength(1);
    expect(stripe.refundCalls()).toHaveLength(0);
  });

  it('charges two extensions raced at once at most once each, and every charge ends applied or refunded', async () => {
    const { machineId, tokens } = await activeLease();
    const bodies = [30, 45].map((minutes) => ({
      additional_minutes: minutes,
      request_id: crypto.randomUUID(),
    }));
    const credentials = await Promise.all(
      bodies.map(async (body, index) =>
        stripeCredential(
          await extend(machineId, tokens.extend_token, body),
          `${SPT.paid}_race_${index}`,
        ),
      ),
    );
    const answers = await Promise.all(
      bodies.map((body, index) => extend(machineId, tokens.extend_token, body, credentials[index])),
    );
    clock.jump(2 * 60_000);
    await sweepPayments(api.storefront);
    const stored = await api.storefront.machines.get(machineId, clock.now());
    const applied = Object.values(stored?.extensions ?? {}).filter(
      (e) => !e.refund_due && !e.refund,
    );
    const refunded = Object.values(stored?.extensions ?? {}).filter(
      (e) => e.refund_due || e.refund,
    );
    const charged = intentsOf(machineId).filter((intent) => intent.status === 'succeeded');
    // Every succeeded charge is an extension applied or one refunded: none is lost or doubled.
    expect(charged.length).toBe(applied.length + refunded.length);
    expect(stored?.lease_minutes).toBe(
      60 + applied.reduce((sum, extension) => sum + extension.additional_minutes, 0),
    );
    expect(applied.length).toBeGreaterThanOrEqual(1);
    expect(answers.filter((answer) => answer.status === 200).length).toBe(applied.length);
    expect(stored?.extension_attempts ?? {}).toEqual({});
  });

  it('retries an extension refund that failed at the bank, from the sweeper, until it is made once', async () => {
    const { machineId, tokens } = await activeLease();
    const body = { additional_minutes: 30, request_id: crypto.randomUUID() };
    // The charge is still processing when the lease ends: it can no longer be applied.
    await extend(
      machineId,
      tokens.extend_token,
      body,
      stripeCredential(await extend(machineId, tokens.extend_token, body), SPT.processing),
    );
    expect((await api.terminate(machineId, tokens.terminate_token)).status).toBe(200);
    await api.waitForStatus(machineId, tokens.read_token, ['terminated']);
    const [intent] = intentsOf(machineId);
    stripe.settleIntent(String(intent?.id), 'succeeded');
    // The refund is taken, then fails at the bank: the money is owed again.
    stripe.refundsStartPending.value = true;
    clock.jump(2 * 60_000);
    await sweepPayments(api.storefront);
    const first = [...stripe.refunds.values()].find(
      (refund) => refund.payment_intent === intent?.id,
    );
    expect(first?.status).toBe('pending');
    stripe.settleRefund(String(first?.id), 'failed');
    stripe.refundsStartPending.value = false;
    clock.jump(5 * 60_000);
    await sweepPayments(api.storefront);
    const made = [...stripe.refunds.values()].filter(
      (refund) => refund.payment_intent === intent?.id && refund.status === 'succeeded',
    );
    expect(made).toHaveLength(1);
    expect(made[0]?.amount).toBe(intent?.amount);
    const stored = await api.storefront.machines.get(machineId, clock.now());
    expect(stored?.lease_minutes).toBe(60);
    expect(stored?.extensions?.[body.request_id]).toMatchObject({ refund: expect.anything() });
    await sweepPayments(api.storefront);
    expect(
      [...stripe.refunds.values()].filter((refund) => refund.payment_intent === intent?.id),
    ).toHaveLength(2);
    stripe.refundsStartPending.value = false;
  });
});
